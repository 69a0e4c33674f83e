//! Single-object lookups, `node`, provenance through the DataLoader, the summary.

use crate::support::{account, data, endpoint, error_code, t, write_accounts, write_endpoints};
use entity::enums::{EndpointKind, EndpointStatus, Provider, RunStatus};
use entity::run::{RunOutcome, finish_run};
use entity::testing::TestDb;
use entity::write::WriteCounts;
use serde_json::{Value, json};

async fn node_round_trips_every_type(db: &TestDb) {
    let run = write_accounts(
        db,
        t(0),
        vec![account(Provider::Gcp, "proj-1", "Project", "example.com")],
    )
    .await;
    write_endpoints(
        db,
        vec![endpoint(
            "prom-a",
            EndpointKind::Prometheus,
            EndpointStatus::Up,
            "https://p",
        )],
    )
    .await;
    let app = crate::support::app(&db.conn);
    let ids = data(
        &app,
        "{ accounts { nodes { id } } monitoringEndpoints { nodes { id } } collectorRuns { nodes { id } } }",
        json!({}),
    )
    .await;
    let query = r#"query($id: ID!) { node(id: $id) {
        __typename id
        ... on CloudAccount { key nativeId provider }
        ... on MonitoringEndpoint { key kind }
        ... on CollectorRun { collector seen }
    } }"#;
    let account_id = ids["accounts"]["nodes"][0]["id"].clone();
    let node = data(&app, query, json!({ "id": account_id })).await["node"].clone();
    assert_eq!(node["__typename"], "CloudAccount");
    assert_eq!(node["id"], account_id);
    assert_eq!(
        (
            node["key"].as_str(),
            node["nativeId"].as_str(),
            node["provider"].as_str()
        ),
        (Some("gcp:proj-1"), Some("proj-1"), Some("GCP"))
    );

    let endpoint_id = ids["monitoringEndpoints"]["nodes"][0]["id"].clone();
    let node = data(&app, query, json!({ "id": endpoint_id })).await["node"].clone();
    assert_eq!(
        (node["__typename"].as_str(), node["key"].as_str()),
        (Some("MonitoringEndpoint"), Some("prom-a"))
    );

    let run_id = ids["collectorRuns"]["nodes"][0]["id"].clone();
    let node = data(&app, query, json!({ "id": run_id })).await["node"].clone();
    assert_eq!(node["__typename"], "CollectorRun");
    assert_eq!(node["id"], run_id);
    assert!(run > 0);

    // Ids are opaque: none of them shows the native id.
    assert!(!account_id.as_str().unwrap_or_default().contains("proj-1"));
}

