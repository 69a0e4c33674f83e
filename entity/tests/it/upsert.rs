use crate::fixtures;
use crate::fixtures::{account, account_count, endpoint, run, t};
use entity::enums::{AccountStatus, AssetType, AuthMode, ChangeKind};
use entity::record::{AccountRecord, EndpointRecord};
use entity::testing::TestDb;
use entity::validate::Field;
use entity::write::{WriteContext, WriteCounts, upsert_accounts, upsert_endpoints};
use entity::{StoreError, as_of, asset_change, cloud_account, json_column, monitoring_endpoint};
use sea_orm::{ColumnTrait, DbBackend, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};
use serde_json::json;

async fn changes(db: &TestDb) -> Vec<asset_change::Model> {
    asset_change::Entity::find()
        .order_by_asc(asset_change::Column::Id)
        .all(&db.conn)
        .await
        .expect("read changes")
}

/// How many accounts name `run` as the one that last saw them.
async fn accounts_last_seen_by(db: &TestDb, run: i64) -> u64 {
    cloud_account::Entity::find()
        .filter(cloud_account::Column::LastRunId.eq(run))
        .count(&db.conn)
        .await
        .expect("count accounts")
}

async fn writing_the_same_batch_twice_changes_only_last_seen(db: &TestDb) {
    let batch = vec![
        account("111111111111", "o-test"),
        account("222222222222", "o-test"),
    ];
    let first_run = run(db, "o-test", t(0)).await;
    let counts = upsert_accounts(&db.conn, &WriteContext::run(first_run, t(0)), batch.clone())
        .await
        .expect("first write");
    assert_eq!(
        counts,
        WriteCounts {
            created: 2,
            ..Default::default()
        }
    );

    let before = cloud_account::Entity::find_by_id("aws:111111111111")
        .one(&db.conn)
        .await
        .expect("read")
        .expect("row exists");

    let second_run = run(db, "o-test", t(15)).await;
    let counts = upsert_accounts(&db.conn, &WriteContext::run(second_run, t(15)), batch)
        .await
        .expect("second write");
    assert_eq!(
        counts,
        WriteCounts {
            unchanged: 2,
            ..Default::default()
        }
    );

    let after = cloud_account::Entity::find_by_id("aws:111111111111")
        .one(&db.conn)
        .await
        .expect("read")
        .expect("row exists");
    assert_eq!(after.first_seen_at, t(0));
    assert_eq!(after.last_seen_at, t(15));
    assert_eq!(after.last_run_id, Some(second_run));
    assert_eq!(
        after.tags_read_at,
        Some(t(15)),
        "the records read the tags again"
    );
    assert_eq!(
        cloud_account::Model {
            last_seen_at: before.last_seen_at,
            last_run_id: before.last_run_id,
            tags_read_at: before.tags_read_at,
            ..after
        },
        before,
        "nothing but last_seen_at, the run and when the tags were read changed"
    );

    let history = changes(db).await;
    assert_eq!(history.len(), 2, "no change rows for an unchanged write");
    assert!(
        history
            .iter()
            .all(|c| c.kind == ChangeKind::Created && c.run_id == Some(first_run))
    );
    assert!(
        history.iter().all(|c| c.changes == json!({})),
        "a creation lists no fields: the row holds them"
    );
    let created = [(history[0].id, history[0].asset_id.clone())];
    let written = as_of::created_fields(&db.conn, AssetType::CloudAccount, &created)
        .await
        .expect("rebuild the creation");
    let name = written[&history[0].id].iter().find(|(f, _)| f == "name");
    assert_eq!(
        name,
        Some(&("name".to_owned(), json!("account 111111111111")))
    );
}

