//! The rules a record must meet to be stored, whoever writes it: the API's mutation, the
//! `file` source and the collectors all reach the store through [`crate::write`], which
//! applies these, so no way in can store what another refuses.
//!
//! Endpoint records are what people and files describe, so they are checked in full: a key
//! of the documented charset, an http(s) URL without credentials, bounded labels and notes
//! without control characters, and a secret reference of the documented form (never a
//! secret). Account records come from cloud APIs and are kept as the provider says, past
//! the invariants every row needs.

use crate::enums::{AuthMode, Origin};
use crate::record::{AccountRecord, EndpointRecord};
use crate::secret_ref::SecretRef;

pub const MAX_KEY: usize = 63;
pub const MAX_URL_LENGTH: usize = 2048;
pub const MAX_LABELS: usize = 32;
pub const MAX_LABEL_KEY: usize = 63;
pub const MAX_LABEL_VALUE: usize = 256;
pub const MAX_NOTES: usize = 2000;
pub const MAX_NATIVE_ID: usize = 1024;

/// The field of a record that a refusal is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Id,
    Url,
    Labels,
    Notes,
    SecretRef,
    NativeId,
}

impl Field {
    /// The field's name in records and documents.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Id => "id",
            Self::Url => "url",
            Self::Labels => "labels",
            Self::Notes => "notes",
            Self::SecretRef => "secret_ref",
            Self::NativeId => "native_id",
        }
    }
}

/// Why a record cannot be stored. `reason` never quotes a credential.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} {reason}", field.as_str())]
pub struct Invalid {
    pub field: Field,
    /// What is wrong, to follow the field's name ("must be at most …").
    pub reason: String,
}

impl Invalid {
    fn new(field: Field, reason: impl Into<String>) -> Self {
        Self {
            field,
            reason: reason.into(),
        }
    }
}

/// Checks an endpoint record. Its URL is stored as written (normalizing it here would
/// rewrite every stored URL on the next run); the API's mutation normalizes what people type.
pub fn endpoint(record: &EndpointRecord) -> Result<(), Invalid> {
    endpoint_key(&record.id)?;
    endpoint_url(&record.url)?;
    labels(record.labels.iter())?;
    if let Some(notes) = &record.notes {
        self::notes(notes)?;
    }
    match (&record.secret_ref, record.auth_mode) {
        (Some(_), AuthMode::None) => {
            return Err(Invalid::new(
                Field::SecretRef,
                "makes no sense with auth mode none",
            ));
        }
        (Some(reference), _) => {
            SecretRef::parse(reference)
                .map_err(|e| Invalid::new(Field::SecretRef, e.to_string()))?;
        }
        // A person who describes an authenticated endpoint says where its credential is; a
        // collector may record that an endpoint needs a credential it was not given.
        (None, mode) if mode != AuthMode::None && record.origin == Origin::Manual => {
            return Err(Invalid::new(
                Field::SecretRef,
                "is required unless the auth mode is none",
            ));
        }
        (None, _) => {}
    }
    Ok(())
}

/// Checks what every account row needs.
pub fn account(record: &AccountRecord) -> Result<(), Invalid> {
    let id = record.native_id.as_str();
    if id.trim().is_empty() {
        return Err(Invalid::new(Field::NativeId, "must not be empty"));
    }
    if id.chars().count() > MAX_NATIVE_ID || id.chars().any(unsafe_char) {
        return Err(Invalid::new(
            Field::NativeId,
            format!("must be at most {MAX_NATIVE_ID} printable characters"),
        ));
    }
    Ok(())
}

/// An endpoint's key: 1-63 lowercase letters, digits and `-`, starting and ending with a
/// letter or digit.
pub fn endpoint_key(id: &str) -> Result<(), Invalid> {
    let bytes = id.as_bytes();
    let edge_ok = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let ok = (1..=MAX_KEY).contains(&bytes.len())
        && bytes.first().is_some_and(edge_ok)
        && bytes.last().is_some_and(edge_ok)
        && bytes.iter().all(|b| edge_ok(b) || *b == b'-');
    if ok {
        Ok(())
    } else {
        Err(Invalid::new(
            Field::Id,
            "must be 1-63 lowercase letters, digits and '-', starting and ending with a letter or digit",
        ))
    }
}

