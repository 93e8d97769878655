//! Validates a task's context against its template's `input_schema`: the JSON Schema
//! keywords templates use (type, required, properties, additionalProperties, items, enum,
//! const, minimum, maximum, minLength, maxLength, minItems, maxItems). Other keywords are
//! ignored. Errors name the failing field.

use serde_json::{Map, Value};

/// `Err` names the first failing field, e.g. `context.even_number: expected integer, got string`.
pub fn validate(schema: &Value, context: &Value) -> Result<(), String> {
    check(schema, context, "context")
}

fn check(schema: &Value, value: &Value, path: &str) -> Result<(), String> {
    let Some(schema) = schema.as_object() else { return Ok(()) };
    if let Some(expected) = schema.get("type") {
        let allowed: Vec<&str> = match expected {
            Value::String(t) => vec![t.as_str()],
            Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        if !allowed.is_empty() && !allowed.iter().any(|t| has_type(value, t)) {
            return Err(format!("{path}: expected {}, got {}", allowed.join(" or "), type_name(value)));
        }
    }
    if let Some(constant) = schema.get("const").filter(|c| *c != value) {
        return Err(format!("{path}: must be {constant}"));
    }
    if let Some(Value::Array(options)) = schema.get("enum") {
        if !options.contains(value) {
            return Err(format!("{path}: {value} is not one of {}", Value::Array(options.clone())));
        }
    }
    check_bounds(schema, value, path)?;
    if let Value::Object(object) = value {
        check_object(schema, object, path)?;
    }
    if let (Some(items), Value::Array(elements)) = (schema.get("items"), value) {
        for (i, element) in elements.iter().enumerate() {
            check(items, element, &format!("{path}[{i}]"))?;
        }
    }
    Ok(())
}

fn check_object(schema: &Map<String, Value>, object: &Map<String, Value>, path: &str) -> Result<(), String> {
    if let Some(Value::Array(required)) = schema.get("required") {
        for key in required.iter().filter_map(Value::as_str) {
            if !object.contains_key(key) {
                return Err(format!("{path}.{key}: is required"));
            }
        }
    }
    let properties = schema.get("properties").and_then(Value::as_object);
    for (key, field) in object {
        match properties.and_then(|p| p.get(key)) {
            Some(field_schema) => check(field_schema, field, &format!("{path}.{key}"))?,
            None if schema.get("additionalProperties") == Some(&Value::Bool(false)) => {
                return Err(format!("{path}.{key}: is not allowed (additionalProperties is false)"));
            }
            None => {}
        }
    }
    Ok(())
}

fn check_bounds(schema: &Map<String, Value>, value: &Value, path: &str) -> Result<(), String> {
    let number = |k: &str| schema.get(k).and_then(Value::as_f64);
    if let Some(n) = value.as_f64() {
        if let Some(min) = number("minimum").filter(|min| n < *min) {
            return Err(format!("{path}: {value} is less than the minimum {min}"));
        }
        if let Some(max) = number("maximum").filter(|max| n > *max) {
            return Err(format!("{path}: {value} is greater than the maximum {max}"));
        }
    }
    if let Some(items) = value.as_array() {
        let len = items.len() as f64;
        if number("minItems").is_some_and(|min| len < min) || number("maxItems").is_some_and(|max| len > max) {
            return Err(format!("{path}: {len} items is outside minItems/maxItems"));
        }
    }
    if let Some(s) = value.as_str() {
        let len = s.chars().count() as f64;
        if number("minLength").is_some_and(|min| len < min) || number("maxLength").is_some_and(|max| len > max) {
            return Err(format!("{path}: length {len} is outside minLength/maxLength"));
        }
    }
    Ok(())
}

fn has_type(value: &Value, expected: &str) -> bool {
    match expected {
        "integer" => value.as_number().is_some_and(is_integer),
        "number" => value.is_number(),
        other => type_name(value) == other,
    }
}

/// With arbitrary precision, integers beyond 64 bits are still integers.
fn is_integer(n: &serde_json::Number) -> bool {
    n.is_i64() || n.is_u64() || !n.to_string().contains(['.', 'e', 'E'])
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if is_integer(n) => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Value {
        json!({"type": "object", "required": ["even_number"],
               "properties": {"even_number": {"type": "integer", "minimum": 0},
                              "tags": {"type": "array", "items": {"type": "string"}}}})
    }

    #[test]
    fn accepts_valid_contexts_including_huge_integers() {
        assert_eq!(validate(&schema(), &json!({"even_number": 6})), Ok(()));
        let huge: Value = serde_json::from_str(r#"{"even_number": 18446744073709551616}"#).unwrap();
        assert_eq!(validate(&schema(), &huge), Ok(()));
    }

    #[test]
    fn names_the_failing_field() {
        assert_eq!(validate(&schema(), &json!({})), Err("context.even_number: is required".into()));
        assert_eq!(
            validate(&schema(), &json!({"even_number": "6"})),
            Err("context.even_number: expected integer, got string".into())
        );
        assert_eq!(
            validate(&schema(), &json!({"even_number": 2, "tags": ["a", 1]})),
            Err("context.tags[1]: expected string, got integer".into())
        );
        assert!(validate(&schema(), &json!({"even_number": -2})).unwrap_err().contains("minimum"));
        assert_eq!(validate(&schema(), &json!([1])), Err("context: expected object, got array".into()));
        let items = json!({"type": "array", "minItems": 1, "items": {"const": "x"}});
        assert!(validate(&items, &json!([])).unwrap_err().contains("minItems"));
        assert_eq!(validate(&items, &json!(["y"])), Err("context[0]: must be \"x\"".into()));
    }
}
