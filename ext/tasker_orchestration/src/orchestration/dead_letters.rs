//! Messages that cannot be processed are kept, never dropped: a row with the reason in
//! `tasker_dead_letters`, and the message itself moved to the queue's pgmq archive.

use serde_json::Value;
use sqlx::PgConnection;
use tracing::warn;
use uuid::Uuid;

use super::OrchestrationError;
use crate::config::ENVELOPE_BYTES;
use crate::messaging::queues::{QueueMessage, QueueName};

/// Why a message was set aside. `kind` is stable (tests and operators filter on it).
#[derive(Debug, Clone)]
pub struct DeadLetter {
    pub kind: &'static str,
    pub reason: String,
    pub task_uuid: Option<Uuid>,
}

impl DeadLetter {
    pub fn new(kind: &'static str, reason: impl Into<String>, task_uuid: Option<Uuid>) -> Self {
        Self { kind, reason: reason.into(), task_uuid }
    }
}

/// Records `letter` and archives the message, in the caller's transaction, through
/// `tasker_dead_letter` (the one definition, shared with the Ruby workers). The letter keeps
/// the body when a reader would transfer it (`payload_limit` plus the envelope allowance).
pub async fn set_aside(
    tx: &mut PgConnection,
    queue: &QueueName,
    message: &QueueMessage,
    letter: &DeadLetter,
    payload_limit: usize,
) -> Result<(), OrchestrationError> {
    let max_read_bytes = payload_limit.saturating_add(ENVELOPE_BYTES);
    warn!(
        component = "orchestration.dead_letters",
        queue = queue.as_str(),
        msg_id = message.msg_id,
        kind = letter.kind,
        reason = letter.reason.as_str(),
        "message set aside"
    );
    sqlx::query("SELECT tasker_dead_letter($1, $2, $3, $4, $5, $6)")
        .bind(queue.as_str())
        .bind(message.msg_id)
        .bind(letter.kind)
        .bind(&letter.reason)
        .bind(letter.task_uuid)
        .bind(i32::try_from(max_read_bytes).unwrap_or(i32::MAX))
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// Decodes a message body with `decode`, or says why it must be set aside as `kind`: too
/// large to have been transferred, nested too deep, or not of the expected shape.
fn decode_or_letter<T, E: std::fmt::Display>(
    message: &QueueMessage,
    kind: &'static str,
    decode: impl FnOnce(&Value) -> Result<T, E>,
) -> Result<T, DeadLetter> {
    let Some(body) = &message.message else {
        let reason = message.unreadable.clone().unwrap_or_else(|| "message has no body (null)".into());
        return Err(DeadLetter::new(kind, reason, message.task_uuid));
    };
    decode(body).map_err(|e| DeadLetter::new(kind, e.to_string(), message.task_uuid))
}

/// Decodes a message (which may exceed `payload_limit` by the envelope allowance) and
/// refuses it when its payload (a request's context, a result's results) is over the limit.
pub fn decode_within_limit<T, E: std::fmt::Display>(
    message: &QueueMessage,
    kind: &'static str,
    payload_limit: usize,
    decode: impl FnOnce(&Value) -> Result<T, E>,
    payload: impl FnOnce(&T) -> (&'static str, &Value, Uuid),
) -> Result<T, DeadLetter> {
    let decoded = decode_or_letter(message, kind, decode)?;
    let (what, body, task_uuid) = payload(&decoded);
    check_payload(kind, what, body, payload_limit, task_uuid)?;
    Ok(decoded)
}

/// Refuses a payload (a context, results) over the configured limit.
fn check_payload(kind: &'static str, what: &str, payload: &Value, limit: usize, task_uuid: Uuid) -> Result<(), DeadLetter> {
    let size = payload.to_string().len();
    if size <= limit {
        return Ok(());
    }
    let reason = format!("{what} of {size} bytes exceeds orchestrator.max_message_bytes ({limit})");
    Err(DeadLetter::new(kind, reason, Some(task_uuid)))
}
