//! Per-message isolation against real PostgreSQL: a message no reader can decode is set
//! aside on its first read without touching the messages read with it; idempotency is
//! enforced by the core; the worker's claim checks a step message against the database.

mod support;

use serde_json::{json, Value};
use sqlx::Row;
use support::{operator, request, TestDb, LINEAR_YAML};
use tasker_orchestration::domain::states::StepState;
use tasker_orchestration::messaging::messages::TaskRequest;
use tasker_orchestration::messaging::queues::QueueName;
use tasker_orchestration::orchestration::operator_actions;
use tasker_orchestration::orchestration::step_results::{self, ResultOutcome};
use tasker_orchestration::orchestration::task_requests::{self, RequestOutcome};
use uuid::Uuid;

const LIMIT: usize = 1024 * 1024;

fn nested(depth: usize) -> String {
    format!("{}{}", "[".repeat(depth), "]".repeat(depth))
}

/// Sends JSON texts in ONE transaction, so one read returns them together.
async fn send_together(db: &TestDb, queue: &str, texts: &[String]) -> Vec<i64> {
    let mut tx = db.pool.begin().await.unwrap();
    let mut ids = Vec::new();
    for text in texts {
        let id: i64 = sqlx::query_scalar("SELECT pgmq.send($1, $2::text::jsonb)").bind(queue).bind(text).fetch_one(&mut *tx).await.unwrap();
        ids.push(id);
    }
    tx.commit().await.unwrap();
    ids
}

async fn handle_requests(db: &TestDb, qty: i32) -> Vec<RequestOutcome> {
    let queue = QueueName::new("task_requests").unwrap();
    let mut outcomes = Vec::new();
    for message in db.read("task_requests", qty).await {
        outcomes.push(task_requests::handle(&db.pool, &queue, &message, LIMIT).await.unwrap());
    }
    outcomes
}

async fn letter(db: &TestDb, queue: &str, msg_id: i64) -> (String, String, i32) {
    let row = sqlx::query("SELECT kind, reason, read_ct FROM tasker_dead_letters WHERE queue_name = $1 AND msg_id = $2")
        .bind(queue)
        .bind(msg_id)
        .fetch_one(&db.pool)
        .await
        .unwrap();
    (row.get("kind"), row.get("reason"), row.get("read_ct"))
}

