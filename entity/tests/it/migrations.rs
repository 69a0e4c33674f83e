use entity::testing::TestDb;
use migration::{Migrator, MigratorTrait};
use sea_orm::{EntityTrait, PaginatorTrait};

async fn up_down_up(db: &TestDb) {
    let pending = Migrator::get_pending_migrations_read_only(&db.conn)
        .await
        .expect("status");
    assert!(
        !pending.is_empty(),
        "a fresh database has pending migrations"
    );

    migration::up(&db.conn).await.expect("first up");
    assert_eq!(
        entity::cloud_account::Entity::find()
            .count(&db.conn)
            .await
            .expect("count"),
        0
    );
    assert!(
        Migrator::get_pending_migrations_read_only(&db.conn)
            .await
            .expect("status")
            .is_empty()
    );

    Migrator::down(&db.conn, None).await.expect("down");
    assert!(
        entity::cloud_account::Entity::find()
            .count(&db.conn)
            .await
            .is_err(),
        "down drops the tables"
    );

    migration::up(&db.conn).await.expect("second up");
    assert_eq!(
        entity::asset_change::Entity::find()
            .count(&db.conn)
            .await
            .expect("count"),
        0
    );
}

#[tokio::test]
async fn up_down_up_on_sqlite() {
    let db = TestDb::sqlite_unmigrated().await;
    up_down_up(&db).await;
    db.finish().await;
}

#[tokio::test]
async fn up_down_up_on_postgres() {
    if let Some(db) = TestDb::postgres_unmigrated().await {
        up_down_up(&db).await;
        db.finish().await;
    }
}
