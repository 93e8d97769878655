//! Map steps: when a map step is ready, one item step per element of its `over` step's
//! result is created in the same transaction (`name[i]`, each with its element and index),
//! up to `max_parallel` are dispatched, and each item that finishes releases the next
//! pending one (an index lookup). The map step waits meanwhile; it completes with its
//! items' results in index order when the last one finishes, or, under `fail_fast`, fails
//! when the first item fails for good and cancels the items not yet started. The task's
//! step counters count the map step; its items are counted in tasker_map_progress.

use std::collections::BTreeMap;

use serde_json::{json, Value};
use sqlx::{PgConnection, Row};
use uuid::Uuid;

use super::transitions::{move_steps, record_created_steps, StepChange, StepMove};
use super::{dispatch, map_retries, OrchestrationError, TaskRef};
use crate::domain::states::{StepState, TaskState};
use crate::domain::step_types::{FailurePolicy, DEFAULT_MAX_ITEMS};

/// What starting a map step did.
#[derive(Debug, Default)]
pub struct Expanded {
    pub dispatched: usize,
    /// An empty array: the map step completed at once with `[]`.
    pub completed: bool,
}

pub use super::map_retries::resume;

/// An item of a map step that finished: completed, or failed for good.
#[derive(Debug, Clone)]
pub struct ItemFinished {
    pub map_id: i64,
    pub index: i32,
    pub ok: bool,
}

/// What the items that finished did to their map steps.
#[derive(Debug, Default)]
pub struct MapsMoved {
    pub dispatched: usize,
    pub completed: Vec<i64>,
}

pub(super) struct MapSettings {
    pub(super) name: String,
    max_items: i64,
    pub(super) max_parallel: Option<i64>,
    pub(super) collect: bool,
}

impl MapSettings {
    pub(super) fn from_row(row: &sqlx::postgres::PgRow) -> Result<Self, OrchestrationError> {
        let settings: Value = row.try_get::<Option<sqlx::types::Json<Value>>, _>("settings")?.map(|j| j.0).unwrap_or_default();
        Ok(Self {
            name: row.try_get("name")?,
            max_items: settings["max_items"].as_i64().unwrap_or(DEFAULT_MAX_ITEMS as i64),
            max_parallel: settings["max_parallel"].as_i64(),
            collect: settings["failure_policy"] == json!(FailurePolicy::Collect),
        })
    }
}

/// Starts map step `map_id` (pending, its parents finished): creates its items, or fails it
/// with the reason when its `over` result cannot be mapped (nothing is created then).
pub async fn expand(tx: &mut PgConnection, task: &TaskRef, map_id: i64) -> Result<Expanded, OrchestrationError> {
    let row = sqlx::query(
        "SELECT m.name, m.settings, m.settings ->> 'over' AS over, o.state AS over_state, jsonb_typeof(o.results) AS kind,
                CASE WHEN jsonb_typeof(o.results) = 'array' THEN jsonb_array_length(o.results) END AS length,
                EXISTS (SELECT 1 FROM tasker_map_progress p WHERE p.step_id = m.id) AS expanded
           FROM tasker_workflow_steps m
           LEFT JOIN tasker_workflow_steps o ON o.task_id = m.task_id AND o.name = m.settings ->> 'over'
          WHERE m.id = $1",
    )
    .bind(map_id)
    .fetch_one(&mut *tx)
    .await?;
    let map = MapSettings::from_row(&row)?;
    if row.try_get::<bool, _>("expanded")? {
        return map_retries::rearm(tx, task, map_id, &map).await;
    }
    let over: String = row.try_get("over")?;
    let length: Option<i32> = row.try_get("length")?;
    let problem = match (row.try_get::<Option<String>, _>("over_state")?.as_deref(), row.try_get::<Option<String>, _>("kind")?, length) {
        (Some("skipped"), _, _) => Some(format!("map step {}: step {over} was skipped, so there is no result to map over", map.name)),
        (_, _, Some(n)) if i64::from(n) > map.max_items => Some(format!(
            "map step {}: the result of {over} has {n} elements, more than max_items {}; no item was created",
            map.name, map.max_items
        )),
        (_, _, Some(_)) => None,
        (_, kind, None) => Some(format!(
            "map step {}: the result of {over} must be an Array to map over, got {}",
            map.name,
            kind.unwrap_or_else(|| "nothing".into())
        )),
    };
    if let Some(problem) = problem {
        refuse(tx, task, map_id, &problem).await?;
        return Ok(Expanded::default());
    }
    let length = length.expect("checked above") as usize;
    let items = create_items(tx, map_id, length).await?;
    sqlx::query("INSERT INTO tasker_map_progress (step_id, items_total) VALUES ($1, $2)")
        .bind(map_id)
        .bind(length as i32)
        .execute(&mut *tx)
        .await?;
    let note = json!({"items": length, "max_parallel": map.max_parallel});
    let mv = StepMove { from: StepState::Pending, to: StepState::Waiting, change: StepChange::Wait { wake_in_s: None }, reason: "mapped", metadata: &note };
    move_steps(tx, task.id, &[map_id], mv).await?;
    if length == 0 {
        complete(tx, task, map_id, map.collect).await?;
        return Ok(Expanded { dispatched: 0, completed: true });
    }
    let first = &items[..map.max_parallel.map_or(length, |p| (p as usize).min(length))];
    Ok(Expanded { dispatched: dispatch::enqueue_ready(tx, task, first, None).await?, completed: false })
}

