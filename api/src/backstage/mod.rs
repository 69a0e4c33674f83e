//! Assets as Backstage catalog entities (`kind: Resource`), ready for an entity provider to
//! apply: names within Backstage's rules and collision-free, the annotations Backstage's own
//! AWS organization processor writes (and their GCP and Azure counterparts), labels from
//! tags, owner and system from configurable tag keys, a Grafana's dependency on the
//! Prometheus servers it revealed, and removed assets flagged rather than left out, so a
//! provider deletes them on purpose.

pub mod annotations;
pub mod names;

use annotations::Annotation;
use entity::enums::{EndpointKind, Provider};
use entity::json_column::{Ancestors, Tags};
use entity::{cloud_account, monitoring_endpoint};
use serde_json::{Map, Value, json};

/// The entity envelope's `apiVersion`.
pub const API_VERSION: &str = "backstage.io/v1alpha1";
/// `spec.type` of an account, project or subscription (as Backstage's AWS processor).
pub const ACCOUNT_TYPE: &str = "cloud-account";
/// `spec.type` of a Prometheus or Grafana server.
pub const ENDPOINT_TYPE: &str = "monitoring-endpoint";
/// Name prefix of endpoint entities; accounts use their provider's name.
const ENDPOINT_PREFIX: &str = "endpoint";

/// How entities are named and owned; `inventory-api --backstage-*` sets it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// `metadata.namespace` of every entity, and of the refs between them.
    pub namespace: String,
    /// The tag (or endpoint label) whose value is `spec.owner`.
    pub owner_tag: String,
    /// The tag (or endpoint label) whose value is `spec.system`.
    pub system_tag: String,
    /// `spec.owner` when the owner tag is missing (Backstage requires an owner).
    pub default_owner: String,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            namespace: "default".into(),
            owner_tag: "owner".into(),
            system_tag: "system".into(),
            default_owner: "unknown".into(),
        }
    }
}

/// Why options were refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum OptionsError {
    #[error("the Backstage namespace {0:?} must be a DNS label (lower-case letters, digits, '-')")]
    Namespace(String),
    #[error("the Backstage {0} tag key must not be empty")]
    TagKey(&'static str),
    #[error(
        "the default Backstage owner {0:?} must be an entity ref such as group:default/platform"
    )]
    Owner(String),
}

impl Options {
    /// Refuses options that would make every entity invalid.
    pub fn validated(self) -> Result<Self, OptionsError> {
        if !names::is_dns_label(&self.namespace) {
            return Err(OptionsError::Namespace(self.namespace));
        }
        if self.owner_tag.trim().is_empty() {
            return Err(OptionsError::TagKey("owner"));
        }
        if self.system_tag.trim().is_empty() {
            return Err(OptionsError::TagKey("system"));
        }
        if !names::is_entity_ref(&self.default_owner) {
            return Err(OptionsError::Owner(self.default_owner));
        }
        Ok(self)
    }
}

/// The entity name of an account (`aws-123456789012`, `gcp-payments-prod`, …).
pub fn account_name(account: &cloud_account::Model) -> String {
    names::entity_name(account.provider.as_str(), &account.native_id, &account.id)
}

/// The entity name of an endpoint (`endpoint-<key>`).
pub fn endpoint_name(key: &str) -> String {
    names::entity_name(ENDPOINT_PREFIX, key, key)
}

/// An account, project or subscription as a catalog entity.
pub fn account_entity(options: &Options, account: &cloud_account::Model) -> Value {
    let provider = account.provider;
    let mut annotations = Map::new();
    let mut annotate = |annotation: Annotation, value: Option<&str>| {
        if let Some(value) = value.filter(|v| !v.is_empty()) {
            annotations.insert(annotation.key().into(), value.into());
        }
    };
    annotate(Annotation::InventoryId, Some(&account.id));
    let ancestor = |kind: &str| ancestor_id(&account.ancestors, kind);
    match provider {
        Provider::Aws => {
            annotate(Annotation::AwsAccountId, Some(&account.native_id));
            annotate(
                Annotation::AwsArn,
                account.raw.get("Arn").and_then(Value::as_str),
            );
            annotate(
                Annotation::AwsOrganizationId,
                ancestor("organization").as_deref(),
            );
        }
        Provider::Gcp => {
            annotate(Annotation::GcpProjectId, Some(&account.native_id));
            annotate(
                Annotation::GcpProjectNumber,
                account
                    .raw
                    .get("name")
                    .and_then(Value::as_str)
                    .and_then(|name| name.strip_prefix("projects/")),
            );
            let organization = ancestor("organization");
            annotate(
                Annotation::GcpOrganizationId,
                organization
                    .as_deref()
                    .map(|id| id.strip_prefix("organizations/").unwrap_or(id)),
            );
        }
        Provider::Azure => {
            annotate(Annotation::AzureSubscriptionId, Some(&account.native_id));
            annotate(Annotation::AzureTenantId, ancestor("tenant").as_deref());
        }
    }
    if !account.org_path.is_empty() {
        annotations.insert(
            "asset-inventory/org-path".into(),
            account.org_path.clone().into(),
        );
    }
    let what = match provider {
        Provider::Aws => "AWS account",
        Provider::Gcp => "GCP project",
        Provider::Azure => "Azure subscription",
    };
    let description = if account.org_path.is_empty() {
        format!("{what} {}", account.native_id)
    } else {
        format!("{what} {} in {}", account.native_id, account.org_path)
    };
    envelope(
        options,
        Envelope {
            name: account_name(account),
            title: &account.name,
            description,
            annotations,
            status: account.status.as_str(),
            tags: &account.tags,
            kind_tag: provider.as_str(),
            spec_type: ACCOUNT_TYPE,
            removed_at: account.removed_at,
            links: Vec::new(),
            depends_on: Vec::new(),
        },
    )
}

