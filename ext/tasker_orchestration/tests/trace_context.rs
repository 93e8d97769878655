//! Instrumentation in the core's schema: a request's traceparent is validated, stored on its
//! task and returned by the worker's claim; the transitions that are events (and only those)
//! are recorded for the relays, and a snapshot sees each once.

mod support;

use serde_json::{json, Value};
use support::{operator, request, TestDb, LINEAR_YAML};
use tasker_orchestration::messaging::queues::QueueName;
use tasker_orchestration::orchestration::operator_actions;
use tasker_orchestration::orchestration::task_requests::{self, RequestOutcome};
use uuid::Uuid;

const LIMIT: usize = 1024 * 1024;
/// (snapshot, source, task uuid, to_state, traceparent) of tasker_events_since.
type EventRow = (String, Option<String>, Option<Uuid>, Option<String>, Option<String>);

const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

async fn handle(db: &TestDb, message: &Value) -> RequestOutcome {
    db.send("task_requests", message).await;
    let read = db.read("task_requests", 1).await.pop().expect("the request is queued");
    task_requests::handle(&db.pool, &QueueName::new("task_requests").unwrap(), &read, LIMIT).await.unwrap()
}

fn traced(uuid: &str, traceparent: Value) -> Value {
    let mut message = request(uuid, json!({"even_number": 2}));
    message["traceparent"] = traceparent;
    message
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_traceparent_is_stored_on_the_task_and_given_with_the_claim() {
    let db = TestDb::new().await;
    db.register(LINEAR_YAML).await;
    let uuid = Uuid::now_v7().to_string();
    assert!(matches!(handle(&db, &traced(&uuid, json!(TRACEPARENT))).await, RequestOutcome::Created { .. }));
    let stored: Option<String> =
        sqlx::query_scalar("SELECT traceparent FROM tasker_tasks WHERE uuid = $1::uuid").bind(&uuid).fetch_one(&db.pool).await.unwrap();
    assert_eq!(stored.as_deref(), Some(TRACEPARENT));
    // The column keeps every other writer to the same rule.
    let forged = sqlx::query("UPDATE tasker_tasks SET traceparent = '00-00000000000000000000000000000000-00f067aa0ba902b7-01'")
        .execute(&db.pool)
        .await;
    assert!(forged.unwrap_err().to_string().contains("tasker_tasks_traceparent_check"));

    let message = db.read("linear_workflow_queue", 1).await.pop().unwrap();
    let (verdict, traceparent): (String, Option<String>) =
        sqlx::query_as("SELECT verdict, traceparent FROM tasker_claim_message($1, 'linear_workflow_queue', 'w', 65536, $2)")
            .bind(sqlx::types::Json(message.message.unwrap()))
            .bind(message.msg_id)
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!((verdict.as_str(), traceparent.as_deref()), ("claimed", Some(TRACEPARENT)));

    let untraced = Uuid::now_v7().to_string();
    handle(&db, &request(&untraced, json!({"even_number": 2}))).await;
    let none: Option<String> =
        sqlx::query_scalar("SELECT traceparent FROM tasker_tasks WHERE uuid = $1::uuid").bind(&untraced).fetch_one(&db.pool).await.unwrap();
    assert_eq!(none, None);
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_traceparent_rejects_its_request_naming_the_field() {
    let db = TestDb::new().await;
    db.register(LINEAR_YAML).await;
    let bad = [
        json!("00-00000000000000000000000000000000-00f067aa0ba902b7-01"),
        json!("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01"),
        json!("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"),
        json!("garbage"),
        json!({"traceparent": TRACEPARENT}),
    ];
    for traceparent in bad {
        let outcome = handle(&db, &traced(&Uuid::now_v7().to_string(), traceparent.clone())).await;
        let RequestOutcome::Rejected { kind, reason } = outcome else { panic!("{traceparent}: {outcome:?}") };
        assert_eq!(kind, "rejected_request");
        assert!(reason.contains("traceparent"), "{reason}");
    }
    assert_eq!(db.scalar_i64("SELECT count(*) FROM tasker_tasks").await, 0);
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_event_transitions_are_recorded_and_a_snapshot_sees_each_once() {
    let db = TestDb::new().await;
    db.register(LINEAR_YAML).await;
    let start: String = sqlx::query_scalar("SELECT pg_current_snapshot()::text").fetch_one(&db.pool).await.unwrap();
    let uuid = Uuid::now_v7();
    handle(&db, &traced(&uuid.to_string(), json!(TRACEPARENT))).await;
    assert_eq!(db.scalar_i64("SELECT count(*) FROM tasker_events").await, 0, "creating and starting a task is no event");
    operator_actions::cancel(&db.pool, uuid, &operator()).await.unwrap();
    assert_eq!(db.scalar_i64("SELECT count(*) FROM tasker_events").await, 1);

    let rows: Vec<EventRow> =
        sqlx::query_as("SELECT snapshot, source, task_uuid, to_state, traceparent FROM tasker_events_since($1::pg_snapshot, 0, 100)")
            .bind(&start)
            .fetch_all(&db.pool)
            .await
            .unwrap();
    assert_eq!(rows.len(), 1);
    let (next, source, task, state, traceparent) = rows[0].clone();
    assert_eq!(
        (source.as_deref(), task, state.as_deref(), traceparent.as_deref()),
        (Some("task"), Some(uuid), Some("cancelled"), Some(TRACEPARENT))
    );
    let again: Vec<(String, Option<i64>)> = sqlx::query_as("SELECT snapshot, event_id FROM tasker_events_since($1::pg_snapshot, 0, 100)")
        .bind(&next)
        .fetch_all(&db.pool)
        .await
        .unwrap();
    assert_eq!(again.len(), 1, "one row carries the snapshot");
    assert_eq!(again[0].1, None, "nothing new since the last snapshot");
    db.drop_db().await;
}
