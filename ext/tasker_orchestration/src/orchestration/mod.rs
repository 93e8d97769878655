//! Orchestration: the template registry, task creation from requests, step dispatch,
//! result processing and task finalization, operator actions on tasks and dead letters. Every function that changes state takes an
//! open transaction, so a state change and the message it causes commit together.

pub mod acceptance;
pub mod children;
pub mod dead_letter_actions;
pub mod dead_letters;
pub mod decisions;
pub mod dispatch;
pub mod finalization;
pub mod map_retries;
pub mod maps;
pub mod operator_actions;
pub mod progress;
pub mod request_batches;
pub mod retention;
pub mod step_results;
pub mod task_requests;
pub mod task_rows;
pub mod template_registry;
pub mod transitions;
pub mod waits;

use crate::domain::states::StateError;
use crate::domain::template::TemplateError;
use crate::messaging::MessagingError;

#[derive(Debug, thiserror::Error)]
pub enum OrchestrationError {
    #[error("database error: {0}")]
    Sql(#[from] sqlx::Error),
    #[error(transparent)]
    Messaging(#[from] MessagingError),
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Template(#[from] TemplateError),
    #[error("template file {path}: {message}")]
    TemplateFile { path: String, message: String },
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    DeadLetterNotFound(String),
}

impl OrchestrationError {
    pub fn kind(&self) -> crate::ErrorKind {
        use crate::ErrorKind;
        match self {
            OrchestrationError::Sql(_) => ErrorKind::Database,
            OrchestrationError::Messaging(e) => e.kind(),
            OrchestrationError::State(_) => ErrorKind::InvalidTransition,
            OrchestrationError::Template(_) | OrchestrationError::TemplateFile { .. } => ErrorKind::Template,
            OrchestrationError::NotFound(_) => ErrorKind::NotFound,
            OrchestrationError::DeadLetterNotFound(_) => ErrorKind::DeadLetterNotFound,
        }
    }
}

/// What the core needs to know about a task while it holds the task's row lock.
#[derive(Debug, Clone)]
pub struct TaskRef {
    pub id: i64,
    pub uuid: uuid::Uuid,
    pub state: crate::domain::states::TaskState,
    pub namespace: String,
    pub name: String,
    pub version: String,
    pub priority: i32,
    /// The step awaiting this task, when it is a child task.
    pub parent_step_id: Option<i64>,
}

impl TaskRef {
    /// The columns `from_row` reads, for queries that join `tasker_tasks t`.
    pub const COLUMNS: &'static str = "t.id, t.uuid, t.state, t.priority, t.parent_step_id, ns.name AS namespace, nt.name, nt.version";
    /// The joins those columns need.
    pub const JOINS: &'static str = "JOIN tasker_named_tasks nt ON nt.id = t.named_task_id
               JOIN tasker_namespaces ns ON ns.id = nt.namespace_id";

    /// Locks the task row: every change to a task and its steps happens under this lock, so
    /// concurrent orchestrators serialise per task and finalization sees a stable picture.
    pub async fn lock(tx: &mut sqlx::PgConnection, task_id: i64) -> Result<Self, OrchestrationError> {
        let sql = format!("SELECT {} FROM tasker_tasks t {} WHERE t.id = $1 FOR UPDATE OF t", Self::COLUMNS, Self::JOINS);
        let row = sqlx::query(&sql).bind(task_id).fetch_one(&mut *tx).await?;
        Self::from_row(&row)
    }

    pub fn from_row(row: &sqlx::postgres::PgRow) -> Result<Self, OrchestrationError> {
        use sqlx::Row;
        Ok(Self {
            id: row.try_get("id")?,
            uuid: row.try_get("uuid")?,
            state: row.try_get::<String, _>("state")?.parse()?,
            namespace: row.try_get("namespace")?,
            name: row.try_get("name")?,
            version: row.try_get("version")?,
            priority: row.try_get("priority")?,
            parent_step_id: row.try_get("parent_step_id")?,
        })
    }
}
