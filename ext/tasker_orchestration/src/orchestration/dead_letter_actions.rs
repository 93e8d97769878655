//! An operator resolves a dead letter once: requeue (its message sent again to its queue,
//! in the transaction that marks the row) or discard. Never silent and never deleted: the
//! row keeps `resolved_at`, `resolution`, `resolved_by` (the actor) and `requeued_msg_id`;
//! a second action on a resolved row is refused and changes nothing.

use serde_json::{json, Value};
use sqlx::{PgConnection, PgPool, Row};
use tracing::info;

use super::OrchestrationError;
use crate::domain::actor::Actor;
use crate::domain::states::StateError;
use crate::messaging::queues::{self, QueueName};

/// Sends the letter's message again to its queue (its reader judges it anew: a request
/// whose template was registered since now runs) and marks the letter `requeued`.
pub async fn requeue(pool: &PgPool, id: i64, actor: &Actor) -> Result<Value, OrchestrationError> {
    let mut tx = pool.begin().await?;
    let letter = lock_unresolved(&mut tx, id, "requeue").await?;
    let refuse = |why: String| Err(StateError::Refused(format!("dead letter {id} cannot be requeued: {why}; nothing changed")).into());
    if !letter.has_message {
        let msg_id = letter.msg_id.map_or_else(|| "unknown".to_owned(), |m| m.to_string());
        return refuse(format!(
            "it kept no message (the queue's archive pgmq.a_{} may still hold it, msg_id {msg_id}); discard it instead",
            letter.queue_name
        ));
    }
    let queue = QueueName::new(&letter.queue_name)?;
    if !queues::exists(&mut *tx, &queue).await? {
        return refuse(format!("its queue {} no longer exists", queue.as_str()));
    }
    let Some(msg_id) = queues::send_kept(&mut *tx, &queue, id).await? else { return refuse("it kept no message".into()) };
    resolve(&mut tx, id, "requeued", actor, Some(msg_id)).await?;
    tx.commit().await?;
    info!(component = "orchestration.dead_letters", id, queue = queue.as_str(), msg_id, actor = actor.as_str(), "dead letter requeued");
    Ok(json!({"id": id, "resolution": "requeued", "requeued_msg_id": msg_id}))
}

/// Marks the letter `discarded`: its message stays in the queue's archive, nothing is sent.
pub async fn discard(pool: &PgPool, id: i64, actor: &Actor) -> Result<Value, OrchestrationError> {
    let mut tx = pool.begin().await?;
    lock_unresolved(&mut tx, id, "discard").await?;
    resolve(&mut tx, id, "discarded", actor, None).await?;
    tx.commit().await?;
    info!(component = "orchestration.dead_letters", id, actor = actor.as_str(), "dead letter discarded");
    Ok(json!({"id": id, "resolution": "discarded", "requeued_msg_id": null}))
}

struct Letter {
    queue_name: String,
    msg_id: Option<i64>,
    has_message: bool,
}

/// Locks the row (two operators acting at once: the second waits, then finds it resolved).
async fn lock_unresolved(tx: &mut PgConnection, id: i64, action: &str) -> Result<Letter, OrchestrationError> {
    let row = sqlx::query(
        "SELECT queue_name, msg_id, message IS NOT NULL AS has_message, resolution, resolved_by,
                to_char(resolved_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') AS resolved_at, requeued_msg_id
           FROM tasker_dead_letters WHERE id = $1 FOR UPDATE",
    )
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| OrchestrationError::DeadLetterNotFound(format!("dead letter {id} not found")))?;
    if let Some(resolution) = row.try_get::<Option<String>, _>("resolution")? {
        let by: String = row.try_get("resolved_by")?;
        let at: String = row.try_get("resolved_at")?;
        let sent = match row.try_get::<Option<i64>, _>("requeued_msg_id")? {
            Some(msg_id) => format!(" (sent again as msg_id {msg_id})"),
            None => String::new(),
        };
        let why = format!("dead letter {id} was already {resolution}{sent} by {by} at {at}: cannot {action} it; nothing changed");
        return Err(StateError::Refused(why).into());
    }
    Ok(Letter { queue_name: row.try_get("queue_name")?, msg_id: row.try_get("msg_id")?, has_message: row.try_get("has_message")? })
}

async fn resolve(tx: &mut PgConnection, id: i64, resolution: &str, actor: &Actor, msg_id: Option<i64>) -> Result<(), OrchestrationError> {
    sqlx::query(
        "UPDATE tasker_dead_letters SET resolved_at = now(), resolution = $2, resolved_by = $3, requeued_msg_id = $4
          WHERE id = $1 AND resolved_at IS NULL",
    )
    .bind(id)
    .bind(resolution)
    .bind(actor.as_str())
    .bind(msg_id)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// The id an operator typed: a dead letter's id is a positive integer.
pub fn parse_id(text: &str) -> Result<i64, OrchestrationError> {
    text.trim()
        .parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| OrchestrationError::DeadLetterNotFound(format!("{:?} is not a dead letter id", text.chars().take(64).collect::<String>())))
}
