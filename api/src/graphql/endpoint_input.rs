//! Validation of what people send to describe an endpoint. Every refusal names its field,
//! and no input can carry a credential: URLs with user info or secret-looking query
//! parameters are refused, and credentials are referenced (`secretRef`), never given.

use super::enums::{AuthMode, EndpointKind};
use crate::error::{ApiError, ApiResult};
use async_graphql::InputObject;
use entity::record::{EndpointRecord, MANUAL_SCOPE};
use serde_json::json;
use std::collections::BTreeMap;

pub const MAX_URL_LENGTH: usize = 2048;
pub const MAX_LABELS: usize = 32;
pub const MAX_LABEL_KEY: usize = 63;
pub const MAX_LABEL_VALUE: usize = 256;
pub const MAX_NOTES: usize = 2000;
const SECRET_QUERY_PARAMETERS: &[&str] = &[
    "token",
    "access_token",
    "auth",
    "authorization",
    "api_key",
    "apikey",
    "key",
    "password",
    "passwd",
    "secret",
    "client_secret",
    "sig",
    "signature",
];

#[derive(InputObject, Debug, Clone)]
pub struct LabelInput {
    pub key: String,
    pub value: String,
}

/// A monitoring endpoint described by a person.
#[derive(InputObject, Debug, Clone)]
pub struct UpsertMonitoringEndpointInput {
    /// The endpoint's key (`MonitoringEndpoint.key`): 1-63 lowercase letters, digits and
    /// `-`, starting and ending with a letter or digit (e.g. `prom-payments-eu`).
    pub id: String,
    pub kind: EndpointKind,
    /// `http` or `https`, at most 2048 characters, without user info or credentials.
    pub url: String,
    /// How collectors authenticate to it.
    #[graphql(default_with = "AuthMode::None")]
    pub auth_mode: AuthMode,
    /// At most 32; keys 1-63 of `[A-Za-z0-9._/-]`, values at most 256 characters.
    #[graphql(default)]
    pub labels: Vec<LabelInput>,
    /// Free text, at most 2000 characters.
    pub notes: Option<String>,
    /// Where collectors find the credential: `env:NAME` or `file:/absolute/path`. Required
    /// unless `authMode` is `NONE`; never the credential itself.
    pub secret_ref: Option<String>,
}

/// Checks an endpoint key.
pub fn valid_key(id: &str, field: &str) -> ApiResult<()> {
    let bytes = id.as_bytes();
    let edge_ok = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let ok = (1..=63).contains(&bytes.len())
        && bytes.first().is_some_and(edge_ok)
        && bytes.last().is_some_and(edge_ok)
        && bytes.iter().all(|b| edge_ok(b) || *b == b'-');
    if ok {
        Ok(())
    } else {
        Err(ApiError::bad_input(
            field,
            format!(
                "{field} must be 1-63 lowercase letters, digits and '-', starting and ending with a letter or digit"
            ),
        ))
    }
}

