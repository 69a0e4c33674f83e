//! The database going away under a run, on the real PostgreSQL server: reached through a
//! TCP proxy of the test's, the server can end every pooled connection (as a restart or a
//! fail-over does: `pg_terminate_backend`, SQLSTATE 57P01) or be unreachable for a while.
//! A write after a restart must not fail on a connection the server already ended, and a run
//! whose database goes away is closed with its outcome once it comes back, or by the next
//! run of its scope.

use chrono::Utc;
use collectors::runner::{RunOptions, run};
use collectors::source::{CollectError, Owns, Page, Source};
use entity::collector_run;
use entity::enums::{AccountStatus, Provider, RunStatus};
use entity::record::AccountRecord;
use entity::run::{ABANDONED, start_run};
use entity::testing::{PgProxy, TestDb};
use entity::write::{WriteContext, upsert_accounts};
use sea_orm::EntityTrait;
use std::sync::Arc;
use std::time::Duration;

fn account(native_id: &str) -> AccountRecord {
    serde_json::from_value(serde_json::json!({
        "provider": Provider::Aws, "native_id": native_id, "name": format!("account {native_id}"),
        "status": AccountStatus::Active,
    }))
    .expect("a record")
}

#[tokio::test]
async fn writes_after_a_server_restart_take_fresh_connections() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let (conn, proxy) = PgProxy::connect(&db).await;
    PgProxy::fill_pool(&conn).await;
    // The server ends all four pooled connections, as a restart does, and is back at once.
    assert_eq!(proxy.server_ends_connections(&db).await, 4);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let run = start_run(&conn, "restart", "0", "o-restart", Utc::now())
        .await
        .expect("the run starts on a fresh connection");
    PgProxy::fill_pool(&conn).await;
    assert!(proxy.server_ends_connections(&db).await >= 1);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let counts = upsert_accounts(
        &conn,
        &WriteContext::run(run.id, Utc::now()),
        vec![account("111111111111")],
    )
    .await
    .expect("the first write after the restart lands");
    assert_eq!(counts.created, 1);
    conn.close().await.ok();
    db.finish().await;
}

/// A source that reads one page, then (with a proxy) takes the database away for
/// `away_for` before it says it is done.
struct Outage {
    proxy: Option<(Arc<PgProxy>, Duration)>,
    pages: u32,
}

impl Source for Outage {
    fn collector(&self) -> &'static str {
        "outage"
    }

    fn owns(&self) -> Owns {
        Owns {
            accounts: true,
            endpoints: false,
        }
    }

    async fn open(&mut self) -> Result<String, CollectError> {
        Ok("o-outage".into())
    }

    async fn next_page(&mut self) -> Result<Option<Page>, CollectError> {
        self.pages += 1;
        if self.pages == 1 {
            return Ok(Some(Page {
                accounts: vec![account("222222222222")],
                ..Page::default()
            }));
        }
        if let Some((proxy, away_for)) = self.proxy.clone() {
            proxy.refuse();
            tokio::spawn(async move {
                tokio::time::sleep(away_for).await;
                proxy.forward();
            });
        }
        Ok(None)
    }
}

#[tokio::test]
async fn a_run_is_closed_when_its_database_comes_back() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let (conn, proxy) = PgProxy::connect(&db).await;
    let proxy = Arc::new(proxy);
    // Away for longer than the pool's acquire timeout (5 s): removing what the run did not
    // see fails, and closing the run waits for the database.
    let mut source = Outage {
        proxy: Some((proxy.clone(), Duration::from_secs(8))),
        pages: 0,
    };
    let done = run(&conn, &mut source, &RunOptions::default())
        .await
        .expect("the run is recorded once the database is back");
    assert_eq!(done.status, RunStatus::Partial, "{:?}", done.error);
    assert_eq!((done.pages, done.seen, done.created), (1, 1, 1));
    assert!(
        done.error
            .as_deref()
            .unwrap_or_default()
            .contains("read completely"),
        "{:?}",
        done.error
    );
    let stored = collector_run::Entity::find_by_id(done.id)
        .one(&db.conn)
        .await
        .expect("read")
        .expect("stored");
    assert_eq!(stored.status, RunStatus::Partial);
    assert!(stored.finished_at.is_some());
    conn.close().await.ok();
    db.finish().await;
}

/// A run left `running` by a process that could not close it is closed as failed by the
/// next run of its scope, on either backend.
async fn an_abandoned_run_is_closed_by_the_next(db: &TestDb) {
    let long_ago = Utc::now() - chrono::Duration::hours(1);
    let abandoned = start_run(&db.conn, "outage", "0", "o-outage", long_ago)
        .await
        .expect("a run");
    let other_scope = start_run(&db.conn, "outage", "0", "o-other", long_ago)
        .await
        .expect("a run");
    let mut source = Outage {
        proxy: None,
        pages: 0,
    };
    let done = run(&db.conn, &mut source, &RunOptions::default())
        .await
        .expect("run");
    assert_eq!(done.status, RunStatus::Succeeded, "{:?}", done.error);
    let find = |id| collector_run::Entity::find_by_id(id).one(&db.conn);
    let closed = find(abandoned.id).await.expect("read").expect("stored");
    assert_eq!(closed.status, RunStatus::Failed);
    assert_eq!(closed.error.as_deref(), Some(ABANDONED));
    assert!(closed.finished_at.is_some());
    // Another scope's run is not this run's to judge.
    let untouched = find(other_scope.id).await.expect("read").expect("stored");
    assert_eq!(untouched.status, RunStatus::Running);
}

entity::on_both_backends!(an_abandoned_run_is_closed_by_the_next);
