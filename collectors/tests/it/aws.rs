//! The AWS source end to end against moto: what is stored, idempotence, removal after a
//! complete read, exclusions, and overlapping runs.

use crate::moto::Moto;
use aws_sdk_organizations::Client;
use aws_sdk_organizations::types::{OrganizationFeatureSet, Tag};
use collectors::aws::AwsSource;
use collectors::filter::Exclusions;
use collectors::runner::{RunOptions, run};
use entity::enums::{AccountStatus, RunStatus};
use entity::testing::TestDb;
use entity::{asset_change, cloud_account};
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::json;
use std::time::Duration;

pub struct Org {
    pub id: String,
    pub root: String,
    pub prod: String,
    pub payments: String,
    pub sandbox: String,
    pub master: String,
    pub payments_prod: String,
    pub tools: String,
    pub old: String,
}

async fn account(
    client: &Client,
    name: &str,
    tags: &[(&str, &str)],
    to: &str,
    root: &str,
) -> String {
    let tags: Vec<Tag> = tags
        .iter()
        .map(|(k, v)| Tag::builder().key(*k).value(*v).build().expect("tag"))
        .collect();
    let created = client
        .create_account()
        .account_name(name)
        .email(format!("{name}@example.com"))
        .set_tags(Some(tags))
        .send()
        .await
        .expect("create account");
    let id = created
        .create_account_status()
        .and_then(|s| s.account_id())
        .expect("account id")
        .to_owned();
    client
        .move_account()
        .account_id(&id)
        .source_parent_id(root)
        .destination_parent_id(to)
        .send()
        .await
        .expect("move account");
    id
}

async fn ou(client: &Client, parent: &str, name: &str) -> String {
    client
        .create_organizational_unit()
        .parent_id(parent)
        .name(name)
        .send()
        .await
        .expect("create OU")
        .organizational_unit()
        .and_then(|o| o.id())
        .expect("OU id")
        .to_owned()
}

/// Root ─ Prod ─ Payments (payments-prod, tagged)
///      │      └ tools (untagged)
///      └ Sandbox ─ old (closed)
pub async fn seed(client: &Client) -> Org {
    let organization = client
        .create_organization()
        .feature_set(OrganizationFeatureSet::All)
        .send()
        .await
        .expect("create organization");
    let id = organization
        .organization()
        .and_then(|o| o.id())
        .expect("org id")
        .to_owned();
    let master = organization
        .organization()
        .and_then(|o| o.master_account_id())
        .expect("management account")
        .to_owned();
    let root = client.list_roots().send().await.expect("roots").roots()[0]
        .id()
        .expect("root id")
        .to_owned();
    let prod = ou(client, &root, "Prod").await;
    let payments = ou(client, &prod, "Payments").await;
    let sandbox = ou(client, &root, "Sandbox").await;
    let payments_prod = account(
        client,
        "payments-prod",
        &[("team", "payments"), ("cost-center", "cc-1042")],
        &payments,
        &root,
    )
    .await;
    let tools = account(client, "tools", &[], &prod, &root).await;
    let old = account(client, "old", &[("team", "ml")], &sandbox, &root).await;
    client
        .close_account()
        .account_id(&old)
        .send()
        .await
        .expect("close account");
    Org {
        id,
        root,
        prod,
        payments,
        sandbox,
        master,
        payments_prod,
        tools,
        old,
    }
}

pub fn options() -> RunOptions {
    RunOptions {
        deadline: Duration::from_secs(60),
        ..RunOptions::default()
    }
}

async fn row(db: &TestDb, native_id: &str) -> cloud_account::Model {
    cloud_account::Entity::find_by_id(format!("aws:{native_id}"))
        .one(&db.conn)
        .await
        .expect("read")
        .unwrap_or_else(|| panic!("account {native_id} stored"))
}

async fn the_organization_is_stored_field_by_field_and_only_once(db: &TestDb) {
    let Some(moto) = Moto::start().await else {
        return;
    };
    let org = seed(&moto.client()).await;
    let first = run(&db.conn, &mut AwsSource::new(moto.options()), &options())
        .await
        .expect("run");
    assert_eq!(first.status, RunStatus::Succeeded, "{:?}", first.error);
    assert_eq!(first.scope, org.id);
    assert_eq!((first.seen, first.created, first.removed), (4, 4, 0));
    assert!(first.pages >= 1);
    assert!(
        !first
            .request_ids
            .as_array()
            .map(Vec::is_empty)
            .unwrap_or(true),
        "request ids kept"
    );

    let payments = row(db, &org.payments_prod).await;
    assert_eq!(payments.name, "payments-prod");
    assert_eq!(
        payments.org_path,
        format!("{}/{}/Prod/Payments", org.id, org.root)
    );
    assert_eq!(
        json!(payments.ancestors),
        json!([
            { "id": org.id, "name": org.id, "kind": "organization" },
            { "id": org.root, "name": "Root", "kind": "root" },
            { "id": org.prod, "name": "Prod", "kind": "organizational_unit" },
            { "id": org.payments, "name": "Payments", "kind": "organizational_unit" },
        ])
    );
    assert_eq!(payments.parent.as_deref(), Some(org.payments.as_str()));
    assert_eq!(payments.status, AccountStatus::Active);
    assert_eq!(payments.raw_status.as_deref(), Some("ACTIVE"));
    assert_eq!(
        json!(payments.tags),
        json!({ "team": "payments", "cost-center": "cc-1042" })
    );
    assert_eq!(payments.scope, org.id);
    assert_eq!(
        payments.source,
        format!("aws/{}", env!("CARGO_PKG_VERSION"))
    );
    assert_eq!(payments.raw["Email"], "payments-prod@example.com");
    assert_eq!(payments.raw["JoinedMethod"], "CREATED");
    assert!(
        payments.raw["Arn"]
            .as_str()
            .is_some_and(|a| a.ends_with(&org.payments_prod))
    );
    assert_eq!(payments.last_run_id, Some(first.id));
    assert_eq!(payments.provenance["api"], "organizations");
    assert_eq!(payments.provenance["page"], 1);
    assert!(
        payments.provenance["request_id"]
            .as_str()
            .is_some_and(|id| !id.is_empty())
    );

    let tools = row(db, &org.tools).await;
    assert_eq!(tools.org_path, format!("{}/{}/Prod", org.id, org.root));
    assert_eq!(json!(tools.tags), json!({}));
    let old = row(db, &org.old).await;
    assert_eq!(old.status, AccountStatus::Suspended);
    assert_eq!(old.org_path, format!("{}/{}/Sandbox", org.id, org.root));
    assert_eq!(old.parent.as_deref(), Some(org.sandbox.as_str()));
    let master = row(db, &org.master).await;
    assert_eq!(master.org_path, format!("{}/{}", org.id, org.root));

    let changes = asset_change::Entity::find()
        .count(&db.conn)
        .await
        .expect("count");
    let second = run(&db.conn, &mut AwsSource::new(moto.options()), &options())
        .await
        .expect("run");
    assert_eq!(second.status, RunStatus::Succeeded);
    assert_eq!(
        (
            second.seen,
            second.created,
            second.updated,
            second.unchanged
        ),
        (4, 0, 0, 4)
    );
    assert_eq!(
        asset_change::Entity::find()
            .count(&db.conn)
            .await
            .expect("count"),
        changes,
        "an unchanged organization adds no history"
    );
    assert_eq!(row(db, &org.tools).await.last_run_id, Some(second.id));
}

