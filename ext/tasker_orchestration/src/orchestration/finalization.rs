//! Decides whether a running task is finished, under the task's row lock.

use serde_json::json;
use sqlx::{PgConnection, Row};

use super::transitions::move_task;
use super::{children, OrchestrationError, TaskRef};
use crate::domain::actor::{self, Actor};
use crate::domain::states::TaskState;

#[derive(Debug, Default, Clone, Copy)]
struct StepCounts {
    total: i32,
    done: i32,
    active: i32,
    failed: i32,
}

/// Completes the task when every step is complete (or resolved), and ends it in `error`
/// when a step failed for good and nothing else can still run. Returns the new state.
/// `actor`: the operator whose action finishes the task, noted on the transition.
pub async fn finalize_if_done(
    tx: &mut PgConnection,
    task: &TaskRef,
    actor: Option<&Actor>,
) -> Result<Option<TaskState>, OrchestrationError> {
    if task.state != TaskState::InProgress {
        return Ok(None);
    }
    let counts = count_steps(tx, task.id).await?;
    let outcome = if counts.done == counts.total {
        Some((TaskState::Complete, "all_steps_complete"))
    } else if counts.active == 0 && counts.failed > 0 {
        Some((TaskState::Error, "step_failed"))
    } else {
        None
    };
    let Some((to, reason)) = outcome else { return Ok(None) };
    let metadata = actor::noted(actor, json!({"steps": counts.total, "done": counts.done, "failed": counts.failed}));
    move_task(tx, task.id, Some(TaskState::InProgress), to, reason, &metadata).await?;
    children::notify_parent(tx, task).await?;
    Ok(Some(to))
}

async fn count_steps(tx: &mut PgConnection, task_id: i64) -> Result<StepCounts, OrchestrationError> {
    // O(1): the counters are kept by every step transition (transitions::move_steps).
    let row = sqlx::query("SELECT steps_total, steps_done, steps_active, steps_failed FROM tasker_tasks WHERE id = $1")
        .bind(task_id)
        .fetch_one(&mut *tx)
        .await?;
    Ok(StepCounts {
        total: row.try_get("steps_total")?,
        done: row.try_get("steps_done")?,
        active: row.try_get("steps_active")?,
        failed: row.try_get("steps_failed")?,
    })
}