async fn a_change_records_only_the_changed_fields(db: &TestDb) {
    let run1 = run(db, "o-test", t(0)).await;
    upsert_accounts(
        &db.conn,
        &WriteContext::run(run1, t(0)),
        vec![account("111111111111", "o-test")],
    )
    .await
    .expect("create");

    let mut changed = account("111111111111", "o-test");
    changed.status = AccountStatus::Suspended;
    changed.raw_status = Some("SUSPENDED".into());
    changed
        .tags
        .get_or_insert_default()
        .insert("cost-center".into(), "42".into());
    // Bookkeeping differs too, but is not history.
    changed.provenance = json!({ "api": "organizations:ListAccounts", "page": 2 });
    let run2 = run(db, "o-test", t(15)).await;
    let counts = upsert_accounts(&db.conn, &WriteContext::run(run2, t(15)), vec![changed])
        .await
        .expect("update");
    assert_eq!(
        counts,
        WriteCounts {
            updated: 1,
            ..Default::default()
        }
    );

    let history = changes(db).await;
    assert_eq!(history.len(), 2);
    let update = &history[1];
    assert_eq!(update.kind, ChangeKind::Updated);
    assert_eq!(update.asset_type, AssetType::CloudAccount);
    assert_eq!(update.asset_id, "aws:111111111111");
    assert_eq!(update.run_id, Some(run2));
    assert_eq!(update.at, t(15));
    assert_eq!(
        update.changes,
        json!({
            "status": { "old": "active", "new": "suspended" },
            "raw_status": { "old": "ACTIVE", "new": "SUSPENDED" },
            "tags": { "old": { "team": "payments" }, "new": { "team": "payments", "cost-center": "42" } },
        })
    );
}

async fn duplicates_in_a_batch_keep_the_last(db: &TestDb) {
    let mut second = account("111111111111", "o-test");
    second.name = "renamed".into();
    let run1 = run(db, "o-test", t(0)).await;
    let counts = upsert_accounts(
        &db.conn,
        &WriteContext::run(run1, t(0)),
        vec![account("111111111111", "o-test"), second],
    )
    .await
    .expect("write");
    assert_eq!(
        counts,
        WriteCounts {
            created: 1,
            ..Default::default()
        }
    );
    let row = cloud_account::Entity::find_by_id("aws:111111111111")
        .one(&db.conn)
        .await
        .expect("read")
        .expect("row");
    assert_eq!(row.name, "renamed");
}

async fn large_batches_span_several_statements(db: &TestDb) {
    let batch: Vec<_> = (0..1_234)
        .map(|i| account(&format!("{i:012}"), "o-test"))
        .collect();
    let run1 = run(db, "o-test", t(0)).await;
    let counts = upsert_accounts(&db.conn, &WriteContext::run(run1, t(0)), batch.clone())
        .await
        .expect("write");
    assert_eq!(counts.created, 1_234);
    let counts = upsert_accounts(&db.conn, &WriteContext::run(run1, t(1)), batch)
        .await
        .expect("write again");
    assert_eq!(counts.unchanged, 1_234);
    assert_eq!(account_count(db).await, 1_234);
    assert_eq!(
        asset_change::Entity::find()
            .count(&db.conn)
            .await
            .expect("count"),
        1_234
    );
}

async fn a_failed_batch_writes_nothing(db: &TestDb) {
    // The run id does not exist: the foreign key refuses the batch, and its transaction
    // leaves neither rows nor history behind.
    let batch: Vec<_> = (0..700)
        .map(|i| account(&format!("{i:012}"), "o-test"))
        .collect();
    let result = upsert_accounts(&db.conn, &WriteContext::run(987_654, t(0)), batch).await;
    assert!(matches!(result, Err(StoreError::Db(_))), "got {result:?}");
    assert_eq!(account_count(db).await, 0);
    assert_eq!(
        asset_change::Entity::find()
            .count(&db.conn)
            .await
            .expect("count"),
        0
    );
}

/// Accounts `000000000000`-`000000000009` ("account …"), written by a run of scope
/// `o-test` at `t(0)`, whose id it returns: what a failed write must leave as it was.
async fn ten_stored_accounts(db: &TestDb) -> i64 {
    let first = run(db, "o-test", t(0)).await;
    let stored: Vec<_> = (0..10)
        .map(|i| account(&format!("{i:012}"), "o-test"))
        .collect();
    upsert_accounts(&db.conn, &WriteContext::run(first, t(0)), stored)
        .await
        .expect("first write");
    first
}

async fn a_batch_failing_in_a_later_chunk_writes_nothing(db: &TestDb) {
    // Chunks are built while earlier ones execute, so a failure can come after statements
    // of the batch have run: the transaction must still take them all back, and rows stored
    // before stay as they were. PostgreSQL refuses a NUL character in text; SQLite stores it,
    // so there the batch lands whole.
    let run1 = ten_stored_accounts(db).await;
    let mut batch: Vec<_> = (0..700)
        .map(|i| {
            let mut record = account(&format!("{i:012}"), "o-test");
            record.name = format!("renamed {i}");
            record
        })
        .collect();
    batch[650].name = "nul \0 inside".into();
    let result = upsert_accounts(&db.conn, &WriteContext::run(run1, t(1)), batch).await;
    let names: Vec<String> = cloud_account::Entity::find()
        .order_by_asc(cloud_account::Column::Id)
        .all(&db.conn)
        .await
        .expect("read")
        .into_iter()
        .map(|row| row.name)
        .collect();
    let history = changes(db).await.len();
    if db.conn.get_database_backend() == DbBackend::Postgres {
        assert!(matches!(result, Err(StoreError::Db(_))), "got {result:?}");
        let before: Vec<String> = (0..10).map(|i| format!("account {i:012}")).collect();
        assert_eq!(names, before);
        assert_eq!(history, 10);
    } else {
        let counts = result.expect("SQLite stores the NUL");
        assert_eq!((counts.created, counts.updated), (690, 10));
        assert_eq!(names.len(), 700);
        assert_eq!(names[650], "nul \0 inside");
        assert_eq!(history, 710);
    }
}

