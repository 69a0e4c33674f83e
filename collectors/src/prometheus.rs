//! The Prometheus source: checks every Prometheus endpoint (configured with `--url`, and
//! every one people seeded) and records what it is and whether it is healthy:
//! `/-/healthy`, `/-/ready`, `/api/v1/status/buildinfo`, `/api/v1/status/runtimeinfo` and a
//! summary of `/api/v1/targets`. Requests go through the address guard, carry credentials
//! resolved from the endpoint's secret reference (never stored, never logged), and read at
//! most a bounded body within a timeout.

use crate::guard::{AddressPolicy, GuardedResolver};
use crate::source::{CollectError, Owns, Page, Source};
use chrono::Utc;
use entity::enums::{AuthMode, EndpointKind, EndpointStatus, Origin};
use entity::record::EndpointRecord;
use futures::StreamExt;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use url::Url;

/// Largest response body read from an endpoint.
const MAX_BODY: usize = 2 * 1024 * 1024;

/// One endpoint to check.
#[derive(Debug, Clone)]
pub struct Target {
    pub id: String,
    pub url: Url,
    pub auth_mode: AuthMode,
    /// `env:NAME` or `file:/path`; for basic auth the secret is `user:password`.
    pub secret_ref: Option<String>,
}

#[derive(Debug, Clone)]
pub struct ProbeOptions {
    pub targets: Vec<Target>,
    pub policy: AddressPolicy,
    pub timeout: Duration,
    pub concurrency: usize,
    /// Extra CA certificates (PEM) to trust, for endpoints behind an internal CA.
    pub ca_pem: Option<Vec<u8>>,
}

pub struct PrometheusSource {
    options: ProbeOptions,
    client: Option<reqwest::Client>,
    done: bool,
}

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

/// The secret a reference names. The value never leaves this function except into a header.
fn resolve_secret(reference: &str) -> Result<String, String> {
    if let Some(name) = reference.strip_prefix("env:") {
        std::env::var(name).map_err(|_| format!("secret env {name} is not set"))
    } else if let Some(path) = reference.strip_prefix("file:") {
        std::fs::read_to_string(path)
            .map(|s| s.trim_end_matches(['\n', '\r']).to_owned())
            .map_err(|e| format!("secret file {path} is not readable: {}", e.kind()))
    } else {
        Err("the secret reference is neither env: nor file:".into())
    }
}

fn client(options: &ProbeOptions) -> Result<reqwest::Client, CollectError> {
    let policy = Arc::new(options.policy.clone());
    let redirects = policy.clone();
    let mut builder = reqwest::Client::builder()
        .timeout(options.timeout)
        .connect_timeout(options.timeout)
        .dns_resolver(Arc::new(GuardedResolver(policy)))
        .redirect(reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() >= 3 {
                attempt.error("too many redirects")
            } else if let Err(reason) = redirects.check_url(attempt.url()) {
                attempt.error(format!("redirect refused: {reason}"))
            } else {
                attempt.follow()
            }
        }));
    if let Some(pem) = &options.ca_pem {
        for cert in reqwest::Certificate::from_pem_bundle(pem)
            .map_err(|e| CollectError::Invalid(format!("the CA bundle is not PEM: {e}")))?
        {
            builder = builder.add_root_certificate(cert);
        }
    }
    builder
        .build()
        .map_err(|e| CollectError::Invalid(format!("cannot build the HTTP client: {e}")))
}

/// A bounded GET: status and up to [`MAX_BODY`] bytes of body.
async fn fetch(
    client: &reqwest::Client,
    url: Url,
    auth: &Option<(AuthMode, String)>,
) -> Result<(StatusCode, Vec<u8>), String> {
    let mut request = client.get(url);
    match auth {
        Some((AuthMode::Token, token)) => request = request.bearer_auth(token),
        Some((AuthMode::Basic, pair)) => {
            let (user, password) = pair.split_once(':').unwrap_or((pair, ""));
            request = request.basic_auth(user, Some(password));
        }
        _ => {}
    }
    let mut response = request.send().await.map_err(describe)?;
    let status = response.status();
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(describe)? {
        if body.len() + chunk.len() > MAX_BODY {
            return Err(format!("the response is larger than {MAX_BODY} bytes"));
        }
        body.extend_from_slice(&chunk);
    }
    Ok((status, body))
}

