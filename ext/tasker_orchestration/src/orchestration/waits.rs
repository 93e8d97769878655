//! Steps that wait without a worker: `wait_for_signal` (until TaskerCore.signal stores its
//! signal, or its timeout passes) and `sleep` (until a time). Starting one moves it to
//! `waiting`; what ends the wait is a wake message on step_results, sent in the transaction
//! that makes it due: by tasker_signal (SQL) with the signal, or with pgmq's visibility delay
//! for a timer (no scan, and it survives restarts: the message is in the database). A wake
//! only asks the database to look again (`check`), so an early, repeated or forged one
//! changes nothing.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use sqlx::types::Json;
use sqlx::{PgConnection, Row};
use uuid::Uuid;

use super::transitions::{move_steps, StepChange, StepMove};
use super::{children, maps, OrchestrationError, TaskRef};
use crate::domain::states::StepState;
use crate::domain::step_types::OnTimeout;
use crate::messaging::messages::Wake;
use crate::messaging::queues::{self, QueueName, STEP_RESULTS};

/// A timer whose wake arrives this early is sent again for the rest (clocks differ a little
/// between the database and the queue's visibility).
const EARLY_S: f64 = 0.005;

/// Starts waiting for the step's signal. True when the signal was already sent: the step
/// then completed with its payload.
pub async fn wait_for_signal(tx: &mut PgConnection, task: &TaskRef, step_id: i64) -> Result<bool, OrchestrationError> {
    let row = sqlx::query("SELECT uuid, settings ->> 'signal' AS signal, (settings ->> 'timeout_s')::float8 AS timeout_s FROM tasker_workflow_steps WHERE id = $1")
        .bind(step_id)
        .fetch_one(&mut *tx)
        .await?;
    let (uuid, signal, timeout_s): (Uuid, String, Option<f64>) = (row.try_get("uuid")?, row.try_get("signal")?, row.try_get("timeout_s")?);
    let note = json!({"signal": signal, "timeout_s": timeout_s});
    let mv = StepMove { from: StepState::Pending, to: StepState::Waiting, change: StepChange::Wait { wake_in_s: timeout_s }, reason: "waiting_for_signal", metadata: &note };
    move_steps(tx, task.id, &[step_id], mv).await?;
    if consume_signal(tx, task, step_id, &signal).await? {
        return Ok(true);
    }
    if let Some(timeout_s) = timeout_s {
        send_wake(tx, task.uuid, uuid, "timer", timeout_s).await?;
    }
    Ok(false)
}

/// Starts a sleep: until `duration_s` from now (plus `delay_s`, a delayed task's wait), or
/// until the time at its context path. True when that time has already passed: the step
/// then completed. A time that cannot be read fails the step for good.
pub async fn sleep(tx: &mut PgConnection, task: &TaskRef, step_id: i64, delay_s: f64) -> Result<bool, OrchestrationError> {
    let row = sqlx::query(
        "SELECT s.uuid, s.name, (s.settings ->> 'duration_s')::float8 AS duration_s, s.settings ->> 'until' AS until,
                t.context #> string_to_array(s.settings ->> 'until', '.') AS at
           FROM tasker_workflow_steps s JOIN tasker_tasks t ON t.id = s.task_id WHERE s.id = $1",
    )
    .bind(step_id)
    .fetch_one(&mut *tx)
    .await?;
    let (uuid, name): (Uuid, String) = (row.try_get("uuid")?, row.try_get("name")?);
    // Until a time: wake_at is that very time (never earlier), the wake's delay the rest.
    let mut until: Option<Value> = None;
    let wake_in_s = match (row.try_get::<Option<f64>, _>("duration_s")?, row.try_get::<Option<String>, _>("until")?) {
        (Some(duration), _) => duration + delay_s,
        (None, Some(path)) => {
            let at: Option<Json<Value>> = row.try_get("at")?;
            match at.as_ref().and_then(|a| a.0.as_str()).and_then(|t| DateTime::parse_from_rfc3339(t).ok()) {
                Some(at) => {
                    until = Some(json!(at.to_utc().to_rfc3339_opts(chrono::SecondsFormat::Micros, true)));
                    (at.to_utc() - Utc::now()).num_microseconds().unwrap_or(i64::MAX) as f64 / 1e6
                }
                None => {
                    let got = at.map_or("nothing".to_owned(), |a| a.0.to_string().chars().take(80).collect());
                    let problem = format!("sleep step {name}: context path {path} must hold an ISO-8601 time like 2026-12-01T10:00:00Z, got {got}");
                    let error = json!({"class": "TaskerCore::SleepError", "message": problem, "retryable": false, "attempt": 0});
                    let mv = StepMove { from: StepState::Pending, to: StepState::Error, change: StepChange::Fail { error: &error }, reason: "sleep_refused", metadata: &json!({"message": problem}) };
                    move_steps(tx, task.id, &[step_id], mv).await?;
                    return Ok(false);
                }
            }
        }
        (None, None) => 0.0,
    };
    let wake_in_s = wake_in_s.max(0.0);
    let note = json!({"sleep_s": wake_in_s});
    let change = match &until {
        Some(at) => StepChange::WaitUntil { at },
        None => StepChange::Wait { wake_in_s: Some(wake_in_s) },
    };
    let mv = StepMove { from: StepState::Pending, to: StepState::Waiting, change, reason: "sleeping", metadata: &note };
    move_steps(tx, task.id, &[step_id], mv).await?;
    if wake_in_s <= 0.0 {
        end_sleep(tx, task, step_id).await?;
        return Ok(true);
    }
    send_wake(tx, task.uuid, uuid, "timer", wake_in_s).await?;
    Ok(false)
}

