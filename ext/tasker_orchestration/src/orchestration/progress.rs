//! Moves a task forward from steps that just finished. The children they release start,
//! each the way its type runs (a handler on a worker, a map step's items, a wait), or are
//! skipped when none of their parents is live; whatever finishes at once (a skipped step, an
//! empty map, a sleep already due, a signal already sent) releases its own children in turn,
//! until nothing moves. Every step is touched once: O(out-degree) per finished step.

use serde_json::json;
use sqlx::PgConnection;

use super::dispatch::{self, Released};
use super::{decisions, maps, waits, OrchestrationError, TaskRef};
use crate::domain::actor::Actor;
use crate::domain::step_types::starts_on_worker;
use crate::domain::states::TaskState;

/// Steps that finished in this transaction, to release their children.
#[derive(Debug, Default)]
pub struct Finished {
    pub ids: Vec<i64>,
    pub skipped: Vec<bool>,
}

impl Finished {
    pub fn completed(&mut self, ids: impl IntoIterator<Item = i64>) {
        for id in ids {
            self.ids.push(id);
            self.skipped.push(false);
        }
    }

    pub fn skipped(&mut self, ids: impl IntoIterator<Item = i64>) {
        for id in ids {
            self.ids.push(id);
            self.skipped.push(true);
        }
    }

    pub fn merge(&mut self, other: Finished) {
        self.ids.extend(other.ids);
        self.skipped.extend(other.skipped);
    }
}

/// What starting steps did: messages sent to workers, steps that finished at once.
#[derive(Debug, Default)]
pub struct Started {
    pub dispatched: usize,
    pub finished: Finished,
}

/// Starts or skips the steps `released` (all of one task), then whatever they release in
/// turn. `decided_by`: the decision whose choice skips steps here, named in their
/// transitions. Returns how many step messages went to workers.
pub async fn advance(
    tx: &mut PgConnection,
    task: &TaskRef,
    mut released: Vec<Released>,
    actor: Option<&Actor>,
    decided_by: Option<&str>,
) -> Result<usize, OrchestrationError> {
    let skip_note = json!({"decided_by": decided_by});
    let mut dispatched = 0;
    while !released.is_empty() {
        let (dead, live): (Vec<Released>, Vec<Released>) = released.into_iter().partition(|r| r.live_parents == 0);
        let mut finished = Finished::default();
        if !dead.is_empty() {
            let ids: Vec<i64> = dead.iter().map(|r| r.id).collect();
            finished.skipped(decisions::skip(tx, task, &ids, "parents_skipped", &skip_note).await?);
        }
        if task.state == TaskState::InProgress && !live.is_empty() {
            let steps: Vec<(i64, &str)> = live.iter().map(|r| (r.id, r.step_type.as_str())).collect();
            let started = start(tx, task, &steps, 0.0, actor).await?;
            dispatched += started.dispatched;
            finished.merge(started.finished);
        }
        released = dispatch::release_children(tx, &finished.ids, &finished.skipped).await?;
    }
    Ok(dispatched)
}

/// Starts ready steps (`(id, step_type)`, all pending with their parents finished) the way
/// each type runs. `delay_s` delays what workers receive (a delayed task's first steps) and
/// the end of a sleep.
pub async fn start(
    tx: &mut PgConnection,
    task: &TaskRef,
    steps: &[(i64, &str)],
    delay_s: f64,
    actor: Option<&Actor>,
) -> Result<Started, OrchestrationError> {
    let mut started = Started::default();
    let for_workers: Vec<i64> = steps.iter().filter(|(_, t)| starts_on_worker(t)).map(|(id, _)| *id).collect();
    started.dispatched += if delay_s > 0.0 {
        dispatch::enqueue_ready_after(tx, task, &for_workers, delay_s).await?
    } else {
        dispatch::enqueue_ready(tx, task, &for_workers, actor).await?
    };
    for &(id, step_type) in steps {
        let finished_at_once = match step_type {
            "map" => {
                let expanded = maps::expand(tx, task, id).await?;
                started.dispatched += expanded.dispatched;
                expanded.completed
            }
            "wait_for_signal" => waits::wait_for_signal(tx, task, id).await?,
            "sleep" => waits::sleep(tx, task, id, delay_s).await?,
            _ => false,
        };
        if finished_at_once {
            started.finished.completed([id]);
        }
    }
    Ok(started)
}
