//! Maps core errors to the Ruby exception classes of `lib/tasker_core/errors.rb`, by the
//! kind the core gives each error. Every message is masked: no credential leaves through an
//! exception.

use magnus::{prelude::*, Error, ExceptionClass, RModule, Ruby};
use tasker_orchestration::masking::mask_credentials;
use tasker_orchestration::{ErrorKind, RuntimeError};

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
    ruby_error(ruby, class_for(error.kind()), &error.to_string())
}

pub fn from_panic(ruby: &Ruby, message: &str) -> Error {
    ruby_error(ruby, "NativeError", &format!("panic in native code: {message}"))
}

fn class_for(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::Configuration => "ConfigurationError",
        ErrorKind::Database => "DatabaseError",
        ErrorKind::QueueName => "QueueNameError",
        ErrorKind::Validation => "ValidationError",
        ErrorKind::Template => "TemplateError",
        ErrorKind::InvalidTransition => "InvalidTransition",
        ErrorKind::NotFound => "TaskNotFound",
        ErrorKind::DeadLetterNotFound => "DeadLetterNotFound",
        ErrorKind::Orchestrator => "OrchestratorError",
    }
}
