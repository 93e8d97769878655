//! A consumer loop: read a batch and handle it (results in one transaction per batch, plain
//! task requests too, the others one by one), sleep when the queue is empty, back off when the database is
//! unreachable. `select!` on the cancellation token makes every wait interruptible; a read
//! in flight and the messages it returned are finished first.

use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tracing::{debug, error, warn};

use super::next_due::NextDue;
use super::stats::Stats;
use crate::config::OrchestratorConfig;
use crate::messaging::queues::{self, QueueMessage, QueueName};
use crate::orchestration::dead_letters::{self, DeadLetter};
use crate::orchestration::request_batches;
use crate::orchestration::step_results::{self, ResultOutcome};
use crate::orchestration::task_requests::{self, RequestOutcome};
use crate::orchestration::OrchestrationError;

const MAX_BACKOFF: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, Copy)]
pub enum ConsumerKind {
    TaskRequests,
    StepResults,
}

impl ConsumerKind {
    pub fn queue(self) -> &'static str {
        match self {
            Self::TaskRequests => queues::TASK_REQUESTS,
            Self::StepResults => queues::STEP_RESULTS,
        }
    }
}

#[derive(Clone)]
pub struct LoopContext {
    pub pool: PgPool,
    /// Notified when a message arrives on this loop's queue (see wakeups).
    pub wakeup: Arc<Notify>,
    pub config: OrchestratorConfig,
    pub cancel: CancellationToken,
    pub stats: Arc<Stats>,
}

