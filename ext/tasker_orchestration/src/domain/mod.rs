//! Pure domain logic: identifiers, task templates, state machines, retry backoff, the JSON
//! value rules, the actor of operator actions.

pub mod actor;
pub mod backoff;
pub mod identifiers;
pub mod input_schema;
pub mod json_rules;
pub mod states;
pub mod step_template;
pub mod step_types;
pub mod template;
