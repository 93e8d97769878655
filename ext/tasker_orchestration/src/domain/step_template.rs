//! One step of a task template, as YAML writes it: name, handler, dependencies, retry
//! policy, and the fields of its type (see step_types).

use serde::{Deserialize, Serialize};

use super::step_types::{StepType, TypeFields};

pub const DEFAULT_MAX_ATTEMPTS: i32 = 3;
pub const DEFAULT_BACKOFF_BASE_MS: i64 = 1000;
pub const DEFAULT_BACKOFF_MAX_MS: i64 = 30_000;

/// `type` and its fields are flat in YAML (`type: map`, `over: items`); serde cannot refuse
/// unknown keys through a flattened struct, so a step is read as RawStep and converted.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(from = "RawStep", into = "RawStep")]
pub struct StepTemplate {
    pub name: String,
    /// Empty for the types that take none (wait_for_signal, sleep).
    pub handler: String,
    pub depends_on: Vec<String>,
    pub retry: Option<RetryPolicy>,
    pub description: Option<String>,
    pub step_type: StepType,
    pub fields: TypeFields,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct RawStep {
    name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    handler: String,
    #[serde(default)]
    depends_on: Vec<String>,
    #[serde(default)]
    retry: Option<RetryPolicy>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default, rename = "type", skip_serializing_if = "is_task")]
    step_type: StepType,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    branches: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    over: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    max_items: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    max_parallel: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    failure_policy: Option<super::step_types::FailurePolicy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    signal: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    timeout_s: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    on_timeout: Option<super::step_types::OnTimeout>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    duration_s: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    until: Option<String>,
}

fn is_task(step_type: &StepType) -> bool {
    *step_type == StepType::Task
}

impl From<RawStep> for StepTemplate {
    fn from(raw: RawStep) -> Self {
        let fields = TypeFields {
            branches: raw.branches,
            over: raw.over,
            max_items: raw.max_items,
            max_parallel: raw.max_parallel,
            failure_policy: raw.failure_policy,
            signal: raw.signal,
            timeout_s: raw.timeout_s,
            on_timeout: raw.on_timeout,
            duration_s: raw.duration_s,
            until: raw.until,
        };
        StepTemplate {
            name: raw.name,
            handler: raw.handler,
            depends_on: raw.depends_on,
            retry: raw.retry,
            description: raw.description,
            step_type: raw.step_type,
            fields,
        }
    }
}

impl From<StepTemplate> for RawStep {
    fn from(step: StepTemplate) -> Self {
        let f = step.fields;
        RawStep {
            name: step.name,
            handler: step.handler,
            depends_on: step.depends_on,
            retry: step.retry,
            description: step.description,
            step_type: step.step_type,
            branches: f.branches,
            over: f.over,
            max_items: f.max_items,
            max_parallel: f.max_parallel,
            failure_policy: f.failure_policy,
            signal: f.signal,
            timeout_s: f.timeout_s,
            on_timeout: f.on_timeout,
            duration_s: f.duration_s,
            until: f.until,
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RetryPolicy {
    #[serde(default = "default_max_attempts")]
    pub max_attempts: i32,
    #[serde(default = "default_backoff_base_ms")]
    pub backoff_base_ms: i64,
    #[serde(default = "default_backoff_max_ms")]
    pub backoff_max_ms: i64,
}

fn default_max_attempts() -> i32 {
    DEFAULT_MAX_ATTEMPTS
}
fn default_backoff_base_ms() -> i64 {
    DEFAULT_BACKOFF_BASE_MS
}
fn default_backoff_max_ms() -> i64 {
    DEFAULT_BACKOFF_MAX_MS
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self { max_attempts: DEFAULT_MAX_ATTEMPTS, backoff_base_ms: DEFAULT_BACKOFF_BASE_MS, backoff_max_ms: DEFAULT_BACKOFF_MAX_MS }
    }
}

impl StepTemplate {
    pub fn retry_policy(&self) -> RetryPolicy {
        self.retry.unwrap_or_default()
    }

    /// The steps this one waits for: `depends_on`, and a map step's `over` (implied).
    pub fn dependencies(&self) -> Vec<&str> {
        let mut deps: Vec<&str> = self.depends_on.iter().map(String::as_str).collect();
        if let Some(over) = self.fields.over.as_deref() {
            if !deps.contains(&over) {
                deps.push(over);
            }
        }
        deps
    }
}
