//! Property-based fuzzing of everything that parses untrusted input: queue messages,
//! templates, JSON across the native boundary, and input-schema validation. No input may
//! panic; accepted input must satisfy the invariants. The suite runs a short pass
//! (proptest's default case count); for a long run:
//!
//!     PROPTEST_CASES=200000 cargo test --release -p tasker_orchestration --test fuzz

use proptest::prelude::*;
use serde_json::{json, Value};
use tasker_orchestration::config::CoreConfig;
use tasker_orchestration::domain::input_schema;
use tasker_orchestration::domain::template::TaskTemplate;
use tasker_orchestration::messaging::messages::{StepResult, TaskRequest};
use tasker_orchestration::prepare_request;

/// Arbitrary JSON, nested a few levels, biased towards the field names our messages use.
fn json_value() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        Just("kind".to_owned()),
        Just("task_uuid".to_owned()),
        Just("namespace".to_owned()),
        Just("name".to_owned()),
        Just("version".to_owned()),
        Just("context".to_owned()),
        Just("attempt".to_owned()),
        Just("status".to_owned()),
        Just("error".to_owned()),
        Just("results".to_owned()),
        "[a-z_]{1,12}".prop_map(|s| s),
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Value::from),
        "\\PC{0,40}".prop_map(Value::String),
        Just(json!("task_request")),
        Just(json!("step_result")),
        Just(json!("step")),
        Just(json!("0192f6c4-8f3a-7c1e-9d4b-1a2b3c4d5e6f")),
        Just(json!("1.0.0")),
    ];
    leaf.prop_recursive(4, 64, 8, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(key.clone(), inner, 0..8).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn valid_request() -> Value {
    json!({"kind": "task_request", "task_uuid": "0192f6c4-8f3a-7c1e-9d4b-1a2b3c4d5e6f", "namespace": "linear_workflow",
           "name": "mathematical_sequence", "version": "1.0.0", "context": {"even_number": 6}})
}

proptest! {
    #[test]
    fn messages_never_panic_on_arbitrary_json(value in json_value()) {
        let _ = TaskRequest::from_value(&value);
        let _ = StepResult::from_value(&value);
    }

    #[test]
    fn a_request_with_one_field_replaced_is_accepted_only_if_still_valid(field in "kind|task_uuid|namespace|name|version|context|priority|idempotency_key|run_at", replacement in json_value()) {
        let mut value = valid_request();
        value[field.as_str()] = replacement;
        if let Ok(request) = TaskRequest::from_value(&value) {
            prop_assert!(request.context.is_object());
            prop_assert!(tasker_orchestration::domain::identifiers::is_namespace(&request.namespace));
            prop_assert!(tasker_orchestration::domain::identifiers::is_version(&request.version));
        }
    }

    #[test]
    fn the_boundary_never_panics_on_arbitrary_text(text in "\\PC{0,200}") {
        let _ = prepare_request(&text, 1024);
        let _ = CoreConfig::from_json(&text);
        let _ = TaskTemplate::from_yaml(&text);
    }

    #[test]
    fn the_boundary_never_panics_on_arbitrary_json(value in json_value()) {
        let text = value.to_string();
        if let Ok((sent, request)) = prepare_request(&text, 1 << 20) {
            prop_assert_eq!(sent["task_uuid"].as_str().map(str::to_owned), Some(request.task_uuid.to_string()));
        }
        let _ = CoreConfig::from_json(&text);
    }

    #[test]
    fn schema_validation_never_panics(schema in json_value(), context in json_value()) {
        let _ = input_schema::validate(&schema, &context);
    }

    /// Formats and patterns on arbitrary text: no panic, and a rejection names the field.
    #[test]
    fn format_and_pattern_checks_name_the_field(text in "\\PC{0,60}", context in json_value()) {
        let schema = json!({"type": "object", "properties": {
            "email": {"format": "email"}, "at": {"format": "date-time"}, "id": {"format": "uuid"},
            "code": {"pattern": "^[A-Z]{2}-[0-9]+$"}}});
        let _ = input_schema::validate(&schema, &context);
        for field in ["email", "at", "id", "code"] {
            if let Err(problem) = input_schema::validate(&schema, &json!({field: text})) {
                prop_assert!(problem.starts_with(&format!("context.{field}: ")), "{}", problem);
            }
        }
    }

    /// Random DAGs: a template is accepted exactly when it has no cycle, and then its
    /// order puts every parent before its children.
    #[test]
    fn templates_accept_exactly_the_acyclic_graphs(deps in prop::collection::vec(prop::collection::vec(0usize..8, 0..3), 1..8)) {
        let n = deps.len();
        let steps: Vec<Value> = deps.iter().enumerate().map(|(i, ds)| {
            let mut unique: Vec<usize> = ds.iter().map(|d| d % n).filter(|d| *d != i).collect();
            unique.sort_unstable();
            unique.dedup();
            json!({"name": format!("s{i}"), "handler": "H", "depends_on": unique.iter().map(|d| format!("s{d}")).collect::<Vec<_>>()})
        }).collect();
        let text = json!({"name": "t", "namespace": "ns", "version": "1.0.0", "steps": steps}).to_string();
        match TaskTemplate::from_yaml(&text) {
            Ok(template) => {
                let order = template.topological_order().unwrap();
                let position: Vec<usize> = (0..n).map(|i| order.iter().position(|&o| o == i).unwrap()).collect();
                for (i, step) in template.steps.iter().enumerate() {
                    for dep in &step.depends_on {
                        let d: usize = dep[1..].parse().unwrap();
                        prop_assert!(position[d] < position[i]);
                    }
                }
            }
            Err(e) => prop_assert!(e.to_string().contains("dependency cycle"), "{}", e),
        }
    }
}
