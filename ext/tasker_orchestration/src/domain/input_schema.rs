//! Validates a task's context against its template's `input_schema` with the `jsonschema`
//! crate: every keyword of the schema's draft (`$schema`, else 2020-12), `format` asserted
//! (email, date-time, uuid, ...; an unknown format is refused), `pattern` (ECMA-style regexes,
//! backtracking bounded), local `$ref` only (nothing is fetched, from the network or from
//! files). Numbers are compared exactly (arbitrary precision).
//!
//! A schema is compiled once per process (`compile` memoizes by the schema's text): templates
//! are validated, and so compiled, when they are parsed and registered, and each request
//! then reuses the compiled validator. Errors name the failing field first, e.g.
//! `context.items[0].quantity: expected integer, got string`.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::{ValidationError, Validator};
use serde_json::Value;

/// Distinct schemas kept compiled; past this the cache starts over (templates are few).
const CACHE_LIMIT: usize = 512;
/// Values quoted in an error are cut to this many characters.
const SHOWN_CHARS: usize = 80;

/// A compiled `input_schema`.
pub struct InputSchema {
    validator: Validator,
}

impl std::fmt::Debug for InputSchema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InputSchema").finish_non_exhaustive()
    }
}

static CACHE: Mutex<Option<HashMap<String, Arc<InputSchema>>>> = Mutex::new(None);

/// Compiles a schema, or reuses the one compiled before for the same schema text. `Err`
/// says why the schema itself is invalid, naming the keyword and where it is
/// (`keyword "type" at input_schema.properties.n.type: 12 is not valid ...`).
pub fn compile(schema: &Value) -> Result<Arc<InputSchema>, String> {
    let text = schema.to_string();
    if let Some(found) = CACHE.lock().unwrap_or_else(|e| e.into_inner()).as_ref().and_then(|c| c.get(&text)) {
        return Ok(Arc::clone(found));
    }
    let compiled = Arc::new(InputSchema::compile(schema)?);
    let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    let cache = cache.get_or_insert_with(HashMap::new);
    if cache.len() >= CACHE_LIMIT {
        cache.clear();
    }
    cache.insert(text, Arc::clone(&compiled));
    Ok(compiled)
}

/// `Err` names the first failing field, e.g. `context.even_number: expected integer, got string`
/// (or, for a schema that is itself invalid, the problem with the schema).
pub fn validate(schema: &Value, context: &Value) -> Result<(), String> {
    compile(schema)?.validate(context)
}

impl InputSchema {
    /// Compiles without the cache.
    pub fn compile(schema: &Value) -> Result<Self, String> {
        if !schema.is_object() {
            return Err("input_schema must be a JSON Schema object".into());
        }
        jsonschema::options()
            .offline()
            .should_validate_formats(true)
            .should_ignore_unknown_formats(false)
            .build(schema)
            .map(|validator| InputSchema { validator })
            .map_err(|e| schema_problem(schema, &e))
    }

    pub fn validate(&self, context: &Value) -> Result<(), String> {
        match self.validator.validate(context) {
            Ok(()) => Ok(()),
            Err(error) => Err(context_problem(context, &error)),
        }
    }
}

/// `keyword "pattern" at input_schema.properties.code.pattern: ...`.
fn schema_problem(schema: &Value, error: &ValidationError<'_>) -> String {
    let segments = pointer_segments(error.instance_path().as_str());
    let detail = match error.kind() {
        ValidationErrorKind::Format { format } if format == "regex" => {
            format!("{} is not a valid regular expression", shown(error.instance()))
        }
        // The crate's text advises a configuration change; ours is fixed.
        _ if error.to_string().starts_with("Unknown format") => format!("unknown format {}", shown(error.instance())),
        _ => cut(&error.to_string(), 300),
    };
    if segments.is_empty() {
        return format!("input_schema is not a valid JSON Schema: {detail}");
    }
    let keyword = schema_keyword(&segments).unwrap_or_else(|| segments[segments.len() - 1].clone());
    format!("input_schema is not a valid JSON Schema: keyword {keyword:?} at {}: {detail}", dotted("input_schema", schema, &segments))
}

