//! `history` on accounts and endpoints: a recorded sequence of writes (create, update,
//! remove, restore by collector runs; a manual change by a person) read back newest first,
//! page by page, for a whole list in one query.

use crate::support::{account, data, endpoint, error_code, statements, t};
use entity::enums::{AssetType, EndpointKind, EndpointStatus, Provider};
use entity::run::start_run;
use entity::testing::TestDb;
use entity::write::{WriteContext, upsert_accounts, upsert_endpoints};
use serde_json::{Value, json};

/// `payments`: created (run 1), renamed and tagged (run 2), removed by a complete read that
/// missed it (run 3), seen again (run 4). `search`: created by run 1 and seen ever since.
pub async fn record(db: &TestDb) {
    let payments = |name: &str, team: Option<&str>| {
        let mut record = account(Provider::Aws, "111111111111", name, "o-test/r-root");
        if let Some(team) = team {
            record
                .tags
                .get_or_insert_default()
                .insert("team".into(), team.into());
        }
        record
    };
    let search = || account(Provider::Aws, "222222222222", "search", "o-test/r-root");
    let steps: [(i64, Vec<_>); 4] = [
        (0, vec![payments("payments", None), search()]),
        (15, vec![payments("payments-prod", Some("pay")), search()]),
        (30, vec![search()]),
        (45, vec![payments("payments-prod", Some("pay")), search()]),
    ];
    for (minute, records) in steps {
        crate::support::complete_run(db, "aws", t(minute), records).await;
    }
}

const LIST: &str = r#"query($first: Int, $after: String) {
  accounts(first: 10, filter: { includeRemoved: true }) { nodes { key
    history(first: $first, after: $after) {
      totalCount
      pageInfo { hasNextPage hasPreviousPage endCursor }
      edges { cursor }
      nodes { kind at actor run { collector startedAt } fields { field old new } }
    } } } }"#;

fn kinds(history: &Value) -> Vec<&str> {
    history["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .map(|n| n["kind"].as_str().expect("kind"))
        .collect()
}

fn field<'a>(change: &'a Value, name: &str) -> &'a Value {
    change["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .find(|f| f["field"] == name)
        .unwrap_or_else(|| panic!("no field {name} in {change}"))
}

async fn history_tells_what_happened_newest_first(db: &TestDb) {
    record(db).await;
    let app = crate::support::app(&db.conn);
    let page = data(&app, LIST, json!({ "first": 10 })).await;
    let nodes = page["accounts"]["nodes"].as_array().expect("nodes");
    let payments = &nodes[0]["history"];
    let search = &nodes[1]["history"];
    assert_eq!(nodes[0]["key"], "aws:111111111111");

    assert_eq!(
        kinds(payments),
        ["RESTORED", "REMOVED", "UPDATED", "CREATED"]
    );
    assert_eq!(payments["totalCount"], 4);
    assert_eq!(payments["pageInfo"]["hasNextPage"], false);
    let [restored, removed, updated, created] = [0, 1, 2, 3].map(|i| &payments["nodes"][i]);

    assert_eq!(created["at"], "2026-11-01T12:00:00+00:00");
    assert_eq!(field(created, "name")["old"], Value::Null);
    assert_eq!(field(created, "name")["new"], "payments");
    assert_eq!(created["run"]["collector"], "aws");

    assert_eq!(field(updated, "name")["old"], "payments");
    assert_eq!(field(updated, "name")["new"], "payments-prod");
    assert_eq!(field(updated, "tags")["new"], json!({ "team": "pay" }));
    assert_eq!(updated["run"]["startedAt"], "2026-11-01T12:15:00+00:00");
    assert_eq!(updated["actor"], Value::Null);
    assert!(
        updated["fields"]
            .as_array()
            .expect("fields")
            .iter()
            .all(|f| f["field"] != "status"),
        "unchanged fields are not listed: {updated}"
    );

    assert_eq!(removed["at"], "2026-11-01T12:30:00+00:00");
    assert!(field(removed, "removed_at")["new"].is_string(), "{removed}");
    assert_eq!(restored["at"], "2026-11-01T12:45:00+00:00");
    assert_eq!(field(restored, "removed_at")["new"], Value::Null);

    // Seen unchanged three more times: nothing to tell.
    assert_eq!(kinds(search), ["CREATED"]);
}