/// An endpoint's URL: http or https, a host, at most 2048 characters, no user info, no
/// credential-looking query parameter, no fragment.
pub fn endpoint_url(raw: &str) -> Result<url::Url, Invalid> {
    let bad = |reason: &str| Invalid::new(Field::Url, reason);
    if raw.len() > MAX_URL_LENGTH {
        return Err(bad("must be at most 2048 characters"));
    }
    if raw.trim() != raw {
        return Err(bad("must not start or end with spaces"));
    }
    // The parser's message quotes nothing of the input.
    let url =
        url::Url::parse(raw).map_err(|e| Invalid::new(Field::Url, format!("is not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad("must use http or https"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad("must name a host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad(
            "must not carry credentials; name them with a secret reference",
        ));
    }
    if url.query_pairs().any(|(name, _)| secret_looking(&name)) {
        return Err(bad(
            "must not carry credentials in its query; name them with a secret reference",
        ));
    }
    if url.fragment().is_some() {
        return Err(bad("must not have a fragment"));
    }
    Ok(url)
}

/// Whether a query parameter's name looks like it carries a credential, by pattern rather
/// than by list: `X-Amz-Signature`, `access-token`, `private_token`, `sig`, `apiKey` …
pub fn secret_looking(name: &str) -> bool {
    let folded: String = name
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    const PARTS: &[&str] = &[
        "token",
        "secret",
        "passw",
        "pwd",
        "signature",
        "apikey",
        "credential",
        "auth",
        "privatekey",
        "session",
    ];
    const WHOLE: &[&str] = &["key", "sig", "code", "jwt", "sas"];
    PARTS.iter().any(|part| folded.contains(part)) || WHOLE.contains(&folded.as_str())
}

/// Labels: at most 32; keys 1-63 of `[A-Za-z0-9._/-]`, values at most 256 printable
/// characters. (Keys are unique by construction: records hold them in a map.)
pub fn labels<'a>(
    labels: impl ExactSizeIterator<Item = (&'a String, &'a String)>,
) -> Result<(), Invalid> {
    if labels.len() > MAX_LABELS {
        return Err(Invalid::new(
            Field::Labels,
            format!("allows at most {MAX_LABELS} labels"),
        ));
    }
    for (key, value) in labels {
        let key_ok = (1..=MAX_LABEL_KEY).contains(&key.len())
            && key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._/-".contains(c));
        if !key_ok {
            return Err(Invalid::new(
                Field::Labels,
                format!(
                    "key {:?} must be 1-{MAX_LABEL_KEY} of [A-Za-z0-9._/-]",
                    key.chars().take(MAX_LABEL_KEY).collect::<String>()
                ),
            ));
        }
        if value.chars().count() > MAX_LABEL_VALUE || value.chars().any(unsafe_char) {
            return Err(Invalid::new(
                Field::Labels,
                format!(
                    "{key:?} must have a value of at most {MAX_LABEL_VALUE} printable characters"
                ),
            ));
        }
    }
    Ok(())
}

/// Notes: at most 2000 characters; line breaks and tabs, but no other control character
/// (NUL, escape sequences that rewrite a terminal, bidirectional overrides).
pub fn notes(notes: &str) -> Result<(), Invalid> {
    if notes.chars().count() > MAX_NOTES {
        return Err(Invalid::new(
            Field::Notes,
            format!("must be at most {MAX_NOTES} characters"),
        ));
    }
    if notes
        .chars()
        .any(|c| c != '\n' && c != '\t' && unsafe_char(c))
    {
        return Err(Invalid::new(
            Field::Notes,
            "must not contain control characters other than line breaks and tabs",
        ));
    }
    Ok(())
}

