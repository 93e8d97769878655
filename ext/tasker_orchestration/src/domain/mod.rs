//! Pure domain logic: identifiers, task templates, state machines, retry backoff.

pub mod backoff;
pub mod identifiers;
pub mod input_schema;
pub mod states;
pub mod template;
