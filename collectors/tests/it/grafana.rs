//! The Grafana source against a local peer that follows Grafana's documented HTTP API:
//! `GET /api/health` (`{"commit", "database", "version"}`, no auth), `GET /api/org`,
//! `GET /api/frontend/settings` (`buildInfo`), `GET /api/datasources` (an unpaginated array of
//! `{"id", "uid", "orgId", "name", "type", "access", "url", "basicAuth", "isDefault", …}`), with
//! service-account tokens as `Authorization: Bearer` or basic auth, and 401 answered with
//! `{"message": "Unauthorized"}` (Grafana HTTP API reference, "Authentication" and the Health,
//! Organization, Data source and Frontend settings APIs).

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::Utc;
use collectors::grafana::GrafanaSource;
use collectors::guard::AddressPolicy;
use collectors::probe::{ProbeOptions, Target};
use collectors::runner::run;
use entity::enums::{AuthMode, EndpointKind, EndpointStatus, Origin, RunStatus};
use entity::monitoring_endpoint;
use entity::record::EndpointRecord;
use entity::secret_ref::SecretGrants;
use entity::testing::TestDb;
use entity::write::{WriteContext, upsert_endpoints};
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};
use std::time::Duration;

const TOKEN: &str = "glsa_fakeServiceAccountTokenForTests_0000";
const BASIC: &str = "Basic YWRtaW46ZmFrZS1hZG1pbi1wYXNzd29yZA=="; // admin:fake-admin-password

const OAUTH_ACCESS: &str = "oauth-access-token-from-the-peer";
/// `monitor:fake-client-secret` as RFC 6749 client authentication.
const OAUTH_CLIENT: &str = "Basic bW9uaXRvcjpmYWtlLWNsaWVudC1zZWNyZXQ=";

fn authorized(headers: &HeaderMap) -> bool {
    let value = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    value == format!("Bearer {TOKEN}")
        || value == BASIC
        || value == format!("Bearer {OAUTH_ACCESS}")
}

fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        axum::Json(json!({ "message": "Unauthorized" })),
    )
        .into_response()
}

fn datasources(extra: usize) -> Value {
    let mut list = vec![
        json!({ "id": 1, "uid": "P1809F7CD0C75ACF3", "orgId": 1, "name": "Prometheus", "type": "prometheus",
                "typeName": "Prometheus", "access": "proxy", "url": "http://prom-a.monitoring:9090",
                "basicAuth": false, "isDefault": true, "jsonData": {}, "readOnly": false }),
        json!({ "id": 2, "uid": "loki1", "orgId": 1, "name": "Loki", "type": "loki", "access": "proxy",
                "url": "http://loki:3100", "basicAuth": false, "isDefault": false, "jsonData": {}, "readOnly": false }),
        json!({ "id": 3, "uid": "thanos1", "orgId": 1, "name": "Thanos", "type": "prometheus", "access": "proxy",
                "url": "https://thanos.example.com/", "basicAuth": true, "isDefault": false, "jsonData": {}, "readOnly": false }),
        // A URL with its credentials in it: never stored.
        json!({ "id": 4, "uid": "legacy1", "orgId": 1, "name": "Legacy", "type": "prometheus", "access": "proxy",
                "url": "http://admin:hunter2@prom-legacy:9090", "basicAuth": false, "isDefault": false, "jsonData": {}, "readOnly": false }),
    ];
    for i in 0..extra {
        list.push(json!({ "id": 100 + i, "uid": format!("ds{i}"), "orgId": 1, "name": format!("ds {i}"),
            "type": "prometheus", "access": "proxy", "url": format!("http://prom-{i}.fleet:9090"),
            "basicAuth": false, "isDefault": false, "jsonData": { "httpMethod": "POST" }, "readOnly": false }));
    }
    Value::Array(list)
}