/// The last keyword on a path into a schema: the path alternates keywords and the names or
/// indices of the subschemas they hold.
fn schema_keyword(segments: &[String]) -> Option<String> {
    const NAMED: &[&str] = &["properties", "patternProperties", "$defs", "definitions", "dependentSchemas", "dependencies"];
    const LISTS: &[&str] = &["allOf", "anyOf", "oneOf", "prefixItems", "items"];
    const SINGLE: &[&str] = &[
        "items",
        "additionalItems",
        "additionalProperties",
        "not",
        "if",
        "then",
        "else",
        "contains",
        "propertyNames",
        "unevaluatedItems",
        "unevaluatedProperties",
        "contentSchema",
    ];
    let mut keyword = None;
    let mut i = 0;
    while let Some(current) = segments.get(i).map(String::as_str) {
        keyword = Some(current.to_owned());
        let indexed = segments.get(i + 1).is_some_and(|s| s.parse::<usize>().is_ok());
        i += if NAMED.contains(&current) || (LISTS.contains(&current) && indexed) {
            2 // a name or an index, then a subschema
        } else if SINGLE.contains(&current) {
            1 // a subschema
        } else {
            break; // inside the keyword's value
        };
    }
    keyword
}

/// `context.items[0].quantity: expected integer, got string`.
fn context_problem(context: &Value, error: &ValidationError<'_>) -> String {
    let segments = pointer_segments(error.instance_path().as_str());
    let path = dotted("context", context, &segments);
    let value = error.instance();
    match error.kind() {
        ValidationErrorKind::Type { kind } => {
            let expected = match kind {
                TypeKind::Single(t) => t.to_string(),
                TypeKind::Multiple(set) => set.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(" or "),
            };
            format!("{path}: expected {expected}, got {}", type_name(value))
        }
        ValidationErrorKind::Required { property } => match property.as_str() {
            Some(key) => format!("{path}{}: is required", key_segment(key)),
            None => format!("{path}: {property} is required"),
        },
        ValidationErrorKind::AdditionalProperties { unexpected } => match unexpected.first() {
            Some(key) => format!("{path}{}: is not allowed (additionalProperties is false)", key_segment(key)),
            None => format!("{path}: {}", cut(&error.to_string(), 300)),
        },
        ValidationErrorKind::Constant { expected_value } => format!("{path}: must be {}", shown(expected_value)),
        ValidationErrorKind::Enum { options } => format!("{path}: {} is not one of {}", shown(value), shown(options)),
        ValidationErrorKind::Minimum { limit } => format!("{path}: {} is less than the minimum {limit}", shown(value)),
        ValidationErrorKind::Maximum { limit } => format!("{path}: {} is greater than the maximum {limit}", shown(value)),
        ValidationErrorKind::MinItems { limit } => format!("{path}: {} items is fewer than minItems {limit}", count(value)),
        ValidationErrorKind::MaxItems { limit } => format!("{path}: {} items is more than maxItems {limit}", count(value)),
        ValidationErrorKind::MinLength { limit } => format!("{path}: length {} is less than minLength {limit}", length(value)),
        ValidationErrorKind::MaxLength { limit } => format!("{path}: length {} is more than maxLength {limit}", length(value)),
        ValidationErrorKind::Format { format } => format!("{path}: {} is not a valid {format:?} (format)", shown(value)),
        ValidationErrorKind::Pattern { pattern } => format!("{path}: {} does not match the pattern {pattern:?}", shown(value)),
        _ => format!("{path}: {}", cut(&error.to_string(), 300)),
    }
}

/// The unescaped segments of a JSON pointer (`/a~1b/0` -> `a/b`, `0`).
fn pointer_segments(pointer: &str) -> Vec<String> {
    if pointer.is_empty() {
        return Vec::new();
    }
    pointer.split('/').skip(1).map(|s| s.replace("~1", "/").replace("~0", "~")).collect()
}

