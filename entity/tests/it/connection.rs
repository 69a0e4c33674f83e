//! The pool's PostgreSQL connections answer a statement longer than one TLS record without
//! waiting on Nagle's algorithm. With it on (sqlx 0.9.0 left `TCP_NODELAY` unset), the
//! tail of each such statement waited for the server's delayed ACK, about 40 ms a round
//! trip; sqlx 0.9.1 sets the option on every socket it opens. A round trip here takes well
//! under a millisecond on loopback, so even a loaded machine stays far below the stall.

use entity::testing::TestDb;
use sea_orm::{ConnectionTrait, DatabaseBackend, Statement};
use std::time::{Duration, Instant};

/// Longer than three TLS records (16 KiB each): several writes before the answer is read.
const STATEMENT_BYTES: usize = 48 * 1024;
const ROUND_TRIPS: u32 = 40;
/// Half the delayed ACK a stalled round trip waits for.
const STALL: Duration = Duration::from_millis(20);

#[tokio::test]
async fn large_statements_do_not_wait_for_delayed_acks() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let tls = db
        .conn
        .query_one_raw(Statement::from_string(
            DatabaseBackend::Postgres,
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
        ))
        .await
        .expect("query")
        .and_then(|row| row.try_get_by_index::<bool>(0).ok())
        .unwrap_or(false);
    let payload = "x".repeat(STATEMENT_BYTES);
    let started = Instant::now();
    for _ in 0..ROUND_TRIPS {
        let row = db
            .conn
            .query_one_raw(Statement::from_sql_and_values(
                DatabaseBackend::Postgres,
                "SELECT length($1)",
                [payload.clone().into()],
            ))
            .await
            .expect("query")
            .expect("a row");
        let length: i32 = row.try_get_by_index(0).expect("a length");
        assert_eq!(length as usize, STATEMENT_BYTES);
    }
    let per_round_trip = started.elapsed() / ROUND_TRIPS;
    assert!(
        per_round_trip < STALL,
        "a {STATEMENT_BYTES}-byte statement took {per_round_trip:?} a round trip (TLS: {tls}): \
         the connection waits on Nagle's algorithm"
    );
    db.finish().await;
}

/// A statement longer than the pool's `statement_timeout` is cancelled by the server with a
/// clear error; the options for migrations carry none.
#[tokio::test]
async fn statements_are_bounded_except_for_migrations() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let mut options = db.options.clone();
    options.statement_timeout = Some(Duration::from_millis(200));
    options.max_connections = 1;
    let bounded = entity::db::connect(&options).await.expect("connect");
    let error = bounded
        .execute_unprepared("SELECT pg_sleep(5)")
        .await
        .expect_err("cancelled");
    assert!(error.to_string().contains("statement timeout"), "{error}");
    let show = |conn: sea_orm::DatabaseConnection| async move {
        let row = conn
            .query_one_raw(Statement::from_string(
                DatabaseBackend::Postgres,
                "SHOW statement_timeout",
            ))
            .await
            .expect("query")
            .expect("a row");
        let value: String = row.try_get_by_index(0).expect("a setting");
        conn.close().await.ok();
        value
    };
    assert_eq!(show(bounded).await, "200ms");
    let migrations = entity::db::connect(&options.for_migrations())
        .await
        .expect("connect");
    assert_eq!(show(migrations).await, "0");
    db.finish().await;
}
