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

/// Declares the orchestrator's settings once: the struct, its defaults and the catalog
/// (`ORCHESTRATOR_SETTINGS`) that Ruby reads, so names, types, defaults, minimums and docs
/// cannot drift apart. Each setting's doc comment is its one-line documentation.
macro_rules! orchestrator_settings {
    ($( $(#[doc = $doc:literal])+ $name:ident: $ty:ty = $default:expr $(, min $min:literal)?; )+) => {
        #[derive(Debug, Clone, Serialize, Deserialize)]
        #[serde(default, deny_unknown_fields)]
        pub struct OrchestratorConfig {
            $( $(#[doc = $doc])+ pub $name: $ty, )+
        }

        impl Default for OrchestratorConfig {
            fn default() -> Self {
                Self { $( $name: $default, )+ }
            }
        }

        /// Every orchestrator setting, in declaration order.
        pub const ORCHESTRATOR_SETTINGS: &[SettingSpec] = &[
            $( SettingSpec {
                name: stringify!($name),
                kind: <$ty as SettingType>::KIND,
                minimum: { let _minimum: Option<u64> = None; $( let _minimum = Some($min); )? _minimum },
                maximum: <$ty as SettingType>::MAXIMUM,
                doc: concat!($($doc),+),
            }, )+
        ];
    };
}

orchestrator_settings! {
    /// Sleep between reads of an empty queue (without `listen`).
    poll_interval_ms: u64 = 50, min 1;
    /// How long a read message stays invisible to other orchestrators.
    visibility_timeout_s: i32 = 30, min 1;
    /// Messages read at once: step results applied, plain task requests created, in one
    /// transaction per batch.
    batch_size: i32 = 50, min 1;
    /// Task requests that are not plain (delayed, rejected, repeated...) handled at once,
    /// each on its own connection (at most `max_connections - 2`).
    request_concurrency: usize = 4, min 1;
    /// How long stop waits for in-flight messages before aborting the loops.
    shutdown_timeout_ms: u64 = 10_000, min 0;
    /// Largest payload (a request's context, a step's results) in bytes; a message may
    /// exceed it by the envelope allowance.
    max_message_bytes: usize = 1024 * 1024, min 1;
    /// Size of the orchestrator's connection pool (the results loop and the wake-up
    /// listener take one each).
    max_connections: u32 = 8, min 2;
    /// How long a start (or an operator action) keeps trying to connect while the server
    /// refuses connections, before it fails with the reason.
    connect_timeout_ms: u64 = 10_000, min 1;
    /// A message read this many times without being processed is set aside as poison.
    max_reads: i32 = 5, min 1;
    /// Wake on LISTEN/NOTIFY; false behind a transaction-mode pooler (no LISTEN there),
    /// loops then poll every `poll_interval_ms`.
    listen: bool = true;
    /// With `listen`, an idle loop still reads this often: notifications can be lost (and
    /// every loop is woken after the listener reconnects, so this is a last resort).
    fallback_poll_ms: u64 = 30000, min 1;
    /// Archived messages and dead letters older than this are deleted (0: kept forever).
    archive_retention_hours: u64 = 168, min 0;
    /// How often old archives are pruned.
    maintenance_interval_s: u64 = 600, min 1;
    /// How often, while idle, bloated queue and step tables are looked for and vacuumed
    /// (every second while messages flow; 0: left to autovacuum alone).
    vacuum_interval_s: u64 = 10, min 0;
}

/// One orchestrator setting as Ruby sees it (`TaskerCore::Native._orchestrator_settings_private`).
#[derive(Debug, Clone, Copy)]
pub struct SettingSpec {
    pub name: &'static str,
    /// "integer" or "boolean".
    pub kind: &'static str,
    pub minimum: Option<u64>,
    pub maximum: Option<u64>,
    pub doc: &'static str,
}

/// The JSON type and range of a setting's Rust type.
pub trait SettingType {
    const KIND: &'static str;
    const MAXIMUM: Option<u64>;
}

macro_rules! integer_setting_types {
    ($($ty:ty),+) => { $( impl SettingType for $ty {
        const KIND: &'static str = "integer";
        const MAXIMUM: Option<u64> = Some(<$ty>::MAX as u64);
    } )+ };
}
integer_setting_types!(u64, u32, i32, usize);

impl SettingType for bool {
    const KIND: &'static str = "boolean";
    const MAXIMUM: Option<u64> = None;
}

impl SettingSpec {
    /// The one-line documentation (doc comment lines joined).
    pub fn doc_line(&self) -> String {
        self.doc.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    /// Why `value` is not acceptable for this setting, naming it `orchestrator.<name>`.
    fn check(&self, value: &serde_json::Value) -> Result<(), String> {
        let key = format!("orchestrator.{}", self.name);
        if self.kind == "boolean" {
            return match value {
                serde_json::Value::Bool(_) => Ok(()),
                other => Err(format!("{key} must be true or false, got {other}")),
            };
        }
        let serde_json::Value::Number(number) = value else {
            return Err(format!("{key} must be an integer, got {value}"));
        };
        let text = number.to_string();
        let digits = text.strip_prefix('-').unwrap_or(&text);
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("{key} must be an integer, got {text}"));
        }
        let minimum = self.minimum.unwrap_or(0);
        match number.as_u64() {
            Some(n) if n < minimum => Err(format!("{key} must be >= {minimum}, got {text}")),
            Some(n) if self.maximum.is_some_and(|max| n > max) => {
                Err(format!("{key} must be <= {}, got {text}", self.maximum.unwrap_or(u64::MAX)))
            }
            Some(_) => Ok(()),
            None if text.starts_with('-') => Err(format!("{key} must be >= {minimum}, got {text}")),
            None => Err(format!("{key} must be <= {}, got {text}", self.maximum.unwrap_or(u64::MAX))),
        }
    }
}

/// The catalog as JSON, for Ruby: each setting's default, type, range and one-line doc.
pub fn orchestrator_settings_json() -> serde_json::Value {
    let defaults = serde_json::to_value(OrchestratorConfig::default()).unwrap_or_default();
    let settings = ORCHESTRATOR_SETTINGS.iter().map(|spec| {
        let entry = serde_json::json!({
            "default": defaults[spec.name],
            "type": spec.kind,
            "minimum": spec.minimum,
            "maximum": spec.maximum,
            "doc": spec.doc_line(),
        });
        (spec.name.to_owned(), entry)
    });
    serde_json::Value::Object(settings.collect())
}

/// Room for a message's own fields around its payload.
pub const ENVELOPE_BYTES: usize = 64 * 1024;

impl OrchestratorConfig {
    pub fn connect_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.connect_timeout_ms)
    }

    /// The largest message read in full: the payload limit plus the envelope allowance.
    pub fn max_read_bytes(&self) -> usize {
        self.max_message_bytes.saturating_add(ENVELOPE_BYTES)
    }

    /// The settings the user gave (a JSON object, any subset) over the defaults, each
    /// checked against `ORCHESTRATOR_SETTINGS` with an error naming the key.
    pub fn from_settings(settings: &serde_json::Value) -> Result<Self, ConfigError> {
        let serde_json::Value::Object(given) = settings else {
            return Err(ConfigError::Invalid(format!("orchestrator must be a mapping, got {settings}")));
        };
        for (name, value) in given {
            let spec = ORCHESTRATOR_SETTINGS.iter().find(|s| s.name == name).ok_or_else(|| {
                let known: Vec<_> = ORCHESTRATOR_SETTINGS.iter().map(|s| s.name).collect();
                ConfigError::Invalid(format!("unknown setting orchestrator.{name} (known: {})", known.join(", ")))
            })?;
            spec.check(value).map_err(ConfigError::Invalid)?;
        }
        let config: Self = serde_json::from_value(settings.clone())?;
        config.validate()?;
        Ok(config)
    }

    /// The rules that tie settings together (each one alone was checked by its spec).
    fn validate(&self) -> Result<(), ConfigError> {
        // The results loop and the wake-up listener need connections of their own.
        let most = u64::from(self.max_connections) - 2;
        if self.request_concurrency as u64 > most {
            return Err(ConfigError::Invalid(format!(
                "orchestrator.request_concurrency must be <= max_connections - 2 ({most}), got {}",
                self.request_concurrency
            )));
        }
        Ok(())
    }
}

fn default_log_level() -> String {
    "info".to_owned()
}

impl CoreConfig {
    pub fn from_json(json: &str) -> Result<Self, ConfigError> {
        let mut document: serde_json::Value = serde_json::from_str(json)?;
        // Read apart so that its errors name the setting (serde's would not).
        let orchestrator = document.as_object_mut().and_then(|o| o.remove("orchestrator"));
        let mut config: CoreConfig = serde_json::from_value(document)?;
        if let Some(settings) = orchestrator {
            config.orchestrator = OrchestratorConfig::from_settings(&settings)?;
        }
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
        self.orchestrator.validate()
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

    fn orchestrator_error(settings: serde_json::Value) -> String {
        let json = serde_json::json!({ "database_url": "postgres://x/y", "orchestrator": settings });
        CoreConfig::from_json(&json.to_string()).unwrap_err().to_string()
    }

    #[test]
    fn names_the_orchestrator_setting_it_refuses() {
        let error = orchestrator_error(serde_json::json!({"batch_size": 0}));
        assert_eq!(error, "invalid configuration: orchestrator.batch_size must be >= 1, got 0");
        let error = orchestrator_error(serde_json::json!({"nope": 1}));
        assert!(error.starts_with("invalid configuration: unknown setting orchestrator.nope (known: poll_interval_ms, "), "{error}");
        assert!(orchestrator_error(serde_json::json!({"listen": 1})).ends_with("orchestrator.listen must be true or false, got 1"));
        assert!(orchestrator_error(serde_json::json!({"max_reads": 1.5})).ends_with("orchestrator.max_reads must be an integer, got 1.5"));
        assert!(orchestrator_error(serde_json::json!({"max_reads": "5"})).ends_with(r#"must be an integer, got "5""#));
        assert!(orchestrator_error(serde_json::json!({"batch_size": 2_147_483_648_u64}))
            .ends_with("orchestrator.batch_size must be <= 2147483647, got 2147483648"));
        assert!(orchestrator_error(serde_json::json!({"poll_interval_ms": -1})).ends_with("must be >= 1, got -1"));
        let error = orchestrator_error(serde_json::json!({"request_concurrency": 7}));
        assert!(error.ends_with("orchestrator.request_concurrency must be <= max_connections - 2 (6), got 7"), "{error}");
        assert!(orchestrator_error(serde_json::json!([])).ends_with("orchestrator must be a mapping, got []"));
    }

    #[test]
    fn takes_any_setting_of_the_catalog() {
        let json = r#"{"database_url":"postgres://x/y","orchestrator":{"max_connections":16,"request_concurrency":14,"max_reads":9,"shutdown_timeout_ms":0}}"#;
        let o = CoreConfig::from_json(json).unwrap().orchestrator;
        assert_eq!((o.max_connections, o.request_concurrency, o.max_reads, o.shutdown_timeout_ms), (16, 14, 9, 0));
        assert_eq!(o.batch_size, OrchestratorConfig::default().batch_size);
    }

    #[test]
    fn the_catalog_lists_every_field_with_its_default_and_doc() {
        let catalog = orchestrator_settings_json();
        let defaults = serde_json::to_value(OrchestratorConfig::default()).unwrap();
        let names: Vec<_> = catalog.as_object().unwrap().keys().collect();
        assert_eq!(names, defaults.as_object().unwrap().keys().collect::<Vec<_>>());
        assert_eq!(catalog["max_connections"]["default"], 8);
        assert_eq!(catalog["listen"]["type"], "boolean");
        assert_eq!(catalog["batch_size"]["minimum"], 1);
        for (name, entry) in catalog.as_object().unwrap() {
            let doc = entry["doc"].as_str().unwrap();
            assert!(!doc.is_empty() && !doc.contains("  ") && !doc.starts_with(' '), "{name}: {doc:?}");
        }
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
