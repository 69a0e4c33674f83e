//! `GET /metrics` after real traffic and real runs: the series, their values, the cache
//! between refreshes, the cap on operation names, `promtool check metrics`, and that every
//! series the shipped alert rules and dashboard use is exported.

use crate::support::{account, endpoint, get, gql, t, write_endpoints};
use axum::Router;
use axum::http::StatusCode;
use entity::enums::{EndpointKind, EndpointStatus, Provider, RunStatus};
use entity::run::{RunOutcome, finish_run, start_run};
use entity::testing::TestDb;
use entity::write::{WriteContext, WriteCounts, upsert_accounts};
use serde_json::json;
use std::collections::BTreeMap;
use std::time::Duration;

/// One sample of a scrape: family or series name, and its labels.
pub type Key = (String, BTreeMap<String, String>);

/// The samples of a text exposition. Only what our exporter writes is understood (label
/// values without escaped quotes); anything else fails the test.
fn samples(text: &str) -> BTreeMap<Key, f64> {
    let mut samples = BTreeMap::new();
    for line in text
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("{line}"));
        let value: f64 = value.parse().unwrap_or_else(|_| panic!("{line}"));
        let (name, labels) = match series.split_once('{') {
            Some((name, rest)) => {
                let body = rest.strip_suffix('}').unwrap_or_else(|| panic!("{line}"));
                let labels = body
                    .split("\",")
                    .filter(|pair| !pair.is_empty())
                    .map(|pair| {
                        let (key, value) =
                            pair.split_once("=\"").unwrap_or_else(|| panic!("{line}"));
                        (key.to_owned(), value.trim_end_matches('"').to_owned())
                    })
                    .collect();
                (name, labels)
            }
            None => (series, BTreeMap::new()),
        };
        samples.insert((name.to_owned(), labels), value);
    }
    samples
}

fn key(name: &str, labels: &[(&str, &str)]) -> Key {
    (
        name.to_owned(),
        labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    )
}

/// The value of one series, failing with the whole scrape when it is missing.
pub fn value(samples: &BTreeMap<Key, f64>, name: &str, labels: &[(&str, &str)]) -> f64 {
    *samples
        .get(&key(name, labels))
        .unwrap_or_else(|| panic!("no {name}{labels:?} in:\n{samples:#?}"))
}

pub async fn scrape(app: &Router) -> (String, BTreeMap<Key, f64>) {
    let (status, body, headers) = get(app, "/metrics").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap_or_default()
            .starts_with("text/plain; version=0.0.4"),
        "{headers:?}"
    );
    let text = String::from_utf8(body).expect("utf-8");
    let parsed = samples(&text);
    (text, parsed)
}

/// Without the response cache: these tests count operations executed.
fn settings(refresh: Duration, max_operation_names: usize) -> api::http::Settings {
    let mut settings = crate::support::uncached_settings();
    settings.metrics.refresh = refresh;
    settings.metrics.max_operation_names = max_operation_names;
    settings
}

fn app(db: &TestDb, refresh: Duration) -> Router {
    api::http::router(db.conn.clone(), settings(refresh, 200)).expect("router")
}

fn unix(at: chrono::DateTime<chrono::Utc>) -> f64 {
    at.timestamp() as f64
}

