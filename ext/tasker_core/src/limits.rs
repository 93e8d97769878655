//! The core's limits, for Ruby to check its own copies against (spec/native/limits_spec.rb):
//! `TaskerCore::Native._limits_private` returns them as JSON, and
//! `TaskerCore::Native._json_violation_private(json, path)` applies `json_rules::check`, so
//! the Ruby mirror (`Types::JsonValue`) can be compared with the owner word for word.

use magnus::{function, Error, RModule, Ruby};
use serde_json::{json, Value};
use tasker_orchestration::config::{OrchestratorConfig, ENVELOPE_BYTES};
use tasker_orchestration::domain::json_rules::{self, MAX_INTEGER_DIGITS, MAX_JSON_DEPTH, MAX_MESSAGE_DEPTH};
use tasker_orchestration::messaging::messages::MAX_IDEMPOTENCY_KEY;

use crate::errors::{from_panic, ruby_error};
use crate::nogvl::nogvl;

pub fn define(native: RModule) -> Result<(), Error> {
    native.define_module_function("_limits_private", function!(limits, 0))?;
    native.define_module_function("_json_violation_private", function!(json_violation, 2))?;
    Ok(())
}

fn limits() -> String {
    json!({
        "max_json_depth": MAX_JSON_DEPTH,
        "max_message_depth": MAX_MESSAGE_DEPTH,
        "max_integer_digits": MAX_INTEGER_DIGITS,
        "envelope_bytes": ENVELOPE_BYTES,
        "max_idempotency_key_bytes": MAX_IDEMPOTENCY_KEY,
        "max_message_bytes": OrchestratorConfig::default().max_message_bytes,
    })
    .to_string()
}

/// Why the value in `json` (found at `path`) would be refused, or nil when it is acceptable.
/// Input is bounded like a message (the default payload limit plus the envelope) and its
/// depth measured before parsing, so any text is safe to pass.
fn json_violation(ruby: &Ruby, json: String, path: String) -> Result<Option<String>, Error> {
    let limit = OrchestratorConfig::default().max_read_bytes();
    if json.len() > limit {
        return Err(ruby_error(ruby, "ValidationError", &format!("JSON of {} bytes exceeds {limit}", json.len())));
    }
    let outcome = nogvl(move || {
        if json_rules::text_depth(&json, MAX_JSON_DEPTH) > MAX_JSON_DEPTH {
            return Ok(Some(format!("{path} is nested deeper than {MAX_JSON_DEPTH} levels")));
        }
        let value: Value = serde_json::from_str(&json).map_err(|e| e.to_string())?;
        Ok(json_rules::check(&value, &path).err())
    })
    .map_err(|p| from_panic(ruby, &p))?;
    outcome.map_err(|e: String| ruby_error(ruby, "ValidationError", &format!("invalid JSON: {e}")))
}
