//! Turns a TaskRequest into a task: validate, then in ONE transaction create the task, its
//! steps and edges, dispatch the root steps, start the task and delete the request.

use serde_json::json;
use sqlx::{PgConnection, PgPool, Row};
use tracing::info;
use uuid::Uuid;

use super::dead_letters::{self, DeadLetter};
use super::template_registry::{self, RegisteredTemplate};
use super::finalization::finalize_if_done;
use super::transitions::{record_created_steps, record_task_created_and_started};
use super::{dispatch, progress, OrchestrationError, TaskRef};
use crate::domain::input_schema;
use crate::domain::states::TaskState;
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
    if let Some(schema) = &registered.template.input_schema {
        if let Err(problem) = input_schema::validate(schema, &request.context) {
            return Ok(Err(format!("invalid context: {problem}")));
        }
    }
    Ok(Ok(registered))
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
    let Some(task_id) = insert_task(tx, request, registered.named_task_id, registered.template.steps.len(), parent).await? else {
        return Ok(None);
    };
    let roots = insert_steps(tx, task_id, registered).await?;
    record_task_created_and_started(tx, task_id, &json!({"msg_id": msg_id})).await?;
    // The row is this transaction's own (inserted above): no lock or read needed.
    let task = TaskRef {
        id: task_id,
        uuid: request.task_uuid,
        state: TaskState::InProgress,
        namespace: request.namespace.clone(),
        name: request.name.clone(),
        version: request.version.clone(),
        priority: request.priority,
        parent_step_id: parent.map(|p| p.step_id),
    };
    let delay_s = request.run_at_time().map_or(0.0, |at| (at - chrono::Utc::now()).num_milliseconds().max(0) as f64 / 1000.0);
    let roots: Vec<(i64, &str)> = roots.iter().map(|(id, t)| (*id, *t)).collect();
    let started = progress::start(tx, &task, &roots, delay_s, None).await?;
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

async fn insert_task(
    tx: &mut PgConnection,
    request: &TaskRequest,
    named_task_id: i64,
    steps: usize,
    parent: Option<Parent>,
) -> Result<Option<i64>, OrchestrationError> {
    let requested_at = request.requested_at.as_deref().and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok());
    let id = sqlx::query_scalar(
        "INSERT INTO tasker_tasks (uuid, named_task_id, context, priority, idempotency_key, requested_at, run_at, steps_total,
                                   traceparent, parent_task_id, parent_step_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
         ON CONFLICT DO NOTHING RETURNING id",
    )
    .bind(request.task_uuid)
    .bind(named_task_id)
    .bind(sqlx::types::Json(&request.context))
    .bind(request.priority)
    .bind(&request.idempotency_key)
    .bind(requested_at)
    .bind(request.run_at_time())
    .bind(steps as i32)
    .bind(&request.traceparent)
    .bind(parent.map(|p| p.task_id))
    .bind(parent.map(|p| p.step_id))
    .fetch_optional(&mut *tx)
    .await?;
    Ok(id)
}

/// Inserts all steps and edges; returns the root steps (no dependencies) with their types.
async fn insert_steps(
    tx: &mut PgConnection,
    task_id: i64,
    registered: &RegisteredTemplate,
) -> Result<Vec<(i64, &'static str)>, OrchestrationError> {
    let steps = &registered.template.steps;
    let uuids: Vec<Uuid> = steps.iter().map(|_| Uuid::now_v7()).collect();
    let named_ids: Vec<i64> = steps.iter().map(|s| registered.named_step_ids.get(&s.name).copied().unwrap_or(0)).collect();
    let names: Vec<&str> = steps.iter().map(|s| s.name.as_str()).collect();
    let handlers: Vec<&str> = steps.iter().map(|s| s.handler.as_str()).collect();
    let policies: Vec<_> = steps.iter().map(|s| s.retry_policy()).collect();
    let max_attempts: Vec<i32> = policies.iter().map(|p| p.max_attempts).collect();
    let base: Vec<i64> = policies.iter().map(|p| p.backoff_base_ms).collect();
    let max: Vec<i64> = policies.iter().map(|p| p.backoff_max_ms).collect();
    let parents: Vec<i32> = steps.iter().map(|s| s.dependencies().len() as i32).collect();
    let types: Vec<&str> = steps.iter().map(|s| s.step_type.as_str()).collect();
    let settings: Vec<Option<sqlx::types::Json<serde_json::Value>>> =
        steps.iter().map(|s| s.fields.settings(s.step_type).map(sqlx::types::Json)).collect();
    let rows = sqlx::query(
        "INSERT INTO tasker_workflow_steps
            (task_id, uuid, named_step_id, name, handler, max_attempts, backoff_base_ms, backoff_max_ms, remaining_parents,
             step_type, settings)
         SELECT $1, * FROM UNNEST($2::uuid[], $3::bigint[], $4::text[], $5::text[], $6::int[], $7::bigint[], $8::bigint[], $9::int[],
                                  $10::text[], $11::jsonb[])
         RETURNING id, name",
    )
    .bind(task_id)
    .bind(&uuids)
    .bind(&named_ids)
    .bind(&names)
    .bind(&handlers)
    .bind(&max_attempts)
    .bind(&base)
    .bind(&max)
    .bind(&parents)
    .bind(&types)
    .bind(&settings)
    .fetch_all(&mut *tx)
    .await?;
    let ids: std::collections::HashMap<String, i64> =
        rows.iter().map(|r| Ok((r.try_get("name")?, r.try_get("id")?))).collect::<Result<_, sqlx::Error>>()?;
    let (from, to): (Vec<i64>, Vec<i64>) =
        steps.iter().flat_map(|s| s.dependencies().into_iter().map(|d| (ids[d], ids[s.name.as_str()]))).unzip();
    sqlx::query("INSERT INTO tasker_step_edges (from_step_id, to_step_id) SELECT * FROM UNNEST($1::bigint[], $2::bigint[])")
        .bind(&from)
        .bind(&to)
        .execute(&mut *tx)
        .await?;
    let all_ids: Vec<i64> = ids.values().copied().collect();
    record_created_steps(tx, &all_ids).await?;
    Ok(steps.iter().filter(|s| s.dependencies().is_empty()).map(|s| (ids[s.name.as_str()], s.step_type.as_str())).collect())
}