/// Transport errors without the URL (it is on the row already) but with the root cause,
/// which carries a guard refusal's reason.
fn describe(err: reqwest::Error) -> String {
    let kind = if err.is_timeout() {
        "timed out"
    } else if err.is_connect() {
        "connection failed"
    } else if err.is_redirect() {
        "redirect refused"
    } else {
        "request failed"
    };
    let mut root: &dyn std::error::Error = &err;
    while let Some(inner) = root.source() {
        root = inner;
    }
    format!("{kind}: {root}")
}

fn join(base: &Url, path: &str) -> Url {
    let mut url = base.clone();
    let prefix = url.path().trim_end_matches('/').to_owned();
    url.set_path(&format!("{prefix}{path}"));
    url.set_query(None);
    url
}

fn json_data(body: &[u8]) -> Option<Value> {
    serde_json::from_slice::<Value>(body)
        .ok()?
        .get("data")
        .cloned()
}

/// Checks one endpoint. Never fails: what went wrong is the endpoint's status and error.
pub async fn probe(
    client: &reqwest::Client,
    policy: &AddressPolicy,
    target: &Target,
) -> EndpointRecord {
    let mut record = EndpointRecord {
        id: target.id.clone(),
        kind: EndpointKind::Prometheus,
        url: target.url.to_string(),
        auth_mode: target.auth_mode,
        status: EndpointStatus::Unknown,
        version: None,
        raw: json!({}),
        origin: Origin::Collector,
        labels: Default::default(),
        notes: None,
        secret_ref: target.secret_ref.clone(),
        scope: String::new(),
        last_checked_at: Some(Utc::now()),
        last_error: None,
        provenance: json!({ "probe": "prometheus" }),
    };
    if let Err(reason) = policy.check_url(&target.url) {
        record.last_error = Some(format!("refused: {reason}"));
        return record;
    }
    let auth = match (target.auth_mode, &target.secret_ref) {
        (AuthMode::None, _) => None,
        (AuthMode::Oauth, _) => {
            record.last_error = Some("OAuth client credentials are not supported yet".into());
            return record;
        }
        (mode, Some(reference)) => match resolve_secret(reference) {
            Ok(secret) => Some((mode, secret)),
            Err(reason) => {
                record.last_error = Some(reason);
                return record;
            }
        },
        (_, None) => {
            record.last_error = Some("the auth mode needs a secret reference".into());
            return record;
        }
    };
    let healthy = match fetch(client, join(&target.url, "/-/healthy"), &auth).await {
        Ok(answer) => answer,
        Err(reason) => {
            record.status =
                if reason.contains("allow it with --allow-cidr") || reason.contains("metadata") {
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

impl PrometheusSource {
    pub fn new(options: ProbeOptions) -> Self {
        Self {
            options,
            client: None,
            done: false,
        }
    }
}

impl Source for PrometheusSource {
    fn collector(&self) -> &'static str {
        "prometheus"
    }

    fn owns(&self) -> Owns {
        Owns {
            accounts: false,
            endpoints: true,
        }
    }

    async fn open(&mut self) -> Result<String, CollectError> {
        self.client = Some(client(&self.options)?);
        Ok("prometheus".into())
    }

    async fn next_page(&mut self) -> Result<Option<Page>, CollectError> {
        if self.done {
            return Ok(None);
        }
        self.done = true;
        let client = self
            .client
            .clone()
            .ok_or_else(|| CollectError::Invalid("the source was not opened".into()))?;
        let policy = self.options.policy.clone();
        let endpoints = futures::stream::iter(self.options.targets.clone())
            .map(|target| {
                let (client, policy) = (client.clone(), policy.clone());
                async move { probe(&client, &policy, &target).await }
            })
            .buffer_unordered(self.options.concurrency.max(1))
            .collect::<Vec<_>>()
            .await;
        for endpoint in &endpoints {
            tracing::info!(endpoint = %endpoint.id, status = endpoint.status.as_str(), error = endpoint.last_error.as_deref(), "probed");
        }
        Ok(Some(Page {
            accounts: Vec::new(),
            endpoints,
            request_ids: Vec::new(),
        }))
    }
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
