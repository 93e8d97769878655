//! What a host language may hand the core, by size, checked before anything is parsed. The
//! one owner of these limits: the native adapter asks here instead of keeping its own.
//! (A task request's limit is the payload limit plus the envelope: `prepare_request`.)

use super::RuntimeError;

/// A configuration document (JSON) larger than this is refused.
pub const MAX_CONFIG_JSON_BYTES: usize = 16 * 1024 * 1024;
/// A task template (YAML) larger than this is refused.
pub const MAX_TEMPLATE_BYTES: usize = 4 * 1024 * 1024;

/// Refuses `text` (named `what` in the error) when it is longer than `limit` bytes.
pub fn check_size(what: &'static str, text: &str, limit: usize) -> Result<(), RuntimeError> {
    if text.len() > limit {
        return Err(RuntimeError::TooLarge { what, size: text.len(), limit });
    }
    Ok(())
}
