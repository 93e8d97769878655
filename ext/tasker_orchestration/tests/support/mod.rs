//! Real PostgreSQL for the core's tests: a template database bootstrapped once per test
//! binary (pgmq + migrations), then a fresh clone per test so tests run in parallel without
//! sharing queues. `TASKER_TEST_ADMIN_URL` points at a database we may CREATE DATABASE from.

#![allow(dead_code)]

use std::sync::atomic::{AtomicU32, Ordering};

use serde_json::Value;
use sqlx::{Connection, PgConnection, PgPool};
use tasker_orchestration::db;
use tasker_orchestration::domain::template::TaskTemplate;
use tasker_orchestration::messaging::queues::{self, QueueMessage, QueueName};
use tasker_orchestration::orchestration::task_requests::{self, RequestOutcome};
use tasker_orchestration::orchestration::template_registry;
use tokio::sync::OnceCell;

static TEMPLATE_DB: OnceCell<String> = OnceCell::const_new();
static COUNTER: AtomicU32 = AtomicU32::new(0);

pub fn admin_url() -> String {
    std::env::var("TASKER_TEST_ADMIN_URL").unwrap_or_else(|_| "postgres://postgres@localhost/postgres".into())
}

pub fn url_for(db: &str) -> String {
    let admin = admin_url();
    let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
    format!("{base}/{db}")
}

async fn admin() -> PgConnection {
    PgConnection::connect(&admin_url()).await.expect("PostgreSQL must be running (bin/setup starts it)")
}

async fn template_db() -> &'static str {
    TEMPLATE_DB
        .get_or_init(|| async {
            let name = format!("tasker_rt_template_{}", std::process::id());
            let mut admin = admin().await;
            drop_databases_of_gone_processes(&mut admin).await;
            sqlx::query(&format!("DROP DATABASE IF EXISTS {name}")).execute(&mut admin).await.unwrap();
            sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut admin).await.unwrap();
            let pool = db::connect(&url_for(&name), 4, CONNECT_TIMEOUT).await.unwrap();
            db::bootstrap(&pool).await.unwrap();
            pool.close().await;
            name
        })
        .await
}

/// Test binaries cannot drop their template database at exit (and a panicking test leaves its
/// own): the first test of each binary drops the databases of test processes that are gone.
async fn drop_databases_of_gone_processes(admin: &mut PgConnection) {
    if !std::path::Path::new("/proc/self").exists() {
        return; // no way to tell a gone process here
    }
    let names: Vec<String> =
        sqlx::query_scalar("SELECT datname FROM pg_database WHERE datname LIKE 'tasker\\_rt\\_%'").fetch_all(&mut *admin).await.unwrap();
    for name in names {
        let pid = name.trim_start_matches("tasker_rt_").trim_start_matches("template_").split('_').next().unwrap_or("");
        let gone = pid.parse::<u32>().is_ok_and(|pid| !std::path::Path::new(&format!("/proc/{pid}")).exists());
        if gone {
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut *admin).await;
        }
    }
}

pub struct TestDb {
    pub name: String,
    pub url: String,
    pub pool: PgPool,
}

impl TestDb {
    /// A fresh, bootstrapped database of its own.
    pub async fn new() -> Self {
        let template = template_db().await;
        let name = format!("tasker_rt_{}_{}", std::process::id(), COUNTER.fetch_add(1, Ordering::SeqCst));
        let mut admin = admin().await;
        sqlx::query(&format!("CREATE DATABASE {name} TEMPLATE {template}")).execute(&mut admin).await.unwrap();
        let url = url_for(&name);
        let pool = db::connect(&url, 8, CONNECT_TIMEOUT).await.unwrap();
        Self { name, url, pool }
    }

