//! How a step of a template runs: a handler on a worker (`task`, the default), a handler that
//! chooses branches (`decision`), a handler run once per element of another step's result
//! (`map`), or no handler at all: waiting for a signal (`wait_for_signal`) or for a time
//! (`sleep`). Pure: the fields each type takes, their defaults and rules.

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::identifiers::is_name;

/// Items a map step may create unless its template says otherwise, and the most it may say.
pub const DEFAULT_MAX_ITEMS: u32 = 10_000;
pub const MAX_ITEMS_LIMIT: u32 = 100_000;
/// The longest wait a signal timeout or a sleep may ask for (ten years).
pub const MAX_WAIT_S: f64 = 315_360_000.0;

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum StepType {
    #[default]
    Task,
    Decision,
    Map,
    WaitForSignal,
    Sleep,
}

impl StepType {
    /// The `step_type` column's value (an item of a map step is `map_item`).
    pub fn as_str(self) -> &'static str {
        match self {
            StepType::Task => "task",
            StepType::Decision => "decision",
            StepType::Map => "map",
            StepType::WaitForSignal => "wait_for_signal",
            StepType::Sleep => "sleep",
        }
    }

    /// Runs a handler on a worker (the others wait without one).
    pub fn has_handler(self) -> bool {
        matches!(self, StepType::Task | StepType::Decision | StepType::Map)
    }
}

/// The `step_type` values of steps that start by a message to a worker (a map step's items
/// do; a map step itself starts by creating them).
pub const WORKER_STEP_TYPES: [&str; 3] = ["task", "decision", "map_item"];

