//! The GCP source against a local peer of Cloud Resource Manager v3. The peer follows the
//! documented REST shapes of the v3 API reference (`projects.list` with `parent`, `pageSize`,
//! `pageToken`, `showDeleted`; `projects.search`; `folders.list`; `folders.get`;
//! `organizations.get`; list bodies `{"projects"|"folders": [...], "nextPageToken"}`; errors in
//! the Google API error model `{"error": {"code", "message", "status"}}`) and Google's OAuth 2.0
//! token endpoint for service accounts ("Using OAuth 2.0 for Server to Server Applications":
//! a form POST with `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer` and a signed
//! `assertion`, answered by `{"access_token", "token_type", "expires_in"}`).

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use collectors::gcp::{GcpOptions, GcpSource, VISIBLE};
use collectors::http::RetryPolicy;
use collectors::runner::run;
use entity::cloud_account;
use entity::enums::{AccountStatus, RunStatus};
use entity::testing::TestDb;
use sea_orm::EntityTrait;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const TOKEN: &str = "ya29.peer-access-token";

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Fault {
    /// 429 with `Retry-After: 1`, this many times.
    Throttle(u32),
    ServerError,
    Slow,
    Drop,
    Garbage,
}

#[derive(Default)]
struct World {
    projects: Vec<Value>,
    /// Applied to the second page of `projects.list` under folders/200.
    fault: Option<Fault>,
    faulted_requests: u32,
    token_fails: bool,
    token_requests: u32,
}

type Shared = Arc<Mutex<World>>;

fn project(id: &str, number: u64, parent: Option<&str>, state: &str, labels: Value) -> Value {
    let mut project = json!({
        "name": format!("projects/{number}"), "projectId": id, "displayName": format!("{id} display"),
        "state": state, "labels": labels, "etag": "W/\"e\"",
        "createTime": "2024-01-08T10:00:00.000Z", "updateTime": "2024-06-01T10:00:00.000Z",
    });
    if let Some(parent) = parent {
        project["parent"] = json!(parent);
    }
    if state == "DELETE_REQUESTED" {
        project["deleteTime"] = json!("2026-11-01T00:00:00.000Z");
    }
    project
}

fn world() -> World {
    World {
        projects: vec![
            project(
                "shared-vpc",
                1001,
                Some("organizations/100"),
                "ACTIVE",
                json!({}),
            ),
            project(
                "prod-a",
                1002,
                Some("folders/200"),
                "ACTIVE",
                json!({ "team": "data", "env": "prod" }),
            ),
            project("prod-b", 1003, Some("folders/200"), "ACTIVE", json!({})),
            project("prod-c", 1004, Some("folders/200"), "ACTIVE", json!({})),
            project(
                "ml-train",
                1005,
                Some("folders/300"),
                "DELETE_REQUESTED",
                json!({ "owner": "ml" }),
            ),
            project("lonely", 1006, None, "ACTIVE", json!({})),
        ],
        ..World::default()
    }
}

fn google_error(status: StatusCode, text: &str, message: &str) -> Response {
    (
        status,
        axum::Json(
            json!({ "error": { "code": status.as_u16(), "message": message, "status": text } }),
        ),
    )
        .into_response()
}

fn authorized(headers: &HeaderMap) -> bool {
    headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(&format!("Bearer {TOKEN}"))
}

/// `pageSize` items from `pageToken` (an offset, opaque to clients).
fn paged(items: Vec<Value>, key: &str, query: &HashMap<String, String>) -> Response {
    let size: usize = query
        .get("pageSize")
        .and_then(|s| s.parse().ok())
        .unwrap_or(100)
        .min(2);
    let start: usize = query
        .get("pageToken")
        .and_then(|t| t.strip_prefix("offset-")?.parse().ok())
        .unwrap_or(0);
    let end = (start + size).min(items.len());
    let mut body = json!({ key: items.get(start..end).unwrap_or_default() });
    if end < items.len() {
        body["nextPageToken"] = json!(format!("offset-{end}"));
    }
    axum::Json(body).into_response()
}

