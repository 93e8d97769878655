//! Operator actions and priority reads in the core, against real PostgreSQL.

mod support;

use serde_json::{json, Value};
use support::{request, TestDb, LINEAR_YAML};
use tasker_orchestration::domain::actor::Actor;
use tasker_orchestration::messaging::queues::{self, QueueName};
use tasker_orchestration::orchestration::operator_actions;
use tasker_orchestration::orchestration::step_results;
use tasker_orchestration::orchestration::OrchestrationError;
use tasker_orchestration::ErrorKind;
use uuid::Uuid;

const LIMIT: usize = 1024 * 1024;

async fn create(db: &TestDb, uuid: &str) {
    db.request_task(&request(uuid, json!({"even_number": 2}))).await;
}

/// Claims and fails the next step message permanently.
async fn fail_next(db: &TestDb) {
    let message = db.read("linear_workflow_queue", 1).await.pop().unwrap();
    let step = message.message.unwrap();
    sqlx::query("SELECT tasker_claim_step($1::uuid, $2::int, 'w')")
        .bind(step["step_uuid"].as_str().unwrap())
        .bind(step["attempt"].as_i64().unwrap() as i32)
        .execute(&db.pool)
        .await
        .unwrap();
    let result = json!({"kind": "step_result", "task_uuid": step["task_uuid"], "step_uuid": step["step_uuid"],
        "step_name": step["step_name"], "attempt": step["attempt"], "status": "failure",
        "error": {"class": "PermanentError", "message": "no", "retryable": false}});
    db.send("step_results", &result).await;
    let read = db.read("step_results", 1).await.pop().unwrap();
    step_results::handle(&db.pool, &QueueName::new("step_results").unwrap(), &read, LIMIT).await.unwrap();
}

async fn task_state(db: &TestDb, uuid: Uuid) -> String {
    sqlx::query_scalar("SELECT state FROM tasker_tasks WHERE uuid = $1").bind(uuid).fetch_one(&db.pool).await.unwrap()
}

fn actor(name: &str) -> Actor {
    Actor::new(name).unwrap()
}

/// The newest transition ids of both tables: what an action writes comes after them.
async fn marks(db: &TestDb) -> (i64, i64) {
    let step = db.scalar_i64("SELECT COALESCE(max(id), 0) FROM tasker_step_transitions").await;
    (step, db.scalar_i64("SELECT COALESCE(max(id), 0) FROM tasker_task_transitions").await)
}

