//! The Grafana source: checks every Grafana endpoint (stored, plus `--url`/`GRAFANA_URL`) with
//! `/api/health` (version, database) and, with a credential, `/api/org`,
//! `/api/frontend/settings` and `/api/datasources`, whose Prometheus data sources are
//! **discovered** as monitoring endpoints linked to their Grafana. `/api/datasources` is not
//! paginated: its body is read whole, within the probe's size bound.

use crate::guard::AddressPolicy;
use crate::probe::{Check, ProbeSource, Target, fetch, join, prepare, refused};
use crate::prometheus::id_for;
use entity::enums::{AuthMode, EndpointKind, EndpointStatus, Origin};
use entity::record::{DISCOVERED_PROMETHEUS, EndpointRecord};
use entity::secret_ref::SecretGrants;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::sync::Arc;

/// The Grafana collector: [`Grafana`] checks over every target.
pub type GrafanaSource = ProbeSource<Grafana>;

/// Checks a Grafana and reveals its Prometheus data sources.
pub struct Grafana;

impl Check for Grafana {
    const COLLECTOR: &'static str = "grafana";

    async fn check(
        client: reqwest::Client,
        policy: AddressPolicy,
        grants: Arc<SecretGrants>,
        target: Target,
    ) -> Vec<EndpointRecord> {
        probe(&client, &policy, &grants, &target).await
    }
}

/// An id for a Grafana given by URL: `grafana-<host>-<port>`.
pub fn grafana_id(url: &url::Url) -> String {
    id_for(url).replacen("prometheus-", "grafana-", 1)
}

fn parse(body: &[u8]) -> Option<Value> {
    serde_json::from_slice(body).ok()
}

/// Checks one Grafana; returns it and the Prometheus endpoints it revealed.
pub async fn probe(
    client: &reqwest::Client,
    policy: &AddressPolicy,
    grants: &SecretGrants,
    target: &Target,
) -> Vec<EndpointRecord> {
    let (mut grafana, auth) =
        match prepare(client, policy, grants, target, EndpointKind::Grafana).await {
            Ok(prepared) => prepared,
            Err(record) => return vec![record],
        };
    let health = match fetch(client, join(&target.url, "/api/health"), &auth).await {
        Ok(answer) => answer,
        Err(reason) => {
            grafana.status = if refused(&reason) {
                EndpointStatus::Unknown
            } else {
                EndpointStatus::Down
            };
            grafana.last_error = Some(reason);
            return vec![grafana];
        }
    };
    let health_body = parse(&health.1).unwrap_or(Value::Null);
    grafana.version = health_body
        .get("version")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let database_ok = health_body.get("database").and_then(Value::as_str) == Some("ok");
    grafana.status = if health.0.is_success() && database_ok {
        EndpointStatus::Up
    } else {
        EndpointStatus::Down
    };
    if grafana.status == EndpointStatus::Down {
        grafana.last_error = Some(format!(
            "/api/health answered {} (database {})",
            health.0.as_u16(),
            health_body
                .get("database")
                .and_then(Value::as_str)
                .unwrap_or("unknown")
        ));
    }
    grafana.raw = json!({ "health": health_body });
    if auth.is_none() {
        return vec![grafana];
    }
    let org = fetch(client, join(&target.url, "/api/org"), &auth).await;
    match &org {
        Ok((status, _)) if matches!(*status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) => {
            grafana.status = EndpointStatus::Unauthorized;
            grafana.last_error = Some(format!("/api/org answered {}", status.as_u16()));
            return vec![grafana];
        }
        Err(reason) => {
            grafana.last_error = Some(format!("/api/org: {reason}"));
            return vec![grafana];
        }
        Ok(_) => {}
    }
    let settings = fetch(client, join(&target.url, "/api/frontend/settings"), &auth).await;
    let datasources = fetch(client, join(&target.url, "/api/datasources"), &auth).await;
    grafana.raw["org"] = org
        .ok()
        .and_then(|(_, body)| parse(&body))
        .unwrap_or(Value::Null);
    grafana.raw["buildInfo"] = settings
        .ok()
        .and_then(|(_, body)| parse(&body))
        .and_then(|s| s.get("buildInfo").cloned())
        .unwrap_or(Value::Null);
    let listed = match datasources {
        Ok((status, body)) if status.is_success() => parse(&body)
            .and_then(|v| v.as_array().cloned())
            .unwrap_or_default(),
        Ok((status, _)) => {
            grafana.last_error = Some(format!("/api/datasources answered {}", status.as_u16()));
            Vec::new()
        }
        Err(reason) => {
            grafana.last_error = Some(format!("/api/datasources: {reason}"));
            Vec::new()
        }
    };
    let mut discovered = Vec::new();
    let mut unusable = 0;
    for source in listed
        .iter()
        .filter(|d| d.get("type").and_then(Value::as_str) == Some("prometheus"))
    {
        let Some(text) = source.get("url").and_then(Value::as_str) else {
            continue;
        };
        // A data source URL may carry credentials, or be relative: it is stored only if
        // it meets the rules every endpoint meets, and the rest are counted.
        let url = match entity::validate::endpoint_url(text) {
            Ok(url) => url,
            Err(invalid) => {
                tracing::warn!(grafana = %target.id, reason = %invalid, "data source URL not recorded");
                unusable += 1;
                continue;
            }
        };
        discovered.push(EndpointRecord {
            id: id_for(&url),
            kind: EndpointKind::Prometheus,
            url: url.to_string(),
            auth_mode: if source.get("basicAuth").and_then(Value::as_bool) == Some(true) {
                AuthMode::Basic
            } else {
                AuthMode::None
            },
            status: EndpointStatus::Unknown,
            version: None,
            raw: json!({}),
            origin: Origin::Collector,
            labels: Default::default(),
            notes: None,
            secret_ref: None,
            scope: String::new(),
            // Found, not checked: the Prometheus collector checks it.
            last_checked_at: None,
            last_error: None,
            provenance: json!({
                "discovered_by": target.id,
                "datasource": {
                    "uid": source.get("uid"), "name": source.get("name"),
                    "access": source.get("access"), "isDefault": source.get("isDefault"),
                },
            }),
        });
    }
    // The keys of what it revealed stay on the Grafana itself: the revealed endpoints'
    // provenance is replaced once the Prometheus collector checks them.
    let mut keys: Vec<&str> = discovered.iter().map(|e| e.id.as_str()).collect();
    keys.sort_unstable();
    keys.dedup();
    grafana.raw["datasources"] = json!({
        "total": listed.len(),
        "prometheus": discovered.len(),
        "unusable": unusable,
        DISCOVERED_PROMETHEUS: keys,
    });
    let mut all = vec![grafana];
    all.extend(discovered);
    all
}
