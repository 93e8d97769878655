//! Writes state changes. Each function checks the move against `domain::states`, applies
//! it as a compare-and-swap on the current state, and appends it to the transitions table
//! in the same statement. A row that is no longer in `from` is left alone and not returned.
//! Rows are found by key (`id = ANY (...)`) even beside a join with the input arrays: a
//! prepared statement runs one generic plan, and a join alone let that plan scan the table.

use serde_json::Value;
use sqlx::types::Json;
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};
use uuid::Uuid;

use super::OrchestrationError;
use crate::domain::states::{StepState, TaskState};

/// What else changes on the step row with its state.
pub enum StepChange<'a> {
    None,
    /// A new attempt is dispatched: `attempts + 1`.
    Dispatch,
    Complete {
        results: &'a Value,
    },
    Fail {
        error: &'a Value,
    },
    /// A retry is scheduled `delay_ms` from now: `attempts + 1`, `next_attempt_at`.
    ScheduleRetry {
        delay_ms: i64,
    },
    /// A map step completes with its items' results in index order; `collect`: each item's
    /// outcome, `{"status": "complete", "result": ...}` or `{"status": "error", "error": ...}`.
    MapResults {
        collect: bool,
    },
    /// The step starts waiting; its wait ends by `wake_in_s` from now when given (`wake_at`).
    Wait {
        wake_in_s: Option<f64>,
    },
    /// The step starts waiting until `at` (a JSON string holding an RFC 3339 time), or now
    /// when that has passed.
    WaitUntil {
        at: &'a Value,
    },
}

#[derive(Debug, Clone)]
pub struct MovedStep {
    pub id: i64,
    pub task_id: i64,
    pub uuid: Uuid,
    pub name: String,
    pub handler: String,
    pub attempts: i32,
}

impl MovedStep {
    /// A moved step from a row holding its id, task_id, uuid, name, handler and attempts.
    pub(super) fn from_row(r: &PgRow) -> Result<Self, sqlx::Error> {
        Ok(MovedStep {
            id: r.try_get("id")?,
            task_id: r.try_get("task_id")?,
            uuid: r.try_get("uuid")?,
            name: r.try_get("name")?,
            handler: r.try_get("handler")?,
            attempts: r.try_get("attempts")?,
        })
    }
}

/// One state change for a set of steps of one task.
pub struct StepMove<'a> {
    pub from: StepState,
    pub to: StepState,
    pub change: StepChange<'a>,
    pub reason: &'a str,
    pub metadata: &'a Value,
}

/// Moves steps of `task_id` (compare-and-swap on `from`), records each move, and keeps the
/// task's step counters in step, all in one statement. Returns the steps moved.
pub async fn move_steps(
    tx: &mut PgConnection,
    task_id: i64,
    step_ids: &[i64],
    mv: StepMove<'_>,
) -> Result<Vec<MovedStep>, OrchestrationError> {
    move_steps_of(tx, Some(task_id), step_ids, mv).await
}

/// `move_steps` for steps of any tasks (all locked by the caller): each task's counters
/// are updated once, however many of its steps move.
pub async fn move_steps_of_tasks(tx: &mut PgConnection, step_ids: &[i64], mv: StepMove<'_>) -> Result<Vec<MovedStep>, OrchestrationError> {
    move_steps_of(tx, None, step_ids, mv).await
}

