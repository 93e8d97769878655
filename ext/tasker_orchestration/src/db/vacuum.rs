//! A backstop for autovacuum. Every pgmq read and every step transition leaves a dead row
//! version; when autovacuum is off (some CI setups turn it off) or falls behind, queue and
//! step tables bloat and every read slows down. This vacuums the hot tables whose dead rows
//! passed a threshold well above the autovacuum settings given to queue tables, so with a
//! working autovacuum it rarely has anything to do.

use sqlx::PgPool;

use super::DbError;

/// Dead rows above `DEAD_ROWS + DEAD_FRACTION * live rows` make a table a candidate.
const DEAD_ROWS: i64 = 1000;
const DEAD_FRACTION: f64 = 0.2;
const LOCK_KEY: &str = "tasker_vacuum";

/// Vacuums (and analyzes) the bloated hot tables; returns their names. One orchestrator at
/// a time: the others skip while the session lock is taken.
pub async fn vacuum_bloated(pool: &PgPool) -> Result<Vec<String>, DbError> {
    // One cheap statement when nothing is bloated (the idle case).
    let candidates: Vec<String> = sqlx::query_scalar(
        "SELECT format('%I.%I', schemaname, relname) FROM pg_stat_user_tables
          WHERE ((schemaname = 'pgmq' AND relname LIKE 'q\\_%')
                 OR (schemaname = current_schema() AND relname IN ('tasker_tasks', 'tasker_workflow_steps', 'tasker_metric_deltas', 'tasker_processes',
                                                                         'tasker_map_progress')))
            AND n_dead_tup > $1 + $2 * n_live_tup
          ORDER BY n_dead_tup DESC",
    )
    .bind(DEAD_ROWS)
    .bind(DEAD_FRACTION)
    .fetch_all(pool)
    .await?;
    if candidates.is_empty() {
        return Ok(candidates);
    }
    // VACUUM cannot run in a transaction: a session lock on one connection instead.
    let mut conn = pool.acquire().await?;
    let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock(hashtext($1))").bind(LOCK_KEY).fetch_one(&mut *conn).await?;
    if !locked {
        return Ok(Vec::new());
    }
    let mut result = Ok(());
    for table in &candidates {
        // The name comes from the catalog, quoted by format('%I'). No truncation: it would
        // wait for, then hold, an ACCESS EXCLUSIVE lock on a table every process is using.
        result = sqlx::query(&format!("VACUUM (ANALYZE, TRUNCATE false) {table}")).persistent(false).execute(&mut *conn).await.map(drop);
        if result.is_err() {
            break;
        }
    }
    sqlx::query("SELECT pg_advisory_unlock(hashtext($1))").bind(LOCK_KEY).execute(&mut *conn).await?;
    result?;
    Ok(candidates)
}
