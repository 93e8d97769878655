//! Keeps the inspection record bounded: archived messages and dead letters older than the
//! retention are deleted (see tasker_prune_archives).

use std::time::Duration;

use sqlx::PgPool;

use super::OrchestrationError;

/// Deletes archived messages and dead letters older than `keep`. Returns how many rows went,
/// or None when another orchestrator is pruning at this moment.
pub async fn prune(pool: &PgPool, keep: Duration) -> Result<Option<i64>, OrchestrationError> {
    let deleted = sqlx::query_scalar("SELECT tasker_prune_archives(make_interval(secs => $1::float8))")
        .bind(keep.as_secs_f64())
        .fetch_one(pool)
        .await?;
    Ok(deleted)
}