async fn move_steps_of(
    tx: &mut PgConnection,
    task_id: Option<i64>,
    step_ids: &[i64],
    mv: StepMove<'_>,
) -> Result<Vec<MovedStep>, OrchestrationError> {
    mv.from.check(mv.to)?;
    if step_ids.is_empty() {
        return Ok(Vec::new());
    }
    // $6 carries a JSON value (results or error), $7 a delay in seconds.
    let (set_clause, json, delay_s): (&str, Option<&Value>, Option<f64>) = match mv.change {
        StepChange::None => ("", None, None),
        StepChange::Dispatch => (", attempts = attempts + 1, next_attempt_at = NULL", None, None),
        StepChange::Complete { results } => (", results = $6, completed_at = now()", Some(results), None),
        StepChange::Fail { error } => (", last_error = $6", Some(error), None),
        StepChange::ScheduleRetry { delay_ms } => {
            (", attempts = attempts + 1, next_attempt_at = now() + make_interval(secs => $7)", None, Some(delay_ms as f64 / 1000.0))
        }
        StepChange::MapResults { collect: false } => (", results = (SELECT COALESCE(jsonb_agg(i.results ORDER BY i.item_index), '[]'::jsonb)
                  FROM tasker_workflow_steps i WHERE i.map_step_id = tasker_workflow_steps.id), completed_at = now()", None, None),
        StepChange::MapResults { collect: true } => (", results = (SELECT COALESCE(jsonb_agg(CASE WHEN i.state IN ('complete', 'resolved_manually')
                  THEN jsonb_build_object('status', 'complete', 'result', i.results)
                  ELSE jsonb_build_object('status', i.state, 'error', i.last_error) END ORDER BY i.item_index), '[]'::jsonb)
                  FROM tasker_workflow_steps i WHERE i.map_step_id = tasker_workflow_steps.id), completed_at = now()", None, None),
        StepChange::Wait { wake_in_s: None } => (", wake_at = NULL", None, None),
        StepChange::Wait { wake_in_s } => (", wake_at = now() + make_interval(secs => $7)", None, wake_in_s),
        StepChange::WaitUntil { at } => (", wake_at = greatest(now(), ($6 #>> '{}')::timestamptz)", Some(at), None),
    };
    // The task's counters count the steps of its template: a map step's items count in
    // its own progress row instead (see maps).
    let counters = counter_update(mv.from, mv.to, "m.n");
    let sql = format!(
        "WITH moved AS (
            UPDATE tasker_workflow_steps SET state = $3, updated_at = now(){set_clause}
             WHERE id = ANY($1) AND state = $2 AND ($8::bigint IS NULL OR task_id = $8)
            RETURNING id, task_id, uuid, name, handler, attempts, map_step_id),
         recorded AS (
            INSERT INTO tasker_step_transitions (step_id, from_state, to_state, attempt, reason, metadata)
            SELECT id, $2, $3, attempts, $4, $5 FROM moved ORDER BY id),
         counted AS (
            UPDATE tasker_tasks t SET updated_at = now(){counters}
              FROM (SELECT task_id, count(*) FILTER (WHERE map_step_id IS NULL) AS n FROM moved GROUP BY task_id) m
             WHERE t.id = ANY (ARRAY(SELECT task_id FROM moved)) AND t.id = m.task_id)
         SELECT id, task_id, uuid, name, handler, attempts FROM moved ORDER BY id"
    );
    let rows = sqlx::query(&sql)
        .bind(step_ids)
        .bind(mv.from.as_str())
        .bind(mv.to.as_str())
        .bind(mv.reason)
        .bind(Json(mv.metadata))
        .bind(json.map(Json))
        .bind(delay_s)
        .bind(task_id)
        .fetch_all(&mut *tx)
        .await?;
    rows.iter().map(MovedStep::from_row).collect::<Result<_, sqlx::Error>>().map_err(Into::into)
}

/// The task counter a step in `state` counts toward (pending and cancelled count in none).
/// The view tasker_counter_drift (migration 13) states the same mapping in SQL.
fn counter_of(state: StepState) -> Option<&'static str> {
    match state {
        StepState::Complete | StepState::ResolvedManually | StepState::Skipped => Some("steps_done"),
        StepState::Error => Some("steps_failed"),
        StepState::Enqueued | StepState::InProgress | StepState::WaitingForRetry | StepState::Waiting => Some("steps_active"),
        StepState::Pending | StepState::Cancelled => None,
    }
}