/// Control characters (C0, DEL, C1) and the Unicode controls that reorder or hide text.
fn unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_the_documented_charset() {
        for good in ["a", "prom-1", "x".repeat(63).as_str()] {
            assert!(endpoint_key(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "-a",
            "a-",
            "A",
            "a_b",
            "a.b",
            "Bad Id!",
            "x".repeat(64).as_str(),
        ] {
            assert_eq!(
                endpoint_key(bad).map_err(|e| e.field),
                Err(Field::Id),
                "{bad}"
            );
        }
    }

    #[test]
    fn urls_carry_no_credentials() {
        assert_eq!(
            endpoint_url("https://prom.example.com:9090/prefix")
                .map(|u| u.to_string())
                .ok()
                .as_deref(),
            Some("https://prom.example.com:9090/prefix")
        );
        assert!(endpoint_url("https://prom.example.com/?query=up&step=15").is_ok());
        for bad in [
            "ftp://prom.example.com",
            "https://user:pass@prom.example.com",
            "https://user@prom.example.com",
            "https://prom.example.com/?token=abc",
            "https://prom.example.com/?API_KEY=abc",
            "https://s3.example.com/x?X-Amz-Signature=abc",
            "https://s3.example.com/x?X-Amz-Credential=abc",
            "https://prom.example.com/?access-token=abc",
            "https://gitlab.example.com/?private_token=abc",
            "https://blob.example.com/?sv=1&sig=abc",
            "https://prom.example.com/#frag",
            "not a url",
            "file:///etc/passwd",
            " https://prom.example.com",
            &format!("https://prom.example.com/{}", "a".repeat(2048)),
        ] {
            let refused = endpoint_url(bad).expect_err(bad);
            assert_eq!(refused.field, Field::Url);
            assert!(
                !refused.reason.contains("abc") && !refused.reason.contains("pass"),
                "{refused}"
            );
        }
    }

    #[test]
    fn notes_refuse_control_characters_but_keep_lines() {
        assert!(notes("first line\n\tsecond line").is_ok());
        for bad in [
            "nul\0",
            "esc\u{1b}[2J",
            "cr\roverwrite",
            "bidi\u{202E}txt",
            "c1\u{9b}",
        ] {
            assert_eq!(
                notes(bad).map_err(|e| e.field),
                Err(Field::Notes),
                "{bad:?}"
            );
        }
        assert!(notes(&"n".repeat(2001)).is_err());
    }

    fn record() -> EndpointRecord {
        serde_json::from_value(serde_json::json!({
            "id": "prom-1", "kind": "prometheus", "url": "https://prom.example.com",
        }))
        .expect("a record")
    }

    #[test]
    fn secret_references_match_the_auth_mode() {
        let mut ok = record();
        ok.auth_mode = AuthMode::Token;
        ok.secret_ref = Some("env:INVENTORY_SECRET_PROM".into());
        assert_eq!(endpoint(&ok), Ok(()));

        let mut missing = record();
        missing.auth_mode = AuthMode::Token;
        assert_eq!(
            endpoint(&missing).map_err(|e| e.field),
            Err(Field::SecretRef)
        );
        // A collector may know that a credential is needed without having one.
        missing.origin = Origin::Collector;
        assert_eq!(endpoint(&missing), Ok(()));

        let mut pointless = record();
        pointless.secret_ref = Some("env:INVENTORY_SECRET_PROM".into());
        assert_eq!(
            endpoint(&pointless).map_err(|e| e.field),
            Err(Field::SecretRef)
        );

        let mut literal = record();
        literal.auth_mode = AuthMode::Token;
        literal.secret_ref = Some("glsa_0123456789abcdef".into());
        let refused = endpoint(&literal).expect_err("a literal secret");
        assert!(!refused.to_string().contains("glsa"), "{refused}");
    }

    #[test]
    fn native_ids_are_printable_and_bounded() {
        let account = |id: &str| -> AccountRecord {
            serde_json::from_value(serde_json::json!({
                "provider": "aws", "native_id": id, "name": "n", "status": "active",
            }))
            .expect("a record")
        };
        assert!(self::account(&account("123456789012")).is_ok());
        for bad in ["", "  ", "a\0b", &"1".repeat(MAX_NATIVE_ID + 1)] {
            assert_eq!(
                self::account(&account(bad)).map_err(|e| e.field),
                Err(Field::NativeId),
                "{bad:?}"
            );
        }
    }
}
