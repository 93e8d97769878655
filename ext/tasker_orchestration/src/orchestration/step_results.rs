//! Applies a StepResult: in ONE transaction, under the task's row lock, move the step,
//! store its results or error, dispatch children that became ready (or schedule a retry),
//! finalize the task, and delete the result message. A result for another attempt, or for a
//! step that is not running, changes nothing and is kept as a dead letter.

use serde_json::{json, Value};
use sqlx::{PgConnection, PgPool, Row};
use tracing::info;

use super::dead_letters::{self, DeadLetter};
use super::finalization::finalize_if_done;
use super::transitions::{move_steps, StepChange, StepMove};
use super::{dispatch, OrchestrationError, TaskRef};
use crate::config::ENVELOPE_BYTES;
use crate::domain::backoff::retry_delay;
use crate::domain::states::{StepState, TaskState};
use crate::messaging::messages::{ResultStatus, StepResult};
use crate::messaging::queues::{self, QueueMessage, QueueName};

#[derive(Debug, Clone, PartialEq)]
pub enum ResultOutcome {
    Applied { step_state: StepState, task_state: Option<TaskState>, dispatched: usize },
    SetAside { kind: &'static str, reason: String },
}

struct StepRow {
    id: i64,
    state: StepState,
    attempts: i32,
    attempts_offset: i32,
    max_attempts: i32,
    backoff_base_ms: i64,
    backoff_max_ms: i64,
}

/// `payload_limit`: the largest results accepted (a message may exceed it by the envelope
/// allowance).
pub async fn handle(pool: &PgPool, queue: &QueueName, message: &QueueMessage, payload_limit: usize) -> Result<ResultOutcome, OrchestrationError> {
    let mut tx = pool.begin().await?;
    let decoded = dead_letters::decode_or_letter(message, "malformed_result", payload_limit + ENVELOPE_BYTES, StepResult::from_value)
        .and_then(|r| dead_letters::check_payload("malformed_result", "results", &r.results, payload_limit, r.task_uuid).map(|()| r));
    let outcome = match decoded {
        Err(letter) => set_aside(&mut tx, queue, message, letter).await?,
        Ok(result) => apply_or_set_aside(&mut tx, queue, message, &result).await?,
    };
    tx.commit().await?;
    Ok(outcome)
}

async fn set_aside(tx: &mut PgConnection, queue: &QueueName, message: &QueueMessage, letter: DeadLetter) -> Result<ResultOutcome, OrchestrationError> {
    dead_letters::set_aside(tx, queue, message, &letter).await?;
    Ok(ResultOutcome::SetAside { kind: letter.kind, reason: letter.reason })
}

async fn apply_or_set_aside(
    tx: &mut PgConnection,
    queue: &QueueName,
    message: &QueueMessage,
    result: &StepResult,
) -> Result<ResultOutcome, OrchestrationError> {
    let ignored = |reason: String| DeadLetter::new("ignored_result", reason, Some(result.task_uuid));
    let task_id: Option<i64> = sqlx::query_scalar(
        "SELECT s.task_id FROM tasker_workflow_steps s JOIN tasker_tasks t ON t.id = s.task_id
          WHERE s.uuid = $1 AND t.uuid = $2",
    )
    .bind(result.step_uuid)
    .bind(result.task_uuid)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(task_id) = task_id else {
        return set_aside(tx, queue, message, ignored(format!("unknown step {} of task {}", result.step_uuid, result.task_uuid))).await;
    };
    // Lock order everywhere: task row, then step rows.
    let mut task = TaskRef::lock(tx, task_id).await?;
    let step = lock_step(tx, result).await?;
    if step.state != StepState::InProgress || step.attempts != result.attempt {
        let reason = format!(
            "result for attempt {} of step {:?} ignored: the step is {} at attempt {}",
            result.attempt, result.step_name, step.state, step.attempts
        );
        return set_aside(tx, queue, message, ignored(reason)).await;
    }
    let (step_state, dispatched) = match result.status {
        ResultStatus::Success => complete_step(tx, &task, &step, result).await?,
        ResultStatus::Failure => fail_step(tx, &task, &step, result).await?,
    };
    let task_state = finalize_if_done(tx, &task).await?;
    if let Some(state) = task_state {
        task.state = state;
        info!(component = "orchestration.results", task_uuid = %task.uuid, state = state.as_str(), "task finished");
    }
    queues::delete(&mut *tx, queue, message.msg_id).await?;
    Ok(ResultOutcome::Applied { step_state, task_state, dispatched })
}

async fn lock_step(tx: &mut PgConnection, result: &StepResult) -> Result<StepRow, OrchestrationError> {
    let row = sqlx::query(
        "SELECT id, state, attempts, attempts_offset, max_attempts, backoff_base_ms, backoff_max_ms
           FROM tasker_workflow_steps WHERE uuid = $1 FOR UPDATE",
    )
    .bind(result.step_uuid)
    .fetch_one(&mut *tx)
    .await?;
    Ok(StepRow {
        id: row.try_get("id")?,
        state: row.try_get::<String, _>("state")?.parse()?,
        attempts: row.try_get("attempts")?,
        attempts_offset: row.try_get("attempts_offset")?,
        max_attempts: row.try_get("max_attempts")?,
        backoff_base_ms: row.try_get("backoff_base_ms")?,
        backoff_max_ms: row.try_get("backoff_max_ms")?,
    })
}

async fn complete_step(tx: &mut PgConnection, task: &TaskRef, step: &StepRow, result: &StepResult) -> Result<(StepState, usize), OrchestrationError> {
    let metadata = json!({"worker_id": result.worker_id, "started_at": result.started_at, "finished_at": result.finished_at});
    let change = StepChange::Complete { results: &result.results };
    let mv = StepMove { from: StepState::InProgress, to: StepState::Complete, change, reason: "succeeded", metadata: &metadata };
    move_steps(tx, task.id, &[step.id], mv).await?;
    // O(out-degree): only this step's children are touched.
    let ready = dispatch::release_children(tx, step.id).await?;
    let dispatched = if task.state == TaskState::InProgress { dispatch::enqueue_ready(tx, task, &ready).await? } else { 0 };
    Ok((StepState::Complete, dispatched))
}

async fn fail_step(tx: &mut PgConnection, task: &TaskRef, step: &StepRow, result: &StepResult) -> Result<(StepState, usize), OrchestrationError> {
    let error = result.error.as_ref().expect("validated: failures carry an error");
    let error_json: Value = json!({
        "class": error.class, "message": error.message, "retryable": error.retryable,
        "backtrace": error.backtrace, "attempt": step.attempts, "worker_id": result.worker_id,
    });
    let metadata = json!({"class": error.class, "message": error.message});
    let change = StepChange::Fail { error: &error_json };
    let mv = StepMove { from: StepState::InProgress, to: StepState::Error, change, reason: "failed", metadata: &metadata };
    move_steps(tx, task.id, &[step.id], mv).await?;
    // The budget counts attempts since the last operator retry (attempt numbers never reset).
    let spent = step.attempts - step.attempts_offset;
    let can_retry = error.retryable && spent < step.max_attempts && task.state == TaskState::InProgress;
    if !can_retry {
        return Ok((StepState::Error, 0));
    }
    let delay = retry_delay(spent, step.backoff_base_ms, step.backoff_max_ms, error.retry_after);
    dispatch::schedule_retry(tx, task, step.id, delay.as_millis() as i64).await?;
    Ok((StepState::WaitingForRetry, 0))
}
