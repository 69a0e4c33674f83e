//! The HTTP surface: GraphiQL offline, health, readiness, request limits, start-up.

use crate::support::{get, send};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use entity::testing::TestDb;
use serde_json::{Value, json};

/// Every `src=` and `href=` of a page.
fn references(html: &str) -> Vec<String> {
    let mut found = Vec::new();
    for attr in ["src=\"", "href=\""] {
        for (at, _) in html.match_indices(attr) {
            let rest = &html[at + attr.len()..];
            found.push(rest[..rest.find('"').unwrap_or(rest.len())].to_owned());
        }
    }
    found
}

#[tokio::test]
async fn graphiql_is_served_with_its_assets_and_no_external_host() {
    let db = TestDb::sqlite().await;
    let app = crate::support::app(&db.conn);
    let (status, body, headers) = get(&app, "/graphql").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap_or_default()
            .starts_with("text/html")
    );
    let csp = headers[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap_or_default();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    let html = String::from_utf8(body).expect("utf-8");
    let refs = references(&html);
    assert_eq!(refs.len(), 5, "{refs:?}");
    for reference in refs {
        assert!(
            reference.starts_with('/') && !reference.starts_with("//"),
            "GraphiQL references {reference}, which is not served by the API"
        );
        let (status, body, headers) = get(&app, &reference).await;
        assert_eq!(status, StatusCode::OK, "{reference}");
        assert!(body.len() > 500, "{reference} is suspiciously small");
        let kind = headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap_or_default()
            .to_owned();
        let expected = if reference.ends_with(".css") {
            "text/css"
        } else {
            "text/javascript"
        };
        assert!(kind.starts_with(expected), "{reference}: {kind}");
    }
    let (status, _, _) = get(&app, "/graphiql/../Cargo.toml").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    db.finish().await;
}

async fn readiness(db: &TestDb, expected: StatusCode) -> Value {
    let app = crate::support::app(&db.conn);
    let (status, body, _) = get(&app, "/readyz").await;
    assert_eq!(status, expected, "{}", String::from_utf8_lossy(&body));
    serde_json::from_slice(&body).expect("JSON")
}

async fn readiness_follows_the_database(db: &TestDb) {
    let ready = readiness(db, StatusCode::OK).await;
    assert_eq!(ready["status"], "ready");

    let app = crate::support::app(&db.conn);
    db.conn.close_by_ref().await.expect("close the pool");
    // Liveness does not depend on the database.
    let (status, _, _) = get(&app, "/healthz").await;
    assert_eq!(status, StatusCode::OK);
    let down = readiness(db, StatusCode::SERVICE_UNAVAILABLE).await;
    assert_eq!(down["reason"], "database unreachable");
    // Queries fail with a code and without database text.
    let response = crate::support::gql(&app, "{ accounts { totalCount } }", json!({})).await;
    assert_eq!(response["errors"][0]["extensions"]["code"], "INTERNAL");
    assert_eq!(response["errors"][0]["message"], "internal error");
}

entity::on_both_backends!(readiness_follows_the_database);

/// A database that accepts connections and never answers (a dead route, a hung server):
/// `/readyz` answers 503 on its own bound, not after the pool's acquire timeout.
#[tokio::test]
async fn readiness_answers_on_its_own_bound_when_the_database_hangs() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let (conn, proxy) = entity::testing::PgProxy::connect(&db).await;
    let app = crate::support::app(&conn);
    let (status, _, _) = get(&app, "/readyz").await;
    assert_eq!(status, StatusCode::OK);
    proxy.hang();
    let (status, body, _) = get(&app, "/readyz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = serde_json::from_slice(&body).expect("JSON");
    assert_eq!(body["reason"], "database did not answer in time");
    proxy.forward();
    conn.close().await.ok();
    db.finish().await;
}

