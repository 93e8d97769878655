//! Decides whether a running task is finished, under the task's row lock.

use serde_json::json;
use sqlx::{PgConnection, Row};

use super::transitions::move_task;
use super::{OrchestrationError, TaskRef};
use crate::domain::states::TaskState;

#[derive(Debug, Default, Clone, Copy)]
struct StepCounts {
    total: i64,
    done: i64,
    active: i64,
    failed: i64,
}

/// Completes the task when every step is complete (or resolved), and ends it in `error`
/// when a step failed for good and nothing else can still run. Returns the new state.
pub async fn finalize_if_done(tx: &mut PgConnection, task: &TaskRef) -> Result<Option<TaskState>, OrchestrationError> {
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
    let metadata = json!({"steps": counts.total, "done": counts.done, "failed": counts.failed});
    move_task(tx, task.id, Some(TaskState::InProgress), to, reason, &metadata).await?;
    Ok(Some(to))
}

async fn count_steps(tx: &mut PgConnection, task_id: i64) -> Result<StepCounts, OrchestrationError> {
    let row = sqlx::query(
        "SELECT count(*) AS total,
                count(*) FILTER (WHERE state IN ('complete', 'resolved_manually')) AS done,
                count(*) FILTER (WHERE state IN ('enqueued', 'in_progress', 'waiting_for_retry')) AS active,
                count(*) FILTER (WHERE state = 'error') AS failed
           FROM tasker_workflow_steps WHERE task_id = $1",
    )
    .bind(task_id)
    .fetch_one(&mut *tx)
    .await?;
    Ok(StepCounts {
        total: row.try_get("total")?,
        done: row.try_get("done")?,
        active: row.try_get("active")?,
        failed: row.try_get("failed")?,
    })
}
