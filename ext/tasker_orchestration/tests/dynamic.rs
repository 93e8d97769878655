//! Dynamic workflows against real PostgreSQL + pgmq, with the tests playing the worker:
//! decisions and skipped branches, map steps, signals, sleeps and child tasks.

mod support;

use serde_json::{json, Value};
use support::TestDb;
use tasker_orchestration::messaging::queues::QueueName;
use tasker_orchestration::orchestration::step_results;

const LIMIT: usize = 1024 * 1024;
const TASK: &str = "0192f6c4-8f3a-7c1e-9d4b-1a2b3c4d5e6f";

/// A step as a worker claimed it.
struct Claimed {
    body: Value,
    parents: Value,
    details: Option<Value>,
}

impl Claimed {
    fn name(&self) -> &str {
        self.body["step_name"].as_str().unwrap()
    }
}

async fn start(db: &TestDb, yaml: &str, context: Value) -> String {
    db.register(yaml).await;
    let name = yaml.lines().find_map(|l| l.strip_prefix("name: ")).unwrap().trim().to_owned();
    let request =
        json!({"kind": "task_request", "task_uuid": TASK, "namespace": "dyn", "name": name, "version": "1.0.0", "context": context});
    db.request_task(&request).await;
    TASK.to_owned()
}

/// Claims every visible step message of the namespace, as a worker does.
async fn claim_all(db: &TestDb) -> Vec<Claimed> {
    let mut claimed = Vec::new();
    for message in db.read("dyn_queue", 1000).await {
        let body = message.message.unwrap();
        let row: (Option<String>, Option<sqlx::types::Json<Value>>, Option<sqlx::types::Json<Value>>) = sqlx::query_as(
            "SELECT verdict, parent_results, step_details FROM tasker_claim_message($1, 'dyn_queue', 'test-worker', 65536, $2)",
        )
        .bind(sqlx::types::Json(&body))
        .bind(message.msg_id)
        .fetch_one(&db.pool)
        .await
        .unwrap();
        if row.0.as_deref() == Some("claimed") {
            claimed.push(Claimed { body, parents: row.1.unwrap().0, details: row.2.map(|j| j.0) });
        }
        sqlx::query("SELECT pgmq.delete('dyn_queue', $1)").bind(message.msg_id).execute(&db.pool).await.unwrap();
    }
    claimed
}

fn result(step: &Claimed, status: &str, extra: Value) -> Value {
    let mut result = json!({"kind": "step_result", "task_uuid": step.body["task_uuid"], "step_uuid": step.body["step_uuid"],
        "step_name": step.body["step_name"], "attempt": step.body["attempt"], "status": status});
    for (k, v) in extra.as_object().unwrap() {
        result[k] = v.clone();
    }
    result
}

fn success(step: &Claimed, results: Value) -> Value {
    result(step, "success", json!({"results": results}))
}

fn failure(step: &Claimed, retryable: bool) -> Value {
    result(step, "failure", json!({"error": {"class": "Boom", "message": format!("{} broke", step.name()), "retryable": retryable}}))
}

/// Applies every visible message of step_results (results and wakes).
async fn apply(db: &TestDb) -> usize {
    let batch = db.read("step_results", 1000).await;
    if !batch.is_empty() {
        step_results::handle_batch(&db.pool, &QueueName::new("step_results").unwrap(), &batch, LIMIT).await.unwrap();
    }
    batch.len()
}

/// Plays the worker until nothing moves: each claimed step answered by `answer`. Returns
/// the names of the steps run, in order.
async fn run(db: &TestDb, answer: impl Fn(&Claimed) -> Value) -> Vec<String> {
    let mut ran = Vec::new();
    loop {
        let claimed = claim_all(db).await;
        for step in &claimed {
            ran.push(step.name().to_owned());
            db.send("step_results", &answer(step)).await;
        }
        if apply(db).await == 0 && claimed.is_empty() {
            return ran;
        }
    }
}

