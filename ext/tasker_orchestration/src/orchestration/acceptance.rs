//! Whether a result or a wake may change its step, judged against the step's locked row:
//! the result of the step's current attempt while it runs is applied once; anything else
//! changes nothing and is kept as a dead letter. Used by step_results for each message.

use std::collections::HashMap;

use serde_json::{json, Value};
use sqlx::types::Json;
use sqlx::{PgConnection, Row};
use uuid::Uuid;

use super::dead_letters::DeadLetter;
use super::maps::ItemFinished;
use super::transitions::{move_steps, Completion, StepChange, StepMove};
use super::{children, decisions, dispatch, waits, OrchestrationError, TaskRef};
use crate::domain::backoff::retry_delay;
use crate::domain::states::{StepState, TaskState};
use crate::messaging::messages::{ResultStatus, StepResult, Wake};

pub struct StepRow {
    pub id: i64,
    pub task_id: i64,
    pub task_uuid: Uuid,
    pub name: String,
    pub state: StepState,
    pub step_type: String,
    pub map_step_id: Option<i64>,
    pub item_index: Option<i32>,
    pub branches: Vec<String>,
    pub attempts: i32,
    pub attempts_offset: i32,
    pub max_attempts: i32,
    pub backoff_base_ms: i64,
    pub backoff_max_ms: i64,
}

/// The rows a batch works on, locked: tasks by id, steps by uuid.
pub struct Locked {
    pub tasks: HashMap<i64, TaskRef>,
    pub steps: HashMap<Uuid, StepRow>,
}

/// What the accepted messages of a batch leave to apply set-wise.
#[derive(Default)]
pub struct Accepted<'r> {
    /// Successes (in_progress -> complete), applied in one statement.
    pub completions: Vec<Completion<'r>>,
    /// Steps of the template that finished (task id, step id, skipped), to release their children.
    pub finished: Vec<(i64, i64, bool)>,
    /// Items of map steps that finished (task id, item).
    pub items: Vec<(i64, ItemFinished)>,
    /// Decisions made (task id, decision name, declared branches, chosen branches).
    pub decisions: Vec<(i64, String, Vec<String>, Vec<String>)>,
}

pub enum Verdict {
    Applied { task_id: i64, step_state: StepState },
    /// A wake that found nothing to do (archived: a trace, no dead letter).
    Unchanged { task_id: i64 },
    Ignored(DeadLetter),
}

/// Locks, in ONE statement, every task the batch's steps belong to and those steps: task
/// rows in id order, each followed by its steps. The lock order everywhere is a task, then
/// its steps; taking several tasks in id order means two batches never wait in a cycle.
pub async fn lock_rows(tx: &mut PgConnection, step_uuids: &[Uuid]) -> Result<Locked, OrchestrationError> {
    let mut locked = Locked { tasks: HashMap::new(), steps: HashMap::new() };
    if step_uuids.is_empty() {
        return Ok(locked);
    }
    let sql = format!(
        "SELECT {}, s.id AS step_id, s.uuid AS step_uuid, s.name AS step_name, s.state AS step_state, s.step_type, s.map_step_id,
                s.item_index, s.settings -> 'branches' AS branches, s.attempts, s.attempts_offset, s.max_attempts,
                s.backoff_base_ms, s.backoff_max_ms
           FROM tasker_workflow_steps s JOIN tasker_tasks t ON t.id = s.task_id {}
          WHERE s.uuid = ANY($1)
            -- The tasks by key too: a join alone let the generic plan scan every task.
            AND t.id = ANY (ARRAY(SELECT task_id FROM tasker_workflow_steps WHERE uuid = ANY($1)))
          ORDER BY t.id, s.id
            FOR UPDATE OF t, s",
        TaskRef::COLUMNS,
        TaskRef::JOINS
    );
    for row in sqlx::query(&sql).bind(step_uuids).fetch_all(&mut *tx).await? {
        let task = TaskRef::from_row(&row)?;
        let branches: Option<Json<Vec<String>>> = row.try_get("branches").ok().flatten();
        let step = StepRow {
            id: row.try_get("step_id")?,
            task_id: task.id,
            task_uuid: task.uuid,
            name: row.try_get("step_name")?,
            state: row.try_get::<String, _>("step_state")?.parse()?,
            step_type: row.try_get("step_type")?,
            map_step_id: row.try_get("map_step_id")?,
            item_index: row.try_get("item_index")?,
            branches: branches.map(|b| b.0).unwrap_or_default(),
            attempts: row.try_get("attempts")?,
            attempts_offset: row.try_get("attempts_offset")?,
            max_attempts: row.try_get("max_attempts")?,
            backoff_base_ms: row.try_get("backoff_base_ms")?,
            backoff_max_ms: row.try_get("backoff_max_ms")?,
        };
        locked.steps.insert(row.try_get("step_uuid")?, step);
        locked.tasks.entry(task.id).or_insert(task);
    }
    Ok(locked)
}

