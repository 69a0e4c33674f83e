//! A synthetic GCP organization of any size behind Cloud Resource Manager v3, for the scale
//! benchmark and the tests that count requests. It follows the v3 REST reference:
//! `GET /v3/projects?parent=…&pageSize=…&pageToken=…&showDeleted=…`, `GET /v3/folders?parent=…`
//! (list bodies `{"projects"|"folders": [...], "nextPageToken"}`, at most 1,000 a page, fewer
//! when asked), `GET /v3/projects:search`, `GET /v3/folders/{id}`,
//! `GET /v3/organizations/{id}`; errors in the Google API error model
//! `{"error": {"code", "message", "status"}}`, quota exhaustion as HTTP 429
//! `RESOURCE_EXHAUSTED`. Its token endpoint answers a service account's JWT-bearer grant as
//! Google's does (`{"access_token", "token_type", "expires_in"}`). Every call waits a fixed
//! latency, and one token bucket for the organization answers calls beyond its rate as
//! throttled.
//!
//! The organization: `organizations/1`, `folders` folders spread over `depth` levels below it,
//! and `projects` projects spread over the organization and every folder.

use super::{Meter, Stats};
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

pub const ORGANIZATION: &str = "organizations/1";
/// The most a list page holds, whatever is asked.
const MAX_PAGE: usize = 1_000;

/// The organization's shape and how the peer answers.
#[derive(Debug, Clone)]
pub struct Shape {
    pub projects: usize,
    pub folders: usize,
    pub depth: usize,
    pub latency: Duration,
    /// Requests per second the token bucket lets through (none: no throttling), and its
    /// burst.
    pub rate: Option<f64>,
    pub burst: f64,
}

struct Org {
    /// Child folders of each parent, in order.
    folders: HashMap<String, Vec<String>>,
    /// Projects of each parent, in order (their numbers).
    projects: HashMap<String, Vec<usize>>,
    parent: HashMap<String, String>,
}

#[derive(Clone)]
struct Peer {
    org: Arc<Org>,
    meter: Meter,
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

/// The project id of project `n`.
pub fn project_id(n: usize) -> String {
    format!("scale-project-{n:06}")
}

fn folder_name(n: usize) -> String {
    format!("folders/{}", 1_000_000 + n)
}

fn build(shape: &Shape) -> Org {
    let mut org = Org {
        folders: HashMap::new(),
        projects: HashMap::new(),
        parent: HashMap::new(),
    };
    let folders = super::levels(ORGANIZATION, shape.folders, shape.depth, folder_name);
    let parents = super::holders(ORGANIZATION, &folders);
    for (name, parent) in folders {
        org.folders
            .entry(parent.clone())
            .or_default()
            .push(name.clone());
        org.parent.insert(name, parent);
    }
    for n in 0..shape.projects {
        org.projects
            .entry(parents[n % parents.len()].clone())
            .or_default()
            .push(n);
    }
    org
}

fn project(parent: &str, n: usize) -> Value {
    json!({
        "name": format!("projects/{}", 100_000_000_000u64 + n as u64),
        "parent": parent,
        "projectId": project_id(n),
        "state": "ACTIVE",
        "displayName": format!("Project {n}"),
        "createTime": "2024-01-08T10:00:00.000Z",
        "updateTime": "2024-06-01T10:00:00.000Z",
        "etag": "W/\"e\"",
        "labels": { "team": format!("team-{}", n % 10), "env": if n.is_multiple_of(2) { "prod" } else { "dev" } },
    })
}

fn folder(org: &Org, name: &str) -> Value {
    json!({
        "name": name,
        "parent": org.parent.get(name),
        "displayName": format!("Folder {}", name.trim_start_matches("folders/")),
        "state": "ACTIVE",
        "createTime": "2023-01-01T00:00:00.000Z",
        "etag": "W/\"f\"",
    })
}

/// Starts the peer on a free loopback port.
pub async fn start(shape: Shape) -> std::io::Result<Running> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    serve(listener, shape)
}

/// Serves the peer on `listener`.
pub fn serve(listener: tokio::net::TcpListener, shape: Shape) -> std::io::Result<Running> {
    let peer = Peer {
        org: Arc::new(build(&shape)),
        meter: Meter::new(shape.latency, shape.rate, shape.burst),
    };
    let app = Router::new()
        .route("/v3/projects", get(list_projects))
        .route("/v3/projects:search", get(search_projects))
        .route("/v3/folders", get(list_folders))
        .route("/v3/folders/{id}", get(get_folder))
        .route("/v3/organizations/{id}", get(get_organization))
        .route("/token", post(token))
        .with_state(peer.clone());
    let url = super::serve(listener, app, &peer.meter)?;
    Ok(Running { url, peer })
}

fn error(status: StatusCode, google: &str, message: &str) -> Response {
    (
        status,
        [("content-type", "application/json; charset=UTF-8")],
        json!({ "error": { "code": status.as_u16(), "message": message, "status": google } })
            .to_string(),
    )
        .into_response()
}

fn answer(body: Value) -> Response {
    (
        StatusCode::OK,
        [
            ("content-type", "application/json; charset=UTF-8"),
            ("x-goog-request-id", "scale-peer"),
        ],
        body.to_string(),
    )
        .into_response()
}

