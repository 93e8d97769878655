//! A step row is written three times on its way (released, claimed, finished). Those writes
//! stay HOT (migration 18): no index of tasker_workflow_steps reads `state`, so a write that
//! changes only the state and its bookkeeping adds no index entry.

mod support;

use serde_json::json;
use support::{claim_messages, request, success_result as success, TestDb};
use tasker_orchestration::messaging::queues::{self, QueueName};

const LIMIT: i32 = 1024 * 1024;
const QUEUE: &str = "linear_workflow_queue";

const FORK_YAML: &str = r#"
name: fork
namespace: linear_workflow
version: 1.0.0
steps:
  - {name: root, handler: Fork::Step}
  - {name: left, handler: Fork::Step, depends_on: [root]}
  - {name: right, handler: Fork::Step, depends_on: [root]}
"#;

#[tokio::test]
async fn no_index_of_the_steps_reads_their_state() {
    let db = TestDb::new().await;
    let readers: Vec<String> = sqlx::query_scalar(
        r"SELECT i.indexrelid::regclass::text FROM pg_index i
           WHERE i.indrelid = 'tasker_workflow_steps'::regclass
             AND ((SELECT a.attnum FROM pg_attribute a WHERE a.attrelid = i.indrelid AND a.attname = 'state')
                      = ANY (i.indkey::int2[])
                  OR pg_get_expr(i.indexprs, i.indrelid) ~ '\mstate\M'
                  OR pg_get_expr(i.indpred, i.indrelid) ~ '\mstate\M')",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    assert_eq!(readers, Vec::<String>::new(), "an index on state makes every step write a non-HOT update");
}

/// A worker's claim and its post of a success, in one transaction: the root is claimed and
/// completed, and its children released; every write of a step row is HOT.
#[tokio::test]
async fn a_claim_a_completion_and_a_release_are_hot_updates() {
    let db = TestDb::new().await;
    db.register(FORK_YAML).await;
    let mut fork = request("5d0c8a0e-7f51-4d7a-9a51-3f1b2c3d4e01", json!({}));
    fork["name"] = json!("fork");
    db.request_task(&fork).await;
    let root = db.read(QUEUE, 10).await.pop().expect("the root is queued");
    let body = root.message.clone().unwrap();

    let mut tx = db.pool.begin().await.unwrap();
    assert_eq!(claim_messages(&mut *tx, QUEUE, std::slice::from_ref(&root)).await, ["claimed"]);
    queues::delete_many(&mut *tx, &QueueName::new(QUEUE).unwrap(), &[root.msg_id]).await.unwrap();
    let applied: Vec<i64> = sqlx::query_scalar("SELECT applied FROM tasker_apply_successes($1, $2, $3, $4) LIMIT 1")
        .bind(QUEUE)
        .bind([root.msg_id])
        .bind([sqlx::types::Json(success(&body))])
        .bind(LIMIT)
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(applied, vec![root.msg_id]);
    let (updated, hot): (i64, i64) =
        sqlx::query_as("SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_xact_user_tables WHERE relname = 'tasker_workflow_steps'")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
    tx.commit().await.unwrap();
    assert!(updated >= 4, "the root claimed and completed, two children released: {updated} step writes");
    assert_eq!(hot, updated, "every step write HOT");
    let states: Vec<String> =
        sqlx::query_scalar("SELECT state FROM tasker_workflow_steps ORDER BY name").fetch_all(&db.pool).await.unwrap();
    assert_eq!(states, ["enqueued", "enqueued", "complete"]);
}
