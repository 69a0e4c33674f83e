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

#[tokio::test]
async fn counts_and_latest_runs_on_sqlite() {
    let db = TestDb::sqlite().await;
    counts_leave_removed_assets_out_and_runs_are_the_newest(&db).await;
    db.finish().await;
}

#[tokio::test]
async fn counts_and_latest_runs_on_postgres() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    counts_leave_removed_assets_out_and_runs_are_the_newest(&db).await;
    db.finish().await;
}
