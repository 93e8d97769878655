//! What a JSON value must be to be accepted: storable by PostgreSQL's jsonb and readable by
//! every client (Ruby's JSON included). The one owner of these rules; Ruby mirrors them in
//! `TaskerCore::Types::JsonValue` and a spec fails when the two drift.
//!
//! - nested at most `MAX_JSON_DEPTH` levels (a payload: a request's context, a step's
//!   results); a whole message at most `MAX_MESSAGE_DEPTH` (an envelope allowance, as for
//!   bytes, so that a payload just over its limit is refused naming the payload). Deeper
//!   documents break recursive parsers (serde_json stops at 128, Ruby's JSON at 100);
//! - no NUL character in a string or key (jsonb cannot store U+0000);
//! - every number with a fraction or exponent is a finite double (Ruby would read `1e309`
//!   as Infinity, which it cannot write back). Integers may be of any size jsonb stores:
//!   up to `MAX_INTEGER_DIGITS` digits.

use serde_json::Value;

/// Deepest nesting of a payload (`{}` is 1, `{"a": [1]}` is 2).
pub const MAX_JSON_DEPTH: usize = 64;
/// Most digits of an integer: PostgreSQL's numeric, which jsonb uses, stores no more.
pub const MAX_INTEGER_DIGITS: usize = 131_072;
/// Deepest nesting of a whole message read in full; its payload sits one or two levels
/// inside it. Below serde_json's recursion limit (128) and Ruby's default (100).
pub const MAX_MESSAGE_DEPTH: usize = MAX_JSON_DEPTH + 8;

/// The nesting depth of a JSON text, found without parsing (no recursion, so any depth is
/// safe to measure). Brackets inside strings do not count. Stops counting past `cap`.
pub fn text_depth(text: &str, cap: usize) -> usize {
    let (mut depth, mut deepest) = (0usize, 0usize);
    let (mut in_string, mut escaped) = (false, false);
    for byte in text.bytes() {
        if in_string {
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
                if deepest > cap {
                    return deepest;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// Why `value` (found at `path`, e.g. "context") cannot be accepted, naming the place.
pub fn check(value: &Value, path: &str) -> Result<(), String> {
    // Depth is checked first and iteratively, so the walk below never recurses too deep.
    let depth = depth_of(value);
    if depth > MAX_JSON_DEPTH {
        return Err(format!("{path} is nested deeper than {MAX_JSON_DEPTH} levels"));
    }
    walk(value, &mut path.to_owned())
}

fn depth_of(value: &Value) -> usize {
    let mut deepest = 0;
    let mut stack = vec![(value, 0usize)];
    while let Some((v, d)) = stack.pop() {
        match v {
            Value::Array(items) => {
                deepest = deepest.max(d + 1);
                stack.extend(items.iter().map(|i| (i, d + 1)));
            }
            Value::Object(map) => {
                deepest = deepest.max(d + 1);
                stack.extend(map.values().map(|i| (i, d + 1)));
            }
            _ => {}
        }
    }
    deepest
}

fn walk(value: &Value, path: &mut String) -> Result<(), String> {
    match value {
        Value::String(s) if s.contains('\0') => Err(format!("{path} contains a NUL character")),
        Value::Number(n) => check_number(n, path),
        Value::Array(items) => items.iter().enumerate().try_for_each(|(i, item)| nested(path, &format!("[{i}]"), item)),
        Value::Object(map) => map.iter().try_for_each(|(key, item)| {
            if key.contains('\0') {
                return Err(format!("{path} has a key with a NUL character"));
            }
            nested(path, &format!(".{key}"), item)
        }),
        _ => Ok(()),
    }
}

fn nested(path: &mut String, step: &str, item: &Value) -> Result<(), String> {
    let len = path.len();
    path.push_str(step);
    let outcome = walk(item, path);
    path.truncate(len);
    outcome
}

fn check_number(n: &serde_json::Number, path: &str) -> Result<(), String> {
    let text = n.to_string();
    let shown = || if text.len() > 40 { format!("{}…", &text[..40]) } else { text.clone() };
    if text.contains(['.', 'e', 'E']) {
        if text.parse::<f64>().is_ok_and(f64::is_finite) {
            return Ok(());
        }
        return Err(format!("{path} is {}, beyond the range of a double", shown()));
    }
    if text.trim_start_matches('-').len() > MAX_INTEGER_DIGITS {
        return Err(format!("{path} is an integer of more than {MAX_INTEGER_DIGITS} digits"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn nested_arrays(depth: usize) -> String {
        format!("{}{}", "[".repeat(depth), "]".repeat(depth))
    }

    #[test]
    fn measures_depth_of_text_without_parsing() {
        assert_eq!(text_depth("1", 100), 0);
        assert_eq!(text_depth(r#"{"a": [1, {"b": "[[[["}]}"#, 100), 3);
        assert_eq!(text_depth(r#"["\"[["]"#, 100), 1);
        assert_eq!(text_depth(&nested_arrays(100_000), 100), 101);
    }

    #[test]
    fn accepts_the_deepest_allowed_and_refuses_one_more() {
        let ok: Value = serde_json::from_str(&nested_arrays(MAX_JSON_DEPTH)).unwrap();
        assert!(check(&ok, "context").is_ok());
        let deep: Value = serde_json::from_str(&nested_arrays(MAX_JSON_DEPTH + 1)).unwrap();
        assert_eq!(check(&deep, "context").unwrap_err(), "context is nested deeper than 64 levels");
    }

    #[test]
    fn names_the_place_of_a_nul_or_an_unreadable_number() {
        let value = json!({"a": [1, {"b": "x\u{0}y"}]});
        assert_eq!(check(&value, "results").unwrap_err(), "results.a[1].b contains a NUL character");
        assert_eq!(check(&json!({"k\u{0}": 1}), "context").unwrap_err(), "context has a key with a NUL character");
        let huge: Value = serde_json::from_str(r#"{"x": 1e309}"#).unwrap();
        assert_eq!(check(&huge, "context").unwrap_err(), "context.x is 1e+309, beyond the range of a double");
        let big_int: Value = serde_json::from_str(r#"{"x": 184467440737095516161844674407370955161}"#).unwrap();
        assert!(check(&big_int, "context").is_ok());
        assert!(check(&json!({"x": 1.5e300}), "context").is_ok());
        let too_long: Value = serde_json::from_str(&format!("[{}]", "9".repeat(MAX_INTEGER_DIGITS + 1))).unwrap();
        assert_eq!(check(&too_long, "results").unwrap_err(), "results[0] is an integer of more than 131072 digits");
    }
}
