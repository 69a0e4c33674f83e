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

/// Large values compress with lz4 where the server has it (PostgreSQL 14+, built with lz4;
/// this machine's Debian server is); elsewhere the migration leaves pglz and still succeeds.
/// PostgreSQL only: SQLite does not compress.
#[tokio::test]
async fn large_values_compress_with_lz4_where_the_server_can() {
    use sea_orm::{ConnectionTrait, Statement};
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let has_lz4 = db
        .conn
        .execute_unprepared("CREATE TEMP TABLE lz4_probe (x text COMPRESSION lz4)")
        .await
        .is_ok();
    let rows = db
        .conn
        .query_all_raw(Statement::from_string(
            db.conn.get_database_backend(),
            "SELECT c.relname || '.' || a.attname AS name, a.attcompression::text AS method \
             FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid \
             WHERE c.relnamespace = current_schema()::regnamespace \
             AND (c.relname, a.attname) IN \
             (('asset_changes', 'changes'), ('cloud_accounts', 'raw'), ('monitoring_endpoints', 'raw')) \
             ORDER BY 1",
        ))
        .await
        .expect("read column compression");
    let methods: Vec<(String, String)> = rows
        .iter()
        .map(|row| {
            (
                row.try_get("", "name").expect("name"),
                row.try_get("", "method").expect("method"),
            )
        })
        .collect();
    let expected = if has_lz4 { "l" } else { "" };
    assert_eq!(
        methods,
        [
            "asset_changes.changes",
            "cloud_accounts.raw",
            "monitoring_endpoints.raw"
        ]
        .map(|name| (name.to_owned(), expected.to_owned()))
    );
    db.finish().await;
}

/// The CHECK constraints hold even for rows written by hand, bypassing the entities.
async fn enum_columns_refuse_unknown_values(db: &TestDb) {
    use sea_orm::ConnectionTrait;
    let insert = |id: &str, provider: &str, status: &str| {
        format!(
            "INSERT INTO cloud_accounts (id, provider, native_id, name, org_path, ancestors, \
             status, tags, raw, scope, source, first_seen_at, last_seen_at, provenance) VALUES \
             ('{id}', '{provider}', '{id}', 'n', '', '[]', '{status}', '{{}}', '{{}}', 's', 'hand', \
             '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z', '{{}}')"
        )
    };
    db.conn
        .execute_unprepared(&insert("1", "aws", "active"))
        .await
        .expect("a valid row is accepted");
    assert!(
        db.conn
            .execute_unprepared(&insert("2", "oracle", "active"))
            .await
            .is_err()
    );
    assert!(
        db.conn
            .execute_unprepared(&insert("3", "aws", "ACTIVE"))
            .await
            .is_err()
    );
    assert_eq!(
        entity::cloud_account::Entity::find()
            .count(&db.conn)
            .await
            .expect("count"),
        1
    );
}

entity::on_both_backends!(enum_columns_refuse_unknown_values);
