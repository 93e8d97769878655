//! The housekeeping loop: prunes old archived messages and dead letters every
//! `maintenance_interval_s` (one orchestrator at a time; see orchestration::retention).

use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::stats::Stats;
use crate::config::OrchestratorConfig;
use crate::orchestration::retention;

pub async fn run(pool: PgPool, config: OrchestratorConfig, cancel: CancellationToken, stats: Arc<Stats>) {
    if config.archive_retention_hours == 0 {
        return; // keep everything
    }
    let keep = Duration::from_secs(config.archive_retention_hours.saturating_mul(3600));
    let every = Duration::from_secs(config.maintenance_interval_s.max(1));
    loop {
        match retention::prune(&pool, keep).await {
            Ok(Some(deleted)) if deleted > 0 => {
                Stats::add(&stats.archives_pruned, deleted as u64);
                info!(component = "runtime.maintenance", deleted, retention_hours = config.archive_retention_hours, "pruned old archived messages and dead letters");
            }
            Ok(_) => {}
            Err(e) => warn!(component = "runtime.maintenance", error = %e, "pruning archives failed; will try again"),
        }
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
    }
}
