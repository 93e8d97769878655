//! `TaskerCore::Native._validate_template_private(yaml)`: validates a template without a
//! database and returns a JSON summary (key, steps in topological order).
//! `TaskerCore::Native._load_templates_private(paths_json)`: the summaries of every template
//! an orchestrator would load from those paths (the core's own file walk).

use magnus::{function, Error, RModule, Ruby};
use serde_json::{json, Value};
use tasker_orchestration::limits::{check_size, MAX_TEMPLATE_BYTES};
use tasker_orchestration::TaskTemplate;

use crate::errors::{from_panic, ruby_error};
use crate::nogvl::{blocking, nogvl};

pub fn define(native: RModule) -> Result<(), Error> {
    native.define_module_function("_validate_template_private", function!(validate_template, 1))?;
    native.define_module_function("_load_templates_private", function!(load_templates, 1))?;
    Ok(())
}

fn validate_template(ruby: &Ruby, yaml: String) -> Result<String, Error> {
    check_size("template", &yaml, MAX_TEMPLATE_BYTES).map_err(|e| crate::errors::from_runtime(ruby, &e))?;
    let parsed = nogvl(move || TaskTemplate::from_yaml(&yaml)).map_err(|p| from_panic(ruby, &p))?;
    let template = parsed.map_err(|e| ruby_error(ruby, "TemplateError", &e.to_string()))?;
    Ok(summary(&template).map_err(|e| ruby_error(ruby, "TemplateError", &e))?.to_string())
}

fn load_templates(ruby: &Ruby, paths_json: String) -> Result<String, Error> {
    check_size("template paths", &paths_json, MAX_TEMPLATE_BYTES).map_err(|e| crate::errors::from_runtime(ruby, &e))?;
    let paths: Vec<String> = serde_json::from_str(&paths_json).map_err(|e| ruby_error(ruby, "ValidationError", &e.to_string()))?;
    let templates = blocking(ruby, move || tasker_orchestration::load_templates(&paths))?;
    let summaries: Result<Vec<Value>, String> = templates.iter().map(summary).collect();
    Ok(Value::Array(summaries.map_err(|e| ruby_error(ruby, "TemplateError", &e))?).to_string())
}

fn summary(template: &TaskTemplate) -> Result<Value, String> {
    let order = template.topological_order()?;
    let steps: Vec<&str> = order.iter().map(|&i| template.steps[i].name.as_str()).collect();
    Ok(json!({"key": template.key(), "namespace": template.namespace, "name": template.name,
              "version": template.version, "steps": steps}))
}
