//! Map steps after a failure: an operator retry of a task whose map step failed re-runs
//! the items that failed or were cancelled (completed ones keep their results), and a map
//! step that kept waiting while its task was in error dispatches its held-back items again.

use serde_json::json;
use sqlx::{PgConnection, Row};

use super::maps::{complete, release_pending, Expanded, MapSettings};
use super::transitions::{move_steps, StepChange, StepMove};
use super::{OrchestrationError, TaskRef};
use crate::domain::states::StepState;

/// A waiting map step of a task that runs again (an operator retry): dispatches its pending
/// items within max_parallel (items released while the task was in error were held back).
pub async fn resume(tx: &mut PgConnection, task: &TaskRef, map_id: i64) -> Result<usize, OrchestrationError> {
    let row = sqlx::query(
        "SELECT m.name, m.settings, p.items_total, p.items_finished,
                (SELECT count(*) FROM tasker_workflow_steps i WHERE i.map_step_id = m.id AND i.map_pending)::int AS pending
           FROM tasker_workflow_steps m JOIN tasker_map_progress p ON p.step_id = m.id WHERE m.id = $1",
    )
    .bind(map_id)
    .fetch_one(&mut *tx)
    .await?;
    let map = MapSettings::from_row(&row)?;
    let (total, finished, pending): (i32, i32, i32) = (row.try_get("items_total")?, row.try_get("items_finished")?, row.try_get("pending")?);
    release_pending(tx, task, map_id, free_slots(&map, total, finished, pending)).await
}

/// An operator retry of a task whose map step failed: its failed and cancelled items go
/// back to pending (a fresh retry budget), completed items keep their results, and the map
/// step waits again, dispatching within max_parallel.
pub(super) async fn rearm(tx: &mut PgConnection, task: &TaskRef, map_id: i64, map: &MapSettings) -> Result<Expanded, OrchestrationError> {
    let note = json!({"map": map.name, "reason": "operator retry"});
    for from in [StepState::Error, StepState::Cancelled] {
        let ids: Vec<i64> = sqlx::query_scalar(
            "UPDATE tasker_workflow_steps SET attempts_offset = attempts WHERE map_step_id = $1 AND state = $2 RETURNING id",
        )
        .bind(map_id)
        .bind(from.as_str())
        .fetch_all(&mut *tx)
        .await?;
        let mv = StepMove { from, to: StepState::Pending, change: StepChange::None, reason: "retried_by_operator", metadata: &note };
        move_steps(tx, task.id, &ids, mv).await?;
    }
    let row = sqlx::query(
        "UPDATE tasker_map_progress p
            SET items_finished = c.done, items_failed = 0, updated_at = now()
           FROM (SELECT count(*) FILTER (WHERE state IN ('complete', 'resolved_manually'))::int AS done,
                        count(*) FILTER (WHERE state = 'pending')::int AS pending
                   FROM tasker_workflow_steps WHERE map_step_id = $1) c
          WHERE p.step_id = $1
         RETURNING p.items_total, c.done, c.pending",
    )
    .bind(map_id)
    .fetch_one(&mut *tx)
    .await?;
    let (total, done, pending): (i32, i32, i32) = (row.try_get("items_total")?, row.try_get("done")?, row.try_get("pending")?);
    let mv = StepMove { from: StepState::Pending, to: StepState::Waiting, change: StepChange::Wait { wake_in_s: None }, reason: "mapped", metadata: &note };
    move_steps(tx, task.id, &[map_id], mv).await?;
    if done == total {
        complete(tx, task, map_id, map.collect).await?;
        return Ok(Expanded { dispatched: 0, completed: true });
    }
    Ok(Expanded { dispatched: release_pending(tx, task, map_id, free_slots(map, total, done, pending)).await?, completed: false })
}

/// Items a map step may dispatch now: every pending one, or under max_parallel what the
/// items still running (neither finished nor pending) leave free.
fn free_slots(map: &MapSettings, total: i32, finished: i32, pending: i32) -> i64 {
    let running = i64::from(total - finished - pending);
    map.max_parallel.map_or(i64::from(pending), |p| p - running)
}