async fn list_projects(
    State(world): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if !authorized(&headers) {
        return google_error(
            StatusCode::UNAUTHORIZED,
            "UNAUTHENTICATED",
            "Request had invalid authentication credentials.",
        );
    }
    let parent = q.get("parent").cloned().unwrap_or_default();
    let show_deleted = q.get("showDeleted").is_some_and(|v| v == "true");
    let fault = {
        let mut world = world.lock().expect("world");
        let second_page = parent == "folders/200" && q.contains_key("pageToken");
        match world.fault {
            Some(fault) if second_page => {
                world.faulted_requests += 1;
                match fault {
                    Fault::Throttle(times) if world.faulted_requests > times => None,
                    other => Some(other),
                }
            }
            _ => None,
        }
    };
    match fault {
        Some(Fault::Throttle(_)) => {
            return (StatusCode::TOO_MANY_REQUESTS, [("retry-after", "1")], axum::Json(json!({ "error": {
                "code": 429, "message": "Quota exceeded for quota metric 'Read requests'", "status": "RESOURCE_EXHAUSTED" } })))
                .into_response();
        }
        Some(Fault::ServerError) => {
            return google_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "INTERNAL",
                "Internal error encountered.",
            );
        }
        Some(Fault::Slow) => {
            tokio::time::sleep(Duration::from_secs(3)).await;
        }
        Some(Fault::Drop) => std::panic::resume_unwind(Box::new("drop the connection")),
        Some(Fault::Garbage) => {
            return (StatusCode::OK, "<html>upstream connect error</html>").into_response();
        }
        None => {}
    }
    let items: Vec<Value> = world
        .lock()
        .expect("world")
        .projects
        .iter()
        .filter(|p| p["parent"] == json!(parent))
        .filter(|p| show_deleted || p["state"] == "ACTIVE")
        .cloned()
        .collect();
    paged(items, "projects", &q)
}

async fn search_projects(
    State(world): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if !authorized(&headers) {
        return google_error(
            StatusCode::UNAUTHORIZED,
            "UNAUTHENTICATED",
            "Request had invalid authentication credentials.",
        );
    }
    let items = world.lock().expect("world").projects.clone();
    paged(items, "projects", &q)
}

fn folders() -> Vec<Value> {
    vec![
        json!({ "name": "folders/200", "parent": "organizations/100", "displayName": "Production", "state": "ACTIVE" }),
        json!({ "name": "folders/300", "parent": "folders/200", "displayName": "ML", "state": "ACTIVE" }),
    ]
}

async fn list_folders(headers: HeaderMap, Query(q): Query<HashMap<String, String>>) -> Response {
    if !authorized(&headers) {
        return google_error(
            StatusCode::UNAUTHORIZED,
            "UNAUTHENTICATED",
            "Request had invalid authentication credentials.",
        );
    }
    let parent = q.get("parent").cloned().unwrap_or_default();
    let items = folders()
        .into_iter()
        .filter(|f| f["parent"] == json!(parent))
        .collect();
    paged(items, "folders", &q)
}

async fn get_folder(headers: HeaderMap, Path(id): Path<String>) -> Response {
    if !authorized(&headers) {
        return google_error(
            StatusCode::UNAUTHORIZED,
            "UNAUTHENTICATED",
            "Request had invalid authentication credentials.",
        );
    }
    match folders()
        .into_iter()
        .find(|f| f["name"] == json!(format!("folders/{id}")))
    {
        Some(folder) => axum::Json(folder).into_response(),
        None => google_error(
            StatusCode::FORBIDDEN,
            "PERMISSION_DENIED",
            "Permission denied on resource (or it may not exist).",
        ),
    }
}