async fn lookups_of_missing_things_are_null_and_bad_ids_are_bad_input(db: &TestDb) {
    write_accounts(db, t(0), vec![account(Provider::Aws, "1", "A", "o")]).await;
    let app = crate::support::app(&db.conn);
    let by_native = data(
        &app,
        r#"{ a: account(provider: AWS, nativeId: "1") { key } b: account(provider: AWS, nativeId: "2") { key } }"#,
        json!({}),
    )
    .await;
    assert_eq!(by_native, json!({ "a": { "key": "aws:1" }, "b": null }));

    let ids = data(&app, "{ accounts { nodes { id } } }", json!({})).await;
    let id = ids["accounts"]["nodes"][0]["id"].clone();
    let by_id = data(
        &app,
        "query($id: ID) { account(id: $id) { key } }",
        json!({ "id": id }),
    )
    .await;
    assert_eq!(by_id["account"]["key"], "aws:1");

    for (query, vars) in [
        (
            "query($id: ID!) { node(id: $id) { id } }",
            json!({ "id": "garbage!" }),
        ),
        (
            "query($id: ID) { account(id: $id) { key } }",
            json!({ "id": "Q2xvdWRBY2NvdW50" }),
        ),
        ("{ account { key } }", json!({})),
        (r#"{ account(provider: AWS) { key } }"#, json!({})),
        // An endpoint id where an account id belongs.
        (
            "query($id: ID!) { monitoringEndpoint(id: $id) { key } }",
            json!({ "id": id }),
        ),
        ("{ accounts(first: ) { totalCount } }", json!({})),
        ("{ accounts { noSuchField } }", json!({})),
    ] {
        let (code, message) = error_code(&app, query, vars.clone()).await;
        assert_eq!(code, "BAD_USER_INPUT", "{query} {vars}: {message}");
    }
}

async fn last_run_resolves_in_one_query_per_page(db: &TestDb) {
    // Twenty accounts written by five different runs.
    for batch in 0..5 {
        let records = (0..4)
            .map(|i| account(Provider::Aws, &format!("{batch}{i}"), "A", "o"))
            .collect();
        write_accounts(db, t(batch), records).await;
    }
    let app = crate::support::app(&db.conn);
    let nodes = page_with_runs(
        &app,
        "{ accounts(first: 20) { nodes { key } } }",
        "{ accounts(first: 20) { nodes { key lastRun { id collector startedAt status } } } }",
    )
    .await;
    assert_eq!(nodes.len(), 20);
    assert!(nodes.iter().all(|n| n["lastRun"]["collector"] == "test"));
    let distinct: std::collections::HashSet<_> =
        nodes.iter().map(|n| n["lastRun"]["id"].clone()).collect();
    assert_eq!(distinct.len(), 5);
    // So do a lookup's, whose rows are built one after another; on a service of its own, so
    // that no run is already cached from the page above.
    let app = crate::support::app(&db.conn);
    const LOOKUP: &str =
        r#"lookup(annotation: { key: "amazonaws.com/organization-id", value: "root" }, first: 20)"#;
    let nodes = page_with_runs(
        &app,
        &format!("{{ {LOOKUP} {{ nodes {{ ... on CloudAccount {{ key }} }} }} }}"),
        &format!(
            "{{ {LOOKUP} {{ nodes {{ __typename ... on CloudAccount {{ key lastRun {{ id }} }} }} }} }}"
        ),
    )
    .await;
    assert_eq!(nodes.len(), 20);
    let distinct: std::collections::HashSet<_> =
        nodes.iter().map(|n| n["lastRun"]["id"].clone()).collect();
    assert_eq!(distinct.len(), 5);
    // A single account has no page to prime the loader: its run loads by itself.
    let one = data(
        &app,
        r#"{ account(provider: AWS, nativeId: "00") { lastRun { collector } } }"#,
        json!({}),
    )
    .await;
    assert_eq!(one["account"]["lastRun"]["collector"], "test");

    // Endpoint pages too: nine endpoints probed by three runs.
    for batch in 0..3 {
        let records = (0..3)
            .map(|i| {
                let id = format!("e{batch}{i}");
                endpoint(
                    &id,
                    EndpointKind::Prometheus,
                    EndpointStatus::Up,
                    &format!("http://{id}:9090"),
                )
            })
            .collect();
        write_endpoints(db, records).await;
    }
    let nodes = page_with_runs(
        &app,
        "{ monitoringEndpoints(first: 20) { nodes { key } } }",
        "{ monitoringEndpoints(first: 20) { nodes { key lastRun { id collector } } } }",
    )
    .await;
    assert_eq!(nodes.len(), 9);
    assert!(
        nodes
            .iter()
            .all(|n| n["lastRun"]["collector"] == "test-probe")
    );
    let distinct: std::collections::HashSet<_> =
        nodes.iter().map(|n| n["lastRun"]["id"].clone()).collect();
    assert_eq!(distinct.len(), 3);
}

/// A page's rows name the same few runs, loaded once for the page: still, every row shows its
/// own run, and every selection of it (aliases, a fragment, `edges` beside `nodes`) its own
/// fields.
async fn rows_sharing_runs_keep_their_own_run_and_fields(db: &TestDb) {
    for batch in 0..3 {
        let records = (0..3)
            .map(|i| account(Provider::Aws, &format!("{batch}{i}"), "A", "o"))
            .collect();
        write_accounts(db, t(batch), records).await;
    }
    let app = crate::support::app(&db.conn);
    let runs = data(
        &app,
        "{ collectorRuns { nodes { id collector status startedAt } } }",
        json!({}),
    )
    .await["collectorRuns"]["nodes"]
        .as_array()
        .cloned()
        .expect("runs");
    assert_eq!(runs.len(), 3);
    let run_at = |batch: i64| {
        runs.iter()
            .find(|r| r["startedAt"] == t(batch).to_rfc3339())
            .cloned()
            .expect("a run per batch")
    };
    let page = data(
        &app,
        r#"{ accounts(first: 20) {
            nodes { nativeId a: lastRun { startedAt } b: lastRun { collector status } ...run }
            edges { node { nativeId lastRun { id } } } } }
        fragment run on CloudAccount { lastRun { id startedAt } }"#,
        json!({}),
    )
    .await;
    let nodes = page["accounts"]["nodes"].as_array().expect("nodes");
    let edges = page["accounts"]["edges"].as_array().expect("edges");
    assert_eq!(nodes.len(), 9);
    for (node, edge) in nodes.iter().zip(edges) {
        let native = node["nativeId"].as_str().expect("native id");
        let batch: i64 = native[..1].parse().expect("batch digit");
        let run = run_at(batch);
        aliased_runs_are_their_own(node, &run, native);
        assert_eq!(
            node["lastRun"],
            json!({ "id": run["id"], "startedAt": run["startedAt"] }),
            "{native}"
        );
        assert_eq!(edge["node"]["nativeId"], native);
        assert_eq!(
            edge["node"]["lastRun"],
            json!({ "id": run["id"] }),
            "{native}"
        );
    }
    // Without the fragment: still each row its own run, each selection its own fields.
    let page = data(
        &app,
        "{ accounts(first: 20) { nodes { nativeId a: lastRun { startedAt } \
         b: lastRun { collector status } } } }",
        json!({}),
    )
    .await;
    let nodes = page["accounts"]["nodes"].as_array().expect("nodes");
    assert_eq!(nodes.len(), 9);
    for node in nodes {
        let native = node["nativeId"].as_str().expect("native id");
        let run = run_at(native[..1].parse().expect("batch digit"));
        aliased_runs_are_their_own(node, &run, native);
    }
}