async fn task_state(db: &TestDb) -> String {
    sqlx::query_scalar("SELECT state FROM tasker_tasks WHERE uuid = $1::uuid").bind(TASK).fetch_one(&db.pool).await.unwrap()
}

async fn state_of(db: &TestDb, step: &str) -> String {
    db.step_state(step).await.0
}

async fn results_of(db: &TestDb, step: &str) -> Value {
    let r: Option<sqlx::types::Json<Value>> =
        sqlx::query_scalar("SELECT results FROM tasker_workflow_steps WHERE name = $1").bind(step).fetch_one(&db.pool).await.unwrap();
    r.map_or(Value::Null, |j| j.0)
}

const DECISION: &str = r#"
name: decide
namespace: dyn
version: 1.0.0
steps:
  - {name: route, type: decision, handler: D::Route, branches: [a, b]}
  - {name: a, handler: D::Step, depends_on: [route]}
  - {name: b, handler: D::Step, depends_on: [route]}
  - {name: only_b, handler: D::Step, depends_on: [b]}
  - {name: join, handler: D::Step, depends_on: [a, b]}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_decision_skips_what_it_did_not_choose_and_converges() {
    let db = TestDb::new().await;
    start(&db, DECISION, json!({})).await;
    let seen = std::sync::Mutex::new(None);
    let ran = run(&db, |step| match step.name() {
        "route" => {
            assert_eq!(step.details.as_ref().unwrap()["branches"], json!(["a", "b"]));
            success(step, json!({"branches": ["a"]}))
        }
        "join" => {
            *seen.lock().unwrap() = Some((step.parents.clone(), step.details.clone()));
            success(step, json!("joined"))
        }
        _ => success(step, json!(step.name())),
    })
    .await;
    assert_eq!(ran, vec!["route", "a", "join"]);
    let (parents, details) = seen.into_inner().unwrap().unwrap();
    assert_eq!(parents, json!({"a": "a"}), "a skipped parent's result is absent");
    assert_eq!(details.unwrap()["skipped"], json!(["b"]));
    for step in ["b", "only_b"] {
        assert_eq!(state_of(&db, step).await, "skipped");
    }
    let noted: Vec<(String, Value)> = sqlx::query_as(
        "SELECT t.reason, t.metadata FROM tasker_step_transitions t JOIN tasker_workflow_steps s ON s.id = t.step_id
          WHERE t.to_state = 'skipped' ORDER BY t.id",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap()
    .into_iter()
    .map(|(r, m): (String, sqlx::types::Json<Value>)| (r, m.0))
    .collect();
    assert_eq!(
        noted,
        vec![("not_chosen".into(), json!({"decided_by": "route"})), ("parents_skipped".into(), json!({"decided_by": "route"}))]
    );
    assert_eq!(task_state(&db).await, "complete");
    db.assert_counters_consistent().await;
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_whose_remaining_steps_are_all_skipped_completes_and_a_bad_choice_fails_the_decision() {
    let db = TestDb::new().await;
    start(&db, DECISION, json!({})).await;
    let ran = run(&db, |step| success(step, if step.name() == "route" { json!({"branches": []}) } else { json!(1) })).await;
    assert_eq!(ran, vec!["route"]);
    assert_eq!(task_state(&db).await, "complete");
    for step in ["a", "b", "only_b", "join"] {
        assert_eq!(state_of(&db, step).await, "skipped", "{step}");
    }
    db.assert_counters_consistent().await;
    db.drop_db().await;

    let db = TestDb::new().await;
    start(&db, DECISION, json!({})).await;
    run(&db, |step| success(step, json!({"branches": ["zz"]}))).await;
    assert_eq!(state_of(&db, "route").await, "error");
    let message: String = db_scalar_text(&db, "SELECT last_error ->> 'message' FROM tasker_workflow_steps WHERE name = 'route'").await;
    assert_eq!(message, "decision step route chose unknown branch \"zz\" (its branches: a, b)");
    assert_eq!(task_state(&db).await, "error");
    db.drop_db().await;
}

async fn db_scalar_text(db: &TestDb, sql: &str) -> String {
    sqlx::query_scalar(sql).fetch_one(&db.pool).await.unwrap()
}

fn map_yaml(extra: &str) -> String {
    format!(
        r#"
name: mapping
namespace: dyn
version: 1.0.0
steps:
  - {{name: items, handler: M::Items}}
  - {{name: each, type: map, over: items, handler: M::Each{extra}}}
  - {{name: total, handler: M::Total, depends_on: [each]}}
"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_map_step_runs_one_item_per_element_within_max_parallel_and_hands_on_the_array() {
    let db = TestDb::new().await;
    start(&db, &map_yaml(", max_parallel: 2"), json!({})).await;
    let mut rounds = Vec::new();
    let mut total_input = Value::Null;
    loop {
        let claimed = claim_all(&db).await;
        rounds.push(claimed.iter().map(|c| c.name().to_owned()).collect::<Vec<_>>());
        for step in &claimed {
            let answer = match step.name() {
                "items" => success(step, json!([10, 20, 30, 40, 50])),
                "total" => {
                    total_input = step.parents.clone();
                    success(step, json!("done"))
                }
                _ => {
                    let details = step.details.as_ref().unwrap();
                    assert_eq!(details["map"], json!("each"));
                    assert_eq!(details["type"], json!("map_item"));
                    assert_eq!(step.parents, json!({}), "an item has its element, not the whole result it maps over");
                    success(step, json!(details["item"].as_i64().unwrap() + details["index"].as_i64().unwrap()))
                }
            };
            db.send("step_results", &answer).await;
        }
        if apply(&db).await == 0 && claimed.is_empty() {
            break;
        }
    }
    assert_eq!(rounds[0], vec!["items"]);
    assert_eq!(rounds[1], vec!["each[0]", "each[1]"], "max_parallel: 2 at a time");
    assert!(rounds.iter().all(|r| r.len() <= 2));
    assert_eq!(total_input, json!({"each": [10, 21, 32, 43, 54]}), "results in index order");
    assert_eq!(task_state(&db).await, "complete");
    assert_eq!(db.scalar_i64("SELECT steps_total::bigint FROM tasker_tasks").await, 3, "items are not the template's steps");
    db.assert_counters_consistent().await;
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_map_over_nothing_completes_at_once_and_a_map_over_a_non_array_or_too_many_fails_clearly() {
    for (items, expect_state, message) in [
        (json!([]), "complete", None),
        (json!({"a": 1}), "error", Some("map step each: the result of items must be an Array to map over, got object")),
        (
            json!([1, 2, 3, 4]),
            "error",
            Some("map step each: the result of items has 4 elements, more than max_items 3; no item was created"),
        ),
    ] {
        let db = TestDb::new().await;
        start(&db, &map_yaml(", max_items: 3"), json!({})).await;
        let items2 = items.clone();
        let ran = run(&db, move |step| success(step, if step.name() == "items" { items2.clone() } else { json!("t") })).await;
        assert_eq!(state_of(&db, "each").await, expect_state, "{items}");
        assert_eq!(db.scalar_i64("SELECT count(*) FROM tasker_workflow_steps WHERE map_step_id IS NOT NULL").await, 0);
        match message {
            None => {
                assert_eq!(results_of(&db, "each").await, json!([]));
                assert_eq!(ran, vec!["items", "total"]);
                assert_eq!(task_state(&db).await, "complete");
            }
            Some(message) => {
                assert_eq!(
                    db_scalar_text(&db, "SELECT last_error ->> 'message' FROM tasker_workflow_steps WHERE name = 'each'").await,
                    message
                );
                assert_eq!(task_state(&db).await, "error");
            }
        }
        db.assert_counters_consistent().await;
        db.drop_db().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fail_fast_cancels_unstarted_items_and_collect_completes_with_each_outcome() {
    let db = TestDb::new().await;
    start(&db, &map_yaml(", max_parallel: 2, retry: {max_attempts: 0}"), json!({})).await;
    run(&db, |step| match step.name() {
        "items" => success(step, json!([0, 1, 2, 3, 4])),
        "each[1]" => failure(step, false),
        _ => success(step, json!("ok")),
    })
    .await;
    assert_eq!(state_of(&db, "each").await, "error");
    assert_eq!(state_of(&db, "each[1]").await, "error");
    assert_eq!(state_of(&db, "each[0]").await, "complete");
    for item in ["each[2]", "each[3]", "each[4]"] {
        assert_eq!(state_of(&db, item).await, "cancelled", "{item}");
    }
    assert_eq!(task_state(&db).await, "error");
    db.assert_counters_consistent().await;
    db.drop_db().await;

    let db = TestDb::new().await;
    start(&db, &map_yaml(", failure_policy: collect, retry: {max_attempts: 0}"), json!({})).await;
    run(&db, |step| match step.name() {
        "items" => success(step, json!([0, 1, 2])),
        "each[1]" => failure(step, false),
        _ => success(step, json!(step.name())),
    })
    .await;
    let outcomes = results_of(&db, "each").await;
    assert_eq!(outcomes[0], json!({"status": "complete", "result": "each[0]"}));
    assert_eq!(outcomes[1]["status"], json!("error"));
    assert_eq!(outcomes[1]["error"]["message"], json!("each[1] broke"));
    assert_eq!(outcomes[2], json!({"status": "complete", "result": "each[2]"}));
    assert_eq!(task_state(&db).await, "complete");
    db.assert_counters_consistent().await;
    db.drop_db().await;
}

const SIGNAL: &str = r#"
name: approve
namespace: dyn
version: 1.0.0
steps:
  - {name: prepare, handler: S::Prepare}
  - {name: approval, type: wait_for_signal, signal: approval, depends_on: [prepare]}
  - {name: ship, handler: S::Ship, depends_on: [approval]}
"#;

async fn signal(db: &TestDb, name: &str, payload: Value) -> Result<i64, String> {
    sqlx::query_scalar("SELECT tasker_signal($1::uuid, $2, $3)")
        .bind(TASK)
        .bind(name)
        .bind(sqlx::types::Json(payload))
        .fetch_one(&db.pool)
        .await
        .map_err(|e| match e {
            sqlx::Error::Database(d) => format!("{}: {}", d.code().unwrap_or_default(), d.message()),
            other => other.to_string(),
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signal_completes_its_waiting_step_with_its_payload_whenever_it_arrives() {
    for early in [false, true] {
        let db = TestDb::new().await;
        start(&db, SIGNAL, json!({})).await;
        if early {
            signal(&db, "approval", json!({"by": "ann"})).await.unwrap();
        }
        let shipped_with = std::sync::Mutex::new(Value::Null);
        let ran = run(&db, |step| {
            if step.name() == "ship" {
                *shipped_with.lock().unwrap() = step.parents.clone();
            }
            success(step, json!(step.name()))
        })
        .await;
        if !early {
            assert_eq!(ran, vec!["prepare"]);
            assert_eq!(state_of(&db, "approval").await, "waiting");
            assert_eq!(task_state(&db).await, "in_progress");
            signal(&db, "approval", json!({"by": "ann"})).await.unwrap();
            assert_eq!(
                run(&db, |step| {
                    *shipped_with.lock().unwrap() = step.parents.clone();
                    success(step, json!(step.name()))
                })
                .await,
                vec!["ship"]
            );
        }
        assert_eq!(shipped_with.into_inner().unwrap(), json!({"approval": {"by": "ann"}}), "early: {early}");
        assert_eq!(task_state(&db).await, "complete");
        let again = signal(&db, "approval", json!(1)).await.unwrap_err();
        assert!(again.starts_with("TKSG1: task 0192f6c4-8f3a-7c1e-9d4b-1a2b3c4d5e6f is complete"), "{again}");
        assert_eq!(db.scalar_i64("SELECT count(*) FROM tasker_signals WHERE consumed_at IS NOT NULL").await, 1);
        db.assert_counters_consistent().await;
        db.drop_db().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_signal_an_unknown_signal_and_an_unknown_task_are_refused() {
    let db = TestDb::new().await;
    start(&db, SIGNAL, json!({})).await;
    signal(&db, "approval", json!(true)).await.unwrap();
    let twice = signal(&db, "approval", json!(true)).await.unwrap_err();
    assert!(twice.starts_with("TKSG1: task 0192f6c4-8f3a-7c1e-9d4b-1a2b3c4d5e6f was already sent signal approval"), "{twice}");
    let unknown = signal(&db, "nope", json!(true)).await.unwrap_err();
    assert_eq!(unknown, "TKSG1: task 0192f6c4-8f3a-7c1e-9d4b-1a2b3c4d5e6f has no step waiting for signal nope (it waits for approval)");
    let missing: Result<i64, _> = sqlx::query_scalar("SELECT tasker_signal(gen_random_uuid(), 'approval', NULL)").fetch_one(&db.pool).await;
    assert!(missing.unwrap_err().to_string().contains("not found"));
    db.drop_db().await;
}

const TIMEOUT: &str = r#"
name: timing_out
namespace: dyn
version: 1.0.0
steps:
  - {name: approval, type: wait_for_signal, signal: approval, timeout_s: 0.3, on_timeout: skip}
  - {name: approved, handler: S::Ship, depends_on: [approval]}
  - {name: nap, type: sleep, duration_s: 0.3}
  - {name: after_nap, handler: S::Ship, depends_on: [nap]}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timers_end_sleeps_and_signal_waits_through_delayed_wakes() {
    let db = TestDb::new().await;
    start(&db, TIMEOUT, json!({})).await;
    assert_eq!(run(&db, |step| success(step, json!(1))).await, Vec::<String>::new(), "nothing is due yet");
    assert_eq!(state_of(&db, "nap").await, "waiting");
    assert_eq!(db.scalar_i64("SELECT count(*) FROM pgmq.q_step_results").await, 2, "two delayed wakes");
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    assert_eq!(run(&db, |step| success(step, json!(1))).await, vec!["after_nap"]);
    assert_eq!(state_of(&db, "approval").await, "skipped");
    assert_eq!(state_of(&db, "approved").await, "skipped");
    assert!(results_of(&db, "nap").await["slept_until"].is_string());
    assert_eq!(task_state(&db).await, "complete");
    db.assert_counters_consistent().await;
    db.drop_db().await;
}

const UNTIL: &str = r#"
name: until_time
namespace: dyn
version: 1.0.0
steps:
  - {name: nap, type: sleep, until: order.ship_at}
  - {name: after_nap, handler: S::Ship, depends_on: [nap]}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sleep_until_a_past_time_ends_at_once_and_an_unreadable_time_fails_it() {
    let db = TestDb::new().await;
    start(&db, UNTIL, json!({"order": {"ship_at": "2020-01-01T00:00:00Z"}})).await;
    assert_eq!(run(&db, |step| success(step, json!(1))).await, vec!["after_nap"]);
    assert_eq!(task_state(&db).await, "complete");
    db.drop_db().await;
    let db = TestDb::new().await;
    start(&db, UNTIL, json!({"order": {"ship_at": "soon"}})).await;
    assert_eq!(state_of(&db, "nap").await, "error");
    let message = db_scalar_text(&db, "SELECT last_error ->> 'message' FROM tasker_workflow_steps WHERE name = 'nap'").await;
    assert_eq!(message, "sleep step nap: context path order.ship_at must hold an ISO-8601 time like 2026-12-01T10:00:00Z, got \"soon\"");
    assert_eq!(task_state(&db).await, "error");
    db.drop_db().await;
}

const PARENT: &str = r#"
name: parent
namespace: dyn
version: 1.0.0
steps:
  - {name: spawn, handler: C::Spawn}
  - {name: after, handler: C::After, depends_on: [spawn]}
"#;

const CHILD: &str = r#"
name: child
namespace: dyn
version: 1.0.0
steps:
  - {name: work, handler: C::Work}
  - {name: gate, type: wait_for_signal, signal: go}
"#;

fn await_child(step: &Claimed) -> Value {
    result(step, "await_task", json!({"await_task": {"namespace": "dyn", "name": "child", "version": "1.0.0", "context": {"n": 7}}}))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_awaited_child_task_hands_its_result_to_the_waiting_step_once() {
    let db = TestDb::new().await;
    db.register(CHILD).await;
    start(&db, PARENT, json!({})).await;
    let after_saw = std::sync::Mutex::new(Value::Null);
    let answer = |step: &Claimed| match step.name() {
        "spawn" => await_child(step),
        "work" => success(step, json!({"worked": 7})),
        _ => {
            *after_saw.lock().unwrap() = step.parents.clone();
            success(step, json!("after"))
        }
    };
    assert_eq!(run(&db, answer).await, vec!["spawn", "work"]);
    assert_eq!(state_of(&db, "spawn").await, "waiting");
    let (child_uuid, parent_step): (uuid::Uuid, Option<i64>) =
        sqlx::query_as("SELECT uuid, parent_step_id FROM tasker_tasks WHERE parent_task_id IS NOT NULL").fetch_one(&db.pool).await.unwrap();
    assert!(parent_step.is_some());
    sqlx::query("SELECT tasker_signal($1, 'go', '\"now\"')").bind(child_uuid).execute(&db.pool).await.unwrap();
    assert_eq!(run(&db, answer).await, vec!["after"]);
    assert_eq!(after_saw.into_inner().unwrap(), json!({"spawn": {"work": {"worked": 7}, "gate": "now"}}), "a hash by final step");
    assert_eq!(task_state(&db).await, "complete");
    assert_eq!(db.scalar_i64("SELECT count(*) FROM tasker_tasks").await, 2, "one child, however often its result came");
    db.assert_counters_consistent().await;
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redelivered_await_starts_no_second_child_and_cancelling_the_parent_cancels_the_child() {
    let db = TestDb::new().await;
    db.register(CHILD).await;
    start(&db, PARENT, json!({})).await;
    let spawn = claim_all(&db).await.pop().unwrap();
    db.send("step_results", &await_child(&spawn)).await;
    db.send("step_results", &await_child(&spawn)).await;
    apply(&db).await;
    assert_eq!(db.scalar_i64("SELECT count(*) FROM tasker_tasks WHERE parent_task_id IS NOT NULL").await, 1);
    assert_eq!(db.scalar_i64("SELECT count(*) FROM tasker_dead_letters WHERE kind = 'ignored_result'").await, 1, "the repeat is recorded");
    let actor = support::operator();
    tasker_orchestration::orchestration::operator_actions::cancel(&db.pool, TASK.parse().unwrap(), &actor).await.unwrap();
    assert_eq!(db.scalar_i64("SELECT count(*) FROM tasker_tasks WHERE state = 'cancelled'").await, 2);
    apply(&db).await;
    db.assert_counters_consistent().await;
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_child_that_cannot_start_or_fails_fails_the_awaiting_step() {
    let db = TestDb::new().await;
    start(&db, PARENT, json!({})).await;
    run(&db, await_child).await;
    let message = db_scalar_text(&db, "SELECT last_error ->> 'message' FROM tasker_workflow_steps WHERE name = 'spawn'").await;
    assert_eq!(message, "child task dyn/child@1.0.0 cannot be started: unknown template dyn/child@1.0.0");
    assert_eq!(task_state(&db).await, "error");
    db.drop_db().await;

    let db = TestDb::new().await;
    db.register(CHILD).await;
    start(&db, PARENT, json!({})).await;
    run(&db, |step| if step.name() == "spawn" { await_child(step) } else { failure(step, false) }).await;
    // The child ends (in error) once its other step is done waiting.
    let child: uuid::Uuid =
        sqlx::query_scalar("SELECT uuid FROM tasker_tasks WHERE parent_task_id IS NOT NULL").fetch_one(&db.pool).await.unwrap();
    sqlx::query("SELECT tasker_signal($1, 'go', NULL)").bind(child).execute(&db.pool).await.unwrap();
    run(&db, |step| failure(step, false)).await;
    let message = db_scalar_text(&db, "SELECT last_error ->> 'message' FROM tasker_workflow_steps WHERE name = 'spawn'").await;
    assert!(message.ends_with("ended error: step work failed: work broke"), "{message}");
    assert_eq!(task_state(&db).await, "error");
    db.assert_counters_consistent().await;
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_wakes_and_awaits_in_a_batch_change_nothing_but_themselves() {
    let db = TestDb::new().await;
    start(&db, SIGNAL, json!({})).await;
    let prepare = claim_all(&db).await.pop().unwrap();
    let step_uuid: String = db_scalar_text(&db, "SELECT uuid::text FROM tasker_workflow_steps WHERE name = 'approval'").await;
    let prepare_uuid: String = db_scalar_text(&db, "SELECT uuid::text FROM tasker_workflow_steps WHERE name = 'prepare'").await;
    // One batch: a wake with no step, a wake naming another task, a wake for a running step,
    // an await_task naming a child with a nested-too-deep context, and the valid result.
    let mut deep = json!(1);
    for _ in 0..100 {
        deep = json!([deep]);
    }
    for message in [
        json!({"kind": "wake", "task_uuid": TASK}),
        json!({"kind": "wake", "task_uuid": "0192f6c4-8f3a-7c1e-9d4b-000000000000", "step_uuid": step_uuid}),
        json!({"kind": "wake", "task_uuid": TASK, "step_uuid": prepare_uuid, "reason": "forged"}),
        result(
            &prepare,
            "await_task",
            json!({"await_task": {"namespace": "dyn", "name": "x", "version": "1.0.0", "context": {"d": deep}}}),
        ),
        success(&prepare, json!("prepared")),
    ] {
        db.send("step_results", &message).await;
    }
    assert_eq!(apply(&db).await, 5);
    assert_eq!(state_of(&db, "prepare").await, "complete");
    assert_eq!(state_of(&db, "approval").await, "waiting");
    let letters: Vec<(String, String)> =
        sqlx::query_as("SELECT kind, reason FROM tasker_dead_letters ORDER BY id").fetch_all(&db.pool).await.unwrap();
    let kinds: Vec<&str> = letters.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(kinds, vec!["malformed_wake", "ignored_wake", "malformed_result"], "{letters:?}");
    assert!(letters[0].1.contains("step_uuid"), "{letters:?}");
    assert_eq!(db.scalar_i64("SELECT count(*) FROM pgmq.a_step_results").await, 4, "the forged wake is archived, not lost");
    assert_eq!(db.scalar_i64("SELECT count(*) FROM tasker_tasks").await, 1, "no child was started");
    db.assert_counters_consistent().await;
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_retry_of_a_failed_map_reruns_its_failed_and_cancelled_items_only() {
    let db = TestDb::new().await;
    start(&db, &map_yaml(", max_parallel: 2, retry: {max_attempts: 0}"), json!({})).await;
    let broken = std::sync::atomic::AtomicBool::new(true);
    let answer = |step: &Claimed| match step.name() {
        "items" => success(step, json!([0, 1, 2, 3, 4])),
        "each[1]" if broken.load(std::sync::atomic::Ordering::SeqCst) => failure(step, false),
        _ => success(step, json!(step.name())),
    };
    run(&db, answer).await;
    assert_eq!(task_state(&db).await, "error");
    broken.store(false, std::sync::atomic::Ordering::SeqCst);
    let actor = support::operator();
    tasker_orchestration::orchestration::operator_actions::retry(&db.pool, TASK.parse().unwrap(), &actor).await.unwrap();
    let ran = run(&db, answer).await;
    assert_eq!(ran, vec!["each[1]", "each[2]", "each[3]", "each[4]", "total"], "each[0] kept its result");
    assert_eq!(results_of(&db, "each").await, json!(["each[0]", "each[1]", "each[2]", "each[3]", "each[4]"]));
    assert_eq!(task_state(&db).await, "complete");
    db.assert_counters_consistent().await;
    db.drop_db().await;
}