/// Runs as collectors record them: `aws`/`o-1` succeeded (3 accounts seen), then failed;
/// `gcp`/`organizations/1` succeeded, then one started and is still going.
async fn record_runs(db: &TestDb) {
    let ok = start_run(&db.conn, "aws", "1", "o-1", t(0))
        .await
        .expect("run");
    let accounts = vec![
        account(Provider::Aws, "111111111111", "payments", "o-1/r-1"),
        account(Provider::Aws, "222222222222", "search", "o-1/r-1"),
        account(Provider::Gcp, "projects/1", "data", "organizations/1"),
    ];
    let counts = upsert_accounts(&db.conn, &WriteContext::run(ok.id, t(0)), accounts)
        .await
        .expect("write");
    let outcome = |status, counts, error: Option<&str>| RunOutcome {
        status,
        counts,
        pages: 1,
        request_ids: Vec::new(),
        error: error.map(str::to_owned),
    };
    finish_run(
        &db.conn,
        ok.id,
        outcome(RunStatus::Succeeded, counts, None),
        t(2),
    )
    .await
    .expect("finish");
    let failed = start_run(&db.conn, "aws", "1", "o-1", t(15))
        .await
        .expect("run");
    finish_run(
        &db.conn,
        failed.id,
        outcome(
            RunStatus::Failed,
            WriteCounts::default(),
            Some("429 throttled"),
        ),
        t(16),
    )
    .await
    .expect("finish");

    let gcp = start_run(&db.conn, "gcp", "1", "organizations/1", t(5))
        .await
        .expect("run");
    let read = WriteCounts {
        created: 3,
        unchanged: 1,
        ..WriteCounts::default()
    };
    finish_run(
        &db.conn,
        gcp.id,
        outcome(RunStatus::Succeeded, read, None),
        t(6),
    )
    .await
    .expect("finish");
    let running = start_run(&db.conn, "gcp", "1", "organizations/1", t(20))
        .await
        .expect("run");
    // Two pages in, 1,500 projects seen so far.
    let counts = entity::write::WriteCounts {
        created: 1_000,
        unchanged: 500,
        ..Default::default()
    };
    entity::run::record_progress(&db.conn, running.id, counts, 2)
        .await
        .expect("progress");
}

const NAMED: &str = "query Accounts { accounts(first: 5) { totalCount } }";
const ANONYMOUS: &str = "{ monitoringEndpoints(first: 5) { totalCount } }";
const WRITE: &str = r#"mutation Seed { upsertMonitoringEndpoint(input: {
    id: "prom-metrics", kind: PROMETHEUS, url: "https://prom.example.com" }) { outcome } }"#;

