//! The AWS source against the scale peer (`collectors::peers::organizations`, the AWS
//! Organizations API Reference's protocol with `MaxResults` ≤ 20 and `NextToken`), at a small
//! size: the requests grow with the OUs and the pages, never with a call per account for its
//! place, and every account lands under its OU path.

use collectors::aws::AwsSource;
use collectors::peers::organizations::{ORGANIZATION, ROOT, Shape, account_id, start};
use collectors::runner::run;
use entity::cloud_account;
use entity::enums::RunStatus;
use entity::testing::TestDb;
use sea_orm::{EntityTrait, PaginatorTrait};
use std::time::Duration;

async fn requests_grow_with_ous_and_pages(db: &TestDb) {
    // 30 OUs over three levels, 300 accounts spread over them and the root: 31 parents of
    // fewer than 20 accounts and 20 OUs each.
    let peer = start(Shape {
        accounts: 300,
        ous: 30,
        depth: 3,
        latency: Duration::ZERO,
        rate: None,
        burst: 0.0,
    })
    .await
    .expect("peer");
    let done = run(
        &db.conn,
        &mut AwsSource::new(crate::moto::options(&peer.url)),
        &crate::aws::options(),
    )
    .await
    .expect("run");
    assert_eq!(done.status, RunStatus::Succeeded, "{:?}", done.error);
    assert_eq!((done.seen, done.created), (300, 300));
    let requests = peer.stats().requests;
    let count = |op: &str| requests.get(op).copied().unwrap_or(0);
    assert_eq!(count("ListParents"), 0, "{requests:?}");
    assert_eq!(count("DescribeOrganizationalUnit"), 0, "{requests:?}");
    assert_eq!(
        count("ListOrganizationalUnitsForParent"),
        31,
        "{requests:?}"
    );
    assert_eq!(count("ListAccountsForParent"), 31, "{requests:?}");
    assert_eq!(count("ListAccounts"), 15, "{requests:?}");
    assert_eq!(count("ListTagsForResource"), 300, "{requests:?}");
    assert_eq!(
        cloud_account::Entity::find()
            .count(&db.conn)
            .await
            .expect("count"),
        300
    );
    // An account on the third level: the organization, the root and three OUs above it.
    let deep = peer
        .ous_at(2)
        .first()
        .cloned()
        .expect("an OU on the third level");
    let stored = cloud_account::Entity::find()
        .all(&db.conn)
        .await
        .expect("read");
    let under = stored
        .iter()
        .find(|a| a.parent.as_deref() == Some(deep.as_str()))
        .expect("an account under it");
    assert_eq!(under.ancestors.0.len(), 5, "{:?}", under.ancestors);
    assert!(
        under
            .org_path
            .starts_with(&format!("{ORGANIZATION}/{ROOT}/Unit "))
    );
    assert_eq!(
        under
            .tags
            .0
            .get("team")
            .map(String::as_str)
            .map(|t| t.starts_with("team-")),
        Some(true)
    );
    let first = stored
        .iter()
        .find(|a| a.native_id == account_id(0))
        .expect("account 0");
    assert_eq!(first.parent.as_deref(), Some(ROOT));
}

/// A run cut short by its deadline is partial, removes nothing, and the walk behind it makes
/// no further call once the source is gone.
async fn a_run_cut_by_its_deadline_stops_calling(db: &TestDb) {
    let peer = start(Shape {
        accounts: 2_000,
        ous: 40,
        depth: 2,
        latency: Duration::from_millis(50),
        rate: None,
        burst: 0.0,
    })
    .await
    .expect("peer");
    let total = || peer.stats().requests.values().sum::<u64>();
    let mut source = AwsSource::new(crate::moto::options(&peer.url));
    let options = collectors::runner::RunOptions {
        deadline: Duration::from_secs(2),
        ..collectors::runner::RunOptions::default()
    };
    let cut = run(&db.conn, &mut source, &options).await.expect("run");
    assert_ne!(cut.status, RunStatus::Succeeded, "{cut:?}");
    assert_eq!(cut.removed, 0);
    drop(source);
    // Calls in flight when the source went are answered within one latency.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let after = total();
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(total(), after, "the walk went on calling");
}

entity::on_both_backends!(
    requests_grow_with_ous_and_pages,
    a_run_cut_by_its_deadline_stops_calling
);