/// Whether a step whose `step_type` column holds `column` starts by a message to a worker.
pub fn starts_on_worker(column: &str) -> bool {
    WORKER_STEP_TYPES.contains(&column)
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum FailurePolicy {
    /// The first item that fails for good fails the map step; unstarted items are cancelled.
    #[default]
    FailFast,
    /// Every item runs; the map step completes with each item's outcome.
    Collect,
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum OnTimeout {
    /// The step fails for good.
    #[default]
    Fail,
    /// The step is skipped, like a branch a decision did not choose.
    Skip,
    /// The step completes with a null result.
    Continue,
}

/// The type-specific fields of a step template, all optional in YAML; `check` says which
/// belong to which type.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TypeFields {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub branches: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub over: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_items: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_parallel: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_policy: Option<FailurePolicy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_s: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_timeout: Option<OnTimeout>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_s: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
}

impl TypeFields {
    /// Which fields `step_type` takes and whether their values hold (dependencies are the
    /// template's to check). The problem is phrased for "step <name>: ".
    pub fn check(&self, step_type: StepType) -> Result<(), String> {
        let present: [(&str, bool, &[StepType]); 10] = [
            ("branches", !self.branches.is_empty(), &[StepType::Decision]),
            ("over", self.over.is_some(), &[StepType::Map]),
            ("max_items", self.max_items.is_some(), &[StepType::Map]),
            ("max_parallel", self.max_parallel.is_some(), &[StepType::Map]),
            ("failure_policy", self.failure_policy.is_some(), &[StepType::Map]),
            ("signal", self.signal.is_some(), &[StepType::WaitForSignal]),
            ("timeout_s", self.timeout_s.is_some(), &[StepType::WaitForSignal]),
            ("on_timeout", self.on_timeout.is_some(), &[StepType::WaitForSignal]),
            ("duration_s", self.duration_s.is_some(), &[StepType::Sleep]),
            ("until", self.until.is_some(), &[StepType::Sleep]),
        ];
        for (field, given, types) in present {
            if given && !types.contains(&step_type) {
                return Err(format!("`{field}` applies to steps of type {} only", types[0].as_str()));
            }
        }
        match step_type {
            StepType::Task => Ok(()),
            StepType::Decision if self.branches.is_empty() => Err("a decision step needs `branches` (the steps it chooses among)".into()),
            StepType::Decision => Ok(()),
            StepType::Map => self.check_map(),
            StepType::WaitForSignal => self.check_signal(),
            StepType::Sleep => self.check_sleep(),
        }
    }

    fn check_map(&self) -> Result<(), String> {
        if self.over.is_none() {
            return Err("a map step needs `over` (the step whose result, an Array, it maps)".into());
        }
        if let Some(max) = self.max_items {
            if max == 0 || max > MAX_ITEMS_LIMIT {
                return Err(format!("max_items must be from 1 to {MAX_ITEMS_LIMIT}, got {max}"));
            }
        }
        if self.max_parallel == Some(0) {
            return Err("max_parallel must be at least 1".into());
        }
        Ok(())
    }

    fn check_signal(&self) -> Result<(), String> {
        match &self.signal {
            None => return Err("a wait_for_signal step needs `signal` (the name it waits for)".into()),
            Some(name) if !is_name(name) => return Err(format!("signal {name:?} must match ^[a-z][a-z0-9_]*$")),
            Some(_) => {}
        }
        if let Some(timeout) = self.timeout_s {
            check_seconds("timeout_s", timeout, false)?;
        } else if self.on_timeout.is_some() {
            return Err("on_timeout needs timeout_s".into());
        }
        Ok(())
    }

    fn check_sleep(&self) -> Result<(), String> {
        match (&self.duration_s, &self.until) {
            (Some(seconds), None) => check_seconds("duration_s", *seconds, true),
            (None, Some(path)) if is_context_path(path) => Ok(()),
            (None, Some(path)) => Err(format!("until {path:?} must be a context path like ship_at or order.ship_at")),
            _ => Err("a sleep step needs exactly one of `duration_s` or `until` (a context path holding an ISO-8601 time)".into()),
        }
    }

    pub fn max_items(&self) -> u32 {
        self.max_items.unwrap_or(DEFAULT_MAX_ITEMS)
    }

    /// What the step row keeps of its type (`settings`), defaults filled in; None for `task`.
    pub fn settings(&self, step_type: StepType) -> Option<Value> {
        let mut settings = match serde_json::to_value(self).expect("type fields always serialize") {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        match step_type {
            StepType::Task => return None,
            StepType::Map => {
                settings.insert("max_items".into(), json!(self.max_items()));
                settings.insert("failure_policy".into(), json!(self.failure_policy.unwrap_or_default()));
            }
            StepType::WaitForSignal if self.timeout_s.is_some() => {
                settings.insert("on_timeout".into(), json!(self.on_timeout.unwrap_or_default()));
            }
            _ => {}
        }
        Some(Value::Object(settings))
    }
}

fn check_seconds(field: &str, seconds: f64, zero_ok: bool) -> Result<(), String> {
    let low_ok = if zero_ok { seconds >= 0.0 } else { seconds > 0.0 };
    if seconds.is_finite() && low_ok && seconds <= MAX_WAIT_S {
        Ok(())
    } else {
        let low = if zero_ok { "0" } else { "more than 0" };
        Err(format!("{field} must be from {low} to {MAX_WAIT_S} seconds, got {seconds}"))
    }
}

/// `key` or `key.key...`: where in the task context a value is found.
pub fn is_context_path(path: &str) -> bool {
    path.len() <= 200 && path.split('.').all(|key| !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_belong_to_their_type() {
        let fields = TypeFields { branches: vec!["a".into()], ..Default::default() };
        assert_eq!(fields.check(StepType::Task).unwrap_err(), "`branches` applies to steps of type decision only");
        assert!(fields.check(StepType::Decision).is_ok());
        assert!(TypeFields::default().check(StepType::Decision).unwrap_err().contains("needs `branches`"));
    }

    #[test]
    fn maps_signals_and_sleeps_check_their_values() {
        let map = TypeFields { over: Some("items".into()), max_items: Some(0), ..Default::default() };
        assert!(map.check(StepType::Map).unwrap_err().contains("max_items must be from 1"));
        let signal = TypeFields { signal: Some("Approval!".into()), ..Default::default() };
        assert!(signal.check(StepType::WaitForSignal).unwrap_err().contains("must match"));
        let no_timeout = TypeFields { signal: Some("approval".into()), on_timeout: Some(OnTimeout::Skip), ..Default::default() };
        assert_eq!(no_timeout.check(StepType::WaitForSignal).unwrap_err(), "on_timeout needs timeout_s");
        let both = TypeFields { duration_s: Some(1.0), until: Some("at".into()), ..Default::default() };
        assert!(both.check(StepType::Sleep).unwrap_err().contains("exactly one"));
        let negative = TypeFields { duration_s: Some(-1.0), ..Default::default() };
        assert!(negative.check(StepType::Sleep).unwrap_err().contains("duration_s must be from 0"));
        let path = TypeFields { until: Some("order..at".into()), ..Default::default() };
        assert!(path.check(StepType::Sleep).unwrap_err().contains("context path"));
    }

    #[test]
    fn settings_fill_in_defaults() {
        let map = TypeFields { over: Some("items".into()), ..Default::default() };
        assert_eq!(
            map.settings(StepType::Map).unwrap(),
            json!({"over": "items", "max_items": DEFAULT_MAX_ITEMS, "failure_policy": "fail_fast"})
        );
        let signal = TypeFields { signal: Some("approval".into()), timeout_s: Some(5.0), ..Default::default() };
        assert_eq!(signal.settings(StepType::WaitForSignal).unwrap(), json!({"signal": "approval", "timeout_s": 5.0, "on_timeout": "fail"}));
        assert_eq!(TypeFields::default().settings(StepType::Task), None);
    }
}
