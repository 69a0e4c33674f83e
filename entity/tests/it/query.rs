use crate::fixtures::{account, endpoint, run, t};
use entity::enums::{AccountStatus, EndpointKind, EndpointStatus, Provider, RunStatus};
use entity::query;
use entity::run::{RunOutcome, finish_run};
use entity::testing::TestDb;
use entity::write::{WriteContext, WriteCounts, remove, upsert_accounts, upsert_endpoints};

async fn finish(db: &TestDb, id: i64, status: RunStatus, at: i64) {
    let outcome = RunOutcome {
        status,
        counts: WriteCounts::default(),
        pages: 1,
        request_ids: Vec::new(),
        error: None,
    };
    finish_run(&db.conn, id, outcome, t(at))
        .await
        .expect("finish");
}

async fn counts_leave_removed_assets_out_and_runs_are_the_newest(db: &TestDb) {
    let first = run(db, "o-one", t(0)).await;
    let mut suspended = account("3", "o-one");
    suspended.status = AccountStatus::Suspended;
    let mut gcp = account("4", "o-one");
    gcp.provider = Provider::Gcp;
    upsert_accounts(
        &db.conn,
        &WriteContext::run(first, t(0)),
        vec![account("1", "o-one"), account("2", "o-one"), suspended, gcp],
    )
    .await
    .expect("write");
    let person = WriteContext::actor("test", t(1));
    remove(
        &db.conn,
        &person,
        entity::enums::AssetType::CloudAccount,
        &["aws:2".into()],
    )
    .await
    .expect("remove");
    upsert_endpoints(&db.conn, &person, vec![endpoint("a"), endpoint("b")])
        .await
        .expect("write");
    finish(db, first, RunStatus::Succeeded, 2).await;
    let failed = run(db, "o-one", t(10)).await;
    finish(db, failed, RunStatus::Failed, 11).await;
    let running = run(db, "o-two", t(12)).await;

    assert_eq!(
        query::account_counts(&db.conn).await.expect("counts"),
        [
            (Provider::Aws, AccountStatus::Active, 1),
            (Provider::Aws, AccountStatus::Suspended, 1),
            (Provider::Gcp, AccountStatus::Active, 1),
        ]
    );
    assert_eq!(
        query::endpoint_counts(&db.conn).await.expect("counts"),
        [(EndpointKind::Prometheus, EndpointStatus::Unknown, 2)]
    );
    assert_eq!(
        query::run_counts(&db.conn).await.expect("counts"),
        [
            ("test".into(), "o-one".into(), RunStatus::Failed, 1),
            ("test".into(), "o-one".into(), RunStatus::Succeeded, 1),
        ]
    );
    let ids = |runs: Vec<entity::collector_run::Model>| -> Vec<i64> {
        runs.into_iter().map(|r| r.id).collect()
    };
    assert_eq!(
        ids(query::latest_runs(&db.conn, &[]).await.expect("runs")),
        [failed, running]
    );
    assert_eq!(
        ids(query::latest_runs(&db.conn, &[RunStatus::Succeeded])
            .await
            .expect("runs")),
        [first]
    );
}

async fn filters_match_on_each_backend(db: &TestDb) {
    use entity::cloud_account::{Column as A, Entity as Accounts};
    use entity::monitoring_endpoint::{Column as E, Entity as Endpoints};
    use entity::query::{Tagged, contains_ci, has_ancestor, has_tag, raw_text_equals};
    use sea_orm::{EntityTrait, QueryFilter, QueryOrder, QuerySelect, sea_query::Expr};
    let run = run(db, "o-one", t(0)).await;
    let mut odd = account("2", "o-one");
    odd.name = "Sale_50%\\off".into();
    odd.tags = Some([("team".to_owned(), "web".to_owned())].into());
    odd.ancestors = Vec::new();
    upsert_accounts(
        &db.conn,
        &WriteContext::run(run, t(0)),
        vec![account("1", "o-one"), odd],
    )
    .await
    .expect("write");
    let mut labelled = endpoint("b");
    labelled.labels = [("env".to_owned(), "dev".to_owned())].into();
    upsert_endpoints(
        &db.conn,
        &WriteContext::actor("test", t(1)),
        vec![endpoint("a"), labelled],
    )
    .await
    .expect("write");
    let backend = db.conn.get_database_backend();
    let accounts = |condition: Expr| {
        let conn = db.conn.clone();
        async move {
            Accounts::find()
                .select_only()
                .column(A::NativeId)
                .filter(condition)
                .order_by_asc(A::Id)
                .into_tuple::<String>()
                .all(&conn)
                .await
                .expect("query")
        }
    };
    let tag = |key: &str, value: Option<&str>| has_tag(backend, Tagged::AccountTags, key, value);
    assert_eq!(accounts(tag("team", Some("payments"))).await, ["1"]);
    assert_eq!(accounts(tag("team", Some("web"))).await, ["2"]);
    assert_eq!(accounts(tag("team", None)).await, ["1", "2"]);
    assert!(accounts(tag("owner", None)).await.is_empty());
    assert_eq!(accounts(has_ancestor(backend, "ou-prod")).await, ["1"]);
    assert!(accounts(has_ancestor(backend, "ou-other")).await.is_empty());
    assert_eq!(accounts(contains_ci(A::Name, "ACCOUNT")).await, ["1"]);
    assert_eq!(accounts(contains_ci(A::Name, "50%\\")).await, ["2"]);
    assert_eq!(accounts(contains_ci(A::Name, "_5")).await, ["2"]);
    assert!(accounts(contains_ci(A::Name, "%%")).await.is_empty());
    assert_eq!(accounts(raw_text_equals(backend, "Id", "2")).await, ["2"]);
    let labelled: Vec<String> = Endpoints::find()
        .select_only()
        .column(E::Id)
        .filter(has_tag(
            backend,
            Tagged::EndpointLabels,
            "env",
            Some("prod"),
        ))
        .into_tuple()
        .all(&db.conn)
        .await
        .expect("query");
    assert_eq!(labelled, ["a"]);
}

