//! A small client for operator actions from any process (a Rails console, a web request):
//! its own current-thread runtime and a two-connection pool, created at connect time.

use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

use super::RuntimeError;
use crate::config::CoreConfig;
use crate::db;
use crate::messaging::MessagingError;
use crate::orchestration::{operator_actions, OrchestrationError};

pub struct Operator {
    runtime: tokio::runtime::Runtime,
    // An Option so that Drop can release it inside the runtime's context.
    pool: Option<PgPool>,
    pid: u32,
}

impl Operator {
    pub fn connect(config: &CoreConfig) -> Result<Self, RuntimeError> {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let pool = runtime.block_on(db::connect(&config.database_url, 2))?;
        Ok(Self { runtime, pool: Some(pool), pid: std::process::id() })
    }

    pub fn cancel(&self, task_uuid: &str) -> Result<Value, RuntimeError> {
        let uuid = self.parse(task_uuid)?;
        Ok(self.runtime.block_on(operator_actions::cancel(self.pool(), uuid))?)
    }

    pub fn retry(&self, task_uuid: &str) -> Result<Value, RuntimeError> {
        let uuid = self.parse(task_uuid)?;
        Ok(self.runtime.block_on(operator_actions::retry(self.pool(), uuid))?)
    }

    pub fn resolve_step(&self, task_uuid: &str, step_name: &str, results_json: &str) -> Result<Value, RuntimeError> {
        let uuid = self.parse(task_uuid)?;
        let results: Value = serde_json::from_str(results_json)
            .map_err(|e| MessagingError::Malformed { kind: "resolution", problem: e.to_string() })?;
        Ok(self.runtime.block_on(operator_actions::resolve_step(self.pool(), uuid, step_name, &results))?)
    }

    fn pool(&self) -> &PgPool {
        self.pool.as_ref().expect("the pool lives as long as the operator")
    }

    fn parse(&self, task_uuid: &str) -> Result<Uuid, RuntimeError> {
        let current = std::process::id();
        if current != self.pid {
            return Err(RuntimeError::ForkedChild { started: self.pid, current });
        }
        task_uuid
            .parse()
            .map_err(|_| OrchestrationError::NotFound(format!("{:?} is not a task uuid", task_uuid.chars().take(64).collect::<String>())).into())
    }
}

impl Drop for Operator {
    /// Never blocks: this runs when Ruby frees the handle, possibly while the process exits.
    /// The pool is released inside the runtime's context; its connections close with it.
    fn drop(&mut self) {
        let _context = self.runtime.enter();
        drop(self.pool.take());
    }
}
