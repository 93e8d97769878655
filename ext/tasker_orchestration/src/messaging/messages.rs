//! The three message types. Field names are the wire format documented in
//! docs/ARCHITECTURE.md and mirrored by Ruby's TaskerCore::Types.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::MessagingError;
use crate::domain::identifiers::{is_name, is_namespace, is_version};
use crate::domain::json_rules;

pub const MAX_IDEMPOTENCY_KEY: usize = 255;
/// Namespace of idempotency-key task uuids (Ruby's Types::TaskRequest uses the same).
pub const IDEMPOTENCY_NAMESPACE: Uuid = Uuid::from_u128(0x6a8f_3c2e_51d4_4b7a_9e0c_7d1b_2f4e_8a93);

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TaskRequest {
    pub kind: String,
    pub task_uuid: Uuid,
    pub namespace: String,
    pub name: String,
    pub version: String,
    #[serde(default = "empty_object")]
    pub context: Value,
    #[serde(default)]
    pub priority: i32,
    #[serde(default)]
    pub idempotency_key: Option<String>,
    #[serde(default)]
    pub requested_at: Option<String>,
    /// RFC 3339 time before which the task's first steps stay invisible to workers.
    #[serde(default)]
    pub run_at: Option<String>,
    /// W3C trace context of the enqueuing request (`00-<trace id>-<parent id>-<flags>`),
    /// stored on the task and given to every step's handler.
    #[serde(default)]
    pub traceparent: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StepMessage {
    pub kind: String,
    pub task_uuid: Uuid,
    pub step_uuid: Uuid,
    pub step_name: String,
    pub handler: String,
    pub attempt: i32,
    pub namespace: String,
    pub task_name: String,
    pub task_version: String,
    /// The task's priority; the prioritized read orders by it, with aging.
    #[serde(default)]
    pub priority: i32,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ResultStatus {
    Success,
    Failure,
    /// The handler started a child task and awaits it (`await_task` names it).
    AwaitTask,
}

/// The child task a handler awaits (`step.await_task`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ChildTask {
    pub namespace: String,
    pub name: String,
    pub version: String,
    #[serde(default = "empty_object")]
    pub context: Value,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StepResult {
    pub kind: String,
    pub task_uuid: Uuid,
    pub step_uuid: Uuid,
    pub step_name: String,
    pub attempt: i32,
    pub status: ResultStatus,
    #[serde(default)]
    pub results: Value,
    #[serde(default)]
    pub error: Option<StepError>,
    #[serde(default)]
    pub await_task: Option<ChildTask>,
    #[serde(default)]
    pub worker_id: Option<String>,
    #[serde(default)]
    pub started_at: Option<String>,
    #[serde(default)]
    pub finished_at: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StepError {
    pub class: String,
    pub message: String,
    #[serde(default = "yes")]
    pub retryable: bool,
    #[serde(default)]
    pub retry_after: Option<f64>,
    #[serde(default)]
    pub backtrace: Vec<String>,
}

fn empty_object() -> Value {
    Value::Object(Default::default())
}
fn yes() -> bool {
    true
}

fn malformed(kind: &'static str, problem: impl Into<String>) -> MessagingError {
    MessagingError::Malformed { kind, problem: problem.into() }
}

/// Decodes a message of `kind`, naming the first problem (missing field, wrong type).
fn decode<T: DeserializeOwned>(kind: &'static str, value: &Value) -> Result<T, MessagingError> {
    if value.get("kind").and_then(Value::as_str) != Some(kind) {
        return Err(malformed(kind, format!("expected an object with \"kind\": \"{kind}\"")));
    }
    // The error names the field path ("priority: invalid type: ...").
    serde_path_to_error::deserialize(value.clone()).map_err(|e| {
        let path = e.path().to_string();
        let problem = e.into_inner().to_string();
        malformed(kind, if path == "." { problem } else { format!("{path}: {problem}") })
    })
}

impl TaskRequest {
    pub const KIND: &'static str = "task_request";

    /// The task uuid a request with this idempotency key gets, in every process and
    /// language: UUIDv5 of the key in a fixed namespace. Repeated requests therefore name
    /// the same task, and the orchestrator creates it once.
    pub fn idempotent_uuid(key: &str) -> Uuid {
        Uuid::new_v5(&IDEMPOTENCY_NAMESPACE, key.as_bytes())
    }

    pub fn run_at_time(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        self.run_at.as_deref().and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok()).map(|t| t.to_utc())
    }

    /// Decodes a request. A request with an idempotency key may leave `task_uuid` out: the
    /// core derives it from the key.
    pub fn from_value(value: &Value) -> Result<Self, MessagingError> {
        let derived = match value.as_object() {
            Some(object) if !object.contains_key("task_uuid") => object.get("idempotency_key").and_then(Value::as_str),
            _ => None,
        };
        let request: Self = match derived {
            Some(key) => {
                let mut value = value.clone();
                value["task_uuid"] = Self::idempotent_uuid(key).to_string().into();
                decode(Self::KIND, &value)?
            }
            None => decode(Self::KIND, value)?,
        };
        request.validate()?;
        Ok(request)
    }

    pub fn validate(&self) -> Result<(), MessagingError> {
        let bad = |p: String| malformed(Self::KIND, p);
        if !is_namespace(&self.namespace) {
            return Err(bad(format!("namespace {:?} is not a valid namespace", truncate(&self.namespace))));
        }
        if !is_name(&self.name) {
            return Err(bad(format!("name {:?} is not a valid task name", truncate(&self.name))));
        }
        if !is_version(&self.version) {
            return Err(bad(format!("version {:?} is not a semantic version", truncate(&self.version))));
        }
        if !self.context.is_object() {
            return Err(bad("context must be a JSON object".into()));
        }
        json_rules::check(&self.context, "context").map_err(bad)?;
        if let Some(key) = &self.idempotency_key {
            if key.is_empty() || key.len() > MAX_IDEMPOTENCY_KEY {
                return Err(bad(format!("idempotency_key must be 1 to {MAX_IDEMPOTENCY_KEY} bytes")));
            }
            let expected = Self::idempotent_uuid(key);
            if self.task_uuid != expected {
                return Err(bad(format!(
                    "task_uuid {} is not the UUIDv5 of its idempotency_key (expected {expected}; or leave task_uuid out)",
                    self.task_uuid
                )));
            }
        }
        if let Some(traceparent) = &self.traceparent {
            if !is_traceparent(traceparent) {
                return Err(bad(format!(
                    "traceparent {:?} is not a W3C traceparent (00-<32 lowercase hex, not all 0>-<16 lowercase hex, not all 0>-<2 hex>)",
                    truncate(traceparent)
                )));
            }
        }
        for (field, time) in [("run_at", &self.run_at), ("requested_at", &self.requested_at)] {
            if let Some(time) = time {
                if chrono::DateTime::parse_from_rfc3339(time).is_err() {
                    return Err(bad(format!("{field} {:?} is not an RFC 3339 time", truncate(time))));
                }
            }
        }
        Ok(())
    }
}

impl StepMessage {
    pub const KIND: &'static str = "step";
}

/// Asks the orchestrator to look at a waiting step again (on step_results): its timer may
/// be due, its signal sent, its child task finished. Only the database decides what that
/// means, so a repeated or early wake changes nothing.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Wake {
    pub kind: String,
    pub task_uuid: Uuid,
    pub step_uuid: Uuid,
    /// Why it was sent (timer, signal, child, retry): for the record only.
    #[serde(default)]
    pub reason: Option<String>,
}

impl Wake {
    pub const KIND: &'static str = "wake";

    pub fn message(task_uuid: Uuid, step_uuid: Uuid, reason: &str) -> Value {
        serde_json::json!({"kind": Self::KIND, "task_uuid": task_uuid, "step_uuid": step_uuid, "reason": reason})
    }

    pub fn from_value(value: &Value) -> Result<Self, MessagingError> {
        decode(Self::KIND, value)
    }
}

impl StepResult {
    pub const KIND: &'static str = "step_result";

    pub fn from_value(value: &Value) -> Result<Self, MessagingError> {
        let result: Self = decode(Self::KIND, value)?;
        json_rules::check(&result.results, "results").map_err(|p| malformed(Self::KIND, p))?;
        if result.status == ResultStatus::Failure && result.error.is_none() {
            return Err(malformed(Self::KIND, "a failure needs an error object"));
        }
        match &result.await_task {
            None if result.status == ResultStatus::AwaitTask => {
                return Err(malformed(Self::KIND, "await_task needs the child task (namespace, name, version, context)"));
            }
            Some(child) => json_rules::check(&child.context, "await_task.context").map_err(|p| malformed(Self::KIND, p))?,
            None => {}
        }
        if result.attempt < 1 {
            return Err(malformed(Self::KIND, "attempt must be >= 1"));
        }
        Ok(result)
    }
}

/// A W3C Trace Context `traceparent` of version 00: `00-` 32 lowercase hex digits (the trace
/// id) `-` 16 (the parent span id) `-` 2 (the flags); an all-zero trace or span id is invalid
/// (Trace Context, section 3.2). Other versions are refused rather than guessed at: 00 is the
/// only one defined. Ruby's Instrumentation::Traceparent applies the same rule, and so does the
/// column's check.
pub fn is_traceparent(text: &str) -> bool {
    let hex = |part: &str, len: usize| part.len() == len && part.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    let parts: Vec<&str> = text.split('-').collect();
    let [version, trace_id, span_id, flags] = parts.as_slice() else { return false };
    *version == "00"
        && hex(trace_id, 32)
        && hex(span_id, 16)
        && hex(flags, 2)
        && trace_id.bytes().any(|b| b != b'0')
        && span_id.bytes().any(|b| b != b'0')
}

fn truncate(s: &str) -> String {
    s.chars().take(80).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn request() -> Value {
        json!({"kind": "task_request", "task_uuid": "0192f6c4-8f3a-7c1e-9d4b-1a2b3c4d5e6f",
               "namespace": "linear_workflow", "name": "mathematical_sequence", "version": "1.0.0",
               "context": {"even_number": 6}})
    }

    #[test]
    fn decodes_a_request_with_defaults() {
        let r = TaskRequest::from_value(&request()).unwrap();
        assert_eq!(r.priority, 0);
        assert_eq!(r.context["even_number"], 6);
    }

    #[test]
    fn names_what_is_wrong() {
        let mut wrong_type = request();
        wrong_type["priority"] = json!("high");
        let err = TaskRequest::from_value(&wrong_type).unwrap_err().to_string();
        assert!(err.contains("priority: invalid type: string \"high\""), "{err}");
        let mut injected = request();
        injected["namespace"] = json!("x'; drop table tasks; --");
        assert!(TaskRequest::from_value(&injected).unwrap_err().to_string().contains("namespace"));
        assert!(TaskRequest::from_value(&json!("just a string")).unwrap_err().to_string().contains("kind"));
        let mut no_uuid = request();
        no_uuid.as_object_mut().unwrap().remove("task_uuid");
        assert!(TaskRequest::from_value(&no_uuid).unwrap_err().to_string().contains("task_uuid"));
    }

    #[test]
    fn big_numbers_survive_a_round_trip() {
        let text = r#"{"kind":"step_result","task_uuid":"0192f6c4-8f3a-7c1e-9d4b-1a2b3c4d5e6f",
            "step_uuid":"0192f6c4-8f3a-7c1e-9d4b-1a2b3c4d5e6f","step_name":"s","attempt":1,
            "status":"success","results":{"n":18446744073709551616123}}"#;
        let value: Value = serde_json::from_str(text).unwrap();
        let result = StepResult::from_value(&value).unwrap();
        assert_eq!(result.results.to_string(), r#"{"n":18446744073709551616123}"#);
    }

    #[test]
    fn idempotency_keys_map_to_stable_v5_uuids() {
        let a = TaskRequest::idempotent_uuid("order-42");
        assert_eq!(a, TaskRequest::idempotent_uuid("order-42"));
        assert_ne!(a, TaskRequest::idempotent_uuid("order-43"));
        assert_eq!(a.get_version_num(), 5);
        // Pinned (Python: uuid5(IDEMPOTENCY_NAMESPACE, "order-42")); the Ruby client computes the same.
        assert_eq!(a.to_string(), "55989b08-cac5-52d6-96e1-1a0eab7e9a86");
    }

    #[test]
    fn run_at_must_be_a_time() {
        let mut value = request();
        value["run_at"] = json!("tomorrow");
        assert!(TaskRequest::from_value(&value).unwrap_err().to_string().contains("run_at"));
        value["run_at"] = json!("2030-01-01T00:00:00Z");
        assert_eq!(TaskRequest::from_value(&value).unwrap().run_at_time().unwrap().to_rfc3339(), "2030-01-01T00:00:00+00:00");
    }

    #[test]
    fn traceparents_follow_the_w3c_format() {
        let valid = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let mut value = request();
        value["traceparent"] = json!(valid);
        assert_eq!(TaskRequest::from_value(&value).unwrap().traceparent.as_deref(), Some(valid));
        assert_eq!(TaskRequest::from_value(&request()).unwrap().traceparent, None);
        for bad in [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473-600f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\u{0}",
        ] {
            value["traceparent"] = json!(bad);
            let err = TaskRequest::from_value(&value).unwrap_err().to_string();
            assert!(err.contains("traceparent"), "{bad:?}: {err}");
        }
        value["traceparent"] = json!(42);
        assert!(TaskRequest::from_value(&value).unwrap_err().to_string().contains("traceparent"));
    }

    #[test]
    fn failures_carry_retry_hints() {
        let value = json!({"kind":"step_result","task_uuid":"0192f6c4-8f3a-7c1e-9d4b-1a2b3c4d5e6f",
            "step_uuid":"0192f6c4-8f3a-7c1e-9d4b-1a2b3c4d5e6f","step_name":"s","attempt":2,
            "status":"failure","error":{"class":"RetryableError","message":"later","retry_after":1.5}});
        let result = StepResult::from_value(&value).unwrap();
        let error = result.error.unwrap();
        assert_eq!(error.retry_after, Some(1.5));
        assert!(error.retryable);
        let mut no_error = value.clone();
        no_error["error"] = Value::Null;
        assert!(StepResult::from_value(&no_error).is_err());
    }
}
