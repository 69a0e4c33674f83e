//! The AWS source against the scale peer (`collectors::peers::organizations`, the AWS
//! Organizations API Reference's protocol with `MaxResults` ≤ 20 and `NextToken`), at a small
//! size: the requests grow with the OUs and the pages, never with a call per account for its
//! place, and every account lands under its OU path; tags are read within their budget,
//! never-read first, then oldest first; throttling slows a run down without failing it.

use chrono::{DateTime, Utc};
use collectors::aws::AwsSource;
use collectors::peers::organizations::{ORGANIZATION, ROOT, Shape, account_id, start};
use collectors::runner::run;
use entity::cloud_account;
use entity::enums::RunStatus;
use entity::testing::TestDb;
use sea_orm::{EntityTrait, PaginatorTrait};
use std::collections::{HashMap, HashSet};
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
    assert_eq!(count("ListAccounts"), 0, "{requests:?}");
    // Nothing was missed, so nothing is rechecked.
    assert_eq!(count("DescribeAccount"), 0, "{requests:?}");
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

/// A throttled run cut short by its deadline is not a success, removes nothing, and the walk
/// behind it makes no further call once the source is gone.
async fn a_run_cut_by_its_deadline_stops_calling(db: &TestDb) {
    // Two calls, then one every 100 s: the walk is throttled from its first listing on, and
    // its retries outlast the deadline.
    let peer = start(Shape {
        accounts: 2_000,
        ous: 40,
        depth: 2,
        latency: Duration::from_millis(50),
        rate: Some(0.01),
        burst: 2.0,
    })
    .await
    .expect("peer");
    // An account an earlier run stored in this organization: a complete read would remove it.
    let earlier = entity::run::start_run(&db.conn, "aws", "0", ORGANIZATION, chrono::Utc::now())
        .await
        .expect("run");
    let mut stored = crate::lifecycle::account("999999999999", "stored before");
    stored.scope = ORGANIZATION.to_owned();
    entity::write::upsert_accounts(
        &db.conn,
        &entity::write::WriteContext::run(earlier.id, chrono::Utc::now()),
        vec![stored],
    )
    .await
    .expect("seed");
    let calls = || {
        let stats = peer.stats();
        stats.requests.values().sum::<u64>() + stats.throttled
    };
    let mut aws = crate::moto::options(&peer.url);
    aws.max_attempts = 10;
    let mut source = AwsSource::new(aws);
    let options = collectors::runner::RunOptions {
        deadline: Duration::from_secs(3),
        ..collectors::runner::RunOptions::default()
    };
    let cut = run(&db.conn, &mut source, &options).await.expect("run");
    assert_ne!(cut.status, RunStatus::Succeeded, "{cut:?}");
    assert!(
        cut.error
            .as_deref()
            .unwrap_or_default()
            .contains("deadline"),
        "{cut:?}"
    );
    assert_eq!(cut.removed, 0);
    let kept = cloud_account::Entity::find_by_id("aws:999999999999")
        .one(&db.conn)
        .await
        .expect("read")
        .expect("stored");
    assert_eq!(
        kept.removed_at, None,
        "a cut run removed what it did not see"
    );
    assert!(peer.stats().throttled > 0, "{:?}", peer.stats());
    drop(source);
    // Calls in flight when the source went are answered within one latency.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let after = calls();
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_eq!(calls(), after, "the walk went on calling");
}

/// At a throttle well below what the walk would ask, the run slows down and succeeds, its
/// tags all read. The SDK's adaptive mode charges a retry five times a first call, so under
/// repeated throttling it may send well under the peer's rate; the deadline leaves room for
/// that.
async fn a_throttled_run_succeeds(db: &TestDb) {
    let peer = start(Shape {
        accounts: 50,
        ous: 4,
        depth: 1,
        latency: Duration::from_millis(5),
        rate: Some(10.0),
        burst: 2.0,
    })
    .await
    .expect("peer");
    let mut options = crate::moto::options(&peer.url);
    options.concurrency = 8;
    options.max_attempts = 10;
    let done = run(
        &db.conn,
        &mut AwsSource::new(options),
        &collectors::runner::RunOptions {
            deadline: Duration::from_secs(120),
            ..crate::aws::options()
        },
    )
    .await
    .expect("run");
    assert_eq!(done.status, RunStatus::Succeeded, "{:?}", done.error);
    assert_eq!(done.seen, 50);
    let stats = peer.stats();
    assert!(stats.throttled > 0, "the peer never throttled: {stats:?}");
    assert_eq!(stats.requests.get("ListTagsForResource"), Some(&50));
}