async fn start(database: &'static str, extra: usize) -> String {
    let app = Router::new()
        .route("/api/health", get(move || async move {
            axum::Json(json!({ "commit": "1f2d3e", "database": database, "version": "11.3.0" }))
        }))
        .route("/api/org", get(|headers: HeaderMap| async move {
            if !authorized(&headers) { return unauthorized(); }
            axum::Json(json!({ "id": 1, "name": "Main Org.", "address": { "city": "" } })).into_response()
        }))
        .route("/api/frontend/settings", get(|headers: HeaderMap| async move {
            if !authorized(&headers) { return unauthorized(); }
            axum::Json(json!({ "buildInfo": { "version": "11.3.0", "commit": "1f2d3e", "edition": "Open Source", "env": "production" },
                "anonymousEnabled": false })).into_response()
        }))
        .route("/api/datasources", get(move |headers: HeaderMap| async move {
            if !authorized(&headers) { return unauthorized(); }
            axum::Json(datasources(extra)).into_response()
        }))
        // An OAuth 2.0 token endpoint (RFC 6749 §4.4, client credentials with HTTP basic
        // client authentication), as an identity provider in front of Grafana would run.
        .route("/oauth/token", axum::routing::post(|headers: HeaderMap, body: String| async move {
            let client_ok = headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(OAUTH_CLIENT);
            if !client_ok || !body.contains("grant_type=client_credentials") {
                return (StatusCode::UNAUTHORIZED, axum::Json(json!({ "error": "invalid_client" }))).into_response();
            }
            axum::Json(json!({ "access_token": OAUTH_ACCESS, "token_type": "bearer", "expires_in": 3600 })).into_response()
        }))
        .route("/redirect/api/health", get(|| async {
            axum::response::Redirect::temporary("http://169.254.169.254/latest/meta-data/")
        }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/", listener.local_addr().expect("address"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

/// The directory the tests' operator grants, as a mounted Secret would be.
fn secrets_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("grafana-secrets-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("secrets dir");
    dir
}

fn secret_file(name: &str, content: &str) -> String {
    let path = secrets_dir().join(name);
    std::fs::write(&path, content).expect("secret");
    format!("file:{}", path.display())
}

/// Every file in [`secrets_dir`], for any origin.
fn grants() -> SecretGrants {
    SecretGrants::new(vec![
        format!("file:{}/=*", secrets_dir().display())
            .parse()
            .expect("a grant"),
    ])
}

fn target(id: &str, url: &str, auth_mode: AuthMode, secret_ref: Option<String>) -> Target {
    Target {
        id: id.into(),
        url: url.parse().expect("url"),
        auth_mode,
        secret_ref,
    }
}

fn options(targets: Vec<Target>) -> ProbeOptions {
    ProbeOptions {
        targets,
        policy: AddressPolicy {
            allowed: vec!["127.0.0.0/8".parse().expect("net")],
        },
        timeout: Duration::from_secs(2),
        concurrency: 4,
        ca_pem: None,
        grants: std::sync::Arc::new(grants()),
    }
}

async fn stored(db: &TestDb, id: &str) -> monitoring_endpoint::Model {
    monitoring_endpoint::Entity::find_by_id(id.to_owned())
        .one(&db.conn)
        .await
        .expect("read")
        .unwrap_or_else(|| panic!("{id} stored"))
}

async fn grafana_reveals_its_prometheus_servers(db: &TestDb) {
    let url = start("ok", 0).await;
    let targets = vec![
        target(
            "grafana-token",
            &url,
            AuthMode::Token,
            Some(secret_file("token", TOKEN)),
        ),
        target(
            "grafana-basic",
            &url,
            AuthMode::Basic,
            Some(secret_file("basic", "admin:fake-admin-password")),
        ),
        target(
            "grafana-wrong",
            &url,
            AuthMode::Token,
            Some(secret_file("wrong", "glsa_wrong")),
        ),
        target("grafana-anonymous", &url, AuthMode::None, None),
    ];
    let done = run(
        &db.conn,
        &mut GrafanaSource::new(options(targets.clone())),
        &crate::aws::options(),
    )
    .await
    .expect("run");
    assert_eq!(done.status, RunStatus::Succeeded, "{:?}", done.error);

    let token = stored(db, "grafana-token").await;
    assert_eq!(
        (token.status, token.version.as_deref()),
        (EndpointStatus::Up, Some("11.3.0"))
    );
    assert_eq!(token.kind, EndpointKind::Grafana);
    assert_eq!(token.raw["org"]["name"], "Main Org.");
    assert_eq!(token.raw["buildInfo"]["edition"], "Open Source");
    assert_eq!(
        token.raw["datasources"],
        json!({
            "total": 4,
            "prometheus": 2,
            "unusable": 1,
            "prometheus_endpoints": ["prometheus-prom-a-monitoring-9090", "prometheus-thanos-example-com-443"],
        })
    );
    assert_eq!(stored(db, "grafana-basic").await.status, EndpointStatus::Up);
    let wrong = stored(db, "grafana-wrong").await;
    assert_eq!(wrong.status, EndpointStatus::Unauthorized);
    assert!(
        wrong
            .last_error
            .as_deref()
            .unwrap_or_default()
            .contains("401")
    );
    let anonymous = stored(db, "grafana-anonymous").await;
    assert_eq!(
        (anonymous.status, anonymous.raw["org"].is_null()),
        (EndpointStatus::Up, true)
    );

    // The Prometheus data sources became endpoints, linked to the Grafana that revealed them.
    let prom = stored(db, "prometheus-prom-a-monitoring-9090").await;
    assert_eq!(
        (prom.kind, prom.origin, prom.scope.as_str()),
        (EndpointKind::Prometheus, Origin::Collector, "grafana")
    );
    assert_eq!(prom.url, "http://prom-a.monitoring:9090/");
    assert_eq!(prom.status, EndpointStatus::Unknown);
    assert!(
        ["grafana-token", "grafana-basic"].contains(
            &prom.provenance["discovered_by"]
                .as_str()
                .unwrap_or_default()
        )
    );
    assert_eq!(prom.provenance["datasource"]["uid"], "P1809F7CD0C75ACF3");
    assert_eq!(
        stored(db, "prometheus-thanos-example-com-443")
            .await
            .auth_mode,
        AuthMode::Basic
    );
    assert!(
        monitoring_endpoint::Entity::find_by_id("prometheus-loki-3100".to_owned())
            .one(&db.conn)
            .await
            .expect("read")
            .is_none()
    );

    // The Prometheus collector checks a discovered endpoint; Grafana's next run, which only
    // finds it, does not reset what that check saw.
    let probe_run = entity::run::start_run(&db.conn, "prometheus", "0", "prometheus", Utc::now())
        .await
        .expect("run")
        .id;
    let checked = EndpointRecord {
        id: prom.id.clone(),
        kind: EndpointKind::Prometheus,
        url: prom.url.clone(),
        auth_mode: AuthMode::None,
        status: EndpointStatus::Up,
        version: Some("2.53.1".into()),
        raw: json!({ "ready": true }),
        origin: Origin::Collector,
        labels: Default::default(),
        notes: None,
        secret_ref: None,
        scope: "prometheus".into(),
        last_checked_at: Some(Utc::now()),
        last_error: None,
        provenance: json!({}),
    };
    upsert_endpoints(
        &db.conn,
        &WriteContext::run(probe_run, Utc::now()),
        vec![checked],
    )
    .await
    .expect("probe write");
    let again = run(
        &db.conn,
        &mut GrafanaSource::new(options(targets)),
        &crate::aws::options(),
    )
    .await
    .expect("run");
    assert_eq!(again.status, RunStatus::Succeeded);
    let prom = stored(db, "prometheus-prom-a-monitoring-9090").await;
    assert_eq!(
        (prom.status, prom.version.as_deref(), prom.scope.as_str()),
        (EndpointStatus::Up, Some("2.53.1"), "grafana")
    );
}

async fn a_failing_database_and_a_large_datasource_list(db: &TestDb) {
    let failing = start("failing", 0).await;
    let large = start("ok", 2_000).await;
    let targets = vec![
        target("grafana-failing", &failing, AuthMode::None, None),
        target(
            "grafana-large",
            &large,
            AuthMode::Token,
            Some(secret_file("large", TOKEN)),
        ),
    ];
    let done = run(
        &db.conn,
        &mut GrafanaSource::new(options(targets)),
        &crate::aws::options(),
    )
    .await
    .expect("run");
    assert_eq!(done.status, RunStatus::Succeeded, "{:?}", done.error);
    let down = stored(db, "grafana-failing").await;
    assert_eq!(down.status, EndpointStatus::Down);
    assert!(
        down.last_error
            .as_deref()
            .unwrap_or_default()
            .contains("database failing"),
        "{:?}",
        down.last_error
    );
    assert_eq!(
        stored(db, "grafana-large").await.raw["datasources"]["prometheus"],
        2_002
    );
    let endpoints = monitoring_endpoint::Entity::find()
        .count(&db.conn)
        .await
        .expect("count");
    assert_eq!(endpoints, 2 + 2_002);
    // No secret in any row.
    for row in monitoring_endpoint::Entity::find()
        .all(&db.conn)
        .await
        .expect("read")
        .iter()
    {
        assert!(!format!("{row:?}").contains(TOKEN));
    }
}

async fn oauth_client_credentials_and_refused_redirects(db: &TestDb) {
    let url = start("ok", 0).await;
    let oauth = |secret: &str| {
        json!({ "token_url": format!("{url}oauth/token"), "client_id": "monitor", "client_secret": secret, "scope": "grafana" })
            .to_string()
    };
    let targets = vec![
        target(
            "grafana-oauth",
            &url,
            AuthMode::Oauth,
            Some(secret_file("oauth", &oauth("fake-client-secret"))),
        ),
        target(
            "grafana-oauth-wrong",
            &url,
            AuthMode::Oauth,
            Some(secret_file("oauth-wrong", &oauth("not-it"))),
        ),
        target(
            "grafana-redirect",
            &format!("{url}redirect/"),
            AuthMode::None,
            None,
        ),
    ];
    let done = run(
        &db.conn,
        &mut GrafanaSource::new(options(targets)),
        &crate::aws::options(),
    )
    .await
    .expect("run");
    assert_eq!(done.status, RunStatus::Succeeded, "{:?}", done.error);
    let good = stored(db, "grafana-oauth").await;
    assert_eq!(
        (good.status, good.raw["org"]["name"].as_str()),
        (EndpointStatus::Up, Some("Main Org.")),
        "{:?}",
        good.last_error
    );
    let wrong = stored(db, "grafana-oauth-wrong").await;
    assert_eq!(wrong.status, EndpointStatus::Unknown);
    let error = wrong.last_error.unwrap_or_default();
    assert!(
        error.contains("invalid_client") && !error.contains("not-it"),
        "{error}"
    );
    let redirected = stored(db, "grafana-redirect").await;
    assert_eq!(
        redirected.status,
        EndpointStatus::Unknown,
        "{:?}",
        redirected.last_error
    );
    assert!(
        redirected
            .last_error
            .unwrap_or_default()
            .contains("redirect refused")
    );
}

/// A listener that records the `Authorization` header of every request it gets, standing in
/// for a server an editor controls.
async fn collecting_peer() -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let record = seen.clone();
    let app = Router::new().fallback(move |headers: HeaderMap| {
        let record = record.clone();
        async move {
            let header = headers
                .get("authorization")
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                .unwrap_or_default();
            record.lock().expect("lock").push(header);
            axum::Json(json!({ "database": "ok", "version": "11.3.0" }))
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/", listener.local_addr().expect("address"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, seen)
}

/// What an editor could try to send to a server of their own: the collector's database
/// URL, its cloud keys, files outside the granted directory (directly or through a link),
/// a granted secret for an origin it is not granted for, and a value that would split a
/// header. None of it is read, and nothing reaches the server.
async fn secrets_resolve_only_within_the_grant(db: &TestDb) {
    let (attacker, seen) = collecting_peer().await;
    let grafana = start("ok", 0).await;
    // Each backend's run of this test has files of its own.
    let unique = format!("{}", db.conn.get_database_backend() as u8);
    let granted_token = secret_file(&format!("granted-token-{unique}"), TOKEN);
    let outside =
        std::env::temp_dir().join(format!("grafana-outside-{}-{unique}", std::process::id()));
    std::fs::write(&outside, "outside-secret").expect("outside");
    let link = secrets_dir().join(format!("link-out-{unique}"));
    std::fs::remove_file(&link).ok();
    std::os::unix::fs::symlink(&outside, &link).expect("link");
    let split = secret_file(&format!("split-{unique}"), "a\r\nX-Injected: 1");
    let grants = SecretGrants::new(vec![
        format!(
            "file:{}/=http://{}",
            secrets_dir().display(),
            grafana.trim_start_matches("http://").trim_end_matches('/')
        )
        .parse()
        .expect("a grant"),
    ]);
    let cases = [
        (
            "env-database",
            "env:INVENTORY_DATABASE_URL",
            &attacker,
            "not granted",
        ),
        (
            "env-aws",
            "env:AWS_SECRET_ACCESS_KEY",
            &attacker,
            "not granted",
        ),
        ("proc", "file:/proc/self/environ", &attacker, "not granted"),
        ("shadow", "file:/etc/shadow", &attacker, "not granted"),
        (
            "wrong-origin",
            granted_token.as_str(),
            &attacker,
            "not granted for http://127.0.0.1",
        ),
        (
            "link",
            &format!("file:{}", link.display()),
            &grafana,
            "outside the granted directory",
        ),
        ("split", split.as_str(), &grafana, "header-safe"),
    ];
    let targets: Vec<Target> = cases
        .iter()
        .map(|(id, reference, url, _)| {
            target(
                &format!("grafana-{id}"),
                url,
                AuthMode::Token,
                Some((*reference).to_owned()),
            )
        })
        .chain([target(
            "grafana-granted",
            &grafana,
            AuthMode::Token,
            Some(granted_token.clone()),
        )])
        .collect();
    let mut options = options(targets);
    options.grants = std::sync::Arc::new(grants);
    let done = run(
        &db.conn,
        &mut GrafanaSource::new(options),
        &crate::aws::options(),
    )
    .await
    .expect("run");
    assert_eq!(done.status, RunStatus::Succeeded, "{:?}", done.error);
    for (id, _, _, expected) in cases {
        let row = stored(db, &format!("grafana-{id}")).await;
        let error = row.last_error.unwrap_or_default();
        assert_eq!(row.status, EndpointStatus::Unknown, "{id}: {error}");
        assert!(error.contains(expected), "{id}: {error}");
        assert!(
            !error.contains("outside-secret") && !error.contains(TOKEN),
            "{error}"
        );
    }
    assert!(
        seen.lock().expect("lock").is_empty(),
        "the attacker's server was called"
    );
    // The granted reference, for its granted origin, works.
    assert_eq!(
        stored(db, "grafana-granted").await.status,
        EndpointStatus::Up
    );
    std::fs::remove_file(&outside).ok();
}

entity::on_both_backends!(
    grafana_reveals_its_prometheus_servers,
    a_failing_database_and_a_large_datasource_list,
    oauth_client_credentials_and_refused_redirects,
    secrets_resolve_only_within_the_grant,
);

/// The real binary, with the starter kit's `GRAFANA_URL` and `GRAFANA_TOKEN`, logging at
/// trace level: the token appears nowhere in what it writes, and the data sources it found
/// are stored.
#[tokio::test]
async fn the_token_never_reaches_the_log() {
    let url = start("ok", 0).await;
    let dir = std::env::temp_dir().join(format!("grafana-log-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let database = format!("sqlite://{}/db.sqlite?mode=rwc", dir.display());
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_inventory-collect"))
        .env_clear()
        .env("GRAFANA_URL", &url)
        .env("GRAFANA_TOKEN", TOKEN)
        .env("RUST_LOG", "trace")
        .args([
            "--database-url",
            &database,
            "grafana",
            "--allow-cidr",
            "127.0.0.0/8",
        ])
        .output()
        .await
        .expect("run inventory-collect");
    let log = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "{log}");
    assert!(log.contains("collector run finished"), "{log}");
    assert!(!log.contains(TOKEN), "the token was logged");
    let db = entity::db::connect(&entity::db::DbOptions::new(database))
        .await
        .expect("open");
    let grafana = monitoring_endpoint::Entity::find_by_id(collectors::grafana::grafana_id(
        &url.parse().expect("url"),
    ))
    .one(&db)
    .await
    .expect("read")
    .expect("stored");
    assert_eq!(
        (grafana.status, grafana.auth_mode),
        (EndpointStatus::Up, AuthMode::Token)
    );
    assert_eq!(grafana.secret_ref.as_deref(), Some("env:GRAFANA_TOKEN"));
    assert!(!format!("{grafana:?}").contains(TOKEN));
    std::fs::remove_dir_all(&dir).ok();
}
