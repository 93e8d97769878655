//! The identifier rules. Every name that ever reaches SQL as an identifier (queue names) or
//! is resolved as code (handler classes) is checked here first.

/// Longest pgmq queue name we allow; `<namespace>_queue` must fit.
pub const MAX_QUEUE_NAME: usize = 47;
pub const QUEUE_SUFFIX: &str = "_queue";
pub const MAX_NAMESPACE: usize = MAX_QUEUE_NAME - QUEUE_SUFFIX.len();
pub const MAX_NAME: usize = 63;

/// `^[a-z][a-z0-9_]*$` of at most `max` characters.
pub fn is_snake_identifier(s: &str, max: usize) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some('a'..='z')) && s.len() <= max && chars.all(|c| matches!(c, 'a'..='z' | '0'..='9' | '_'))
}

pub fn is_namespace(s: &str) -> bool {
    is_snake_identifier(s, MAX_NAMESPACE)
}

/// Task and step names.
pub fn is_name(s: &str) -> bool {
    is_snake_identifier(s, MAX_NAME)
}

/// Largest index of an item of a map step (its name is `<map step>[<index>]`).
// No caller in the core yet: Ruby's Identifiers.step_name? mirrors it (the drift spec reads it).
#[allow(dead_code)]
pub const MAX_ITEM_INDEX: u32 = 999_999;

/// A step's name: a name, or an item of a map step, `<name>[<index>]` with a decimal index
/// from 0 to MAX_ITEM_INDEX written without leading zeros.
#[allow(dead_code)]
pub fn is_step_name(s: &str) -> bool {
    let Some(open) = s.find('[') else { return is_name(s) };
    let Some(index) = s[open + 1..].strip_suffix(']') else { return false };
    is_name(&s[..open])
        && !index.is_empty()
        && index.len() <= 6
        && index.bytes().all(|b| b.is_ascii_digit())
        && (index == "0" || !index.starts_with('0'))
        && index.parse::<u32>().is_ok_and(|i| i <= MAX_ITEM_INDEX)
}

pub fn is_queue_name(s: &str) -> bool {
    is_snake_identifier(s, MAX_QUEUE_NAME)
}

/// A Ruby constant path: `Foo`, `Foo::Bar2`.
pub fn is_handler_class(s: &str) -> bool {
    s.len() <= 200
        && s.split("::").all(|part| {
            let mut chars = part.chars();
            matches!(chars.next(), Some('A'..='Z')) && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        })
}

/// Semantic version `MAJOR.MINOR.PATCH` with an optional `-pre`/`+build` suffix.
pub fn is_version(s: &str) -> bool {
    if s.len() > 64 {
        return false;
    }
    let core_end = s.find(['-', '+']).unwrap_or(s.len());
    let (core, suffix) = s.split_at(core_end);
    let parts: Vec<&str> = core.split('.').collect();
    let core_ok = parts.len() == 3 && parts.iter().all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()));
    let suffix_ok =
        suffix.is_empty() || (suffix.len() > 1 && suffix[1..].chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-'));
    core_ok && suffix_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces_fit_the_queue_name_limit() {
        assert!(is_namespace("linear_workflow"));
        assert!(is_namespace(&"a".repeat(41)));
        assert!(!is_namespace(&"a".repeat(42)));
        assert!(is_queue_name(&format!("{}{}", "a".repeat(41), QUEUE_SUFFIX)));
        for bad in ["", "Linear", "1abc", "a-b", "x'; drop table tasks; --", "a b", "é"] {
            assert!(!is_namespace(bad), "{bad:?}");
        }
    }

    #[test]
    fn step_names_are_names_or_map_items() {
        for good in ["a", "price_item", "price_item[0]", "price_item[3]", "a[999999]"] {
            assert!(is_step_name(good), "{good:?}");
        }
        for bad in ["", "A", "a[]", "a[-1]", "a[01]", "a[1000000]", "a[1]x", "a[1][2]", "[1]", "a [1]", "a[1", "a]", "a[+1]", "a[１]"] {
            assert!(!is_step_name(bad), "{bad:?}");
        }
    }

    #[test]
    fn handler_classes_are_constant_paths() {
        assert!(is_handler_class("LinearWorkflow::StepOne"));
        assert!(is_handler_class("A"));
        for bad in ["", "lower", "A::", "::A", "A::b", "A;B", "Kernel.system", "A B"] {
            assert!(!is_handler_class(bad), "{bad:?}");
        }
    }

    #[test]
    fn versions_are_semver() {
        for good in ["1.0.0", "10.20.30", "1.0.0-beta.1", "1.0.0+build5"] {
            assert!(is_version(good), "{good}");
        }
        for bad in ["1.0", "1.0.0.0", "v1.0.0", "1..0", "1.0.0-", "1.0.0-x'"] {
            assert!(!is_version(bad), "{bad}");
        }
    }
}
