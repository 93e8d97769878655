//! `TaskerCore::Native._validate_template_private(yaml)`: validates a template without a
//! database and returns a JSON summary (key, steps in topological order).

use magnus::{function, Error, RModule, Ruby};
use serde_json::json;
use tasker_orchestration::limits::{check_size, MAX_TEMPLATE_BYTES};
use tasker_orchestration::TaskTemplate;

use crate::errors::{from_panic, ruby_error};
use crate::nogvl::nogvl;

pub fn define(native: RModule) -> Result<(), Error> {
    native.define_module_function("_validate_template_private", function!(validate_template, 1))?;
    Ok(())
}

fn validate_template(ruby: &Ruby, yaml: String) -> Result<String, Error> {
    check_size("template", &yaml, MAX_TEMPLATE_BYTES).map_err(|e| crate::errors::from_runtime(ruby, &e))?;
    let parsed = nogvl(move || TaskTemplate::from_yaml(&yaml)).map_err(|p| from_panic(ruby, &p))?;
    let template = parsed.map_err(|e| ruby_error(ruby, "TemplateError", &e.to_string()))?;
    let order = template.topological_order().map_err(|e| ruby_error(ruby, "TemplateError", &e))?;
    let steps: Vec<&str> = order.iter().map(|&i| template.steps[i].name.as_str()).collect();
    Ok(json!({"key": template.key(), "namespace": template.namespace, "name": template.name,
              "version": template.version, "steps": steps})
    .to_string())
}