/// When each account was last read, by key.
async fn read_at(db: &TestDb) -> HashMap<String, Option<DateTime<Utc>>> {
    cloud_account::Entity::find()
        .all(&db.conn)
        .await
        .expect("read")
        .into_iter()
        .map(|a| (a.id, a.tags_read_at))
        .collect()
}

/// Tags take a call per account: a run reads as many as its budget (a share of its
/// deadline) allows and still succeeds; the next runs read the never-read ones first, and
/// once every account's tags were read, the oldest first.
async fn tags_are_read_within_the_budget_stalest_first(db: &TestDb) {
    // At 40 ms a call, 4 at a time, at most 100 tags a second: a budget of 4 s reads fewer
    // than 600.
    let peer = start(Shape {
        accounts: 600,
        ous: 10,
        depth: 1,
        latency: Duration::from_millis(40),
        rate: None,
        burst: 0.0,
    })
    .await
    .expect("peer");
    let mut aws = crate::moto::options(&peer.url);
    aws.concurrency = 4;
    let options = collectors::runner::RunOptions {
        deadline: Duration::from_secs(5),
        ..crate::aws::options()
    };
    let mut runs = 0;
    let mut before = read_at(db).await;
    loop {
        let done = run(&db.conn, &mut AwsSource::new(aws.clone()), &options)
            .await
            .expect("run");
        runs += 1;
        assert_eq!(done.status, RunStatus::Succeeded, "{:?}", done.error);
        assert_eq!(done.seen, 600, "every account, whatever the tags");
        let after = read_at(db).await;
        let read: HashSet<&String> = after
            .iter()
            .filter(|(id, at)| at.is_some() && before.get(*id).is_none_or(|b| b != *at))
            .map(|(id, _)| id)
            .collect();
        let never: HashSet<&String> = after
            .keys()
            .filter(|id| before.get(*id).is_none_or(Option::is_none))
            .collect();
        assert!(!read.is_empty(), "run {runs} read no tags");
        if runs == 1 {
            assert!(read.len() < 600, "the budget did not bound the first run");
        }
        if read.len() <= never.len() {
            assert!(
                read.is_subset(&never),
                "run {runs} read a known account first"
            );
        } else {
            assert!(
                never.is_subset(&read),
                "run {runs} left a never-read account"
            );
            // The rest were the oldest.
            let newest_read = read
                .iter()
                .filter_map(|id| before.get(*id).copied().flatten())
                .max();
            let oldest_left = after
                .iter()
                .filter(|(id, _)| !read.contains(id))
                .filter_map(|(_, at)| *at)
                .min();
            if let (Some(newest), Some(oldest)) = (newest_read, oldest_left) {
                assert!(newest <= oldest, "run {runs} skipped an older account");
            }
        }
        let covered = after.values().filter(|at| at.is_some()).count();
        if covered == 600 && never.len() < read.len() {
            break;
        }
        assert!(runs < 8, "tags still missing after {runs} runs");
        before = after;
    }
}

/// Tag reads still retrying a throttled call when the budget ends are bounded by the run's
/// deadline: the run, whose listing was complete, succeeds and ends by then.
async fn enrichment_ends_by_the_deadline(db: &TestDb) {
    // Enough tokens for the walk and a few tags, then one call every 100 s.
    let peer = start(Shape {
        accounts: 20,
        ous: 1,
        depth: 1,
        latency: Duration::ZERO,
        rate: Some(0.01),
        burst: 10.0,
    })
    .await
    .expect("peer");
    let mut aws = crate::moto::options(&peer.url);
    aws.max_attempts = 10;
    // Retried throttled reads would go on for minutes: ten attempts, backing off up to 20 s.
    let options = collectors::runner::RunOptions {
        deadline: Duration::from_secs(8),
        ..crate::aws::options()
    };
    let done = run(&db.conn, &mut AwsSource::new(aws), &options)
        .await
        .expect("run");
    assert_eq!(
        done.status,
        RunStatus::Succeeded,
        "{:?} {:?}",
        done.error,
        peer.stats()
    );
    assert_eq!(done.seen, 20);
    let took = done.finished_at.expect("closed") - done.started_at;
    assert!(
        took < chrono::Duration::seconds(10),
        "the run outlived its deadline: {took}"
    );
    assert!(peer.stats().throttled > 0, "{:?}", peer.stats());
}

entity::on_both_backends!(
    enrichment_ends_by_the_deadline,
    requests_grow_with_ous_and_pages,
    a_run_cut_by_its_deadline_stops_calling,
    a_throttled_run_succeeds,
    tags_are_read_within_the_budget_stalest_first,
);
