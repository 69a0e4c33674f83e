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

/// What every collector run does, rewriting rows whose observed fields did not change,
/// touches no index on PostgreSQL: each row's new version is heap-only, on its own page, for
/// rows as large as real ones (~1.4 KB, five to a full page), run after run. Read from the
/// pages themselves with pageinspect (PostgreSQL's contrib, in Debian's server package and
/// the official images). SQLite has no such storage; the migration only drops an index there.
#[tokio::test]
async fn unchanged_rows_are_rewritten_in_place_on_postgres() {
    use crate::fixtures::{account, query_one, run, t};
    use entity::write::{WriteContext, upsert_accounts};
    use sea_orm::ConnectionTrait;
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    db.conn
        .execute_unprepared("CREATE EXTENSION IF NOT EXISTS pageinspect")
        .await
        .expect("pageinspect (PostgreSQL contrib) is needed to read heap pages");
    let pageinspect: String = query_one(
        &db,
        "SELECT quote_ident(extnamespace::regnamespace::text) AS s FROM pg_extension \
         WHERE extname = 'pageinspect'",
    )
    .await
    .try_get("", "s")
    .expect("schema");
    // Newest versions point at themselves; heap-only ones carry HEAP_ONLY_TUPLE (0x8000).
    let versions = format!(
        "SELECT count(*) AS newest, \
         count(*) FILTER (WHERE (i.t_infomask2 & 32768) <> 0) AS heap_only \
         FROM generate_series(0, pg_relation_size('cloud_accounts') \
           / current_setting('block_size')::bigint - 1) AS b, \
         LATERAL {pageinspect}.heap_page_items({pageinspect}.get_raw_page('cloud_accounts', b::int)) AS i \
         WHERE i.lp_flags = 1 AND i.t_ctid = format('(%s,%s)', b, i.lp)::tid"
    );
    let records: Vec<_> = (0..20)
        .map(|n| {
            let mut record = account(&format!("{:012}", 100_000_000_000u64 + n), "o-test");
            record.raw["Padding"] = "x".repeat(1200).into();
            record
        })
        .collect();
    let mut previous_write: Option<String> = None;
    for (pass, minutes) in [0, 15, 30].into_iter().enumerate() {
        // PostgreSQL removes the versions a write replaced only once no transaction of the
        // database began before that write ended; a parallel test's transaction would keep
        // them, leave no room on the page and fail this for a reason it does not test (one
        // CI run in five). So each pass waits until none is left, as on a server where
        // collectors' writes are all that happens.
        if let Some(ended) = &previous_write {
            let older = format!(
                "SELECT count(*) AS n FROM pg_stat_activity \
                 WHERE datname = current_database() AND pid <> pg_backend_pid() \
                 AND (backend_xid IS NOT NULL OR backend_xmin IS NOT NULL) \
                 AND xact_start < '{ended}'::timestamptz"
            );
            let mut polls = 0;
            while query_one(&db, &older)
                .await
                .try_get::<i64>("", "n")
                .expect("n")
                > 0
            {
                polls += 1;
                assert!(
                    polls < 3_000,
                    "pass {pass}: an older transaction never ended"
                );
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
        }
        let run_id = run(&db, "o-test", t(minutes)).await;
        upsert_accounts(
            &db.conn,
            &WriteContext::run(run_id, t(minutes)),
            records.clone(),
        )
        .await
        .expect("write");
        let ended = query_one(&db, "SELECT clock_timestamp()::text AS t").await;
        previous_write = Some(ended.try_get("", "t").expect("time"));
        let row = query_one(&db, &versions).await;
        let newest: i64 = row.try_get("", "newest").expect("newest");
        let heap_only: i64 = row.try_get("", "heap_only").expect("heap_only");
        assert_eq!(newest, 20, "pass {pass}: one newest version per account");
        let expected = if pass == 0 { 0 } else { 20 };
        assert_eq!(
            heap_only, expected,
            "pass {pass}: heap-only newest versions"
        );
    }
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
    assert_eq!(crate::fixtures::account_count(db).await, 1);
}

/// Deleting a run, which only an operator does, keeps the history and the accounts it wrote
/// and leaves them without a run: the foreign keys' `ON DELETE SET NULL`, with the BRIN
/// index on the history's `run_id` behind it on PostgreSQL.
async fn a_deleted_run_leaves_its_history_without_a_run(db: &TestDb) {
    use crate::fixtures::{account, account_count, run, t};
    use entity::write::{WriteContext, upsert_accounts};
    use entity::{asset_change, cloud_account, collector_run};
    use sea_orm::{ColumnTrait, QueryFilter};
    let kept = run(db, "o-kept", t(0)).await;
    let deleted = run(db, "o-test", t(5)).await;
    for (run_id, scope, minutes) in [(kept, "o-kept", 0), (deleted, "o-test", 5)] {
        let records = (0..30)
            .map(|n| account(&format!("{scope}-{n:03}"), scope))
            .collect();
        upsert_accounts(&db.conn, &WriteContext::run(run_id, t(minutes)), records)
            .await
            .expect("write");
    }
    let changes_of = |run_id: Option<i64>| {
        let find = asset_change::Entity::find();
        let find = match run_id {
            Some(id) => find.filter(asset_change::Column::RunId.eq(id)),
            None => find.filter(asset_change::Column::RunId.is_null()),
        };
        find.count(&db.conn)
    };
    assert_eq!(changes_of(Some(deleted)).await.expect("count"), 30);

    let gone = collector_run::Entity::delete_by_id(deleted)
        .exec(&db.conn)
        .await
        .expect("delete the run");
    assert_eq!(gone.rows_affected, 1);

    assert_eq!(changes_of(Some(deleted)).await.expect("count"), 0);
    assert_eq!(changes_of(None).await.expect("count"), 30);
    assert_eq!(changes_of(Some(kept)).await.expect("count"), 30);
    assert_eq!(
        cloud_account::Entity::find()
            .filter(cloud_account::Column::LastRunId.is_null())
            .count(&db.conn)
            .await
            .expect("count"),
        30
    );
    assert_eq!(account_count(db).await, 60);
}

entity::on_both_backends!(
    enum_columns_refuse_unknown_values,
    a_deleted_run_leaves_its_history_without_a_run,
);

/// On PostgreSQL the index behind the history's run foreign key is BRIN, summarizing ranges
/// as they fill (see the migration `m20261130_000007_brin_history_run` for why); SQLite
/// keeps a B-tree.
#[tokio::test]
async fn the_history_run_index_is_brin_on_postgres() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let row = crate::fixtures::query_one(
        &db,
        "SELECT indexdef FROM pg_indexes \
         WHERE schemaname = current_schema() AND indexname = 'asset_changes_run'",
    )
    .await;
    let definition: String = row.try_get("", "indexdef").expect("indexdef");
    assert!(
        definition.ends_with("USING brin (run_id) WITH (autosummarize='on')"),
        "{definition}"
    );
    db.finish().await;
}

