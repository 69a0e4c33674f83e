//! What the monitoring sources share: the guarded HTTP client, bounded fetches with
//! credentials resolved from references (only inside what the operator grants, and only for
//! the origins granted: [`entity::secret_ref`]), and the endpoint targets.

use crate::guard::{AddressPolicy, GuardedResolver};
use crate::source::{CollectError, Owns, Page, Source};
use entity::enums::{AuthMode, EndpointKind, EndpointStatus, Origin};
use entity::record::EndpointRecord;
use entity::secret_ref::{SecretGrants, SecretRef};
use futures::StreamExt;
use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use std::future::Future;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;
use url::Url;

/// Largest response body read from an endpoint.
const MAX_BODY: usize = 2 * 1024 * 1024;
/// Largest secret read: a token, a `user:password` pair or an OAuth client document.
const MAX_SECRET: u64 = 16 * 1024;

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
    /// The secret references the operator grants, and for which origins.
    pub grants: Arc<SecretGrants>,
}

/// The secret `reference` names, for sending to `url`: only when the operator grants the
/// reference for `url`'s origin, and for a file in a granted directory only while it stays
/// there once links are followed. The value never leaves this function except to be sent,
/// and no error quotes it.
pub fn resolve_secret(
    grants: &SecretGrants,
    reference: &str,
    url: &Url,
) -> Result<SecretString, String> {
    let parsed = SecretRef::parse(reference).map_err(|e| format!("secret reference {e}"))?;
    let grant = grants
        .check(&parsed, url)
        .map_err(|e| format!("secret reference {e}"))?;
    let value = match parsed {
        SecretRef::Env(name) => {
            std::env::var(name).map_err(|_| format!("secret env {name} is not set"))?
        }
        SecretRef::File(path) => {
            let unreadable = |e: std::io::Error| {
                format!(
                    "secret file {} is not readable: {}",
                    path.display(),
                    e.kind()
                )
            };
            // What is opened is the checked path, links already followed.
            let opened = match grant.directory() {
                Some(directory) => {
                    let real = path.canonicalize().map_err(unreadable)?;
                    let root = directory.canonicalize().map_err(unreadable)?;
                    if !real.starts_with(&root) {
                        return Err(format!(
                            "secret file {} leads outside the granted directory {}",
                            path.display(),
                            directory.display()
                        ));
                    }
                    real
                }
                None => path.to_path_buf(),
            };
            let mut text = String::new();
            std::io::Read::read_to_string(
                &mut std::io::Read::take(
                    std::fs::File::open(&opened).map_err(unreadable)?,
                    MAX_SECRET + 1,
                ),
                &mut text,
            )
            .map_err(unreadable)?;
            text.trim_end_matches(['\n', '\r']).to_owned()
        }
    };
    if value.len() as u64 > MAX_SECRET {
        return Err(format!(
            "the secret of {reference} is longer than {MAX_SECRET} bytes"
        ));
    }
    Ok(value.into())
}

/// Whether `value` can be sent as one credential in a header: printable ASCII, no spaces
/// (a token, or each half of `user:password`), so it cannot split or add a header.
fn header_token(value: &str) -> bool {
    !value.is_empty() && value.bytes().all(|b| b.is_ascii_graphic())
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
    auth: &Option<(AuthMode, SecretString)>,
) -> Result<(StatusCode, Vec<u8>), String> {
    let mut request = client.get(url);
    match auth {
        Some((AuthMode::Token, token)) => request = request.bearer_auth(token.expose_secret()),
        Some((AuthMode::Basic, pair)) => {
            // `credential` made sure the pair has its colon.
            let pair = pair.expose_secret();
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
    grants: &SecretGrants,
    target: &Target,
) -> Result<Option<(AuthMode, SecretString)>, String> {
    let not_a_token = |what: &str| {
        format!("the {what} is not a single header-safe token (printable ASCII, no spaces)")
    };
    match (target.auth_mode, &target.secret_ref) {
        (AuthMode::None, _) => Ok(None),
        (AuthMode::Oauth, Some(reference)) => {
            let secret = resolve_secret(grants, reference, &target.url)?;
            let token = oauth_token(client, policy, &secret).await?;
            if !header_token(token.expose_secret()) {
                return Err(not_a_token("OAuth access token"));
            }
            Ok(Some((AuthMode::Token, token)))
        }
        (AuthMode::Basic, Some(reference)) => {
            let pair = resolve_secret(grants, reference, &target.url)?;
            match pair.expose_secret().split_once(':') {
                Some((user, password)) if header_token(user) && header_token(password) => {
                    Ok(Some((AuthMode::Basic, pair)))
                }
                _ => Err(format!(
                    "the secret of {reference} is not user:password, each printable ASCII without spaces"
                )),
            }
        }
        (mode, Some(reference)) => {
            let token = resolve_secret(grants, reference, &target.url)?;
            if !header_token(token.expose_secret()) {
                return Err(not_a_token(&format!("secret of {reference}")));
            }
            Ok(Some((mode, token)))
        }
        (_, None) => Err("the auth mode needs a secret reference".into()),
    }
}

#[derive(serde::Deserialize)]
struct OauthClient {
    token_url: String,
    client_id: String,
    client_secret: SecretString,
    #[serde(default)]
    scope: Option<String>,
}

async fn oauth_token(
    client: &reqwest::Client,
    policy: &AddressPolicy,
    secret: &SecretString,
) -> Result<SecretString, String> {
    // The reason never quotes the document: it holds the client secret.
    let config: OauthClient = serde_json::from_str(secret.expose_secret()).map_err(|_| {
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
        .basic_auth(
            &config.client_id,
            Some(config.client_secret.expose_secret()),
        )
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
        Some(token) if status.is_success() => Ok(token.into()),
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
    grants: &SecretGrants,
    target: &Target,
    kind: EndpointKind,
) -> Result<(EndpointRecord, Option<(AuthMode, SecretString)>), EndpointRecord> {
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
    match credential(client, policy, grants, target).await {
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
        grants: Arc<SecretGrants>,
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

    fn planned_scope(&self) -> Option<String> {
        Some(C::COLLECTOR.into())
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
        let grants = &self.options.grants;
        let endpoints: Vec<EndpointRecord> = futures::stream::iter(self.options.targets.clone())
            .map(|target| C::check(client.clone(), policy.clone(), grants.clone(), target))
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
