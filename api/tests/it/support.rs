//! Driving the router in-process and filling a database through the write path.

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use chrono::{DateTime, Duration, TimeZone, Utc};
use entity::enums::{AccountStatus, EndpointKind, EndpointStatus, Provider};
use entity::record::{AccountRecord, Ancestor, EndpointRecord};
use entity::run::start_run;
use entity::testing::TestDb;
use entity::write::{WriteContext, upsert_accounts, upsert_endpoints};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::Instant;
use tower::ServiceExt;

pub fn t(minutes: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 1, 12, 0, 0)
        .single()
        .expect("valid time")
        + Duration::minutes(minutes)
}

/// Settings with anonymous reads on and default limits, for tests about reading.
pub fn open_settings() -> api::http::Settings {
    api::http::Settings::new(std::sync::Arc::new(api::auth::Authenticator::new(
        api::auth::StaticTokens::default(),
        None,
        true,
    )))
}

/// [`open_settings`] without the response cache: for tests that count what executing a
/// request does (statements, operations), which a cache hit does not do.
pub fn uncached_settings() -> api::http::Settings {
    api::http::Settings {
        cache: api::cache::CacheOptions {
            max_bytes: 0,
            ..Default::default()
        },
        ..open_settings()
    }
}

/// The application over `db` without the response cache ([`uncached_settings`]).
pub fn uncached_app(db: &sea_orm::DatabaseConnection) -> Router {
    api::http::router(db.clone(), uncached_settings()).expect("router")
}

/// Arguments for a real server on a free loopback port over `database_url`, open for
/// anonymous reads.
pub fn serve_args(
    database_url: &str,
    seed_file: Option<std::path::PathBuf>,
) -> api::config::ServeArgs {
    api::config::ServeArgs {
        database: runtime::database::DatabaseArgs {
            database_url: database_url.to_owned().into(),
            database_schema: "inventory".into(),
            database_max_connections: 2,
            database_statement_timeout_seconds: 30,
        },
        listen: "127.0.0.1:0".parse().expect("address"),
        migrate: None,
        seed_file,
        auth: anonymous_reads(),
        limits: Default::default(),
        operations: Default::default(),
        backstage: Default::default(),
        secrets: Default::default(),
        connections: Default::default(),
        cache: Default::default(),
    }
}

pub fn anonymous_reads() -> api::config::AuthArgs {
    api::config::AuthArgs {
        allow_anonymous_read: true,
        ..Default::default()
    }
}

/// The application over `db`, open for anonymous reads.
pub fn app(db: &sea_orm::DatabaseConnection) -> Router {
    api::http::router(db.clone(), open_settings()).expect("router")
}

/// Sends one request to the router and returns status and body bytes.
pub async fn send(
    app: &Router,
    request: Request<Body>,
) -> (StatusCode, Vec<u8>, axum::http::HeaderMap) {
    let response = app.clone().oneshot(request).await.expect("router answers");
    let status = response.status();
    let headers = response.headers().clone();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("read body")
        .to_bytes()
        .to_vec();
    (status, body, headers)
}

pub async fn get(app: &Router, path: &str) -> (StatusCode, Vec<u8>, axum::http::HeaderMap) {
    send(
        app,
        Request::get(path).body(Body::empty()).expect("request"),
    )
    .await
}

/// Posts a GraphQL query and returns the whole response document.
pub async fn gql(app: &Router, query: &str, variables: Value) -> Value {
    // Logs go to the test's captured output, shown when it fails.
    let _ = tracing_subscriber::fmt()
        .with_test_writer()
        .with_env_filter("warn,api=debug")
        .try_init();
    let body = json!({ "query": query, "variables": variables }).to_string();
    let request = Request::post("/graphql")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body))
        .expect("request");
    let (status, body, _) = send(app, request).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    serde_json::from_slice(&body).expect("JSON response")
}

/// `data` of a response that must have no errors.
pub async fn data(app: &Router, query: &str, variables: Value) -> Value {
    let response = gql(app, query, variables).await;
    assert!(
        response.get("errors").is_none(),
        "unexpected errors: {response}"
    );
    response["data"].clone()
}

