//! Enrichments in the store: records that did not read their tags keep the stored ones,
//! tags read apart are history like any change, and what is due comes stalest first.

use crate::fixtures::{account, run, t};
use entity::enrich::{Due, Enriched, Enrichment, Value, due, record};
use entity::enums::{AssetType, ChangeKind};
use entity::testing::TestDb;
use entity::write::{WriteContext, WriteCounts, remove_unseen, upsert_accounts};
use entity::{asset_change, cloud_account};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::json;
use std::collections::BTreeMap;

async fn stored(db: &TestDb, native_id: &str) -> cloud_account::Model {
    cloud_account::Entity::find_by_id(format!("aws:{native_id}"))
        .one(&db.conn)
        .await
        .expect("read")
        .expect("the account is stored")
}

fn tags(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn enriched(native_id: &str, pairs: &[(&str, &str)]) -> Enriched {
    Enriched {
        key: format!("aws:{native_id}"),
        value: Value::Tags(tags(pairs)),
        provenance: json!({ "operations": ["ListTagsForResource"], "request_ids": ["r-1"] }),
    }
}

async fn a_record_that_did_not_read_its_tags_keeps_the_stored_ones(db: &TestDb) {
    let first = run(db, "o-test", t(0)).await;
    upsert_accounts(
        &db.conn,
        &WriteContext::run(first, t(0)),
        vec![account("111111111111", "o-test")],
    )
    .await
    .expect("first write");

    let second = run(db, "o-test", t(15)).await;
    let mut unread = account("111111111111", "o-test");
    unread.tags = None;
    let counts = upsert_accounts(&db.conn, &WriteContext::run(second, t(15)), vec![unread])
        .await
        .expect("second write");
    assert_eq!(
        counts,
        WriteCounts {
            unchanged: 1,
            ..Default::default()
        },
        "tags not read are not tags removed"
    );
    let row = stored(db, "111111111111").await;
    assert_eq!(row.tags.0, tags(&[("team", "payments")]));
    assert_eq!(row.tags_read_at, Some(t(0)), "when they were read stays");
    assert_eq!(row.last_seen_at, t(15));

    // A new account whose tags were not read has none, and no time they were read.
    let mut new = account("222222222222", "o-test");
    new.tags = None;
    upsert_accounts(&db.conn, &WriteContext::run(second, t(15)), vec![new])
        .await
        .expect("new account");
    let row = stored(db, "222222222222").await;
    assert!(row.tags.0.is_empty());
    assert_eq!(row.tags_read_at, None);
}

async fn tags_read_apart_are_history_and_say_when(db: &TestDb) {
    let first = run(db, "o-test", t(0)).await;
    let mut unread = account("111111111111", "o-test");
    unread.tags = None;
    upsert_accounts(
        &db.conn,
        &WriteContext::run(first, t(0)),
        vec![unread, account("222222222222", "o-test")],
    )
    .await
    .expect("listing");

    let counts = record(
        &db.conn,
        &WriteContext::run(first, t(1)),
        vec![
            enriched("111111111111", &[("team", "web")]),
            enriched("222222222222", &[("team", "payments")]),
            // Not stored: tags alone make no account.
            enriched("333333333333", &[("team", "ghost")]),
        ],
    )
    .await
    .expect("tags");
    assert_eq!(
        counts,
        WriteCounts {
            updated: 1,
            unchanged: 1,
            ..Default::default()
        }
    );
    let row = stored(db, "111111111111").await;
    assert_eq!(row.tags.0, tags(&[("team", "web")]));
    assert_eq!(row.tags_read_at, Some(t(1)));
    assert_eq!(row.last_seen_at, t(1));
    assert_eq!(row.provenance["tags"]["request_ids"], json!(["r-1"]));
    assert_eq!(row.provenance["api"], json!("organizations:ListAccounts"));
    let unchanged = stored(db, "222222222222").await;
    assert_eq!(unchanged.tags_read_at, Some(t(1)), "read, though unchanged");
    assert!(
        cloud_account::Entity::find_by_id("aws:333333333333")
            .one(&db.conn)
            .await
            .expect("read")
            .is_none()
    );

    let history = asset_change::Entity::find()
        .filter(asset_change::Column::AssetId.eq("aws:111111111111"))
        .order_by_asc(asset_change::Column::Id)
        .all(&db.conn)
        .await
        .expect("history");
    let last = history.last().expect("a change");
    assert_eq!(last.kind, ChangeKind::Updated);
    assert_eq!(last.run_id, Some(first));
    assert_eq!(
        last.changes,
        json!({ "tags": { "old": {}, "new": { "team": "web" } } })
    );

    // The next listing that does not read tags keeps them, and their time.
    let second = run(db, "o-test", t(15)).await;
    let mut unread = account("111111111111", "o-test");
    unread.tags = None;
    let counts = upsert_accounts(&db.conn, &WriteContext::run(second, t(15)), vec![unread])
        .await
        .expect("listing again");
    assert_eq!(counts.unchanged, 1, "{counts:?}");
    let row = stored(db, "111111111111").await;
    assert_eq!(row.tags.0, tags(&[("team", "web")]));
    assert_eq!(row.tags_read_at, Some(t(1)));
}

async fn due_is_never_read_first_then_oldest_and_only_what_the_run_saw(db: &TestDb) {
    let first = run(db, "o-test", t(0)).await;
    let ids = [
        "111111111111",
        "222222222222",
        "333333333333",
        "444444444444",
    ];
    let records = ids
        .iter()
        .map(|id| {
            let mut record = account(id, "o-test");
            record.tags = None;
            record
        })
        .collect();
    upsert_accounts(&db.conn, &WriteContext::run(first, t(0)), records)
        .await
        .expect("listing");
    // 3 read at minute 2, 1 at minute 1; 2 and 4 never.
    record(
        &db.conn,
        &WriteContext::run(first, t(1)),
        vec![enriched("111111111111", &[])],
    )
    .await
    .expect("tags of 1");
    record(
        &db.conn,
        &WriteContext::run(first, t(2)),
        vec![enriched("333333333333", &[])],
    )
    .await
    .expect("tags of 3");
    // Another scope's accounts are never due in this one.
    let other = run(db, "o-other", t(0)).await;
    let mut elsewhere = account("555555555555", "o-other");
    elsewhere.tags = None;
    upsert_accounts(&db.conn, &WriteContext::run(other, t(0)), vec![elsewhere])
        .await
        .expect("other scope");

    let second = run(db, "o-test", t(15)).await;
    let seen: Vec<_> = ids[..3]
        .iter()
        .map(|id| {
            let mut record = account(id, "o-test");
            record.tags = None;
            record
        })
        .collect();
    upsert_accounts(&db.conn, &WriteContext::run(second, t(15)), seen)
        .await
        .expect("second listing, without 4");
    remove_unseen(&db.conn, second, t(16), AssetType::CloudAccount, "o-test")
        .await
        .expect("remove 4");
    let order: Vec<String> = due(&db.conn, Enrichment::AccountTags, second, "o-test")
        .await
        .expect("due")
        .into_iter()
        .map(|Due { native_id, .. }| native_id)
        .collect();
    assert_eq!(
        order,
        ["222222222222", "111111111111", "333333333333"],
        "never read, then the oldest; the removed account is not due"
    );
}

entity::on_both_backends!(
    a_record_that_did_not_read_its_tags_keeps_the_stored_ones,
    tags_read_apart_are_history_and_say_when,
    due_is_never_read_first_then_oldest_and_only_what_the_run_saw,
);