/// A Prometheus or Grafana server as a catalog entity; a Grafana depends on the Prometheus
/// servers it revealed.
pub fn endpoint_entity(options: &Options, endpoint: &monitoring_endpoint::Model) -> Value {
    let mut annotations = Map::new();
    annotations.insert(
        Annotation::InventoryId.key().into(),
        endpoint.id.clone().into(),
    );
    let kind = match endpoint.kind {
        EndpointKind::Prometheus => "Prometheus",
        EndpointKind::Grafana => "Grafana",
    };
    let depends_on = match endpoint.kind {
        EndpointKind::Grafana => endpoint
            .raw
            .pointer(&format!(
                "/datasources/{}",
                entity::record::DISCOVERED_PROMETHEUS
            ))
            .and_then(Value::as_array)
            .map(|keys| {
                keys.iter()
                    .filter_map(Value::as_str)
                    .map(|key| format!("resource:{}/{}", options.namespace, endpoint_name(key)))
                    .collect()
            })
            .unwrap_or_default(),
        EndpointKind::Prometheus => Vec::new(),
    };
    envelope(
        options,
        Envelope {
            name: endpoint_name(&endpoint.id),
            title: &format!("{kind} {}", endpoint.id),
            description: format!("{kind} server at {}", endpoint.url),
            annotations,
            status: endpoint.status.as_str(),
            tags: &endpoint.labels,
            kind_tag: endpoint.kind.as_str(),
            spec_type: ENDPOINT_TYPE,
            removed_at: endpoint.removed_at,
            links: vec![json!({ "url": endpoint.url, "title": kind })],
            depends_on,
        },
    )
}

/// What differs between the two kinds of entity.
struct Envelope<'a> {
    name: String,
    title: &'a str,
    description: String,
    annotations: Map<String, Value>,
    /// The asset's status as stored (`active`, `up`…), as `asset-inventory/status`.
    status: &'static str,
    /// Tags or labels: the source of `metadata.labels`, owner and system.
    tags: &'a Tags,
    kind_tag: &'static str,
    spec_type: &'static str,
    removed_at: Option<chrono::DateTime<chrono::Utc>>,
    links: Vec<Value>,
    depends_on: Vec<String>,
}

fn envelope(options: &Options, parts: Envelope<'_>) -> Value {
    let Envelope {
        name,
        title,
        description,
        mut annotations,
        status,
        tags,
        kind_tag,
        spec_type,
        removed_at,
        links,
        depends_on,
    } = parts;
    annotations.insert("asset-inventory/status".into(), status.into());
    if let Some(at) = removed_at {
        annotations.insert("asset-inventory/removed".into(), "true".into());
        annotations.insert(
            "asset-inventory/removed-at".into(),
            at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true).into(),
        );
    }
    let owner = tag_value(tags, &options.owner_tag)
        .and_then(|value| names::entity_ref(&value))
        .unwrap_or_else(|| options.default_owner.clone());
    let mut spec = Map::new();
    spec.insert("type".into(), spec_type.into());
    spec.insert("owner".into(), owner.into());
    if let Some(system) =
        tag_value(tags, &options.system_tag).and_then(|value| names::entity_ref(&value))
    {
        spec.insert("system".into(), system.into());
    }
    if !depends_on.is_empty() {
        spec.insert("dependsOn".into(), depends_on.into());
    }
    let mut metadata = Map::new();
    metadata.insert("name".into(), name.into());
    metadata.insert("namespace".into(), options.namespace.clone().into());
    if !title.trim().is_empty() {
        metadata.insert("title".into(), title.into());
    }
    metadata.insert("description".into(), description.into());
    metadata.insert("annotations".into(), annotations.into());
    metadata.insert("labels".into(), labels(tags).into());
    metadata.insert("tags".into(), json!([kind_tag]));
    if !links.is_empty() {
        metadata.insert("links".into(), links.into());
    }
    json!({
        "apiVersion": API_VERSION,
        "kind": "Resource",
        "metadata": metadata,
        "spec": spec,
    })
}

/// The id of the first ancestor of `kind`.
fn ancestor_id(ancestors: &Ancestors, kind: &str) -> Option<String> {
    ancestors
        .0
        .iter()
        .find(|node| node.kind == kind)
        .map(|node| node.id.clone())
}

/// A tag's value: the key exactly, else the first key equal ignoring case (`Owner` for
/// `owner`), in sorted order so the pick is stable.
fn tag_value(tags: &Tags, key: &str) -> Option<String> {
    tags.0
        .get(key)
        .or_else(|| {
            tags.0
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(_, value)| value)
        })
        .cloned()
}

/// Tags as labels: keys and values within Backstage's rules, unchanged where they already
/// are. When two tags come to the same label key, the one whose key was already valid wins,
/// else the first in sorted order; the tags themselves stay whole on the asset.
fn labels(tags: &Tags) -> Map<String, Value> {
    let mut out = Map::new();
    let mut entries: Vec<(&String, &String)> = tags.0.iter().collect();
    // Valid keys first, then by key: the precedence the doc comment promises.
    entries.sort_by(|a, b| (!names::is_label_key(a.0), a.0).cmp(&(!names::is_label_key(b.0), b.0)));
    for (key, value) in entries {
        let Some(label) = names::label_key(key) else {
            continue;
        };
        out.entry(label)
            .or_insert_with(|| names::label_value(value).into());
    }
    out
}
