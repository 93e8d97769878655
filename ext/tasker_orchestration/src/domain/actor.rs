//! Who performed an operator action ("cli:alice@host", "web:admin"): recorded under
//! `"actor"` in the metadata of every transition the action writes, and as `resolved_by` on
//! the dead letters it resolves. The host chooses the text (Ruby's default is
//! `ruby:<user>@<host>`); the core only bounds it.

use serde_json::Value;

/// Longest actor, in bytes (a host truncates its default to it: Types::Limits mirrors it).
pub const MAX_ACTOR_BYTES: usize = 200;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InvalidActor {
    #[error("actor must not be empty")]
    Empty,
    #[error("actor of {0} bytes exceeds {MAX_ACTOR_BYTES} bytes")]
    TooLong(usize),
    /// Control characters (a NUL, which jsonb cannot store; line breaks in log lines) refused.
    #[error("actor contains the control character U+{0:04X} at byte {1}")]
    Control(u32, usize),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor(String);

impl Actor {
    pub fn new(text: &str) -> Result<Self, InvalidActor> {
        if text.trim().is_empty() {
            return Err(InvalidActor::Empty);
        }
        if text.len() > MAX_ACTOR_BYTES {
            return Err(InvalidActor::TooLong(text.len()));
        }
        if let Some((at, c)) = text.char_indices().find(|(_, c)| c.is_control()) {
            return Err(InvalidActor::Control(c as u32, at));
        }
        Ok(Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `metadata` (an object) with this actor added under "actor".
    pub fn note(&self, mut metadata: Value) -> Value {
        if let Value::Object(map) = &mut metadata {
            map.insert("actor".to_owned(), Value::String(self.0.clone()));
        }
        metadata
    }
}

/// `metadata` with `actor` noted when there is one (an operator's action), unchanged otherwise.
pub fn noted(actor: Option<&Actor>, metadata: Value) -> Value {
    match actor {
        Some(actor) => actor.note(metadata),
        None => metadata,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn bounds_the_text_and_notes_it_in_metadata() {
        assert_eq!(Actor::new("cli:alice@host").unwrap().note(json!({"step": "a"})), json!({"step": "a", "actor": "cli:alice@host"}));
        assert_eq!(Actor::new(&"é".repeat(100)).unwrap().as_str().len(), 200);
        assert_eq!(Actor::new(&"é".repeat(100).replacen('é', "ée", 1)), Err(InvalidActor::TooLong(201)));
        assert_eq!(Actor::new(" \t"), Err(InvalidActor::Empty));
        assert_eq!(Actor::new("web:x\nforged"), Err(InvalidActor::Control(10, 5)));
        assert_eq!(Actor::new("a\u{0}").unwrap_err().to_string(), "actor contains the control character U+0000 at byte 1");
        assert_eq!(noted(None, json!({})), json!({}));
    }
}
