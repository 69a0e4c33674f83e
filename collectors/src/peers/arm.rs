//! A synthetic Azure tenant of any size behind Azure Resource Manager, for the scale
//! benchmark and the tests that count requests. It follows the ARM REST reference for the
//! two calls a tenant's read makes: `GET /subscriptions?api-version=2022-12-01` and
//! `GET /providers/Microsoft.Management/managementGroups/{tenant}/descendants?api-version=2020-05-01`
//! (bodies `{"value": [...], "nextLink"}`, the link carrying a `$skiptoken`; the page size is
//! the server's: 100 here), errors `{"error": {"code", "message"}}`, and throttling as ARM
//! documents it ("Understand how Azure Resource Manager throttles requests"): HTTP 429
//! `TooManyRequests` with a `Retry-After` in seconds. Tokens come from its App Service
//! managed-identity endpoint (`IDENTITY_ENDPOINT`, `X-IDENTITY-HEADER`, api-version
//! 2019-08-01), so the released binary reads it with no secret and no TLS. Every call waits a
//! fixed latency, and one token bucket for the tenant answers calls beyond its rate as
//! throttled.
//!
//! The tenant: its root management group, `groups` groups spread over `depth` levels below
//! it, and `subscriptions` subscriptions spread over the root and every group.

use super::{Meter, Stats};
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

pub const TENANT: &str = "5ca1ab1e-0000-4000-8000-00000000feed";
/// Items per list page.
const PAGE: usize = 100;
/// The header value its managed-identity endpoint expects.
pub const IDENTITY_HEADER: &str = "scale-peer-identity";

/// The tenant's shape and how the peer answers.
#[derive(Debug, Clone)]
pub struct Shape {
    pub subscriptions: usize,
    pub groups: usize,
    pub depth: usize,
    pub latency: Duration,
    /// Requests per second the token bucket lets through (none: no throttling), and its
    /// burst.
    pub rate: Option<f64>,
    pub burst: f64,
}

struct Tenant {
    /// Management groups: (name, display name, parent name).
    groups: Vec<(String, String, String)>,
    /// Each subscription's group.
    placed: Vec<String>,
}

#[derive(Clone)]
struct Peer {
    tenant: Arc<Tenant>,
    meter: Meter,
    url: String,
}

/// A running peer.
pub struct Running {
    pub url: String,
    peer: Peer,
}

impl Running {
    pub fn stats(&self) -> Stats {
        self.peer.meter.stats()
    }
}

/// The id of subscription `n`.
pub fn subscription_id(n: usize) -> String {
    format!("5ca1ab1e-0000-4000-8000-{n:012}")
}

fn build(shape: &Shape) -> Tenant {
    let nodes = super::levels(TENANT, shape.groups, shape.depth, |n| {
        format!("mg-scale-{n:05}")
    });
    let parents = super::holders(TENANT, &nodes);
    let groups = nodes
        .into_iter()
        .enumerate()
        .map(|(n, (name, parent))| (name, format!("Group {n}"), parent))
        .collect();
    let placed = (0..shape.subscriptions)
        .map(|n| parents[n % parents.len()].clone())
        .collect();
    Tenant { groups, placed }
}

fn group_id(name: &str) -> String {
    format!("/providers/Microsoft.Management/managementGroups/{name}")
}

/// Starts the peer on a free loopback port.
pub async fn start(shape: Shape) -> std::io::Result<Running> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    serve(listener, shape)
}

/// Serves the peer on `listener`.
pub fn serve(listener: tokio::net::TcpListener, shape: Shape) -> std::io::Result<Running> {
    let url = format!("http://{}", listener.local_addr()?);
    let peer = Peer {
        tenant: Arc::new(build(&shape)),
        meter: Meter::new(shape.latency, shape.rate, shape.burst),
        url: url.clone(),
    };
    let app = Router::new()
        .route("/subscriptions", get(subscriptions))
        .route(
            "/providers/Microsoft.Management/managementGroups/{group}/descendants",
            get(descendants),
        )
        .route("/msi/token", get(token))
        .with_state(peer.clone());
    super::serve(listener, app, &peer.meter)?;
    Ok(Running { url, peer })
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        [("content-type", "application/json; charset=utf-8")],
        json!({ "error": { "code": code, "message": message } }).to_string(),
    )
        .into_response()
}

