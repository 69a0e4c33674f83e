//! `changes`: the whole inventory's history in commit order, paged by cursor, filtered; and
//! on PostgreSQL, two concurrent writers whose ids and commits cross: a cursor handed out
//! while one of them is still open never skips its change.

use crate::support::{data, error_code, t};
use entity::asset_change;
use entity::enums::{AssetType, ChangeKind};
use entity::testing::TestDb;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait, PaginatorTrait, TransactionTrait};
use serde_json::{Value, json};

const FEED: &str = r#"query($after: String, $first: Int, $filter: ChangeFilter) {
  changes(after: $after, first: $first, filter: $filter) {
    edges { cursor node { assetType assetKey kind at } }
    pageInfo { hasNextPage endCursor }
  } }"#;

/// Pages through the feed from `after` with pages of `first`; returns every change seen as
/// `kind assetKey` and the last cursor.
async fn read_all(
    app: &axum::Router,
    after: Value,
    first: i64,
    filter: Value,
) -> (Vec<String>, Value) {
    let mut seen = Vec::new();
    let mut cursor = after;
    loop {
        let page = data(
            app,
            FEED,
            json!({ "after": cursor, "first": first, "filter": filter }),
        )
        .await;
        let changes = &page["changes"];
        let edges = changes["edges"].as_array().expect("edges");
        if let Some(last) = edges.last() {
            // An edge's cursor is its change's position, as `endCursor` is.
            assert_eq!(last["cursor"], changes["pageInfo"]["endCursor"]);
        }
        for edge in edges {
            let node = &edge["node"];
            seen.push(format!(
                "{} {}",
                node["kind"].as_str().expect("kind"),
                node["assetKey"].as_str().expect("key")
            ));
        }
        cursor = changes["pageInfo"]["endCursor"].clone();
        if changes["pageInfo"]["hasNextPage"] == false {
            return (seen, cursor);
        }
    }
}

/// Waits until every committed change is in the feed. On PostgreSQL the feed waits for every
/// transaction of the server that is still open, including other tests' (the tests of one
/// run share a server), so a change may show up a moment after its commit; it is never
/// skipped.
async fn settle(app: &axum::Router, db: &TestDb) {
    let stored = asset_change::Entity::find()
        .count(&db.conn)
        .await
        .expect("count");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let (visible, _) = read_all(app, Value::Null, 500, Value::Null).await;
        if visible.len() as u64 == stored {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the feed shows {} of {stored} committed changes",
            visible.len()
        );
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
}

async fn feed_pages_through_every_change_in_order(db: &TestDb) {
    let app = crate::support::app(&db.conn);
    let head = || async { data(&app, "{ changesHead }", Value::Null).await["changesHead"].clone() };
    assert_eq!(head().await, Value::Null, "no change yet");
    crate::history::record(db).await;
    settle(&app, db).await;
    let (all, end) = read_all(&app, Value::Null, 2, Value::Null).await;
    // The head is where a full read ends, without reading.
    assert_eq!(head().await, end);
    assert_eq!(
        all,
        [
            "CREATED aws:111111111111",
            "CREATED aws:222222222222",
            "UPDATED aws:111111111111",
            "REMOVED aws:111111111111",
            "RESTORED aws:111111111111",
        ]
    );
    assert_eq!(
        all.len() as u64,
        asset_change::Entity::find()
            .count(&db.conn)
            .await
            .expect("count")
    );

    // Nothing new: the same cursor comes back, so a poller keeps its place.
    let page = data(&app, FEED, json!({ "after": end, "first": 10 })).await;
    assert_eq!(page["changes"]["edges"], json!([]));
    assert_eq!(page["changes"]["pageInfo"]["endCursor"], end);
    assert_eq!(page["changes"]["pageInfo"]["hasNextPage"], false);

    // A new change shows up after the kept cursor, and only it.
    let run = entity::run::start_run(&db.conn, "aws", "1", "o-test", t(60))
        .await
        .expect("run")
        .id;
    entity::write::upsert_accounts(
        &db.conn,
        &entity::write::WriteContext::run(run, t(60)),
        vec![crate::support::account(
            entity::enums::Provider::Gcp,
            "proj-1",
            "data",
            "organizations/1",
        )],
    )
    .await
    .expect("write");
    settle(&app, db).await;
    let (since, now) = read_all(&app, end, 10, Value::Null).await;
    assert_eq!(since, ["CREATED gcp:proj-1"]);
    assert_eq!(head().await, now);

    let filtered = |filter: Value| {
        let app = app.clone();
        async move { read_all(&app, Value::Null, 10, filter).await.0 }
    };
    assert_eq!(
        filtered(json!({ "kind": ["REMOVED", "RESTORED"] })).await,
        ["REMOVED aws:111111111111", "RESTORED aws:111111111111"]
    );
    assert_eq!(
        filtered(json!({ "provider": ["GCP"] })).await,
        ["CREATED gcp:proj-1"]
    );
    assert_eq!(
        filtered(json!({ "provider": ["AWS"], "kind": ["CREATED"] }))
            .await
            .len(),
        2
    );
    assert_eq!(
        filtered(json!({ "assetType": ["MONITORING_ENDPOINT"] })).await,
        Vec::<String>::new()
    );

    for (vars, what) in [
        (json!({ "after": "bm90LWEtY3Vyc29y" }), "foreign cursor"),
        (json!({ "after": "MTI" }), "cursor without a transaction"),
        (json!({ "first": -1 }), "negative size"),
        (json!({ "first": 1000000 }), "oversized page"),
    ] {
        let (code, message) = error_code(&app, FEED, vars).await;
        assert_eq!(code, "BAD_USER_INPUT", "{what}: {message}");
    }
}