async fn empty_native_ids_are_refused(db: &TestDb) {
    let result = upsert_accounts(
        &db.conn,
        &WriteContext::actor("test", t(0)),
        vec![account("123456789012", "o-test"), account(" ", "o-test")],
    )
    .await;
    assert!(
        matches!(&result, Err(StoreError::Invalid { invalid, .. }) if invalid.field == Field::NativeId),
        "got {result:?}"
    );
    assert_eq!(fixtures::account_count(db).await, 0);
}

/// Whoever writes (a collector, the file source, the mutation), the write path refuses what
/// the mutation refuses, and the whole batch with it.
async fn every_writer_gets_the_endpoint_rules(db: &TestDb) {
    let bad_id = EndpointRecord {
        id: "Bad Id!".into(),
        ..endpoint("prom-ok")
    };
    let credentials_in_url = EndpointRecord {
        url: "https://user:hunter2@prom.example.com/?token=hunter2".into(),
        ..endpoint("prom-url")
    };
    let nul_in_notes = EndpointRecord {
        notes: Some("a \0 b".into()),
        ..endpoint("prom-notes")
    };
    let ungranted_form = EndpointRecord {
        auth_mode: AuthMode::Token,
        secret_ref: Some("glsa_hunter2".into()),
        ..endpoint("prom-ref")
    };
    let cases = [
        (bad_id, Field::Id),
        (credentials_in_url, Field::Url),
        (nul_in_notes, Field::Notes),
        (ungranted_form, Field::SecretRef),
    ];
    for (record, field) in cases {
        for ctx in [
            WriteContext::actor("alice", t(0)),
            WriteContext::run(fixtures::run(db, "file:x", t(0)).await, t(0)),
        ] {
            let result =
                upsert_endpoints(&db.conn, &ctx, vec![endpoint("prom-good"), record.clone()]).await;
            match result {
                Err(StoreError::Invalid { invalid, .. }) => {
                    assert_eq!(invalid.field, field);
                    assert!(!invalid.to_string().contains("hunter2"), "{invalid}");
                }
                other => panic!("{field:?}: got {other:?}"),
            }
        }
    }
    let stored = entity::monitoring_endpoint::Entity::find()
        .all(&db.conn)
        .await
        .expect("read");
    assert!(stored.is_empty(), "{stored:?}");
}

async fn endpoints_keep_their_creator_and_name_the_last_editor(db: &TestDb) {
    let counts = upsert_endpoints(
        &db.conn,
        &WriteContext::actor("alice", t(0)),
        vec![endpoint("prom-a")],
    )
    .await
    .expect("create");
    assert_eq!(counts.created, 1);
    let counts = upsert_endpoints(
        &db.conn,
        &WriteContext::actor("bob", t(5)),
        vec![endpoint("prom-a")],
    )
    .await
    .expect("same again");
    assert_eq!(counts.unchanged, 1);

    let mut edited = endpoint("prom-a");
    edited.notes = Some("moved to eu-west-1".into());
    let counts = upsert_endpoints(&db.conn, &WriteContext::actor("bob", t(10)), vec![edited])
        .await
        .expect("edit");
    assert_eq!(counts.updated, 1);

    let row = monitoring_endpoint::Entity::find_by_id("prom-a")
        .one(&db.conn)
        .await
        .expect("read")
        .expect("row");
    assert_eq!(row.created_by.as_deref(), Some("alice"));
    assert_eq!(row.updated_by.as_deref(), Some("bob"));
    assert_eq!(row.first_seen_at, t(0));

    let history = changes(db).await;
    assert_eq!(history.len(), 2);
    assert_eq!(history[0].actor.as_deref(), Some("alice"));
    assert_eq!(history[1].actor.as_deref(), Some("bob"));
    assert_eq!(history[1].run_id, None);
    assert_eq!(
        history[1].changes,
        json!({ "notes": { "old": "seeded", "new": "moved to eu-west-1" } })
    );
}

