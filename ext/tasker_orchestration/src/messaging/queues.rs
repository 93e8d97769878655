//! pgmq through plain SQL, so sends and deletes join the caller's transaction. Columns are
//! selected by name (pgmq reorders its record type between versions); values are bound; a
//! queue name is validated before it is ever formatted into SQL.

use serde_json::Value;
use sqlx::types::Json;
use sqlx::{PgConnection, PgExecutor, Row};

use super::MessagingError;
use crate::domain::identifiers::{is_namespace, is_queue_name, MAX_NAMESPACE, MAX_QUEUE_NAME, QUEUE_SUFFIX};
use crate::domain::json_rules::{self, MAX_JSON_DEPTH, MAX_MESSAGE_DEPTH};

pub const TASK_REQUESTS: &str = "task_requests";
pub const STEP_RESULTS: &str = "step_results";

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct QueueName(String);

impl QueueName {
    pub fn new(name: &str) -> Result<Self, MessagingError> {
        if is_queue_name(name) {
            Ok(Self(name.to_owned()))
        } else {
            Err(MessagingError::QueueName {
                name: name.chars().take(80).collect(),
                why: format!("must match ^[a-z][a-z0-9_]*$ and be at most {MAX_QUEUE_NAME} characters"),
            })
        }
    }

    /// `{namespace}_queue`, where workers of that namespace read step messages.
    pub fn for_namespace(namespace: &str) -> Result<Self, MessagingError> {
        if !is_namespace(namespace) {
            return Err(MessagingError::QueueName {
                name: namespace.chars().take(80).collect(),
                why: format!("a namespace must match ^[a-z][a-z0-9_]*$ and be at most {MAX_NAMESPACE} characters"),
            });
        }
        Self::new(&format!("{namespace}{QUEUE_SUFFIX}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The pgmq table holding the queue's messages (the name is validated, so quoting it is
    /// enough to format it into SQL).
    pub fn table(&self) -> String {
        format!("pgmq.\"q_{}\"", self.0)
    }

    /// The LISTEN channel a send to this queue notifies (see tasker_notify_queue).
    pub fn channel(&self) -> String {
        format!("tasker_{}", self.0)
    }
}

/// A message as read. Each is decoded on its own, so no message can fail the read of its
/// batch: `message` is None when the body was too large to be transferred, nested too deep
/// to be parsed safely, or null, and `unreadable` then says which (None for no body).
/// `task_uuid` is what the message names as its task, read in SQL so that even a message
/// that cannot be decoded is traced to its task.
#[derive(Debug, Clone)]
pub struct QueueMessage {
    pub msg_id: i64,
    pub read_ct: i32,
    pub message: Option<Value>,
    pub unreadable: Option<String>,
    pub task_uuid: Option<uuid::Uuid>,
}

impl QueueMessage {
    /// Decodes a body read as text (`size` bytes, None when not transferred) in isolation:
    /// depth is measured before parsing, so no document can reach a parser's recursion limit.
    fn from_text(msg_id: i64, read_ct: i32, size: Option<usize>, text: Option<&str>, max_bytes: usize) -> Self {
        let unreadable = |why: String| (None, Some(why));
        let (message, unreadable) = match (text, size) {
            (None, None) => (None, None),
            (None, Some(size)) => unreadable(format!("message of {size} bytes exceeds the limit of {max_bytes} bytes")),
            (Some(text), _) if json_rules::text_depth(text, MAX_MESSAGE_DEPTH) > MAX_MESSAGE_DEPTH => {
                unreadable(format!("message is nested deeper than {MAX_MESSAGE_DEPTH} levels (a payload may nest {MAX_JSON_DEPTH})"))
            }
            (Some(text), _) => match serde_json::from_str::<Value>(text) {
                Ok(value) => (Some(value), None),
                Err(e) => unreadable(format!("message cannot be decoded: {e}")),
            },
        };
        Self { msg_id, read_ct, message, unreadable, task_uuid: None }
    }
}

/// Creates the queue (idempotent) and prepares it: the index the prioritized read orders by, the
/// wake-up trigger (NOTIFY on `channel(queue)`), autovacuum settings.
pub async fn create(db: &mut PgConnection, queue: &QueueName) -> Result<(), MessagingError> {
    sqlx::query("SELECT pgmq.create($1::text)").bind(queue.as_str()).execute(&mut *db).await?;
    sqlx::query("SELECT tasker_prepare_queue($1::text)").bind(queue.as_str()).execute(&mut *db).await?;
    Ok(())
}

pub async fn send<'e>(db: impl PgExecutor<'e>, queue: &QueueName, message: &Value, delay_s: f64) -> Result<i64, MessagingError> {
    let id =
        sqlx::query_scalar("SELECT pgmq.send($1::text, $2::jsonb, NULL::jsonb, clock_timestamp() + make_interval(secs => $3::float8))")
            .bind(queue.as_str())
            .bind(Json(message))
            .bind(delay_s)
            .fetch_one(db)
            .await?;
    Ok(id)
}

/// How long until the queue's next delayed message becomes visible, if one is waiting (an
/// index lookup on pgmq's vt index): a loop that found nothing sleeps no longer than that,
/// so a timer sent with a visibility delay is read when it is due.
pub async fn next_visible_in<'e>(db: impl PgExecutor<'e>, queue: &QueueName) -> Result<Option<std::time::Duration>, MessagingError> {
    let sql = format!("SELECT extract(epoch FROM min(vt) - clock_timestamp())::float8 FROM {} WHERE vt > clock_timestamp()", queue.table());
    let seconds: Option<f64> = sqlx::query_scalar(&sql).fetch_one(db).await?;
    Ok(seconds.map(|s| std::time::Duration::from_secs_f64(s.max(0.0))))
}

/// Whether the queue exists (pgmq's catalog).
pub async fn exists<'e>(db: impl PgExecutor<'e>, queue: &QueueName) -> Result<bool, MessagingError> {
    Ok(sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pgmq.meta WHERE queue_name = $1)").bind(queue.as_str()).fetch_one(db).await?)
}

