//! Sends steps to workers: moves them to `enqueued` and sends their StepMessages to the
//! namespace queue in the caller's transaction, so the state change and the message commit
//! together. Retries go out the same way with a visibility delay (no sweeper scan).
//! Readiness is O(out-degree): finishing steps touches only their children's counters.

use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, HashMap};

use serde_json::{json, Value};
use sqlx::{PgConnection, Row};

use super::transitions::{counter_update, move_steps, move_steps_of_tasks, MovedStep, StepChange, StepMove};
use super::{OrchestrationError, TaskRef};
use crate::domain::actor::{self, Actor};
use crate::domain::states::{StepState, TaskState};
use crate::domain::step_types::WORKER_STEP_TYPES;
use crate::messaging::messages::StepMessage;
use crate::messaging::queues::{self, QueueName};

/// Dispatches the first attempt of `step_ids` (all `pending` and ready). Returns how many
/// were sent. `actor`: the operator whose action dispatches them, noted on each transition.
pub async fn enqueue_ready(
    tx: &mut PgConnection,
    task: &TaskRef,
    step_ids: &[i64],
    actor: Option<&Actor>,
) -> Result<usize, OrchestrationError> {
    dispatch_ready(tx, task, step_ids, 0.0, actor).await
}

/// `enqueue_ready` for the ready steps of many tasks (all locked by the caller, all running)
/// at once: one statement moves them all, one send per namespace queue. The hot path: a
/// batch of results releases children across many tasks. Returns the steps sent per task.
pub async fn enqueue_ready_across(
    tx: &mut PgConnection,
    tasks: &HashMap<i64, TaskRef>,
    step_ids: &[i64],
) -> Result<HashMap<i64, usize>, OrchestrationError> {
    let metadata = json!({});
    let mv = StepMove { from: StepState::Pending, to: StepState::Enqueued, change: StepChange::Dispatch, reason: "ready", metadata: &metadata };
    let moved = move_steps_of_tasks(tx, step_ids, mv).await?;
    send_across(tx, tasks, &moved).await
}

/// Sends the messages of `moved` (steps just enqueued, of `tasks`): one send per namespace
/// queue. Returns the steps sent per task.
async fn send_across(
    tx: &mut PgConnection,
    tasks: &HashMap<i64, TaskRef>,
    moved: &[MovedStep],
) -> Result<HashMap<i64, usize>, OrchestrationError> {
    let mut sent: HashMap<i64, usize> = HashMap::new();
    let mut by_queue: BTreeMap<String, (QueueName, Vec<Value>)> = BTreeMap::new();
    for step in moved {
        let task = &tasks[&step.task_id];
        let (_, messages) = match by_queue.entry(task.namespace.clone()) {
            Entry::Occupied(entry) => entry.into_mut(),
            Entry::Vacant(entry) => entry.insert((QueueName::for_namespace(&task.namespace)?, Vec::new())),
        };
        messages.push(step_message(task, step));
        *sent.entry(task.id).or_default() += 1;
    }
    for (queue, messages) in by_queue.values() {
        queues::send_batch(&mut *tx, queue, messages).await?;
    }
    Ok(sent)
}

/// Like `enqueue_ready`, with the messages invisible for `delay_s` seconds (delayed tasks).
pub async fn enqueue_ready_after(
    tx: &mut PgConnection,
    task: &TaskRef,
    step_ids: &[i64],
    delay_s: f64,
) -> Result<usize, OrchestrationError> {
    dispatch_ready(tx, task, step_ids, delay_s, None).await
}

async fn dispatch_ready(
    tx: &mut PgConnection,
    task: &TaskRef,
    step_ids: &[i64],
    delay_s: f64,
    actor: Option<&Actor>,
) -> Result<usize, OrchestrationError> {
    let metadata = actor::noted(actor, if delay_s > 0.0 { json!({"delay_s": delay_s}) } else { json!({}) });
    let mv =
        StepMove { from: StepState::Pending, to: StepState::Enqueued, change: StepChange::Dispatch, reason: "ready", metadata: &metadata };
    let moved = move_steps(tx, task.id, step_ids, mv).await?;
    let queue = QueueName::for_namespace(&task.namespace)?;
    if delay_s > 0.0 {
        for step in &moved {
            queues::send(&mut *tx, &queue, &step_message(task, step), delay_s).await?;
        }
    } else {
        let messages: Vec<Value> = moved.iter().map(|step| step_message(task, step)).collect();
        queues::send_batch(&mut *tx, &queue, &messages).await?;
    }
    Ok(moved.len())
}

