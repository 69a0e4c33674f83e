//! The response cache: a write is visible to the next read (here at once, from another
//! process within a second), a lost LISTEN connection never serves stale data, roles never
//! share an answer, errors are never kept, the byte bound holds, and ETags revalidate.

use crate::auth::{secured_app, secured_app_on};
use crate::issuer::Issuer;
use crate::support::{account, send};
use api::http::CACHE_HEADER;
use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use chrono::Utc;
use entity::db::{DbOptions, connect};
use entity::enums::Provider;
use entity::testing::TestDb;
use entity::write::{WriteContext, upsert_accounts};
use sea_orm::{ConnectionTrait, DatabaseConnection};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const ACCOUNTS: &str = "{ accounts(first: 50) { totalCount nodes { key name } } }";

/// Posts `query` (as `token`, or anonymously) with `extra` headers.
async fn ask(
    app: &Router,
    token: Option<&str>,
    query: &str,
    extra: &[(header::HeaderName, &str)],
) -> (StatusCode, Value, HeaderMap) {
    let mut request = Request::post("/graphql").header(header::CONTENT_TYPE, "application/json");
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    for (name, value) in extra {
        request = request.header(name, *value);
    }
    let body = Body::from(json!({ "query": query }).to_string());
    let (status, body, headers) = send(app, request.body(body).expect("request")).await;
    let value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    (status, value, headers)
}

