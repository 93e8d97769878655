//! Maps core errors to the Ruby exception classes of `lib/tasker_core/errors.rb`.
//! Every message is masked: no credential leaves through an exception.

use magnus::{prelude::*, Error, ExceptionClass, RModule, Ruby};
use tasker_orchestration::masking::mask_credentials;
use tasker_orchestration::messaging::MessagingError;
use tasker_orchestration::orchestration::OrchestrationError;
use tasker_orchestration::RuntimeError;

/// Builds `TaskerCore::<class_name>` with `message`; falls back to RuntimeError if the Ruby
/// side did not define the class (it always should).
pub fn ruby_error(ruby: &Ruby, class_name: &str, message: &str) -> Error {
    let message = mask_credentials(message);
    let class = ruby.class_object().const_get::<_, RModule>("TaskerCore").and_then(|m| m.const_get::<_, ExceptionClass>(class_name));
    match class {
        Ok(class) => Error::new(class, message),
        Err(_) => Error::new(ruby.exception_runtime_error(), format!("{class_name}: {message}")),
    }
}

pub fn from_runtime(ruby: &Ruby, error: &RuntimeError) -> Error {
    ruby_error(ruby, class_for(error), &error.to_string())
}

pub fn from_panic(ruby: &Ruby, message: &str) -> Error {
    ruby_error(ruby, "NativeError", &format!("panic in native code: {message}"))
}

fn class_for(error: &RuntimeError) -> &'static str {
    match error {
        RuntimeError::Config(_) => "ConfigurationError",
        RuntimeError::Db(_) => "DatabaseError",
        RuntimeError::Messaging(e) => messaging_class(e),
        RuntimeError::Orchestration(e) => match e {
            OrchestrationError::Template(_) | OrchestrationError::TemplateFile { .. } => "TemplateError",
            OrchestrationError::Messaging(e) => messaging_class(e),
            OrchestrationError::Sql(_) => "DatabaseError",
            OrchestrationError::State(_) => "InvalidTransition",
            OrchestrationError::NotFound(_) => "TaskNotFound",
        },
        RuntimeError::TooLarge { what: "template", .. } => "TemplateError",
        RuntimeError::TooLarge { .. } => "ValidationError",
        RuntimeError::NotRunning | RuntimeError::ForkedChild { .. } | RuntimeError::Runtime(_) => "OrchestratorError",
    }
}

fn messaging_class(error: &MessagingError) -> &'static str {
    match error {
        MessagingError::QueueName { .. } => "QueueNameError",
        MessagingError::Sql(_) => "DatabaseError",
        MessagingError::TooLarge { .. } | MessagingError::Malformed { .. } => "ValidationError",
    }
}
