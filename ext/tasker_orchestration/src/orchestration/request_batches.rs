//! Creates the tasks of a batch of task requests in ONE transaction, a statement per table
//! for the whole batch. Only plain requests go this way: decoded within the limit, naming a
//! registered template their context fits, starting at once on workers (no `run_at` ahead,
//! every root step a handler's) and naming a uuid and idempotency key no task and no other
//! request of the batch names. Every other request (a rejection, a repeat, a delayed task, a
//! root that waits or maps) is left to `task_requests::handle`, one by one after this batch
//! commits, so its fate is exactly what it would be alone.

use std::collections::{HashMap, HashSet};

use serde_json::{json, Value};
use sqlx::PgPool;
use tracing::info;

use super::task_requests::{context_problem, start_delay_s, RequestOutcome};
use super::task_rows::{self, NewTask};
use super::template_registry::{self, RegisteredTemplate};
use super::transitions::record_tasks_created_and_started;
use super::{dead_letters, dispatch, OrchestrationError, TaskRef};
use crate::domain::step_types::starts_on_worker;
use crate::messaging::messages::TaskRequest;
use crate::messaging::queues::{self, QueueMessage, QueueName};

/// What a batch did: the tasks it created, and the messages (indices into the batch) left
/// to be handled one by one.
#[derive(Debug, Default)]
pub struct BatchCreated {
    pub created: Vec<RequestOutcome>,
    pub left: Vec<usize>,
}

type TemplateKey = (String, String, String);

/// Creates the plain requests' tasks, starts them and deletes their messages in one
/// transaction. An error rolls it all back (the caller then handles every message alone).
pub async fn create_plain(
    pool: &PgPool,
    queue: &QueueName,
    messages: &[QueueMessage],
    payload_limit: usize,
) -> Result<BatchCreated, OrchestrationError> {
    let mut tx = pool.begin().await?;
    let mut templates: HashMap<TemplateKey, Option<RegisteredTemplate>> = HashMap::new();
    let mut batch = BatchCreated::default();
    let mut plain: Vec<(usize, TaskRequest)> = Vec::new();
    let (mut uuids, mut keys) = (HashSet::new(), HashSet::new());
    for (index, message) in messages.iter().enumerate() {
        let decoded = dead_letters::decode_within_limit(message, "rejected_request", payload_limit, TaskRequest::from_value, |r| {
            ("context", &r.context, r.task_uuid)
        });
        let Ok(request) = decoded else {
            batch.left.push(index);
            continue;
        };
        let key = template_key(&request);
        if !templates.contains_key(&key) {
            let found = template_registry::find(&mut tx, &key.0, &key.1, &key.2).await?;
            templates.insert(key.clone(), found);
        }
        let fits = templates[&key].as_ref().is_some_and(|registered| starts_at_once(registered, &request));
        let unique = uuids.insert(request.task_uuid) && request.idempotency_key.as_ref().is_none_or(|k| keys.insert(k.clone()));
        if fits && unique {
            plain.push((index, request));
        } else {
            batch.left.push(index);
        }
    }
    if plain.is_empty() {
        return Ok(batch);
    }
    // Rows in one order for every batch (a key's uuid is derived from it): two orchestrators
    // inserting the same tasks wait for each other instead of deadlocking.
    plain.sort_by_key(|(_, request)| request.task_uuid);
    let registered = |request: &TaskRequest| templates[&template_key(request)].as_ref().expect("plain requests name a template");
    let new: Vec<NewTask> = plain.iter().map(|(_, request)| NewTask { request, registered: registered(request), parent: None }).collect();
    let ids = task_rows::insert_tasks(&mut tx, &new).await?;
    let mut inserted = Vec::new();
    for ((index, request), id) in plain.iter().zip(ids) {
        match id {
            Some(id) => inserted.push((*index, request, id)),
            // A task with this uuid or key exists: a repeat, decided alone.
            None => batch.left.push(*index),
        }
    }
    let rows: Vec<(i64, &RegisteredTemplate)> = inserted.iter().map(|(_, request, id)| (*id, registered(request))).collect();
    let roots = task_rows::insert_steps(&mut tx, &rows).await?;
    let task_ids: Vec<i64> = inserted.iter().map(|(_, _, id)| *id).collect();
    let created: Vec<Value> = inserted.iter().map(|(index, _, _)| json!({"msg_id": messages[*index].msg_id})).collect();
    record_tasks_created_and_started(&mut tx, &task_ids, &created).await?;
    let tasks: HashMap<i64, TaskRef> = inserted.iter().map(|(_, request, id)| (*id, task_rows::inserted_task(*id, request, None))).collect();
    let root_ids: Vec<i64> = roots.iter().flatten().map(|(id, _)| *id).collect();
    dispatch::enqueue_ready_across(&mut tx, &tasks, &root_ids).await?;
    let msg_ids: Vec<i64> = inserted.iter().map(|(index, _, _)| messages[*index].msg_id).collect();
    queues::delete_many(&mut *tx, queue, &msg_ids).await?;
    tx.commit().await?;
    for ((_, request, _), (_, registered)) in inserted.iter().zip(&rows) {
        let steps = registered.template.steps.len();
        info!(component = "orchestration.requests", task_uuid = %request.task_uuid, steps, "task created");
        batch.created.push(RequestOutcome::Created { task_uuid: request.task_uuid, steps });
    }
    batch.left.sort_unstable();
    Ok(batch)
}

fn template_key(request: &TaskRequest) -> TemplateKey {
    (request.namespace.clone(), request.name.clone(), request.version.clone())
}

/// Whether the request's task starts by sending its root steps to workers now, with a
/// context its template accepts.
fn starts_at_once(registered: &RegisteredTemplate, request: &TaskRequest) -> bool {
    let roots = registered.template.steps.iter().filter(|s| s.dependencies().is_empty());
    start_delay_s(request) == 0.0
        && roots.into_iter().all(|s| starts_on_worker(s.step_type.as_str()))
        && context_problem(registered, request).is_none()
}