/// Schedules the next attempt of a failed step `delay_ms` from now.
pub async fn schedule_retry(tx: &mut PgConnection, task: &TaskRef, step_id: i64, delay_ms: i64) -> Result<bool, OrchestrationError> {
    let metadata = json!({"delay_ms": delay_ms});
    let mv = StepMove {
        from: StepState::Error,
        to: StepState::WaitingForRetry,
        change: StepChange::ScheduleRetry { delay_ms },
        reason: "retry_scheduled",
        metadata: &metadata,
    };
    let moved = move_steps(tx, task.id, &[step_id], mv).await?;
    let Some(step) = moved.first() else { return Ok(false) };
    let queue = QueueName::for_namespace(&task.namespace)?;
    queues::send(&mut *tx, &queue, &step_message(task, step), delay_ms as f64 / 1000.0).await?;
    Ok(true)
}

/// A child whose parents have all finished: ready to start, or to be skipped when none of
/// its parents is live (every one skipped).
#[derive(Debug, Clone)]
pub struct Released {
    pub task_id: i64,
    pub id: i64,
    pub step_type: String,
    pub live_parents: i32,
}

/// Counts newly finished parents for the children of `finished` (steps of tasks locked by
/// the caller; `skipped[i]` says whether `finished[i]` was skipped rather than completed),
/// one UPDATE per child however many of its parents are in the list. Returns the children
/// now released, still pending.
pub async fn release_children(tx: &mut PgConnection, finished: &[i64], skipped: &[bool]) -> Result<Vec<Released>, OrchestrationError> {
    if finished.is_empty() {
        return Ok(Vec::new());
    }
    let rows = sqlx::query(
        "UPDATE tasker_workflow_steps c
            SET remaining_parents = c.remaining_parents - r.n, live_parents = c.live_parents + r.live, updated_at = now()
           FROM (SELECT e.to_step_id, count(*)::int AS n, count(*) FILTER (WHERE NOT f.skipped)::int AS live
                   FROM unnest($1::bigint[], $2::bool[]) AS f(id, skipped)
                   JOIN tasker_step_edges e ON e.from_step_id = f.id AND e.from_step_id = ANY($1)
                  GROUP BY e.to_step_id) r
          WHERE c.id = r.to_step_id
            -- Index lookups of the edges and the children whatever the planner estimates (a
            -- join alone let the generic plan seq-scan every edge; see migration 4).
            AND c.id = ANY (ARRAY(SELECT to_step_id FROM tasker_step_edges WHERE from_step_id = ANY($1)))
         RETURNING c.id, c.task_id, c.remaining_parents, c.live_parents, c.state, c.step_type",
    )
    .bind(finished)
    .bind(skipped)
    .fetch_all(&mut *tx)
    .await?;
    Ok(rows
        .iter()
        .filter(|r| r.get::<i32, _>("remaining_parents") == 0 && r.get::<String, _>("state") == StepState::Pending.as_str())
        .map(|r| Released { task_id: r.get("task_id"), id: r.get("id"), step_type: r.get("step_type"), live_parents: r.get("live_parents") })
        .collect())
}

