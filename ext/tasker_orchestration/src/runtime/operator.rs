//! A small client for operator actions from any process (a Rails console, a web request):
//! its own one-thread runtime and a two-connection pool, created at connect time. Actions
//! on tasks (cancel, retry, resolve a step) and on dead letters (requeue, discard), each
//! naming its actor.
//!
//! Multi-thread (with one worker), not current-thread: the pool finishes work in spawned
//! tasks after a call returns (a dropped transaction's rollback, a connection going back to
//! the pool). A current-thread runtime runs those only inside the next call, so a
//! connection could stay checked out, idle in transaction and holding its row locks, until
//! the pool ran dry (seen as "pool timed out" on a later call).

use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

use super::RuntimeError;
use crate::config::CoreConfig;
use crate::db;
use crate::domain::actor::Actor;
use crate::messaging::MessagingError;
use crate::orchestration::{dead_letter_actions, operator_actions, OrchestrationError};

pub struct Operator {
    // Options so that Drop can release them without blocking.
    runtime: Option<tokio::runtime::Runtime>,
    pool: Option<PgPool>,
    pid: u32,
    /// The largest results resolve_step accepts (orchestrator.max_message_bytes).
    payload_limit: usize,
}

impl Operator {
    pub fn connect(config: &CoreConfig) -> Result<Self, RuntimeError> {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).thread_name("tasker-operator").enable_all().build()?;
        let pool = runtime.block_on(db::connect(&config.database_url, 2, config.orchestrator.connect_timeout()))?;
        let payload_limit = config.orchestrator.max_message_bytes;
        Ok(Self { runtime: Some(runtime), pool: Some(pool), pid: std::process::id(), payload_limit })
    }

    /// Makes the database ready, as an orchestrator's start does (pgmq, our migrations, the
    /// base queues; serialised by the bootstrap lock), without starting anything: for a
    /// host's own migration step (Rails' `db:migrate`). Idempotent.
    pub fn install_schema(&self) -> Result<(), RuntimeError> {
        Ok(self.runtime().block_on(db::bootstrap(self.pool()))?)
    }

    /// Each action takes `actor`, who asked (checked by `Actor::new`: 1 to 200 bytes, no
    /// control character), recorded in every transition it writes.
    pub fn cancel(&self, task_uuid: &str, actor: &str) -> Result<Value, RuntimeError> {
        let (uuid, actor) = (self.parse(task_uuid)?, Actor::new(actor)?);
        Ok(self.runtime().block_on(operator_actions::cancel(self.pool(), uuid, &actor))?)
    }

    pub fn retry(&self, task_uuid: &str, actor: &str) -> Result<Value, RuntimeError> {
        let (uuid, actor) = (self.parse(task_uuid)?, Actor::new(actor)?);
        Ok(self.runtime().block_on(operator_actions::retry(self.pool(), uuid, &actor))?)
    }

    pub fn resolve_step(&self, task_uuid: &str, step_name: &str, results_json: &str, actor: &str) -> Result<Value, RuntimeError> {
        let (uuid, actor) = (self.parse(task_uuid)?, Actor::new(actor)?);
        super::boundary::check_size("result JSON", results_json, self.payload_limit)?;
        let results: Value =
            serde_json::from_str(results_json).map_err(|e| MessagingError::Malformed { kind: "resolution", problem: e.to_string() })?;
        Ok(self.runtime().block_on(operator_actions::resolve_step(self.pool(), uuid, step_name, &results, &actor))?)
    }

    /// Sends dead letter `id`'s message again to its queue, marking the letter requeued.
    /// => {"id", "resolution": "requeued", "requeued_msg_id"}
    pub fn requeue_dead_letter(&self, id: &str, actor: &str) -> Result<Value, RuntimeError> {
        self.check_process()?;
        let (id, actor) = (dead_letter_actions::parse_id(id)?, Actor::new(actor)?);
        Ok(self.runtime().block_on(dead_letter_actions::requeue(self.pool(), id, &actor))?)
    }

    /// Marks dead letter `id` discarded. => {"id", "resolution": "discarded", "requeued_msg_id": null}
    pub fn discard_dead_letter(&self, id: &str, actor: &str) -> Result<Value, RuntimeError> {
        self.check_process()?;
        let (id, actor) = (dead_letter_actions::parse_id(id)?, Actor::new(actor)?);
        Ok(self.runtime().block_on(dead_letter_actions::discard(self.pool(), id, &actor))?)
    }

    fn runtime(&self) -> &tokio::runtime::Runtime {
        self.runtime.as_ref().expect("the runtime lives as long as the operator")
    }

    fn pool(&self) -> &PgPool {
        self.pool.as_ref().expect("the pool lives as long as the operator")
    }

    fn check_process(&self) -> Result<(), RuntimeError> {
        let current = std::process::id();
        if current != self.pid {
            return Err(RuntimeError::ForkedChild { started: self.pid, current });
        }
        Ok(())
    }

    fn parse(&self, task_uuid: &str) -> Result<Uuid, RuntimeError> {
        self.check_process()?;
        task_uuid.parse().map_err(|_| {
            OrchestrationError::NotFound(format!("{:?} is not a task uuid", task_uuid.chars().take(64).collect::<String>())).into()
        })
    }
}

impl Drop for Operator {
    /// Never blocks: this runs when Ruby frees the handle, possibly while the process exits.
    /// The pool is released inside the runtime's context; its connections close with it. In
    /// a forked child the runtime's thread is gone: both are leaked rather than touched.
    fn drop(&mut self) {
        let (Some(runtime), pool) = (self.runtime.take(), self.pool.take()) else { return };
        if std::process::id() != self.pid {
            std::mem::forget(pool);
            std::mem::forget(runtime);
            return;
        }
        {
            let _context = runtime.enter();
            drop(pool);
        }
        runtime.shutdown_background();
    }
}