async fn get_organization(headers: HeaderMap, Path(id): Path<String>) -> Response {
    if !authorized(&headers) || id != "100" {
        return google_error(
            StatusCode::FORBIDDEN,
            "PERMISSION_DENIED",
            "Permission denied on resource (or it may not exist).",
        );
    }
    axum::Json(json!({ "name": "organizations/100", "displayName": "example.com", "directoryCustomerId": "C0abc", "state": "ACTIVE" }))
        .into_response()
}

async fn token(State(world): State<Shared>, body: String) -> Response {
    let mut world = world.lock().expect("world");
    world.token_requests += 1;
    let form: HashMap<String, String> = url::form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect();
    let valid = form.get("grant_type").map(String::as_str)
        == Some("urn:ietf:params:oauth:grant-type:jwt-bearer")
        && form
            .get("assertion")
            .is_some_and(|a| a.split('.').count() == 3);
    if world.token_fails || !valid {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(
                json!({ "error": "invalid_grant", "error_description": "Invalid JWT Signature." }),
            ),
        )
            .into_response();
    }
    axum::Json(json!({ "access_token": TOKEN, "token_type": "Bearer", "expires_in": 3599 }))
        .into_response()
}

pub struct Peer {
    pub url: String,
    world: Shared,
    pub key_file: std::path::PathBuf,
}

impl Peer {
    pub async fn start() -> Self {
        let world: Shared = Arc::new(Mutex::new(world()));
        let app = Router::new()
            .route("/v3/projects", get(list_projects))
            .route("/v3/projects:search", get(search_projects))
            .route("/v3/folders", get(list_folders))
            .route("/v3/folders/{id}", get(get_folder))
            .route("/v3/organizations/{id}", get(get_organization))
            .route("/token", post(token))
            .with_state(world.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        let key_file = service_account(&url);
        Self {
            url,
            world,
            key_file,
        }
    }

    pub fn options(&self, scope: &str) -> GcpOptions {
        GcpOptions {
            base_url: self.url.parse().expect("URL"),
            scope: scope.to_owned(),
            credentials_file: Some(self.key_file.clone()),
            retry: RetryPolicy {
                rate: None,
                max_attempts: 3,
                min_delay: Duration::from_millis(50),
                max_delay: Duration::from_millis(200),
                timeout: Duration::from_secs(1),
            },
            page_size: 2,
            concurrency: 4,
        }
    }

    fn with(&self, change: impl FnOnce(&mut World)) {
        change(&mut self.world.lock().expect("world"));
    }
}

/// A service-account key file whose `token_uri` is the peer, with a fresh RSA key.
pub fn service_account(url: &str) -> std::path::PathBuf {
    let key = KeyPair::generate(KeySize::Rsa2048).expect("RSA key");
    let der = key.as_der().expect("PKCS#8");
    let body = base64::engine::general_purpose::STANDARD.encode(der.as_ref());
    let lines: Vec<String> = body
        .as_bytes()
        .chunks(64)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect();
    let pem = format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        lines.join("\n")
    );
    let file = json!({
        "type": "service_account", "project_id": "inventory-test", "private_key_id": "k1",
        "private_key": pem, "client_email": "collector@inventory-test.iam.gserviceaccount.com",
        "client_id": "1", "token_uri": format!("{url}/token"),
    });
    let path = std::env::temp_dir().join(format!(
        "gcp-key-{}-{}.json",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default()
    ));
    std::fs::write(&path, file.to_string()).expect("write key file");
    path
}

async fn stored(db: &TestDb) -> Vec<(String, bool)> {
    let mut rows: Vec<(String, bool)> = cloud_account::Entity::find()
        .all(&db.conn)
        .await
        .expect("read")
        .into_iter()
        .map(|a| (a.native_id, a.removed_at.is_some()))
        .collect();
    rows.sort();
    rows
}

async fn row(db: &TestDb, id: &str) -> cloud_account::Model {
    cloud_account::Entity::find_by_id(format!("gcp:{id}"))
        .one(&db.conn)
        .await
        .expect("read")
        .unwrap_or_else(|| panic!("{id} stored"))
}