async fn a_closed_database_is_an_error_not_a_panic(db: &TestDb) {
    let conn = db.conn.clone();
    conn.close_by_ref().await.expect("close");
    let result = upsert_accounts(
        &db.conn,
        &WriteContext::actor("test", t(0)),
        vec![account("1", "s")],
    )
    .await;
    assert!(result.is_err());
}

/// An unchanged row takes the bookkeeping of the write that saw it last, whether its batch
/// shares one provenance (the usual page) or every row brings its own (more groups than the
/// narrow update takes: the rest go through the full upsert), and records no history.
async fn unchanged_rows_take_the_latest_bookkeeping(db: &TestDb) {
    let ids: Vec<String> = (0..10)
        .map(|i| format!("{:012}", 300_000_000_000_u64 + i))
        .collect();
    let batch: Vec<_> = ids.iter().map(|id| account(id, "o-test")).collect();
    let first = run(db, "o-test", t(0)).await;
    upsert_accounts(&db.conn, &WriteContext::run(first, t(0)), batch.clone())
        .await
        .expect("create");

    for (round, minute, per_row) in [(1, 15, false), (2, 30, true)] {
        let mut again = batch.clone();
        for (i, record) in again.iter_mut().enumerate() {
            record.source = format!("aws/{round}");
            record.provenance = if per_row {
                json!({ "api": "organizations", "request_id": format!("req-{i}") })
            } else {
                json!({ "api": "organizations", "page": round })
            };
        }
        let later = run(db, "o-test", t(minute)).await;
        let counts = upsert_accounts(&db.conn, &WriteContext::run(later, t(minute)), again)
            .await
            .expect("write again");
        assert_eq!(counts.unchanged, 10, "round {round}");
        let rows = cloud_account::Entity::find()
            .order_by_asc(cloud_account::Column::Id)
            .all(&db.conn)
            .await
            .expect("read");
        for (i, row) in rows.iter().enumerate() {
            assert_eq!(row.source, format!("aws/{round}"), "round {round}");
            assert_eq!(
                (row.last_seen_at, row.last_run_id),
                (t(minute), Some(later))
            );
            assert_eq!((row.first_seen_at, row.removed_at), (t(0), None));
            let expected = if per_row {
                json!({ "api": "organizations", "request_id": format!("req-{i}") })
            } else {
                json!({ "api": "organizations", "page": round })
            };
            assert_eq!(row.provenance, expected, "round {round}, row {i}");
            assert_eq!(row.raw, batch[i].raw, "observed fields stay");
        }
    }
    assert_eq!(
        changes(db).await.len(),
        10,
        "only the creations are history"
    );
}

/// JSON goes to the database as text (see `write::rows`): values that text can get wrong —
/// quotes, backslashes, control characters, non-ASCII, SQL-looking text, large and
/// fractional numbers, deep nesting, empty containers — come back as written, in the row
/// and in its history, and a second write of the same record is no change.
async fn awkward_json_round_trips_exactly(db: &TestDb) {
    let mut record = account("333333333333", "o-test");
    record.raw = json!({
        "quote": "say \"hi\"", "backslash": "C:\\temp\\new", "newline": "a\nb\tc\u{1}",
        "unicode": "Zürich — 東京 🚀", "sql": "'); DROP TABLE cloud_accounts; --",
        "cast": "x'::jsonb", "big": 9007199254740993_u64, "negative": -12, "fraction": 0.125,
        "nested": { "a": [[[]], {}, [null, true, false]] }, "empty": "",
    });
    record.provenance = json!({ "page": "p'1", "request_ids": ["r\"1"] });
    // Text that text formats reserve (tabs, line ends, backslashes, and a `\N` that must
    // stay text rather than become NULL): bound values carry it unchanged.
    record.name = "tab\there\nnew line\\back slash \\N".into();
    record.org_path = "o-test/\r/\\N/\"quoted\"".into();
    record.raw_status = Some("\\N".into());
    let written = record.raw.clone();
    let first = run(db, "o-test", t(0)).await;
    upsert_accounts(
        &db.conn,
        &WriteContext::run(first, t(0)),
        vec![record.clone()],
    )
    .await
    .expect("write");
    let row = cloud_account::Entity::find_by_id("aws:333333333333")
        .one(&db.conn)
        .await
        .expect("read")
        .expect("row exists");
    assert_eq!(row.raw, written);
    assert_eq!(row.provenance, record.provenance);
    assert_eq!(row.name, record.name);
    assert_eq!(row.org_path, record.org_path);
    assert_eq!(row.raw_status, record.raw_status);

    let second = run(db, "o-test", t(15)).await;
    let counts = upsert_accounts(
        &db.conn,
        &WriteContext::run(second, t(15)),
        vec![record.clone()],
    )
    .await
    .expect("second write");
    assert_eq!(counts.unchanged, 1, "{counts:?}");

    // Replaced: history keeps the value it replaced, and rebuilds the creation from it.
    record.raw = json!({ "replaced": true });
    let third = run(db, "o-test", t(30)).await;
    upsert_accounts(&db.conn, &WriteContext::run(third, t(30)), vec![record])
        .await
        .expect("third write");
    let history = changes(db).await;
    assert_eq!(history.len(), 2);
    assert_eq!(history[1].changes["raw"]["old"], written);
    let created = [(history[0].id, history[0].asset_id.clone())];
    let rebuilt = as_of::created_fields(&db.conn, AssetType::CloudAccount, &created)
        .await
        .expect("rebuild the creation");
    let raw = rebuilt[&history[0].id].iter().find(|(f, _)| f == "raw");
    assert_eq!(raw, Some(&("raw".to_owned(), written)));
}