entity::on_both_backends!(feed_pages_through_every_change_in_order);

fn change(key: &str) -> asset_change::ActiveModel {
    asset_change::ActiveModel {
        asset_type: Set(AssetType::CloudAccount),
        asset_id: Set(key.to_owned()),
        run_id: Set(None),
        actor: Set(Some("test".into())),
        at: Set(t(0)),
        kind: Set(ChangeKind::Created),
        changes: Set(json!({})),
        ..Default::default()
    }
}

/// Writer A takes an id, writer B takes a larger one and commits first. Read in between, the
/// feed must not hand out a cursor past B (A would then be skipped); once A commits, both
/// follow the cursor, A first. PostgreSQL only: SQLite has one writer at a time, so its ids
/// cannot commit out of order.
#[tokio::test]
async fn a_cursor_never_skips_a_change_committed_later_with_a_smaller_id() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    // Uncached: the changes are inserted by hand, around the write path that tells the
    // cache of them.
    let app = crate::support::uncached_app(&db.conn);
    change("aws:000000000000")
        .insert(&db.conn)
        .await
        .expect("insert");
    settle(&app, &db).await;
    let (before, kept) = read_all(&app, Value::Null, 10, Value::Null).await;
    assert_eq!(before, ["CREATED aws:000000000000"]);

    let a = db.conn.begin().await.expect("begin A");
    let a_row = change("aws:aaaaaaaaaaaa")
        .insert(&a)
        .await
        .expect("insert A");
    let b = db.conn.begin().await.expect("begin B");
    let b_row = change("aws:bbbbbbbbbbbb")
        .insert(&b)
        .await
        .expect("insert B");
    assert!(a_row.id < b_row.id, "A drew the smaller id");
    b.commit().await.expect("commit B");

    // B is committed and visible, but A, with the smaller id, is still open.
    let (during, cursor) = read_all(&app, kept.clone(), 10, Value::Null).await;
    assert_eq!(during, Vec::<String>::new(), "B must wait for A");
    assert_eq!(cursor, kept, "the cursor stays put");
    let head = data(&app, "{ changesHead }", Value::Null).await;
    assert_eq!(head["changesHead"], kept, "the head does not pass A either");

    a.commit().await.expect("commit A");
    settle(&app, &db).await;
    let (after, _) = read_all(&app, cursor, 10, Value::Null).await;
    assert_eq!(
        after,
        ["CREATED aws:aaaaaaaaaaaa", "CREATED aws:bbbbbbbbbbbb"]
    );
    db.finish().await;
}

/// Each change names its asset as it is now, for a whole page in one query per asset type.
async fn feed_nodes_carry_their_current_asset(db: &TestDb) {
    crate::history::record(db).await;
    let app = crate::support::app(&db.conn);
    settle(&app, db).await;
    let plain = "{ changes(first: 50) { nodes { assetKey } } }";
    let with_assets = r#"{ changes(first: 50) { nodes { assetKey asset {
        __typename ... on CloudAccount { key name removedAt } } } } }"#;
    let before = crate::support::statements(&app).await;
    data(&app, plain, json!({})).await;
    let between = crate::support::statements(&app).await;
    let page = data(&app, with_assets, json!({})).await;
    let after = crate::support::statements(&app).await;
    assert_eq!(
        (after - between) - (between - before),
        1.0,
        "one query for five changes"
    );

    let nodes = page["changes"]["nodes"].as_array().expect("nodes");
    assert_eq!(nodes.len(), 5);
    for node in nodes {
        assert_eq!(node["asset"]["__typename"], "CloudAccount");
        assert_eq!(node["asset"]["key"], node["assetKey"]);
    }
    // Even the oldest change shows the asset as it is now.
    assert_eq!(nodes[0]["asset"]["name"], "payments-prod");
    assert_eq!(nodes[0]["asset"]["removedAt"], Value::Null);

    entity::write::upsert_endpoints(
        &db.conn,
        &entity::write::WriteContext::actor("token:alice", t(70)),
        vec![crate::support::endpoint(
            "prom-a",
            entity::enums::EndpointKind::Prometheus,
            entity::enums::EndpointStatus::Unknown,
            "https://prom-a.example.com",
        )],
    )
    .await
    .expect("write");
    settle(&app, db).await;
    let endpoints = data(
        &app,
        r#"{ changes(filter: { assetType: [MONITORING_ENDPOINT] }) { nodes { asset {
            __typename ... on MonitoringEndpoint { url } } } } }"#,
        json!({}),
    )
    .await;
    assert_eq!(
        endpoints["changes"]["nodes"][0]["asset"],
        json!({ "__typename": "MonitoringEndpoint", "url": "https://prom-a.example.com" })
    );
}

entity::on_both_backends!(feed_nodes_carry_their_current_asset);
