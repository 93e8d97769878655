//! A batch of task requests, created the way the orchestrator's request loop does it: the
//! plain ones together in one transaction (request_batches), every other one alone after
//! it (task_requests::handle). Hostile and unusual requests are co-batched with valid ones:
//! each must meet exactly the fate it meets alone, and the valid ones must not notice.

mod support;

use serde_json::{json, Value};
use support::{request, TestDb, LINEAR_YAML};
use tasker_orchestration::messaging::messages::TaskRequest;
use tasker_orchestration::messaging::queues::{QueueMessage, QueueName};
use tasker_orchestration::orchestration::request_batches;
use tasker_orchestration::orchestration::task_requests::{self, RequestOutcome};
use uuid::Uuid;

const LIMIT: usize = 1024 * 1024;

fn uuid(n: u32) -> String {
    format!("0192f6c4-8f3a-7c1e-9d4b-{n:012}")
}

fn queue() -> QueueName {
    QueueName::new("task_requests").unwrap()
}

/// What the request loop does with one read: the batch, then the left-overs one by one.
async fn handle_read(db: &TestDb, read: &[QueueMessage]) -> (usize, Vec<RequestOutcome>) {
    let done = request_batches::create_plain(&db.pool, &queue(), read, LIMIT).await.unwrap();
    let mut alone = Vec::new();
    for &index in &done.left {
        alone.push(task_requests::handle(&db.pool, &queue(), &read[index], LIMIT).await.unwrap());
    }
    (done.created.len(), alone)
}

