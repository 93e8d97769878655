//! Sends steps to workers: moves them to `enqueued` and sends their StepMessages to the
//! namespace queue in the caller's transaction, so the state change and the message commit
//! together. Retries go out the same way with a visibility delay (no sweeper scan).

use serde_json::{json, Value};
use sqlx::PgConnection;

use super::transitions::{move_steps, MovedStep, StepChange};
use super::{OrchestrationError, TaskRef};
use crate::domain::states::StepState;
use crate::messaging::messages::StepMessage;
use crate::messaging::queues::{self, QueueName};

/// Dispatches the first attempt of `step_ids` (all `pending` and ready). Returns how many
/// were sent.
pub async fn enqueue_ready(tx: &mut PgConnection, task: &TaskRef, step_ids: &[i64]) -> Result<usize, OrchestrationError> {
    let moved = move_steps(tx, step_ids, StepState::Pending, StepState::Enqueued, StepChange::Dispatch, "ready", &json!({})).await?;
    let messages: Vec<Value> = moved.iter().map(|step| step_message(task, step)).collect();
    queues::send_batch(&mut *tx, &QueueName::for_namespace(&task.namespace)?, &messages).await?;
    Ok(moved.len())
}

/// Schedules the next attempt of a failed step `delay_ms` from now.
pub async fn schedule_retry(
    tx: &mut PgConnection,
    task: &TaskRef,
    step_id: i64,
    delay_ms: i64,
) -> Result<bool, OrchestrationError> {
    let metadata = json!({"delay_ms": delay_ms});
    let moved = move_steps(
        tx,
        &[step_id],
        StepState::Error,
        StepState::WaitingForRetry,
        StepChange::ScheduleRetry { delay_ms },
        "retry_scheduled",
        &metadata,
    )
    .await?;
    let Some(step) = moved.first() else { return Ok(false) };
    let queue = QueueName::for_namespace(&task.namespace)?;
    queues::send(&mut *tx, &queue, &step_message(task, step), delay_ms as f64 / 1000.0).await?;
    Ok(true)
}

fn step_message(task: &TaskRef, step: &MovedStep) -> Value {
    let message = StepMessage {
        kind: StepMessage::KIND.to_owned(),
        task_uuid: task.uuid,
        step_uuid: step.uuid,
        step_name: step.name.clone(),
        handler: step.handler.clone(),
        attempt: step.attempts,
        namespace: task.namespace.clone(),
        task_name: task.name.clone(),
        task_version: task.version.clone(),
    };
    serde_json::to_value(message).expect("a StepMessage always serializes")
}