/// `, steps_x = steps_x - n, steps_y = steps_y + n` where n is `amount` (the rows moved).
pub(super) fn counter_update(from: StepState, to: StepState, amount: &str) -> String {
    let (from, to) = (counter_of(from), counter_of(to));
    if from == to {
        return String::new();
    }
    let mut sql = String::new();
    for (column, sign) in [(from, '-'), (to, '+')] {
        if let Some(column) = column {
            sql.push_str(&format!(", {column} = {column} {sign} {amount}"));
        }
    }
    sql
}

/// A step completed with its results (see `complete_steps`).
pub struct Completion<'a> {
    pub step_id: i64,
    pub results: &'a Value,
    pub metadata: Value,
}

/// Moves steps of any tasks `in_progress -> complete` with their results, records each move
/// and keeps each task's counters, all in ONE statement (each task row updated once).
/// Returns how many moved.
pub async fn complete_steps(tx: &mut PgConnection, completions: &[Completion<'_>]) -> Result<u64, OrchestrationError> {
    complete_steps_from(tx, StepState::InProgress, completions).await
}

/// `complete_steps` for steps in `from` (in_progress, or waiting: a map step, a signal, a
/// timer, a child task).
pub async fn complete_steps_from(
    tx: &mut PgConnection,
    from: StepState,
    completions: &[Completion<'_>],
) -> Result<u64, OrchestrationError> {
    let to = StepState::Complete;
    from.check(to)?;
    if completions.is_empty() {
        return Ok(0);
    }
    let ids: Vec<i64> = completions.iter().map(|c| c.step_id).collect();
    let results: Vec<Json<&Value>> = completions.iter().map(|c| Json(c.results)).collect();
    let metadata: Vec<Json<&Value>> = completions.iter().map(|c| Json(&c.metadata)).collect();
    let counters = counter_update(from, to, "m.n");
    let sql = format!(
        "WITH input AS (SELECT * FROM unnest($1::bigint[], $2::jsonb[], $3::jsonb[]) AS i(id, results, metadata)),
         moved AS (
            UPDATE tasker_workflow_steps s SET state = $5, updated_at = now(), results = i.results, completed_at = now()
              FROM input i WHERE s.id = ANY ($1) AND s.id = i.id AND s.state = $4
            RETURNING s.id, s.task_id, s.attempts, s.map_step_id, i.metadata),
         recorded AS (
            INSERT INTO tasker_step_transitions (step_id, from_state, to_state, attempt, reason, metadata)
            SELECT id, $4, $5, attempts, 'succeeded', metadata FROM moved),
         counted AS (
            UPDATE tasker_tasks t SET updated_at = now(){counters}
              FROM (SELECT task_id, count(*) FILTER (WHERE map_step_id IS NULL) AS n FROM moved GROUP BY task_id) m
             WHERE t.id = ANY (ARRAY(SELECT task_id FROM moved)) AND t.id = m.task_id)
         SELECT count(*) FROM moved"
    );
    let moved: i64 = sqlx::query_scalar(&sql)
        .bind(&ids)
        .bind(&results)
        .bind(&metadata)
        .bind(from.as_str())
        .bind(to.as_str())
        .fetch_one(&mut *tx)
        .await?;
    Ok(moved as u64)
}

/// Records the creation of steps (no previous state).
pub async fn record_created_steps(tx: &mut PgConnection, step_ids: &[i64]) -> Result<(), OrchestrationError> {
    sqlx::query(
        "INSERT INTO tasker_step_transitions (step_id, from_state, to_state, attempt, reason)
         SELECT id, NULL, 'pending', 0, 'created' FROM UNNEST($1::bigint[]) AS id",
    )
    .bind(step_ids)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Records tasks just inserted (in `pending`) as created and started in ONE statement:
/// each task's two transitions (`-> pending` "created" with its `created[i]` metadata,
/// `pending -> in_progress` "started") are appended in order and its row moves once.
/// Returns how many moved (a task not pending is left alone).
pub async fn record_tasks_created_and_started(tx: &mut PgConnection, task_ids: &[i64], created: &[Value]) -> Result<u64, OrchestrationError> {
    TaskState::Pending.check(TaskState::InProgress)?;
    let created: Vec<Json<&Value>> = created.iter().map(Json).collect();
    let moved: i64 = sqlx::query_scalar(
        "WITH moved AS (
            UPDATE tasker_tasks t SET state = 'in_progress', updated_at = now()
              FROM unnest($1::bigint[], $2::jsonb[]) AS i(id, created)
             WHERE t.id = ANY ($1) AND t.id = i.id AND t.state = 'pending'
            RETURNING t.id, i.created),
         recorded AS (
            INSERT INTO tasker_task_transitions (task_id, from_state, to_state, reason, metadata)
            SELECT m.id, e.from_state, e.to_state, e.reason, CASE e.n WHEN 1 THEN m.created ELSE '{}'::jsonb END
              FROM moved m CROSS JOIN (VALUES (1, NULL, 'pending', 'created'), (2, 'pending', 'in_progress', 'started'))
                   AS e(n, from_state, to_state, reason)
             ORDER BY m.id, e.n)
         SELECT count(*) FROM moved",
    )
    .bind(task_ids)
    .bind(&created)
    .fetch_one(&mut *tx)
    .await?;
    Ok(moved as u64)
}

/// Moves a task `from -> to`; returns false when the task was not in `from`.
pub async fn move_task(
    tx: &mut PgConnection,
    task_id: i64,
    from: Option<TaskState>,
    to: TaskState,
    reason: &str,
    metadata: &Value,
) -> Result<bool, OrchestrationError> {
    let moved = move_tasks(tx, from, &[TaskMove { task_id, to, reason, metadata: metadata.clone() }]).await?;
    Ok(!moved.is_empty())
}

/// One task's move (see `move_tasks`).
pub struct TaskMove<'a> {
    pub task_id: i64,
    pub to: TaskState,
    pub reason: &'a str,
    pub metadata: Value,
}

/// Moves tasks `from -> each its own state` (compare-and-swap on `from` when given) and
/// records each move, all in ONE statement. Returns the ids of the tasks moved.
pub async fn move_tasks(tx: &mut PgConnection, from: Option<TaskState>, moves: &[TaskMove<'_>]) -> Result<Vec<i64>, OrchestrationError> {
    if let Some(from) = from {
        moves.iter().try_for_each(|m| from.check(m.to))?;
    }
    if moves.is_empty() {
        return Ok(Vec::new());
    }
    let moved = sqlx::query_scalar(
        "WITH moved AS (
            UPDATE tasker_tasks t SET state = i.to_state, updated_at = now(),
                   completed_at = CASE WHEN i.completes THEN now() ELSE t.completed_at END
              FROM unnest($2::bigint[], $3::text[], $4::text[], $5::jsonb[], $6::bool[]) AS i(id, to_state, reason, metadata, completes)
             WHERE t.id = ANY ($2) AND t.id = i.id AND ($1::text IS NULL OR t.state = $1)
            RETURNING t.id, i.to_state, i.reason, i.metadata),
         recorded AS (
            INSERT INTO tasker_task_transitions (task_id, from_state, to_state, reason, metadata)
            SELECT id, $1, to_state, reason, metadata FROM moved ORDER BY id)
         SELECT id FROM moved ORDER BY id",
    )
    .bind(from.map(TaskState::as_str))
    .bind(moves.iter().map(|m| m.task_id).collect::<Vec<i64>>())
    .bind(moves.iter().map(|m| m.to.as_str()).collect::<Vec<&str>>())
    .bind(moves.iter().map(|m| m.reason).collect::<Vec<&str>>())
    .bind(moves.iter().map(|m| Json(&m.metadata)).collect::<Vec<_>>())
    .bind(moves.iter().map(|m| m.to.is_final() || m.to == TaskState::Error).collect::<Vec<bool>>())
    .fetch_all(&mut *tx)
    .await?;
    Ok(moved)
}
