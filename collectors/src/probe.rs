//! What the monitoring sources share: the guarded HTTP client, bounded fetches with
//! credentials resolved from references, and the endpoint targets.

use crate::guard::{AddressPolicy, GuardedResolver};
use crate::source::{CollectError, Owns, Page, Source};
use entity::enums::{AuthMode, EndpointKind, EndpointStatus, Origin};
use entity::record::EndpointRecord;
use futures::StreamExt;
use reqwest::StatusCode;
use serde_json::Value;
use std::future::Future;
use std::marker::PhantomData;
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

/// The secret a reference names. The value never leaves this function except into a header.
pub fn resolve_secret(reference: &str) -> Result<String, String> {
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

pub fn client(options: &ProbeOptions) -> Result<reqwest::Client, CollectError> {
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
pub async fn fetch(
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
pub fn describe(err: reqwest::Error) -> String {
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

pub fn join(base: &Url, path: &str) -> Url {
    let mut url = base.clone();
    let prefix = url.path().trim_end_matches('/').to_owned();
    url.set_path(&format!("{prefix}{path}"));
    url.set_query(None);
    url
}

pub fn json_data(body: &[u8]) -> Option<Value> {
    serde_json::from_slice::<Value>(body)
        .ok()?
        .get("data")
        .cloned()
}

/// The credential to send, from the target's auth mode and secret reference. For OAuth the
/// secret is a JSON document `{"token_url", "client_id", "client_secret", "scope"?}`, and an
/// access token is fetched with the client-credentials grant (RFC 6749 §4.4) through the same
/// guarded client, then sent as a bearer token.
pub async fn credential(
    client: &reqwest::Client,
    policy: &AddressPolicy,
    target: &Target,
) -> Result<Option<(AuthMode, String)>, String> {
    match (target.auth_mode, &target.secret_ref) {
        (AuthMode::None, _) => Ok(None),
        (AuthMode::Oauth, Some(reference)) => {
            let secret = resolve_secret(reference)?;
            oauth_token(client, policy, &secret)
                .await
                .map(|t| Some((AuthMode::Token, t)))
        }
        (mode, Some(reference)) => resolve_secret(reference).map(|secret| Some((mode, secret))),
        (_, None) => Err("the auth mode needs a secret reference".into()),
    }
}

#[derive(serde::Deserialize)]
struct OauthClient {
    token_url: String,
    client_id: String,
    client_secret: String,
    #[serde(default)]
    scope: Option<String>,
}

async fn oauth_token(
    client: &reqwest::Client,
    policy: &AddressPolicy,
    secret: &str,
) -> Result<String, String> {
    // The reason never quotes the document: it holds the client secret.
    let config: OauthClient = serde_json::from_str(secret).map_err(|_| {
        "the OAuth secret is not {token_url, client_id, client_secret, scope?}".to_owned()
    })?;
    let token_url =
        Url::parse(&config.token_url).map_err(|_| "the OAuth token_url is not a URL".to_owned())?;
    policy
        .check_url(&token_url)
        .map_err(|r| format!("OAuth token URL refused: {r}"))?;
    let mut form = vec![("grant_type", "client_credentials")];
    if let Some(scope) = &config.scope {
        form.push(("scope", scope));
    }
    let response = client
        .post(token_url)
        .basic_auth(&config.client_id, Some(&config.client_secret))
        .form(&form)
        .send()
        .await
        .map_err(|e| format!("OAuth token request: {}", describe(e)))?;
    let status = response.status();
    let body: Value = response.json().await.map_err(|_| {
        format!(
            "OAuth token endpoint answered {} without JSON",
            status.as_u16()
        )
    })?;
    match body.get("access_token").and_then(Value::as_str) {
        Some(token) if status.is_success() => Ok(token.to_owned()),
        _ => Err(format!(
            "OAuth token endpoint answered {}: {}",
            status.as_u16(),
            body.get("error")
                .and_then(Value::as_str)
                .unwrap_or("no access_token")
        )),
    }
}

/// Whether a transport error is the guard refusing the address (the endpoint was not
/// probed: unknown) rather than the endpoint failing (down).
pub fn refused(reason: &str) -> bool {
    reason.contains("allow it with --allow-cidr") || reason.contains("metadata service")
}

/// The steps every check starts with: a record for the target (checked now, status UNKNOWN),
/// then the address guard and the credential. `Err` is that record, saying why the endpoint
/// was not probed.
pub async fn prepare(
    client: &reqwest::Client,
    policy: &AddressPolicy,
    target: &Target,
    kind: EndpointKind,
) -> Result<(EndpointRecord, Option<(AuthMode, String)>), EndpointRecord> {
    let mut record = EndpointRecord {
        id: target.id.clone(),
        kind,
        url: target.url.to_string(),
        auth_mode: target.auth_mode,
        status: EndpointStatus::Unknown,
        version: None,
        raw: serde_json::json!({}),
        origin: Origin::Collector,
        labels: Default::default(),
        notes: None,
        secret_ref: target.secret_ref.clone(),
        scope: String::new(),
        last_checked_at: Some(chrono::Utc::now()),
        last_error: None,
        provenance: serde_json::json!({ "probe": kind.as_str() }),
    };
    if let Err(reason) = policy.check_url(&target.url) {
        record.last_error = Some(format!("refused: {reason}"));
        return Err(record);
    }
    match credential(client, policy, target).await {
        Ok(auth) => Ok((record, auth)),
        Err(reason) => {
            record.last_error = Some(reason);
            Err(record)
        }
    }
}

/// How one kind of monitoring server is checked: a target in, its record (and any endpoints
/// it revealed) out. Never fails: what went wrong is the endpoint's status and error.
pub trait Check: Send + Sync + 'static {
    /// The collector's name, which is also the scope of the endpoints it creates.
    const COLLECTOR: &'static str;

    fn check(
        client: reqwest::Client,
        policy: AddressPolicy,
        target: Target,
    ) -> impl Future<Output = Vec<EndpointRecord>> + Send;
}

/// A source that checks every target once, `concurrency` at a time, as one page.
pub struct ProbeSource<C> {
    options: ProbeOptions,
    client: Option<reqwest::Client>,
    done: bool,
    kind: PhantomData<C>,
}

impl<C> ProbeSource<C> {
    pub fn new(options: ProbeOptions) -> Self {
        Self {
            options,
            client: None,
            done: false,
            kind: PhantomData,
        }
    }
}

impl<C: Check> Source for ProbeSource<C> {
    fn collector(&self) -> &'static str {
        C::COLLECTOR
    }

    fn owns(&self) -> Owns {
        Owns {
            accounts: false,
            endpoints: true,
        }
    }

    async fn open(&mut self) -> Result<String, CollectError> {
        self.client = Some(client(&self.options)?);
        Ok(C::COLLECTOR.into())
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
        let endpoints: Vec<EndpointRecord> = futures::stream::iter(self.options.targets.clone())
            .map(|target| C::check(client.clone(), policy.clone(), target))
            .buffer_unordered(self.options.concurrency.max(1))
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .flatten()
            .collect();
        for endpoint in &endpoints {
            tracing::info!(
                endpoint = %endpoint.id,
                status = endpoint.status.as_str(),
                error = endpoint.last_error.as_deref(),
                "checked"
            );
        }
        Ok(Some(Page {
            accounts: Vec::new(),
            endpoints,
            request_ids: Vec::new(),
        }))
    }
}
