//! Every limit a host must know, gathered from the modules that own them, and the JSON-value
//! rule applied to any text: Ruby checks its mirrors (`Types::Limits`, `Types::JsonValue`)
//! against these (spec/native/limits_spec.rb).

use serde_json::{json, Value};

pub use crate::config::ENVELOPE_BYTES;
pub use crate::domain::actor::MAX_ACTOR_BYTES;
pub use crate::domain::json_rules::{MAX_INTEGER_DIGITS, MAX_JSON_DEPTH, MAX_MESSAGE_DEPTH};
pub use crate::messaging::messages::MAX_IDEMPOTENCY_KEY;
pub use crate::runtime::boundary::{check_size, MAX_CONFIG_JSON_BYTES, MAX_TEMPLATE_BYTES};

use crate::config::OrchestratorConfig;
use crate::domain::json_rules;

/// The limits as one JSON object, keyed as Ruby's `Types::Limits` names them.
pub fn limits_json() -> Value {
    json!({
        "max_json_depth": MAX_JSON_DEPTH,
        "max_message_depth": MAX_MESSAGE_DEPTH,
        "max_integer_digits": MAX_INTEGER_DIGITS,
        "envelope_bytes": ENVELOPE_BYTES,
        "max_idempotency_key_bytes": MAX_IDEMPOTENCY_KEY,
        "max_actor_bytes": MAX_ACTOR_BYTES,
        "max_message_bytes": OrchestratorConfig::default().max_message_bytes,
    })
}

/// Why the JSON value in `text` (found at `path`) would be refused (`Ok(Some(reason))`), or
/// `Ok(None)` when it is acceptable; `Err` when the text is not JSON or longer than a message
/// may be. Depth is measured on the text before parsing, so any text is safe to pass.
pub fn json_violation(text: &str, path: &str) -> Result<Option<String>, String> {
    let limit = OrchestratorConfig::default().max_read_bytes();
    if text.len() > limit {
        return Err(format!("JSON of {} bytes exceeds {limit}", text.len()));
    }
    if json_rules::text_depth(text, MAX_JSON_DEPTH) > MAX_JSON_DEPTH {
        return Ok(Some(format!("{path} is nested deeper than {MAX_JSON_DEPTH} levels")));
    }
    let value: Value = serde_json::from_str(text).map_err(|e| format!("invalid JSON: {e}"))?;
    Ok(json_rules::check(&value, path).err())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_violation_names_the_path_and_refuses_non_json() {
        assert_eq!(json_violation("{\"a\": 1}", "context"), Ok(None));
        let deep = format!("{}{}", "[".repeat(MAX_JSON_DEPTH + 1), "]".repeat(MAX_JSON_DEPTH + 1));
        assert_eq!(json_violation(&deep, "results").unwrap().unwrap(), format!("results is nested deeper than {MAX_JSON_DEPTH} levels"));
        assert!(json_violation("{", "context").unwrap_err().starts_with("invalid JSON"));
    }
}
