//! Inserts tasks with their steps and edges, any number at once: a statement per table
//! whatever the count, so a batch of requests costs what one does. The one owner of these
//! INSERTs (a request, a batch of requests and a child task all create through here).

use std::collections::HashMap;

use sqlx::{PgConnection, Row};
use uuid::Uuid;

use super::task_requests::Parent;
use super::template_registry::RegisteredTemplate;
use super::transitions::record_created_steps;
use super::{OrchestrationError, TaskRef};
use crate::domain::states::TaskState;
use crate::messaging::messages::TaskRequest;

/// A task to insert: the request, the template it was accepted for, the step it reports to.
pub struct NewTask<'a> {
    pub request: &'a TaskRequest,
    pub registered: &'a RegisteredTemplate,
    pub parent: Option<Parent>,
}

/// Inserts the tasks (`pending`). For each, in order, its id, or None when a task with its
/// uuid or idempotency key exists already (or comes earlier in `tasks`).
pub async fn insert_tasks(tx: &mut PgConnection, tasks: &[NewTask<'_>]) -> Result<Vec<Option<i64>>, OrchestrationError> {
    let requested_at: Vec<Option<chrono::DateTime<chrono::Utc>>> = tasks
        .iter()
        .map(|t| t.request.requested_at.as_deref().and_then(|at| chrono::DateTime::parse_from_rfc3339(at).ok()).map(|at| at.to_utc()))
        .collect();
    let rows = sqlx::query(
        "INSERT INTO tasker_tasks (uuid, named_task_id, context, priority, idempotency_key, requested_at, run_at, steps_total,
                                   traceparent, parent_task_id, parent_step_id)
         SELECT * FROM UNNEST($1::uuid[], $2::bigint[], $3::jsonb[], $4::int[], $5::text[], $6::timestamptz[], $7::timestamptz[],
                              $8::int[], $9::text[], $10::bigint[], $11::bigint[])
         ON CONFLICT DO NOTHING RETURNING id, uuid",
    )
    .bind(tasks.iter().map(|t| t.request.task_uuid).collect::<Vec<Uuid>>())
    .bind(tasks.iter().map(|t| t.registered.named_task_id).collect::<Vec<i64>>())
    .bind(tasks.iter().map(|t| sqlx::types::Json(&t.request.context)).collect::<Vec<_>>())
    .bind(tasks.iter().map(|t| t.request.priority).collect::<Vec<i32>>())
    .bind(tasks.iter().map(|t| t.request.idempotency_key.as_deref()).collect::<Vec<Option<&str>>>())
    .bind(&requested_at)
    .bind(tasks.iter().map(|t| t.request.run_at_time()).collect::<Vec<_>>())
    .bind(tasks.iter().map(|t| t.registered.template.steps.len() as i32).collect::<Vec<i32>>())
    .bind(tasks.iter().map(|t| t.request.traceparent.as_deref()).collect::<Vec<Option<&str>>>())
    .bind(tasks.iter().map(|t| t.parent.map(|p| p.task_id)).collect::<Vec<Option<i64>>>())
    .bind(tasks.iter().map(|t| t.parent.map(|p| p.step_id)).collect::<Vec<Option<i64>>>())
    .fetch_all(&mut *tx)
    .await?;
    let mut ids: HashMap<Uuid, i64> = rows.iter().map(|r| Ok((r.try_get("uuid")?, r.try_get("id")?))).collect::<Result<_, sqlx::Error>>()?;
    // A uuid given twice names one row: it belongs to the first task that gave it.
    Ok(tasks.iter().map(|t| ids.remove(&t.request.task_uuid)).collect())
}

