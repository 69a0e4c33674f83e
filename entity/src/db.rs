//! Opening the database: one URL for both backends, the schema on PostgreSQL, WAL and a busy
//! timeout on SQLite so the API and a collector can share one file.

use crate::error::StoreError;
use sea_orm::sqlx::sqlite::SqliteJournalMode;
use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbErr};
use secrecy::{ExposeSecret, SecretString};
use std::path::Path;
use std::time::Duration;

/// The embedded default: a SQLite file under `./data`, created on first use.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/inventory.db?mode=rwc";
/// The PostgreSQL schema that holds the tables.
pub const DEFAULT_SCHEMA: &str = "inventory";
/// How long one statement may run on PostgreSQL: far beyond any the API or a write sends,
/// short enough that a runaway one does not hold a connection for good.
pub const DEFAULT_STATEMENT_TIMEOUT: Duration = Duration::from_secs(30);

/// How to reach the database. `url` may carry a password: it is kept as a secret, shown as
/// redacted by `Debug`.
#[derive(Clone, Debug)]
pub struct DbOptions {
    pub url: SecretString,
    /// PostgreSQL schema for the tables (ignored on SQLite).
    pub schema: String,
    pub max_connections: u32,
    pub connect_timeout: Duration,
    /// PostgreSQL's `statement_timeout` on every pooled connection: a statement running
    /// longer is cancelled by the server and fails. `None` for none (migrations).
    pub statement_timeout: Option<Duration>,
}

impl DbOptions {
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: SecretString::from(url.into()),
            schema: DEFAULT_SCHEMA.to_owned(),
            max_connections: 10,
            connect_timeout: Duration::from_secs(5),
            statement_timeout: Some(DEFAULT_STATEMENT_TIMEOUT),
        }
    }

    /// Which database the URL points at.
    pub fn backend(&self) -> Backend {
        Backend::of(self.url.expose_secret())
    }

    /// These options for applying migrations: one connection, and no statement timeout, as
    /// a migration may rewrite a whole table.
    pub fn for_migrations(&self) -> Self {
        Self {
            max_connections: 1,
            statement_timeout: None,
            ..self.clone()
        }
    }
}

/// Which database a URL points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
    Unsupported,
}

impl Backend {
    pub fn of(url: &str) -> Self {
        if url.starts_with("sqlite:") {
            Self::Sqlite
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Self::Postgres
        } else {
            Self::Unsupported
        }
    }
}

/// How long a pooled connection may sit unused before it is pinged on checkout.
const IDLE_BEFORE_PING: Duration = Duration::from_secs(10);

/// Opens a pool. Does not migrate: that is `migration::up`, run by whoever is allowed to.
pub async fn connect(options: &DbOptions) -> Result<DatabaseConnection, StoreError> {
    let url = options.url.expose_secret();
    let mut connect = ConnectOptions::new(url.to_owned());
    connect
        .connect_timeout(options.connect_timeout)
        .acquire_timeout(options.connect_timeout)
        // A connection idle for a while may have been dropped by the server, a proxy or a
        // firewall: test it first. A busy one is not pinged: by default every checkout
        // pinged, a round trip that cost a one-row lookup a sixth of its throughput.
        .test_before_acquire_if_idle_for(IDLE_BEFORE_PING)
        .sqlx_logging(false);
    match Backend::of(url) {
        Backend::Postgres => {
            validate_schema(&options.schema)?;
            connect
                .max_connections(options.max_connections)
                // A plain identifier (checked above), quoted by sea-orm.
                .set_schema_search_path(options.schema.clone());
            if let Some(timeout) = options.statement_timeout {
                let milliseconds = timeout.as_millis().to_string();
                connect.map_sqlx_postgres_opts(move |opts| {
                    opts.options([("statement_timeout", milliseconds.as_str())])
                });
            }
        }
        Backend::Sqlite => {
            let memory = is_memory(url);
            if !memory {
                create_parent_dir(url)?;
            }
            // An in-memory database exists once per connection, so it must stay at one.
            connect.max_connections(if memory {
                1
            } else {
                options.max_connections.min(4)
            });
            connect.map_sqlx_sqlite_opts(|opts| {
                opts.journal_mode(SqliteJournalMode::Wal)
                    .busy_timeout(Duration::from_secs(10))
                    .foreign_keys(true)
            });
        }
        Backend::Unsupported => {
            return Err(StoreError::Config(
                "the database URL must start with sqlite: or postgres://".into(),
            ));
        }
    }
    Database::connect(connect)
        .await
        .map_err(StoreError::Connect)
}

/// Whether `err` says the connection failed rather than the statement: the server ended
/// it (a restart, a fail-over, `pg_terminate_backend`: SQLSTATE class 08 and 57P01-57P03) or
/// the socket broke. A pooled connection that the server ended while it sat idle fails like
/// this on its first statement.
pub fn is_connection_error(err: &DbErr) -> bool {
    use sea_orm::RuntimeErr;
    use sea_orm::sqlx::Error;
    let runtime = match err {
        DbErr::Conn(e) | DbErr::Exec(e) | DbErr::Query(e) => e,
        _ => return false,
    };
    match runtime {
        RuntimeErr::SqlxError(e) => match e.as_ref() {
            Error::Io(_) | Error::Tls(_) | Error::Protocol(_) => true,
            Error::Database(db) => db.code().is_some_and(|code| {
                code.starts_with("08") || matches!(code.as_ref(), "57P01" | "57P02" | "57P03")
            }),
            _ => false,
        },
        RuntimeErr::Internal(_) => false,
    }
}

