use crate::fixtures::{account, endpoint, run, t};
use entity::enums::{AssetType, ChangeKind};
use entity::testing::TestDb;
use entity::write::{WriteContext, remove, remove_unseen, upsert_accounts, upsert_endpoints};
use entity::{asset_change, cloud_account, monitoring_endpoint};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

async fn removed_at(db: &TestDb, id: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    cloud_account::Entity::find_by_id(id)
        .one(&db.conn)
        .await
        .expect("read")
        .expect("row exists")
        .removed_at
}

async fn kinds_of(db: &TestDb, id: &str) -> Vec<ChangeKind> {
    asset_change::Entity::find()
        .filter(asset_change::Column::AssetId.eq(id))
        .order_by_asc(asset_change::Column::Id)
        .all(&db.conn)
        .await
        .expect("read")
        .into_iter()
        .map(|c| c.kind)
        .collect()
}

async fn unseen_rows_of_the_scope_are_removed_and_come_back_restored(db: &TestDb) {
    let run1 = run(db, "o-one", t(0)).await;
    upsert_accounts(
        &db.conn,
        &WriteContext::run(run1, t(0)),
        vec![
            account("000000000001", "o-one"),
            account("000000000002", "o-one"),
        ],
    )
    .await
    .expect("write");
    let other = run(db, "o-two", t(0)).await;
    upsert_accounts(
        &db.conn,
        &WriteContext::run(other, t(0)),
        vec![account("000000000003", "o-two")],
    )
    .await
    .expect("write");

    // The second run of o-one sees only account 1.
    let run2 = run(db, "o-one", t(15)).await;
    upsert_accounts(
        &db.conn,
        &WriteContext::run(run2, t(15)),
        vec![account("000000000001", "o-one")],
    )
    .await
    .expect("write");
    let removed = remove_unseen(&db.conn, run2, t(15), AssetType::CloudAccount, "o-one")
        .await
        .expect("remove");
    assert_eq!(removed, 1);
    assert_eq!(removed_at(db, "aws:000000000001").await, None);
    assert_eq!(removed_at(db, "aws:000000000002").await, Some(t(15)));
    assert_eq!(
        removed_at(db, "aws:000000000003").await,
        None,
        "another scope is untouched"
    );

    // Removing again is a no-op: already removed rows get no second change.
    let again = remove_unseen(&db.conn, run2, t(16), AssetType::CloudAccount, "o-one")
        .await
        .expect("remove again");
    assert_eq!(again, 0);

    // Account 2 comes back unchanged: it is restored, with history saying so.
    let run3 = run(db, "o-one", t(30)).await;
    let counts = upsert_accounts(
        &db.conn,
        &WriteContext::run(run3, t(30)),
        vec![
            account("000000000001", "o-one"),
            account("000000000002", "o-one"),
        ],
    )
    .await
    .expect("write");
    assert_eq!((counts.restored, counts.unchanged), (1, 1));
    assert_eq!(removed_at(db, "aws:000000000002").await, None);
    assert_eq!(
        kinds_of(db, "aws:000000000002").await,
        vec![
            ChangeKind::Created,
            ChangeKind::Removed,
            ChangeKind::Restored
        ]
    );
    let row = cloud_account::Entity::find_by_id("aws:000000000002")
        .one(&db.conn)
        .await
        .expect("read")
        .expect("row");
    assert_eq!(
        row.first_seen_at,
        t(0),
        "a restored row keeps its first sighting"
    );
}

async fn named_endpoints_are_removed_with_the_actor(db: &TestDb) {
    upsert_endpoints(
        &db.conn,
        &WriteContext::actor("alice", t(0)),
        vec![endpoint("prom-a"), endpoint("prom-b")],
    )
    .await
    .expect("write");
    let removed = remove(
        &db.conn,
        &WriteContext::actor("bob", t(5)),
        AssetType::MonitoringEndpoint,
        &["prom-a".to_owned(), "does-not-exist".to_owned()],
    )
    .await
    .expect("remove");
    assert_eq!(removed, 1);
    let row = monitoring_endpoint::Entity::find_by_id("prom-a")
        .one(&db.conn)
        .await
        .expect("read")
        .expect("row");
    assert_eq!(row.removed_at, Some(t(5)));
    let change = asset_change::Entity::find()
        .filter(asset_change::Column::Kind.eq(ChangeKind::Removed))
        .one(&db.conn)
        .await
        .expect("read")
        .expect("a removal change");
    assert_eq!(change.asset_id, "prom-a");
    assert_eq!(change.actor.as_deref(), Some("bob"));
}

entity::on_both_backends!(
    unseen_rows_of_the_scope_are_removed_and_come_back_restored,
    named_endpoints_are_removed_with_the_actor,
);