async fn scrape_after_traffic_and_runs(db: &TestDb) {
    record_runs(db).await;
    write_endpoints(
        db,
        vec![
            endpoint(
                "prom-a",
                EndpointKind::Prometheus,
                EndpointStatus::Up,
                "http://a:9090",
            ),
            endpoint(
                "prom-b",
                EndpointKind::Prometheus,
                EndpointStatus::Up,
                "http://b:9090",
            ),
            endpoint(
                "graf-a",
                EndpointKind::Grafana,
                EndpointStatus::Down,
                "http://g:3000",
            ),
        ],
    )
    .await;
    let app = app(db, Duration::ZERO);

    for _ in 0..2 {
        assert!(gql(&app, NAMED, json!({})).await.get("errors").is_none());
    }
    assert!(
        gql(&app, ANONYMOUS, json!({}))
            .await
            .get("errors")
            .is_none()
    );
    // Anonymous callers may read, never write.
    let refused = gql(&app, WRITE, json!({})).await;
    assert_eq!(
        refused["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
        "{refused}"
    );
    let malformed = gql(&app, "query Broken { accounts(first: ", json!({})).await;
    assert!(malformed.get("errors").is_some());
    let (status, _, _) = get(&app, "/nowhere").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _) = get(&app, "/healthz").await;
    assert_eq!(status, StatusCode::OK);

    let (_, s) = scrape(&app).await;

    // HTTP, by route template.
    let post = [("method", "POST"), ("route", "/graphql"), ("status", "200")];
    assert_eq!(value(&s, "inventory_http_requests_total", &post), 5.0);
    let unmatched = [("method", "GET"), ("route", "unmatched"), ("status", "404")];
    assert_eq!(value(&s, "inventory_http_requests_total", &unmatched), 1.0);
    let health = [("method", "GET"), ("route", "/healthz"), ("status", "200")];
    assert_eq!(value(&s, "inventory_http_requests_total", &health), 1.0);
    let latency = [("method", "POST"), ("route", "/graphql")];
    assert_eq!(
        value(
            &s,
            "inventory_http_request_duration_seconds_count",
            &latency
        ),
        5.0
    );
    let slowest = [("method", "POST"), ("route", "/graphql"), ("le", "+Inf")];
    assert_eq!(
        value(
            &s,
            "inventory_http_request_duration_seconds_bucket",
            &slowest
        ),
        5.0
    );
    assert!(value(&s, "inventory_http_request_duration_seconds_sum", &latency) > 0.0);
    // The scrape itself is the one request in flight.
    assert_eq!(value(&s, "inventory_http_requests_in_flight", &[]), 1.0);

    // GraphQL, by operation and outcome; errors by code.
    let ops = "inventory_graphql_operations_total";
    let op = |name, kind, outcome| [("operation", name), ("type", kind), ("outcome", outcome)];
    assert_eq!(value(&s, ops, &op("Accounts", "query", "success")), 2.0);
    assert_eq!(value(&s, ops, &op("__anonymous", "query", "success")), 1.0);
    // A name is admitted as a label only once its operation succeeds: the refused
    // mutation is counted, under `__other`.
    assert_eq!(value(&s, ops, &op("__other", "mutation", "error")), 1.0);
    // A document that does not parse has no operation to name.
    assert_eq!(value(&s, ops, &op("__other", "unknown", "error")), 1.0);
    let errors = "inventory_graphql_errors_total";
    assert_eq!(value(&s, errors, &[("code", "UNAUTHENTICATED")]), 1.0);
    assert_eq!(value(&s, errors, &[("code", "BAD_USER_INPUT")]), 1.0);

    // Database pool and statements.
    // An in-memory SQLite database lives in its one connection; the test Postgres pool has 4.
    let max = match db.conn.get_database_backend() {
        sea_orm::DbBackend::Sqlite => 1.0,
        _ => f64::from(db.options.max_connections),
    };
    assert_eq!(value(&s, "inventory_db_pool_max_connections", &[]), max);
    let open = value(&s, "inventory_db_pool_connections", &[("state", "idle")])
        + value(&s, "inventory_db_pool_connections", &[("state", "in_use")]);
    assert!(open >= 1.0, "{open}");
    assert!(value(&s, "inventory_db_statement_duration_seconds_count", &[]) >= 5.0);
    assert_eq!(
        value(&s, "inventory_db_pool_acquire_timeouts_total", &[]),
        0.0
    );

    // The inventory.
    let accounts = "inventory_cloud_accounts";
    assert_eq!(
        value(&s, accounts, &[("provider", "aws"), ("status", "active")]),
        2.0
    );
    assert_eq!(
        value(&s, accounts, &[("provider", "gcp"), ("status", "active")]),
        1.0
    );
    let endpoints = "inventory_monitoring_endpoints";
    assert_eq!(
        value(&s, endpoints, &[("kind", "prometheus"), ("status", "up")]),
        2.0
    );
    assert_eq!(
        value(&s, endpoints, &[("kind", "grafana"), ("status", "down")]),
        1.0
    );

    // Freshness, per collector and scope.
    let aws = [("collector", "aws"), ("scope", "o-1")];
    let gcp = [("collector", "gcp"), ("scope", "organizations/1")];
    let fresh = |name: &str, labels: &[(&str, &str)]| value(&s, name, labels);
    assert_eq!(
        fresh("inventory_collector_last_success_timestamp_seconds", &aws),
        unix(t(2))
    );
    assert_eq!(
        fresh("inventory_collector_last_run_timestamp_seconds", &aws),
        unix(t(15))
    );
    assert_eq!(
        fresh("inventory_collector_last_run_duration_seconds", &aws),
        60.0
    );
    assert_eq!(fresh("inventory_collector_last_run_success", &aws), 0.0);
    assert_eq!(fresh("inventory_collector_last_run_items", &aws), 0.0);
    let runs = "inventory_collector_runs_total";
    assert_eq!(
        value(&s, runs, &[aws[0], aws[1], ("status", "succeeded")]),
        1.0
    );
    assert_eq!(
        value(&s, runs, &[aws[0], aws[1], ("status", "failed")]),
        1.0
    );
    assert!(!s.contains_key(&key(
        "inventory_collector_running_since_timestamp_seconds",
        &aws
    )));

    assert_eq!(
        fresh("inventory_collector_last_success_timestamp_seconds", &gcp),
        unix(t(6))
    );
    assert_eq!(
        fresh("inventory_collector_last_run_timestamp_seconds", &gcp),
        unix(t(20))
    );
    assert_eq!(
        fresh("inventory_collector_running_since_timestamp_seconds", &gcp),
        unix(t(20))
    );
    // How far the running one has got.
    assert_eq!(fresh("inventory_collector_running_items", &gcp), 1_500.0);
    assert_eq!(fresh("inventory_collector_running_pages", &gcp), 2.0);
    assert!(!s.contains_key(&key("inventory_collector_running_items", &aws)));
    // The latest finished run is the one that counts for duration and outcome.
    assert_eq!(
        fresh("inventory_collector_last_run_duration_seconds", &gcp),
        60.0
    );
    assert_eq!(fresh("inventory_collector_last_run_success", &gcp), 1.0);
    // A running run is not counted as finished.
    assert_eq!(
        value(&s, runs, &[gcp[0], gcp[1], ("status", "succeeded")]),
        1.0
    );
    assert!(!s.contains_key(&key(runs, &[gcp[0], gcp[1], ("status", "running")])));

    assert_eq!(fresh("inventory_collector_last_run_items", &gcp), 4.0);
}

