//! The orchestration functions against real PostgreSQL + pgmq: task creation, the worker
//! claim, result processing, retries, finalization, and bad input kept as dead letters.

mod support;

use serde_json::{json, Value};
use support::{request, TestDb, LINEAR_YAML};
use tasker_orchestration::db;
use tasker_orchestration::domain::states::{StepState, TaskState};
use tasker_orchestration::messaging::queues::QueueName;
use tasker_orchestration::orchestration::step_results::{self, ResultOutcome};
use tasker_orchestration::orchestration::task_requests::{self, RequestOutcome};
use uuid::Uuid;

const TASK: &str = "0192f6c4-8f3a-7c1e-9d4b-1a2b3c4d5e6f";
const LIMIT: usize = 1024 * 1024;

async fn create_task(db: &TestDb, context: Value) -> RequestOutcome {
    db.request_task(&request(TASK, context)).await
}

/// Reads the next step message, claims it the way a Ruby worker does, and returns
/// (step message, claim row).
async fn claim_next(db: &TestDb) -> (Value, (bool, Option<Value>, Option<Value>)) {
    let message = db.read("linear_workflow_queue", 1).await.pop().expect("a step message is queued");
    let body = message.message.unwrap();
    let claim: (bool, Option<sqlx::types::Json<Value>>, Option<sqlx::types::Json<Value>>) =
        sqlx::query_as("SELECT claimed, task_context, parent_results FROM tasker_claim_step($1::uuid, $2::int, 'test-worker')")
            .bind(body["step_uuid"].as_str().unwrap())
            .bind(body["attempt"].as_i64().unwrap() as i32)
            .fetch_one(&db.pool)
            .await
            .unwrap();
    (body, (claim.0, claim.1.map(|j| j.0), claim.2.map(|j| j.0)))
}