fn valid_url(raw: &str) -> ApiResult<String> {
    let bad = |message: &str| ApiError::bad_input("input.url", message);
    if raw.len() > MAX_URL_LENGTH {
        return Err(bad("input.url must be at most 2048 characters"));
    }
    let url =
        url::Url::parse(raw.trim()).map_err(|e| bad(&format!("input.url is not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad("input.url must use http or https"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad("input.url must name a host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad(
            "input.url must not carry credentials; name them with secretRef",
        ));
    }
    if url
        .query_pairs()
        .any(|(name, _)| SECRET_QUERY_PARAMETERS.contains(&name.to_ascii_lowercase().as_str()))
    {
        return Err(bad(
            "input.url must not carry credentials in its query; name them with secretRef",
        ));
    }
    if url.fragment().is_some() {
        return Err(bad("input.url must not have a fragment"));
    }
    Ok(url.to_string())
}

fn valid_labels(labels: &[LabelInput]) -> ApiResult<BTreeMap<String, String>> {
    let bad = |message: String| ApiError::bad_input("input.labels", message);
    if labels.len() > MAX_LABELS {
        return Err(bad(format!(
            "input.labels allows at most {MAX_LABELS} labels"
        )));
    }
    let mut out = BTreeMap::new();
    for label in labels {
        let key_ok = (1..=MAX_LABEL_KEY).contains(&label.key.len())
            && label
                .key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._/-".contains(c));
        if !key_ok {
            return Err(bad(format!(
                "label key {:?} must be 1-{MAX_LABEL_KEY} of [A-Za-z0-9._/-]",
                label.key.chars().take(MAX_LABEL_KEY).collect::<String>()
            )));
        }
        if label.value.chars().count() > MAX_LABEL_VALUE
            || label.value.chars().any(char::is_control)
        {
            return Err(bad(format!(
                "label {:?} must have a value of at most {MAX_LABEL_VALUE} printable characters",
                label.key
            )));
        }
        if out.insert(label.key.clone(), label.value.clone()).is_some() {
            return Err(bad(format!("label {:?} is given twice", label.key)));
        }
    }
    Ok(out)
}

fn valid_secret_ref(secret_ref: Option<&str>, auth_mode: AuthMode) -> ApiResult<Option<String>> {
    let field = "input.secretRef";
    match (secret_ref, auth_mode) {
        (None, AuthMode::None) => Ok(None),
        (None, _) => Err(ApiError::bad_input(
            field,
            "input.secretRef is required unless authMode is NONE",
        )),
        (Some(_), AuthMode::None) => Err(ApiError::bad_input(
            field,
            "input.secretRef makes no sense with authMode NONE",
        )),
        (Some(reference), _) => {
            let env_ok = reference.strip_prefix("env:").is_some_and(|name| {
                (1..=128).contains(&name.len())
                    && name
                        .chars()
                        .next()
                        .is_some_and(|c| c.is_ascii_uppercase() || c == '_')
                    && name
                        .chars()
                        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
            });
            let file_ok = reference.strip_prefix("file:").is_some_and(|path| {
                path.starts_with('/')
                    && path.len() <= 512
                    && !path.split('/').any(|segment| segment == "..")
                    && !path.chars().any(char::is_control)
            });
            if env_ok || file_ok {
                Ok(Some(reference.to_owned()))
            } else {
                Err(ApiError::bad_input(
                    field,
                    "input.secretRef must be env:NAME (uppercase) or file:/absolute/path",
                ))
            }
        }
    }
}

impl UpsertMonitoringEndpointInput {
    /// The record to write, or the first field-level refusal.
    pub fn into_record(self) -> ApiResult<EndpointRecord> {
        valid_key(&self.id, "input.id")?;
        let url = valid_url(&self.url)?;
        let labels = valid_labels(&self.labels)?;
        if let Some(notes) = &self.notes
            && notes.chars().count() > MAX_NOTES
        {
            return Err(ApiError::bad_input(
                "input.notes",
                format!("input.notes must be at most {MAX_NOTES} characters"),
            ));
        }
        let secret_ref = valid_secret_ref(self.secret_ref.as_deref(), self.auth_mode)?;
        Ok(EndpointRecord {
            id: self.id,
            kind: self.kind.into(),
            url,
            auth_mode: self.auth_mode.into(),
            status: entity::enums::EndpointStatus::Unknown,
            version: None,
            raw: json!({}),
            origin: entity::enums::Origin::Manual,
            labels,
            notes: self.notes,
            secret_ref,
            scope: MANUAL_SCOPE.to_owned(),
            last_checked_at: None,
            last_error: None,
            provenance: json!({ "api": "graphql", "operation": "upsertMonitoringEndpoint" }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_the_documented_charset() {
        for good in ["a", "prom-1", "x".repeat(63).as_str()] {
            assert!(valid_key(good, "id").is_ok(), "{good}");
        }
        for bad in ["", "-a", "a-", "A", "a_b", "a.b", "x".repeat(64).as_str()] {
            assert!(valid_key(bad, "id").is_err(), "{bad}");
        }
    }

    #[test]
    fn urls_carry_no_credentials() {
        assert_eq!(
            valid_url("https://prom.example.com:9090/prefix")
                .ok()
                .as_deref(),
            Some("https://prom.example.com:9090/prefix")
        );
        for bad in [
            "ftp://prom.example.com",
            "https://user:pass@prom.example.com",
            "https://user@prom.example.com",
            "https://prom.example.com/?token=abc",
            "https://prom.example.com/?API_KEY=abc",
            "https://prom.example.com/#frag",
            "not a url",
            "file:///etc/passwd",
        ] {
            assert!(valid_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn secret_references_name_an_env_var_or_a_file() {
        assert!(valid_secret_ref(Some("env:GRAFANA_TOKEN"), AuthMode::Token).is_ok());
        assert!(
            valid_secret_ref(Some("file:/var/run/secrets/prom/token"), AuthMode::Basic).is_ok()
        );
        for bad in [
            "glsa_abcdef",
            "env:lower",
            "file:relative",
            "file:/a/../b",
            "env:",
        ] {
            assert!(
                valid_secret_ref(Some(bad), AuthMode::Token).is_err(),
                "{bad}"
            );
        }
        assert!(valid_secret_ref(None, AuthMode::Token).is_err());
        assert!(valid_secret_ref(Some("env:X"), AuthMode::None).is_err());
    }
}
