//! The GCP source against the Resource Manager v3 scale peer
//! (`collectors::peers::resource_manager`, the v3 REST reference's shapes, Google's error model
//! and throttling as HTTP 429 `RESOURCE_EXHAUSTED`), at a small size: the walk lists each
//! parent once per page of projects and of folders, resolves no folder one by one, and its
//! client-side rate limit keeps it under the provider's throttle.

use collectors::gcp::{GcpOptions, GcpSource};
use collectors::http::RetryPolicy;
use collectors::peers::resource_manager::{ORGANIZATION, Shape, project_id, start};
use collectors::runner::run;
use entity::cloud_account;
use entity::enums::RunStatus;
use entity::testing::TestDb;
use sea_orm::{EntityTrait, PaginatorTrait};
use std::num::NonZeroU32;
use std::time::Duration;

fn options(url: &str, rate: Option<u32>) -> GcpOptions {
    GcpOptions {
        base_url: url.parse().expect("URL"),
        scope: ORGANIZATION.to_owned(),
        credentials_file: Some(crate::gcp::service_account(url)),
        retry: RetryPolicy {
            rate: rate.and_then(NonZeroU32::new),
            max_attempts: 3,
            min_delay: Duration::from_millis(50),
            max_delay: Duration::from_millis(500),
            timeout: Duration::from_secs(5),
        },
        page_size: 500,
        concurrency: 8,
    }
}

async fn requests_grow_with_folders_and_pages(db: &TestDb) {
    // 20 folders over two levels, 2,100 projects: 100 under each of the 21 parents, one page
    // of projects and one of folders each.
    let peer = start(Shape {
        projects: 2_100,
        folders: 20,
        depth: 2,
        latency: Duration::ZERO,
        rate: None,
        burst: 0.0,
    })
    .await
    .expect("peer");
    let done = run(
        &db.conn,
        &mut GcpSource::new(options(&peer.url, None)),
        &crate::aws::options(),
    )
    .await
    .expect("run");
    assert_eq!(done.status, RunStatus::Succeeded, "{:?}", done.error);
    assert_eq!((done.seen, done.created), (2_100, 2_100));
    let requests = peer.stats().requests;
    let count = |op: &str| requests.get(op).copied().unwrap_or(0);
    assert_eq!(count("projects.list"), 21, "{requests:?}");
    assert_eq!(count("folders.list"), 21, "{requests:?}");
    assert_eq!(count("organizations.get"), 1, "{requests:?}");
    assert_eq!(count("folders.get"), 0, "{requests:?}");
    assert_eq!(
        cloud_account::Entity::find()
            .count(&db.conn)
            .await
            .expect("count"),
        2_100
    );
    // A project on the second level: the organization and two folders above it.
    let stored = cloud_account::Entity::find_by_id(format!("gcp:{}", project_id(20)))
        .one(&db.conn)
        .await
        .expect("read")
        .expect("stored");
    assert_eq!(stored.ancestors.0.len(), 3, "{:?}", stored.ancestors);
    assert!(stored.org_path.starts_with("scale.example.com/Folder "));
    assert_eq!(
        stored.tags.0.get("team").map(String::as_str),
        Some("team-0")
    );
}

/// A client limit under the provider's rate keeps every call from being throttled; without
/// it, the same walk is throttled and still succeeds through its retries.
async fn the_rate_limit_keeps_the_walk_under_the_throttle(db: &TestDb) {
    let shape = Shape {
        projects: 600,
        folders: 30,
        depth: 2,
        latency: Duration::from_millis(5),
        rate: Some(20.0),
        burst: 20.0,
    };
    let peer = start(shape.clone()).await.expect("peer");
    let done = run(
        &db.conn,
        &mut GcpSource::new(options(&peer.url, Some(15))),
        &crate::aws::options(),
    )
    .await
    .expect("run");
    assert_eq!(done.status, RunStatus::Succeeded, "{:?}", done.error);
    assert_eq!(done.seen, 600);
    let stats = peer.stats();
    assert_eq!(stats.throttled, 0, "{stats:?}");

    let unlimited = start(shape).await.expect("peer");
    let mut options = options(&unlimited.url, None);
    options.retry.max_attempts = 10;
    let done = run(
        &db.conn,
        &mut GcpSource::new(options),
        &crate::aws::options(),
    )
    .await
    .expect("run");
    assert_eq!(done.status, RunStatus::Succeeded, "{:?}", done.error);
    assert!(unlimited.stats().throttled > 0, "{:?}", unlimited.stats());
}

entity::on_both_backends!(
    requests_grow_with_folders_and_pages,
    the_rate_limit_keeps_the_walk_under_the_throttle,
);