/// `release_children` for the finished steps of a batch of results, which also starts, in
/// the same statement and the same row version, every child released for a worker: its
/// last parent finished, one of its parents is live, its task is running (`tasks`: locked
/// by the caller) and its type runs on a worker. Each such child moves `pending ->
/// enqueued` (recorded, counted) and its message is sent, as `enqueue_ready_across` would;
/// the other children released (skips, maps, waits, stopped tasks) are returned, still
/// pending, for the caller to advance. Returns (steps sent per task, the others released).
pub async fn release_and_start_across(
    tx: &mut PgConnection,
    tasks: &HashMap<i64, TaskRef>,
    finished: &[i64],
    skipped: &[bool],
) -> Result<(HashMap<i64, usize>, Vec<Released>), OrchestrationError> {
    let (from, to) = (StepState::Pending, StepState::Enqueued);
    from.check(to)?;
    if finished.is_empty() {
        return Ok((HashMap::new(), Vec::new()));
    }
    let running: Vec<i64> = tasks.values().filter(|t| t.state == TaskState::InProgress).map(|t| t.id).collect();
    let counters = counter_update(from, to, "m.n");
    // `starts` is judged on the row as read and again on the row as locked: a child starts
    // only from pending, on its last parent.
    let sql = format!(
        "WITH counts AS (
            SELECT e.to_step_id AS id, count(*)::int AS n, count(*) FILTER (WHERE NOT f.skipped)::int AS live
              FROM unnest($1::bigint[], $2::bool[]) AS f(id, skipped)
              JOIN tasker_step_edges e ON e.from_step_id = f.id AND e.from_step_id = ANY($1)
             GROUP BY e.to_step_id),
         children AS (
            SELECT r.id, r.n, r.live,
                   (c.remaining_parents = r.n AND c.state = $5 AND c.live_parents + r.live > 0
                    AND c.task_id = ANY($3) AND c.step_type = ANY($4)) AS starts
              FROM counts r JOIN tasker_workflow_steps c ON c.id = r.id
             WHERE c.id = ANY (ARRAY(SELECT id FROM counts))),
         released AS (
            UPDATE tasker_workflow_steps c
               SET remaining_parents = c.remaining_parents - k.n, live_parents = c.live_parents + k.live, updated_at = now(),
                   state = CASE WHEN k.starts AND c.state = $5 AND c.remaining_parents = k.n THEN $6 ELSE c.state END,
                   attempts = CASE WHEN k.starts AND c.state = $5 AND c.remaining_parents = k.n THEN c.attempts + 1 ELSE c.attempts END,
                   next_attempt_at = CASE WHEN k.starts AND c.state = $5 AND c.remaining_parents = k.n THEN NULL ELSE c.next_attempt_at END
              FROM children k
             WHERE c.id = k.id AND c.id = ANY (ARRAY(SELECT id FROM counts))
            RETURNING c.id, c.task_id, c.uuid, c.name, c.handler, c.attempts, c.remaining_parents, c.live_parents, c.state,
                      c.step_type, c.map_step_id, k.starts AND c.state = $6 AS started),
         recorded AS (
            INSERT INTO tasker_step_transitions (step_id, from_state, to_state, attempt, reason, metadata)
            SELECT id, $5, $6, attempts, 'ready', '{{}}'::jsonb FROM released WHERE started ORDER BY id),
         counted AS (
            UPDATE tasker_tasks t SET updated_at = now(){counters}
              FROM (SELECT task_id, count(*) FILTER (WHERE map_step_id IS NULL) AS n FROM released WHERE started GROUP BY task_id) m
             WHERE t.id = ANY (ARRAY(SELECT task_id FROM released WHERE started)) AND t.id = m.task_id)
         SELECT id, task_id, uuid, name, handler, attempts, remaining_parents, live_parents, state, step_type, started
           FROM released ORDER BY id"
    );
    let rows = sqlx::query(&sql)
        .bind(finished)
        .bind(skipped)
        .bind(&running)
        .bind(&WORKER_STEP_TYPES[..])
        .bind(from.as_str())
        .bind(to.as_str())
        .fetch_all(&mut *tx)
        .await?;
    let (mut started, mut others) = (Vec::new(), Vec::new());
    for r in &rows {
        if r.try_get("started")? {
            started.push(MovedStep::from_row(r)?);
        } else if r.try_get::<i32, _>("remaining_parents")? == 0 && r.try_get::<String, _>("state")? == from.as_str() {
            others.push(Released {
                task_id: r.try_get("task_id")?,
                id: r.try_get("id")?,
                step_type: r.try_get("step_type")?,
                live_parents: r.try_get("live_parents")?,
            });
        }
    }
    Ok((send_across(tx, tasks, &started).await?, others))
}

fn step_message(task: &TaskRef, step: &MovedStep) -> Value {
    let message = StepMessage {
        kind: StepMessage::KIND.to_owned(),
        task_uuid: task.uuid,
        step_uuid: step.uuid,
        step_name: step.name.clone(),
        handler: step.handler.clone(),
        attempt: step.attempts,
        namespace: task.namespace.clone(),
        task_name: task.name.clone(),
        task_version: task.version.clone(),
        priority: task.priority,
    };
    serde_json::to_value(message).expect("a StepMessage always serializes")
}