/// Inserts all steps and edges of the tasks `(task_id, template)` and records the steps'
/// creation. Returns, per task in order, its root steps (no dependencies) with their types.
pub async fn insert_steps(
    tx: &mut PgConnection,
    tasks: &[(i64, &RegisteredTemplate)],
) -> Result<Vec<Vec<(i64, &'static str)>>, OrchestrationError> {
    let steps = || tasks.iter().flat_map(|(task_id, registered)| registered.template.steps.iter().map(move |s| (*task_id, *registered, s)));
    let policies: Vec<_> = steps().map(|(_, _, s)| s.retry_policy()).collect();
    let settings: Vec<Option<sqlx::types::Json<serde_json::Value>>> =
        steps().map(|(_, _, s)| s.fields.settings(s.step_type).map(sqlx::types::Json)).collect();
    let rows = sqlx::query(
        "INSERT INTO tasker_workflow_steps
            (task_id, uuid, named_step_id, name, handler, max_attempts, backoff_base_ms, backoff_max_ms, remaining_parents,
             step_type, settings)
         SELECT * FROM UNNEST($1::bigint[], $2::uuid[], $3::bigint[], $4::text[], $5::text[], $6::int[], $7::bigint[], $8::bigint[],
                              $9::int[], $10::text[], $11::jsonb[])
         RETURNING id, task_id, name",
    )
    .bind(steps().map(|(task_id, _, _)| task_id).collect::<Vec<i64>>())
    .bind(steps().map(|_| Uuid::now_v7()).collect::<Vec<Uuid>>())
    .bind(steps().map(|(_, r, s)| r.named_step_ids.get(&s.name).copied().unwrap_or(0)).collect::<Vec<i64>>())
    .bind(steps().map(|(_, _, s)| s.name.as_str()).collect::<Vec<&str>>())
    .bind(steps().map(|(_, _, s)| s.handler.as_str()).collect::<Vec<&str>>())
    .bind(policies.iter().map(|p| p.max_attempts).collect::<Vec<i32>>())
    .bind(policies.iter().map(|p| p.backoff_base_ms).collect::<Vec<i64>>())
    .bind(policies.iter().map(|p| p.backoff_max_ms).collect::<Vec<i64>>())
    .bind(steps().map(|(_, _, s)| s.dependencies().len() as i32).collect::<Vec<i32>>())
    .bind(steps().map(|(_, _, s)| s.step_type.as_str()).collect::<Vec<&str>>())
    .bind(&settings)
    .fetch_all(&mut *tx)
    .await?;
    let ids: HashMap<(i64, String), i64> = rows
        .iter()
        .map(|r| Ok(((r.try_get("task_id")?, r.try_get("name")?), r.try_get("id")?)))
        .collect::<Result<_, sqlx::Error>>()?;
    let id = |task_id: i64, name: &str| ids[&(task_id, name.to_owned())];
    let (from, to): (Vec<i64>, Vec<i64>) =
        steps().flat_map(|(task_id, _, s)| s.dependencies().into_iter().map(move |d| (id(task_id, d), id(task_id, &s.name)))).unzip();
    if !from.is_empty() {
        sqlx::query("INSERT INTO tasker_step_edges (from_step_id, to_step_id) SELECT * FROM UNNEST($1::bigint[], $2::bigint[])")
            .bind(&from)
            .bind(&to)
            .execute(&mut *tx)
            .await?;
    }
    let all_ids: Vec<i64> = ids.values().copied().collect();
    record_created_steps(tx, &all_ids).await?;
    Ok(tasks
        .iter()
        .map(|(task_id, registered)| {
            let roots = registered.template.steps.iter().filter(|s| s.dependencies().is_empty());
            roots.map(|s| (id(*task_id, &s.name), s.step_type.as_str())).collect()
        })
        .collect())
}

/// The TaskRef of a task this transaction inserted and started: its row is the
/// transaction's own, so no lock or read is needed.
pub fn inserted_task(id: i64, request: &TaskRequest, parent: Option<Parent>) -> TaskRef {
    TaskRef {
        id,
        uuid: request.task_uuid,
        state: TaskState::InProgress,
        namespace: request.namespace.clone(),
        name: request.name.clone(),
        version: request.version.clone(),
        priority: request.priority,
        parent_step_id: parent.map(|p| p.step_id),
    }
}