async fn history_pages_with_a_cursor(db: &TestDb) {
    record(db).await;
    let app = crate::support::app(&db.conn);
    let first = data(&app, LIST, json!({ "first": 2 })).await;
    let page = &first["accounts"]["nodes"][0]["history"];
    assert_eq!(kinds(page), ["RESTORED", "REMOVED"]);
    assert_eq!(page["pageInfo"]["hasNextPage"], true);
    assert_eq!(page["pageInfo"]["hasPreviousPage"], false);
    let cursor = page["pageInfo"]["endCursor"].clone();
    assert_eq!(page["edges"][1]["cursor"], cursor);

    let next = data(&app, LIST, json!({ "first": 2, "after": cursor })).await;
    let page = &next["accounts"]["nodes"][0]["history"];
    assert_eq!(kinds(page), ["UPDATED", "CREATED"]);
    assert_eq!(page["pageInfo"]["hasNextPage"], false);
    assert_eq!(page["pageInfo"]["hasPreviousPage"], true);
    // The cursor applies to every asset of the list: `search` shows what is older than it.
    let search = &next["accounts"]["nodes"][1]["history"];
    assert_eq!(kinds(search), ["CREATED"]);

    let none = data(&app, LIST, json!({ "first": 0 })).await;
    assert_eq!(
        kinds(&none["accounts"]["nodes"][0]["history"]),
        Vec::<&str>::new()
    );
    assert_eq!(
        none["accounts"]["nodes"][0]["history"]["pageInfo"]["hasNextPage"],
        true
    );

    for (vars, what) in [
        (json!({ "first": -1 }), "negative size"),
        (json!({ "first": 100000 }), "oversized page"),
        (
            json!({ "first": 1, "after": "bm90IGEgY3Vyc29y" }),
            "foreign cursor",
        ),
        (json!({ "first": 1, "after": "***" }), "garbage cursor"),
    ] {
        let (code, message) = error_code(&app, LIST, vars).await;
        assert_eq!(code, "BAD_USER_INPUT", "{what}: {message}");
    }
}

/// A page of accounts with their history costs one statement more than the page without.
async fn history_of_a_page_is_one_query(db: &TestDb) {
    record(db).await;
    for minute in [50, 55] {
        let run = start_run(&db.conn, "aws", "1", "o-test", t(minute))
            .await
            .expect("run")
            .id;
        let records = (0..20)
            .map(|i| {
                account(
                    Provider::Aws,
                    &format!("3000000000{i:02}"),
                    &format!("team-{i}-{minute}"),
                    "o-test/r-root",
                )
            })
            .collect();
        upsert_accounts(&db.conn, &WriteContext::run(run, t(minute)), records)
            .await
            .expect("write");
    }
    let app = crate::support::app(&db.conn);
    let plain = "{ accounts(first: 22) { nodes { key } } }";
    let with_history =
        "{ accounts(first: 22) { nodes { key history(first: 3) { nodes { kind run { id } } } } } }";
    let before = statements(&app).await;
    data(&app, plain, json!({})).await;
    let between = statements(&app).await;
    let page = data(&app, with_history, json!({})).await;
    let after = statements(&app).await;
    let nodes = page["accounts"]["nodes"].as_array().expect("nodes");
    assert_eq!(nodes.len(), 22);
    let last = &nodes[21]["history"];
    assert_eq!(kinds(last), ["UPDATED", "CREATED"]);
    // One statement for the history of all 22 accounts, one for the runs behind them.
    assert_eq!((after - between) - (between - before), 2.0);

    // What their creations wrote, rebuilt for all 22 in two more: their rows, their changes.
    let with_fields = "{ accounts(first: 22) { nodes { key \
        history(first: 3) { nodes { kind run { id } fields { field new } } } } } }";
    let page = data(&app, with_fields, json!({})).await;
    let rebuilt = statements(&app).await;
    assert_eq!((rebuilt - after) - (between - before), 4.0);
    let last = &page["accounts"]["nodes"][21];
    assert_eq!(last["key"], "aws:300000000019");
    let created = &last["history"]["nodes"][1];
    assert_eq!(created["kind"], "CREATED");
    assert_eq!(
        field(created, "name")["new"],
        "team-19-50",
        "before the rename at 55"
    );
    assert_eq!(field(created, "org_path")["new"], "o-test/r-root");
}

