//! Persists task templates so every orchestrator process resolves the same definition,
//! and loads them back by namespace, name and version.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::Value;
use sqlx::types::Json;
use sqlx::{PgConnection, PgPool, Row};
use tracing::info;

use super::OrchestrationError;
use crate::domain::template::TaskTemplate;
use crate::messaging::queues::{self, QueueName};

/// A registered template with the ids of its named steps.
#[derive(Debug, Clone)]
pub struct RegisteredTemplate {
    pub named_task_id: i64,
    pub template: TaskTemplate,
    pub named_step_ids: HashMap<String, i64>,
}

/// Reads every `*.yml` / `*.yaml` under the given files or directories (sorted, so the
/// order is stable). A bad template fails with its path in the message.
pub fn load_from_paths(paths: &[String]) -> Result<Vec<TaskTemplate>, OrchestrationError> {
    let mut files = Vec::new();
    for path in paths {
        collect_yaml_files(Path::new(path), &mut files)?;
    }
    files.sort();
    files
        .iter()
        .map(|file| {
            let text = std::fs::read_to_string(file).map_err(|e| file_error(file, e.to_string()))?;
            TaskTemplate::from_yaml(&text).map_err(|e| file_error(file, e.to_string()))
        })
        .collect()
}

fn collect_yaml_files(path: &Path, out: &mut Vec<PathBuf>) -> Result<(), OrchestrationError> {
    let meta = std::fs::metadata(path).map_err(|e| file_error(path, e.to_string()))?;
    if meta.is_file() {
        out.push(path.to_path_buf());
        return Ok(());
    }
    for entry in std::fs::read_dir(path).map_err(|e| file_error(path, e.to_string()))? {
        let entry = entry.map_err(|e| file_error(path, e.to_string()))?;
        let child = entry.path();
        if child.is_dir() {
            collect_yaml_files(&child, out)?;
        } else if matches!(child.extension().and_then(|e| e.to_str()), Some("yml" | "yaml")) {
            out.push(child);
        }
    }
    Ok(())
}

fn file_error(path: &Path, message: String) -> OrchestrationError {
    OrchestrationError::TemplateFile { path: path.display().to_string(), message }
}

/// Registers (or updates) a validated template and creates its namespace queue.
pub async fn register(pool: &PgPool, template: &TaskTemplate) -> Result<i64, OrchestrationError> {
    template.validate()?;
    let queue = QueueName::for_namespace(&template.namespace)?;
    let mut tx = pool.begin().await?;
    let namespace_id: i64 = sqlx::query_scalar(
        "INSERT INTO tasker_namespaces (name) VALUES ($1)
         ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name RETURNING id",
    )
    .bind(&template.namespace)
    .fetch_one(&mut *tx)
    .await?;
    let document = serde_json::to_value(template).expect("a template always serializes");
    let row = sqlx::query(
        "INSERT INTO tasker_named_tasks (namespace_id, name, version, description, template, digest)
         VALUES ($1, $2, $3, $4, $5, md5($5::text))
         ON CONFLICT (namespace_id, name, version) DO UPDATE
            SET template = EXCLUDED.template, digest = EXCLUDED.digest,
                description = EXCLUDED.description, updated_at = now()
         RETURNING id",
    )
    .bind(namespace_id)
    .bind(&template.name)
    .bind(&template.version)
    .bind(&template.description)
    .bind(Json(&document))
    .fetch_one(&mut *tx)
    .await?;
    let named_task_id: i64 = row.try_get("id")?;
    upsert_named_steps(&mut tx, named_task_id, template).await?;
    queues::create(&mut tx, &queue).await?;
    tx.commit().await?;
    info!(component = "orchestration.templates", template = template.key(), "template registered");
    Ok(named_task_id)
}

async fn upsert_named_steps(tx: &mut PgConnection, named_task_id: i64, template: &TaskTemplate) -> Result<(), OrchestrationError> {
    let names: Vec<&str> = template.steps.iter().map(|s| s.name.as_str()).collect();
    let handlers: Vec<&str> = template.steps.iter().map(|s| s.handler.as_str()).collect();
    let positions: Vec<i32> = (0..template.steps.len() as i32).collect();
    let policies: Vec<_> = template.steps.iter().map(|s| s.retry_policy()).collect();
    let max_attempts: Vec<i32> = policies.iter().map(|p| p.max_attempts).collect();
    let base: Vec<i64> = policies.iter().map(|p| p.backoff_base_ms).collect();
    let max: Vec<i64> = policies.iter().map(|p| p.backoff_max_ms).collect();
    sqlx::query(
        "INSERT INTO tasker_named_steps (named_task_id, name, handler, position, max_attempts, backoff_base_ms, backoff_max_ms)
         SELECT $1, * FROM UNNEST($2::text[], $3::text[], $4::int[], $5::int[], $6::bigint[], $7::bigint[])
         ON CONFLICT (named_task_id, name) DO UPDATE
            SET handler = EXCLUDED.handler, position = EXCLUDED.position, max_attempts = EXCLUDED.max_attempts,
                backoff_base_ms = EXCLUDED.backoff_base_ms, backoff_max_ms = EXCLUDED.backoff_max_ms",
    )
    .bind(named_task_id)
    .bind(&names)
    .bind(&handlers)
    .bind(&positions)
    .bind(&max_attempts)
    .bind(&base)
    .bind(&max)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Loads a registered template, or None when no such namespace/name/version exists.
pub async fn find(
    tx: &mut PgConnection,
    namespace: &str,
    name: &str,
    version: &str,
) -> Result<Option<RegisteredTemplate>, OrchestrationError> {
    let row = sqlx::query(
        "SELECT nt.id, nt.template
           FROM tasker_named_tasks nt JOIN tasker_namespaces ns ON ns.id = nt.namespace_id
          WHERE ns.name = $1 AND nt.name = $2 AND nt.version = $3",
    )
    .bind(namespace)
    .bind(name)
    .bind(version)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let named_task_id: i64 = row.try_get("id")?;
    let template = TaskTemplate::from_json(row.try_get::<Json<Value>, _>("template")?.0)?;
    let named_step_ids = sqlx::query("SELECT id, name FROM tasker_named_steps WHERE named_task_id = $1")
        .bind(named_task_id)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|r| Ok((r.try_get("name")?, r.try_get("id")?)))
        .collect::<Result<_, sqlx::Error>>()?;
    Ok(Some(RegisteredTemplate { named_task_id, template, named_step_ids }))
}

/// Versions registered for a namespace/name, to make "unknown version" errors helpful.
pub async fn known_versions(tx: &mut PgConnection, namespace: &str, name: &str) -> Result<Vec<String>, OrchestrationError> {
    let versions = sqlx::query_scalar(
        "SELECT nt.version FROM tasker_named_tasks nt JOIN tasker_namespaces ns ON ns.id = nt.namespace_id
          WHERE ns.name = $1 AND nt.name = $2 ORDER BY nt.version",
    )
    .bind(namespace)
    .bind(name)
    .fetch_all(&mut *tx)
    .await?;
    Ok(versions)
}
