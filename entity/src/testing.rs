//! One database per test, on SQLite (always) and PostgreSQL (when
//! `INVENTORY_TEST_POSTGRES_URL` is set): every PostgreSQL test gets a fresh schema, so tests
//! run in parallel without seeing each other's rows. Compiled only with the `testing` feature.

use crate::db::{Backend, DbOptions, connect};
use sea_orm::{ConnectionTrait, DatabaseConnection};
use std::io::Write;
use std::sync::Once;
use std::sync::atomic::{AtomicU32, Ordering};

/// The variable that turns the PostgreSQL half of the suites on.
pub const POSTGRES_URL_VAR: &str = "INVENTORY_TEST_POSTGRES_URL";

/// A database of one's own for one test.
pub struct TestDb {
    pub conn: DatabaseConnection,
    pub options: DbOptions,
    admin: Option<DatabaseConnection>,
}

impl TestDb {
    /// A migrated in-memory SQLite database.
    pub async fn sqlite() -> Self {
        Self::sqlite_unmigrated().await.migrated().await
    }

    /// An empty in-memory SQLite database.
    pub async fn sqlite_unmigrated() -> Self {
        let options = DbOptions::new("sqlite::memory:");
        let conn = connect(&options).await.expect("open in-memory SQLite");
        Self {
            conn,
            options,
            admin: None,
        }
    }

    /// A migrated fresh PostgreSQL schema, or `None` (with a note on stderr, once per test
    /// binary) when no PostgreSQL test URL is configured. A configured but unreachable server
    /// fails the test: in CI that must never pass as a skip.
    pub async fn postgres() -> Option<Self> {
        Some(Self::postgres_unmigrated().await?.migrated().await)
    }

    /// A fresh PostgreSQL schema that does not exist yet (migrations create it).
    pub async fn postgres_unmigrated() -> Option<Self> {
        let Ok(url) = std::env::var(POSTGRES_URL_VAR) else {
            static NOTE: Once = Once::new();
            NOTE.call_once(|| {
                // Written straight to stderr: the test harness captures print macros only,
                // and this note must be seen by whoever ran the suite.
                let _ = writeln!(
                    std::io::stderr(),
                    "note: {POSTGRES_URL_VAR} is not set; the PostgreSQL half of these tests was skipped"
                );
            });
            return None;
        };
        assert_eq!(
            Backend::of(&url),
            Backend::Postgres,
            "{POSTGRES_URL_VAR} must be a postgres:// URL"
        );
        let mut options = DbOptions::new(url.clone());
        options.schema = unique_schema();
        options.max_connections = 4;
        let conn = connect(&options)
            .await
            .unwrap_or_else(|err| panic!("{POSTGRES_URL_VAR} is set but unusable: {err}"));
        let mut admin_options = DbOptions::new(url);
        admin_options.max_connections = 1;
        let admin = connect(&admin_options).await.expect("admin connection");
        Some(Self {
            conn,
            options,
            admin: Some(admin),
        })
    }

    async fn migrated(self) -> Self {
        migration::up(&self.conn).await.expect("migrations apply");
        self
    }

    /// Drops the test's PostgreSQL schema. A test that panics leaves its schema behind; the
    /// names are unique, so that only costs space.
    pub async fn finish(self) {
        self.conn.close().await.ok();
        if let Some(admin) = self.admin {
            admin
                .execute_unprepared(&format!(
                    "DROP SCHEMA IF EXISTS \"{}\" CASCADE",
                    self.options.schema
                ))
                .await
                .expect("drop the test schema");
            admin.close().await.ok();
        }
    }
}

fn unique_schema() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    format!(
        "t_{}_{}_{nanos}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// How long one test body may take before it counts as hung. Far above any test's real
/// duration: it is there so a hang fails its own test by name instead of stalling the suite
/// until CI gives up on all of it.
pub const HANG_LIMIT: std::time::Duration = std::time::Duration::from_secs(300);

/// Awaits a test body, failing the test if it outlives [`HANG_LIMIT`].
pub async fn within_hang_limit<F: std::future::Future>(body: F) -> F::Output {
    match tokio::time::timeout(HANG_LIMIT, body).await {
        Ok(output) => output,
        Err(_) => panic!(
            "the test did not finish within {}s: it hangs",
            HANG_LIMIT.as_secs()
        ),
    }
}

/// Runs each named `async fn(&TestDb)` twice: as `<name>::sqlite` and `<name>::postgres`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),+ $(,)?) => {
        $(
            mod $name {
                #[tokio::test]
                async fn sqlite() {
                    let db = $crate::testing::TestDb::sqlite().await;
                    $crate::testing::within_hang_limit(super::$name(&db)).await;
                    db.finish().await;
                }

                #[tokio::test]
                async fn postgres() {
                    if let Some(db) = $crate::testing::TestDb::postgres().await {
                        $crate::testing::within_hang_limit(super::$name(&db)).await;
                        db.finish().await;
                    }
                }
            }
        )+
    };
}
