//! What people send to describe an endpoint, turned into the record the write path checks
//! ([`entity::validate`], the rules every writer meets) and, for its secret reference, into
//! a check against what the operator grants. Every refusal names its input field, and no
//! input can carry a credential: URLs with user info or secret-looking query parameters are
//! refused, and credentials are referenced (`secretRef`), never given.

use super::enums::{AuthMode, EndpointKind};
use crate::error::{ApiError, ApiResult};
use async_graphql::InputObject;
use entity::record::{EndpointRecord, MANUAL_SCOPE};
use entity::secret_ref::{SecretGrants, SecretRef};
use entity::validate::{Field, Invalid, MAX_LABELS};
use serde_json::json;
use std::collections::BTreeMap;

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
    /// Free text, at most 2000 characters: line breaks and tabs, no other control character.
    pub notes: Option<String>,
    /// Where collectors find the credential: `env:NAME` or `file:/absolute/path`, inside what
    /// the operator grants for this URL's origin (`INVENTORY_SECRET_GRANTS`). Required unless
    /// `authMode` is `NONE`; never the credential itself.
    pub secret_ref: Option<String>,
}

/// The input field a record field comes from.
pub fn input_field(field: Field) -> &'static str {
    match field {
        Field::Id => "input.id",
        Field::Url => "input.url",
        Field::Labels => "input.labels",
        Field::Notes => "input.notes",
        Field::SecretRef => "input.secretRef",
        Field::NativeId => "input.nativeId",
    }
}

/// A write-path refusal as a refusal of the input field it is about.
pub fn refusal(invalid: Invalid) -> ApiError {
    let field = input_field(invalid.field);
    ApiError::bad_input(field, format!("{field} {}", invalid.reason))
}

/// Checks an endpoint key given as the argument `field`.
pub fn valid_key(id: &str, field: &str) -> ApiResult<()> {
    entity::validate::endpoint_key(id)
        .map_err(|invalid| ApiError::bad_input(field, format!("{field} {}", invalid.reason)))
}

/// Labels as a map; a key given twice is refused (a map would keep one silently).
fn labels(labels: Vec<LabelInput>) -> ApiResult<BTreeMap<String, String>> {
    let field = input_field(Field::Labels);
    if labels.len() > MAX_LABELS {
        return Err(ApiError::bad_input(
            field,
            format!("{field} allows at most {MAX_LABELS} labels"),
        ));
    }
    let mut out = BTreeMap::new();
    for label in labels {
        if let Some(key) = out
            .insert(label.key.clone(), label.value)
            .map(|_| label.key)
        {
            let key: String = key.chars().take(entity::validate::MAX_LABEL_KEY).collect();
            return Err(ApiError::bad_input(
                field,
                format!("label {key:?} is given twice"),
            ));
        }
    }
    Ok(out)
}

impl UpsertMonitoringEndpointInput {
    /// The record to write, or the first field-level refusal: the write path's rules, then
    /// whether the operator grants the secret reference for the endpoint's origin.
    pub fn into_record(self, grants: &SecretGrants) -> ApiResult<EndpointRecord> {
        // What people type is put in normal form; stored URLs are compared as text.
        let url = entity::validate::endpoint_url(self.url.trim()).map_err(refusal)?;
        let record = EndpointRecord {
            id: self.id,
            kind: self.kind.into(),
            url: url.to_string(),
            auth_mode: self.auth_mode.into(),
            status: entity::enums::EndpointStatus::Unknown,
            version: None,
            raw: json!({}),
            origin: entity::enums::Origin::Manual,
            labels: labels(self.labels)?,
            notes: self.notes,
            secret_ref: self.secret_ref,
            scope: MANUAL_SCOPE.to_owned(),
            last_checked_at: None,
            last_error: None,
            provenance: json!({ "api": "graphql", "operation": "upsertMonitoringEndpoint" }),
        };
        entity::validate::endpoint(&record).map_err(refusal)?;
        if let Some(reference) = &record.secret_ref {
            SecretRef::parse(reference)
                .and_then(|reference| grants.check(&reference, &url).map(|_| ()))
                .map_err(|e| {
                    refusal(Invalid {
                        field: Field::SecretRef,
                        reason: e.to_string(),
                    })
                })?;
        }
        Ok(record)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(secret_ref: Option<&str>, url: &str) -> UpsertMonitoringEndpointInput {
        UpsertMonitoringEndpointInput {
            id: "prom-1".into(),
            kind: EndpointKind::Prometheus,
            url: url.into(),
            auth_mode: if secret_ref.is_some() {
                AuthMode::Token
            } else {
                AuthMode::None
            },
            labels: Vec::new(),
            notes: None,
            secret_ref: secret_ref.map(str::to_owned),
        }
    }

    fn field(result: ApiResult<EndpointRecord>) -> Option<String> {
        match result {
            Err(ApiError::BadUserInput { field, .. }) => Some(field),
            _ => None,
        }
    }

    #[test]
    fn secret_references_must_be_granted_for_the_endpoint() {
        let grants = SecretGrants::new(vec![
            "env:INVENTORY_SECRET_*=https://prom.example.com"
                .parse()
                .expect("a grant"),
        ]);
        let ok = input(
            Some("env:INVENTORY_SECRET_PROM"),
            "https://prom.example.com/",
        );
        assert!(ok.into_record(&grants).is_ok());
        for (reference, url) in [
            ("env:INVENTORY_DATABASE_URL", "https://prom.example.com"),
            ("env:AWS_SECRET_ACCESS_KEY", "https://prom.example.com"),
            ("file:/etc/shadow", "https://prom.example.com"),
            ("file:/proc/self/environ", "https://prom.example.com"),
            ("env:INVENTORY_SECRET_PROM", "https://attacker.example.com"),
        ] {
            assert_eq!(
                field(input(Some(reference), url).into_record(&grants)).as_deref(),
                Some("input.secretRef"),
                "{reference} for {url}"
            );
        }
        assert!(
            input(None, "https://any.example.com")
                .into_record(&grants)
                .is_ok()
        );
    }

    #[test]
    fn labels_given_twice_are_refused() {
        let twice = vec![
            LabelInput {
                key: "k".into(),
                value: "v".into(),
            },
            LabelInput {
                key: "k".into(),
                value: "w".into(),
            },
        ];
        assert!(labels(twice).is_err());
    }
}