/// A node's two aliased `lastRun` selections (`a`, `b`) each hold their own fields of its run.
fn aliased_runs_are_their_own(node: &Value, run: &Value, native: &str) {
    assert_eq!(
        node["a"],
        json!({ "startedAt": run["startedAt"] }),
        "{native}"
    );
    assert_eq!(
        node["b"],
        json!({ "collector": run["collector"], "status": run["status"] }),
        "{native}"
    );
}

/// Finished runs are kept across requests (`FinishedRuns`): a page whose runs have all
/// finished reads no run again. A run still going is read by every request, so its finishing
/// shows at once.
async fn finished_runs_are_kept_and_running_ones_read_again(db: &TestDb) {
    let records = (0..3)
        .map(|i| account(Provider::Aws, &format!("{i}"), "A", "o"))
        .collect();
    let run = write_accounts(db, t(0), records).await;
    let app = crate::support::uncached_app(&db.conn);
    let query = "{ accounts(first: 5) { nodes { lastRun { status seen } } } }";
    let read = |expected: Value| {
        let app = app.clone();
        async move {
            let before = crate::support::statements(&app).await;
            let page = data(&app, query, json!({})).await;
            let after = crate::support::statements(&app).await;
            let nodes = page["accounts"]["nodes"]
                .as_array()
                .cloned()
                .expect("nodes");
            assert_eq!(nodes.len(), 3);
            assert!(nodes.iter().all(|n| n["lastRun"] == expected), "{nodes:?}");
            after - before
        }
    };
    let running = json!({ "status": "RUNNING", "seen": 0 });
    let first = read(running.clone()).await;
    assert_eq!(
        read(running).await,
        first,
        "a running run is read every time"
    );
    let outcome = RunOutcome {
        status: RunStatus::Succeeded,
        counts: WriteCounts {
            created: 3,
            ..WriteCounts::default()
        },
        pages: 1,
        request_ids: Vec::new(),
        error: None,
    };
    finish_run(&db.conn, run, outcome, t(1))
        .await
        .expect("finish");
    let finished = json!({ "status": "SUCCEEDED", "seen": 3 });
    assert_eq!(
        read(finished.clone()).await,
        first,
        "read once more when it finished"
    );
    assert_eq!(
        read(finished).await,
        first - 1.0,
        "a finished run read before takes no statement"
    );
}