/// Checks a result against its locked step. A failure is applied at once (it may schedule
/// a retry), and so is an await_task (the child starts); a success joins `accepted`.
pub async fn result<'r>(
    tx: &mut PgConnection,
    result: &'r StepResult,
    locked: &mut Locked,
    accepted: &mut Accepted<'r>,
) -> Result<Verdict, OrchestrationError> {
    let ignored = |reason: String| Verdict::Ignored(DeadLetter::new("ignored_result", reason, Some(result.task_uuid)));
    let Some(step) = locked.steps.get_mut(&result.step_uuid).filter(|s| s.task_uuid == result.task_uuid) else {
        return Ok(ignored(format!("unknown step {} of task {}", result.step_uuid, result.task_uuid)));
    };
    if step.state != StepState::InProgress || step.attempts != result.attempt {
        return Ok(ignored(format!(
            "result for attempt {} of step {:?} ignored: the step is {} at attempt {}",
            result.attempt, result.step_name, step.state, step.attempts
        )));
    }
    let task = locked.tasks.get(&step.task_id).expect("a locked step's task is locked with it");
    let step_state = match result.status {
        ResultStatus::Success if step.step_type == "decision" => match decisions::chosen_branches(&step.name, &result.results, &step.branches) {
            Ok(chosen) => {
                accepted.decisions.push((task.id, step.name.clone(), step.branches.clone(), chosen));
                succeed(step, result, accepted)
            }
            Err(problem) => refuse(tx, task, step, "TaskerCore::DecisionError", &problem).await?,
        },
        ResultStatus::Success => succeed(step, result, accepted),
        ResultStatus::Failure => fail_step(tx, task, step, result).await?,
        ResultStatus::AwaitTask => {
            let child = result.await_task.as_ref().expect("validated: await_task names the child");
            children::start(tx, task, step.id, result.step_uuid, step.attempts, child).await?
        }
    };
    finished(step, step_state, accepted);
    // A second result for this step later in the batch must see the step as it is now.
    step.state = step_state;
    Ok(Verdict::Applied { task_id: step.task_id, step_state })
}

fn succeed<'r>(step: &StepRow, result: &'r StepResult, accepted: &mut Accepted<'r>) -> StepState {
    let metadata = json!({"worker_id": result.worker_id, "started_at": result.started_at, "finished_at": result.finished_at});
    accepted.completions.push(Completion { step_id: step.id, results: &result.results, metadata });
    StepState::Complete
}

/// Notes a step that reached `state`, when that finishes it for its dependents or its map.
fn finished(step: &StepRow, state: StepState, accepted: &mut Accepted<'_>) {
    match (step.map_step_id, state) {
        (Some(map_id), StepState::Complete | StepState::Error) => {
            let item = ItemFinished { map_id, index: step.item_index.unwrap_or_default(), ok: state == StepState::Complete };
            accepted.items.push((step.task_id, item));
        }
        (None, StepState::Complete | StepState::Skipped) => accepted.finished.push((step.task_id, step.id, state == StepState::Skipped)),
        _ => {}
    }
}

/// Checks a wake against its locked step and ends the step's wait when the database says
/// its time, signal or child has come.
pub async fn wake(tx: &mut PgConnection, wake: &Wake, locked: &mut Locked, accepted: &mut Accepted<'_>) -> Result<Verdict, OrchestrationError> {
    let Some(step) = locked.steps.get_mut(&wake.step_uuid).filter(|s| s.task_uuid == wake.task_uuid) else {
        let reason = format!("wake for unknown step {} of task {}", wake.step_uuid, wake.task_uuid);
        return Ok(Verdict::Ignored(DeadLetter::new("ignored_wake", reason, Some(wake.task_uuid))));
    };
    let task = locked.tasks.get(&step.task_id).expect("a locked step's task is locked with it");
    if task.state != TaskState::InProgress || step.state != StepState::Waiting {
        return Ok(Verdict::Unchanged { task_id: step.task_id });
    }
    let Some(state) = waits::check(tx, task, wake.step_uuid).await? else { return Ok(Verdict::Unchanged { task_id: step.task_id }) };
    finished(step, state, accepted);
    step.state = state;
    Ok(Verdict::Applied { task_id: step.task_id, step_state: state })
}

/// Fails a step for good with `message` (its handler's result cannot be applied).
async fn refuse(tx: &mut PgConnection, task: &TaskRef, step: &StepRow, class: &str, message: &str) -> Result<StepState, OrchestrationError> {
    let error: Value = json!({"class": class, "message": message, "retryable": false, "attempt": step.attempts});
    let metadata = json!({"class": class, "message": message});
    let mv = StepMove { from: StepState::InProgress, to: StepState::Error, change: StepChange::Fail { error: &error }, reason: "failed", metadata: &metadata };
    move_steps(tx, task.id, &[step.id], mv).await?;
    Ok(StepState::Error)
}

async fn fail_step(tx: &mut PgConnection, task: &TaskRef, step: &StepRow, result: &StepResult) -> Result<StepState, OrchestrationError> {
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
        return Ok(StepState::Error);
    }
    let delay = retry_delay(spent, step.backoff_base_ms, step.backoff_max_ms, error.retry_after);
    dispatch::schedule_retry(tx, task, step.id, delay.as_millis() as i64).await?;
    Ok(StepState::WaitingForRetry)
}
