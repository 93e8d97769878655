//! Turns a TaskRequest into a task: validate, then in ONE transaction create the task, its
//! steps and edges, dispatch the root steps, start the task and delete the request.

use serde_json::json;
use sqlx::{PgConnection, PgPool, Row};
use tracing::info;
use uuid::Uuid;

use super::dead_letters::{self, DeadLetter};
use super::template_registry::{self, RegisteredTemplate};
use super::finalization::finalize_if_done;
use super::task_rows::{self, NewTask};
use super::transitions::record_tasks_created_and_started;
use super::{dispatch, progress, OrchestrationError, TaskRef};
use crate::domain::input_schema;
use crate::messaging::messages::TaskRequest;
use crate::messaging::queues::{self, QueueMessage, QueueName};

#[derive(Debug, Clone, PartialEq)]
pub enum RequestOutcome {
    Created {
        task_uuid: Uuid,
        steps: usize,
    },
    /// The task already exists with the same template and context (the idempotency key or
    /// the uuid was used before): the request is archived, nothing else changes.
    Duplicate {
        task_uuid: Uuid,
    },
    /// Rejected, or an `idempotency_conflict` (same key or uuid, another template or context).
    Rejected {
        kind: &'static str,
        reason: String,
    },
}

/// The task a request's uuid or idempotency key already names, compared with the request.
struct Existing {
    uuid: Uuid,
    same: bool,
    template: String,
    digest: String,
    request_digest: String,
}

/// `payload_limit`: the largest context accepted (a message may exceed it by the envelope
/// allowance).
pub async fn handle(
    pool: &PgPool,
    queue: &QueueName,
    message: &QueueMessage,
    payload_limit: usize,
) -> Result<RequestOutcome, OrchestrationError> {
    let mut tx = pool.begin().await?;
    let decoded = dead_letters::decode_within_limit(message, "rejected_request", payload_limit, TaskRequest::from_value, |r| {
        ("context", &r.context, r.task_uuid)
    });
    let outcome = match decoded {
        Err(letter) => reject(&mut tx, queue, message, letter, payload_limit).await?,
        Ok(request) => create_or_reject(&mut tx, queue, message, &request, payload_limit).await?,
    };
    tx.commit().await?;
    if let RequestOutcome::Created { task_uuid, steps } = &outcome {
        info!(component = "orchestration.requests", task_uuid = %task_uuid, steps = *steps, "task created");
    }
    Ok(outcome)
}

async fn reject(
    tx: &mut PgConnection,
    queue: &QueueName,
    message: &QueueMessage,
    letter: DeadLetter,
    payload_limit: usize,
) -> Result<RequestOutcome, OrchestrationError> {
    dead_letters::set_aside(tx, queue, message, &letter, payload_limit).await?;
    Ok(RequestOutcome::Rejected { kind: letter.kind, reason: letter.reason })
}

/// A repeat of a known task: archived (a trace, no dead letter) when it asks for the same
/// thing, an `idempotency_conflict` naming both contexts' digests when it does not.
async fn repeated(
    tx: &mut PgConnection,
    queue: &QueueName,
    message: &QueueMessage,
    request: &TaskRequest,
    existing: Existing,
    payload_limit: usize,
) -> Result<RequestOutcome, OrchestrationError> {
    if existing.same {
        queues::archive(&mut *tx, queue, message.msg_id).await?;
        return Ok(RequestOutcome::Duplicate { task_uuid: existing.uuid });
    }
    let named = match &request.idempotency_key {
        Some(key) => format!("idempotency key {:?}", key.chars().take(80).collect::<String>()),
        None => format!("task uuid {}", request.task_uuid),
    };
    let reason = format!(
        "{named} already names task {} ({} with context sha256:{}); this request asks for {}/{}@{} with context sha256:{}",
        existing.uuid, existing.template, existing.digest, request.namespace, request.name, request.version, existing.request_digest
    );
    let letter = DeadLetter::new("idempotency_conflict", reason, Some(existing.uuid));
    reject(tx, queue, message, letter, payload_limit).await
}

async fn create_or_reject(
    tx: &mut PgConnection,
    queue: &QueueName,
    message: &QueueMessage,
    request: &TaskRequest,
    payload_limit: usize,
) -> Result<RequestOutcome, OrchestrationError> {
    if let Some(existing) = existing_task(tx, request).await? {
        return repeated(tx, queue, message, request, existing, payload_limit).await;
    }
    let registered = match acceptable(tx, request).await? {
        Ok(registered) => registered,
        Err(reason) => {
            let letter = DeadLetter::new("rejected_request", reason, Some(request.task_uuid));
            return reject(tx, queue, message, letter, payload_limit).await;
        }
    };
    let Some(_) = create_task(tx, request, &registered, None, Some(message.msg_id)).await? else {
        // Lost a race with another request for the same uuid or idempotency key: the
        // winner has committed (ON CONFLICT waited for it), so compare with its task.
        let existing = existing_task(tx, request)
            .await?
            .ok_or_else(|| OrchestrationError::NotFound(format!("task {} vanished", request.task_uuid)))?;
        return repeated(tx, queue, message, request, existing, payload_limit).await;
    };
    queues::delete(&mut *tx, queue, message.msg_id).await?;
    Ok(RequestOutcome::Created { task_uuid: request.task_uuid, steps: registered.template.steps.len() })
}