/// Starts a transaction, on another connection while the one the pool gave had been ended
/// by the server: nothing has run on it yet, so trying again is always safe.
pub async fn begin(db: &DatabaseConnection) -> Result<sea_orm::DatabaseTransaction, DbErr> {
    use sea_orm::TransactionTrait;
    begin_on_a_live_connection(db, || db.begin()).await
}

/// Commits a transaction that changed what a query can see, advancing the inventory
/// version in it first ([`crate::version`]), so readers' caches learn of the change exactly
/// when it commits.
pub async fn commit(txn: sea_orm::DatabaseTransaction) -> Result<(), DbErr> {
    crate::version::advance(&txn).await?;
    txn.commit().await
}

/// Runs `begin` (which starts a transaction on a pooled connection) until it does not fail
/// on a connection the server ended. On PostgreSQL that is tried once more than the pool
/// holds connections, since after a restart every pooled one may fail once (each failure
/// drops its connection, and the pool opens a fresh one when none is left).
pub(crate) async fn begin_on_a_live_connection<T, F, Fut>(
    db: &DatabaseConnection,
    mut begin: F,
) -> Result<T, DbErr>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, DbErr>>,
{
    let attempts = match db.get_database_backend() {
        sea_orm::DbBackend::Postgres => db
            .get_postgres_connection_pool()
            .options()
            .get_max_connections()
            .saturating_add(1),
        _ => 1,
    };
    let mut attempt = 1;
    loop {
        match begin().await {
            Err(err) if attempt < attempts && is_connection_error(&err) => {
                tracing::warn!(error = %err, attempt, "a pooled connection was ended by the server; trying another");
                attempt += 1;
            }
            other => return other,
        }
    }
}

/// Schema names are spliced into `SET search_path`, so only plain identifiers pass.
fn validate_schema(schema: &str) -> Result<(), StoreError> {
    let mut chars = schema.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_');
    let rest_ok = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if first_ok && rest_ok && schema.len() <= 63 {
        Ok(())
    } else {
        Err(StoreError::Config(format!(
            "schema {schema:?} must be a lowercase identifier of at most 63 characters"
        )))
    }
}

fn is_memory(url: &str) -> bool {
    url.contains(":memory:") || url.contains("mode=memory")
}

/// SQLite creates the file (with `mode=rwc`) but not its directory.
fn create_parent_dir(url: &str) -> Result<(), StoreError> {
    let rest = url.trim_start_matches("sqlite:").trim_start_matches("//");
    let path = rest.split('?').next().unwrap_or_default();
    if let Some(parent) = Path::new(path)
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
    {
        std::fs::create_dir_all(parent).map_err(|err| {
            StoreError::Config(format!(
                "cannot create the database directory {}: {err}",
                parent.display()
            ))
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_never_show_the_password() {
        let options = DbOptions::new("postgres://inventory:hunter2@db.example.com/inventory");
        let shown = format!("{options:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert_eq!(options.backend(), Backend::Postgres);
    }

    /// Every pooled connection gets the schema (sea-orm's search path), not only the first.
    #[tokio::test]
    async fn pooled_postgres_connections_get_the_schema() {
        use sea_orm::{ConnectionTrait, Statement};
        let Some(db) = crate::testing::TestDb::postgres().await else {
            return;
        };
        for _ in 0..3 {
            let row = db
                .conn
                .query_one_raw(Statement::from_string(
                    db.conn.get_database_backend(),
                    "SELECT current_setting('search_path')",
                ))
                .await
                .expect("query")
                .expect("a row");
            let path: String = row.try_get_by_index(0).expect("the search path");
            assert_eq!(path, db.options.schema);
        }
        db.finish().await;
    }

    #[test]
    fn schema_names_are_plain_identifiers() {
        assert!(validate_schema("inventory").is_ok());
        assert!(validate_schema("t_01").is_ok());
        for bad in ["", "1abc", "Inventory", "a;drop", "a\"b", &"x".repeat(64)] {
            assert!(validate_schema(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn backends_are_told_apart_by_scheme() {
        assert_eq!(Backend::of("sqlite::memory:"), Backend::Sqlite);
        assert_eq!(Backend::of("postgres://u@h/db"), Backend::Postgres);
        assert_eq!(Backend::of("postgresql://u@h/db"), Backend::Postgres);
        assert_eq!(Backend::of("mysql://u@h/db"), Backend::Unsupported);
    }

    #[test]
    fn memory_urls_are_recognised() {
        assert!(is_memory("sqlite::memory:"));
        assert!(is_memory("sqlite://file?mode=memory&cache=shared"));
        assert!(!is_memory("sqlite://data/inventory.db?mode=rwc"));
    }
}
