//! The orchestrator's settings, owned by the core (`config::ORCHESTRATOR_SETTINGS`), for
//! Ruby's `TaskerCore::Config`:
//! `TaskerCore::Native._orchestrator_settings_private` returns the catalog as JSON (each key
//! with its default, type, range and doc), and
//! `TaskerCore::Native._orchestrator_config_private(json)` checks the settings a user gave
//! (a JSON object) and returns every effective value, or raises ConfigurationError naming
//! the key.

use magnus::{function, Error, RModule, Ruby};
use tasker_orchestration::config::orchestrator_settings_json;
use tasker_orchestration::{ConfigError, OrchestratorConfig};

use crate::errors::ruby_error;

pub fn define(native: RModule) -> Result<(), Error> {
    native.define_module_function("_orchestrator_settings_private", function!(settings, 0))?;
    native.define_module_function("_orchestrator_config_private", function!(effective, 1))?;
    Ok(())
}

fn settings() -> String {
    orchestrator_settings_json().to_string()
}

fn effective(ruby: &Ruby, json: String) -> Result<String, Error> {
    let config = serde_json::from_str(&json)
        .map_err(ConfigError::from)
        .and_then(|settings| OrchestratorConfig::from_settings(&settings))
        .map_err(|e| ruby_error(ruby, "ConfigurationError", &message(e)))?;
    serde_json::to_string(&config).map_err(|e| ruby_error(ruby, "ConfigurationError", &e.to_string()))
}

/// The reason alone: Ruby's ConfigurationError already says what kind of error it is.
fn message(error: ConfigError) -> String {
    match error {
        ConfigError::Invalid(reason) => reason,
        other => other.to_string(),
    }
}