/// `prom-a`: seeded by alice (minute 0), moved to another URL (5), retired (10).
async fn seed_moved_and_retired_endpoint(db: &TestDb) {
    let seeded = endpoint(
        "prom-a",
        EndpointKind::Prometheus,
        EndpointStatus::Unknown,
        "https://prom-a.example.com",
    );
    let mut moved = seeded.clone();
    moved.url = "https://prom-a.internal.example.com".into();
    for (minute, record) in [(0, seeded), (5, moved)] {
        upsert_endpoints(
            &db.conn,
            &WriteContext::actor("token:alice", t(minute)),
            vec![record],
        )
        .await
        .expect("write");
    }
    entity::write::remove(
        &db.conn,
        &WriteContext::actor("token:alice", t(10)),
        AssetType::MonitoringEndpoint,
        &["prom-a".to_owned()],
    )
    .await
    .expect("retire");
}

/// A person's change names the person; the endpoint's history is kept like an account's.
async fn endpoint_history_names_the_person(db: &TestDb) {
    seed_moved_and_retired_endpoint(db).await;
    let app = crate::support::app(&db.conn);
    let page = data(
        &app,
        "{ monitoringEndpoints(first: 5, filter: { includeRemoved: true }) { nodes { history { nodes { kind actor run { id } fields { field old new } } } } } }",
        json!({}),
    )
    .await;
    let history = &page["monitoringEndpoints"]["nodes"][0]["history"];
    assert_eq!(kinds(history), ["REMOVED", "UPDATED", "CREATED"]);
    assert_eq!(history["nodes"][0]["actor"], "token:alice");
    let updated = &history["nodes"][1];
    assert_eq!(updated["actor"], "token:alice");
    assert_eq!(updated["run"], Value::Null);
    assert_eq!(
        field(updated, "url")["new"],
        "https://prom-a.internal.example.com"
    );
}

/// Creations recorded before the write path stopped copying their fields into history
/// list them as recorded; `asOf` reads both kinds alike.
async fn a_creation_that_lists_its_fields_shows_them_as_recorded(db: &TestDb) {
    use entity::asset_change::{self, Column};
    use entity::enums::ChangeKind;
    use sea_orm::sea_query::Expr;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    record(db).await;
    let recorded = json!({
        "name": { "old": null, "new": "payments" },
        "org_path": { "old": null, "new": "o-test/r-root" },
    });
    asset_change::Entity::update_many()
        .col_expr(Column::Changes, Expr::value(recorded))
        .filter(Column::AssetId.eq("aws:111111111111"))
        .filter(Column::Kind.eq(ChangeKind::Created))
        .exec(&db.conn)
        .await
        .expect("write an earlier version's creation");
    let app = crate::support::app(&db.conn);
    let page = data(&app, LIST, json!({ "first": 10 })).await;
    let created = &page["accounts"]["nodes"][0]["history"]["nodes"][3];
    assert_eq!(created["kind"], "CREATED");
    assert_eq!(
        created["fields"],
        json!([
            { "field": "name", "old": null, "new": "payments" },
            { "field": "org_path", "old": null, "new": "o-test/r-root" },
        ])
    );
    assert_eq!(account_at(&app, 14).await["name"], "payments");
    assert_eq!(account_at(&app, 15).await["name"], "payments-prod");
}

entity::on_both_backends!(
    history_tells_what_happened_newest_first,
    history_pages_with_a_cursor,
    history_of_a_page_is_one_query,
    endpoint_history_names_the_person,
    a_creation_that_lists_its_fields_shows_them_as_recorded
);

