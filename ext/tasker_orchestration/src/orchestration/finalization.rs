//! Decides whether a running task is finished, under the task's row lock.

use std::collections::HashMap;

use serde_json::json;
use sqlx::{PgConnection, Row};

use super::transitions::{move_tasks, TaskMove};
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
    let mut finished = finalize_many(tx, &[task], actor).await?;
    Ok(finished.remove(&task.id))
}

/// `finalize_if_done` for many tasks (all locked by the caller): their counters are read in
/// one statement; only the tasks that finish are moved. Returns their new states.
pub async fn finalize_many(
    tx: &mut PgConnection,
    tasks: &[&TaskRef],
    actor: Option<&Actor>,
) -> Result<HashMap<i64, TaskState>, OrchestrationError> {
    let running: Vec<i64> = tasks.iter().filter(|t| t.state == TaskState::InProgress).map(|t| t.id).collect();
    let mut finished = HashMap::new();
    if running.is_empty() {
        return Ok(finished);
    }
    let counts = count_steps(tx, &running).await?;
    let mut moves = Vec::new();
    for task in tasks {
        let Some(counts) = counts.get(&task.id) else { continue };
        let (to, reason) = if counts.done == counts.total {
            (TaskState::Complete, "all_steps_complete")
        } else if counts.active == 0 && counts.failed > 0 {
            (TaskState::Error, "step_failed")
        } else {
            continue;
        };
        let metadata = actor::noted(actor, json!({"steps": counts.total, "done": counts.done, "failed": counts.failed}));
        moves.push(TaskMove { task_id: task.id, to, reason, metadata });
    }
    // Every finishing task moves in one statement; a child task then wakes its parent step.
    let moved = move_tasks(tx, Some(TaskState::InProgress), &moves).await?;
    for task in tasks {
        let Some(done) = moves.iter().find(|m| m.task_id == task.id && moved.contains(&m.task_id)) else { continue };
        children::notify_parent(tx, task).await?;
        finished.insert(task.id, done.to);
    }
    Ok(finished)
}

async fn count_steps(tx: &mut PgConnection, task_ids: &[i64]) -> Result<HashMap<i64, StepCounts>, OrchestrationError> {
    // O(1) per task: the counters are kept by every step transition (transitions::move_steps).
    let rows = sqlx::query("SELECT id, steps_total, steps_done, steps_active, steps_failed FROM tasker_tasks WHERE id = ANY($1)")
        .bind(task_ids)
        .fetch_all(&mut *tx)
        .await?;
    rows.iter()
        .map(|row| {
            let counts = StepCounts {
                total: row.try_get("steps_total")?,
                done: row.try_get("steps_done")?,
                active: row.try_get("steps_active")?,
                failed: row.try_get("steps_failed")?,
            };
            Ok((row.try_get("id")?, counts))
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(Into::into)
}
