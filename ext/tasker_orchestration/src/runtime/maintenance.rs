//! The housekeeping loop: looks for bloated queue and step tables (a backstop for
//! autovacuum, see db::vacuum) every second while this orchestrator is handling messages,
//! and every `vacuum_interval_s` while it idles; every `maintenance_interval_s` folds the
//! metric deltas into their totals (so they stay few when nothing scrapes /metrics) and
//! prunes old archived messages and dead letters (see orchestration::retention). Each is
//! done by one orchestrator at a time.

use std::sync::Arc;
use std::time::{Duration, Instant};

use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::stats::Stats;
use crate::config::OrchestratorConfig;
use crate::db;
use crate::orchestration::retention;

/// While busy, queue tables gain thousands of dead rows a second: they are checked this often.
const BUSY_TICK: Duration = Duration::from_secs(1);

pub async fn run(pool: PgPool, config: OrchestratorConfig, cancel: CancellationToken, stats: Arc<Stats>) {
    let maintain_every = Duration::from_secs(config.maintenance_interval_s.max(1));
    let vacuum_idle_every = (config.vacuum_interval_s > 0).then(|| Duration::from_secs(config.vacuum_interval_s));
    let (mut last_maintenance, mut last_vacuum): (Option<Instant>, Option<Instant>) = (None, None);
    let mut handled = stats.messages_handled();
    loop {
        if let Some(idle_every) = vacuum_idle_every {
            let now_handled = stats.messages_handled();
            let busy = now_handled != handled;
            handled = now_handled;
            if busy || last_vacuum.is_none_or(|at| at.elapsed() >= idle_every) {
                last_vacuum = Some(Instant::now());
                vacuum(&pool, &stats).await;
            }
        }
        if last_maintenance.is_none_or(|at| at.elapsed() >= maintain_every) {
            last_maintenance = Some(Instant::now());
            fold_metrics(&pool).await;
            if config.archive_retention_hours > 0 {
                prune(&pool, &config, &stats).await;
            }
        }
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(BUSY_TICK) => {}
        }
    }
}

async fn vacuum(pool: &PgPool, stats: &Stats) {
    match db::vacuum_bloated(pool).await {
        Ok(tables) if !tables.is_empty() => {
            Stats::add(&stats.tables_vacuumed, tables.len() as u64);
            info!(component = "runtime.maintenance", tables = tables.join(", "), "vacuumed bloated tables");
        }
        Ok(_) => {}
        Err(e) => warn!(component = "runtime.maintenance", error = %e, "vacuum failed; will try again"),
    }
}

/// The scrape's own fold (migration 12), also run here: one orchestrator at a time (the
/// function takes an advisory lock and skips when another holds it).
async fn fold_metrics(pool: &PgPool) {
    if let Err(e) = sqlx::query("SELECT tasker_metrics_fold()").execute(pool).await {
        warn!(component = "runtime.maintenance", error = %e, "folding metric deltas failed; will try again");
    }
}

async fn prune(pool: &PgPool, config: &OrchestratorConfig, stats: &Stats) {
    let keep = Duration::from_secs(config.archive_retention_hours.saturating_mul(3600));
    match retention::prune(pool, keep).await {
        Ok(Some(deleted)) if deleted > 0 => {
            Stats::add(&stats.archives_pruned, deleted as u64);
            info!(
                component = "runtime.maintenance",
                deleted,
                retention_hours = config.archive_retention_hours,
                "pruned old archived messages and dead letters"
            );
        }
        Ok(_) => {}
        Err(e) => warn!(component = "runtime.maintenance", error = %e, "pruning archives failed; will try again"),
    }
}
