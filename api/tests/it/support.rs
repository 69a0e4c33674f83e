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

/// Arguments for a real server on a free loopback port over `database_url`, open for
/// anonymous reads.
pub fn serve_args(
    database_url: &str,
    seed_file: Option<std::path::PathBuf>,
) -> api::config::ServeArgs {
    api::config::ServeArgs {
        database: entity::db::DatabaseArgs {
            database_url: database_url.to_owned(),
            database_schema: "inventory".into(),
            database_max_connections: 2,
        },
        listen: "127.0.0.1:0".parse().expect("address"),
        migrate: None,
        seed_file,
        auth: anonymous_reads(),
        limits: Default::default(),
        operations: Default::default(),
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

/// Writes accounts as one collector run at `at`; returns the run id.
pub async fn write_accounts(db: &TestDb, at: DateTime<Utc>, records: Vec<AccountRecord>) -> i64 {
    let run = start_run(&db.conn, "test", "0", "o-test", at)
        .await
        .expect("start run")
        .id;
    upsert_accounts(&db.conn, &WriteContext::run(run, at), records)
        .await
        .expect("write accounts");
    run
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
