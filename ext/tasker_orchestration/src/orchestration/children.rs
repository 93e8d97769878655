//! Child tasks. A handler's `step.await_task(...)` ends its run with a result of status
//! `await_task`; the orchestrator then creates the child task in the transaction that
//! applies that result (its uuid derived from the step and attempt, so a redelivered result
//! cannot start a second one) and the step waits, holding no worker. When the child
//! finishes, its finalization sends a wake for the awaiting step, which completes with the
//! child's result or fails with its failure. Cancelling a task cancels its children.

use serde_json::{json, Map, Value};
use sqlx::types::Json;
use sqlx::{PgConnection, Row};
use uuid::Uuid;

use super::task_requests::{self, Parent};
use super::transitions::{move_steps, StepChange, StepMove};
use super::{waits, OrchestrationError, TaskRef};
use crate::domain::states::StepState;
use crate::messaging::messages::{ChildTask, TaskRequest};

/// Starts the child task step `step_id` (in progress, attempt `attempt`) awaits. Returns the
/// step's new state: waiting, or error when the child cannot be created (an unknown
/// template, a context its input schema refuses).
pub async fn start(
    tx: &mut PgConnection,
    task: &TaskRef,
    step_id: i64,
    step_uuid: Uuid,
    attempt: i32,
    child: &ChildTask,
) -> Result<StepState, OrchestrationError> {
    let request = TaskRequest {
        kind: TaskRequest::KIND.to_owned(),
        task_uuid: Uuid::new_v5(&step_uuid, &attempt.to_be_bytes()),
        namespace: child.namespace.clone(),
        name: child.name.clone(),
        version: child.version.clone(),
        context: child.context.clone(),
        priority: task.priority,
        idempotency_key: None,
        requested_at: None,
        run_at: None,
        traceparent: None,
    };
    let template = format!("{}/{}@{}", child.namespace, child.name, child.version);
    let registered = match task_requests::acceptable(tx, &request).await? {
        Ok(registered) => registered,
        Err(reason) => {
            let message = format!("child task {template} cannot be started: {reason}");
            let error = json!({"class": "TaskerCore::ChildTaskRefused", "message": message, "retryable": false, "attempt": attempt});
            let mv = StepMove { from: StepState::InProgress, to: StepState::Error, change: StepChange::Fail { error: &error }, reason: "child_refused", metadata: &json!({"message": message}) };
            move_steps(tx, task.id, &[step_id], mv).await?;
            return Ok(StepState::Error);
        }
    };
    task_requests::create_task(tx, &request, &registered, Some(Parent { task_id: task.id, step_id }), None).await?;
    let note = json!({"child_task_uuid": request.task_uuid, "template": template});
    let mv = StepMove { from: StepState::InProgress, to: StepState::Waiting, change: StepChange::Wait { wake_in_s: None }, reason: "awaiting_child", metadata: &note };
    move_steps(tx, task.id, &[step_id], mv).await?;
    // A child can finish as it starts (its steps all sleeps already due, say).
    Ok(finish_awaiting(tx, task, step_id).await?.unwrap_or(StepState::Waiting))
}

