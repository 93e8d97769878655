//! Operator actions on a task: cancel, retry from the failure point, resolve a step by hand.
//! Each runs in one transaction under the task's row lock and every change goes through the
//! state machine, recorded as transitions with an `*_by_operator` reason and, in every
//! transition's metadata, the actor who asked (`{"actor": "cli:alice@host", ...}`): the
//! steps it dispatches and the task's finalization included.

use serde_json::{json, Value};
use sqlx::{PgConnection, PgPool, Row};
use tracing::info;
use uuid::Uuid;

use super::finalization::finalize_if_done;
use super::transitions::{move_steps, move_task, StepChange, StepMove};
use super::{children, dispatch, maps, progress, waits, OrchestrationError, TaskRef};
use crate::domain::actor::Actor;
use crate::domain::json_rules;
use crate::domain::states::{StateError, StepState, TaskState};
use crate::messaging::MessagingError;

/// Cancels a task that has not finished: every step not yet final is cancelled (queued
/// messages then fail their claim; a late result of a running step is recorded and ignored).
/// Its unfinished child tasks are cancelled with it, in the same transaction.
pub async fn cancel(pool: &PgPool, task_uuid: Uuid, actor: &Actor) -> Result<Value, OrchestrationError> {
    let mut tx = pool.begin().await?;
    let task = lock_task(&mut tx, task_uuid).await?;
    task.state.check(TaskState::Cancelled)?;
    let cancelled = cancel_locked(&mut tx, &task, actor, json!({})).await?;
    tx.commit().await?;
    info!(component = "orchestration.operator", task_uuid = %task_uuid, cancelled, actor = actor.as_str(), "task cancelled");
    Ok(json!({"task_uuid": task_uuid, "state": "cancelled", "cancelled_steps": cancelled}))
}

/// Cancels a locked task, its steps and (first) its unfinished children; returns the
/// steps cancelled. `note`: what the transitions record besides the actor.
fn cancel_locked<'a>(
    tx: &'a mut PgConnection,
    task: &'a TaskRef,
    actor: &'a Actor,
    note: Value,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<usize, OrchestrationError>> + Send + 'a>> {
    Box::pin(async move {
        for child_uuid in children::unfinished_children(tx, task.id).await? {
            let child = lock_task(tx, child_uuid).await?;
            cancel_locked(tx, &child, actor, json!({"parent_task_uuid": task.uuid})).await?;
        }
        let metadata = actor.note(note);
        let mut cancelled = 0;
        for from in [StepState::Pending, StepState::Enqueued, StepState::InProgress, StepState::WaitingForRetry, StepState::Waiting, StepState::Error] {
            let ids = step_ids_in(tx, task.id, from).await?;
            let mv =
                StepMove { from, to: StepState::Cancelled, change: StepChange::None, reason: "cancelled_by_operator", metadata: &metadata };
            cancelled += move_steps(tx, task.id, &ids, mv).await?.len();
        }
        move_task(tx, task.id, Some(task.state), TaskState::Cancelled, "cancelled_by_operator", &metadata).await?;
        // A child cancelled on its own fails the step awaiting it.
        children::notify_parent(tx, task).await?;
        Ok(cancelled)
    })
}

/// Retries a task in `error`: its failed steps go back to `pending` with a fresh retry
/// budget (attempt numbers keep counting up), completed steps are kept, and the task
/// resumes from the failure point.
pub async fn retry(pool: &PgPool, task_uuid: Uuid, actor: &Actor) -> Result<Value, OrchestrationError> {
    let mut tx = pool.begin().await?;
    let mut task = lock_task(&mut tx, task_uuid).await?;
    if task.state != TaskState::Error {
        return Err(illegal(task.state, TaskState::InProgress).into());
    }
    let failed = step_ids_in(&mut tx, task.id, StepState::Error).await?;
    sqlx::query("UPDATE tasker_workflow_steps SET attempts_offset = attempts WHERE id = ANY($1)").bind(&failed).execute(&mut *tx).await?;
    let metadata = actor.note(json!({"reason": "operator retry"}));
    let mv = StepMove {
        from: StepState::Error,
        to: StepState::Pending,
        change: StepChange::None,
        reason: "retried_by_operator",
        metadata: &metadata,
    };
    let retried = move_steps(&mut tx, task.id, &failed, mv).await?;
    move_task(&mut tx, task.id, Some(TaskState::Error), TaskState::InProgress, "retried_by_operator", &actor.note(json!({}))).await?;
    task.state = TaskState::InProgress;
    let ready = ready_among(&mut tx, &failed).await?;
    let ready: Vec<(i64, &str)> = ready.iter().map(|(id, t)| (*id, t.as_str())).collect();
    let started = progress::start(&mut tx, &task, &ready, 0.0, Some(actor)).await?;
    let released = dispatch::release_children(&mut tx, &started.finished.ids, &started.finished.skipped).await?;
    let dispatched = started.dispatched + progress::advance(&mut tx, &task, released, Some(actor), None).await?;
    // A wait that ended while the task was in error (a signal sent, a timer due) is looked
    // at again now that the task runs.
    for step_uuid in waiting_steps(&mut tx, task.id).await? {
        waits::send_wake(&mut tx, task.uuid, step_uuid, "retry", 0.0).await?;
    }
    finalize_if_done(&mut tx, &task, Some(actor)).await?;
    tx.commit().await?;
    info!(component = "orchestration.operator", task_uuid = %task_uuid, retried = retried.len(), actor = actor.as_str(), "task retried");
    Ok(json!({"task_uuid": task_uuid, "state": "in_progress", "retried_steps": retried.len(), "dispatched": dispatched}))
}