#[tokio::test]
async fn readiness_fails_while_migrations_are_pending() {
    let db = TestDb::sqlite_unmigrated().await;
    let down = readiness(&db, StatusCode::SERVICE_UNAVAILABLE).await;
    assert_eq!(down["reason"], "database schema is not migrated");
    db.finish().await;
    if let Some(db) = TestDb::postgres_unmigrated().await {
        let down = readiness(&db, StatusCode::SERVICE_UNAVAILABLE).await;
        assert_eq!(down["reason"], "database schema is not migrated");
        db.finish().await;
    }
}

#[tokio::test]
async fn malformed_and_oversized_requests_are_refused() {
    let db = TestDb::sqlite().await;
    let app = crate::support::app(&db.conn);
    let post = |body: Body| {
        Request::post("/graphql")
            .header(header::CONTENT_TYPE, "application/json")
            .body(body)
            .expect("request")
    };
    let (status, _, _) = send(&app, post(Body::from("{not json"))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let huge =
        json!({ "query": format!("{{ accounts {{ totalCount }} }} # {}", "x".repeat(300 * 1024)) })
            .to_string();
    let request = Request::post("/graphql")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CONTENT_LENGTH, huge.len())
        .body(Body::from(huge))
        .expect("request");
    let (status, _, _) = send(&app, request).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);

    // `__schema types fields type` + n × `ofType` + `name` is n + 5 levels deep.
    let nested = |n: usize| {
        format!(
            "{{ __schema {{ types {{ fields {{ type {{ {} name {} }} }} }} }} }}",
            "ofType { ".repeat(n),
            "} ".repeat(n)
        )
    };
    let at_limit = crate::support::gql(
        &app,
        &nested(api::graphql::limits::DEFAULT_MAX_DEPTH - 5),
        json!({}),
    )
    .await;
    assert!(at_limit.get("errors").is_none(), "{at_limit}");
    let response = crate::support::gql(
        &app,
        &nested(api::graphql::limits::DEFAULT_MAX_DEPTH - 4),
        json!({}),
    )
    .await;
    assert_eq!(
        response["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{response}"
    );
    db.finish().await;
}

#[tokio::test]
async fn first_start_loads_the_example_inventory_once() {
    let dir = std::env::temp_dir().join(format!("inventory-api-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let url = format!("sqlite://{}/inventory.db?mode=rwc", dir.display());
    let example = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../deploy/examples/inventory.json");
    let args = |seed: bool| crate::support::serve_args(&url, seed.then(|| example.clone()));
    let count = |app: api::app::Application| async move {
        let addr = app.local_addr().expect("bound");
        let server = tokio::spawn(app.run_until_stopped());
        let client = reqwest::Client::new();
        let response: Value = client
            .post(format!("http://{addr}/graphql"))
            .json(&json!({ "query": "{ accounts { totalCount } monitoringEndpoints { totalCount } collectorRuns { totalCount } }" }))
            .send()
            .await
            .expect("request")
            .json()
            .await
            .expect("JSON");
        server.abort();
        response["data"].clone()
    };
    let first = count(
        api::app::Application::build(&args(true))
            .await
            .expect("first start"),
    )
    .await;
    assert_eq!(first["accounts"]["totalCount"], 13, "{first}");
    assert_eq!(first["monitoringEndpoints"]["totalCount"], 4);
    assert_eq!(first["collectorRuns"]["totalCount"], 1);
    // A restart with the same seed file finds data and leaves it alone.
    let second = count(
        api::app::Application::build(&args(true))
            .await
            .expect("second start"),
    )
    .await;
    assert_eq!(second, first);
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn a_broken_seed_file_stops_start_up_with_its_name() {
    let dir = std::env::temp_dir().join(format!("inventory-api-seed-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let seed = dir.join("broken.json");
    std::fs::write(&seed, r#"{ "accounts": [ { "provider": "aws" } ] }"#).expect("write");
    let args = crate::support::serve_args("sqlite::memory:", Some(seed));
    let err = match api::app::Application::build(&args).await {
        Ok(_) => panic!("a broken seed file must stop start-up"),
        Err(err) => format!("{err:#}"),
    };
    assert!(
        err.contains("broken.json") && err.contains("missing field"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).ok();
}
