//! Messages and queues: the typed messages that cross `task_requests`, `{namespace}_queue`
//! and `step_results`, and the pgmq SQL we run inside our own transactions.

pub mod messages;
pub mod queues;

#[derive(Debug, thiserror::Error)]
pub enum MessagingError {
    #[error("invalid queue name {name:?}: {why}")]
    QueueName { name: String, why: String },
    #[error("message of {size} bytes exceeds the limit of {limit} bytes")]
    TooLarge { size: usize, limit: usize },
    #[error("malformed {kind}: {problem}")]
    Malformed { kind: &'static str, problem: String },
    #[error("queue error: {0}")]
    Sql(#[from] sqlx::Error),
}

impl MessagingError {
    pub fn kind(&self) -> crate::ErrorKind {
        use crate::ErrorKind;
        match self {
            MessagingError::QueueName { .. } => ErrorKind::QueueName,
            MessagingError::Sql(_) => ErrorKind::Database,
            MessagingError::TooLarge { .. } | MessagingError::Malformed { .. } => ErrorKind::Validation,
        }
    }
}