/// A call through the peer's meter; `Some(answer)` when it is refused, as ARM refuses it.
async fn admit(peer: &Peer, operation: &str, headers: &HeaderMap) -> Option<Response> {
    let unauthorized = || {
        error(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationToken",
            "The access token is invalid.",
        )
    };
    let throttled = || {
        let mut refused = error(
            StatusCode::TOO_MANY_REQUESTS,
            "TooManyRequests",
            "The request is being throttled as the limit has been reached for operation type - Read.",
        );
        refused
            .headers_mut()
            .insert("retry-after", axum::http::HeaderValue::from_static("1"));
        refused
    };
    super::admit(&peer.meter, operation, headers, unauthorized, throttled).await
}

/// The items of the page a `$skiptoken` (an offset) names, and the link to the next;
/// `None` for a token that is not ours.
fn page(
    peer: &Peer,
    path: &str,
    api_version: &str,
    query: &HashMap<String, String>,
    total: usize,
) -> Option<(std::ops::Range<usize>, Option<String>)> {
    let start = match query.get("$skiptoken") {
        None => 0,
        Some(token) => token.parse::<usize>().ok()?,
    };
    let end = (start + PAGE).min(total);
    let next = (end < total).then(|| {
        format!(
            "{}{path}?api-version={api_version}&$skiptoken={end}",
            peer.url
        )
    });
    Some((start.min(end)..end, next))
}

fn bad_skip_token() -> Response {
    error(
        StatusCode::BAD_REQUEST,
        "InvalidSkipToken",
        "The skip token is not valid.",
    )
}

async fn subscriptions(
    State(peer): State<Peer>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if let Some(refused) = admit(&peer, "subscriptions.list", &headers).await {
        return refused;
    }
    let (range, next) = match page(
        &peer,
        "/subscriptions",
        "2022-12-01",
        &query,
        peer.tenant.placed.len(),
    ) {
        Some(page) => page,
        None => return bad_skip_token(),
    };
    let value: Vec<Value> = range
        .map(|n| {
            let id = subscription_id(n);
            json!({
                "id": format!("/subscriptions/{id}"),
                "subscriptionId": id,
                "tenantId": TENANT,
                "displayName": format!("Subscription {n}"),
                "state": "Enabled",
                "authorizationSource": "RoleBased",
                "managedByTenants": [],
                "subscriptionPolicies": { "locationPlacementId": "Public_2014-09-01", "quotaId": "EnterpriseAgreement_2014-09-01", "spendingLimit": "Off" },
                "tags": { "team": format!("team-{}", n % 10), "costCenter": format!("cc-{}", 1000 + n % 10) },
            })
        })
        .collect();
    axum::Json(json!({ "value": value, "nextLink": next })).into_response()
}

async fn descendants(
    State(peer): State<Peer>,
    headers: HeaderMap,
    Path(group): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if let Some(refused) = admit(&peer, "managementGroups.descendants", &headers).await {
        return refused;
    }
    if group != TENANT {
        return error(
            StatusCode::FORBIDDEN,
            "AuthorizationFailed",
            "The client does not have authorization to perform action 'Microsoft.Management/managementGroups/descendants/read'.",
        );
    }
    let tenant = &peer.tenant;
    let total = tenant.groups.len() + tenant.placed.len();
    let path = format!("/providers/Microsoft.Management/managementGroups/{TENANT}/descendants");
    let (range, next) = match page(&peer, &path, "2020-05-01", &query, total) {
        Some(page) => page,
        None => return bad_skip_token(),
    };
    let value: Vec<Value> = range
        .map(|i| match tenant.groups.get(i) {
            Some((name, display, parent)) => json!({
                "id": group_id(name), "type": "Microsoft.Management/managementGroups", "name": name,
                "properties": { "displayName": display, "parent": { "id": group_id(parent) } },
            }),
            None => {
                let n = i - tenant.groups.len();
                let id = subscription_id(n);
                let parent = &tenant.placed[n];
                json!({
                    "id": format!("{}/subscriptions/{id}", group_id(parent)),
                    "type": "Microsoft.Management/managementGroups/subscriptions", "name": id,
                    "properties": { "displayName": format!("Subscription {n}"), "parent": { "id": group_id(parent) } },
                })
            }
        })
        .collect();
    axum::Json(json!({ "value": value, "nextLink": next })).into_response()
}

/// App Service's managed-identity endpoint: a token for any resource, given the header.
async fn token(headers: HeaderMap, Query(query): Query<HashMap<String, String>>) -> Response {
    if headers
        .get("x-identity-header")
        .and_then(|v| v.to_str().ok())
        != Some(IDENTITY_HEADER)
    {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "X-IDENTITY-HEADER is missing or wrong",
        );
    }
    let expires_on = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() + 3600)
        .unwrap_or_default();
    axum::Json(json!({
        "access_token": "scale-peer-token",
        "expires_on": expires_on.to_string(),
        "resource": query.get("resource"),
        "token_type": "Bearer",
    }))
    .into_response()
}