/// Runs the loop and restarts it if it panics (a bug must not silently stop consuming).
/// Returns when the loop ends on cancellation.
pub async fn supervise(kind: ConsumerKind, ctx: LoopContext) {
    loop {
        let mut inner = AbortOnDrop(tokio::spawn(run(kind, ctx.clone())));
        match (&mut inner.0).await {
            Err(e) if e.is_panic() => {
                Stats::add(&ctx.stats.loop_restarts, 1);
                error!(component = "runtime", queue = kind.queue(), error = %e, "consumer loop panicked; restarting it");
                tokio::select! {
                    _ = ctx.cancel.cancelled() => return,
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
            }
            _ => return,
        }
    }
}

/// Aborts the inner loop when the supervisor itself is aborted (stop's drain deadline).
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn run(kind: ConsumerKind, ctx: LoopContext) {
    let queue = QueueName::new(kind.queue()).expect("built-in queue names are valid");
    let component = format!("runtime.{}", kind.queue());
    // Idle: wait for a wake-up, or poll slowly in case one was lost; without LISTEN, poll.
    let idle_ms = if ctx.config.listen { ctx.config.fallback_poll_ms } else { ctx.config.poll_interval_ms };
    let idle = Duration::from_millis(idle_ms.max(1));
    let mut backoff = Duration::from_millis(100);
    let mut next_due = NextDue::new();
    while !ctx.cancel.is_cancelled() {
        // Not raced with cancellation: a read is one statement that marks what it returns
        // read (invisible for the visibility timeout), so dropping it after its commit would
        // hide its messages for that long. It is short; stop's drain deadline still aborts a
        // read that hangs, and what was read is handled before the loop looks again.
        let read = queues::read(&ctx.pool, &queue, ctx.config.visibility_timeout_s, ctx.config.batch_size, ctx.config.max_read_bytes()).await;
        let pause = match read {
            // step_results carries timers (wakes sent with a visibility delay): sleep until
            // the next one is due when that comes before the idle poll.
            Ok(batch) if batch.is_empty() && matches!(kind, ConsumerKind::StepResults) => next_due.pause(&ctx.pool, &queue, idle).await,
            Ok(batch) if batch.is_empty() => idle,
            Ok(batch) => {
                backoff = Duration::from_millis(100);
                next_due.invalidate();
                handle_batch(kind, &ctx, &queue, batch).await;
                Duration::ZERO
            }
            Err(e) => {
                Stats::add(&ctx.stats.loop_errors, 1);
                warn!(component = component.as_str(), error = %e, backoff_ms = backoff.as_millis() as u64, "read failed; backing off");
                let pause = backoff;
                backoff = (backoff * 2).min(MAX_BACKOFF);
                pause
            }
        };
        if !pause.is_zero() {
            tokio::select! {
                _ = ctx.cancel.cancelled() => break,
                _ = ctx.wakeup.notified() => next_due.invalidate(),
                _ = tokio::time::sleep(pause) => {}
            }
        }
    }
    debug!(component = component.as_str(), "loop stopped");
}

async fn handle_batch(kind: ConsumerKind, ctx: &LoopContext, queue: &QueueName, batch: Vec<QueueMessage>) {
    let (poison, batch): (Vec<QueueMessage>, Vec<QueueMessage>) = batch.into_iter().partition(|m| m.read_ct > ctx.config.max_reads);
    for message in &poison {
        report(kind, message.msg_id, set_aside_poison(ctx, queue, message).await, &ctx.stats);
    }
    if batch.is_empty() {
        return;
    }
    let batch = match kind {
        ConsumerKind::StepResults => match step_results::handle_batch(&ctx.pool, queue, &batch, ctx.config.max_message_bytes).await {
            Ok(outcomes) => {
                outcomes.into_iter().for_each(|outcome| count_result(&ctx.stats, outcome));
                return;
            }
            // One bad message must not hold the others back: retry them one by one.
            Err(e) if batch.len() > 1 => {
                warn!(component = "runtime.step_results", error = %e, size = batch.len(), "batch failed; applying its results one by one");
                batch
            }
            Err(e) => return report(kind, batch[0].msg_id, Err(e), &ctx.stats),
        },
        ConsumerKind::TaskRequests if batch.len() > 1 => create_plain_requests(ctx, queue, batch).await,
        ConsumerKind::TaskRequests => batch,
    };
    handle_each(kind, ctx, queue, batch).await;
}

/// Creates the batch's plain requests together (see request_batches) and returns the rest,
/// to be handled one by one; all of them when the batch failed.
async fn create_plain_requests(ctx: &LoopContext, queue: &QueueName, batch: Vec<QueueMessage>) -> Vec<QueueMessage> {
    match request_batches::create_plain(&ctx.pool, queue, &batch, ctx.config.max_message_bytes).await {
        Ok(done) => {
            Stats::add(&ctx.stats.requests_created, done.created.len() as u64);
            let mut batch: Vec<Option<QueueMessage>> = batch.into_iter().map(Some).collect();
            done.left.iter().filter_map(|&index| batch[index].take()).collect()
        }
        Err(e) => {
            warn!(component = "runtime.task_requests", error = %e, size = batch.len(), "batch failed; creating its tasks one by one");
            batch
        }
    }
}

/// Handles messages one by one, each in its own transaction, several at once (requests are
/// independent; results of one task serialise on its row lock).
async fn handle_each(kind: ConsumerKind, ctx: &LoopContext, queue: &QueueName, batch: Vec<QueueMessage>) {
    let mut running = tokio::task::JoinSet::new();
    for message in batch {
        if running.len() >= ctx.config.request_concurrency {
            joined(running.join_next().await, ctx);
        }
        let (ctx, queue) = (ctx.clone(), queue.clone());
        running.spawn(async move {
            let result = handle(kind, &ctx, &queue, &message).await;
            report(kind, message.msg_id, result, &ctx.stats);
        });
    }
    while let Some(done) = running.join_next().await {
        joined(Some(done), ctx);
    }
}

fn joined(done: Option<Result<(), tokio::task::JoinError>>, ctx: &LoopContext) {
    if let Some(Err(e)) = done {
        // A panic while handling one message; it is redelivered after the visibility timeout.
        Stats::add(&ctx.stats.loop_errors, 1);
        error!(component = "runtime", error = %e, "message handler panicked");
    }
}

fn report(kind: ConsumerKind, msg_id: i64, result: Result<(), OrchestrationError>, stats: &Stats) {
    if let Err(e) = result {
        Stats::add(&stats.loop_errors, 1);
        error!(component = "runtime", queue = kind.queue(), msg_id, error = %e, "message failed; it will be redelivered");
    }
}

async fn set_aside_poison(ctx: &LoopContext, queue: &QueueName, message: &QueueMessage) -> Result<(), OrchestrationError> {
    let reason = format!("read {} times without being processed (limit {})", message.read_ct, ctx.config.max_reads);
    let letter = DeadLetter::new("poison_message", reason, message.task_uuid);
    let mut tx = ctx.pool.begin().await?;
    dead_letters::set_aside(&mut tx, queue, message, &letter, ctx.config.max_message_bytes).await?;
    tx.commit().await?;
    Ok(())
}

async fn handle(kind: ConsumerKind, ctx: &LoopContext, queue: &QueueName, message: &QueueMessage) -> Result<(), OrchestrationError> {
    let stats = &ctx.stats;
    let limit = ctx.config.max_message_bytes;
    match kind {
        ConsumerKind::TaskRequests => match task_requests::handle(&ctx.pool, queue, message, limit).await? {
            RequestOutcome::Created { .. } => Stats::add(&stats.requests_created, 1),
            RequestOutcome::Duplicate { .. } => Stats::add(&stats.requests_duplicate, 1),
            RequestOutcome::Rejected { .. } => Stats::add(&stats.requests_rejected, 1),
        },
        ConsumerKind::StepResults => count_result(stats, step_results::handle(&ctx.pool, queue, message, limit).await?),
    }
    Ok(())
}

fn count_result(stats: &Stats, outcome: ResultOutcome) {
    match outcome {
        ResultOutcome::Applied { task_state, dispatched, .. } => {
            Stats::add(&stats.results_applied, 1);
            Stats::add(&stats.steps_dispatched, dispatched as u64);
            Stats::add(&stats.tasks_finished, u64::from(task_state.is_some()));
        }
        ResultOutcome::SetAside { .. } => Stats::add(&stats.results_set_aside, 1),
        // A wake that found its step's wait not over yet (or over already): archived.
        ResultOutcome::Unchanged => {}
    }
}