async fn transitions_of(db: &TestDb, task_uuid: &str) -> (Vec<String>, Vec<String>) {
    let task: Vec<String> = sqlx::query_scalar(
        "SELECT coalesce(tr.from_state, '-') || '>' || tr.to_state || ':' || tr.reason
           FROM tasker_task_transitions tr JOIN tasker_tasks t ON t.id = tr.task_id WHERE t.uuid = $1::uuid ORDER BY tr.id",
    )
    .bind(task_uuid)
    .fetch_all(&db.pool)
    .await
    .unwrap();
    let steps: Vec<String> = sqlx::query_scalar(
        "SELECT s.name || ' ' || coalesce(tr.from_state, '-') || '>' || tr.to_state || ':' || tr.reason
           FROM tasker_step_transitions tr JOIN tasker_workflow_steps s ON s.id = tr.step_id
           JOIN tasker_tasks t ON t.id = s.task_id WHERE t.uuid = $1::uuid ORDER BY s.name, tr.id",
    )
    .bind(task_uuid)
    .fetch_all(&db.pool)
    .await
    .unwrap();
    (task, steps)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_requests_are_created_together_and_every_other_one_as_if_alone() {
    let db = TestDb::new().await;
    db.register(LINEAR_YAML).await;
    // A task created alone before the batch, to repeat and to compare with.
    let before = uuid(1);
    db.send("task_requests", &request(&before, json!({"even_number": 2}))).await;
    let first = db.read("task_requests", 1).await.pop().unwrap();
    assert!(matches!(task_requests::handle(&db.pool, &queue(), &first, LIMIT).await.unwrap(), RequestOutcome::Created { .. }));

    // A keyed request leaves its uuid out: the core derives it from the key.
    let keyed = |key: &str, context: Value| {
        let mut r = request("", context);
        r.as_object_mut().unwrap().remove("task_uuid");
        r["idempotency_key"] = json!(key);
        r
    };
    let keyed_uuid = TaskRequest::idempotent_uuid("order-3").to_string();
    let mut delayed = request(&uuid(6), json!({"even_number": 2}));
    delayed["run_at"] = json!((chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339());
    let mut unknown = request(&uuid(7), json!({}));
    unknown["version"] = json!("9.9.9");
    let batch: Vec<Value> = vec![
        request(&uuid(2), json!({"even_number": 4})),     // 0 plain
        json!([1, 2, 3]),                                 // 1 not a request
        keyed("order-3", json!({"even_number": 6})),      // 2 plain, keyed
        request(&uuid(2), json!({"even_number": 4})),     // 3 repeats 0 in the same batch
        keyed("order-3", json!({"even_number": 8})),      // 4 same key as 2, another context
        request(&uuid(5), json!({"even_number": "six"})), // 5 context the schema refuses
        delayed,                                          // 6 runs in an hour
        unknown,                                          // 7 no such template version
        request(&before, json!({"even_number": 2})),      // 8 repeats the task made before
        request(&before, json!({"even_number": 10})),     // 9 names it with another context
    ];
    for message in &batch {
        db.send("task_requests", message).await;
    }
    let read = db.read("task_requests", 20).await;
    assert_eq!(read.len(), batch.len(), "one read holds the whole batch");
    let (created, alone) = handle_read(&db, &read).await;
    assert_eq!(created, 2, "the two plain requests are created together");

    let kinds: Vec<String> = alone
        .iter()
        .map(|o| match o {
            RequestOutcome::Created { task_uuid, .. } => format!("created {task_uuid}"),
            RequestOutcome::Duplicate { task_uuid } => format!("duplicate {task_uuid}"),
            RequestOutcome::Rejected { kind, .. } => kind.to_string(),
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "rejected_request".to_string(),
            format!("duplicate {}", uuid(2)),
            "idempotency_conflict".into(),
            "rejected_request".into(),
            format!("created {}", uuid(6)),
            "rejected_request".into(),
            format!("duplicate {before}"),
            "idempotency_conflict".into(),
        ]
    );
    let reasons: Vec<String> =
        sqlx::query_scalar("SELECT kind || ': ' || reason FROM tasker_dead_letters ORDER BY id").fetch_all(&db.pool).await.unwrap();
    assert_eq!(reasons.len(), 5, "{reasons:?}");
    assert!(reasons[0].contains("expected an object with \"kind\": \"task_request\""), "{reasons:?}");
    assert!(reasons[1].starts_with("idempotency_conflict: idempotency key \"order-3\" already names task"), "{reasons:?}");
    assert!(reasons[2].contains("invalid context: context.even_number: expected integer, got string"), "{reasons:?}");
    assert!(reasons[3].contains("unknown template linear_workflow/mathematical_sequence@9.9.9"), "{reasons:?}");
    assert!(reasons[4].starts_with(&format!("idempotency_conflict: task uuid {before} already names task")), "{reasons:?}");

    // Nothing left behind: created requests deleted, the others kept with their reasons.
    assert_eq!(db.scalar_i64("SELECT count(*) FROM pgmq.q_task_requests").await, 0);
    assert_eq!(db.scalar_i64("SELECT count(*) FROM pgmq.a_task_requests").await, 7, "5 dead letters and 2 repeats archived");
    assert_eq!(db.scalar_i64("SELECT count(*) FROM tasker_tasks").await, 4);
    assert_eq!(db.scalar_i64("SELECT count(*) FROM tasker_tasks WHERE state = 'in_progress'").await, 4);
    // Each task's first step went out once; the delayed one's is invisible for an hour.
    let sent: Vec<(Uuid, bool)> = sqlx::query_as(
        "SELECT (message->>'task_uuid')::uuid, vt > now() + interval '30 minutes' FROM pgmq.q_linear_workflow_queue ORDER BY 1",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    let mut expected: Vec<(Uuid, bool)> = [(&before, false), (&uuid(2), false), (&uuid(6), true), (&keyed_uuid, false)]
        .iter()
        .map(|(u, d)| (u.parse().unwrap(), *d))
        .collect();
    expected.sort();
    assert_eq!(sent, expected);
    let keyed_key: Option<String> = sqlx::query_scalar("SELECT idempotency_key FROM tasker_tasks WHERE uuid = $1::uuid")
        .bind(&keyed_uuid)
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(keyed_key.as_deref(), Some("order-3"));

    // A task created in the batch has the same history as one created alone.
    let (alone_task, alone_steps) = transitions_of(&db, &before).await;
    assert_eq!(alone_task, ["->pending:created", "pending>in_progress:started"]);
    for batched in [uuid(2), keyed_uuid.clone()] {
        assert_eq!(transitions_of(&db, &batched).await, (alone_task.clone(), alone_steps.clone()), "task {batched}");
    }
    let msg_ids: i64 = db
        .scalar_i64(
            "SELECT count(DISTINCT metadata->>'msg_id') FROM tasker_task_transitions WHERE reason = 'created' AND metadata->>'msg_id' IS NOT NULL",
        )
        .await;
    assert_eq!(msg_ids, 4, "each created transition names the request it came from");
    db.assert_counters_consistent().await;
    db.drop_db().await;
}
