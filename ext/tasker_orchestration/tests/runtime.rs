//! The running orchestrator (tokio runtime, loops, start/stop/status/enqueue) against real
//! PostgreSQL, with a minimal worker written here that claims steps and posts results the
//! way the Ruby QueueWorker does.

mod support;

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::{TestDb, LINEAR_YAML};
use tasker_orchestration::{CoreConfig, Orchestrator, RuntimeError};

fn config_for(db: &TestDb, template_dir: &std::path::Path) -> CoreConfig {
    CoreConfig::from_json(
        &json!({"database_url": db.url, "template_paths": [template_dir], "log_level": "warn",
                "orchestrator": {"poll_interval_ms": 10, "maintenance_interval_s": 1}})
        .to_string(),
    )
    .unwrap()
}

/// Squares the context's even_number at step 1, then the parent's result at step 2.
async fn work_until_idle(db: &TestDb, deadline: Instant) {
    while Instant::now() < deadline {
        let Some(message) = db.read("linear_workflow_queue", 1).await.pop() else {
            tokio::time::sleep(Duration::from_millis(10)).await;
            if finished(db).await {
                return;
            }
            continue;
        };
        let step = message.message.unwrap();
        let (claimed, context, parents): (bool, Option<sqlx::types::Json<Value>>, Option<sqlx::types::Json<Value>>) =
            sqlx::query_as("SELECT claimed, task_context, parent_results FROM tasker_claim_step($1::uuid, $2::int, 'rust-test')")
                .bind(step["step_uuid"].as_str().unwrap())
                .bind(step["attempt"].as_i64().unwrap() as i32)
                .fetch_one(&db.pool)
                .await
                .unwrap();
        assert!(claimed);
        let input = match parents.unwrap().0.get("linear_step_1") {
            Some(parent) => parent.as_i64().unwrap(),
            None => context.unwrap().0["even_number"].as_i64().unwrap(),
        };
        let result = json!({"kind": "step_result", "task_uuid": step["task_uuid"], "step_uuid": step["step_uuid"],
            "step_name": step["step_name"], "attempt": step["attempt"], "status": "success", "results": input * input});
        let mut tx = db.pool.begin().await.unwrap();
        sqlx::query("SELECT pgmq.send('step_results', $1::jsonb)").bind(sqlx::types::Json(&result)).execute(&mut *tx).await.unwrap();
        sqlx::query("SELECT pgmq.delete('linear_workflow_queue', $1::bigint)").bind(message.msg_id).execute(&mut *tx).await.unwrap();
        tx.commit().await.unwrap();
    }
}

async fn finished(db: &TestDb) -> bool {
    db.scalar_i64("SELECT count(*) FROM tasker_tasks WHERE state NOT IN ('complete', 'error')").await == 0
}

#[test]
fn the_orchestrator_runs_a_workflow_and_stops_cleanly() {
    let harness = tokio::runtime::Runtime::new().unwrap();
    let db = harness.block_on(TestDb::new());
    let dir = std::env::temp_dir().join(format!("tasker_rt_templates_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("linear.yml"), LINEAR_YAML).unwrap();

    let mut orchestrator = Orchestrator::start(config_for(&db, &dir)).unwrap();
    let status = orchestrator.status().unwrap();
    assert_eq!(status["running"], true);
    assert_eq!(status["templates"], json!(["linear_workflow/mathematical_sequence@1.0.0"]));

    let uuid = orchestrator
        .enqueue(r#"{"namespace":"linear_workflow","name":"mathematical_sequence","version":"1.0.0","context":{"even_number":6}}"#)
        .unwrap();
    let bad = orchestrator.enqueue(r#"{"namespace":"Nope!","name":"x","version":"1.0.0"}"#).unwrap_err();
    assert!(matches!(bad, RuntimeError::Messaging(_)), "{bad}");

    harness.block_on(async {
        let deadline = Instant::now() + Duration::from_secs(20);
        while db.scalar_i64("SELECT count(*) FROM tasker_tasks").await == 0 {
            assert!(Instant::now() < deadline, "the request loop never created the task");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        work_until_idle(&db, deadline).await;
    });
    let (state, last): (String, sqlx::types::Json<Value>) = harness
        .block_on(
            sqlx::query_as(
                "SELECT t.state, s.results FROM tasker_tasks t JOIN tasker_workflow_steps s ON s.task_id = t.id
                  WHERE t.uuid = $1 AND s.name = 'linear_step_2'",
            )
            .bind(uuid)
            .fetch_one(&db.pool),
        )
        .unwrap();
    assert_eq!((state.as_str(), last.0), ("complete", json!(1296)));
    assert_eq!(orchestrator.status().unwrap()["stats"]["results_applied"], 2);
    // The maintenance loop folds the metric deltas (migration 12) without a scrape.
    harness.block_on(async {
        let deadline = Instant::now() + Duration::from_secs(10);
        while db.scalar_i64("SELECT count(*) FROM tasker_metric_deltas").await > 0 {
            assert!(Instant::now() < deadline, "the metric deltas were never folded");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let completed = "SELECT COALESCE(sum(count), 0)::bigint FROM tasker_metric_step_totals WHERE outcome = 'completed'";
        assert_eq!(db.scalar_i64(completed).await, 2);
    });

    let report = orchestrator.stop(Duration::from_secs(5)).unwrap();
    assert_eq!(report["drained"], true);
    assert_eq!(orchestrator.stop(Duration::from_secs(5)).unwrap()["already_stopped"], true);
    assert!(matches!(orchestrator.enqueue("{}"), Err(RuntimeError::NotRunning)));
    harness.block_on(db.drop_db());
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn a_bad_template_file_fails_start_before_connecting() {
    let dir = std::env::temp_dir().join(format!("tasker_rt_bad_templates_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("dup.yaml"), LINEAR_YAML.replace("name: linear_step_2", "name: linear_step_1")).unwrap();
    let config =
        CoreConfig::from_json(&json!({"database_url": "postgres://nobody:secret@127.0.0.1:1/none", "template_paths": [dir]}).to_string())
            .unwrap();
    let error = Orchestrator::start(config).err().expect("start must fail").to_string();
    assert!(error.contains("dup.yaml") && error.contains("duplicate step name \"linear_step_1\""), "{error}");
    std::fs::remove_dir_all(dir).ok();
}