async fn an_organization_is_walked_page_by_page_with_named_ancestry(db: &TestDb) {
    let peer = Peer::start().await;
    let done = run(
        &db.conn,
        &mut GcpSource::new(peer.options("organizations/100")),
        &crate::aws::options(),
    )
    .await
    .expect("run");
    assert_eq!(done.status, RunStatus::Succeeded, "{:?}", done.error);
    assert_eq!(
        (done.scope.as_str(), done.seen, done.created),
        ("organizations/100", 5, 5)
    );
    assert!(
        done.pages >= 4,
        "three projects under Production come in two pages: {}",
        done.pages
    );
    let ids: Vec<String> = stored(db).await.into_iter().map(|(id, _)| id).collect();
    assert_eq!(
        ids,
        ["ml-train", "prod-a", "prod-b", "prod-c", "shared-vpc"]
    );

    let prod = row(db, "prod-a").await;
    assert_eq!(prod.name, "prod-a display");
    assert_eq!(prod.org_path, "example.com/Production");
    assert_eq!(
        json!(prod.ancestors),
        json!([
            { "id": "organizations/100", "name": "example.com", "kind": "organization" },
            { "id": "folders/200", "name": "Production", "kind": "folder" },
        ])
    );
    assert_eq!(prod.parent.as_deref(), Some("folders/200"));
    assert_eq!(
        (prod.status, prod.raw_status.as_deref()),
        (AccountStatus::Active, Some("ACTIVE"))
    );
    assert_eq!(json!(prod.tags), json!({ "team": "data", "env": "prod" }));
    assert_eq!(prod.raw["name"], "projects/1002");
    assert_eq!(prod.raw["createTime"], "2024-01-08T10:00:00.000Z");
    assert_eq!(prod.scope, "organizations/100");
    assert_eq!(prod.provenance["operation"], "projects.list");
    let url = prod.provenance["url"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        url.starts_with("/v3/projects?parent=folders%2F200"),
        "{url}"
    );

    let ml = row(db, "ml-train").await;
    assert_eq!(ml.org_path, "example.com/Production/ML");
    assert_eq!(
        (ml.status, ml.raw_status.as_deref()),
        (AccountStatus::PendingDeletion, Some("DELETE_REQUESTED"))
    );
    assert_eq!(ml.raw["deleteTime"], "2026-11-01T00:00:00.000Z");
    assert_eq!(row(db, "shared-vpc").await.org_path, "example.com");

    // A folder scope reads only its subtree, still named from the organization down.
    let folder = run(
        &db.conn,
        &mut GcpSource::new(peer.options("folders/300")),
        &crate::aws::options(),
    )
    .await
    .expect("run");
    assert_eq!((folder.status, folder.seen), (RunStatus::Succeeded, 1));
}

async fn search_keeps_projects_outside_any_organization(db: &TestDb) {
    let peer = Peer::start().await;
    let first = run(
        &db.conn,
        &mut GcpSource::new(peer.options(VISIBLE)),
        &crate::aws::options(),
    )
    .await
    .expect("run");
    assert_eq!(
        (first.status, first.seen),
        (RunStatus::Succeeded, 6),
        "{:?}",
        first.error
    );
    let lonely = row(db, "lonely").await;
    assert_eq!(
        (lonely.org_path.as_str(), lonely.parent.as_deref()),
        ("", None)
    );
    assert_eq!(json!(lonely.ancestors), json!([]));
    assert_eq!(
        row(db, "ml-train").await.org_path,
        "example.com/Production/ML"
    );
    let second = run(
        &db.conn,
        &mut GcpSource::new(peer.options(VISIBLE)),
        &crate::aws::options(),
    )
    .await
    .expect("run");
    assert_eq!(
        (second.unchanged, second.created, second.updated),
        (6, 0, 0)
    );
}