async fn the_feed_pages_in_commit_order_from_a_position(db: &TestDb) {
    use entity::query::{feed_head, feed_page};
    use sea_orm::Condition;
    assert!(feed_head(&db.conn).await.expect("head").is_none());
    let run = run(db, "o-one", t(0)).await;
    for batch in 0..3 {
        let records = (0..2)
            .map(|i| account(&format!("{batch}{i}"), "o-one"))
            .collect();
        upsert_accounts(&db.conn, &WriteContext::run(run, t(batch)), records)
            .await
            .expect("write");
    }
    let all = feed_page(&db.conn, None, 100, Condition::all())
        .await
        .expect("feed");
    assert_eq!(all.len(), 6);
    let order: Vec<(i64, i64)> = all.iter().map(|c| (c.tx_id, c.id)).collect();
    let mut sorted = order.clone();
    sorted.sort_unstable();
    assert_eq!(order, sorted);
    let head = feed_head(&db.conn).await.expect("head").expect("a change");
    assert_eq!(Some((head.tx_id, head.id)), order.last().copied());
    let after_two = feed_page(&db.conn, Some(order[1]), 3, Condition::all())
        .await
        .expect("feed");
    assert_eq!(
        after_two
            .iter()
            .map(|c| (c.tx_id, c.id))
            .collect::<Vec<_>>(),
        order[2..5]
    );
    assert!(
        feed_page(&db.conn, order.last().copied(), 10, Condition::all())
            .await
            .expect("feed")
            .is_empty()
    );
}

async fn histories_hold_each_assets_newest_changes(db: &TestDb) {
    use entity::enums::{AssetType, ChangeKind};
    use entity::query::newest_changes;
    let run = run(db, "o-one", t(0)).await;
    for minute in 0..3 {
        let records = ["1", "2"]
            .into_iter()
            .map(|id| {
                let mut record = account(id, "o-one");
                record.name = format!("name {minute}");
                record
            })
            .collect();
        upsert_accounts(&db.conn, &WriteContext::run(run, t(minute)), records)
            .await
            .expect("write");
    }
    let kinds = |changes: &[entity::asset_change::Model], id: &str| -> Vec<ChangeKind> {
        changes
            .iter()
            .filter(|c| c.asset_id == id)
            .map(|c| c.kind)
            .collect()
    };
    let newest = newest_changes(
        &db.conn,
        AssetType::CloudAccount,
        &["aws:1", "aws:2"],
        None,
        2,
    )
    .await
    .expect("history");
    assert_eq!(newest.len(), 4);
    for id in ["aws:1", "aws:2"] {
        assert_eq!(
            kinds(&newest, id),
            [ChangeKind::Updated, ChangeKind::Updated]
        );
    }
    let oldest_shown = newest
        .iter()
        .filter(|c| c.asset_id == "aws:1")
        .map(|c| c.id)
        .min();
    let before = newest_changes(
        &db.conn,
        AssetType::CloudAccount,
        &["aws:1"],
        oldest_shown,
        2,
    )
    .await
    .expect("history");
    assert_eq!(kinds(&before, "aws:1"), [ChangeKind::Created]);
    assert!(
        newest_changes(&db.conn, AssetType::MonitoringEndpoint, &["aws:1"], None, 2)
            .await
            .expect("history")
            .is_empty()
    );
}

/// Every scenario above, each on a fresh database from `fresh` (`None`: the backend is not
/// configured, and is skipped).
async fn each_scenario<F, Fut>(fresh: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Option<TestDb>>,
{
    let Some(db) = fresh().await else { return };
    counts_leave_removed_assets_out_and_runs_are_the_newest(&db).await;
    db.finish().await;
    let Some(db) = fresh().await else { return };
    filters_match_on_each_backend(&db).await;
    db.finish().await;
    let Some(db) = fresh().await else { return };
    the_feed_pages_in_commit_order_from_a_position(&db).await;
    db.finish().await;
    let Some(db) = fresh().await else { return };
    histories_hold_each_assets_newest_changes(&db).await;
    db.finish().await;
}

#[tokio::test]
async fn reads_on_sqlite() {
    each_scenario(|| async { Some(TestDb::sqlite().await) }).await;
}

#[tokio::test]
async fn reads_on_postgres() {
    each_scenario(TestDb::postgres).await;
}
