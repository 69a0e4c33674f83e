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

/// What a [`PgProxy`] does with connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Forward,
    /// Closes new connections at once, as a server that is down.
    Refuse,
    /// Accepts new connections and never answers, as a server behind a dead route.
    Hang,
}

/// A TCP proxy in front of the test PostgreSQL server, so a test can take the database away
/// from one pool without touching other tests: end every connection from the server's side
/// (as a restart or a fail-over does), refuse connections, or swallow them.
pub struct PgProxy {
    /// The mode, and a generation whose change ends every forwarded connection.
    state: tokio::sync::watch::Sender<(Mode, u64)>,
    /// The local ports of the forwarded connections, as the server sees them.
    upstream_ports: std::sync::Arc<std::sync::Mutex<Vec<u16>>>,
}

impl PgProxy {
    /// A pool over `db`'s schema (PostgreSQL) whose connections go through a new proxy.
    pub async fn connect(db: &TestDb) -> (DatabaseConnection, Self) {
        let mut url =
            url::Url::parse(secrecy::ExposeSecret::expose_secret(&db.options.url)).expect("a URL");
        let server: std::net::SocketAddr = format!(
            "{}:{}",
            url.host_str().expect("a host"),
            url.port().unwrap_or(5432)
        )
        .parse()
        .expect("the test server is named by IP address");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        url.set_port(Some(listener.local_addr().expect("address").port()))
            .expect("port");
        let (state, _) = tokio::sync::watch::channel((Mode::Forward, 0));
        let proxy = Self {
            state,
            upstream_ports: Default::default(),
        };
        let (states, ports) = (proxy.state.clone(), proxy.upstream_ports.clone());
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((mut client, _)) = listener.accept().await {
                let mut watcher = states.subscribe();
                let (mode, generation) = *watcher.borrow_and_update();
                match mode {
                    Mode::Refuse => continue,
                    Mode::Hang => {
                        held.push(client);
                        continue;
                    }
                    Mode::Forward => {}
                }
                let Ok(mut upstream) = tokio::net::TcpStream::connect(server).await else {
                    continue;
                };
                if let Ok(local) = upstream.local_addr() {
                    ports.lock().expect("lock").push(local.port());
                }
                tokio::spawn(async move {
                    let hanging = tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut upstream) => false,
                        state = watcher.wait_for(|(m, g)| *g != generation || *m == Mode::Hang) => {
                            state.is_ok_and(|s| s.1 == generation)
                        }
                    };
                    if hanging {
                        // Both ends stay open and nothing moves until the next change.
                        let _ = watcher.wait_for(|(_, g)| *g != generation).await;
                    }
                });
            }
        });
        let options = DbOptions {
            url: url.to_string().into(),
            ..db.options.clone()
        };
        (connect(&options).await.expect("connect"), proxy)
    }

    /// Opens the four connections a test pool holds, so each is pooled when the server
    /// ends them.
    pub async fn fill_pool(conn: &DatabaseConnection) {
        use sea_orm::{DbBackend, Statement};
        let sleep = || {
            conn.execute_raw(Statement::from_string(
                DbBackend::Postgres,
                "SELECT pg_sleep(0.2)",
            ))
        };
        let (a, b, c, d) = tokio::join!(sleep(), sleep(), sleep(), sleep());
        for result in [a, b, c, d] {
            result.expect("a query");
        }
    }

    /// Ends, from the server's side, every connection this proxy forwarded (SQLSTATE
    /// 57P01, as in a restart); returns how many the server ended.
    pub async fn server_ends_connections(&self, db: &TestDb) -> u64 {
        use sea_orm::{DbBackend, Statement};
        let ports: Vec<String> = self
            .upstream_ports
            .lock()
            .expect("lock")
            .iter()
            .map(u16::to_string)
            .collect();
        let row = db
            .conn
            .query_one_raw(Statement::from_string(
                DbBackend::Postgres,
                format!(
                    "SELECT count(pg_terminate_backend(pid)) AS ended FROM pg_stat_activity \
                     WHERE client_port IN ({})",
                    ports.join(",")
                ),
            ))
            .await
            .expect("terminate")
            .expect("a row");
        u64::try_from(row.try_get::<i64>("", "ended").expect("a count")).unwrap_or_default()
    }

    /// Switches to `mode` and ends every connection of the mode before.
    fn set(&self, mode: Mode) {
        self.state.send_modify(|(current, generation)| {
            *current = mode;
            *generation += 1;
        });
    }

    /// Ends every forwarded connection and closes new ones at once.
    pub fn refuse(&self) {
        self.set(Mode::Refuse);
    }

    /// Stops answering: forwarded connections stay open with nothing moving, and new ones
    /// are held the same way.
    pub fn hang(&self) {
        self.state.send_modify(|(current, _)| *current = Mode::Hang);
    }

    /// Ends every held or forwarded connection and forwards new ones again.
    pub fn forward(&self) {
        self.set(Mode::Forward);
    }
}
