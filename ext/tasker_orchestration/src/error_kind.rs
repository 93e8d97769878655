//! What kind of failure an error is, the one thing a host language needs to pick its own
//! exception class. Each module's error enum says its kind, so the adapter never matches
//! on the core's inner variants.

/// The kinds a host maps to its exceptions (`lib/tasker_core/errors.rb` for Ruby).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Settings that cannot be used.
    Configuration,
    /// The database refused, or could not be reached, migrated or prepared.
    Database,
    /// A queue name outside pgmq's rules.
    QueueName,
    /// Input refused before it changed anything: too large, malformed, not JSON.
    Validation,
    /// A task template that cannot be registered.
    Template,
    /// A state change the state machine does not allow.
    InvalidTransition,
    /// A task or step that does not exist.
    NotFound,
    /// A dead letter that does not exist (kept apart: a host names it with its own class).
    DeadLetterNotFound,
    /// The orchestrator itself: not running, used from a forked child, no runtime.
    Orchestrator,
}

#[cfg(test)]
mod tests {
    use super::ErrorKind;
    use crate::config::ConfigError;
    use crate::messaging::MessagingError;
    use crate::orchestration::OrchestrationError;
    use crate::RuntimeError;

    #[test]
    fn each_error_says_its_kind_through_every_wrapper() {
        let queue_name = || MessagingError::QueueName { name: "X".into(), why: "uppercase".into() };
        assert_eq!(RuntimeError::Messaging(queue_name()).kind(), ErrorKind::QueueName);
        assert_eq!(RuntimeError::Orchestration(OrchestrationError::Messaging(queue_name())).kind(), ErrorKind::QueueName);
        let malformed = MessagingError::Malformed { kind: "step_result", problem: "no step".into() };
        assert_eq!(RuntimeError::Messaging(malformed).kind(), ErrorKind::Validation);
        assert_eq!(RuntimeError::Orchestration(OrchestrationError::NotFound("task".into())).kind(), ErrorKind::NotFound);
        let letter = OrchestrationError::DeadLetterNotFound("dead letter 1 not found".into());
        assert_eq!(RuntimeError::Orchestration(letter).kind(), ErrorKind::DeadLetterNotFound);
        assert_eq!(RuntimeError::Actor(crate::domain::actor::InvalidActor::Empty).kind(), ErrorKind::Validation);
        assert_eq!(RuntimeError::Config(ConfigError::Invalid("x".into())).kind(), ErrorKind::Configuration);
        assert_eq!(RuntimeError::TooLarge { what: "template", size: 2, limit: 1 }.kind(), ErrorKind::Template);
        assert_eq!(RuntimeError::TooLarge { what: "configuration", size: 2, limit: 1 }.kind(), ErrorKind::Validation);
        assert_eq!(RuntimeError::NotRunning.kind(), ErrorKind::Orchestrator);
    }
}
