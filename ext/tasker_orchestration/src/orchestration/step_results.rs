//! Applies StepResults (and wakes of waiting steps) in batches: in ONE transaction per
//! batch, under the row locks of the tasks concerned, move each step and store its results
//! or error (or schedule a retry), dispatch the children that became ready, finalize the
//! tasks, and delete the messages. Completions are applied set-wise: each task row and each
//! child row is updated once per batch, however many of its results or parents the batch
//! holds. A result for another attempt, or for a step that is not running, changes nothing
//! and is kept as a dead letter.

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;
use sqlx::{PgConnection, PgPool};
use tracing::info;
use uuid::Uuid;

use super::acceptance::{self, Accepted, Locked, Verdict};
use super::dead_letters::{self, DeadLetter};
use super::dispatch::{self, Released};
use super::finalization::finalize_many;
use super::maps::{self, ItemFinished};
use super::{decisions, progress, transitions, OrchestrationError, TaskRef};
use crate::domain::states::{StepState, TaskState};
use crate::messaging::messages::{StepResult, Wake};
use crate::messaging::queues::{self, QueueMessage, QueueName};

/// `task_state` and `dispatched` (steps sent for the task) are reported on the task's last
/// message in the batch; its other messages carry None and 0. A wake that changed nothing
/// is `Unchanged` (archived).
#[derive(Debug, Clone, PartialEq)]
pub enum ResultOutcome {
    Applied { step_state: StepState, task_state: Option<TaskState>, dispatched: usize },
    Unchanged,
    SetAside { kind: &'static str, reason: String },
}

enum Decoded {
    Result(Box<StepResult>),
    Wake(Wake),
}

/// Applies one message in its own transaction.
pub async fn handle(
    pool: &PgPool,
    queue: &QueueName,
    message: &QueueMessage,
    payload_limit: usize,
) -> Result<ResultOutcome, OrchestrationError> {
    let mut outcomes = handle_batch(pool, queue, std::slice::from_ref(message), payload_limit).await?;
    Ok(outcomes.remove(0))
}

fn decode(message: &QueueMessage, payload_limit: usize) -> Result<Decoded, DeadLetter> {
    if message.message.as_ref().and_then(|m| m.get("kind")).and_then(Value::as_str) == Some(Wake::KIND) {
        return dead_letters::decode_within_limit(message, "malformed_wake", payload_limit, Wake::from_value, |w| {
            ("wake", &Value::Null, w.task_uuid)
        })
        .map(Decoded::Wake);
    }
    dead_letters::decode_within_limit(message, "malformed_result", payload_limit, StepResult::from_value, |r| match &r.await_task {
        Some(child) => ("await_task.context", &child.context, r.task_uuid),
        None => ("results", &r.results, r.task_uuid),
    })
    .map(|r| Decoded::Result(Box::new(r)))
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
    let decoded: Vec<Result<Decoded, DeadLetter>> = messages.iter().map(|m| decode(m, payload_limit)).collect();
    let step_uuids: Vec<Uuid> = decoded
        .iter()
        .filter_map(|d| match d {
            Ok(Decoded::Result(r)) => Some(r.step_uuid),
            Ok(Decoded::Wake(w)) => Some(w.step_uuid),
            Err(_) => None,
        })
        .collect();
    let mut tx = pool.begin().await?;
    let mut locked = acceptance::lock_rows(&mut tx, &step_uuids).await?;
    let mut outcomes = Vec::with_capacity(messages.len());
    let mut accepted = Accepted::default();
    let (mut applied, mut unchanged) = (Vec::new(), Vec::new());
    // Task id -> index of its last applied message, in task id order.
    let mut touched = BTreeMap::new();
    for (message, decoded) in messages.iter().zip(&decoded) {
        let verdict = match decoded {
            Err(letter) => Verdict::Ignored(letter.clone()),
            Ok(Decoded::Result(result)) => acceptance::result(&mut tx, result, &mut locked, &mut accepted).await?,
            Ok(Decoded::Wake(wake)) => acceptance::wake(&mut tx, wake, &mut locked, &mut accepted).await?,
        };
        let outcome = match verdict {
            Verdict::Applied { task_id, step_state } => {
                touched.insert(task_id, outcomes.len());
                applied.push(message.msg_id);
                ResultOutcome::Applied { step_state, task_state: None, dispatched: 0 }
            }
            Verdict::Unchanged { task_id } => {
                touched.entry(task_id).or_insert(outcomes.len());
                unchanged.push(message.msg_id);
                ResultOutcome::Unchanged
            }
            Verdict::Ignored(letter) => set_aside(&mut tx, queue, message, letter, payload_limit).await?,
        };
        outcomes.push(outcome);
    }
    let dispatched = apply_accepted(&mut tx, &mut locked, accepted).await?;
    let touched_tasks: Vec<&TaskRef> = touched.keys().map(|id| &locked.tasks[id]).collect();
    let finished = finalize_many(&mut tx, &touched_tasks, None).await?;
    for (task_id, last) in touched {
        let task = locked.tasks.get_mut(&task_id).expect("a touched task is locked");
        let task_state = finished.get(&task_id).copied();
        if let Some(state) = task_state {
            task.state = state;
            info!(component = "orchestration.results", task_uuid = %task.uuid, state = state.as_str(), "task finished");
        }
        if let ResultOutcome::Applied { task_state: t, dispatched: d, .. } = &mut outcomes[last] {
            (*t, *d) = (task_state, dispatched.get(&task_id).copied().unwrap_or(0));
        }
    }
    queues::delete_many(&mut *tx, queue, &applied).await?;
    for msg_id in unchanged {
        queues::archive(&mut *tx, queue, msg_id).await?;
    }
    tx.commit().await?;
    Ok(outcomes)
}

/// Applies what the batch accepted, set-wise where it is the hot path: the completions in one
/// statement, the children of every finished step released in one statement; then, per task,
/// the decisions' skipped branches, the map steps' items, and the steps released (started,
/// or skipped in turn). Returns the steps dispatched per task.
async fn apply_accepted(tx: &mut PgConnection, locked: &mut Locked, accepted: Accepted<'_>) -> Result<HashMap<i64, usize>, OrchestrationError> {
    let mut dispatched: HashMap<i64, usize> = HashMap::new();
    transitions::complete_steps(tx, &accepted.completions).await?;
    let mut finished = accepted.finished;
    let mut decided_by: HashMap<i64, String> = HashMap::new();
    for (task_id, name, declared, chosen) in accepted.decisions {
        let task = &locked.tasks[&task_id];
        let skipped = decisions::skip_unchosen(tx, task, &name, &declared, &chosen).await?;
        finished.extend(skipped.into_iter().map(|id| (task_id, id, true)));
        decided_by.entry(task_id).or_insert(name);
    }
    let mut items: BTreeMap<i64, Vec<ItemFinished>> = BTreeMap::new();
    for (task_id, item) in accepted.items {
        items.entry(task_id).or_default().push(item);
    }
    for (task_id, items) in items {
        let task = &locked.tasks[&task_id];
        let moved = maps::items_finished(tx, task, &items).await?;
        *dispatched.entry(task_id).or_default() += moved.dispatched;
        finished.extend(moved.completed.into_iter().map(|id| (task_id, id, false)));
    }
    // O(out-degree): only the children of the finished steps are touched.
    let ids: Vec<i64> = finished.iter().map(|f| f.1).collect();
    let skipped: Vec<bool> = finished.iter().map(|f| f.2).collect();
    // The common case, children that run a handler in running tasks, is released and started
    // across all tasks in one statement; the rest (skips, maps, waits) start task by task.
    let (started, others) = dispatch::release_and_start_across(tx, &locked.tasks, &ids, &skipped).await?;
    for (task_id, sent) in started {
        *dispatched.entry(task_id).or_default() += sent;
    }
    let mut released: BTreeMap<i64, Vec<Released>> = BTreeMap::new();
    for child in others {
        released.entry(child.task_id).or_default().push(child);
    }
    for (task_id, children) in released {
        let task = &locked.tasks[&task_id];
        let sent = progress::advance(tx, task, children, None, decided_by.get(&task_id).map(String::as_str)).await?;
        *dispatched.entry(task_id).or_default() += sent;
    }
    Ok(dispatched)
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
