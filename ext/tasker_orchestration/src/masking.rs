//! Credential masking for everything the core prints or hands to Ruby: log fields, status,
//! error messages. One rule, written by hand here (no regex crate) and with regexes in
//! Ruby's `TaskerCore::Logging.mask_url`; both are checked against the same table,
//! `spec/fixtures/credential_masking.json`, so a URL is masked the same way whichever side
//! prints it. Over-masking is acceptable, under-masking never is.
//!
//! 1. URL userinfo: after `://` (or `:\/\/`, a JSON-escaped URL) the token runs to
//!    whitespace, a quote or the end of the text, and the userinfo to the token's last `@`,
//!    so a password with an unencoded `?`, `#`, `@`, `/` or `:` is covered. Everything
//!    after the userinfo's first `:` becomes `***`.
//! 2. Password keys (`password`, `passwd`, `pgpassword`, `sslpassword`, ASCII letters in
//!    any case, not preceded by an ASCII letter or digit), then optional whitespace, `=`,
//!    optional whitespace and a value (quoted, escaped-quoted or bare: see `value_end`):
//!    the value becomes `***`.
//!
//! Rule 2 runs over the output of rule 1.

const MASK: &str = "***";
const PASSWORD_KEYS: [&str; 4] = ["password", "passwd", "pgpassword", "sslpassword"];

/// Masks every credential in `text` (see the module documentation); the rest is kept
/// byte for byte.
pub fn mask_credentials(text: &str) -> String {
    mask_password_values(&mask_url_passwords(text))
}

/// The whitespace both implementations agree on (Ruby's `\s`: space, \t, \n, \v, \f, \r).
fn is_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

fn ends_token(byte: u8) -> bool {
    is_space(byte) || byte == b'"' || byte == b'\''
}

/// Where the token starting at `start` ends.
fn token_end(bytes: &[u8], start: usize) -> usize {
    bytes[start..].iter().position(|&b| ends_token(b)).map_or(bytes.len(), |n| start + n)
}

/// Rule 1. Every index used to slice is at an ASCII byte or the end, so slices stay on
/// character boundaries.
fn mask_url_passwords(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        let Some(separator) = url_separator_len(&bytes[i..]) else {
            i += 1;
            continue;
        };
        let start = i + separator;
        let end = token_end(bytes, start);
        let token = &text[start..end];
        if let Some(at) = token.rfind('@') {
            if let Some(colon) = token[..at].find(':') {
                out.push_str(&text[copied..start + colon + 1]);
                out.push_str(MASK);
                copied = start + at;
            }
        }
        i = end;
    }
    out.push_str(&text[copied..]);
    out
}

fn url_separator_len(rest: &[u8]) -> Option<usize> {
    if rest.starts_with(b"://") {
        Some(3)
    } else if rest.starts_with(br":\/\/") {
        Some(5)
    } else {
        None
    }
}

/// Rule 2. Keys and delimiters are ASCII, so every slice index is a character boundary.
fn mask_password_values(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        match password_value_at(bytes, i) {
            Some((value_start, value_end)) => {
                out.push_str(&text[copied..value_start]);
                out.push_str(MASK);
                copied = value_end;
                i = value_end;
            }
            None => i += 1,
        }
    }
    out.push_str(&text[copied..]);
    out
}

/// The value's byte range when a password key starts at `i` and is followed by `=`.
fn password_value_at(bytes: &[u8], i: usize) -> Option<(usize, usize)> {
    if i > 0 && bytes[i - 1].is_ascii_alphanumeric() {
        return None;
    }
    let rest = &bytes[i..];
    let key = PASSWORD_KEYS.iter().find(|key| rest.len() >= key.len() && rest[..key.len()].eq_ignore_ascii_case(key.as_bytes()))?;
    let equals = skip_spaces(bytes, i + key.len());
    if bytes.get(equals) != Some(&b'=') {
        return None;
    }
    let start = skip_spaces(bytes, equals + 1);
    Some((start, value_end(bytes, start)))
}

fn skip_spaces(bytes: &[u8], mut i: usize) -> usize {
    while i < bytes.len() && is_space(bytes[i]) {
        i += 1;
    }
    i
}

/// A value is quoted (`'…'` or `"…"`, backslash escapes), quoted with escaped quotes
/// (`\"…\"`, as in JSON or a debug string), or bare up to whitespace or a quote. An
/// unterminated quote runs to the end of the text.
fn value_end(bytes: &[u8], start: usize) -> usize {
    match (bytes.get(start).copied(), bytes.get(start + 1).copied()) {
        (Some(quote @ (b'\'' | b'"')), _) => quoted_end(bytes, start + 1, quote),
        (Some(b'\\'), Some(quote @ (b'\'' | b'"'))) => escaped_quoted_end(bytes, start + 2, quote),
        _ => token_end(bytes, start),
    }
}

fn quoted_end(bytes: &[u8], mut i: usize, quote: u8) -> usize {
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b if b == quote => return i + 1,
            _ => i += 1,
        }
    }
    bytes.len()
}

fn escaped_quoted_end(bytes: &[u8], start: usize, quote: u8) -> usize {
    let closing = [b'\\', quote];
    bytes[start..].windows(2).position(|pair| pair == closing).map_or(bytes.len(), |n| start + n + 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    struct Case {
        input: String,
        masked: String,
        secrets: Vec<String>,
    }

    fn cases() -> Vec<Case> {
        serde_json::from_str(include_str!("../../../spec/fixtures/credential_masking.json")).unwrap()
    }

    #[test]
    fn masks_every_case_of_the_shared_table() {
        let cases = cases();
        assert!(cases.len() >= 30);
        for case in &cases {
            let masked = mask_credentials(&case.input);
            assert_eq!(masked, case.masked, "input: {:?}", case.input);
            for secret in &case.secrets {
                assert!(!masked.contains(secret.as_str()), "{secret:?} left in {masked:?}");
            }
        }
    }

    #[test]
    fn masking_twice_changes_nothing_more() {
        for case in cases() {
            assert_eq!(mask_credentials(&case.masked), case.masked, "input: {:?}", case.input);
        }
    }

    #[test]
    fn multi_byte_characters_next_to_delimiters_stay_whole() {
        let text = "é postgres://ü:pä@ß/d?password='ö\\é' x=\\\"é password=\\\"ö";
        assert_eq!(mask_credentials(text), "é postgres://ü:***@ß/d?password=*** x=\\\"é password=***");
        // Every cut of it: slicing stays on character boundaries, and masking is stable.
        for (end, _) in text.char_indices() {
            let masked = mask_credentials(&text[..end]);
            assert_eq!(mask_credentials(&masked), masked);
        }
    }
}