/// New accounts are copied on PostgreSQL and endpoints inserted: both keep the same instant
/// for the same write time, to the microsecond the server stores.
async fn copied_and_inserted_rows_keep_the_same_time(db: &TestDb) {
    let at = t(0) + chrono::Duration::nanoseconds(123_456_789);
    let first = run(db, "o-test", at).await;
    let ctx = WriteContext::run(first, at);
    upsert_accounts(&db.conn, &ctx, vec![account("444444444444", "o-test")])
        .await
        .expect("write the account");
    upsert_endpoints(&db.conn, &ctx, vec![endpoint("prom-a")])
        .await
        .expect("write the endpoint");
    let account = stored_account(db, "aws:444444444444").await;
    let endpoint = monitoring_endpoint::Entity::find_by_id("prom-a")
        .one(&db.conn)
        .await
        .expect("read")
        .expect("endpoint exists");
    assert_eq!(account.first_seen_at, endpoint.first_seen_at);
    assert_eq!(account.last_seen_at, account.first_seen_at);
    let lost = at - account.first_seen_at;
    assert!(
        lost >= chrono::Duration::zero() && lost < chrono::Duration::microseconds(1),
        "stored {} for {at}",
        account.first_seen_at
    );
    let history = changes(db).await;
    assert!(
        history.iter().all(|c| c.at == account.first_seen_at),
        "{history:?}"
    );
}

/// Sets one column of account `id` by hand, behind the write path's back.
async fn set_by_hand(db: &TestDb, id: &str, column: cloud_account::Column, value: sea_orm::Value) {
    use sea_orm::sea_query::Expr;
    use sea_orm::{ColumnTrait, QueryFilter};
    cloud_account::Entity::update_many()
        .col_expr(column, Expr::value(value))
        .filter(cloud_account::Column::Id.eq(id))
        .exec(&db.conn)
        .await
        .expect("write by hand");
}

/// Writes `records` as a run of scope `o-test` at `minutes`.
async fn write_run(db: &TestDb, minutes: i64, records: Vec<AccountRecord>) -> (i64, WriteCounts) {
    let run_id = run(db, "o-test", t(minutes)).await;
    let counts = upsert_accounts(&db.conn, &WriteContext::run(run_id, t(minutes)), records)
        .await
        .expect("write");
    (run_id, counts)
}

async fn stored_account(db: &TestDb, id: &str) -> cloud_account::Model {
    cloud_account::Entity::find_by_id(id)
        .one(&db.conn)
        .await
        .expect("read")
        .expect("row exists")
}