/// Between refreshes a scrape is served from the snapshot: new rows show up only once the
/// interval has passed, however often Prometheus scrapes.
async fn inventory_series_are_cached_between_refreshes(db: &TestDb) {
    let gauge = "inventory_cloud_accounts";
    let aws = [("provider", "aws"), ("status", "active")];
    crate::support::write_accounts(
        db,
        t(0),
        vec![account(
            Provider::Aws,
            "111111111111",
            "payments",
            "o-1/r-1",
        )],
    )
    .await;
    let cached = app(db, Duration::from_secs(3600));
    let live = app(db, Duration::ZERO);
    assert_eq!(value(&scrape(&cached).await.1, gauge, &aws), 1.0);

    crate::support::write_accounts(
        db,
        t(1),
        vec![account(Provider::Aws, "222222222222", "search", "o-1/r-1")],
    )
    .await;
    assert_eq!(
        value(&scrape(&cached).await.1, gauge, &aws),
        1.0,
        "served from the snapshot"
    );
    assert_eq!(
        value(&scrape(&live).await.1, gauge, &aws),
        2.0,
        "read again"
    );
}

/// Clients choose operation names; past the cap they are counted together.
async fn operation_names_are_capped(db: &TestDb) {
    let app = api::http::router(db.conn.clone(), settings(Duration::ZERO, 2)).expect("router");
    for name in ["First", "Second", "Third", "Fourth", "First"] {
        let query = format!("query {name} {{ accounts(first: 1) {{ totalCount }} }}");
        assert!(gql(&app, &query, json!({})).await.get("errors").is_none());
    }
    let (_, s) = scrape(&app).await;
    let ops = "inventory_graphql_operations_total";
    let op = |name| {
        [
            ("operation", name),
            ("type", "query"),
            ("outcome", "success"),
        ]
    };
    assert_eq!(value(&s, ops, &op("First")), 2.0);
    assert_eq!(value(&s, ops, &op("Second")), 1.0);
    assert_eq!(value(&s, ops, &op("__other")), 2.0);
    assert!(!s.contains_key(&key(ops, &op("Third"))));
}

/// One caller cannot use up the label budget: only names of operations that succeeded are
/// admitted, and each caller admits at most 20 of them.
async fn one_caller_cannot_use_up_the_names(db: &TestDb) {
    let app = api::http::router(db.conn.clone(), settings(Duration::ZERO, 200)).expect("router");
    let failing = gql(&app, "query Failing { nope }", json!({})).await;
    assert!(failing.get("errors").is_some());
    for i in 0..25 {
        let query = format!("query Made{i} {{ __typename }}");
        assert!(gql(&app, &query, json!({})).await.get("errors").is_none());
    }
    let (_, s) = scrape(&app).await;
    let ops = "inventory_graphql_operations_total";
    let named = |name: &str, outcome: &str| {
        s.contains_key(&key(
            ops,
            &[("operation", name), ("type", "query"), ("outcome", outcome)],
        ))
    };
    assert!(
        !named("Failing", "error"),
        "a failing operation named a series"
    );
    assert!(named("__other", "error"));
    let admitted = (0..25)
        .filter(|i| named(&format!("Made{i}"), "success"))
        .count();
    assert_eq!(admitted, 20);
    assert_eq!(
        value(
            &s,
            ops,
            &[
                ("operation", "__other"),
                ("type", "query"),
                ("outcome", "success")
            ]
        ),
        5.0
    );
}