/// Looks at waiting step `step_uuid` of `task` (locked, in progress) again and ends its wait
/// when the database says so. Returns the step's new state, None when nothing changed.
pub async fn check(tx: &mut PgConnection, task: &TaskRef, step_uuid: Uuid) -> Result<Option<StepState>, OrchestrationError> {
    let row = sqlx::query(
        "SELECT id, state, step_type, settings, extract(epoch FROM wake_at - clock_timestamp())::float8 AS due_in_s
           FROM tasker_workflow_steps WHERE uuid = $1 AND task_id = $2 FOR UPDATE",
    )
    .bind(step_uuid)
    .bind(task.id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else { return Ok(None) };
    if row.try_get::<String, _>("state")? != StepState::Waiting.as_str() {
        return Ok(None);
    }
    let step_id: i64 = row.try_get("id")?;
    let due_in_s: Option<f64> = row.try_get("due_in_s")?;
    let settings: Value = row.try_get::<Option<Json<Value>>, _>("settings")?.map(|j| j.0).unwrap_or_default();
    match row.try_get::<String, _>("step_type")?.as_str() {
        "sleep" => match due_in_s {
            Some(rest) if rest > EARLY_S => {
                send_wake(tx, task.uuid, step_uuid, "timer", rest).await?;
                Ok(None)
            }
            _ => end_sleep(tx, task, step_id).await.map(|()| Some(StepState::Complete)),
        },
        "wait_for_signal" => {
            let signal = settings["signal"].as_str().unwrap_or_default().to_owned();
            if consume_signal(tx, task, step_id, &signal).await? {
                return Ok(Some(StepState::Complete));
            }
            match due_in_s {
                Some(rest) if rest <= EARLY_S => time_out(tx, task, step_id, &signal, &settings).await.map(Some),
                _ => Ok(None),
            }
        }
        // A handler's step awaiting its child task.
        "task" | "decision" | "map_item" => children::finish_awaiting(tx, task, step_id).await,
        "map" => maps::resume(tx, task, step_id).await.map(|_| None),
        _ => Ok(None),
    }
}

/// Takes the step's signal when it was sent and completes the step with its payload.
async fn consume_signal(tx: &mut PgConnection, task: &TaskRef, step_id: i64, signal: &str) -> Result<bool, OrchestrationError> {
    let payload: Option<Option<Json<Value>>> = sqlx::query_scalar(
        "UPDATE tasker_signals SET consumed_by_step_id = $3, consumed_at = now()
          WHERE task_id = $1 AND name = $2 AND consumed_at IS NULL RETURNING payload",
    )
    .bind(task.id)
    .bind(signal)
    .bind(step_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(payload) = payload else { return Ok(false) };
    let results = payload.map_or(Value::Null, |p| p.0);
    let note = json!({"signal": signal});
    let mv = StepMove { from: StepState::Waiting, to: StepState::Complete, change: StepChange::Complete { results: &results }, reason: "signalled", metadata: &note };
    move_steps(tx, task.id, &[step_id], mv).await?;
    Ok(true)
}

/// The signal did not come in time: `on_timeout` says fail, skip or continue (null result).
async fn time_out(tx: &mut PgConnection, task: &TaskRef, step_id: i64, signal: &str, settings: &Value) -> Result<StepState, OrchestrationError> {
    let policy: OnTimeout = serde_json::from_value(settings["on_timeout"].clone()).unwrap_or_default();
    let timeout_s = settings["timeout_s"].as_f64().unwrap_or_default();
    let note = json!({"signal": signal, "timeout_s": timeout_s, "on_timeout": policy});
    let message = format!("signal {signal} did not arrive within {timeout_s}s");
    let error = json!({"class": "TaskerCore::SignalTimeout", "message": message, "retryable": false, "attempt": 0});
    let (to, change) = match policy {
        OnTimeout::Fail => (StepState::Error, StepChange::Fail { error: &error }),
        OnTimeout::Skip => (StepState::Skipped, StepChange::None),
        OnTimeout::Continue => (StepState::Complete, StepChange::Complete { results: &Value::Null }),
    };
    let mv = StepMove { from: StepState::Waiting, to, change, reason: "signal_timed_out", metadata: &note };
    move_steps(tx, task.id, &[step_id], mv).await?;
    Ok(to)
}

async fn end_sleep(tx: &mut PgConnection, task: &TaskRef, step_id: i64) -> Result<(), OrchestrationError> {
    let at: DateTime<Utc> = sqlx::query_scalar("SELECT COALESCE(wake_at, now()) FROM tasker_workflow_steps WHERE id = $1")
        .bind(step_id)
        .fetch_one(&mut *tx)
        .await?;
    let results = json!({"slept_until": at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)});
    let mv = StepMove { from: StepState::Waiting, to: StepState::Complete, change: StepChange::Complete { results: &results }, reason: "woke", metadata: &json!({}) };
    move_steps(tx, task.id, &[step_id], mv).await?;
    Ok(())
}

/// Sends a wake for step `step_uuid` of task `task_uuid` on step_results, visible `delay_s`
/// from now.
pub async fn send_wake(tx: &mut PgConnection, task_uuid: Uuid, step_uuid: Uuid, reason: &str, delay_s: f64) -> Result<(), OrchestrationError> {
    let queue = QueueName::new(STEP_RESULTS)?;
    queues::send(&mut *tx, &queue, &Wake::message(task_uuid, step_uuid, reason), delay_s.max(0.0)).await?;
    Ok(())
}