/// Sends again, unchanged, the body dead letter `dead_letter_id` kept (an operator's requeue).
/// The body goes from the row to pgmq's send inside the database, never decoded here, so any
/// document the letter could keep (nested deeper than a reader accepts, say) goes out as it
/// came in, to be judged again by its reader. None when the letter kept no body.
pub async fn send_kept<'e>(db: impl PgExecutor<'e>, queue: &QueueName, dead_letter_id: i64) -> Result<Option<i64>, MessagingError> {
    let id = sqlx::query_scalar(
        "SELECT pgmq.send($1::text, d.message, NULL::jsonb, clock_timestamp())
           FROM tasker_dead_letters d WHERE d.id = $2 AND d.message IS NOT NULL",
    )
    .bind(queue.as_str())
    .bind(dead_letter_id)
    .fetch_optional(db)
    .await?;
    Ok(id)
}

/// Sends messages in one INSERT into the queue table, as pgmq.send_batch does, but as a
/// static statement per queue that sqlx prepares once per connection (pgmq's functions
/// plan their dynamic SQL on every call, which costs more than the insert itself).
pub async fn send_batch<'e>(db: impl PgExecutor<'e>, queue: &QueueName, messages: &[Value]) -> Result<Vec<i64>, MessagingError> {
    if messages.is_empty() {
        return Ok(Vec::new());
    }
    let payload: Vec<Json<&Value>> = messages.iter().map(Json).collect();
    let sql = format!("INSERT INTO {} (vt, message) SELECT clock_timestamp(), unnest($1::jsonb[]) RETURNING msg_id", queue.table());
    let ids = sqlx::query_scalar(&sql).bind(payload).fetch_all(db).await?;
    Ok(ids)
}

/// The prioritized read of one queue, the one definition of how every reader reads: up to
/// `$2` visible messages in virtual-time order (priority with aging), skipping locked ones,
/// hidden for `$1` seconds and counted in `read_ct`; `select` reads the read rows as `u`.
/// Static per queue, so a prepared statement plans it once per connection; the update finds
/// the picked rows by key (`= ANY`), so its one generic plan is an index scan however the
/// table's size has changed since it was planned (a join let it seq-scan the queue). Ruby's workers
/// run the same text (`PgmqClient.prioritized_read_sql`; spec/native checks they agree).
pub fn prioritized_read_sql(queue: &QueueName, select: &str) -> String {
    prioritized_read_after_sql(queue, "", select)
}

