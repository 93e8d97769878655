//! Pure domain logic: identifiers, task templates, state machines, retry backoff, the JSON
//! value rules.

pub mod backoff;
pub mod identifiers;
pub mod input_schema;
pub mod json_rules;
pub mod states;
pub mod template;
