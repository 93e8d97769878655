//! A worker's plain successes applied where they are posted (tasker_apply_successes,
//! migration 16) against the orchestrator's own apply: the same workflow driven both ways
//! leaves the same rows, histories, counters and step messages; anything not a plain
//! success of the running attempt, and a success after which its task would end in any way
//! but complete, is left to the orchestrator.

mod support;

use serde_json::{json, Value};
use support::{claim_messages, request, success_result as success, TestDb};
use tasker_orchestration::messaging::queues::{self, QueueMessage, QueueName};
use tasker_orchestration::orchestration::step_results;

const LIMIT: usize = 1024 * 1024;
const QUEUE: &str = "linear_workflow_queue";

const DIAMOND_YAML: &str = r#"
name: diamond
namespace: linear_workflow
version: 1.0.0
steps:
  - {name: root, handler: Diamond::Step}
  - {name: left, handler: Diamond::Step, depends_on: [root]}
  - {name: right, handler: Diamond::Step, depends_on: [root]}
  - {name: join, handler: Diamond::Step, depends_on: [left, right]}
"#;

#[derive(Clone, Copy, PartialEq)]
enum Path {
    Orchestrator,
    InPlace,
}

async fn start_task(db: &TestDb, uuid: &str) {
    let mut diamond = request(uuid, json!({}));
    diamond["name"] = json!("diamond");
    db.request_task(&diamond).await;
}

/// A database with one diamond task `uuid` started and its root's message read and claimed.
async fn diamond_with_root_claimed(uuid: &str) -> (TestDb, QueueMessage) {
    let db = TestDb::new().await;
    db.register(DIAMOND_YAML).await;
    start_task(&db, uuid).await;
    let root = claim_all(&db).await.pop().expect("the root is queued");
    (db, root)
}

/// Reads and claims every queued step message the way a worker does (by msg_id).
async fn claim_all(db: &TestDb) -> Vec<QueueMessage> {
    let messages = db.read(QUEUE, 100).await;
    let verdicts = claim_messages(&db.pool, QUEUE, &messages).await;
    assert!(verdicts.iter().all(|v| v == "claimed"), "{verdicts:?}");
    messages
}

/// Deletes the messages and applies their results in place, in one transaction, the way a
/// worker's post does; returns the msg_ids applied.
async fn apply_in_place(db: &TestDb, ids: &[i64], results: &[Value]) -> Vec<i64> {
    let mut tx = db.pool.begin().await.unwrap();
    queues::delete_many(&mut *tx, &QueueName::new(QUEUE).unwrap(), ids).await.unwrap();
    let applied: Vec<i64> = sqlx::query_scalar("SELECT applied FROM tasker_apply_successes($1, $2, $3, $4) LIMIT 1")
        .bind(QUEUE)
        .bind(ids)
        .bind(results.iter().map(sqlx::types::Json).collect::<Vec<_>>())
        .bind(LIMIT as i32)
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    applied
}

/// Posts results to step_results and lets the orchestrator apply them in one batch.
async fn apply_by_orchestrator(db: &TestDb, results: &[Value]) {
    for result in results {
        db.send("step_results", result).await;
    }
    let batch = db.read("step_results", 100).await;
    step_results::handle_batch(&db.pool, &QueueName::new("step_results").unwrap(), &batch, LIMIT).await.unwrap();
}

/// Drives a diamond to its end one wave at a time; returns each wave's step messages (as
/// sent, uuids replaced by names) and the steps applied in place.
async fn drive(db: &TestDb, uuid: &str, path: Path) -> (Vec<Vec<Value>>, Vec<String>) {
    start_task(db, uuid).await;
    let (mut waves, mut in_place) = (Vec::new(), Vec::new());
    loop {
        let messages = claim_all(db).await;
        if messages.is_empty() {
            return (waves, in_place);
        }
        let bodies: Vec<Value> = messages.iter().map(|m| m.message.clone().unwrap()).collect();
        let results: Vec<Value> = bodies.iter().map(success).collect();
        let mut left: Vec<Value> = results.clone();
        if path == Path::InPlace {
            let ids: Vec<i64> = messages.iter().map(|m| m.msg_id).collect();
            let applied = apply_in_place(db, &ids, &results).await;
            left = messages.iter().zip(&results).filter(|(m, _)| !applied.contains(&m.msg_id)).map(|(_, r)| r.clone()).collect();
            let names = messages.iter().filter(|m| applied.contains(&m.msg_id));
            in_place.extend(names.map(|m| m.message.as_ref().unwrap()["step_name"].as_str().unwrap().to_owned()));
        } else {
            let ids: Vec<i64> = messages.iter().map(|m| m.msg_id).collect();
            queues::delete_many(&db.pool, &QueueName::new(QUEUE).unwrap(), &ids).await.unwrap();
        }
        if !left.is_empty() {
            apply_by_orchestrator(db, &left).await;
        }
        let mut wave: Vec<Value> = bodies.into_iter().map(named).collect();
        wave.sort_by_key(|b| b["step_name"].to_string());
        waves.push(wave);
    }
}