/// On PostgreSQL 14 and later, `nameContains` and `urlContains` (`lower(…) LIKE
/// '%needle%'`) are estimated from statistics on the lowered column, not guessed (about
/// 0.5 % of the rows: 2 of the 200 here, as PostgreSQL 13 still guesses): see the migration
/// `m20261130_000008_substring_statistics`.
#[tokio::test]
async fn substring_filters_are_estimated_from_statistics_on_postgres() {
    use crate::fixtures::{account, endpoint, query_one, run, t};
    use entity::write::{WriteContext, upsert_accounts, upsert_endpoints};
    use sea_orm::ConnectionTrait;
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let run_id = run(&db, "o-test", t(0)).await;
    let accounts = (0..200)
        .map(|n| {
            let mut record = account(&format!("{n:012}"), "o-test");
            record.name = format!("Team {n} {}", if n % 2 == 0 { "PROD" } else { "dev" });
            record
        })
        .collect();
    upsert_accounts(&db.conn, &WriteContext::run(run_id, t(0)), accounts)
        .await
        .expect("write accounts");
    let endpoints = (0..200)
        .map(|n| endpoint(&format!("{}-{n}", if n % 2 == 0 { "prom" } else { "graf" })))
        .collect();
    upsert_endpoints(&db.conn, &WriteContext::actor("ana", t(0)), endpoints)
        .await
        .expect("write endpoints");
    db.conn
        .execute_unprepared("ANALYZE cloud_accounts, monitoring_endpoints")
        .await
        .expect("analyze");
    let version: i32 = query_one(
        &db,
        "SELECT current_setting('server_version_num')::int AS version",
    )
    .await
    .try_get("", "version")
    .expect("version");
    let has_expression_statistics = version >= 140_000;
    for (query, matching) in [
        (
            "SELECT id FROM cloud_accounts WHERE lower(name) LIKE '%prod%'",
            100.0,
        ),
        (
            "SELECT id FROM monitoring_endpoints WHERE lower(url) LIKE '%prom%'",
            100.0,
        ),
    ] {
        let plan = query_one(&db, &format!("EXPLAIN (FORMAT JSON) {query}")).await;
        let plan: serde_json::Value = plan.try_get_by_index(0).expect("the plan as JSON");
        let estimate = plan[0]["Plan"]["Plan Rows"].as_f64().expect("Plan Rows");
        let estimated = estimate > matching / 2.0 && estimate < matching * 1.5;
        assert_eq!(
            estimated, has_expression_statistics,
            "{query}: {estimate} rows expected, {matching} match (server {version})"
        );
    }
    db.finish().await;
}