/// A call through the peer's meter; `Some(answer)` when it is refused, as Resource Manager
/// refuses it.
async fn admit(peer: &Peer, operation: &str, headers: &HeaderMap) -> Option<Response> {
    let unauthorized = || {
        error(
            StatusCode::UNAUTHORIZED,
            "UNAUTHENTICATED",
            "Request had invalid authentication credentials.",
        )
    };
    let throttled = || {
        error(
            StatusCode::TOO_MANY_REQUESTS,
            "RESOURCE_EXHAUSTED",
            "Quota exceeded for quota metric 'Read requests' and limit 'Read requests per minute' of service 'cloudresourcemanager.googleapis.com'.",
        )
    };
    super::admit(&peer.meter, operation, headers, unauthorized, throttled).await
}

/// One page of `items` from `pageToken` (an offset), at most `pageSize` (and 1,000); the
/// message of an `INVALID_ARGUMENT` answer when the request is wrong.
fn page<T: Clone>(
    query: &HashMap<String, String>,
    items: &[T],
) -> Result<(Vec<T>, Option<String>), &'static str> {
    let size = match query.get("pageSize").map(|s| s.parse::<i64>()) {
        None | Some(Ok(0)) => 50,
        Some(Ok(n)) if n > 0 => (n as usize).min(MAX_PAGE),
        Some(_) => return Err("Invalid value for page_size."),
    };
    let start = match query.get("pageToken") {
        None => 0,
        Some(token) => token.parse::<usize>().map_err(|_| "Invalid page token.")?,
    };
    let end = (start + size).min(items.len());
    let slice = items.get(start..end).unwrap_or_default().to_vec();
    Ok((slice, (end < items.len()).then(|| end.to_string())))
}

fn known_parent(org: &Org, parent: &str) -> bool {
    parent == ORGANIZATION || org.parent.contains_key(parent)
}

fn denied() -> Response {
    error(
        StatusCode::FORBIDDEN,
        "PERMISSION_DENIED",
        "The caller does not have permission",
    )
}

/// A list answer: the page of `items` the query asks for, each rendered, under `field`.
fn listed<T: Clone>(
    query: &HashMap<String, String>,
    items: &[T],
    field: &str,
    render: impl Fn(&T) -> Value,
) -> Response {
    match page(query, items) {
        Ok((items, next)) => {
            let mut body = serde_json::Map::new();
            body.insert(field.to_owned(), items.iter().map(render).collect());
            body.insert("nextPageToken".to_owned(), json!(next));
            answer(Value::Object(body))
        }
        Err(message) => error(StatusCode::BAD_REQUEST, "INVALID_ARGUMENT", message),
    }
}

async fn list_projects(
    State(peer): State<Peer>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if let Some(refused) = admit(&peer, "projects.list", &headers).await {
        return refused;
    }
    let parent = query.get("parent").cloned().unwrap_or_default();
    if !known_parent(&peer.org, &parent) {
        return denied();
    }
    let numbers = peer.org.projects.get(&parent).cloned().unwrap_or_default();
    listed(&query, &numbers, "projects", |n| project(&parent, *n))
}

async fn search_projects(
    State(peer): State<Peer>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if let Some(refused) = admit(&peer, "projects.search", &headers).await {
        return refused;
    }
    let mut all: Vec<(String, usize)> = peer
        .org
        .projects
        .iter()
        .flat_map(|(parent, numbers)| numbers.iter().map(|n| (parent.clone(), *n)))
        .collect();
    all.sort_by_key(|(_, n)| *n);
    listed(&query, &all, "projects", |(parent, n)| project(parent, *n))
}

async fn list_folders(
    State(peer): State<Peer>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if let Some(refused) = admit(&peer, "folders.list", &headers).await {
        return refused;
    }
    let parent = query.get("parent").cloned().unwrap_or_default();
    if !known_parent(&peer.org, &parent) {
        return denied();
    }
    let names = peer.org.folders.get(&parent).cloned().unwrap_or_default();
    listed(&query, &names, "folders", |name| folder(&peer.org, name))
}

async fn get_folder(
    State(peer): State<Peer>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Some(refused) = admit(&peer, "folders.get", &headers).await {
        return refused;
    }
    let name = format!("folders/{id}");
    if peer.org.parent.contains_key(&name) {
        answer(folder(&peer.org, &name))
    } else {
        denied()
    }
}

async fn get_organization(
    State(peer): State<Peer>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Some(refused) = admit(&peer, "organizations.get", &headers).await {
        return refused;
    }
    if format!("organizations/{id}") == ORGANIZATION {
        answer(json!({
            "name": ORGANIZATION, "displayName": "scale.example.com", "state": "ACTIVE",
            "directoryCustomerId": "C0scale", "createTime": "2020-01-01T00:00:00.000Z",
        }))
    } else {
        denied()
    }
}

/// Any JWT-bearer grant gets a token: the peer tests scale, not credentials.
async fn token(body: String) -> Response {
    if !body.contains("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer") {
        return (
            StatusCode::BAD_REQUEST,
            [("content-type", "application/json")],
            json!({ "error": "unsupported_grant_type" }).to_string(),
        )
            .into_response();
    }
    (
        StatusCode::OK,
        [("content-type", "application/json")],
        json!({ "access_token": "ya29.scale-peer", "token_type": "Bearer", "expires_in": 3600 })
            .to_string(),
    )
        .into_response()
}