/// The `extensions.code` of the first error of a response that must fail.
pub async fn error_code(app: &Router, query: &str, variables: Value) -> (String, String) {
    let response = gql(app, query, variables).await;
    let error = &response["errors"][0];
    assert!(error.is_object(), "expected an error: {response}");
    (
        error["extensions"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        error["message"].as_str().unwrap_or_default().to_owned(),
    )
}

pub fn account(provider: Provider, native_id: &str, name: &str, org_path: &str) -> AccountRecord {
    AccountRecord {
        provider,
        native_id: native_id.to_owned(),
        name: name.to_owned(),
        org_path: org_path.to_owned(),
        ancestors: vec![Ancestor {
            id: "root".into(),
            name: "Root".into(),
            kind: "root".into(),
        }],
        parent: Some("root".into()),
        status: AccountStatus::Active,
        raw_status: Some("ACTIVE".into()),
        region_residency: None,
        tags: Default::default(),
        raw: json!({ "id": native_id }),
        scope: "o-test".into(),
        source: "test/0".into(),
        provenance: json!({ "api": "test" }),
    }
}

pub fn endpoint(id: &str, kind: EndpointKind, status: EndpointStatus, url: &str) -> EndpointRecord {
    EndpointRecord {
        id: id.to_owned(),
        kind,
        url: url.to_owned(),
        auth_mode: entity::enums::AuthMode::None,
        status,
        version: None,
        raw: json!({}),
        origin: entity::enums::Origin::Manual,
        labels: Default::default(),
        notes: None,
        secret_ref: None,
        scope: entity::record::MANUAL_SCOPE.into(),
        last_checked_at: None,
        last_error: None,
        provenance: json!({}),
    }
}

/// Writes accounts as one run of `collector` (`version`) over scope `o-test` at `at`;
/// returns the run id.
async fn run_writing(
    db: &TestDb,
    collector: &str,
    version: &str,
    at: DateTime<Utc>,
    records: Vec<AccountRecord>,
) -> i64 {
    let run = start_run(&db.conn, collector, version, "o-test", at)
        .await
        .expect("start run")
        .id;
    upsert_accounts(&db.conn, &WriteContext::run(run, at), records)
        .await
        .expect("write accounts");
    run
}

/// Writes accounts as one collector run at `at`; returns the run id.
pub async fn write_accounts(db: &TestDb, at: DateTime<Utc>, records: Vec<AccountRecord>) -> i64 {
    run_writing(db, "test", "0", at, records).await
}

/// One complete run of `collector` over scope `o-test` at `at`: writes `records`, then
/// removes the accounts of the scope it did not see, as a collector's complete read does.
pub async fn complete_run(
    db: &TestDb,
    collector: &str,
    at: DateTime<Utc>,
    records: Vec<AccountRecord>,
) {
    let run = run_writing(db, collector, "1", at, records).await;
    entity::write::remove_unseen(
        &db.conn,
        run,
        at,
        entity::enums::AssetType::CloudAccount,
        "o-test",
    )
    .await
    .expect("remove unseen");
}

/// Writes endpoints as a collector run would, status and all.
pub async fn write_endpoints(db: &TestDb, records: Vec<EndpointRecord>) {
    let run = start_run(&db.conn, "test-probe", "0", "probe", t(0))
        .await
        .expect("start run")
        .id;
    upsert_endpoints(&db.conn, &WriteContext::run(run, t(0)), records)
        .await
        .expect("write endpoints");
}

/// The keys of a connection's nodes, in order.
pub fn keys(connection: &Value) -> Vec<String> {
    connection["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| e["node"]["key"].as_str().expect("key").to_owned())
        .collect()
}

/// A running `inventory-api` on a free port over a SQLite file of its own, open for anonymous
/// reads and with no shutdown drain unless `env` or `args` say otherwise, its JSON log lines
/// collected as they come.
pub struct ApiProcess {
    child: Child,
    pub address: String,
    lines: Receiver<String>,
    log: Vec<String>,
    dir: std::path::PathBuf,
}

impl ApiProcess {
    pub fn start(name: &str, env: &[(&str, &str)], args: &[&str]) -> Self {
        let dir = std::env::temp_dir().join(format!("inventory-ops-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let mut command = Command::new(env!("CARGO_BIN_EXE_inventory-api"));
        command
            .env_clear()
            .env(
                "INVENTORY_DATABASE_URL",
                format!("sqlite://{}/db.sqlite?mode=rwc", dir.display()),
            )
            .env("INVENTORY_LISTEN", "127.0.0.1:0")
            .env("INVENTORY_LOG_FORMAT", "json")
            .env("INVENTORY_ALLOW_ANONYMOUS_READ", "true")
            .env("INVENTORY_SHUTDOWN_DRAIN_SECONDS", "0")
            .args(args)
            .stderr(Stdio::piped())
            .stdout(Stdio::null());
        for (key, value) in env {
            command.env(key, value);
        }
        let mut child = command.spawn().expect("start inventory-api");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, lines) = channel::<String>();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut log = Vec::new();
        let address = loop {
            let line = lines
                .recv_timeout(std::time::Duration::from_secs(30))
                .unwrap_or_else(|_| panic!("the API never said it was ready:\n{}", log.join("\n")));
            let parsed: Value = serde_json::from_str(&line).unwrap_or(Value::Null);
            log.push(line);
            if let Some(listen) = parsed["listen"].as_str() {
                break listen.to_owned();
            }
        };
        Self {
            child,
            address,
            lines,
            log,
            dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    pub fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
    }

    /// Waits for the process to exit; returns its exit code and every log line, parsed.
    pub fn wait(mut self) -> (Option<i32>, Vec<Value>) {
        let deadline = Instant::now() + std::time::Duration::from_secs(30);
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                break status;
            }
            assert!(Instant::now() < deadline, "the API did not exit");
            std::thread::sleep(std::time::Duration::from_millis(20));
        };
        while let Ok(line) = self.lines.recv_timeout(std::time::Duration::from_secs(2)) {
            self.log.push(line);
        }
        std::fs::remove_dir_all(&self.dir).ok();
        let lines = self
            .log
            .iter()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|_| panic!("not JSON: {l}")))
            .collect();
        (status.code(), lines)
    }
}

impl Drop for ApiProcess {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

/// Statements the application has run so far, by its `/metrics` (a scrape within the refresh
/// interval runs none itself).
pub async fn statements(app: &axum::Router) -> f64 {
    let (_, body, _) = get(app, "/metrics").await;
    String::from_utf8(body)
        .expect("utf-8")
        .lines()
        .find_map(|l| l.strip_prefix("inventory_db_statement_duration_seconds_count "))
        .and_then(|v| v.parse().ok())
        .expect("the statement count")
}