/// Ends the wait of step `step_id` when its child task has finished: complete with the
/// child's result, or error with why the child failed. None while the child runs.
pub async fn finish_awaiting(tx: &mut PgConnection, task: &TaskRef, step_id: i64) -> Result<Option<StepState>, OrchestrationError> {
    let child = sqlx::query("SELECT id, uuid, state FROM tasker_tasks WHERE parent_step_id = $1 ORDER BY id DESC LIMIT 1")
        .bind(step_id)
        .fetch_optional(&mut *tx)
        .await?;
    let Some(child) = child else { return Ok(None) };
    let (child_id, child_uuid, state): (i64, Uuid, String) = (child.try_get("id")?, child.try_get("uuid")?, child.try_get("state")?);
    let note = json!({"child_task_uuid": child_uuid, "child_state": state});
    match state.as_str() {
        "complete" | "resolved_manually" => {
            let results = result_of(tx, child_id).await?;
            let mv = StepMove { from: StepState::Waiting, to: StepState::Complete, change: StepChange::Complete { results: &results }, reason: "child_finished", metadata: &note };
            move_steps(tx, task.id, &[step_id], mv).await?;
            Ok(Some(StepState::Complete))
        }
        "error" | "cancelled" => {
            let cause: Option<(String, Option<String>)> =
                sqlx::query_as("SELECT name, last_error ->> 'message' FROM tasker_workflow_steps WHERE task_id = $1 AND state = 'error' ORDER BY id LIMIT 1")
                    .bind(child_id)
                    .fetch_optional(&mut *tx)
                    .await?;
            let detail = cause.map_or(String::new(), |(name, message)| format!(": step {name} failed: {}", message.unwrap_or_default()));
            let message = format!("child task {child_uuid} ended {state}{detail}");
            let error = json!({"class": "TaskerCore::ChildTaskFailed", "message": message, "retryable": false, "child_task_uuid": child_uuid});
            let mv = StepMove { from: StepState::Waiting, to: StepState::Error, change: StepChange::Fail { error: &error }, reason: "child_failed", metadata: &note };
            move_steps(tx, task.id, &[step_id], mv).await?;
            Ok(Some(StepState::Error))
        }
        _ => Ok(None),
    }
}

/// A task's result as an awaiting parent sees it: the results of its single final step (a
/// step nothing depends on), or a hash of them by step name when it has several (skipped
/// ones left out).
pub async fn result_of(tx: &mut PgConnection, task_id: i64) -> Result<Value, OrchestrationError> {
    let rows = sqlx::query(
        "SELECT s.name, s.state, s.results FROM tasker_workflow_steps s
          WHERE s.task_id = $1 AND s.map_step_id IS NULL
            AND NOT EXISTS (SELECT 1 FROM tasker_step_edges e WHERE e.from_step_id = s.id)
          ORDER BY s.id",
    )
    .bind(task_id)
    .fetch_all(&mut *tx)
    .await?;
    let results = |row: &sqlx::postgres::PgRow| -> Result<Value, sqlx::Error> {
        Ok(row.try_get::<Option<Json<Value>>, _>("results")?.map_or(Value::Null, |j| j.0))
    };
    if rows.len() == 1 {
        return Ok(results(&rows[0])?);
    }
    let mut by_name = Map::new();
    for row in rows.iter().filter(|r| r.get::<String, _>("state") != StepState::Skipped.as_str()) {
        by_name.insert(row.try_get("name")?, results(row)?);
    }
    Ok(Value::Object(by_name))
}

/// A child task finished (complete, error, cancelled, resolved): wakes the step awaiting it.
pub async fn notify_parent(tx: &mut PgConnection, task: &TaskRef) -> Result<(), OrchestrationError> {
    let Some(step_id) = task.parent_step_id else { return Ok(()) };
    let parent: Option<(Uuid, Uuid)> =
        sqlx::query_as("SELECT t.uuid, s.uuid FROM tasker_workflow_steps s JOIN tasker_tasks t ON t.id = s.task_id WHERE s.id = $1")
            .bind(step_id)
            .fetch_optional(&mut *tx)
            .await?;
    if let Some((task_uuid, step_uuid)) = parent {
        waits::send_wake(tx, task_uuid, step_uuid, "child", 0.0).await?;
    }
    Ok(())
}

/// The unfinished children of a task (to cancel with it).
pub async fn unfinished_children(tx: &mut PgConnection, task_id: i64) -> Result<Vec<Uuid>, OrchestrationError> {
    Ok(sqlx::query_scalar("SELECT uuid FROM tasker_tasks WHERE parent_task_id = $1 AND state IN ('pending', 'in_progress', 'error') ORDER BY id")
        .bind(task_id)
        .fetch_all(&mut *tx)
        .await?)
}