/// An unchanged account is told by the digest of its observed fields: its stored record is
/// not read back. Edited behind the write path's back (never done outside this test), the
/// stored raw record stays as it is while the digest matches, and is compared, found
/// changed and recorded once the digest does not.
async fn unchanged_accounts_are_told_by_their_digest(db: &TestDb) {
    const ID: &str = "aws:111111111111";
    let record = account("111111111111", "o-test");
    write_run(db, 0, vec![record.clone()]).await;
    let digest = stored_account(db, ID)
        .await
        .observed_digest
        .expect("a digest is kept");
    assert_eq!(digest.len(), 32, "SHA-256");
    let by_hand = json!({ "edited": "by hand" });
    set_by_hand(db, ID, cloud_account::Column::Raw, by_hand.clone().into()).await;

    let (second, counts) = write_run(db, 15, vec![record.clone()]).await;
    assert_eq!(counts.unchanged, 1, "{counts:?}");
    let row = stored_account(db, ID).await;
    assert_eq!(row.raw, by_hand, "the stored raw record was not read");
    assert_eq!(row.last_run_id, Some(second));
    assert_eq!(changes(db).await.len(), 1, "only the creation");

    set_by_hand(
        db,
        ID,
        cloud_account::Column::ObservedDigest,
        vec![0u8; 32].into(),
    )
    .await;
    let (_, counts) = write_run(db, 30, vec![record.clone()]).await;
    assert_eq!(counts.updated, 1, "{counts:?}");
    let row = stored_account(db, ID).await;
    assert_eq!(row.raw, record.raw);
    assert_eq!(
        row.observed_digest,
        Some(digest),
        "the digest is the record's again"
    );
    let history = changes(db).await;
    assert_eq!(history.len(), 2);
    assert_eq!(history[1].kind, ChangeKind::Updated);
    assert_eq!(
        history[1].changes,
        json!({ "raw": { "old": by_hand, "new": record.raw } })
    );
}

/// Accounts written before digests were kept (a null digest) are compared whole on their
/// next write, as before, and get a digest then, changed or not.
async fn accounts_without_a_digest_are_compared_whole_and_get_one(db: &TestDb) {
    let batch = vec![
        account("111111111111", "o-test"),
        account("222222222222", "o-test"),
    ];
    write_run(db, 0, batch.clone()).await;
    for record in &batch {
        let column = cloud_account::Column::ObservedDigest;
        set_by_hand(db, &record.id(), column, None::<Vec<u8>>.into()).await;
    }

    let mut renamed = batch.clone();
    renamed[1].name = "renamed".into();
    let (second, counts) = write_run(db, 15, renamed.clone()).await;
    assert_eq!((counts.unchanged, counts.updated), (1, 1), "{counts:?}");
    let history = changes(db).await;
    assert_eq!(history.len(), 3);
    assert_eq!(history[2].asset_id, "aws:222222222222");
    assert_eq!(
        history[2].changes,
        json!({ "name": { "old": "account 222222222222", "new": "renamed" } })
    );
    let rows = cloud_account::Entity::find()
        .order_by_asc(cloud_account::Column::Id)
        .all(&db.conn)
        .await
        .expect("read");
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|r| r.observed_digest.is_some()), "{rows:?}");
    assert!(rows.iter().all(|r| r.last_run_id == Some(second)));

    let (_, counts) = write_run(db, 30, renamed).await;
    assert_eq!(counts.unchanged, 2, "{counts:?}");
    assert_eq!(changes(db).await.len(), 3);
}

