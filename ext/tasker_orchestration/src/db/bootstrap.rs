//! Makes a database ready for tasker_core: pgmq installed, our migrations applied, the
//! base queues created.

use sqlx::{Connection, PgPool};
use tracing::info;

use super::DbError;
use crate::messaging::queues::{self, QueueName};

/// Arbitrary but fixed: serialises bootstraps of every process on this database.
const BOOTSTRAP_LOCK_KEY: i64 = 0x7461_736b_6572; // "tasker"

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations");

pub async fn bootstrap(pool: &PgPool) -> Result<(), DbError> {
    let mut lock_conn = pool.acquire().await?;
    sqlx::query("SELECT pg_advisory_lock($1)").bind(BOOTSTRAP_LOCK_KEY).execute(&mut *lock_conn).await?;
    let outcome = bootstrap_locked(pool).await;
    // Unlock even when bootstrap failed; a dropped connection would release it too.
    let unlocked = sqlx::query("SELECT pg_advisory_unlock($1)").bind(BOOTSTRAP_LOCK_KEY).execute(&mut *lock_conn).await;
    if unlocked.is_err() {
        let _ = lock_conn.detach().close().await;
    }
    outcome
}

async fn bootstrap_locked(pool: &PgPool) -> Result<(), DbError> {
    install_pgmq(pool).await?;
    MIGRATOR.run(pool).await?;
    let mut conn = pool.acquire().await?;
    for name in [queues::TASK_REQUESTS, queues::STEP_RESULTS] {
        let queue = QueueName::new(name).expect("built-in queue names are valid");
        queues::create(&mut conn, &queue).await?;
    }
    Ok(())
}

/// `CREATE EXTENSION pgmq` where the server has the extension; otherwise the SQL-only
/// install embedded in the pgmq crate (idempotent: it upgrades or does nothing).
async fn install_pgmq(pool: &PgPool) -> Result<(), DbError> {
    let installed_as_extension: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pgmq')").fetch_one(pool).await?;
    if installed_as_extension {
        return Ok(());
    }
    let available: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pgmq')")
            .fetch_one(pool)
            .await?;
    if available {
        let sql_only: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'pgmq')").fetch_one(pool).await?;
        if !sql_only {
            sqlx::query("CREATE EXTENSION IF NOT EXISTS pgmq").execute(pool).await?;
            info!(component = "db.bootstrap", "installed pgmq as an extension");
            return Ok(());
        }
    }
    pgmq::install::install_sql_from_embedded(pool).await.map_err(|e| DbError::Pgmq(e.to_string()))?;
    info!(component = "db.bootstrap", "pgmq SQL installed or already current");
    Ok(())
}