async fn step_uuid(db: &TestDb, name: &str) -> uuid::Uuid {
    sqlx::query_scalar("SELECT uuid FROM tasker_workflow_steps WHERE name = $1").bind(name).fetch_one(&db.pool).await.unwrap()
}

fn named(mut body: Value) -> Value {
    body["task_uuid"] = json!("task");
    body["step_uuid"] = body["step_name"].clone();
    body
}

/// Everything the database holds of a task, uuids, ids and times left out.
async fn snapshot(db: &TestDb, uuid: &str) -> Value {
    let sql = "SELECT jsonb_build_object(
        'task', (SELECT jsonb_build_object('state', t.state, 'total', t.steps_total, 'done', t.steps_done,
                                           'active', t.steps_active, 'failed', t.steps_failed,
                                           'completed', t.completed_at IS NOT NULL)
                   FROM tasker_tasks t WHERE t.uuid = $1::uuid),
        'task_history', (SELECT jsonb_agg(jsonb_build_array(tr.from_state, tr.to_state, tr.reason, tr.metadata - 'msg_id') ORDER BY tr.id)
                           FROM tasker_task_transitions tr JOIN tasker_tasks t ON t.id = tr.task_id WHERE t.uuid = $1::uuid),
        'steps', (SELECT jsonb_object_agg(s.name, jsonb_build_object(
                      'state', s.state, 'attempts', s.attempts, 'claims', s.claims, 'remaining', s.remaining_parents,
                      'live', s.live_parents, 'results', s.results, 'completed', s.completed_at IS NOT NULL,
                      'history', (SELECT jsonb_agg(jsonb_build_array(tr.from_state, tr.to_state, tr.reason, tr.attempt, tr.metadata)
                                                   ORDER BY tr.id)
                                    FROM tasker_step_transitions tr WHERE tr.step_id = s.id)))
                    FROM tasker_workflow_steps s JOIN tasker_tasks t ON t.id = s.task_id WHERE t.uuid = $1::uuid),
        'events', (SELECT count(*) FROM tasker_events e JOIN tasker_task_transitions tr ON e.source = 'task' AND e.transition_id = tr.id
                     JOIN tasker_tasks t ON t.id = tr.task_id WHERE t.uuid = $1::uuid))";
    sqlx::query_scalar::<_, sqlx::types::Json<Value>>(sql).bind(uuid).fetch_one(&db.pool).await.unwrap().0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn successes_applied_in_place_leave_what_the_orchestrator_leaves() {
    let db = TestDb::new().await;
    db.register(DIAMOND_YAML).await;
    let by_orchestrator = "0192f6c4-8f3a-7c1e-9d4b-1a2b3c4d5e01";
    let in_place = "0192f6c4-8f3a-7c1e-9d4b-1a2b3c4d5e02";
    let (orchestrator_waves, none) = drive(&db, by_orchestrator, Path::Orchestrator).await;
    let (in_place_waves, applied) = drive(&db, in_place, Path::InPlace).await;
    assert!(none.is_empty());
    // Every result, the join's too: the last one completes the task in place.
    assert_eq!(applied, ["root", "left", "right", "join"]);
    assert_eq!(in_place_waves, orchestrator_waves, "the same step messages, wave by wave");
    assert_eq!(in_place_waves.len(), 3);
    let (expected, actual) = (snapshot(&db, by_orchestrator).await, snapshot(&db, in_place).await);
    assert_eq!(actual["task"]["state"], "complete");
    assert_eq!(actual, expected);
    db.assert_counters_consistent().await;
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_success_after_which_its_task_would_fail_is_left_to_the_orchestrator() {
    let uuid = "0192f6c4-8f3a-7c1e-9d4b-1a2b3c4d5e04";
    let (db, root) = diamond_with_root_claimed(uuid).await;
    assert_eq!(apply_in_place(&db, &[root.msg_id], &[success(root.message.as_ref().unwrap())]).await, [root.msg_id]);
    let branches = claim_all(&db).await;
    let (left, right) = match branches[0].message.as_ref().unwrap()["step_name"] == "left" {
        true => (&branches[0], &branches[1]),
        false => (&branches[1], &branches[0]),
    };
    let mut failure = success(left.message.as_ref().unwrap());
    failure["status"] = json!("failure");
    failure["error"] = json!({"class": "Spec::Broken", "message": "broken", "retryable": false});
    assert!(apply_in_place(&db, &[left.msg_id], std::slice::from_ref(&failure)).await.is_empty(), "a failure is the orchestrator's");
    apply_by_orchestrator(&db, &[failure]).await;
    // The right branch is the last active step: after it the task ends in error, which the
    // orchestrator decides.
    let last = success(right.message.as_ref().unwrap());
    assert!(apply_in_place(&db, &[right.msg_id], std::slice::from_ref(&last)).await.is_empty());
    assert_eq!(snapshot(&db, uuid).await["task"]["state"], "in_progress");
    apply_by_orchestrator(&db, &[last]).await;
    let snap = snapshot(&db, uuid).await;
    assert_eq!(snap["task"]["state"], "error");
    assert_eq!(snap["steps"]["right"]["state"], "complete");
    assert_eq!(snap["steps"]["join"]["state"], "pending");
    db.assert_counters_consistent().await;
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_a_plain_success_of_the_running_attempt_is_applied_each_judged_alone() {
    let uuid = "0192f6c4-8f3a-7c1e-9d4b-1a2b3c4d5e03";
    let (db, root) = diamond_with_root_claimed(uuid).await;
    let body = root.message.clone().unwrap();
    let valid = success(&body);
    let with = |field: &str, value: Value| {
        let mut result = valid.clone();
        result[field] = value;
        result
    };
    let pending = with("step_uuid", json!(step_uuid(&db, "left").await));
    let mut failure = with("step_uuid", json!(step_uuid(&db, "right").await));
    failure["status"] = json!("failure");
    let unknown = with("step_uuid", json!("0192f6c4-0000-7000-8000-000000000000"));
    let malformed = with("step_uuid", json!("not a uuid"));
    // A duplicate of the valid result under another message: neither is applied here (the
    // orchestrator judges both).
    let doubled = apply_in_place(&db, &[root.msg_id + 100, root.msg_id], &[valid.clone(), valid.clone()]).await;
    assert!(doubled.is_empty());
    // Co-batched with hostile results for other steps (the valid one last), in ONE call.
    let results = [pending, failure, unknown, malformed, valid.clone()];
    let ids = [root.msg_id + 1, root.msg_id + 2, root.msg_id + 3, root.msg_id + 4, root.msg_id];
    let applied = apply_in_place(&db, &ids, &results).await;
    assert_eq!(applied, [root.msg_id], "only the valid success, under the message it was claimed with");
    let snap = snapshot(&db, uuid).await;
    assert_eq!(snap["steps"]["root"]["state"], "complete");
    assert_eq!(snap["steps"]["left"]["state"], "enqueued");
    assert_eq!(snap["steps"]["right"]["state"], "enqueued");
    assert_eq!(snap["task"]["active"], 2);
    // The same success again, now for a finished step, changes nothing.
    assert!(apply_in_place(&db, &[root.msg_id], &[valid]).await.is_empty());
    assert_eq!(snapshot(&db, uuid).await, snap);
    db.assert_counters_consistent().await;
    db.drop_db().await;
}

/// applied, msg_id, read_ct, verdict, step name of a row of tasker_apply_successes.
type TakenRow = (Vec<i64>, Option<i64>, Option<i32>, Option<String>, Option<String>);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_takes_a_released_child_claimed_for_its_own_worker() {
    let uuid = "0192f6c4-8f3a-7c1e-9d4b-1a2b3c4d5e05";
    let (db, root) = diamond_with_root_claimed(uuid).await;
    let mut tx = db.pool.begin().await.unwrap();
    queues::delete_many(&mut *tx, &QueueName::new(QUEUE).unwrap(), &[root.msg_id]).await.unwrap();
    let rows: Vec<TakenRow> = sqlx::query_as(
        "SELECT applied, msg_id, read_ct, verdict, message ->> 'step_name'
           FROM tasker_apply_successes($1, $2, $3, $4, 1, 30, 'taker', 65536)",
    )
    .bind(QUEUE)
    .bind([root.msg_id])
    .bind([sqlx::types::Json(success(root.message.as_ref().unwrap()))])
    .bind(LIMIT as i32)
    .fetch_all(&mut *tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(rows.len(), 1, "one child taken: {rows:?}");
    let (applied, taken, read_ct, verdict, name) = rows.into_iter().next().unwrap();
    assert_eq!(applied, [root.msg_id]);
    assert_eq!((read_ct, verdict.as_deref()), (Some(1), Some("claimed")));
    let name = name.unwrap();
    let other = if name == "left" { "right" } else { "left" };
    let snap = snapshot(&db, uuid).await;
    assert_eq!(snap["steps"][&name]["state"], "in_progress");
    let history: Vec<&str> = snap["steps"][&name]["history"].as_array().unwrap().iter().map(|t| t[2].as_str().unwrap()).collect();
    assert_eq!(history, ["created", "ready", "claimed"]);
    assert_eq!(snap["steps"][&name]["history"][2][4], json!({"worker": "taker"}));
    assert_eq!(snap["steps"][other]["state"], "enqueued");
    // The taken child's message is held (invisible, read once); only the other can be read.
    let visible = db.read(QUEUE, 10).await;
    assert_eq!(visible.len(), 1);
    assert_eq!(visible[0].message.as_ref().unwrap()["step_name"], other);
    let held = db.scalar_i64(&format!("SELECT count(*) FROM pgmq.q_{QUEUE} WHERE msg_id = {} AND vt > now()", taken.unwrap())).await;
    assert_eq!(held, 1);
    db.assert_counters_consistent().await;
    db.drop_db().await;
}