/// The prioritized read with other CTEs before its own (`before`: "name AS (...), " each),
/// for a statement that does more in the same round trip (a worker's post of its results).
pub fn prioritized_read_after_sql(queue: &QueueName, before: &str, select: &str) -> String {
    let table = queue.table();
    format!(
        "WITH {before}picked AS (
    SELECT q.msg_id FROM {table} q
     WHERE q.vt <= clock_timestamp()
     ORDER BY tasker_virtual_time(q.enqueued_at, q.message), q.msg_id
     LIMIT $2
       FOR UPDATE SKIP LOCKED),
updated AS (
    UPDATE {table} m
       SET last_read_at = clock_timestamp(), vt = clock_timestamp() + make_interval(secs => $1), read_ct = m.read_ct + 1
     WHERE m.msg_id = ANY (ARRAY(SELECT p.msg_id FROM picked p))
    RETURNING m.msg_id, m.read_ct, m.enqueued_at, m.vt, m.message)
{select}
 ORDER BY tasker_virtual_time(u.enqueued_at, u.message), u.msg_id
"
    )
}

/// Reads up to `qty` messages, hiding them for `vt_s` seconds, in priority order with aging
/// (`prioritized_read_sql`). Messages over `max_bytes` come back without their body.
pub async fn read<'e>(
    db: impl PgExecutor<'e>,
    queue: &QueueName,
    vt_s: i32,
    qty: i32,
    max_bytes: usize,
) -> Result<Vec<QueueMessage>, MessagingError> {
    let sql = prioritized_read_sql(
        queue,
        // The body is rendered as text once per message, not once per use (size, check, body).
        "SELECT u.msg_id, u.read_ct, octet_length(b.text) AS size,
        CASE WHEN octet_length(b.text) <= $3 THEN b.text END AS message,
        tasker_message_task_uuid(u.message) AS task_uuid
   FROM updated u CROSS JOIN LATERAL (SELECT u.message::text AS text) b",
    );
    let rows = sqlx::query(&sql).bind(vt_s).bind(qty).bind(i64::try_from(max_bytes).unwrap_or(i64::MAX)).fetch_all(db).await?;
    rows.into_iter()
        .map(|row| {
            let size = row.try_get::<Option<i32>, _>("size")?.map(|s| s.max(0) as usize);
            let text: Option<String> = row.try_get("message")?;
            let mut message = QueueMessage::from_text(row.try_get("msg_id")?, row.try_get("read_ct")?, size, text.as_deref(), max_bytes);
            message.task_uuid = row.try_get("task_uuid")?;
            Ok(message)
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(MessagingError::from)
}

/// Deletes a message, as pgmq.delete does, but as a static statement on the queue's table:
/// prepared once per connection (pgmq's function builds its SQL, planned on every call).
pub async fn delete<'e>(db: impl PgExecutor<'e>, queue: &QueueName, msg_id: i64) -> Result<bool, MessagingError> {
    let sql = format!("DELETE FROM {} WHERE msg_id = $1", queue.table());
    let deleted = sqlx::query(&sql).bind(msg_id).execute(db).await?;
    Ok(deleted.rows_affected() == 1)
}

/// Deletes several messages in one statement (static, as `delete`).
pub async fn delete_many<'e>(db: impl PgExecutor<'e>, queue: &QueueName, msg_ids: &[i64]) -> Result<(), MessagingError> {
    if msg_ids.is_empty() {
        return Ok(());
    }
    let sql = format!("DELETE FROM {} WHERE msg_id = ANY($1)", queue.table());
    sqlx::query(&sql).bind(msg_ids).execute(db).await?;
    Ok(())
}

/// Moves a message to the queue's archive table (kept for inspection).
pub async fn archive<'e>(db: impl PgExecutor<'e>, queue: &QueueName, msg_id: i64) -> Result<bool, MessagingError> {
    let archived = sqlx::query_scalar("SELECT pgmq.archive($1::text, $2::bigint)").bind(queue.as_str()).bind(msg_id).fetch_one(db).await?;
    Ok(archived)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespace_queues_are_validated_before_use() {
        assert_eq!(QueueName::for_namespace("linear_workflow").unwrap().as_str(), "linear_workflow_queue");
        assert!(QueueName::for_namespace(&"a".repeat(41)).is_ok());
        let err = QueueName::for_namespace(&"a".repeat(42)).unwrap_err().to_string();
        assert!(err.contains("at most 41"), "{err}");
        assert!(QueueName::new("x'; drop table tasks; --").is_err());
        assert!(QueueName::new("Upper").is_err());
    }
}