/// History pages count towards a query's cost like any list: a page of pages is refused.
#[tokio::test]
async fn nested_history_pages_count_towards_the_query_cost() {
    let db = TestDb::sqlite().await;
    let app = crate::support::app(&db.conn);
    let (code, message) = error_code(
        &app,
        "{ accounts(first: 500) { nodes { history(first: 500) { nodes { kind at } } } } }",
        json!({}),
    )
    .await;
    assert_eq!(code, "BAD_USER_INPUT", "{message}");
    assert!(message.contains("complex"), "{message}");
}

const AS_OF: &str = r#"query($at: DateTime) {
  account(provider: AWS, nativeId: "111111111111", asOf: $at) {
    key name status removedAt firstSeenAt lastSeenAt tags { key value } } }"#;

async fn account_at(app: &axum::Router, minute: i64) -> Value {
    let at = t(minute).to_rfc3339();
    data(app, AS_OF, json!({ "at": at })).await["account"].clone()
}

/// The account at each moment of the recorded sequence, across its removal and restore.
async fn as_of_rebuilds_the_account_at_any_time(db: &TestDb) {
    record(db).await;
    let app = crate::support::app(&db.conn);
    let at = |minute: i64| account_at(&app, minute);

    assert_eq!(at(-1).await, Value::Null, "it did not exist yet");

    for minute in [0, 14] {
        let then = at(minute).await;
        assert_eq!(then["name"], "payments", "at {minute}");
        assert_eq!(then["tags"], json!([]));
        assert_eq!(then["removedAt"], Value::Null);
        assert_eq!(then["firstSeenAt"], "2026-11-01T12:00:00+00:00");
        assert_eq!(then["lastSeenAt"], t(minute).to_rfc3339());
    }
    for minute in [15, 29] {
        let then = at(minute).await;
        assert_eq!(then["name"], "payments-prod", "at {minute}");
        assert_eq!(then["tags"], json!([{ "key": "team", "value": "pay" }]));
        assert_eq!(then["removedAt"], Value::Null);
    }
    for minute in [30, 44] {
        let then = at(minute).await;
        assert_eq!(then["name"], "payments-prod", "at {minute}");
        assert_eq!(
            then["removedAt"], "2026-11-01T12:30:00+00:00",
            "at {minute}"
        );
    }
    let restored = at(45).await;
    assert_eq!(restored["removedAt"], Value::Null);
    assert_eq!(restored["name"], "payments-prod");

    // Far in the future: the present, and the same as without asOf.
    let later = at(60 * 24 * 365).await;
    let now = data(&app, AS_OF, json!({})).await["account"].clone();
    assert_eq!(later, now);

    let (code, _) = error_code(&app, AS_OF, json!({ "at": "last tuesday" })).await;
    assert_eq!(code, "BAD_USER_INPUT");
}

/// An endpoint's past, including what a person changed and its retirement.
async fn as_of_rebuilds_the_endpoint(db: &TestDb) {
    seed_moved_and_retired_endpoint(db).await;
    let app = crate::support::app(&db.conn);
    let list = data(
        &app,
        "{ monitoringEndpoints(filter: { includeRemoved: true }) { nodes { id } } }",
        json!({}),
    )
    .await;
    let id = list["monitoringEndpoints"]["nodes"][0]["id"].clone();
    let query = "query($id: ID!, $at: DateTime) { monitoringEndpoint(id: $id, asOf: $at) { url removedAt } }";
    let at = |minute: i64| {
        let app = app.clone();
        let id = id.clone();
        async move {
            data(
                &app,
                query,
                json!({ "id": id, "at": t(minute).to_rfc3339() }),
            )
            .await["monitoringEndpoint"]
                .clone()
        }
    };
    assert_eq!(at(-1).await, Value::Null);
    assert_eq!(at(4).await["url"], "https://prom-a.example.com");
    assert_eq!(at(5).await["url"], "https://prom-a.internal.example.com");
    assert_eq!(at(9).await["removedAt"], Value::Null);
    let retired = at(10).await;
    assert_eq!(retired["removedAt"], "2026-11-01T12:10:00+00:00");
    assert_eq!(retired["url"], "https://prom-a.internal.example.com");
}

entity::on_both_backends!(
    as_of_rebuilds_the_account_at_any_time,
    as_of_rebuilds_the_endpoint
);