/// Runs `plain`, then `with_runs` (the same page asking for `lastRun`), and checks with the
/// application's own statement metric that the runs took one statement, whatever their
/// number; returns the nodes of `with_runs`.
async fn page_with_runs(app: &axum::Router, plain: &str, with_runs: &str) -> Vec<Value> {
    let before = crate::support::statements(app).await;
    let rows = data(app, plain, json!({})).await;
    let between = crate::support::statements(app).await;
    let page = data(app, with_runs, json!({})).await;
    let after = crate::support::statements(app).await;
    assert!(between - before >= 1.0, "the plain page ran no statement?");
    assert_eq!(
        (after - between) - (between - before),
        1.0,
        "runs must load in one batch, not per row: {with_runs}"
    );
    let list = |v: &Value| {
        v.as_object()
            .and_then(|o| o.values().next())
            .and_then(|l| l["nodes"].as_array())
            .cloned()
            .expect("nodes")
    };
    assert_eq!(list(&rows).len(), list(&page).len());
    list(&page)
}

async fn account_fields_resolve_from_the_stored_record(db: &TestDb) {
    let mut record = account(Provider::Azure, "6f1c", "Retail", "Tenant/Corp");
    record.tags = Some(
        [
            ("b".to_owned(), "2".to_owned()),
            ("a".to_owned(), "1".to_owned()),
        ]
        .into(),
    );
    record.raw_status = Some("Warned".into());
    record.region_residency = Some("westeurope".into());
    write_accounts(db, t(0), vec![record]).await;
    let app = crate::support::app(&db.conn);
    let node = data(
        &app,
        r#"{ account(provider: AZURE, nativeId: "6f1c") {
            name orgPath ancestors { id name kind } parent status rawStatus regionResidency
            tags { key value } scope source firstSeenAt lastSeenAt removedAt provenance raw } }"#,
        json!({}),
    )
    .await["account"]
        .clone();
    let at = t(0).to_rfc3339();
    assert_eq!(
        node,
        json!({
            "name": "Retail", "orgPath": "Tenant/Corp",
            "ancestors": [{ "id": "root", "name": "Root", "kind": "root" }], "parent": "root",
            "status": "ACTIVE", "rawStatus": "Warned", "regionResidency": "westeurope",
            "tags": [{ "key": "a", "value": "1" }, { "key": "b", "value": "2" }],
            "scope": "o-test", "source": "test/0", "firstSeenAt": at, "lastSeenAt": at,
            "removedAt": null, "provenance": { "api": "test" }, "raw": { "id": "6f1c" },
        })
    );
}

async fn summary_counts_present_assets_and_latest_runs(db: &TestDb) {
    write_accounts(
        db,
        t(0),
        vec![
            account(Provider::Aws, "1", "A", "o"),
            account(Provider::Gcp, "p", "P", "o"),
        ],
    )
    .await;
    write_accounts(db, t(15), vec![account(Provider::Aws, "2", "B", "o")]).await;
    write_endpoints(
        db,
        vec![
            endpoint(
                "a",
                EndpointKind::Prometheus,
                EndpointStatus::Up,
                "https://a",
            ),
            endpoint(
                "b",
                EndpointKind::Prometheus,
                EndpointStatus::Up,
                "https://b",
            ),
            endpoint(
                "c",
                EndpointKind::Grafana,
                EndpointStatus::Down,
                "https://c",
            ),
        ],
    )
    .await;
    let app = crate::support::app(&db.conn);
    let summary = data(
        &app,
        "{ inventorySummary { accounts { provider status count } endpoints { kind status count } latestRuns { collector scope startedAt } } }",
        json!({}),
    )
    .await["inventorySummary"]
        .clone();
    assert_eq!(
        summary["accounts"],
        json!([
            { "provider": "AWS", "status": "ACTIVE", "count": 2 },
            { "provider": "GCP", "status": "ACTIVE", "count": 1 },
        ])
    );
    assert_eq!(
        summary["endpoints"],
        json!([
            { "kind": "GRAFANA", "status": "DOWN", "count": 1 },
            { "kind": "PROMETHEUS", "status": "UP", "count": 2 },
        ])
    );
    assert_eq!(
        summary["latestRuns"],
        json!([
            { "collector": "test", "scope": "o-test", "startedAt": t(15).to_rfc3339() },
            { "collector": "test-probe", "scope": "probe", "startedAt": t(0).to_rfc3339() },
        ])
    );
}

entity::on_both_backends!(
    node_round_trips_every_type,
    lookups_of_missing_things_are_null_and_bad_ids_are_bad_input,
    last_run_resolves_in_one_query_per_page,
    rows_sharing_runs_keep_their_own_run_and_fields,
    finished_runs_are_kept_and_running_ones_read_again,
    account_fields_resolve_from_the_stored_record,
    summary_counts_present_assets_and_latest_runs,
);
