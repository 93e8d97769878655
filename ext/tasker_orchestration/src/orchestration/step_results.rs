//! Applies StepResults in batches: in ONE transaction per batch, under the row locks of the
//! tasks concerned, move each step and store its results or error (or schedule a retry),
//! dispatch the children that became ready, finalize the tasks, and delete the result
//! messages. Completions are applied set-wise: each task row and each child row is updated
//! once per batch, however many of its results or parents the batch holds. A result for
//! another attempt, or for a step that is not running, changes nothing and is kept as a
//! dead letter.

use std::collections::HashMap;

use serde_json::{json, Value};
use sqlx::{PgConnection, PgPool, Row};
use tracing::info;
use uuid::Uuid;

use super::dead_letters::{self, DeadLetter};
use super::finalization::finalize_if_done;
use super::transitions::{self, move_steps, Completion, StepChange, StepMove};
use super::{dispatch, OrchestrationError, TaskRef};
use crate::domain::backoff::retry_delay;
use crate::domain::states::{StepState, TaskState};
use crate::messaging::messages::{ResultStatus, StepResult};
use crate::messaging::queues::{self, QueueMessage, QueueName};

/// `task_state` and `dispatched` (steps sent for the task) are reported on the task's last
/// result in the batch; its other results carry None and 0.
#[derive(Debug, Clone, PartialEq)]
pub enum ResultOutcome {
    Applied { step_state: StepState, task_state: Option<TaskState>, dispatched: usize },
    SetAside { kind: &'static str, reason: String },
}

struct StepRow {
    id: i64,
    task_id: i64,
    task_uuid: Uuid,
    state: StepState,
    attempts: i32,
    attempts_offset: i32,
    max_attempts: i32,
    backoff_base_ms: i64,
    backoff_max_ms: i64,
}

/// The rows a batch works on, locked: tasks by id, steps by uuid.
struct Locked {
    tasks: HashMap<i64, TaskRef>,
    steps: HashMap<Uuid, StepRow>,
}

/// Applies one result in its own transaction.
pub async fn handle(
    pool: &PgPool,
    queue: &QueueName,
    message: &QueueMessage,
    payload_limit: usize,
) -> Result<ResultOutcome, OrchestrationError> {
    let mut outcomes = handle_batch(pool, queue, std::slice::from_ref(message), payload_limit).await?;
    Ok(outcomes.remove(0))
}

/// Applies `messages` in ONE transaction and returns an outcome per message, in order. Any
/// error rolls the whole batch back (the caller may then retry message by message).
/// `payload_limit`: the largest results accepted (a message may exceed it by the envelope
/// allowance).
pub async fn handle_batch(
    pool: &PgPool,
    queue: &QueueName,
    messages: &[QueueMessage],
    payload_limit: usize,
) -> Result<Vec<ResultOutcome>, OrchestrationError> {
    let decoded: Vec<Result<StepResult, DeadLetter>> = messages
        .iter()
        .map(|m| {
            dead_letters::decode_within_limit(m, "malformed_result", payload_limit, StepResult::from_value, |r| {
                ("results", &r.results, r.task_uuid)
            })
        })
        .collect();
    let step_uuids: Vec<Uuid> = decoded.iter().filter_map(|d| d.as_ref().ok().map(|r| r.step_uuid)).collect();
    let mut tx = pool.begin().await?;
    let mut locked = lock_rows(&mut tx, &step_uuids).await?;
    let mut outcomes = Vec::with_capacity(messages.len());
    let mut completions = Vec::new();
    // Task id -> index of its last applied result, in task id order.
    let mut touched = std::collections::BTreeMap::new();
    for (message, decoded) in messages.iter().zip(&decoded) {
        let outcome = match decoded {
            Err(letter) => set_aside(&mut tx, queue, message, letter.clone(), payload_limit).await?,
            Ok(result) => match accept(&mut tx, result, &mut locked, &mut completions).await? {
                Accepted::Applied { task_id, step_state } => {
                    touched.insert(task_id, outcomes.len());
                    ResultOutcome::Applied { step_state, task_state: None, dispatched: 0 }
                }
                Accepted::Ignored(letter) => set_aside(&mut tx, queue, message, letter, payload_limit).await?,
            },
        };
        outcomes.push(outcome);
    }
    transitions::complete_steps(&mut tx, &completions).await?;
    // O(out-degree): only the children of the completed steps are touched.
    let completed: Vec<i64> = completions.iter().map(|c| c.step_id).collect();
    let mut ready: HashMap<i64, Vec<i64>> = HashMap::new();
    for (task_id, child) in dispatch::release_children(&mut tx, &completed).await? {
        ready.entry(task_id).or_default().push(child);
    }
    for (task_id, last) in touched {
        let task = locked.tasks.get_mut(&task_id).expect("a touched task is locked");
        let children = ready.remove(&task_id).unwrap_or_default();
        let dispatched = if task.state == TaskState::InProgress { dispatch::enqueue_ready(&mut tx, task, &children, None).await? } else { 0 };
        let task_state = finalize_if_done(&mut tx, task, None).await?;
        if let Some(state) = task_state {
            task.state = state;
            info!(component = "orchestration.results", task_uuid = %task.uuid, state = state.as_str(), "task finished");
        }
        if let ResultOutcome::Applied { task_state: t, dispatched: d, .. } = &mut outcomes[last] {
            (*t, *d) = (task_state, dispatched);
        }
    }
    let applied: Vec<i64> =
        messages.iter().zip(&outcomes).filter(|(_, o)| matches!(o, ResultOutcome::Applied { .. })).map(|(m, _)| m.msg_id).collect();
    queues::delete_many(&mut *tx, queue, &applied).await?;
    tx.commit().await?;
    Ok(outcomes)
}

/// Locks, in ONE statement, every task the batch's steps belong to and those steps: task
/// rows in id order, each followed by its steps. The lock order everywhere is a task, then
/// its steps; taking several tasks in id order means two batches never wait in a cycle.
async fn lock_rows(tx: &mut PgConnection, step_uuids: &[Uuid]) -> Result<Locked, OrchestrationError> {
    let mut locked = Locked { tasks: HashMap::new(), steps: HashMap::new() };
    if step_uuids.is_empty() {
        return Ok(locked);
    }
    let sql = format!(
        "SELECT {}, s.id AS step_id, s.uuid AS step_uuid, s.state AS step_state, s.attempts, s.attempts_offset,
                s.max_attempts, s.backoff_base_ms, s.backoff_max_ms
           FROM tasker_workflow_steps s JOIN tasker_tasks t ON t.id = s.task_id {}
          WHERE s.uuid = ANY($1)
          ORDER BY t.id, s.id
            FOR UPDATE OF t, s",
        TaskRef::COLUMNS,
        TaskRef::JOINS
    );
    for row in sqlx::query(&sql).bind(step_uuids).fetch_all(&mut *tx).await? {
        let task = TaskRef::from_row(&row)?;
        let step = StepRow {
            id: row.try_get("step_id")?,
            task_id: task.id,
            task_uuid: task.uuid,
            state: row.try_get::<String, _>("step_state")?.parse()?,
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

async fn set_aside(
    tx: &mut PgConnection,
    queue: &QueueName,
    message: &QueueMessage,
    letter: DeadLetter,
    payload_limit: usize,
) -> Result<ResultOutcome, OrchestrationError> {
    dead_letters::set_aside(tx, queue, message, &letter, payload_limit).await?;
    Ok(ResultOutcome::SetAside { kind: letter.kind, reason: letter.reason })
}

enum Accepted {
    Applied { task_id: i64, step_state: StepState },
    Ignored(DeadLetter),
}

/// Checks a result against its locked step. A failure is applied at once (it may schedule
/// a retry); a success joins `completions`, applied set-wise by the caller.
async fn accept<'r>(
    tx: &mut PgConnection,
    result: &'r StepResult,
    locked: &mut Locked,
    completions: &mut Vec<Completion<'r>>,
) -> Result<Accepted, OrchestrationError> {
    let ignored = |reason: String| Accepted::Ignored(DeadLetter::new("ignored_result", reason, Some(result.task_uuid)));
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
        ResultStatus::Success => {
            let metadata = json!({"worker_id": result.worker_id, "started_at": result.started_at, "finished_at": result.finished_at});
            completions.push(Completion { step_id: step.id, results: &result.results, metadata });
            StepState::Complete
        }
        ResultStatus::Failure => fail_step(tx, task, step, result).await?,
    };
    // A second result for this step later in the batch must see the step as it is now.
    step.state = step_state;
    Ok(Accepted::Applied { task_id: step.task_id, step_state })
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