/// Marks a step `resolved_manually` with `results`, which its dependents then receive as if
/// the step had completed. A task in error resumes when that unblocks work. A finished task
/// (complete, cancelled, resolved) is history: its steps are not rewritten.
pub async fn resolve_step(
    pool: &PgPool,
    task_uuid: Uuid,
    step_name: &str,
    results: &Value,
    actor: &Actor,
) -> Result<Value, OrchestrationError> {
    json_rules::check(results, "results").map_err(|problem| MessagingError::Malformed { kind: "resolve_step", problem })?;
    let mut tx = pool.begin().await?;
    let mut task = lock_task(&mut tx, task_uuid).await?;
    if task.state.is_final() {
        let why = format!("task {task_uuid} is {}: resolve_step applies to a task in progress or in error", task.state);
        return Err(StateError::Refused(why).into());
    }
    let row = sqlx::query("SELECT id, state, map_step_id, item_index FROM tasker_workflow_steps WHERE task_id = $1 AND name = $2 FOR UPDATE")
        .bind(task.id)
        .bind(step_name)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| OrchestrationError::NotFound(format!("task {task_uuid} has no step {step_name:?}")))?;
    let step_id: i64 = row.try_get("id")?;
    let from: StepState = row.try_get::<String, _>("state")?.parse()?;
    let metadata = actor.note(json!({"previous_state": from.as_str()}));
    let change = StepChange::Complete { results };
    let mv = StepMove { from, to: StepState::ResolvedManually, change, reason: "resolved_by_operator", metadata: &metadata };
    move_steps(&mut tx, task.id, &[step_id], mv).await?;
    let map_step_id: Option<i64> = row.try_get("map_step_id")?;
    let mut released = Vec::new();
    let mut dispatched = 0;
    if let (Some(map_id), false) = (map_step_id, from.is_final()) {
        // An item resolved by hand counts as finished for its map step.
        let item = maps::ItemFinished { map_id, index: row.try_get::<Option<i32>, _>("item_index")?.unwrap_or_default(), ok: true };
        let moved = maps::items_finished(&mut tx, &task, &[item]).await?;
        dispatched += moved.dispatched;
        let skipped = vec![false; moved.completed.len()];
        released = dispatch::release_children(&mut tx, &moved.completed, &skipped).await?;
    } else if map_step_id.is_none() && !from.satisfies_dependents() && from != StepState::Skipped {
        released = dispatch::release_children(&mut tx, &[step_id], &[false]).await?;
    }
    let failed_left = step_ids_in(&mut tx, task.id, StepState::Error).await?.len();
    if task.state == TaskState::Error && (!released.is_empty() || failed_left == 0) {
        let metadata = actor.note(json!({"step": step_name}));
        move_task(&mut tx, task.id, Some(TaskState::Error), TaskState::InProgress, "resumed_by_operator", &metadata).await?;
        task.state = TaskState::InProgress;
    }
    if task.state == TaskState::InProgress {
        dispatched += progress::advance(&mut tx, &task, released, Some(actor), None).await?;
    }
    let finished = finalize_if_done(&mut tx, &task, Some(actor)).await?;
    tx.commit().await?;
    info!(component = "orchestration.operator", task_uuid = %task_uuid, step = step_name, actor = actor.as_str(), "step resolved manually");
    let state = finished.unwrap_or(task.state);
    Ok(json!({"task_uuid": task_uuid, "step": step_name, "task_state": state.as_str(), "dispatched": dispatched}))
}

async fn lock_task(tx: &mut PgConnection, task_uuid: Uuid) -> Result<TaskRef, OrchestrationError> {
    let id: i64 = sqlx::query_scalar("SELECT id FROM tasker_tasks WHERE uuid = $1")
        .bind(task_uuid)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| OrchestrationError::NotFound(format!("task {task_uuid} not found")))?;
    TaskRef::lock(tx, id).await
}

async fn step_ids_in(tx: &mut PgConnection, task_id: i64, state: StepState) -> Result<Vec<i64>, OrchestrationError> {
    Ok(sqlx::query_scalar("SELECT id FROM tasker_workflow_steps WHERE task_id = $1 AND state = $2 ORDER BY id")
        .bind(task_id)
        .bind(state.as_str())
        .fetch_all(&mut *tx)
        .await?)
}

/// Of `ids`, those whose parents are all finished, with their types.
async fn ready_among(tx: &mut PgConnection, ids: &[i64]) -> Result<Vec<(i64, String)>, OrchestrationError> {
    Ok(sqlx::query_as("SELECT id, step_type FROM tasker_workflow_steps WHERE id = ANY($1) AND remaining_parents = 0 ORDER BY id")
        .bind(ids)
        .fetch_all(&mut *tx)
        .await?)
}

/// Steps of the template that wait (items of map steps are left to their map step).
async fn waiting_steps(tx: &mut PgConnection, task_id: i64) -> Result<Vec<Uuid>, OrchestrationError> {
    Ok(sqlx::query_scalar(
        "SELECT uuid FROM tasker_workflow_steps WHERE task_id = $1 AND state = 'waiting' AND map_step_id IS NULL ORDER BY id",
    )
    .bind(task_id)
    .fetch_all(&mut *tx)
    .await?)
}

fn illegal(from: TaskState, to: TaskState) -> StateError {
    StateError::Illegal { machine: "task", from: from.as_str().to_owned(), to: to.as_str().to_owned() }
}