/// Inserts the items of `map_id`, one per element of its over step's result, in ONE
/// statement (the elements never leave the database). Returns their ids in index order.
async fn create_items(tx: &mut PgConnection, map_id: i64, length: usize) -> Result<Vec<i64>, OrchestrationError> {
    let uuids: Vec<Uuid> = (0..length).map(|_| Uuid::now_v7()).collect();
    let rows = sqlx::query(
        "INSERT INTO tasker_workflow_steps
            (task_id, uuid, named_step_id, name, handler, max_attempts, backoff_base_ms, backoff_max_ms, remaining_parents,
             step_type, map_step_id, item_index, item)
         SELECT m.task_id, u.uuid, m.named_step_id, m.name || '[' || (e.n - 1) || ']', m.handler, m.max_attempts,
                m.backoff_base_ms, m.backoff_max_ms, 0, 'map_item', m.id, e.n - 1, e.item
           FROM tasker_workflow_steps m
           JOIN tasker_workflow_steps o ON o.task_id = m.task_id AND o.name = m.settings ->> 'over'
          CROSS JOIN LATERAL jsonb_array_elements(o.results) WITH ORDINALITY AS e(item, n)
           JOIN unnest($2::uuid[]) WITH ORDINALITY AS u(uuid, n) ON u.n = e.n
          WHERE m.id = $1
         RETURNING id, item_index",
    )
    .bind(map_id)
    .bind(&uuids)
    .fetch_all(&mut *tx)
    .await?;
    let mut items: Vec<(i32, i64)> = rows.iter().map(|r| Ok((r.try_get("item_index")?, r.try_get("id")?))).collect::<Result<_, sqlx::Error>>()?;
    items.sort_unstable();
    let ids: Vec<i64> = items.into_iter().map(|(_, id)| id).collect();
    record_created_steps(tx, &ids).await?;
    Ok(ids)
}

/// Fails a map step that cannot start, for good.
async fn refuse(tx: &mut PgConnection, task: &TaskRef, map_id: i64, problem: &str) -> Result<(), OrchestrationError> {
    let error = json!({"class": "TaskerCore::MapError", "message": problem, "retryable": false, "attempt": 0});
    let note = json!({"message": problem});
    let mv = StepMove { from: StepState::Pending, to: StepState::Error, change: StepChange::Fail { error: &error }, reason: "map_refused", metadata: &note };
    move_steps(tx, task.id, &[map_id], mv).await?;
    Ok(())
}

/// Completes a waiting map step with its items' results in index order (`collect`: each
/// item's outcome).
pub(super) async fn complete(tx: &mut PgConnection, task: &TaskRef, map_id: i64, collect: bool) -> Result<(), OrchestrationError> {
    let note = json!({});
    let mv = StepMove { from: StepState::Waiting, to: StepState::Complete, change: StepChange::MapResults { collect }, reason: "items_finished", metadata: &note };
    move_steps(tx, task.id, &[map_id], mv).await?;
    Ok(())
}

