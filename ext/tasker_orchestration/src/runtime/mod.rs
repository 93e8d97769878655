//! The running orchestrator: a tokio runtime created at start (never at load time), the
//! consumer loops, and idempotent stop with a drain deadline. No OS signal handlers live
//! here: the embedding process owns signals and calls `stop`.

pub mod boundary;
mod consumer;
mod maintenance;
mod next_due;
mod operator;
mod stats;
mod wakeups;

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sqlx::PgPool;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};
use uuid::Uuid;

use crate::config::{ConfigError, CoreConfig};
use crate::db::{self, DbError};
use crate::messaging::messages::TaskRequest;
use crate::messaging::queues::{self, QueueName};
use crate::messaging::MessagingError;
use crate::orchestration::{template_registry, OrchestrationError};
use consumer::{ConsumerKind, LoopContext};
pub use operator::Operator;
pub use stats::Stats;

#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Orchestration(#[from] OrchestrationError),
    #[error(transparent)]
    Messaging(#[from] MessagingError),
    #[error("the orchestrator is not running")]
    NotRunning,
    #[error("the orchestrator was started in process {started} and cannot be used from forked process {current}")]
    ForkedChild { started: u32, current: u32 },
    #[error("cannot start the tokio runtime: {0}")]
    Runtime(#[from] std::io::Error),
    /// Refused at the boundary before parsing (see `boundary`).
    #[error("{what} of {size} bytes exceeds {limit} bytes")]
    TooLarge { what: &'static str, size: usize, limit: usize },
    #[error(transparent)]
    Actor(#[from] crate::domain::actor::InvalidActor),
}

impl RuntimeError {
    /// What kind of failure this is; a host picks its exception class from this alone.
    pub fn kind(&self) -> crate::ErrorKind {
        use crate::ErrorKind;
        match self {
            RuntimeError::Config(_) => ErrorKind::Configuration,
            // Everything below the pool (connect, migrate, pgmq install, queue creation).
            RuntimeError::Db(_) => ErrorKind::Database,
            RuntimeError::Orchestration(e) => e.kind(),
            RuntimeError::Messaging(e) => e.kind(),
            RuntimeError::TooLarge { what: "template", .. } => ErrorKind::Template,
            RuntimeError::TooLarge { .. } | RuntimeError::Actor(_) => ErrorKind::Validation,
            RuntimeError::NotRunning | RuntimeError::ForkedChild { .. } | RuntimeError::Runtime(_) => ErrorKind::Orchestrator,
        }
    }
}

pub struct Orchestrator {
    runtime: Option<tokio::runtime::Runtime>,
    cancel: CancellationToken,
    loops: Vec<JoinHandle<()>>,
    pool: PgPool,
    config: CoreConfig,
    stats: Arc<Stats>,
    pid: u32,
    started_at: chrono::DateTime<chrono::Utc>,
    templates: Vec<String>,
}

impl Orchestrator {
    /// Blocks until the database is ready, templates are registered and the loops run.
    pub fn start(config: CoreConfig) -> Result<Self, RuntimeError> {
        crate::logging::init(&config.log_level);
        // Templates are read before anything connects: a bad file fails fast.
        let templates = template_registry::load_from_paths(&config.template_paths)?;
        let runtime =
            tokio::runtime::Builder::new_multi_thread().worker_threads(2).thread_name("tasker-orchestrator").enable_all().build()?;
        let pool = runtime.block_on(async {
            let pool = db::connect(&config.database_url, config.orchestrator.max_connections, config.orchestrator.connect_timeout()).await?;
            db::bootstrap(&pool).await?;
            for template in &templates {
                template_registry::register(&pool, template).await?;
            }
            Ok::<_, RuntimeError>(pool)
        })?;
        let cancel = CancellationToken::new();
        let stats = Arc::new(Stats::default());
        let mut subscriptions = Vec::new();
        let mut loops: Vec<JoinHandle<()>> = [ConsumerKind::TaskRequests, ConsumerKind::StepResults]
            .into_iter()
            .map(|kind| {
                let wakeup = Arc::new(tokio::sync::Notify::new());
                let queue = QueueName::new(kind.queue()).expect("built-in queue names are valid");
                subscriptions.push((queue.channel(), wakeup.clone()));
                let ctx = LoopContext {
                    pool: pool.clone(),
                    wakeup,
                    config: config.orchestrator.clone(),
                    cancel: cancel.clone(),
                    stats: stats.clone(),
                };
                runtime.spawn(consumer::supervise(kind, ctx))
            })
            .collect();
        loops.push(runtime.spawn(maintenance::run(pool.clone(), config.orchestrator.clone(), cancel.clone(), stats.clone())));
        if config.orchestrator.listen {
            loops.push(runtime.spawn(wakeups::listen(pool.clone(), subscriptions, cancel.clone())));
        }
        info!(component = "runtime", database_url = config.masked_database_url(), templates = templates.len(), "orchestrator started");
        Ok(Self {
            runtime: Some(runtime),
            cancel,
            loops,
            pool,
            config,
            stats,
            pid: std::process::id(),
            started_at: chrono::Utc::now(),
            templates: templates.iter().map(|t| t.key()).collect(),
        })
    }

    pub fn is_running(&self) -> bool {
        self.runtime.is_some()
    }

    /// Stops the loops: in-flight messages finish (each is one transaction) until `timeout`,
    /// then the loops are aborted (an aborted transaction rolls back; its message is
    /// redelivered). Calling it again is a no-op.
    pub fn stop(&mut self, timeout: Duration) -> Result<Value, RuntimeError> {
        self.check_process()?;
        let Some(runtime) = self.runtime.take() else {
            return Ok(json!({"stopped": true, "already_stopped": true}));
        };
        let started = Instant::now();
        self.cancel.cancel();
        let loops = std::mem::take(&mut self.loops);
        let aborts: Vec<_> = loops.iter().map(JoinHandle::abort_handle).collect();
        let drained = runtime.block_on(async {
            let all = futures_join_all(loops);
            tokio::time::timeout(timeout, all).await.is_ok()
        });
        if !drained {
            warn!(component = "runtime", timeout_ms = timeout.as_millis() as u64, "drain deadline passed; aborting loops");
            aborts.iter().for_each(|a| a.abort());
        }
        runtime.block_on(self.pool.close());
        runtime.shutdown_timeout(Duration::from_secs(1));
        info!(component = "runtime", drained, "orchestrator stopped");
        Ok(json!({"stopped": true, "drained": drained, "elapsed_ms": started.elapsed().as_millis() as u64}))
    }

    pub fn status(&self) -> Result<Value, RuntimeError> {
        self.check_process()?;
        Ok(json!({
            "running": self.is_running(),
            "pid": self.pid,
            "started_at": self.started_at.to_rfc3339(),
            "database_url": self.config.masked_database_url(),
            "templates": self.templates,
            "stats": self.stats.snapshot(),
        }))
    }

    /// Sends a task request (JSON) to `task_requests` (see `prepare_request`). Returns the
    /// task uuid.
    pub fn enqueue(&self, request_json: &str) -> Result<Uuid, RuntimeError> {
        self.check_process()?;
        let runtime = self.runtime.as_ref().ok_or(RuntimeError::NotRunning)?;
        let (value, request) = prepare_request(request_json, self.config.orchestrator.max_message_bytes)?;
        let queue = QueueName::new(queues::TASK_REQUESTS)?;
        runtime.block_on(queues::send(&self.pool, &queue, &value, 0.0))?;
        Ok(request.task_uuid)
    }

    /// The tokio runtime must not be used from a forked child: its threads did not survive.
    fn check_process(&self) -> Result<(), RuntimeError> {
        let current = std::process::id();
        if current != self.pid {
            return Err(RuntimeError::ForkedChild { started: self.pid, current });
        }
        Ok(())
    }
}

impl Drop for Orchestrator {
    fn drop(&mut self) {
        if self.runtime.is_some() && self.check_process().is_ok() {
            let _ = self.stop(Duration::from_millis(self.config.orchestrator.shutdown_timeout_ms));
        } else if let Some(runtime) = self.runtime.take() {
            // In a forked child the threads are gone; leak rather than join ghosts.
            std::mem::forget(runtime);
        }
    }
}

/// The templates an orchestrator started with `template_paths` would register (files and
/// directories, `*.yml`/`*.yaml` found recursively), parsed and validated, without a
/// database: for a worker that serves every namespace they name.
pub fn load_templates(template_paths: &[String]) -> Result<Vec<crate::domain::template::TaskTemplate>, RuntimeError> {
    Ok(template_registry::load_from_paths(template_paths)?)
}

/// Validates a task request arriving as JSON across the native boundary, trusting nothing:
/// size first, then depth (before any parser sees it), then syntax, then shape. Fills in `kind`, `task_uuid` (UUIDv5 of the
/// idempotency key when there is one) and `requested_at` when missing.
pub fn prepare_request(request_json: &str, payload_limit: usize) -> Result<(Value, TaskRequest), RuntimeError> {
    let limit = payload_limit.saturating_add(crate::config::ENVELOPE_BYTES);
    if request_json.len() > limit {
        return Err(MessagingError::TooLarge { size: request_json.len(), limit }.into());
    }
    use crate::domain::json_rules::{text_depth, MAX_JSON_DEPTH, MAX_MESSAGE_DEPTH};
    if text_depth(request_json, MAX_MESSAGE_DEPTH) > MAX_MESSAGE_DEPTH {
        let problem = format!("request is nested deeper than {MAX_MESSAGE_DEPTH} levels (a context may nest {MAX_JSON_DEPTH})");
        return Err(MessagingError::Malformed { kind: TaskRequest::KIND, problem }.into());
    }
    let mut value: Value =
        serde_json::from_str(request_json).map_err(|e| MessagingError::Malformed { kind: TaskRequest::KIND, problem: e.to_string() })?;
    if let Some(object) = value.as_object_mut() {
        object.entry("kind").or_insert_with(|| TaskRequest::KIND.into());
        let uuid = match object.get("idempotency_key").and_then(Value::as_str) {
            Some(key) => TaskRequest::idempotent_uuid(key),
            None => Uuid::now_v7(),
        };
        object.entry("task_uuid").or_insert_with(|| uuid.to_string().into());
        object.entry("requested_at").or_insert_with(|| chrono::Utc::now().to_rfc3339().into());
    }
    let request = TaskRequest::from_value(&value)?;
    let context_size = request.context.to_string().len();
    if context_size > payload_limit {
        return Err(MessagingError::TooLarge { size: context_size, limit: payload_limit }.into());
    }
    Ok((value, request))
}

async fn futures_join_all(handles: Vec<JoinHandle<()>>) {
    for handle in handles {
        let _ = handle.await;
    }
}
