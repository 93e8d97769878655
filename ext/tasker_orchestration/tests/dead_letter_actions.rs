//! Dead letters resolved by an operator (requeue, discard), against real PostgreSQL.

mod support;

use serde_json::json;
use support::{request, TestDb, LINEAR_YAML};
use tasker_orchestration::domain::actor::Actor;
use tasker_orchestration::messaging::queues::QueueName;
use tasker_orchestration::orchestration::{dead_letter_actions, task_requests, OrchestrationError};
use uuid::Uuid;

const LIMIT: usize = 1024 * 1024;

/// Sends `message` to task_requests and lets the orchestrator handle it (here: reject it).
async fn reject(db: &TestDb, message: &serde_json::Value) -> i64 {
    db.send("task_requests", message).await;
    let read = db.read("task_requests", 1).await.pop().unwrap();
    task_requests::handle(&db.pool, &QueueName::new("task_requests").unwrap(), &read, LIMIT).await.unwrap();
    db.scalar_i64("SELECT max(id) FROM tasker_dead_letters").await
}

fn actor(name: &str) -> Actor {
    Actor::new(name).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_requeued_request_runs_once_its_template_exists_and_the_letter_keeps_the_record() {
    let db = TestDb::new().await;
    let uuid = Uuid::now_v7();
    let id = reject(&db, &request(&uuid.to_string(), json!({"even_number": 2}))).await;
    db.register(LINEAR_YAML).await;

    let outcome = dead_letter_actions::requeue(&db.pool, id, &actor("cli:alice@host")).await.unwrap();
    let msg_id = outcome["requeued_msg_id"].as_i64().unwrap();
    assert_eq!(outcome, json!({"id": id, "resolution": "requeued", "requeued_msg_id": msg_id}));
    let row: (String, String, i64, bool) =
        sqlx::query_as("SELECT resolution, resolved_by, requeued_msg_id, resolved_at IS NOT NULL FROM tasker_dead_letters WHERE id = $1")
            .bind(id)
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(row, ("requeued".into(), "cli:alice@host".into(), msg_id, true));

    let again = db.read("task_requests", 10).await;
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].msg_id, msg_id);
    assert_eq!(again[0].message.as_ref().unwrap()["task_uuid"], json!(uuid.to_string()));
    task_requests::handle(&db.pool, &QueueName::new("task_requests").unwrap(), &again[0], LIMIT).await.unwrap();
    assert_eq!(db.scalar_i64(&format!("SELECT count(*) FROM tasker_tasks WHERE uuid = '{uuid}'")).await, 1);

    for second in [
        dead_letter_actions::requeue(&db.pool, id, &actor("cli:bob")).await.unwrap_err(),
        dead_letter_actions::discard(&db.pool, id, &actor("cli:bob")).await.unwrap_err(),
    ] {
        assert!(matches!(second, OrchestrationError::State(_)), "{second:?}");
        let text = second.to_string();
        assert!(
            text.contains(&format!("dead letter {id} was already requeued (sent again as msg_id {msg_id}) by cli:alice@host at 20")),
            "{text}"
        );
        assert!(text.ends_with("nothing changed"), "{text}");
    }
    let resolved_by: String =
        sqlx::query_scalar("SELECT resolved_by FROM tasker_dead_letters WHERE id = $1").bind(id).fetch_one(&db.pool).await.unwrap();
    assert_eq!(resolved_by, "cli:alice@host");
    assert_eq!(db.read("task_requests", 10).await.len(), 0, "a refused requeue sends nothing");
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discard_marks_the_letter_and_a_letter_without_its_message_cannot_be_requeued() {
    let db = TestDb::new().await;
    let first = reject(&db, &json!({"kind": "nonsense"})).await;
    let outcome = dead_letter_actions::discard(&db.pool, first, &actor("web:admin")).await.unwrap();
    assert_eq!(outcome, json!({"id": first, "resolution": "discarded", "requeued_msg_id": null}));

    let second = reject(&db, &json!({"kind": "nonsense", "n": 2})).await;
    sqlx::query("UPDATE tasker_dead_letters SET message = NULL WHERE id = $1").bind(second).execute(&db.pool).await.unwrap();
    let refused = dead_letter_actions::requeue(&db.pool, second, &actor("web:admin")).await.unwrap_err().to_string();
    assert!(refused.starts_with(&format!("dead letter {second} cannot be requeued: it kept no message")), "{refused}");
    assert!(refused.contains("pgmq.a_task_requests may still hold it, msg_id 2); discard it instead"), "{refused}");

    let missing = dead_letter_actions::requeue(&db.pool, 999_999, &actor("web:admin")).await.unwrap_err();
    assert!(matches!(&missing, OrchestrationError::DeadLetterNotFound(m) if m == "dead letter 999999 not found"), "{missing:?}");
    for bad in ["0", "-1", "abc", ""] {
        assert!(matches!(dead_letter_actions::parse_id(bad), Err(OrchestrationError::DeadLetterNotFound(_))), "{bad}");
    }
    let resolutions: Vec<Option<String>> =
        sqlx::query_scalar("SELECT resolution FROM tasker_dead_letters ORDER BY id").fetch_all(&db.pool).await.unwrap();
    assert_eq!(resolutions, [Some("discarded".to_owned()), None]);

    // Retention still prunes resolved and unresolved letters alike.
    sqlx::query("UPDATE tasker_dead_letters SET created_at = now() - interval '2 days'").execute(&db.pool).await.unwrap();
    let pruned = db.scalar_i64("SELECT tasker_prune_archives(interval '1 day')").await;
    assert!(pruned >= 2, "{pruned}");
    assert_eq!(db.scalar_i64("SELECT count(*) FROM tasker_dead_letters").await, 0);
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_schema_refuses_a_resolution_half_recorded() {
    let db = TestDb::new().await;
    let id = reject(&db, &json!({"kind": "nonsense"})).await;
    for set in ["resolution = 'requeued', resolved_at = now(), resolved_by = 'x'", "resolution = 'lost'", "resolved_by = 'x'"] {
        let err = sqlx::query(&format!("UPDATE tasker_dead_letters SET {set} WHERE id = $1")).bind(id).execute(&db.pool).await.unwrap_err();
        assert!(err.to_string().contains("tasker_dead_letters_resolution_check"), "{set}: {err}");
    }
    db.drop_db().await;
}