/// A write larger than a segment (1,000 records) whose segments mix new accounts with
/// changed, restored and unchanged ones, in no particular order: new rows, updates,
/// restores and bookkeeping go by different statements, and every kind must still land
/// once, with its history.
async fn mixed_writes_over_several_segments_land_whole(db: &TestDb) {
    const STORED: usize = 1_500;
    const ALL: usize = 2_600;
    let id = |i: usize| format!("{i:012}");
    let run1 = run(db, "o-test", t(0)).await;
    let first: Vec<_> = (0..STORED).map(|i| account(&id(i), "o-test")).collect();
    upsert_accounts(&db.conn, &WriteContext::run(run1, t(0)), first)
        .await
        .expect("first write");
    let removed: Vec<String> = (100..110).map(|i| format!("aws:{}", id(i))).collect();
    entity::write::remove(
        &db.conn,
        &WriteContext::actor("tester", t(1)),
        AssetType::CloudAccount,
        &removed,
    )
    .await
    .expect("remove");

    let renamed = |i: usize| i < STORED && i.is_multiple_of(7);
    // A permutation of 0..ALL (7,919 is prime to 2,600), so every segment mixes kinds.
    let batch: Vec<_> = (0..ALL)
        .map(|n| n * 7_919 % ALL)
        .map(|i| {
            let mut record = account(&id(i), "o-test");
            if renamed(i) {
                record.name = format!("renamed {i}");
            }
            record
        })
        .collect();
    let run2 = run(db, "o-test", t(2)).await;
    let counts = upsert_accounts(&db.conn, &WriteContext::run(run2, t(2)), batch)
        .await
        .expect("second write");
    let restored = 10;
    let updated = (0..STORED)
        .filter(|&i| renamed(i) && !(100..110).contains(&i))
        .count() as u64;
    let created = (ALL - STORED) as u64;
    assert_eq!(
        counts,
        WriteCounts {
            created,
            updated,
            restored,
            unchanged: STORED as u64 - updated - restored,
            removed: 0,
        }
    );

    let rows = cloud_account::Entity::find()
        .order_by_asc(cloud_account::Column::NativeId)
        .all(&db.conn)
        .await
        .expect("read");
    assert_eq!(rows.len(), ALL);
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(row.native_id, id(i));
        let name = if renamed(i) {
            format!("renamed {i}")
        } else {
            format!("account {}", id(i))
        };
        assert_eq!(row.name, name, "{}", row.id);
        assert_eq!(row.last_run_id, Some(run2), "{}", row.id);
        assert_eq!(row.removed_at, None, "{}", row.id);
    }
    let history = changes(db).await;
    let count = |kind: ChangeKind| history.iter().filter(|c| c.kind == kind).count() as u64;
    assert_eq!(count(ChangeKind::Created), STORED as u64 + created);
    assert_eq!(count(ChangeKind::Removed), restored);
    assert_eq!(count(ChangeKind::Restored), restored);
    assert_eq!(count(ChangeKind::Updated), updated);
    let second: Vec<_> = history.iter().filter(|c| c.run_id == Some(run2)).collect();
    assert_eq!(second.len() as u64, created + updated + restored);
}

entity::on_both_backends!(
    awkward_json_round_trips_exactly,
    copied_and_inserted_rows_keep_the_same_time,
    unchanged_accounts_are_told_by_their_digest,
    accounts_without_a_digest_are_compared_whole_and_get_one,
    unchanged_rows_take_the_latest_bookkeeping,
    writing_the_same_batch_twice_changes_only_last_seen,
    a_change_records_only_the_changed_fields,
    duplicates_in_a_batch_keep_the_last,
    large_batches_span_several_statements,
    mixed_writes_over_several_segments_land_whole,
    a_failed_batch_writes_nothing,
    a_batch_failing_in_a_later_chunk_writes_nothing,
    empty_native_ids_are_refused,
    every_writer_gets_the_endpoint_rules,
    endpoints_keep_their_creator_and_name_the_last_editor,
    a_closed_database_is_an_error_not_a_panic,
);

/// The backends writing this test's `cloud_accounts` (PostgreSQL): each holds
/// `RowExclusiveLock` on it from its first statement until it commits. No other test's
/// connection does, as each test has its own schema.
const WRITERS: &str = "SELECT l.pid FROM pg_locks l WHERE l.locktype = 'relation' \
                       AND l.relation = 'cloud_accounts'::regclass \
                       AND l.mode = 'RowExclusiveLock' AND l.granted";

