//! Task templates: parsed from YAML, validated (names, handlers, dependencies, cycles),
//! and ordered topologically. Pure; the registry persists them.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::identifiers::{is_handler_class, is_name, is_namespace, is_version, MAX_NAMESPACE};
use super::input_schema;
pub use super::step_template::StepTemplate;

/// More steps than this in one template is refused (creation time and message sizes).
pub const MAX_STEPS: usize = 100_000;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TemplateError {
    #[error("template is not valid YAML/JSON: {0}")]
    Parse(String),
    #[error("template {template}: {problem}")]
    Invalid { template: String, problem: String },
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TaskTemplate {
    pub name: String,
    pub namespace: String,
    pub version: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub input_schema: Option<Value>,
    pub steps: Vec<StepTemplate>,
}

impl TaskTemplate {
    /// Parses and validates a template written in YAML (JSON is YAML too).
    pub fn from_yaml(text: &str) -> Result<Self, TemplateError> {
        let template: TaskTemplate = serde_yaml::from_str(text).map_err(|e| TemplateError::Parse(e.to_string()))?;
        template.validate()?;
        Ok(template)
    }

    /// Re-reads a template stored as JSON by the registry.
    pub fn from_json(value: Value) -> Result<Self, TemplateError> {
        let template: TaskTemplate = serde_json::from_value(value).map_err(|e| TemplateError::Parse(e.to_string()))?;
        template.validate()?;
        Ok(template)
    }

    /// `namespace/name@version`, the way errors and logs name a template.
    pub fn key(&self) -> String {
        format!("{}/{}@{}", self.namespace, self.name, self.version)
    }

    pub fn validate(&self) -> Result<(), TemplateError> {
        let invalid = |problem: String| TemplateError::Invalid { template: self.key(), problem };
        if !is_namespace(&self.namespace) {
            return Err(invalid(format!(
                "namespace {:?} must match ^[a-z][a-z0-9_]*$ and be at most {MAX_NAMESPACE} characters",
                self.namespace
            )));
        }
        if !is_name(&self.name) {
            return Err(invalid(format!("name {:?} must match ^[a-z][a-z0-9_]*$ (at most 63 characters)", self.name)));
        }
        if !is_version(&self.version) {
            return Err(invalid(format!("version {:?} must be a semantic version like 1.0.0", self.version)));
        }
        if self.steps.is_empty() {
            return Err(invalid("has no steps".into()));
        }
        if self.steps.len() > MAX_STEPS {
            return Err(invalid(format!("has {} steps; at most {MAX_STEPS} are allowed", self.steps.len())));
        }
        if let Some(schema) = &self.input_schema {
            // Compiled here, at parse and registration, and kept: requests reuse it.
            input_schema::compile(schema).map_err(invalid)?;
        }
        let mut seen = HashSet::new();
        for step in &self.steps {
            if !is_name(&step.name) {
                return Err(invalid(format!("step name {:?} must match ^[a-z][a-z0-9_]*$", step.name)));
            }
            if !seen.insert(step.name.as_str()) {
                return Err(invalid(format!("duplicate step name {:?}", step.name)));
            }
            if !step.step_type.has_handler() && !step.handler.is_empty() {
                return Err(invalid(format!("step {:?}: a {} step takes no handler", step.name, step.step_type.as_str())));
            }
            if step.step_type.has_handler() && !is_handler_class(&step.handler) {
                return Err(invalid(format!(
                    "step {:?}: handler {:?} is not a Ruby class name like Module::ClassName",
                    step.name, step.handler
                )));
            }
            step.fields.check(step.step_type).map_err(|problem| invalid(format!("step {:?}: {problem}", step.name)))?;
            let retry = step.retry_policy();
            // max_attempts 0 is allowed: the first attempt always runs, with no retries.
            if retry.max_attempts < 0 || retry.backoff_base_ms < 0 || retry.backoff_max_ms < 0 {
                return Err(invalid(format!("step {:?}: retry needs max_attempts >= 0 and non-negative backoff", step.name)));
            }
        }
        for step in &self.steps {
            if let Some(over) = &step.fields.over {
                if over == &step.name || !seen.contains(over.as_str()) {
                    return Err(invalid(format!("step {:?}: over names {over:?}, which is not another step", step.name)));
                }
            }
            let mut deps = HashSet::new();
            for dep in &step.depends_on {
                if dep == &step.name {
                    return Err(invalid(format!("step {:?} depends on itself", step.name)));
                }
                if !seen.contains(dep.as_str()) {
                    return Err(invalid(format!("step {:?} depends on unknown step {:?}", step.name, dep)));
                }
                if !deps.insert(dep) {
                    return Err(invalid(format!("step {:?} lists dependency {:?} twice", step.name, dep)));
                }
            }
        }
        self.check_branches().map_err(invalid)?;
        self.topological_order().map(|_| ()).map_err(invalid)
    }

    /// A decision chooses among steps that depend on it; a signal is waited for by one step
    /// (a task takes each signal once).
    fn check_branches(&self) -> Result<(), String> {
        let mut signals = HashSet::new();
        for step in &self.steps {
            if let Some(signal) = &step.fields.signal {
                if !signals.insert(signal) {
                    return Err(format!("step {:?} waits for signal {signal:?}, which another step waits for already", step.name));
                }
            }
        }
        for decision in self.steps.iter().filter(|s| !s.fields.branches.is_empty()) {
            let mut named = HashSet::new();
            for branch in &decision.fields.branches {
                let Some(step) = self.steps.iter().find(|s| &s.name == branch) else {
                    return Err(format!("decision {:?} names unknown branch {branch:?}", decision.name));
                };
                if !step.dependencies().contains(&decision.name.as_str()) {
                    return Err(format!(
                        "decision {:?} names branch {branch:?}, which does not depend on it (add depends_on: [{}])",
                        decision.name, decision.name
                    ));
                }
                if !named.insert(branch) {
                    return Err(format!("decision {:?} names branch {branch:?} twice", decision.name));
                }
            }
        }
        Ok(())
    }

    /// Step indices, parents before children (Kahn), ties kept in template order. A cycle is
    /// reported with its members.
    pub fn topological_order(&self) -> Result<Vec<usize>, String> {
        let index: HashMap<&str, usize> = self.steps.iter().enumerate().map(|(i, s)| (s.name.as_str(), i)).collect();
        let mut remaining: Vec<usize> = self.steps.iter().map(|s| s.dependencies().len()).collect();
        let mut children: Vec<Vec<usize>> = vec![Vec::new(); self.steps.len()];
        for (i, step) in self.steps.iter().enumerate() {
            for dep in step.dependencies() {
                children[index[dep]].push(i);
            }
        }
        let mut ready: BinaryHeap<Reverse<usize>> = (0..self.steps.len()).filter(|&i| remaining[i] == 0).map(Reverse).collect();
        let mut order = Vec::with_capacity(self.steps.len());
        while let Some(Reverse(i)) = ready.pop() {
            order.push(i);
            for &child in &children[i] {
                remaining[child] -= 1;
                if remaining[child] == 0 {
                    ready.push(Reverse(child));
                }
            }
        }
        if order.len() == self.steps.len() {
            return Ok(order);
        }
        let mut in_cycle: Vec<&str> = (0..self.steps.len()).filter(|&i| remaining[i] > 0).map(|i| self.steps[i].name.as_str()).collect();
        in_cycle.sort_unstable();
        Err(format!("dependency cycle among steps {}", in_cycle.join(", ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::step_template::RetryPolicy;

    const LINEAR: &str = r#"
name: mathematical_sequence
namespace: linear_workflow
version: 1.0.0
input_schema: {type: object, required: [even_number], properties: {even_number: {type: integer}}}
steps:
  - name: linear_step_1
    handler: LinearWorkflow::StepOne
  - name: linear_step_2
    handler: LinearWorkflow::StepTwo
    depends_on: [linear_step_1]
    retry: {max_attempts: 3, backoff_base_ms: 1000, backoff_max_ms: 30000}
"#;

    fn problem(yaml: &str) -> String {
        TaskTemplate::from_yaml(yaml).unwrap_err().to_string()
    }

    #[test]
    fn parses_a_valid_template_with_defaults() {
        let t = TaskTemplate::from_yaml(LINEAR).unwrap();
        assert_eq!(t.key(), "linear_workflow/mathematical_sequence@1.0.0");
        assert_eq!(t.steps[0].retry_policy(), RetryPolicy::default());
        assert_eq!(t.steps[1].retry_policy().max_attempts, 3);
        assert_eq!(t.topological_order().unwrap(), vec![0, 1]);
    }

    #[test]
    fn refuses_unknown_dependencies_naming_them() {
        let yaml = LINEAR.replace("depends_on: [linear_step_1]", "depends_on: [nope]");
        assert!(problem(&yaml).contains("depends on unknown step \"nope\""), "{}", problem(&yaml));
    }

    #[test]
    fn refuses_cycles_naming_the_steps() {
        let yaml = r#"{name: t, namespace: ns, version: 1.0.0, steps: [
            {name: a, handler: A, depends_on: [c]}, {name: b, handler: B, depends_on: [a]},
            {name: c, handler: C, depends_on: [b]}, {name: d, handler: D}]}"#;
        assert!(problem(yaml).ends_with("dependency cycle among steps a, b, c"), "{}", problem(yaml));
    }

    #[test]
    fn orders_parallel_steps_as_written() {
        let yaml = r#"{name: t, namespace: ns, version: 1.0.0, steps: [
            {name: start, handler: A}, {name: b, handler: B, depends_on: [start]},
            {name: c, handler: C, depends_on: [start]}, {name: end, handler: D, depends_on: [c, b]}]}"#;
        assert_eq!(TaskTemplate::from_yaml(yaml).unwrap().topological_order().unwrap(), vec![0, 1, 2, 3]);
    }

    #[test]
    fn refuses_duplicates_bad_names_and_handlers() {
        let dup = LINEAR.replace("name: linear_step_2", "name: linear_step_1");
        assert!(problem(&dup).contains("duplicate step name \"linear_step_1\""));
        let ns = LINEAR.replace("namespace: linear_workflow", "namespace: \"x'; drop table tasks; --\"");
        assert!(problem(&ns).contains("namespace"), "{}", problem(&ns));
        let handler = LINEAR.replace("LinearWorkflow::StepOne", "system('rm -rf /')");
        assert!(problem(&handler).contains("is not a Ruby class name"));
        let selfdep = LINEAR.replace("depends_on: [linear_step_1]", "depends_on: [linear_step_2]");
        assert!(problem(&selfdep).contains("depends on itself"));
        let retry = LINEAR.replace("max_attempts: 3", "max_attempts: -1");
        assert!(problem(&retry).contains("max_attempts >= 0"));
    }

    #[test]
    fn refuses_an_invalid_input_schema_naming_the_keyword() {
        let bad_type = LINEAR.replace("{type: integer}", "{type: 12}");
        assert!(
            problem(&bad_type).starts_with(
                "template linear_workflow/mathematical_sequence@1.0.0: input_schema is not a valid JSON Schema: \
                 keyword \"type\" at input_schema.properties.even_number.type: "
            ),
            "{}",
            problem(&bad_type)
        );
        let bad_pattern = LINEAR.replace("{type: integer}", "{type: string, pattern: \"(\"}");
        assert!(
            problem(&bad_pattern).contains("keyword \"pattern\" at input_schema.properties.even_number.pattern"),
            "{}",
            problem(&bad_pattern)
        );
        let not_object =
            LINEAR.replace("input_schema: {type: object,", "input_schema: [{type: object,").replace("integer}}}", "integer}}}]");
        assert!(problem(&not_object).ends_with("input_schema must be a JSON Schema object"), "{}", problem(&not_object));
        let email = LINEAR.replace("{type: integer}", "{type: string, format: email}");
        assert!(TaskTemplate::from_yaml(&email).is_ok());
    }

    const DYNAMIC: &str = r#"{name: t, namespace: ns, version: 1.0.0, steps: [
        {name: route, type: decision, handler: R, branches: [a, b]},
        {name: a, handler: A, depends_on: [route]}, {name: b, handler: B, depends_on: [route]},
        {name: items, handler: I},
        {name: each, type: map, over: items, handler: E, max_parallel: 2},
        {name: approval, type: wait_for_signal, signal: approval, timeout_s: 60, on_timeout: skip, depends_on: [each]},
        {name: nap, type: sleep, duration_s: 1, depends_on: [a, b, approval]}]}"#;

    #[test]
    fn parses_dynamic_step_types_with_implied_dependencies() {
        let t = TaskTemplate::from_yaml(DYNAMIC).unwrap();
        assert_eq!(t.steps[4].dependencies(), vec!["items"]);
        assert_eq!(t.topological_order().unwrap(), vec![0, 1, 2, 3, 4, 5, 6]);
        let round_trip = TaskTemplate::from_json(serde_json::to_value(&t).unwrap()).unwrap();
        assert_eq!(round_trip, t);
        let plain = TaskTemplate::from_yaml(LINEAR).unwrap();
        assert!(serde_json::to_value(&plain).unwrap()["steps"][0].get("type").is_none(), "plain steps serialize as before");
    }

    #[test]
    fn refuses_a_decision_naming_a_step_that_does_not_depend_on_it() {
        let yaml = DYNAMIC.replace("{name: b, handler: B, depends_on: [route]}", "{name: b, handler: B}");
        assert!(problem(&yaml).contains("decision \"route\" names branch \"b\", which does not depend on it"), "{}", problem(&yaml));
        let unknown = DYNAMIC.replace("branches: [a, b]", "branches: [a, zz]");
        assert!(problem(&unknown).contains("names unknown branch \"zz\""), "{}", problem(&unknown));
        let handler = DYNAMIC.replace("signal: approval,", "signal: approval, handler: X,");
        assert!(problem(&handler).contains("a wait_for_signal step takes no handler"), "{}", problem(&handler));
        let over = DYNAMIC.replace("over: items", "over: nope");
        assert!(problem(&over).contains("over names \"nope\""), "{}", problem(&over));
        let misplaced = DYNAMIC.replace("{name: items, handler: I}", "{name: items, handler: I, max_parallel: 3}");
        assert!(problem(&misplaced).contains("`max_parallel` applies to steps of type map only"), "{}", problem(&misplaced));
    }

    #[test]
    fn refuses_unknown_keys_and_garbage() {
        assert!(problem(&format!("{LINEAR}\nbogus: 1")).contains("unknown field `bogus`"));
        assert!(matches!(TaskTemplate::from_yaml(": : :"), Err(TemplateError::Parse(_))));
    }
}
