//! Configuration of the core, received as JSON (from Ruby's `TaskerCore::Config`, or a file).

use serde::{Deserialize, Serialize};

use crate::masking::mask_credentials;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("invalid configuration JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CoreConfig {
    pub database_url: String,
    #[serde(default)]
    pub template_paths: Vec<String>,
    #[serde(default = "default_log_level")]
    pub log_level: String,
    #[serde(default)]
    pub orchestrator: OrchestratorConfig,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OrchestratorConfig {
    /// Sleep between reads of an empty queue.
    pub poll_interval_ms: u64,
    /// How long a read message stays invisible to other orchestrators.
    pub visibility_timeout_s: i32,
    pub batch_size: i32,
    /// Task requests of a batch turned into tasks at once (each in its own transaction).
    pub request_concurrency: usize,
    /// How long stop waits for in-flight messages before aborting the loops.
    pub shutdown_timeout_ms: u64,
    /// Payloads (a request's context, a step's results) larger than this are rejected;
    /// a message may exceed it by the envelope allowance.
    pub max_message_bytes: usize,
    pub max_connections: u32,
    /// A message read this many times without being processed is set aside as poison.
    pub max_reads: i32,
    /// Wake on LISTEN/NOTIFY. Off behind a transaction-mode pooler (no LISTEN there):
    /// loops then poll every `poll_interval_ms`.
    pub listen: bool,
    /// With `listen`, an idle loop still reads this often: notifications can be lost.
    pub fallback_poll_ms: u64,
    /// Archived messages and dead letters older than this are deleted (0: kept forever).
    pub archive_retention_hours: u64,
    /// How often old archives are pruned.
    pub maintenance_interval_s: u64,
    /// How often bloated queue and step tables are looked for (and vacuumed, a backstop for
    /// autovacuum) while idle; every second while messages flow. 0 leaves them to
    /// autovacuum alone.
    pub vacuum_interval_s: u64,
}

impl Default for OrchestratorConfig {
    fn default() -> Self {
        Self {
            poll_interval_ms: 50,
            visibility_timeout_s: 30,
            batch_size: 50,
            request_concurrency: 4,
            shutdown_timeout_ms: 10_000,
            max_message_bytes: 1024 * 1024,
            max_connections: 8,
            max_reads: 5,
            listen: true,
            fallback_poll_ms: 5000,
            archive_retention_hours: 168,
            maintenance_interval_s: 600,
            vacuum_interval_s: 10,
        }
    }
}

/// Room for a message's own fields around its payload.
pub const ENVELOPE_BYTES: usize = 64 * 1024;

impl OrchestratorConfig {
    /// The largest message read in full: the payload limit plus the envelope allowance.
    pub fn max_read_bytes(&self) -> usize {
        self.max_message_bytes.saturating_add(ENVELOPE_BYTES)
    }
}

fn default_log_level() -> String {
    "info".to_owned()
}

impl CoreConfig {
    pub fn from_json(json: &str) -> Result<Self, ConfigError> {
        let config: CoreConfig = serde_json::from_str(json)?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if !(self.database_url.starts_with("postgres://") || self.database_url.starts_with("postgresql://")) {
            return Err(ConfigError::Invalid(format!(
                "database_url must be a postgres:// URL, got {}",
                mask_credentials(&self.database_url)
            )));
        }
        let o = &self.orchestrator;
        if o.batch_size < 1 || o.visibility_timeout_s < 1 || o.max_connections < 2 {
            return Err(ConfigError::Invalid(
                "orchestrator.batch_size and visibility_timeout_s must be >= 1, max_connections >= 2".into(),
            ));
        }
        // The results loop and the wake-up listener need connections of their own.
        if o.request_concurrency < 1 || o.request_concurrency as u64 > u64::from(o.max_connections) - 2 {
            return Err(ConfigError::Invalid(format!(
                "orchestrator.request_concurrency must be between 1 and max_connections - 2 ({}), got {}",
                o.max_connections.saturating_sub(2),
                o.request_concurrency
            )));
        }
        Ok(())
    }

    pub fn masked_database_url(&self) -> String {
        mask_credentials(&self.database_url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_passwords_and_keeps_the_rest() {
        let masked = |url: &str| {
            let json = serde_json::json!({ "database_url": url }).to_string();
            CoreConfig::from_json(&json).unwrap().masked_database_url()
        };
        assert_eq!(masked("postgres://u:secret@h:5432/db"), "postgres://u:***@h:5432/db");
        assert_eq!(masked("postgres://u@h/db?password=secret"), "postgres://u@h/db?password=***");
        assert_eq!(masked("postgres://u:se?cr#et@h/db"), "postgres://u:***@h/db");
        assert_eq!(masked("postgres://u@h/db"), "postgres://u@h/db");
    }

    #[test]
    fn rejects_unknown_fields_and_bad_urls() {
        assert!(CoreConfig::from_json(r#"{"database_url":"postgres://x/y","nope":1}"#).is_err());
        let err = CoreConfig::from_json(r#"{"database_url":"mysql://u:pw@x/y"}"#).unwrap_err();
        assert!(!err.to_string().contains("pw"), "{err}");
        let query = r#"{"database_url":"mysql://u@x/y?password=pw"}"#;
        let err = CoreConfig::from_json(query).unwrap_err().to_string();
        assert!(err.ends_with("mysql://u@x/y?password=***"), "{err}");
        assert!(CoreConfig::from_json(r#"{"database_url":"postgres://x/y"}"#).is_ok());
    }
}