fn cache_of(headers: &HeaderMap) -> &str {
    headers
        .get(CACHE_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("none")
}

/// Waits until the app's cache is in use: on PostgreSQL its listener connects in the
/// background after the router is built, and until then requests bypass the cache.
async fn listening(app: &Router, token: Option<&str>) {
    let started = Instant::now();
    while cache_of(&ask(app, token, "{ __typename }", &[]).await.2) == "bypass" {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the listener never connected"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Reads the account list until it is served from the cache, for at most `within`.
async fn until_hit(app: &Router, token: &str, within: Duration, otherwise: &str) {
    let started = Instant::now();
    while accounts_now(app, token).await.1 != "hit" {
        assert!(started.elapsed() < within, "{otherwise}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn accounts_now(app: &Router, token: &str) -> (Vec<String>, String) {
    let (status, body, headers) = ask(app, Some(token), ACCOUNTS, &[]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let names = body["data"]["accounts"]["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .map(|n| n["name"].as_str().unwrap_or_default().to_owned())
        .collect();
    (names, cache_of(&headers).to_owned())
}

async fn write_account(db: &DatabaseConnection, native_id: &str, name: &str) {
    let at = Utc::now();
    let run = entity::run::start_run(db, "test", "0", "o-test", at)
        .await
        .expect("run")
        .id;
    upsert_accounts(
        db,
        &WriteContext::run(run, at),
        vec![account(Provider::Aws, native_id, name, "o-test")],
    )
    .await
    .expect("write");
}

/// The seeding mutation, then the next read on the same replica shows it at once.
async fn a_mutation_is_visible_to_the_next_read_at_once(db: &TestDb) {
    let issuer = Issuer::start().await;
    let (app, tokens) = secured_app(db, &issuer, false).await;
    listening(&app, Some(&tokens.viewer)).await;
    let list = "{ monitoringEndpoints(first: 10) { nodes { key } } }";
    let (_, first, headers) = ask(&app, Some(&tokens.viewer), list, &[]).await;
    assert_eq!(cache_of(&headers), "miss");
    let (_, again, headers) = ask(&app, Some(&tokens.viewer), list, &[]).await;
    assert_eq!(cache_of(&headers), "hit");
    assert_eq!(first, again);

    let seed = r#"mutation { upsertMonitoringEndpoint(input: {id: "prom-new", kind: PROMETHEUS, url: "https://prom.new.example.com"}) { outcome } }"#;
    let (status, body, headers) = ask(&app, Some(&tokens.editor), seed, &[]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(cache_of(&headers), "none", "a mutation is never cached");
    let (_, after, headers) = ask(&app, Some(&tokens.viewer), list, &[]).await;
    assert_eq!(cache_of(&headers), "miss");
    assert_eq!(
        after["data"]["monitoringEndpoints"]["nodes"][0]["key"],
        "prom-new"
    );
}

/// A writer with its own connection pool, as a collector process has: SQLite on one file
/// (two pools), or PostgreSQL (a second pool on the test's schema, so its NOTIFY reaches the
/// API's listener through the server).
async fn two_processes(db: &TestDb) -> (DatabaseConnection, DatabaseConnection, Option<Scratch>) {
    match db.conn.get_database_backend() {
        sea_orm::DbBackend::Postgres => {
            let writer = connect(&db.options).await.expect("writer");
            (db.conn.clone(), writer, None)
        }
        _ => {
            let dir = Scratch::new();
            let url = format!("sqlite://{}?mode=rwc", dir.0.join("inventory.db").display());
            let api = connect(&DbOptions::new(url.clone())).await.expect("api");
            migration::up(&api).await.expect("migrate");
            let writer = connect(&DbOptions::new(url)).await.expect("writer");
            (api, writer, Some(dir))
        }
    }
}

/// A directory of the test's own, removed when dropped.
struct Scratch(std::path::PathBuf);

impl Scratch {
    fn new() -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let dir =
            std::env::temp_dir().join(format!("inventory-cache-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("scratch directory");
        Self(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Reads until `ready` holds, for at most `within`; returns how long it took.
async fn until<F: Fn(&[String]) -> bool>(
    app: &Router,
    token: &str,
    within: Duration,
    ready: F,
) -> Duration {
    let started = Instant::now();
    loop {
        let (names, _) = accounts_now(app, token).await;
        if ready(&names) {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < within,
            "still {names:?} after {:?}",
            started.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn another_process_s_write_is_seen_within_a_second(db: &TestDb) {
    let (api_db, writer, _dir) = two_processes(db).await;
    let issuer = Issuer::start().await;
    let (app, tokens) = secured_app_on(&api_db, &issuer, false).await;
    write_account(&writer, "111111111111", "before").await;
    // Once the listener (PostgreSQL) is up, answers are cached.
    until(&app, &tokens.viewer, Duration::from_secs(5), |n| {
        n == ["before"]
    })
    .await;
    until_hit(
        &app,
        &tokens.viewer,
        Duration::from_secs(5),
        "never served from the cache",
    )
    .await;

    write_account(&writer, "111111111111", "after").await;
    let took = until(&app, &tokens.viewer, Duration::from_secs(1), |n| {
        n == ["after"]
    })
    .await;
    assert!(took < Duration::from_secs(1), "{took:?}");
}

/// PostgreSQL: the API's LISTEN connection is ended by the server; a write committed before
/// it is back is never hidden behind a cached answer.
async fn a_lost_listen_connection_never_serves_stale_data(db: &TestDb) {
    let issuer = Issuer::start().await;
    let (app, tokens) = secured_app(db, &issuer, false).await;
    write_account(&db.conn, "111111111111", "before").await;
    until_hit(
        &app,
        &tokens.viewer,
        Duration::from_secs(5),
        "never served from the cache",
    )
    .await;
    let listener = format!(
        "{}:{}",
        api::cache::version::LISTENER_NAME,
        db.options.schema
    );
    let ended = db
        .conn
        .query_one_raw(sea_orm::Statement::from_sql_and_values(
            sea_orm::DbBackend::Postgres,
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1",
            [listener.into()],
        ))
        .await
        .expect("terminate")
        .and_then(|row| row.try_get_by_index::<i64>(0).ok());
    assert_eq!(
        ended,
        Some(1),
        "the listener's connection was found and ended"
    );
    // The write commits while nobody listens: its NOTIFY reaches no one.
    write_account(&db.conn, "111111111111", "after").await;
    let (names, how) = accounts_now(&app, &tokens.viewer).await;
    assert_eq!(names, ["after"], "served {how}");
    // And the listener comes back: answers are cached again.
    until_hit(
        &app,
        &tokens.viewer,
        Duration::from_secs(10),
        "the listener never came back",
    )
    .await;
}

/// Viewer, editor and anonymous answers are kept apart; without anonymous reads, an
/// anonymous request is refused even though a viewer's answer is cached.
async fn roles_never_share_an_answer(db: &TestDb) {
    write_account(&db.conn, "111111111111", "one").await;
    let issuer = Issuer::start().await;
    let (open, tokens) = secured_app(db, &issuer, true).await;
    listening(&open, None).await;
    let (_, _, headers) = ask(&open, Some(&tokens.viewer), ACCOUNTS, &[]).await;
    assert_eq!(cache_of(&headers), "miss");
    let (_, _, headers) = ask(&open, Some(&tokens.viewer), ACCOUNTS, &[]).await;
    assert_eq!(cache_of(&headers), "hit");
    for token in [Some(tokens.editor.as_str()), None] {
        let (status, _, headers) = ask(&open, token, ACCOUNTS, &[]).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            cache_of(&headers),
            "miss",
            "{token:?} got another role's answer"
        );
    }
    let (closed, tokens) = secured_app(db, &issuer, false).await;
    listening(&closed, Some(&tokens.viewer)).await;
    let (_, _, headers) = ask(&closed, Some(&tokens.viewer), ACCOUNTS, &[]).await;
    assert_eq!(cache_of(&headers), "miss");
    let (status, body, headers) = ask(&closed, None, ACCOUNTS, &[]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(cache_of(&headers), "none");
}

/// Answers with errors, whole or partial, are answered every time and never kept.
async fn errors_and_partial_answers_are_not_kept(db: &TestDb) {
    write_account(&db.conn, "111111111111", "one").await;
    let issuer = Issuer::start().await;
    let (app, tokens) = secured_app(db, &issuer, false).await;
    listening(&app, Some(&tokens.viewer)).await;
    for query in [
        r#"{ account(id: "aws:000000000000") { name } }"#,
        r#"{ accounts(first: 5, after: "not-a-cursor") { totalCount } }"#,
        r#"{ accounts(first: 1) { totalCount } account(id: "aws:000000000000") { name } }"#,
    ] {
        for _ in 0..2 {
            let (_, body, headers) = ask(&app, Some(&tokens.viewer), query, &[]).await;
            assert!(body["errors"].is_array(), "{query}: {body}");
            assert_eq!(cache_of(&headers), "miss", "{query}");
            assert!(headers.get(header::ETAG).is_none(), "{query}");
        }
    }
}

/// A flood of distinct queries keeps the cache within its byte bound, evicting the least
/// recently used answers.
async fn the_byte_bound_holds_under_a_flood(db: &TestDb) {
    let records = (0..30)
        .map(|i| {
            account(
                Provider::Aws,
                &format!("{i:012}"),
                &format!("account {i}"),
                "o-test",
            )
        })
        .collect();
    let at = Utc::now();
    let run = entity::run::start_run(&db.conn, "test", "0", "o-test", at)
        .await
        .expect("run")
        .id;
    upsert_accounts(&db.conn, &WriteContext::run(run, at), records)
        .await
        .expect("write");
    let bound: u64 = 16 * 1024;
    let mut settings = crate::support::open_settings();
    settings.cache = api::cache::CacheOptions {
        max_bytes: bound,
        max_entry_bytes: 4 * 1024,
    };
    let app = api::http::router(db.conn.clone(), settings).expect("router");
    listening(&app, None).await;
    let mut kept = 0;
    for first in 1..=200 {
        let query = format!("{{ accounts(first: {first}) {{ nodes {{ key name }} }} }}");
        let (_, body, headers) = ask(&app, None, &query, &[]).await;
        assert!(body["errors"].is_null(), "{body}");
        kept += usize::from(headers.get(header::ETAG).is_some());
        let (_, metrics) = crate::metrics::scrape(&app).await;
        let bytes = crate::metrics::value(&metrics, "inventory_response_cache_bytes", &[]);
        assert!(bytes <= bound as f64, "{bytes} bytes cached, bound {bound}");
    }
    let (_, metrics) = crate::metrics::scrape(&app).await;
    assert!(crate::metrics::value(&metrics, "inventory_response_cache_evictions_total", &[]) > 0.0);
    assert_eq!(kept, 200, "every answer carried an ETag, kept or not");
}

/// `If-None-Match` with the current ETag gets 304 and no body; after a change, 200 and a new
/// ETag.
async fn etags_revalidate(db: &TestDb) {
    write_account(&db.conn, "111111111111", "before").await;
    let issuer = Issuer::start().await;
    let (app, tokens) = secured_app(db, &issuer, false).await;
    listening(&app, Some(&tokens.viewer)).await;
    let (status, body, headers) = ask(&app, Some(&tokens.viewer), ACCOUNTS, &[]).await;
    assert_eq!(status, StatusCode::OK);
    let etag = headers[header::ETAG].to_str().expect("etag").to_owned();
    assert_eq!(headers[header::CACHE_CONTROL], "private, no-cache");
    assert_eq!(body["data"]["accounts"]["totalCount"], 1);

    let request = Request::post("/graphql")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, format!("Bearer {}", tokens.viewer))
        .header(header::IF_NONE_MATCH, etag.as_str())
        .body(Body::from(json!({ "query": ACCOUNTS }).to_string()))
        .expect("request");
    let (status, body, headers) = send(&app, request).await;
    assert_eq!(status, StatusCode::NOT_MODIFIED);
    assert!(body.is_empty());
    assert_eq!(headers[header::ETAG], etag.as_str());

    write_account(&db.conn, "222222222222", "another").await;
    // Written as a collector writes (not through this API), so on PostgreSQL the change
    // arrives by notification: within a second, not necessarily at once.
    let started = Instant::now();
    let (status, body, headers) = loop {
        let answer = ask(
            &app,
            Some(&tokens.viewer),
            ACCOUNTS,
            &[(header::IF_NONE_MATCH, etag.as_str())],
        )
        .await;
        if answer.0 != StatusCode::NOT_MODIFIED || started.elapsed() > Duration::from_secs(1) {
            break answer;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["data"]["accounts"]["totalCount"], 2);
    assert_ne!(headers[header::ETAG], etag.as_str());
}

async fn get(
    app: &Router,
    token: &str,
    uri: &str,
    extra: &[(header::HeaderName, &str)],
) -> (StatusCode, Vec<u8>, HeaderMap) {
    let mut request = Request::get(uri).header(header::AUTHORIZATION, format!("Bearer {token}"));
    for (name, value) in extra {
        request = request.header(name, *value);
    }
    send(app, request.body(Body::empty()).expect("request")).await
}

/// GraphQL over HTTP GET: a query in the URL, revalidated with its ETag; a mutation in the
/// URL is refused with 405; without a query the URL is GraphiQL's page.
async fn queries_over_get_revalidate_and_mutations_are_refused(db: &TestDb) {
    write_account(&db.conn, "111111111111", "one").await;
    let issuer = Issuer::start().await;
    let (app, tokens) = secured_app(db, &issuer, false).await;
    listening(&app, Some(&tokens.viewer)).await;
    let uri = "/graphql?query=%7B%20accounts(first%3A%205)%20%7B%20totalCount%20%7D%20%7D";
    let (status, body, headers) = get(&app, &tokens.viewer, uri, &[]).await;
    assert_eq!(status, StatusCode::OK);
    let body: Value = serde_json::from_slice(&body).expect("JSON");
    assert_eq!(body["data"]["accounts"]["totalCount"], 1);
    let etag = headers[header::ETAG].to_str().expect("etag").to_owned();
    let (status, body, headers) = get(
        &app,
        &tokens.viewer,
        uri,
        &[(header::IF_NONE_MATCH, etag.as_str())],
    )
    .await;
    assert_eq!(status, StatusCode::NOT_MODIFIED);
    assert!(body.is_empty());
    assert_eq!(cache_of(&headers), "hit");

    let mutation = "/graphql?query=mutation%20%7B%20retireMonitoringEndpoint(id%3A%20%22x%22)%20%7B%20retired%20%7D%20%7D";
    let (status, _, headers) = get(&app, &tokens.editor, mutation, &[]).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(headers[header::ALLOW], "POST");

    let (status, body, headers) = get(&app, &tokens.viewer, "/graphql", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap_or_default()
            .starts_with("text/html")
    );
    assert!(String::from_utf8_lossy(&body).contains("graphiql"));
}

/// Persisted queries: a hash the server does not know is refused the way Apollo's clients
/// expect; sent once with its document, the hash alone then runs it (and is cached).
async fn persisted_queries_run_by_hash(db: &TestDb) {
    use sha2::Digest;
    write_account(&db.conn, "111111111111", "one").await;
    let issuer = Issuer::start().await;
    let (app, tokens) = secured_app(db, &issuer, false).await;
    listening(&app, Some(&tokens.viewer)).await;
    let hash = hex::encode(sha2::Sha256::digest(ACCOUNTS.as_bytes()));
    let persisted = json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } });
    let post = |body: Value| {
        let app = app.clone();
        let token = tokens.viewer.clone();
        async move {
            let request = Request::post("/graphql")
                .header(header::CONTENT_TYPE, "application/json")
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .body(Body::from(body.to_string()))
                .expect("request");
            let (status, body, headers) = send(&app, request).await;
            (
                status,
                serde_json::from_slice::<Value>(&body).expect("JSON"),
                headers,
            )
        }
    };
    let (_, unknown, _) = post(json!({ "extensions": persisted })).await;
    assert_eq!(
        unknown["errors"][0]["message"], "PersistedQueryNotFound",
        "{unknown}"
    );
    assert_eq!(
        unknown["errors"][0]["extensions"]["code"],
        "PERSISTED_QUERY_NOT_FOUND"
    );

    let (_, registered, _) = post(json!({ "query": ACCOUNTS, "extensions": persisted })).await;
    assert_eq!(
        registered["data"]["accounts"]["totalCount"], 1,
        "{registered}"
    );
    let (_, by_hash, headers) = post(json!({ "extensions": persisted })).await;
    assert_eq!(by_hash, registered);
    assert_eq!(cache_of(&headers), "miss");
    let (_, again, headers) = post(json!({ "extensions": persisted })).await;
    assert_eq!(again, registered);
    assert_eq!(cache_of(&headers), "hit");

    let wrong = json!({ "persistedQuery": { "version": 1, "sha256Hash": "0".repeat(64) } });
    let (_, refused, _) = post(json!({ "query": ACCOUNTS, "extensions": wrong })).await;
    assert!(
        refused["errors"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("sha"),
        "{refused}"
    );
}

/// Two spellings of one document (white space, commas, a comment) share an answer; a
/// difference inside a string does not.
async fn spellings_of_a_document_share_an_answer(db: &TestDb) {
    write_account(&db.conn, "111111111111", "one").await;
    let issuer = Issuer::start().await;
    let (app, tokens) = secured_app(db, &issuer, false).await;
    listening(&app, Some(&tokens.viewer)).await;
    let (_, first, headers) = ask(&app, Some(&tokens.viewer), ACCOUNTS, &[]).await;
    assert_eq!(cache_of(&headers), "miss");
    let respelled =
        "{\n  accounts(first: 50)   {  totalCount,\n nodes { key name } } # the list\n}";
    let (_, again, headers) = ask(&app, Some(&tokens.viewer), respelled, &[]).await;
    assert_eq!(cache_of(&headers), "hit");
    assert_eq!(again, first);
    let lookup = |id: &str| format!(r#"{{ account(id: "{id}") {{ name }} }}"#);
    let (_, _, headers) = ask(&app, Some(&tokens.viewer), &lookup("aws:111111111111"), &[]).await;
    assert_eq!(cache_of(&headers), "miss");
    let (_, other, headers) = ask(
        &app,
        Some(&tokens.viewer),
        &lookup("aws:111111111111 "),
        &[],
    )
    .await;
    assert_eq!(cache_of(&headers), "miss", "a string is never respelled");
    assert!(other["errors"].is_array(), "{other}");
}

entity::on_both_backends!(
    spellings_of_a_document_share_an_answer,
    queries_over_get_revalidate_and_mutations_are_refused,
    persisted_queries_run_by_hash,
    a_mutation_is_visible_to_the_next_read_at_once,
    another_process_s_write_is_seen_within_a_second,
    roles_never_share_an_answer,
    errors_and_partial_answers_are_not_kept,
    the_byte_bound_holds_under_a_flood,
    etags_revalidate
);

#[tokio::test]
async fn a_lost_listen_connection_never_serves_stale_data_on_postgres() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    a_lost_listen_connection_never_serves_stale_data(&db).await;
    db.finish().await;
}