/// The registered template a request names, if its context fits the template's input
/// schema; otherwise why the request cannot be accepted.
pub async fn acceptable(tx: &mut PgConnection, request: &TaskRequest) -> Result<Result<RegisteredTemplate, String>, OrchestrationError> {
    let Some(registered) = template_registry::find(tx, &request.namespace, &request.name, &request.version).await? else {
        let known = template_registry::known_versions(tx, &request.namespace, &request.name).await?;
        let hint = if known.is_empty() { String::new() } else { format!(" (registered versions: {})", known.join(", ")) };
        return Ok(Err(format!("unknown template {}/{}@{}{hint}", request.namespace, request.name, request.version)));
    };
    match context_problem(&registered, request) {
        Some(problem) => Ok(Err(problem)),
        None => Ok(Ok(registered)),
    }
}

/// Why the request's context does not fit the template's input schema, if it does not.
pub fn context_problem(registered: &RegisteredTemplate, request: &TaskRequest) -> Option<String> {
    let schema = registered.template.input_schema.as_ref()?;
    input_schema::validate(schema, &request.context).err().map(|problem| format!("invalid context: {problem}"))
}

/// How long a task's first steps stay invisible to workers: until its `run_at`, if ahead.
pub fn start_delay_s(request: &TaskRequest) -> f64 {
    request.run_at_time().map_or(0.0, |at| (at - chrono::Utc::now()).num_milliseconds().max(0) as f64 / 1000.0)
}

/// The step a child task reports to when it finishes.
#[derive(Debug, Clone, Copy)]
pub struct Parent {
    pub task_id: i64,
    pub step_id: i64,
}

/// Creates the task `request` asks for (validated) with its steps and edges, starts it and
/// its root steps. None when a task with its uuid or idempotency key exists already.
pub async fn create_task(
    tx: &mut PgConnection,
    request: &TaskRequest,
    registered: &RegisteredTemplate,
    parent: Option<Parent>,
    msg_id: Option<i64>,
) -> Result<Option<TaskRef>, OrchestrationError> {
    let [Some(task_id)] = task_rows::insert_tasks(tx, &[NewTask { request, registered, parent }]).await?[..] else {
        return Ok(None);
    };
    let roots = task_rows::insert_steps(tx, &[(task_id, registered)]).await?.remove(0);
    record_tasks_created_and_started(tx, &[task_id], &[json!({"msg_id": msg_id})]).await?;
    let task = task_rows::inserted_task(task_id, request, parent);
    let roots: Vec<(i64, &str)> = roots.iter().map(|(id, t)| (*id, *t)).collect();
    let started = progress::start(tx, &task, &roots, start_delay_s(request), None).await?;
    if roots.iter().any(|(_, step_type)| !matches!(*step_type, "task" | "decision")) {
        // A root that waits may have finished at once (a sleep already due: its children are
        // released now) or failed (a sleep until a time that cannot be read).
        let released = dispatch::release_children(tx, &started.finished.ids, &started.finished.skipped).await?;
        progress::advance(tx, &task, released, None, None).await?;
        finalize_if_done(tx, &task, None).await?;
    }
    Ok(Some(task))
}

/// Asks `tasker_existing_task`, the one definition of an idempotent repeat (the Ruby client
/// asks it too, so both name the same digests).
async fn existing_task(tx: &mut PgConnection, request: &TaskRequest) -> Result<Option<Existing>, OrchestrationError> {
    let row = sqlx::query(
        "SELECT uuid, template, same, existing_digest AS digest, requested_digest AS request_digest
           FROM tasker_existing_task($1, $2, $3, $4, $5, $6)",
    )
    .bind(request.task_uuid)
    .bind(&request.idempotency_key)
    .bind(&request.namespace)
    .bind(&request.name)
    .bind(&request.version)
    .bind(sqlx::types::Json(&request.context))
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else { return Ok(None) };
    Ok(Some(Existing {
        uuid: row.try_get("uuid")?,
        same: row.try_get("same")?,
        template: row.try_get("template")?,
        digest: row.try_get("digest")?,
        request_digest: row.try_get("request_digest")?,
    }))
}