    pub async fn drop_db(self) {
        self.pool.close().await;
        let mut admin = admin().await;
        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name)).execute(&mut admin).await;
    }

    pub async fn register(&self, yaml: &str) -> TaskTemplate {
        let template = TaskTemplate::from_yaml(yaml).unwrap();
        template_registry::register(&self.pool, &template).await.unwrap();
        template
    }

    pub async fn send(&self, queue: &str, message: &Value) -> i64 {
        queues::send(&self.pool, &QueueName::new(queue).unwrap(), message, 0.0).await.unwrap()
    }

    pub async fn read(&self, queue: &str, qty: i32) -> Vec<QueueMessage> {
        queues::read(&self.pool, &QueueName::new(queue).unwrap(), 30, qty, 1024 * 1024).await.unwrap()
    }

    /// Sends a task request and lets the orchestrator handle it (1 MiB message limit).
    pub async fn request_task(&self, request: &Value) -> RequestOutcome {
        self.send("task_requests", request).await;
        let message = self.read("task_requests", 1).await.pop().expect("the request is queued");
        task_requests::handle(&self.pool, &QueueName::new("task_requests").unwrap(), &message, 1024 * 1024).await.unwrap()
    }

    pub async fn scalar_i64(&self, sql: &str) -> i64 {
        sqlx::query_scalar(sql).fetch_one(&self.pool).await.unwrap()
    }

    /// The step counters kept on each task agree with its steps.
    pub async fn assert_counters_consistent(&self) {
        let drifted = self.scalar_i64(COUNTER_DRIFT_SQL).await;
        assert_eq!(drifted, 0, "tasks whose step counters drifted from their steps");
    }

    pub async fn step_state(&self, step_name: &str) -> (String, i32) {
        sqlx::query_as("SELECT state, attempts FROM tasker_workflow_steps WHERE name = $1")
            .bind(step_name)
            .fetch_one(&self.pool)
            .await
            .unwrap()
    }
}

/// Tasks whose step counters disagree with their steps (the schema's view).
/// How long the tests' pools wait for a connection.
pub const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

pub const COUNTER_DRIFT_SQL: &str = "SELECT count(*) FROM tasker_counter_drift";

pub const LINEAR_YAML: &str = r#"
name: mathematical_sequence
namespace: linear_workflow
version: 1.0.0
input_schema: {type: object, required: [even_number], properties: {even_number: {type: integer}}}
steps:
  - name: linear_step_1
    handler: LinearWorkflow::StepOne
  - name: linear_step_2
    handler: LinearWorkflow::StepTwo
    depends_on: [linear_step_1]
    retry: {max_attempts: 2, backoff_base_ms: 0, backoff_max_ms: 0}
"#;

/// The actor the tests' operator actions name.
pub fn operator() -> tasker_orchestration::domain::actor::Actor {
    tasker_orchestration::domain::actor::Actor::new("test:operator").unwrap()
}

pub fn request(uuid: &str, context: Value) -> Value {
    serde_json::json!({"kind": "task_request", "task_uuid": uuid, "namespace": "linear_workflow",
        "name": "mathematical_sequence", "version": "1.0.0", "context": context})
}

/// A worker's success result for a step message, as a no-op handler posts it.
pub fn success_result(step: &Value) -> Value {
    serde_json::json!({"kind": "step_result", "task_uuid": step["task_uuid"], "step_uuid": step["step_uuid"],
        "step_name": step["step_name"], "attempt": step["attempt"], "status": "success",
        "results": {"from": step["step_name"]}, "worker_id": "test-worker",
        "started_at": "2026-12-03T10:00:00Z", "finished_at": "2026-12-03T10:00:01Z"})
}

/// Judges and claims step messages read from `queue` the way a worker's read does (one
/// tasker_claim_messages call); the verdicts in msg_id order.
pub async fn claim_messages<'c>(db: impl sqlx::PgExecutor<'c>, queue: &str, messages: &[QueueMessage]) -> Vec<String> {
    let ids: Vec<i64> = messages.iter().map(|m| m.msg_id).collect();
    let bodies: Vec<sqlx::types::Json<&Value>> = messages.iter().map(|m| sqlx::types::Json(m.message.as_ref().unwrap())).collect();
    sqlx::query_scalar("SELECT verdict FROM tasker_claim_messages($1, $2, $3, 'test-worker', 1048576) ORDER BY msg_id")
        .bind(&ids)
        .bind(bodies)
        .bind(queue)
        .fetch_all(db)
        .await
        .unwrap()
}
