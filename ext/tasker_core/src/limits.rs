//! The core's limits, for Ruby to check its own copies against (spec/native/limits_spec.rb):
//! `TaskerCore::Native._limits_private` returns them as JSON (`limits::limits_json`), and
//! `TaskerCore::Native._json_violation_private(json, path)` applies the core's JSON-value
//! rule (`limits::json_violation`), so the Ruby mirror (`Types::JsonValue`) can be compared
//! with the owner word for word.

use magnus::{function, Error, RModule, Ruby};
use tasker_orchestration::limits;

use crate::errors::{from_panic, ruby_error};
use crate::nogvl::nogvl;

pub fn define(native: RModule) -> Result<(), Error> {
    native.define_module_function("_limits_private", function!(limits_json, 0))?;
    native.define_module_function("_json_violation_private", function!(json_violation, 2))?;
    Ok(())
}

fn limits_json() -> String {
    limits::limits_json().to_string()
}

/// Why the value in `json` (found at `path`) would be refused, or nil when it is acceptable.
fn json_violation(ruby: &Ruby, json: String, path: String) -> Result<Option<String>, Error> {
    let outcome = nogvl(move || limits::json_violation(&json, &path)).map_err(|p| from_panic(ruby, &p))?;
    outcome.map_err(|e| ruby_error(ruby, "ValidationError", &e))
}