entity::on_both_backends!(
    scrape_after_traffic_and_runs,
    inventory_series_are_cached_between_refreshes,
    one_caller_cannot_use_up_the_names,
    operation_names_are_capped
);

/// A scrape with every family present: runs of every kind, assets, traffic and an error.
async fn full_scrape() -> String {
    let db = TestDb::sqlite().await;
    record_runs(&db).await;
    write_endpoints(
        &db,
        vec![endpoint(
            "prom-a",
            EndpointKind::Prometheus,
            EndpointStatus::Up,
            "http://a:9090",
        )],
    )
    .await;
    let app = app(&db, Duration::ZERO);
    gql(&app, NAMED, json!({})).await;
    gql(&app, WRITE, json!({})).await;
    let (text, _) = scrape(&app).await;
    db.finish().await;
    text
}

/// `promtool check metrics` (Debian's `prometheus` package) finds nothing to complain about:
/// names, units, suffixes and help texts follow the conventions. Runs where
/// `INVENTORY_TEST_PROMTOOL` names the binary; `.ci/run` sets it.
#[tokio::test]
async fn promtool_accepts_the_scrape() {
    let Ok(promtool) = std::env::var("INVENTORY_TEST_PROMTOOL") else {
        eprintln!("note: INVENTORY_TEST_PROMTOOL is not set; promtool check metrics skipped");
        return;
    };
    let text = full_scrape().await;
    use std::io::Write;
    let mut child = std::process::Command::new(&promtool)
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run promtool");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("write the scrape");
    let output = child.wait_with_output().expect("promtool finishes");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{said}\n{text}");
    assert!(said.trim().is_empty(), "promtool complained:\n{said}");
}

/// Every `inventory_*` series named in the shipped alert rules and dashboard is one the API
/// exports, so a renamed metric cannot silently blind an alert.
#[tokio::test]
async fn alerts_and_dashboard_use_exported_series() {
    let text = full_scrape().await;
    let families: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split(' ').next())
        .collect();
    let deploy = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy");
    let files = [
        deploy.join("prometheus/alerts.yaml"),
        deploy.join("grafana/asset-inventory-dashboard.json"),
    ];
    for file in files {
        let body = std::fs::read_to_string(&file)
            .unwrap_or_else(|err| panic!("{}: {err}", file.display()));
        let mut used = 0;
        for (at, _) in body.match_indices("inventory_") {
            // Recording rules are `inventory:<...>`; only exported names start `inventory_`.
            if body[..at].ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_' || c == ':') {
                continue;
            }
            let name: String = body[at..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            let family = ["_bucket", "_count", "_sum"]
                .iter()
                .find_map(|suffix| name.strip_suffix(suffix))
                .unwrap_or(&name);
            assert!(
                families.contains(&family),
                "{} uses {name}, which /metrics does not export",
                file.display()
            );
            used += 1;
        }
        assert!(used > 5, "{} names hardly any series", file.display());
    }
}

/// The dashboard is valid JSON, lets the operator pick the Prometheus data source, and every
/// panel and query uses that choice rather than a data source of the author's Grafana.
#[test]
fn dashboard_datasource_is_templated() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../deploy/grafana/asset-inventory-dashboard.json");
    let text = std::fs::read_to_string(&path).expect("dashboard");
    let dashboard: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
    let variables = dashboard["templating"]["list"]
        .as_array()
        .expect("variables");
    assert!(variables.iter().any(|v| v["name"] == "datasource"
        && v["type"] == "datasource"
        && v["query"] == "prometheus"));
    let panels = dashboard["panels"].as_array().expect("panels");
    let mut queries = 0;
    for panel in panels.iter().filter(|p| p["type"] != "row") {
        assert_eq!(panel["datasource"]["uid"], "${datasource}", "{panel}");
        for target in panel["targets"].as_array().expect("targets") {
            assert_eq!(target["datasource"]["uid"], "${datasource}", "{target}");
            queries += 1;
        }
    }
    assert!(queries >= 15, "{queries} queries");
}