/// A write inserts the accounts it read as new. Another writer may insert one of them
/// between that read and the insert (two collectors whose scopes overlap): the write must
/// merge (`ON CONFLICT`) instead of failing. Here the other writer's insert is held open
/// until the write waits on it, then committed. PostgreSQL only: SQLite has one writer at a
/// time.
#[tokio::test]
async fn an_account_inserted_meanwhile_by_another_writer_is_merged() {
    use sea_orm::{IntoActiveModel, TransactionTrait};
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let meanwhile = run(&db, "o-other", t(0)).await;
    let ours = run(&db, "o-test", t(5)).await;
    let other = entity::db::connect(&db.options).await.expect("second pool");
    let txn = other.begin().await.expect("begin");
    let theirs = cloud_account::Model {
        id: "aws:555555555555".into(),
        provider: entity::enums::Provider::Aws,
        native_id: "555555555555".into(),
        name: "their name".into(),
        org_path: "o-other".into(),
        ancestors: json_column::Ancestors::default(),
        parent: None,
        status: AccountStatus::Active,
        raw_status: None,
        region_residency: None,
        tags: json_column::Tags::default(),
        raw: json!({}),
        scope: "o-other".into(),
        source: "other/0".into(),
        first_seen_at: t(0),
        last_seen_at: t(0),
        removed_at: None,
        last_run_id: Some(meanwhile),
        provenance: json!({}),
        observed_digest: None,
        tags_read_at: None,
    };
    cloud_account::Entity::insert(theirs.into_active_model())
        .exec(&txn)
        .await
        .expect("their insert");

    let conn = db.conn.clone();
    let write = tokio::spawn(async move {
        // More than a first chunk, so the copy that fails was sent in several parts, all of
        // which the merge must bring in.
        let mut batch = vec![
            account("555555555555", "o-test"),
            account("666666666666", "o-test"),
        ];
        batch.extend(
            (0..198).map(|i| account(&format!("{:012}", 700_000_000_000u64 + i), "o-test")),
        );
        upsert_accounts(&conn, &WriteContext::run(ours, t(5)), batch).await
    });
    // The copy reads nothing of the uncommitted row, then waits on its key: a writer of this
    // test's table that waits for a lock.
    let waiting = format!(
        "SELECT count(*) AS n FROM pg_locks w WHERE NOT w.granted AND w.pid IN ({WRITERS})"
    );
    let mut polls = 0;
    loop {
        let row = crate::fixtures::query_one(&db, &waiting).await;
        if row.try_get::<i64>("", "n").expect("count") > 0 {
            break;
        }
        polls += 1;
        assert!(
            polls < 3_000,
            "the write never waited on the other writer's key"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    txn.commit().await.expect("their commit");

    let counts = write.await.expect("join").expect("the write merges");
    assert_eq!(counts.created, 200, "{counts:?}");
    let merged = stored_account(&db, "aws:555555555555").await;
    assert_eq!(merged.name, "account 555555555555");
    assert_eq!(merged.last_run_id, Some(ours));
    assert_eq!(
        merged.first_seen_at,
        t(0),
        "the first writer's first sighting stays"
    );
    assert_eq!(
        stored_account(&db, "aws:666666666666").await.last_run_id,
        Some(ours)
    );
    assert_eq!(accounts_last_seen_by(&db, ours).await, 200);
    assert_eq!(changes(&db).await.len(), 200);
    other.close().await.expect("close");
    db.finish().await;
}

/// The server ends the writing connection in the middle of a bulk write (an administrator's
/// `pg_terminate_backend`, a failover, a restart): the write must return the error instead
/// of hanging or panicking, keep none of what it sent, and leave the pool able to write the
/// same batch again. PostgreSQL only: SQLite has no server to end a connection.
#[tokio::test]
async fn a_connection_ended_mid_write_writes_nothing_and_the_pool_writes_again() {
    use sea_orm::ConnectionTrait;
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    entity::testing::within_hang_limit(async {
        ten_stored_accounts(&db).await;
        // Five segments of new accounts: the first insert starts long before the last ends.
        let batch: Vec<_> = (0..5_000)
            .map(|i| account(&format!("{:012}", 800_000_000_000u64 + i), "o-test"))
            .collect();
        let second = run(&db, "o-test", t(1)).await;

        let conn = db.conn.clone();
        let again = batch.clone();
        let write = tokio::spawn(async move {
            upsert_accounts(&conn, &WriteContext::run(second, t(1)), again).await
        });
        // The writer holds its row lock on this test's table from its first insert until it
        // commits.
        let writer = format!("{WRITERS} AND l.pid <> pg_backend_pid()");
        let mut polls = 0;
        let pid = loop {
            let row = db
                .conn
                .query_one_raw(sea_orm::Statement::from_string(
                    DbBackend::Postgres,
                    writer.as_str(),
                ))
                .await
                .expect("pg_locks");
            if let Some(row) = row {
                break row.try_get::<i32>("", "pid").expect("pid");
            }
            polls += 1;
            assert!(polls < 30_000, "the write never started copying");
            assert!(
                !write.is_finished(),
                "the write ended before it was seen copying"
            );
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        };
        db.conn
            .execute_raw(sea_orm::Statement::from_string(
                DbBackend::Postgres,
                format!("SELECT pg_terminate_backend({pid})"),
            ))
            .await
            .expect("terminate the writer");

        let result = write.await.expect("the write returns, it does not panic");
        assert!(matches!(result, Err(StoreError::Db(_))), "got {result:?}");
        assert_eq!(
            account_count(&db).await,
            10,
            "none of the ended write's accounts stay"
        );
        assert_eq!(changes(&db).await.len(), 10, "nor any of its history");

        let counts = upsert_accounts(&db.conn, &WriteContext::run(second, t(1)), batch)
            .await
            .expect("the pool writes again");
        assert_eq!(counts.created, 5_000, "{counts:?}");
        assert_eq!(accounts_last_seen_by(&db, second).await, 5_000);
    })
    .await;
    db.finish().await;
}