async fn post_result(db: &TestDb, step: &Value, status: &str, results: Value, error: Value) -> ResultOutcome {
    let result = json!({"kind": "step_result", "task_uuid": step["task_uuid"], "step_uuid": step["step_uuid"],
        "step_name": step["step_name"], "attempt": step["attempt"], "status": status,
        "results": results, "error": error});
    db.send("step_results", &result).await;
    let message = db.read("step_results", 1).await.pop().unwrap();
    step_results::handle(&db.pool, &QueueName::new("step_results").unwrap(), &message, LIMIT).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bootstrap_is_idempotent_under_concurrency() {
    let db = TestDb::new().await;
    let (a, b, c) = tokio::join!(db::bootstrap(&db.pool), db::bootstrap(&db.pool), db::bootstrap(&db.pool));
    a.unwrap();
    b.unwrap();
    c.unwrap();
    assert_eq!(db.scalar_i64("SELECT count(*) FROM pgmq.meta WHERE queue_name IN ('task_requests', 'step_results')").await, 2);
    db.assert_counters_consistent().await;
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_creates_the_task_and_enqueues_only_the_roots() {
    let db = TestDb::new().await;
    db.register(LINEAR_YAML).await;
    let outcome = create_task(&db, json!({"even_number": 6})).await;
    assert_eq!(outcome, RequestOutcome::Created { task_uuid: TASK.parse().unwrap(), steps: 2 });
    assert_eq!(db.step_state("linear_step_1").await, ("enqueued".into(), 1));
    assert_eq!(db.step_state("linear_step_2").await, ("pending".into(), 0));
    let task_path: Vec<(Option<String>, String)> =
        sqlx::query_as("SELECT from_state, to_state FROM tasker_task_transitions ORDER BY id").fetch_all(&db.pool).await.unwrap();
    assert_eq!(task_path, vec![(None, "pending".into()), (Some("pending".into()), "in_progress".into())]);
    assert_eq!(db.scalar_i64("SELECT count(*) FROM pgmq.q_task_requests").await, 0, "the request is deleted with the commit");
    let step = db.read("linear_workflow_queue", 10).await;
    assert_eq!(step.len(), 1);
    let body = step[0].message.as_ref().unwrap();
    assert_eq!((body["step_name"].as_str(), body["attempt"].as_i64()), (Some("linear_step_1"), Some(1)));
    assert_eq!(body["handler"], "LinearWorkflow::StepOne");
    db.assert_counters_consistent().await;
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claims_and_results_drive_the_dag_to_completion() {
    let db = TestDb::new().await;
    db.register(LINEAR_YAML).await;
    create_task(&db, json!({"even_number": 6})).await;
    let (step1, (claimed, context, parents)) = claim_next(&db).await;
    assert!(claimed);
    assert_eq!(context.unwrap(), json!({"even_number": 6}));
    assert_eq!(parents.unwrap(), json!({}));
    assert_eq!(db.step_state("linear_step_1").await.0, "in_progress");

    // 2**70: beyond 64 bits, must survive jsonb and serde_json.
    let huge: Value = serde_json::from_str("1180591620717411303424").unwrap();
    let outcome = post_result(&db, &step1, "success", huge.clone(), Value::Null).await;
    assert_eq!(outcome, ResultOutcome::Applied { step_state: StepState::Complete, task_state: None, dispatched: 1 });

    let (step2, (claimed, _, parents)) = claim_next(&db).await;
    assert!(claimed);
    assert_eq!(parents.unwrap()["linear_step_1"].to_string(), "1180591620717411303424");
    let outcome = post_result(&db, &step2, "success", json!({"done": true}), Value::Null).await;
    assert_eq!(outcome, ResultOutcome::Applied { step_state: StepState::Complete, task_state: Some(TaskState::Complete), dispatched: 0 });
    let stored: String = sqlx::query_scalar("SELECT results::text FROM tasker_workflow_steps WHERE name = 'linear_step_1'")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(stored, "1180591620717411303424");
    let path: Vec<String> = sqlx::query_scalar(
        "SELECT coalesce(from_state, '-') || '>' || to_state FROM tasker_step_transitions t
           JOIN tasker_workflow_steps s ON s.id = t.step_id WHERE s.name = 'linear_step_2' ORDER BY t.id",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    assert_eq!(path, ["->pending", "pending>enqueued", "enqueued>in_progress", "in_progress>complete"]);
    db.assert_counters_consistent().await;
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_and_stale_results_change_nothing_and_are_kept() {
    let db = TestDb::new().await;
    db.register(LINEAR_YAML).await;
    create_task(&db, json!({"even_number": 2})).await;
    let (step1, _) = claim_next(&db).await;
    post_result(&db, &step1, "success", json!(4), Value::Null).await;
    let again = post_result(&db, &step1, "success", json!(999), Value::Null).await;
    assert!(matches!(again, ResultOutcome::SetAside { kind: "ignored_result", .. }), "{again:?}");
    let mut stale = step1.clone();
    stale["attempt"] = json!(7);
    let stale_outcome = post_result(&db, &stale, "success", json!(5), Value::Null).await;
    assert!(matches!(stale_outcome, ResultOutcome::SetAside { kind: "ignored_result", .. }));
    let stored: Value =
        sqlx::query_scalar::<_, sqlx::types::Json<Value>>("SELECT results FROM tasker_workflow_steps WHERE name = 'linear_step_1'")
            .fetch_one(&db.pool)
            .await
            .unwrap()
            .0;
    assert_eq!(stored, json!(4), "the first accepted result stands");
    assert_eq!(db.scalar_i64("SELECT count(*) FROM tasker_dead_letters WHERE kind = 'ignored_result'").await, 2);
    assert_eq!(db.scalar_i64("SELECT count(*) FROM pgmq.a_step_results").await, 2, "ignored results are archived");
    assert_eq!(
        db.scalar_i64("SELECT count(*) FROM pgmq.q_linear_workflow_queue WHERE message->>'step_name' = 'linear_step_2'").await,
        1,
        "step 2 was dispatched once"
    );
    db.assert_counters_consistent().await;
    db.drop_db().await;
}

fn result_of(step: &Value, results: Value) -> Value {
    json!({"kind": "step_result", "task_uuid": step["task_uuid"], "step_uuid": step["step_uuid"],
        "step_name": step["step_name"], "attempt": step["attempt"], "status": "success", "results": results, "error": null})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_of_results_applies_in_one_transaction_each_message_judged_alone() {
    let db = TestDb::new().await;
    db.register(LINEAR_YAML).await;
    let other = "0192f6c4-8f3a-7c1e-9d4b-000000000002";
    for uuid in [TASK, other] {
        db.request_task(&request(uuid, json!({"even_number": 2}))).await;
    }
    let (a, _) = claim_next(&db).await;
    let (b, _) = claim_next(&db).await;
    // B's result first: the batch locks tasks in id order whatever the order of messages.
    for body in [result_of(&b, json!("b")), result_of(&a, json!("a")), result_of(&a, json!("a again")), json!({"kind": "nonsense"})] {
        db.send("step_results", &body).await;
    }
    let batch = db.read("step_results", 10).await;
    assert_eq!(batch.len(), 4);
    let outcomes = step_results::handle_batch(&db.pool, &QueueName::new("step_results").unwrap(), &batch, LIMIT).await.unwrap();
    let applied = ResultOutcome::Applied { step_state: StepState::Complete, task_state: None, dispatched: 1 };
    assert_eq!(outcomes[..2], [applied.clone(), applied]);
    assert!(
        matches!(outcomes[2], ResultOutcome::SetAside { kind: "ignored_result", .. }),
        "the duplicate within the batch: {:?}",
        outcomes[2]
    );
    assert!(matches!(outcomes[3], ResultOutcome::SetAside { kind: "malformed_result", .. }), "{:?}", outcomes[3]);
    assert_eq!(db.scalar_i64("SELECT count(*) FROM pgmq.q_step_results").await, 0, "applied results deleted, bad ones archived");
    assert_eq!(db.scalar_i64("SELECT count(*) FROM pgmq.a_step_results").await, 2);
    assert_eq!(
        db.scalar_i64("SELECT count(*) FROM pgmq.q_linear_workflow_queue WHERE message->>'step_name' = 'linear_step_2'").await,
        2,
        "each task's next step was dispatched once"
    );
    let stored: Vec<String> =
        sqlx::query_scalar("SELECT results::text FROM tasker_workflow_steps WHERE name = 'linear_step_1' ORDER BY results::text")
            .fetch_all(&db.pool)
            .await
            .unwrap();
    assert_eq!(stored, ["\"a\"", "\"b\""], "the first result of each step stands");
    db.assert_counters_consistent().await;
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retryable_failure_retries_then_fails_the_task_for_good() {
    let db = TestDb::new().await;
    db.register(LINEAR_YAML).await;
    create_task(&db, json!({"even_number": 2})).await;
    let (step1, _) = claim_next(&db).await;
    post_result(&db, &step1, "success", json!(4), Value::Null).await;
    let error = json!({"class": "RuntimeError", "message": "flaky", "retryable": true});
    let (step2, _) = claim_next(&db).await;
    let outcome = post_result(&db, &step2, "failure", Value::Null, error.clone()).await;
    assert_eq!(outcome, ResultOutcome::Applied { step_state: StepState::WaitingForRetry, task_state: None, dispatched: 0 });
    assert_eq!(db.step_state("linear_step_2").await, ("waiting_for_retry".into(), 2));

    let (retry, (claimed, _, _)) = claim_next(&db).await;
    assert_eq!(retry["attempt"], 2);
    assert!(claimed, "the retry message claims the step again");
    let outcome = post_result(&db, &retry, "failure", Value::Null, error).await;
    assert_eq!(outcome, ResultOutcome::Applied { step_state: StepState::Error, task_state: Some(TaskState::Error), dispatched: 0 });
    let last_error: Value =
        sqlx::query_scalar::<_, sqlx::types::Json<Value>>("SELECT last_error FROM tasker_workflow_steps WHERE name = 'linear_step_2'")
            .fetch_one(&db.pool)
            .await
            .unwrap()
            .0;
    assert_eq!((last_error["class"].as_str(), last_error["attempt"].as_i64()), (Some("RuntimeError"), Some(2)));
    db.assert_counters_consistent().await;
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_are_rejected_with_a_reason_and_kept() {
    let db = TestDb::new().await;
    db.register(LINEAR_YAML).await;
    let cases = [
        (
            json!({"kind": "task_request", "task_uuid": TASK, "namespace": "linear_workflow", "name": "mathematical_sequence",
                "version": "9.9.9", "context": {}}),
            "unknown template linear_workflow/mathematical_sequence@9.9.9 (registered versions: 1.0.0)",
        ),
        (request(TASK, json!({"even_number": "six"})), "invalid context: context.even_number: expected integer, got string"),
        (json!({"kind": "task_request", "task_uuid": TASK}), "missing field `namespace`"),
        (json!([1, 2, 3]), "expected an object with \"kind\": \"task_request\""),
    ];
    for (message, expected) in cases {
        db.send("task_requests", &message).await;
        let read = db.read("task_requests", 1).await.pop().unwrap();
        let outcome = task_requests::handle(&db.pool, &QueueName::new("task_requests").unwrap(), &read, LIMIT).await.unwrap();
        let RequestOutcome::Rejected { kind, reason } = outcome else { panic!("{outcome:?}") };
        assert_eq!(kind, "rejected_request");
        assert!(reason.contains(expected), "{reason:?} should contain {expected:?}");
    }
    assert_eq!(db.scalar_i64("SELECT count(*) FROM tasker_dead_letters WHERE task_uuid IS NOT NULL").await, 3);
    assert_eq!(db.scalar_i64("SELECT count(*) FROM pgmq.a_task_requests").await, 4);
    assert_eq!(db.scalar_i64("SELECT count(*) FROM tasker_tasks").await, 0);
    db.assert_counters_consistent().await;
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_requests_are_not_even_transferred() {
    let db = TestDb::new().await;
    db.register(LINEAR_YAML).await;
    db.send("task_requests", &request(TASK, json!({"even_number": 2, "pad": "x".repeat(2000)}))).await;
    let read = tasker_orchestration::messaging::queues::read(&db.pool, &QueueName::new("task_requests").unwrap(), 30, 1, 1000)
        .await
        .unwrap()
        .pop()
        .unwrap();
    assert!(read.message.is_none() && read.unreadable.as_deref().is_some_and(|why| why.contains("bytes exceeds")));
    assert_eq!(read.task_uuid, Some(TASK.parse().unwrap()), "an oversized message is still traced to its task");
    let outcome = task_requests::handle(&db.pool, &QueueName::new("task_requests").unwrap(), &read, 1000).await.unwrap();
    let letter: Option<Uuid> = sqlx::query_scalar("SELECT task_uuid FROM tasker_dead_letters").fetch_one(&db.pool).await.unwrap();
    assert_eq!(letter, Some(TASK.parse().unwrap()));
    assert!(
        matches!(outcome, RequestOutcome::Rejected { ref reason, .. } if reason.contains("message of") && reason.contains("exceeds the limit of"))
    );
    db.assert_counters_consistent().await;
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeated_request_is_a_no_op() {
    let db = TestDb::new().await;
    db.register(LINEAR_YAML).await;
    create_task(&db, json!({"even_number": 2})).await;
    let again = create_task(&db, json!({"even_number": 2})).await;
    assert_eq!(again, RequestOutcome::Duplicate { task_uuid: TASK.parse().unwrap() });
    assert_eq!(db.scalar_i64("SELECT count(*) FROM tasker_workflow_steps").await, 2);
    assert_eq!(db.scalar_i64("SELECT count(*) FROM pgmq.q_linear_workflow_queue").await, 1);
    db.assert_counters_consistent().await;
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_claim_refuses_stale_attempts_and_finished_steps() {
    let db = TestDb::new().await;
    db.register(LINEAR_YAML).await;
    create_task(&db, json!({"even_number": 2})).await;
    let (step1, _) = claim_next(&db).await;
    let stale: bool = sqlx::query_scalar("SELECT claimed FROM tasker_claim_step($1::uuid, 2, 'w')")
        .bind(step1["step_uuid"].as_str().unwrap())
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert!(!stale);
    post_result(&db, &step1, "success", json!(4), Value::Null).await;
    let finished: (bool, String) = sqlx::query_as("SELECT claimed, step_state FROM tasker_claim_step($1::uuid, 1, 'w')")
        .bind(step1["step_uuid"].as_str().unwrap())
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(finished, (false, "complete".into()));
    db.assert_counters_consistent().await;
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_prunes_old_archived_messages_dead_letters_and_events_only() {
    use tasker_orchestration::orchestration::retention;
    let db = TestDb::new().await;
    for body in [json!({"kind": "nonsense", "n": 1}), json!({"kind": "nonsense", "n": 2})] {
        db.send("step_results", &body).await;
    }
    let batch = db.read("step_results", 10).await;
    step_results::handle_batch(&db.pool, &QueueName::new("step_results").unwrap(), &batch, LIMIT).await.unwrap();
    assert_eq!(db.scalar_i64("SELECT count(*) FROM pgmq.a_step_results").await, 2);
    // One of each is made eight days old.
    sqlx::query("UPDATE pgmq.a_step_results SET archived_at = now() - interval '8 days' WHERE message->>'n' = '1'")
        .execute(&db.pool)
        .await
        .unwrap();
    sqlx::query("UPDATE tasker_dead_letters SET created_at = now() - interval '8 days' WHERE message->>'n' = '1'")
        .execute(&db.pool)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO tasker_events (source, transition_id, created_at) VALUES ('task', 1, now() - interval '8 days'), ('task', 2, now())",
    )
    .execute(&db.pool)
    .await
    .unwrap();
    let deleted = retention::prune(&db.pool, std::time::Duration::from_secs(7 * 24 * 3600)).await.unwrap();
    assert_eq!(deleted, Some(3));
    assert_eq!(db.scalar_i64("SELECT count(*) FROM tasker_events WHERE transition_id = 2").await, 1, "recent events stay");
    assert_eq!(db.scalar_i64("SELECT count(*) FROM pgmq.a_step_results WHERE message->>'n' = '2'").await, 1, "recent ones stay");
    assert_eq!(db.scalar_i64("SELECT count(*) FROM tasker_dead_letters").await, 1);
    assert_eq!(retention::prune(&db.pool, std::time::Duration::from_secs(3600)).await.unwrap(), Some(0));
    db.drop_db().await;
}

const FAN_YAML: &str = r#"
name: fan
namespace: linear_workflow
version: 1.0.0
steps:
  - {name: root, handler: Fan::Step}
  - {name: a, handler: Fan::Step, depends_on: [root]}
  - {name: b, handler: Fan::Step, depends_on: [root]}
  - {name: c, handler: Fan::Step, depends_on: [root]}
  - {name: join, handler: Fan::Step, depends_on: [a, b, c]}
"#;

/// Claims every queued step message of the namespace, the way a worker does.
async fn claim_all(db: &TestDb) -> Vec<Value> {
    let mut claimed = Vec::new();
    for message in db.read("linear_workflow_queue", 100).await {
        let body = message.message.unwrap();
        let ok: bool = sqlx::query_scalar("SELECT claimed FROM tasker_claim_step($1::uuid, $2::int, 'test-worker')")
            .bind(body["step_uuid"].as_str().unwrap())
            .bind(body["attempt"].as_i64().unwrap() as i32)
            .fetch_one(&db.pool)
            .await
            .unwrap();
        assert!(ok);
        claimed.push(body);
    }
    claimed
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_parent_of_a_fan_in_completing_in_one_batch_releases_the_join_once() {
    let db = TestDb::new().await;
    db.register(FAN_YAML).await;
    let mut fan_request = request(TASK, json!({}));
    fan_request["name"] = json!("fan");
    db.request_task(&fan_request).await;
    let queue = QueueName::new("step_results").unwrap();
    let mut finished = None;
    for (expected, sent) in [(vec!["root"], 3), (vec!["a", "b", "c"], 1), (vec!["join"], 0)] {
        let steps = claim_all(&db).await;
        let mut names: Vec<&str> = steps.iter().map(|s| s["step_name"].as_str().unwrap()).collect();
        names.sort_unstable();
        assert_eq!(names, expected, "exactly the ready steps were sent, once each");
        for step in &steps {
            db.send("step_results", &result_of(step, json!(step["step_name"]))).await;
        }
        let batch = db.read("step_results", 10).await;
        let outcomes = step_results::handle_batch(&db.pool, &queue, &batch, LIMIT).await.unwrap();
        assert!(outcomes.iter().all(|o| matches!(o, ResultOutcome::Applied { step_state: StepState::Complete, .. })), "{outcomes:?}");
        let dispatched: usize =
            outcomes.iter().map(|o| if let ResultOutcome::Applied { dispatched, .. } = o { *dispatched } else { 0 }).sum();
        assert_eq!(dispatched, sent);
        if let Some(ResultOutcome::Applied { task_state: Some(state), .. }) = outcomes.last() {
            finished = Some(*state);
        }
    }
    assert_eq!(finished, Some(TaskState::Complete));
    assert_eq!(db.scalar_i64("SELECT remaining_parents::bigint FROM tasker_workflow_steps WHERE name = 'join'").await, 0);
    assert_eq!(db.scalar_i64("SELECT count(*) FROM tasker_step_transitions WHERE to_state = 'complete'").await, 5);
    // Released and started in one statement, every child still has the whole history, in order.
    let histories: Vec<(String, Vec<String>)> = sqlx::query_as(
        "SELECT s.name, array_agg(coalesce(t.from_state, '') || '>' || t.to_state || ':' || t.reason || '@' || t.attempt ORDER BY t.id)
           FROM tasker_workflow_steps s JOIN tasker_step_transitions t ON t.step_id = s.id GROUP BY s.name ORDER BY s.name",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    let history = ">pending:created@0 pending>enqueued:ready@1 enqueued>in_progress:claimed@1 in_progress>complete:succeeded@1";
    for (name, transitions) in histories {
        assert_eq!(transitions.join(" "), history, "{name}");
    }
    db.assert_counters_consistent().await;
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bloated_queue_tables_are_vacuumed_whether_or_not_autovacuum_runs() {
    let db = TestDb::new().await;
    let mut conn = db.pool.acquire().await.unwrap();
    // 5,000 messages sent and deleted: 5,000 dead rows.
    sqlx::query("SELECT pgmq.send_batch('step_results', array_fill('{}'::jsonb, ARRAY[5000]))").execute(&mut *conn).await.unwrap();
    sqlx::query("DELETE FROM pgmq.q_step_results").execute(&mut *conn).await.unwrap();
    sqlx::query("SELECT pg_stat_force_next_flush()").execute(&mut *conn).await.unwrap();
    sqlx::query("SELECT 1").execute(&mut *conn).await.unwrap(); // the flush happens at this statement's end
    drop(conn);
    let dead = || db.scalar_i64("SELECT n_dead_tup FROM pg_stat_user_tables WHERE schemaname = 'pgmq' AND relname = 'q_step_results'");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while dead().await < 5000 {
        assert!(std::time::Instant::now() < deadline, "statistics never showed the dead rows");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let vacuumed = db::vacuum_bloated(&db.pool).await.unwrap();
    assert!(vacuumed.contains(&"pgmq.q_step_results".to_owned()), "{vacuumed:?}");
    assert!(dead().await < 5000, "VACUUM cleared the dead rows");
    assert!(db::vacuum_bloated(&db.pool).await.unwrap().is_empty(), "nothing left to do");
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_batches_naming_the_same_tasks_in_opposite_orders_do_not_deadlock() {
    let db = TestDb::new().await;
    db.register(LINEAR_YAML).await;
    let queue = QueueName::new("step_results").unwrap();
    let tasks: Vec<String> = (0..6).map(|i| format!("0192f6c4-8f3a-7c1e-9d4b-0000000001{i:02}")).collect();
    for uuid in &tasks {
        db.request_task(&request(uuid, json!({"even_number": 2}))).await;
    }
    let steps = claim_all(&db).await;
    assert_eq!(steps.len(), tasks.len());
    // Every result twice: one batch in task order, the other reversed, applied at once by
    // two "orchestrators". Each step is completed once; the other copy is set aside.
    for step in steps.iter().chain(steps.iter().rev()) {
        db.send("step_results", &result_of(step, json!(1))).await;
    }
    let first = db.read("step_results", tasks.len() as i32).await;
    let second = db.read("step_results", tasks.len() as i32).await;
    let (a, b) = tokio::join!(
        step_results::handle_batch(&db.pool, &queue, &first, LIMIT),
        step_results::handle_batch(&db.pool, &queue, &second, LIMIT)
    );
    let outcomes: Vec<ResultOutcome> = a.expect("no deadlock").into_iter().chain(b.expect("no deadlock")).collect();
    let applied = outcomes.iter().filter(|o| matches!(o, ResultOutcome::Applied { .. })).count();
    assert_eq!(applied, tasks.len(), "{outcomes:?}");
    assert_eq!(db.scalar_i64("SELECT count(*) FROM tasker_step_transitions WHERE to_state = 'complete'").await, tasks.len() as i64);
    assert_eq!(db.scalar_i64("SELECT count(*) FROM tasker_dead_letters WHERE kind = 'ignored_result'").await, tasks.len() as i64);
    db.assert_counters_consistent().await;
    db.drop_db().await;
}