/// Every transition written after `marks`, as "step|task reason from->to: actor".
async fn written_since(db: &TestDb, (step, task): (i64, i64)) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT kind || ' ' || reason || ' ' || COALESCE(from_state, '-') || '->' || to_state || ': ' || COALESCE(metadata->>'actor', 'NONE')
           FROM (SELECT 'step' AS kind, id, reason, from_state, to_state, metadata FROM tasker_step_transitions WHERE id > $1
                 UNION ALL
                 SELECT 'task', id, reason, from_state, to_state, metadata FROM tasker_task_transitions WHERE id > $2) t
          ORDER BY kind, id",
    )
    .bind(step)
    .bind(task)
    .fetch_all(&db.pool)
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_renews_the_budget_and_keeps_attempt_numbers_increasing() {
    let db = TestDb::new().await;
    db.register(LINEAR_YAML).await;
    let uuid = Uuid::now_v7();
    create(&db, &uuid.to_string()).await;
    fail_next(&db).await;
    assert_eq!(task_state(&db, uuid).await, "error");
    let before = marks(&db).await;
    let outcome = operator_actions::retry(&db.pool, uuid, &actor("cli:alice@host")).await.unwrap();
    assert_eq!(
        written_since(&db, before).await,
        [
            "step retried_by_operator error->pending: cli:alice@host",
            "step ready pending->enqueued: cli:alice@host",
            "task retried_by_operator error->in_progress: cli:alice@host",
        ]
    );
    assert_eq!(outcome["dispatched"], 1);
    assert_eq!(task_state(&db, uuid).await, "in_progress");
    assert_eq!(db.step_state("linear_step_1").await, ("enqueued".into(), 2));
    let offset: i32 = sqlx::query_scalar("SELECT attempts_offset FROM tasker_workflow_steps WHERE name = 'linear_step_1'")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(offset, 1);
    let again = operator_actions::retry(&db.pool, uuid, &actor("cli:alice@host")).await.unwrap_err();
    assert_eq!(again.to_string(), "illegal task transition in_progress -> in_progress");
    db.assert_counters_consistent().await;
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resolve_releases_dependents_and_cancel_stops_everything() {
    let db = TestDb::new().await;
    db.register(LINEAR_YAML).await;
    let uuid = Uuid::now_v7();
    create(&db, &uuid.to_string()).await;
    fail_next(&db).await;
    let before = marks(&db).await;
    let outcome = operator_actions::resolve_step(&db.pool, uuid, "linear_step_1", &json!(4), &actor("web:bob")).await.unwrap();
    assert_eq!((outcome["task_state"].as_str(), outcome["dispatched"].as_i64()), (Some("in_progress"), Some(1)));
    assert_eq!(db.step_state("linear_step_2").await, ("enqueued".into(), 1));
    assert_eq!(
        written_since(&db, before).await,
        [
            "step resolved_by_operator error->resolved_manually: web:bob",
            "step ready pending->enqueued: web:bob",
            "task resumed_by_operator error->in_progress: web:bob",
        ]
    );

    let before = marks(&db).await;
    let cancelled = operator_actions::cancel(&db.pool, uuid, &actor("cli:carol@ops-1")).await.unwrap();
    assert_eq!(cancelled["cancelled_steps"], 1);
    assert_eq!(task_state(&db, uuid).await, "cancelled");
    assert_eq!(
        written_since(&db, before).await,
        [
            "step cancelled_by_operator enqueued->cancelled: cli:carol@ops-1",
            "task cancelled_by_operator in_progress->cancelled: cli:carol@ops-1",
        ]
    );
    let unknown = operator_actions::cancel(&db.pool, Uuid::now_v7(), &actor("x")).await.unwrap_err();
    assert!(matches!(unknown, OrchestrationError::NotFound(_)));
    let reasons: Vec<String> =
        sqlx::query_scalar("SELECT reason FROM tasker_task_transitions ORDER BY id").fetch_all(&db.pool).await.unwrap();
    assert_eq!(reasons, ["created", "started", "step_failed", "resumed_by_operator", "cancelled_by_operator"]);
    db.assert_counters_consistent().await;
    db.drop_db().await;
}

/// The task's finalization is the action's too: it carries the actor.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resolution_that_finishes_the_task_records_its_actor_on_the_completion() {
    let db = TestDb::new().await;
    db.register(LINEAR_YAML).await;
    let uuid = Uuid::now_v7();
    create(&db, &uuid.to_string()).await;
    operator_actions::resolve_step(&db.pool, uuid, "linear_step_1", &json!(1), &actor("web:dan")).await.unwrap();
    let before = marks(&db).await;
    let outcome = operator_actions::resolve_step(&db.pool, uuid, "linear_step_2", &json!(2), &actor("web:erin")).await.unwrap();
    assert_eq!(outcome["task_state"], "complete");
    assert_eq!(
        written_since(&db, before).await,
        ["step resolved_by_operator enqueued->resolved_manually: web:erin", "task all_steps_complete in_progress->complete: web:erin",]
    );
    // The orchestrator's own transitions name no actor.
    let unnamed =
        db.scalar_i64("SELECT count(*) FROM tasker_task_transitions WHERE reason IN ('created', 'started') AND metadata ? 'actor'").await;
    assert_eq!(unnamed, 0);
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_follow_priority_with_aging() {
    let db = TestDb::new().await;
    let queue = QueueName::new("prio_queue").unwrap();
    {
        let mut conn = db.pool.acquire().await.unwrap();
        queues::create(&mut conn, &queue).await.unwrap();
    }
    for (label, priority) in [("old_low", 0), ("low", 0), ("high", 10), ("mid", 5)] {
        queues::send(&db.pool, &queue, &json!({"label": label, "priority": priority}), 0.0).await.unwrap();
    }
    sqlx::query("UPDATE pgmq.q_prio_queue SET enqueued_at = enqueued_at - interval '7 s' WHERE message->>'label' = 'old_low'")
        .execute(&db.pool)
        .await
        .unwrap();
    let read = queues::read(&db.pool, &queue, 30, 10, LIMIT).await.unwrap();
    let labels: Vec<Value> = read.iter().map(|m| m.message.as_ref().unwrap()["label"].clone()).collect();
    assert_eq!(labels, [json!("high"), json!("old_low"), json!("mid"), json!("low")]);
    let plan: Vec<String> = sqlx::query_scalar(
        "EXPLAIN SELECT msg_id FROM pgmq.q_prio_queue ORDER BY tasker_virtual_time(enqueued_at, message), msg_id LIMIT 1",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    let plan = plan.join("\n");
    assert!(plan.contains("q_prio_queue_tasker_vt_idx"), "{plan}");
    db.assert_counters_consistent().await;
    db.drop_db().await;
}

/// A refused action drops its transaction with the task's row locked. The operator's
/// runtime must finish the rollback by itself, not at its next call (a current-thread
/// runtime left the connection idle in transaction until the pool ran dry).
#[test]
fn a_refused_action_leaves_no_transaction_open() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let db = rt.block_on(async {
        let db = TestDb::new().await;
        db.register(LINEAR_YAML).await;
        db
    });
    let uuid = Uuid::now_v7();
    rt.block_on(create(&db, &uuid.to_string()));
    let config = tasker_orchestration::CoreConfig::from_json(&json!({"database_url": db.url}).to_string()).unwrap();
    let operator = tasker_orchestration::Operator::connect(&config).unwrap();
    let too_long = operator.cancel(&uuid.to_string(), &"a".repeat(201)).unwrap_err();
    assert_eq!((too_long.kind(), too_long.to_string()), (ErrorKind::Validation, "actor of 201 bytes exceeds 200 bytes".to_owned()));
    let forged = operator.retry(&uuid.to_string(), "cli:x\nlevel=ERROR").unwrap_err();
    assert_eq!(forged.to_string(), "actor contains the control character U+000A at byte 5");
    assert_eq!(rt.block_on(task_state(&db, uuid)), "in_progress", "a refused actor changes nothing");
    operator.cancel(&uuid.to_string(), &"a".repeat(200)).unwrap();
    let refused = operator.resolve_step(&uuid.to_string(), "linear_step_1", "1", "test").unwrap_err().to_string();
    assert!(refused.contains("is cancelled: resolve_step applies"), "{refused}");
    let open = |rt: &tokio::runtime::Runtime| -> i64 {
        rt.block_on(
            db.scalar_i64("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND state = 'idle in transaction'"),
        )
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while open(&rt) > 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(open(&rt), 0, "a connection was left idle in transaction");
    drop(operator);
    rt.block_on(db.drop_db());
}
