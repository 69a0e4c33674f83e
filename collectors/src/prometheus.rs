//! The Prometheus source: checks every Prometheus endpoint (configured with `--url`, and
//! every one people seeded) and records what it is and whether it is healthy:
//! `/-/healthy`, `/-/ready`, `/api/v1/status/buildinfo`, `/api/v1/status/runtimeinfo` and a
//! summary of `/api/v1/targets`. Requests go through the address guard, carry credentials
//! resolved from the endpoint's secret reference (never stored, never logged), and read at
//! most a bounded body within a timeout.

use crate::guard::AddressPolicy;
use crate::probe::{Check, ProbeSource, Target, fetch, join, json_data, prepare, refused};
use entity::enums::{EndpointKind, EndpointStatus};
use entity::record::EndpointRecord;
use entity::secret_ref::SecretGrants;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::sync::Arc;
use url::Url;

/// An id for an endpoint given by URL: `prometheus-<host>-<port>`, within the key charset.
pub fn id_for(url: &Url) -> String {
    let host = url.host_str().unwrap_or("unknown");
    let port = url.port_or_known_default().unwrap_or_default();
    let mut id: String = format!("prometheus-{host}-{port}")
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    id.truncate(63);
    id.trim_end_matches('-').to_owned()
}

/// The Prometheus collector: [`Prometheus`] checks over every target.
pub type PrometheusSource = ProbeSource<Prometheus>;

/// Checks a Prometheus server.
pub struct Prometheus;

impl Check for Prometheus {
    const COLLECTOR: &'static str = "prometheus";

    async fn check(
        client: reqwest::Client,
        policy: AddressPolicy,
        grants: Arc<SecretGrants>,
        target: Target,
    ) -> Vec<EndpointRecord> {
        vec![probe(&client, &policy, &grants, &target).await]
    }
}

/// Checks one endpoint. Never fails: what went wrong is the endpoint's status and error.
pub async fn probe(
    client: &reqwest::Client,
    policy: &AddressPolicy,
    grants: &SecretGrants,
    target: &Target,
) -> EndpointRecord {
    let (mut record, auth) =
        match prepare(client, policy, grants, target, EndpointKind::Prometheus).await {
            Ok(prepared) => prepared,
            Err(record) => return record,
        };
    let healthy = match fetch(client, join(&target.url, "/-/healthy"), &auth).await {
        Ok(answer) => answer,
        Err(reason) => {
            record.status = if refused(&reason) {
                EndpointStatus::Unknown
            } else {
                EndpointStatus::Down
            };
            record.last_error = Some(reason);
            return record;
        }
    };
    if matches!(healthy.0, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) {
        record.status = EndpointStatus::Unauthorized;
        record.last_error = Some(format!("/-/healthy answered {}", healthy.0.as_u16()));
        return record;
    }
    record.status = if healthy.0.is_success() {
        EndpointStatus::Up
    } else {
        EndpointStatus::Down
    };
    if !healthy.0.is_success() {
        record.last_error = Some(format!("/-/healthy answered {}", healthy.0.as_u16()));
    }
    let ready = fetch(client, join(&target.url, "/-/ready"), &auth).await;
    let build = fetch(client, join(&target.url, "/api/v1/status/buildinfo"), &auth).await;
    let runtime = fetch(
        client,
        join(&target.url, "/api/v1/status/runtimeinfo"),
        &auth,
    )
    .await;
    let mut targets_url = join(&target.url, "/api/v1/targets");
    targets_url.set_query(Some("state=active"));
    let targets = fetch(client, targets_url, &auth).await;
    let buildinfo = build.ok().and_then(|(_, body)| json_data(&body));
    record.version = buildinfo
        .as_ref()
        .and_then(|b| b.get("version"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let summary = targets
        .ok()
        .and_then(|(_, body)| json_data(&body))
        .map(|data| {
            let active = data
                .get("activeTargets")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let health = |h: &str| {
                active
                    .iter()
                    .filter(|t| t.get("health").and_then(Value::as_str) == Some(h))
                    .count()
            };
            json!({ "active": active.len(), "up": health("up"), "down": health("down") })
        });
    record.raw = json!({
        "ready": ready.map(|(s, _)| s.is_success()).unwrap_or(false),
        "buildinfo": buildinfo,
        "runtimeinfo": runtime.ok().and_then(|(_, body)| json_data(&body)),
        "targets": summary,
    });
    record
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_from_urls_fit_the_key_charset() {
        let url = Url::parse("http://Prom.Example.com:9090/prefix").expect("url");
        assert_eq!(id_for(&url), "prometheus-prom-example-com-9090");
        let id = id_for(&Url::parse("https://[::1]/").expect("url"));
        assert!(
            id.starts_with("prometheus-") && id.ends_with("-443"),
            "{id}"
        );
        assert!(
            id.len() <= 63
                && id
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        );
    }
}