/// Counts items that finished (of maps of one task), releases the next pending items, and
/// completes or fails their map steps. One progress update for all of them.
pub async fn items_finished(tx: &mut PgConnection, task: &TaskRef, finished: &[ItemFinished]) -> Result<MapsMoved, OrchestrationError> {
    let mut moved = MapsMoved::default();
    if finished.is_empty() {
        return Ok(moved);
    }
    // map id -> (items finished, items failed, first failed index)
    let mut per_map: BTreeMap<i64, (i32, i32, Option<i32>)> = BTreeMap::new();
    for item in finished {
        let entry = per_map.entry(item.map_id).or_default();
        entry.0 += 1;
        if !item.ok {
            entry.1 += 1;
            entry.2 = Some(entry.2.map_or(item.index, |i| i.min(item.index)));
        }
    }
    let map_ids: Vec<i64> = per_map.keys().copied().collect();
    let counts: Vec<i32> = per_map.values().map(|v| v.0).collect();
    let failures: Vec<i32> = per_map.values().map(|v| v.1).collect();
    let rows = sqlx::query(
        "WITH progressed AS (
            UPDATE tasker_map_progress p
               SET items_finished = p.items_finished + f.n, items_failed = p.items_failed + f.failed, updated_at = now()
              FROM unnest($1::bigint[], $2::int[], $3::int[]) AS f(step_id, n, failed)
             WHERE p.step_id = ANY ($1) AND p.step_id = f.step_id
            RETURNING p.step_id, p.items_total, p.items_finished)
         SELECT m.id, m.name, m.state, m.settings, g.items_total, g.items_finished
           FROM progressed g JOIN tasker_workflow_steps m ON m.id = g.step_id AND m.id = ANY ($1)",
    )
    .bind(&map_ids)
    .bind(&counts)
    .bind(&failures)
    .fetch_all(&mut *tx)
    .await?;
    for row in rows {
        let map_id: i64 = row.try_get("id")?;
        if row.try_get::<String, _>("state")? != StepState::Waiting.as_str() {
            continue; // failed already (fail_fast): late items are recorded, nothing more
        }
        let map = MapSettings::from_row(&row)?;
        let (n, _, first_failed) = per_map[&map_id];
        if let (false, Some(index)) = (map.collect, first_failed) {
            fail_fast(tx, task, map_id, &map.name, index).await?;
        } else if row.try_get::<i32, _>("items_finished")? == row.try_get::<i32, _>("items_total")? {
            complete(tx, task, map_id, map.collect).await?;
            moved.completed.push(map_id);
        } else if map.max_parallel.is_some() && task.state == TaskState::InProgress {
            // A task in error dispatches nothing; an operator retry resumes the map (resume).
            moved.dispatched += release_pending(tx, task, map_id, i64::from(n)).await?;
        }
    }
    Ok(moved)
}

/// Dispatches up to `slots` pending items of a map step, lowest index first (`map_pending`,
/// migration 18: `state` is in no index).
pub(super) async fn release_pending(tx: &mut PgConnection, task: &TaskRef, map_id: i64, slots: i64) -> Result<usize, OrchestrationError> {
    if slots <= 0 {
        return Ok(0);
    }
    let ids: Vec<i64> = sqlx::query_scalar(
        "SELECT id FROM tasker_workflow_steps WHERE map_step_id = $1 AND map_pending ORDER BY item_index LIMIT $2",
    )
    .bind(map_id)
    .bind(slots)
    .fetch_all(&mut *tx)
    .await?;
    dispatch::enqueue_ready(tx, task, &ids, None).await
}

/// The first item failed for good: the map step fails, and its items not yet started are
/// cancelled (items already running finish and are recorded).
async fn fail_fast(tx: &mut PgConnection, task: &TaskRef, map_id: i64, name: &str, index: i32) -> Result<(), OrchestrationError> {
    let message = format!("item {index} of map step {name} failed for good (failure_policy fail_fast); see step {name}[{index}]");
    let error = json!({"class": "TaskerCore::MapItemFailed", "message": message, "retryable": false, "attempt": 0});
    let note = json!({"item": index});
    let mv = StepMove { from: StepState::Waiting, to: StepState::Error, change: StepChange::Fail { error: &error }, reason: "item_failed", metadata: &note };
    move_steps(tx, task.id, &[map_id], mv).await?;
    let note = json!({"map": name, "failed_item": index});
    for from in [StepState::Pending, StepState::Enqueued] {
        let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM tasker_workflow_steps WHERE map_step_id = $1 AND state = $2")
            .bind(map_id)
            .bind(from.as_str())
            .fetch_all(&mut *tx)
            .await?;
        let mv = StepMove { from, to: StepState::Cancelled, change: StepChange::None, reason: "map_failed", metadata: &note };
        move_steps(tx, task.id, &ids, mv).await?;
    }
    Ok(())
}