async fn projects_are_removed_and_restored_across_runs(db: &TestDb) {
    let peer = Peer::start().await;
    let options = || GcpSource::new(peer.options("organizations/100"));
    run(&db.conn, &mut options(), &crate::aws::options())
        .await
        .expect("run");
    let kept = peer.world.lock().expect("world").projects.clone();
    peer.with(|w| w.projects.retain(|p| p["projectId"] != "prod-b"));
    let removed = run(&db.conn, &mut options(), &crate::aws::options())
        .await
        .expect("run");
    assert_eq!(removed.removed, 1);
    assert!(row(db, "prod-b").await.removed_at.is_some());
    peer.with(|w| w.projects = kept);
    let restored = run(&db.conn, &mut options(), &crate::aws::options())
        .await
        .expect("run");
    assert_eq!(
        (restored.status, restored.updated),
        (RunStatus::Succeeded, 1),
        "a restore counts as an update"
    );
    assert!(row(db, "prod-b").await.removed_at.is_none());
}

async fn every_fault_gives_retries_then_a_partial_run_that_keeps_everything(db: &TestDb) {
    let peer = Peer::start().await;
    let options = || GcpSource::new(peer.options("organizations/100"));
    run(&db.conn, &mut options(), &crate::aws::options())
        .await
        .expect("run");
    let before = stored(db).await;
    for (fault, expected) in [
        (Fault::Throttle(10), "HTTP 429: RESOURCE_EXHAUSTED"),
        (Fault::ServerError, "HTTP 500: INTERNAL"),
        (Fault::Slow, "timed out"),
        (Fault::Drop, "connection failed"),
        (Fault::Garbage, "not JSON"),
    ] {
        peer.with(|w| {
            w.fault = Some(fault);
            w.faulted_requests = 0;
        });
        let partial = run(&db.conn, &mut options(), &crate::aws::options())
            .await
            .expect("run");
        assert_eq!(
            partial.status,
            RunStatus::Partial,
            "{fault:?}: {:?}",
            partial.error
        );
        assert_eq!(partial.removed, 0);
        let error = partial.error.unwrap_or_default();
        assert!(
            error.contains(expected)
                && error.contains("projects.list")
                && error.contains("/v3/projects"),
            "{fault:?}: {error}"
        );
        assert!(!error.contains(TOKEN), "the token leaked into the error");
        assert_eq!(
            peer.world.lock().expect("world").faulted_requests,
            3,
            "{fault:?} was retried to the budget"
        );
        assert_eq!(stored(db).await, before, "{fault:?} changed what is stored");
    }
    // Throttling that ends within the budget, honouring Retry-After, succeeds.
    peer.with(|w| {
        w.fault = Some(Fault::Throttle(2));
        w.faulted_requests = 0;
    });
    let started = std::time::Instant::now();
    let fine = run(&db.conn, &mut options(), &crate::aws::options())
        .await
        .expect("run");
    assert_eq!(fine.status, RunStatus::Succeeded, "{:?}", fine.error);
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "Retry-After: 1 was waited for, twice"
    );
}

async fn a_failing_token_endpoint_is_a_failed_run(db: &TestDb) {
    let peer = Peer::start().await;
    peer.with(|w| w.token_fails = true);
    let failed = run(
        &db.conn,
        &mut GcpSource::new(peer.options("organizations/100")),
        &crate::aws::options(),
    )
    .await
    .expect("run");
    assert_eq!(failed.status, RunStatus::Failed);
    let error = failed.error.unwrap_or_default();
    assert!(error.contains("oauth2 token"), "{error}");
    assert!(!error.contains("PRIVATE KEY"), "{error}");
    assert!(stored(db).await.is_empty());
}

entity::on_both_backends!(
    an_organization_is_walked_page_by_page_with_named_ancestry,
    search_keeps_projects_outside_any_organization,
    projects_are_removed_and_restored_across_runs,
    every_fault_gives_retries_then_a_partial_run_that_keeps_everything,
    a_failing_token_endpoint_is_a_failed_run,
);