async fn an_account_that_leaves_is_removed_by_one_complete_run(db: &TestDb) {
    let Some(moto) = Moto::start().await else {
        return;
    };
    let client = moto.client();
    let org = seed(&client).await;
    run(&db.conn, &mut AwsSource::new(moto.options()), &options())
        .await
        .expect("run");
    client
        .remove_account_from_organization()
        .account_id(&org.tools)
        .send()
        .await
        .expect("remove account");
    let after = run(&db.conn, &mut AwsSource::new(moto.options()), &options())
        .await
        .expect("run");
    assert_eq!(after.status, RunStatus::Succeeded);
    assert_eq!(after.removed, 1);
    assert!(row(db, &org.tools).await.removed_at.is_some());
    assert!(row(db, &org.payments_prod).await.removed_at.is_none());
}

async fn exclusions_leave_subtrees_and_statuses_out(db: &TestDb) {
    let Some(moto) = Moto::start().await else {
        return;
    };
    let org = seed(&moto.client()).await;
    let options = RunOptions {
        exclusions: Exclusions {
            subtrees: vec![org.payments.clone()],
            statuses: vec![AccountStatus::Suspended],
        },
        ..options()
    };
    let done = run(&db.conn, &mut AwsSource::new(moto.options()), &options)
        .await
        .expect("run");
    assert_eq!(done.status, RunStatus::Succeeded);
    let mut stored: Vec<String> = cloud_account::Entity::find()
        .all(&db.conn)
        .await
        .expect("read")
        .into_iter()
        .map(|a| a.native_id)
        .collect();
    stored.sort();
    let mut expected = vec![org.master.clone(), org.tools.clone()];
    expected.sort();
    assert_eq!(stored, expected);
}

entity::on_both_backends!(
    the_organization_is_stored_field_by_field_and_only_once,
    an_account_that_leaves_is_removed_by_one_complete_run,
    exclusions_leave_subtrees_and_statuses_out,
);

/// Two overlapping runs of one organization: the second finds the lock held and is recorded
/// as skipped, writing nothing.
#[tokio::test]
async fn an_overlapping_run_on_postgres_is_skipped() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let Some(moto) = Moto::start().await else {
        return;
    };
    let org = seed(&moto.client()).await;
    let held = collectors::lock::try_acquire(&db.conn, "aws", &org.id)
        .await
        .expect("lock query")
        .expect("the first run takes the lock");
    let second = run(&db.conn, &mut AwsSource::new(moto.options()), &options())
        .await
        .expect("run");
    assert_eq!(second.status, RunStatus::Skipped);
    assert_eq!(
        cloud_account::Entity::find()
            .count(&db.conn)
            .await
            .expect("count"),
        0
    );
    drop(held);
    let third = run(&db.conn, &mut AwsSource::new(moto.options()), &options())
        .await
        .expect("run");
    assert_eq!(
        third.status,
        RunStatus::Succeeded,
        "the lock is released with its holder"
    );
    db.finish().await;
}

/// `--role-arn`: credentials come from STS `AssumeRole` (moto serves STS too) before the
/// organization is read.
#[tokio::test]
async fn the_organization_is_read_through_an_assumed_role() {
    let Some(moto) = Moto::start().await else {
        return;
    };
    let db = TestDb::sqlite().await;
    let org = seed(&moto.client()).await;
    let mut aws = moto.options();
    aws.role_arn = Some("arn:aws:iam::123456789012:role/OrganizationAudit".into());
    aws.external_id = Some("asset-inventory-test".into());
    let done = run(&db.conn, &mut AwsSource::new(aws), &options())
        .await
        .expect("run");
    assert_eq!(done.status, RunStatus::Succeeded, "{:?}", done.error);
    assert_eq!((done.scope.as_str(), done.seen), (org.id.as_str(), 4));
    db.finish().await;
}