async fn archived(db: &TestDb, queue: &str, msg_id: i64) -> bool {
    let sql = format!("SELECT count(*) FROM pgmq.\"a_{queue}\" WHERE msg_id = $1");
    sqlx::query_scalar::<_, i64>(&sql).bind(msg_id).fetch_one(&db.pool).await.unwrap() == 1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_nested_too_deep_is_set_aside_on_its_first_read_and_spares_its_batch() {
    let db = TestDb::new().await;
    db.register(LINEAR_YAML).await;
    let valid = request(&Uuid::now_v7().to_string(), json!({"even_number": 2}));
    let deep = format!(r#"{{"kind": "task_request", "context": {}}}"#, nested(10_000));
    let ids = send_together(&db, "task_requests", &[deep, valid.to_string()]).await;
    let outcomes = handle_requests(&db, 10).await;
    assert_eq!(outcomes.len(), 2, "the read returns both messages: {outcomes:?}");
    assert!(outcomes.iter().any(|o| matches!(o, RequestOutcome::Created { .. })), "{outcomes:?}");
    let (kind, reason, read_ct) = letter(&db, "task_requests", ids[0]).await;
    assert_eq!((kind.as_str(), read_ct), ("rejected_request", 1));
    assert_eq!(reason, "message is nested deeper than 72 levels (a payload may nest 64)");
    assert!(archived(&db, "task_requests", ids[0]).await);
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_context_one_level_too_deep_is_rejected_naming_the_limit() {
    let db = TestDb::new().await;
    db.register(LINEAR_YAML).await;
    let at_limit = format!(r#"{{"even_number": 2, "deep": {}}}"#, nested(63));
    let over = format!(r#"{{"even_number": 2, "deep": {}}}"#, nested(64));
    let ok = request(&Uuid::now_v7().to_string(), serde_json::from_str(&at_limit).unwrap());
    let bad = request(&Uuid::now_v7().to_string(), serde_json::from_str(&over).unwrap());
    let ids = send_together(&db, "task_requests", &[ok.to_string(), bad.to_string()]).await;
    handle_requests(&db, 10).await;
    assert_eq!(db.scalar_i64("SELECT count(*) FROM tasker_tasks").await, 1);
    let (kind, reason, _) = letter(&db, "task_requests", ids[1]).await;
    assert_eq!(kind, "rejected_request");
    assert_eq!(reason, "malformed task_request: context is nested deeper than 64 levels");
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_priority_beyond_any_range_can_be_sent_and_is_set_aside() {
    let db = TestDb::new().await;
    let text = r#"{"kind": "step_result", "priority": 1e309}"#.to_string();
    let ids = send_together(&db, "step_results", &[text]).await;
    let batch = db.read("step_results", 10).await;
    let outcomes = step_results::handle_batch(&db.pool, &QueueName::new("step_results").unwrap(), &batch, LIMIT).await.unwrap();
    assert!(matches!(&outcomes[0], ResultOutcome::SetAside { kind: "malformed_result", .. }), "{outcomes:?}");
    assert!(archived(&db, "step_results", ids[0]).await);
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn results_no_client_can_read_are_refused() {
    let db = TestDb::new().await;
    let step = Uuid::now_v7();
    // jsonb writes numbers back in plain notation: 1e309 returns as an integer (fine for
    // every client), but this one returns as a decimal no double can hold.
    let huge = format!("1{}.5", "0".repeat(309));
    let result = format!(
        r#"{{"kind": "step_result", "task_uuid": "{step}", "step_uuid": "{step}", "step_name": "s", "attempt": 1,
             "status": "success", "results": {{"x": {huge}}}}}"#
    );
    let ids = send_together(&db, "step_results", &[result]).await;
    let batch = db.read("step_results", 10).await;
    step_results::handle_batch(&db.pool, &QueueName::new("step_results").unwrap(), &batch, LIMIT).await.unwrap();
    let (kind, reason, _) = letter(&db, "step_results", ids[0]).await;
    assert_eq!(kind, "malformed_result");
    assert_eq!(reason, format!("malformed step_result: results.x is 1{}…, beyond the range of a double", "0".repeat(39)));
    db.drop_db().await;
}

/// The digest a conflict names: of jsonb's own text, as the Ruby client computes it too.
async fn digest(db: &TestDb, context: Value) -> String {
    sqlx::query_scalar("SELECT encode(sha256(convert_to($1::jsonb::text, 'UTF8')), 'hex')")
        .bind(sqlx::types::Json(context))
        .fetch_one(&db.pool)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idempotency_keys_are_enforced_by_the_core() {
    let db = TestDb::new().await;
    db.register(LINEAR_YAML).await;
    let key = "order-77";
    let derived = TaskRequest::idempotent_uuid(key);
    let mut forged = request(&Uuid::now_v7().to_string(), json!({"even_number": 2}));
    forged["idempotency_key"] = key.into();
    let mut keyed = request(&derived.to_string(), json!({"even_number": 2}));
    keyed["idempotency_key"] = key.into();
    keyed.as_object_mut().unwrap().remove("task_uuid");
    let mut same = keyed.clone();
    same["requested_at"] = "2026-12-01T00:00:00Z".into();
    let mut other_context = keyed.clone();
    other_context["context"] = json!({"even_number": 4});
    let texts: Vec<String> = [&forged, &keyed, &same, &other_context].iter().map(|v| v.to_string()).collect();
    let ids = send_together(&db, "task_requests", &texts).await;
    for id in &ids {
        // One at a time, in order: the first keyed request creates the task.
        let message = db.read("task_requests", 1).await.pop().unwrap();
        assert_eq!(message.msg_id, *id);
        task_requests::handle(&db.pool, &QueueName::new("task_requests").unwrap(), &message, LIMIT).await.unwrap();
    }
    let (kind, reason, _) = letter(&db, "task_requests", ids[0]).await;
    assert_eq!(kind, "rejected_request");
    assert!(reason.contains(&format!("is not the UUIDv5 of its idempotency_key (expected {derived}")), "{reason}");
    let created: Uuid = sqlx::query_scalar("SELECT uuid FROM tasker_tasks").fetch_one(&db.pool).await.unwrap();
    assert_eq!(created, derived, "a request that leaves task_uuid out gets UUIDv5(key)");
    assert!(archived(&db, "task_requests", ids[2]).await, "a same-content repeat is archived");
    assert_eq!(db.scalar_i64("SELECT count(*) FROM tasker_dead_letters").await, 2, "the repeat is no dead letter");
    let (kind, reason, _) = letter(&db, "task_requests", ids[3]).await;
    assert_eq!(kind, "idempotency_conflict");
    let first = digest(&db, json!({"even_number": 2})).await;
    let second = digest(&db, json!({"even_number": 4})).await;
    assert!(reason.contains(&format!("already names task {derived}")), "{reason}");
    assert!(reason.contains(&format!("context sha256:{first}")) && reason.contains(&format!("context sha256:{second}")), "{reason}");
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_task_uuid_with_another_template_is_a_conflict() {
    let db = TestDb::new().await;
    db.register(LINEAR_YAML).await;
    db.register(&LINEAR_YAML.replace("version: 1.0.0", "version: 2.0.0")).await;
    let uuid = Uuid::now_v7().to_string();
    let first = request(&uuid, json!({"even_number": 2}));
    let mut replay = first.clone();
    replay["version"] = "2.0.0".into();
    send_together(&db, "task_requests", &[first.to_string()]).await;
    handle_requests(&db, 1).await;
    let replay_id = send_together(&db, "task_requests", &[replay.to_string()]).await[0];
    handle_requests(&db, 1).await;
    assert_eq!(db.scalar_i64("SELECT count(*) FROM tasker_tasks").await, 1);
    let (kind, reason, _) = letter(&db, "task_requests", replay_id).await;
    assert_eq!(kind, "idempotency_conflict");
    assert!(reason.contains("linear_workflow/mathematical_sequence@1.0.0") && reason.contains("@2.0.0"), "{reason}");
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requested_at_must_be_a_time() {
    let db = TestDb::new().await;
    db.register(LINEAR_YAML).await;
    let mut bad = request(&Uuid::now_v7().to_string(), json!({"even_number": 2}));
    bad["requested_at"] = "yesterday".into();
    let ids = send_together(&db, "task_requests", &[bad.to_string()]).await;
    handle_requests(&db, 1).await;
    let (kind, reason, _) = letter(&db, "task_requests", ids[0]).await;
    assert_eq!(
        (kind.as_str(), reason.as_str()),
        ("rejected_request", r#"malformed task_request: requested_at "yesterday" is not an RFC 3339 time"#)
    );
    db.drop_db().await;
}

/// The claim of a step message as the worker's read makes it: (verdict, reason).
async fn claim(db: &TestDb, message: &Value, queue: &str) -> (String, Option<String>) {
    let row = sqlx::query("SELECT verdict, reason FROM tasker_claim_message($1, $2, 'w', 65536, 1)")
        .bind(sqlx::types::Json(message))
        .bind(queue)
        .fetch_one(&db.pool)
        .await
        .unwrap();
    (row.get("verdict"), row.get("reason"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_claim_trusts_the_database_not_the_message() {
    let db = TestDb::new().await;
    db.register(LINEAR_YAML).await;
    db.send("task_requests", &request(&Uuid::now_v7().to_string(), json!({"even_number": 2}))).await;
    handle_requests(&db, 1).await;
    let genuine = db.read("linear_workflow_queue", 1).await.pop().unwrap().message.unwrap();
    let queue = "linear_workflow_queue";
    let forged = |field: &str, value: Value| {
        let mut copy = genuine.clone();
        copy[field] = value;
        copy
    };
    let cases = [
        (forged("handler", "Some::OtherHandler".into()), "mismatch", "handler Some::OtherHandler (the step runs LinearWorkflow::StepOne)"),
        (forged("task_uuid", Uuid::now_v7().to_string().into()), "mismatch", "the step belongs to task"),
        (forged("step_name", "linear_step_2".into()), "mismatch", "step_name linear_step_2 (the step is linear_step_1)"),
        (forged("task_version", "9.9.9".into()), "mismatch", "template linear_workflow/mathematical_sequence@9.9.9"),
        (forged("step_uuid", Uuid::now_v7().to_string().into()), "ignored", "unknown step"),
        (forged("attempt", 2.into()), "ignored", "attempt 2 of step linear_step_1 is not claimable"),
        (forged("attempt", json!([1])), "invalid", "attempt must be"),
        (forged("context", json!({"a": [1]})), "invalid", "context must be a string or a number"),
        (forged("priority", json!(1e300)), "invalid", "priority must be an integer"),
        (forged("kind", "task_request".into()), "invalid", r#"expected an object with "kind": "step""#),
        (forged("pad", "x".repeat(70_000).into()), "invalid", "exceeds the limit of 65536 bytes"),
    ];
    for (message, verdict, reason) in &cases {
        let (got, why) = claim(&db, message, queue).await;
        let why = why.unwrap_or_default();
        assert_eq!(&got, verdict, "{why}");
        assert!(why.contains(reason), "{verdict}: {why}");
    }
    let (got, why) = claim(&db, &genuine, "other_queue").await;
    assert_eq!(got, "mismatch");
    assert!(why.unwrap().contains("read from queue other_queue (the task's queue is linear_workflow_queue)"));
    assert_eq!(db.step_state("linear_step_1").await, (StepState::Enqueued.as_str().into(), 1), "no forgery claimed the step");
    assert_eq!(claim(&db, &genuine, queue).await.0, "claimed");
    // A copy under another msg_id does not run the step again while it runs; the genuine
    // message's own redelivery (same msg_id) claims it again.
    let twin = sqlx::query("SELECT verdict, reason FROM tasker_claim_message($1, $2, 'w', 65536, 2)")
        .bind(sqlx::types::Json(&genuine))
        .bind(queue)
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(twin.get::<String, _>("verdict"), "ignored");
    assert_eq!(twin.get::<String, _>("reason"), "attempt 1 of step linear_step_1 is already running under message 1");
    assert_eq!(claim(&db, &genuine, queue).await.0, "claimed");
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resolve_step_leaves_a_finished_task_alone() {
    let db = TestDb::new().await;
    db.register(LINEAR_YAML).await;
    let uuid = Uuid::now_v7();
    db.send("task_requests", &request(&uuid.to_string(), json!({"even_number": 2}))).await;
    handle_requests(&db, 1).await;
    operator_actions::cancel(&db.pool, uuid, &operator()).await.unwrap();
    let err = operator_actions::resolve_step(&db.pool, uuid, "linear_step_1", &json!(1), &operator()).await.unwrap_err();
    assert_eq!(err.to_string(), format!("task {uuid} is cancelled: resolve_step applies to a task in progress or in error"));
    let err = operator_actions::resolve_step(&db.pool, uuid, "linear_step_1", &json!({"a": "x\u{0}"}), &operator()).await.unwrap_err();
    assert!(err.to_string().contains("results.a contains a NUL character"), "{err}");
    db.drop_db().await;
}

#[test]
fn the_native_boundary_applies_the_same_rules_before_parsing() {
    let deep = format!(r#"{{"namespace": "linear_workflow", "context": {{"x": {}}}}}"#, nested(10_000));
    let err = tasker_orchestration::prepare_request(&deep, LIMIT).unwrap_err().to_string();
    assert!(err.contains("request is nested deeper than 72 levels (a context may nest 64)"), "{err}");
    let nul = r#"{"namespace": "linear_workflow", "name": "mathematical_sequence", "version": "1.0.0",
                  "context": {"a": ["x\u0000"]}}"#;
    let err = tasker_orchestration::prepare_request(nul, LIMIT).unwrap_err().to_string();
    assert!(err.contains("context.a[0] contains a NUL character"), "{err}");
}
