//! What writers hand to the write path: plain records of what they observed, free of
//! bookkeeping (first/last seen, removal, run id), which the write path owns.

use crate::enums::{AccountStatus, AuthMode, EndpointKind, EndpointStatus, Origin, Provider};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// One level of an account's place in its organization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ancestor {
    pub id: String,
    pub name: String,
    /// `organization`, `root`, `organizational_unit`, `folder`, `tenant`, `management_group`…
    pub kind: String,
}

/// An AWS account, GCP project or Azure subscription as a collector saw it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountRecord {
    pub provider: Provider,
    pub native_id: String,
    pub name: String,
    #[serde(default)]
    pub org_path: String,
    #[serde(default)]
    pub ancestors: Vec<Ancestor>,
    #[serde(default)]
    pub parent: Option<String>,
    pub status: AccountStatus,
    #[serde(default)]
    pub raw_status: Option<String>,
    #[serde(default)]
    pub region_residency: Option<String>,
    /// `None`: the source did not read the tags this time (AWS reads them apart from its
    /// listing, within a budget: see `collectors`' enrichment), so the stored tags, and when
    /// they were read, stay. A document that names no tags has none.
    #[serde(default = "no_tags")]
    pub tags: Option<BTreeMap<String, String>>,
    #[serde(default = "empty_object")]
    pub raw: Value,
    /// Which organization or tenant was read. Collectors stamp their run's scope here.
    #[serde(default)]
    pub scope: String,
    /// Collector name and version; set by the writer, not by documents.
    #[serde(skip)]
    pub source: String,
    /// Where the fact came from (API, request ids, page); set by the writer.
    #[serde(skip)]
    pub provenance: Value,
}

impl AccountRecord {
    /// The primary key: see `cloud_account::Model::id`.
    pub fn id(&self) -> String {
        account_id(self.provider, &self.native_id)
    }
}

/// The primary key of an account.
pub fn account_id(provider: Provider, native_id: &str) -> String {
    format!("{}:{native_id}", provider.as_str())
}

/// Where a Grafana's `raw.datasources` lists the keys of the Prometheus endpoints it
/// revealed: the Grafana collector writes it, the API's Backstage projection reads it.
pub const DISCOVERED_PROMETHEUS: &str = "prometheus_endpoints";

/// A Prometheus or Grafana server as a person or a collector describes it.
///
/// People own what they describe (kind, URL, auth mode, secret reference, labels, notes);
/// collectors own what they observe (status, version, raw, last check, last error). The write
/// path takes each side's fields from its own writer and keeps the other side's as stored, so
/// a probe never overwrites a person's labels and a person never fakes a status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointRecord {
    pub id: String,
    pub kind: EndpointKind,
    pub url: String,
    #[serde(default = "default_auth_mode")]
    pub auth_mode: AuthMode,
    #[serde(default = "default_endpoint_status")]
    pub status: EndpointStatus,
    #[serde(default)]
    pub version: Option<String>,
    #[serde(default = "empty_object")]
    pub raw: Value,
    #[serde(default = "default_origin")]
    pub origin: Origin,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub notes: Option<String>,
    /// Where collectors find the credential (`env:NAME` or `file:/path`), never the secret.
    #[serde(default)]
    pub secret_ref: Option<String>,
    /// `manual` for seeded rows; a collector's scope for discovered ones.
    #[serde(default = "default_endpoint_scope")]
    pub scope: String,
    /// When the writer checked the endpoint. `None` means it observed nothing (it found the
    /// endpoint somewhere, or a file names it): status, version, raw and error then stay as
    /// the last check left them.
    #[serde(default)]
    pub last_checked_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub last_error: Option<String>,
    #[serde(skip)]
    pub provenance: Value,
}

/// The scope of endpoints that people seed by hand.
pub const MANUAL_SCOPE: &str = "manual";

fn no_tags() -> Option<BTreeMap<String, String>> {
    Some(BTreeMap::new())
}
fn empty_object() -> Value {
    Value::Object(serde_json::Map::new())
}
fn default_auth_mode() -> AuthMode {
    AuthMode::None
}
fn default_endpoint_status() -> EndpointStatus {
    EndpointStatus::Unknown
}
fn default_origin() -> Origin {
    Origin::Manual
}
fn default_endpoint_scope() -> String {
    MANUAL_SCOPE.to_owned()
}