/// `context.items[0].quantity`: walks the document so that an array index is told from a
/// key that looks like a number.
fn dotted(root: &str, document: &Value, segments: &[String]) -> String {
    let mut path = root.to_owned();
    let mut current = Some(document);
    for segment in segments {
        match current {
            Some(Value::Array(items)) if segment.parse::<usize>().is_ok() => {
                let _ = write!(path, "[{segment}]");
                current = segment.parse::<usize>().ok().and_then(|i| items.get(i));
            }
            _ => {
                path.push_str(&key_segment(segment));
                current = current.and_then(|v| v.get(segment.as_str()));
            }
        }
    }
    path
}

/// `.key` for a plain key, `["a key"]` for any other.
fn key_segment(key: &str) -> String {
    let plain = key.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '$')
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$' || c == '-');
    if plain {
        format!(".{key}")
    } else {
        format!("[{}]", cut(&Value::String(key.to_owned()).to_string(), SHOWN_CHARS))
    }
}

fn shown(value: &Value) -> String {
    cut(&value.to_string(), SHOWN_CHARS)
}

fn cut(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}...", &text[..at]),
        None => text.to_owned(),
    }
}

fn count(value: &Value) -> usize {
    value.as_array().map_or(0, Vec::len)
}

fn length(value: &Value) -> usize {
    value.as_str().map_or(0, |s| s.chars().count())
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

    fn number(text: &str) -> Value {
        serde_json::from_str(text).unwrap()
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
        assert_eq!(validate(&schema(), &json!({"even_number": "6"})), Err("context.even_number: expected integer, got string".into()));
        assert_eq!(
            validate(&schema(), &json!({"even_number": 2, "tags": ["a", 1]})),
            Err("context.tags[1]: expected string, got integer".into())
        );
        assert_eq!(validate(&schema(), &json!({"even_number": -2})), Err("context.even_number: -2 is less than the minimum 0".into()));
        assert_eq!(validate(&schema(), &json!([1])), Err("context: expected object, got array".into()));
        let items = json!({"type": "array", "minItems": 1, "items": {"const": "x"}});
        assert!(validate(&items, &json!([])).unwrap_err().contains("minItems"));
        assert_eq!(validate(&items, &json!(["y"])), Err("context[0]: must be \"x\"".into()));
        let closed = json!({"type": "object", "additionalProperties": false, "properties": {"a": {}}});
        assert_eq!(
            validate(&closed, &json!({"a": 1, "b c": 2})),
            Err("context[\"b c\"]: is not allowed (additionalProperties is false)".into())
        );
        let keyed = json!({"properties": {"0": {"properties": {"n": {"type": "string"}}}}});
        assert_eq!(validate(&keyed, &json!({"0": {"n": 1}})), Err("context[\"0\"].n: expected string, got integer".into()));
    }

    #[test]
    fn checks_formats() {
        let schema = json!({"type": "object", "properties": {
            "email": {"type": "string", "format": "email"},
            "at": {"type": "string", "format": "date-time"},
            "id": {"type": "string", "format": "uuid"}}});
        let good = json!({"email": "ann@example.com", "at": "2026-12-01T10:00:00Z", "id": "0192f6c4-8f3a-7c1e-9d4b-1a2b3c4d5e6f"});
        assert_eq!(validate(&schema, &good), Ok(()));
        assert_eq!(
            validate(&schema, &json!({"email": "not an email"})),
            Err("context.email: \"not an email\" is not a valid \"email\" (format)".into())
        );
        assert_eq!(
            validate(&schema, &json!({"at": "yesterday"})),
            Err("context.at: \"yesterday\" is not a valid \"date-time\" (format)".into())
        );
        assert_eq!(validate(&schema, &json!({"id": "0192f6c4"})), Err("context.id: \"0192f6c4\" is not a valid \"uuid\" (format)".into()));
    }

    #[test]
    fn checks_patterns() {
        let schema = json!({"type": "object", "properties": {"sku": {"type": "string", "pattern": "^[A-Z]+-[0-9]{3}$"}}});
        assert_eq!(validate(&schema, &json!({"sku": "WIDGET-001"})), Ok(()));
        assert_eq!(
            validate(&schema, &json!({"sku": "widget-1"})),
            Err("context.sku: \"widget-1\" does not match the pattern \"^[A-Z]+-[0-9]{3}$\"".into())
        );
    }

    #[test]
    fn compares_arbitrary_precision_numbers_exactly() {
        let schema = json!({"properties": {"n": {"type": "integer", "minimum": 1}, "x": {"maximum": 1e300}}});
        let ctx = |n: &str| number(&format!(r#"{{"n": {n}}}"#));
        assert_eq!(validate(&schema, &ctx("1000000000000000000000000000000")), Ok(()));
        assert_eq!(validate(&schema, &ctx("1")), Ok(()));
        assert_eq!(validate(&schema, &ctx("0")), Err("context.n: 0 is less than the minimum 1".into()));
        assert_eq!(
            validate(&schema, &ctx("-1000000000000000000000000000000")),
            Err("context.n: -1000000000000000000000000000000 is less than the minimum 1".into())
        );
        assert_eq!(validate(&schema, &ctx("0.5")), Err("context.n: expected integer, got number".into()));
        let bounded = json!({"properties": {"n": {"minimum": 1}}});
        assert_eq!(validate(&bounded, &ctx("0.5")), Err("context.n: 0.5 is less than the minimum 1".into()));
        assert_eq!(validate(&bounded, &ctx("0.99999999999999999999999")).map_err(|e| e.contains("minimum")), Err(true));
        // 2**64 + 1 is more than 2**64, though both round to the same double.
        let above = json!({"properties": {"n": {"exclusiveMinimum": 18446744073709551616u128}}});
        assert_eq!(validate(&above, &ctx("18446744073709551617")), Ok(()));
        assert!(validate(&above, &ctx("18446744073709551616")).is_err());
        assert_eq!(validate(&schema, &number(r#"{"x": 1e299}"#)), Ok(()));
    }

    fn schema_error(schema: Value) -> String {
        InputSchema::compile(&schema).unwrap_err()
    }

    #[test]
    fn refuses_invalid_schemas_naming_the_keyword() {
        let e = schema_error(json!({"properties": {"n": {"type": 12}}}));
        assert!(e.starts_with("input_schema is not a valid JSON Schema: keyword \"type\" at input_schema.properties.n.type: "), "{e}");
        let e = schema_error(json!({"properties": {"code": {"type": "string", "pattern": "("}}}));
        assert!(
            e.starts_with("input_schema is not a valid JSON Schema: keyword \"pattern\" at input_schema.properties.code.pattern: "),
            "{e}"
        );
        assert!(e.contains("regular expression"), "{e}");
        let e = schema_error(json!({"required": [1]}));
        assert!(e.contains("keyword \"required\" at input_schema.required[0]"), "{e}");
        let e = schema_error(json!({"properties": {"n": {"type": "string", "format": "no-such-format"}}}));
        assert!(e.ends_with("keyword \"format\" at input_schema.properties.n.format: unknown format \"no-such-format\""), "{e}");
        assert!(schema_error(json!({"$ref": "https://example.com/schema.json"})).contains("example.com"));
        assert!(schema_error(json!({"$ref": "file:///etc/passwd"})).contains("/etc/passwd"));
        assert_eq!(schema_error(json!(12)), "input_schema must be a JSON Schema object");
        // A draft-07 schema is read as draft 07.
        let draft7 = json!({"$schema": "http://json-schema.org/draft-07/schema#", "items": [{"type": "string"}]});
        assert_eq!(validate(&draft7, &json!(["a", 1])), Ok(()));
        assert_eq!(validate(&draft7, &json!([1])), Err("context[0]: expected string, got integer".into()));
    }

    #[test]
    fn compiles_each_schema_once() {
        let schema = json!({"properties": {"once": {"type": "string", "pattern": "^o"}}});
        assert!(Arc::ptr_eq(&compile(&schema).unwrap(), &compile(&schema).unwrap()));
    }
}
