//! The Azure source against the Azure Resource Manager scale peer (`collectors::peers::arm`:
//! the ARM REST reference's list shapes with `nextLink`/`$skiptoken`, throttling as HTTP 429
//! with `Retry-After`), its tokens from the credential tests' Entra ID peer: a tenant's read
//! is two paged listings whatever its size, and throttling slows it down without failing it.

use collectors::azure::{AzureSource, CredentialKind};
use collectors::peers::arm::{Shape, TENANT, start, subscription_id};
use collectors::runner::run;
use entity::cloud_account;
use entity::enums::RunStatus;
use entity::testing::TestDb;
use sea_orm::EntityTrait;
use std::time::Duration;

async fn a_tenant_is_two_paged_listings(db: &TestDb) {
    // 10 groups over two levels and 290 subscriptions: 300 descendants and 290
    // subscriptions, three pages of 100 each.
    let arm = start(Shape {
        subscriptions: 290,
        groups: 10,
        depth: 2,
        latency: Duration::ZERO,
        rate: None,
        burst: 0.0,
    })
    .await
    .expect("peer");
    let entra = crate::azure::start().await;
    let mut options = entra.options(TENANT, vec![CredentialKind::ClientSecret]);
    options.base_url = arm.url.parse().expect("URL");
    let done = run(
        &db.conn,
        &mut AzureSource::new(options),
        &crate::aws::options(),
    )
    .await
    .expect("run");
    assert_eq!(done.status, RunStatus::Succeeded, "{:?}", done.error);
    assert_eq!((done.seen, done.created), (290, 290));
    let requests = arm.stats().requests;
    assert_eq!(
        requests.get("managementGroups.descendants"),
        Some(&3),
        "{requests:?}"
    );
    assert_eq!(requests.get("subscriptions.list"), Some(&3), "{requests:?}");
    // Subscription 6 sits on the second level: tenant, two groups.
    let stored = cloud_account::Entity::find_by_id(format!("azure:{}", subscription_id(6)))
        .one(&db.conn)
        .await
        .expect("read")
        .expect("stored");
    assert_eq!(stored.ancestors.0.len(), 3, "{:?}", stored.ancestors);
    assert_eq!(stored.ancestors.0[0].kind, "tenant");
}

/// Throttled answers (429 with `Retry-After: 1`) are waited out; the run succeeds.
async fn throttling_is_waited_out(db: &TestDb) {
    let arm = start(Shape {
        subscriptions: 400,
        groups: 4,
        depth: 1,
        latency: Duration::ZERO,
        rate: Some(3.0),
        burst: 2.0,
    })
    .await
    .expect("peer");
    let entra = crate::azure::start().await;
    let mut options = entra.options(TENANT, vec![CredentialKind::ClientSecret]);
    options.base_url = arm.url.parse().expect("URL");
    options.retry.max_attempts = 6;
    let done = run(
        &db.conn,
        &mut AzureSource::new(options),
        &crate::aws::options(),
    )
    .await
    .expect("run");
    assert_eq!(done.status, RunStatus::Succeeded, "{:?}", done.error);
    assert_eq!(done.seen, 400);
    assert!(arm.stats().throttled > 0, "{:?}", arm.stats());
}

entity::on_both_backends!(a_tenant_is_two_paged_listings, throttling_is_waited_out);
