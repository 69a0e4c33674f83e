//! The inventory version a cached answer must have been made at to be served.
//!
//! SQLite: the `inventory_version` row, read for every cacheable request (a collector is
//! another process writing the same file; the read costs microseconds). PostgreSQL: a
//! generation counted up by every `NOTIFY` the write path sends in its transactions
//! ([`entity::version`]), heard on one `LISTEN` connection, so a hit asks nothing of the
//! database. While that connection is down nothing is known, so nothing is served from the
//! cache; once it is back, everything cached before counts as changed.

use entity::version::CHANNEL;
use sea_orm::sqlx::PgPool;
use sea_orm::sqlx::postgres::{PgListener, PgPoolOptions};
use sea_orm::{DatabaseConnection, DbBackend};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

/// The listener connection's `application_name` (then `:` and the schema), so an operator
/// can tell it in `pg_stat_activity`.
pub const LISTENER_NAME: &str = "inventory-cache-listener";

pub enum Versions {
    Sqlite(DatabaseConnection),
    Postgres(Arc<Heard>),
}

/// What the listener has heard.
#[derive(Default)]
pub struct Heard {
    generation: AtomicU64,
    listening: AtomicBool,
}

impl Heard {
    fn changed(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }
}

impl Versions {
    /// The versions of `db`; on PostgreSQL this starts the listener (a background task that
    /// reconnects for as long as the process lives).
    pub fn start(db: &DatabaseConnection) -> Self {
        match db.get_database_backend() {
            DbBackend::Postgres => {
                let heard = Arc::new(Heard::default());
                tokio::spawn(listen(db.clone(), Arc::clone(&heard)));
                Self::Postgres(heard)
            }
            _ => Self::Sqlite(db.clone()),
        }
    }

    /// The current version, or `None` when it cannot be known now (then the cache is
    /// neither read nor written).
    pub async fn current(&self) -> Option<u64> {
        match self {
            Self::Sqlite(db) => match entity::version::current(db).await {
                Ok(version) => u64::try_from(version).ok(),
                Err(err) => {
                    tracing::warn!(error = %err, "reading the inventory version failed; not using the cache");
                    None
                }
            },
            Self::Postgres(heard) => heard
                .listening
                .load(Ordering::Acquire)
                .then(|| heard.generation.load(Ordering::Acquire)),
        }
    }

    /// A write on this replica committed: its effect must be visible to the next read here
    /// at once, before its notification comes back.
    pub fn wrote(&self) {
        if let Self::Postgres(heard) = self {
            heard.changed();
        }
    }
}

/// Listens for the write path's notifications for the schema `db` uses, on a connection of
/// its own (never one of the pool's, which requests need); reconnects with backoff when the
/// connection is lost.
async fn listen(db: DatabaseConnection, heard: Arc<Heard>) {
    let pool = db.get_postgres_connection_pool().clone();
    let mut backoff = Duration::from_millis(100);
    loop {
        match subscribe(&pool).await {
            Ok((mut listener, schema)) => {
                // Whatever was written while nobody listened counts as changed.
                heard.changed();
                heard.listening.store(true, Ordering::Release);
                backoff = Duration::from_millis(100);
                // `None` or an error: the connection is gone.
                while let Ok(Some(notification)) = listener.try_recv().await {
                    if notification.payload() == schema {
                        heard.changed();
                    }
                }
                heard.listening.store(false, Ordering::Release);
                tracing::warn!("the inventory change listener lost its connection; reconnecting");
            }
            Err(err) => {
                tracing::warn!(error = %err, "cannot listen for inventory changes; the response cache waits");
            }
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}

/// A listener on a fresh connection made with the pool's options, and the schema the pool's
/// connections use (the notifications' payload).
async fn subscribe(pool: &PgPool) -> Result<(PgListener, String), sea_orm::sqlx::Error> {
    let schema: String = sea_orm::sqlx::query_scalar("SELECT current_schema()")
        .fetch_one(pool)
        .await?;
    let own = PgPoolOptions::new()
        .max_connections(1)
        .idle_timeout(None)
        .max_lifetime(None)
        .connect_with(
            (*pool.connect_options())
                .clone()
                .application_name(&format!("{LISTENER_NAME}:{schema}")),
        )
        .await?;
    let mut listener = PgListener::connect_with(&own).await?;
    // A lost connection must end `try_recv` at once (we stop serving from the cache), not
    // after sqlx has reconnected behind our back with notifications missed meanwhile.
    listener.eager_reconnect(false);
    listener.listen(CHANNEL).await?;
    Ok((listener, schema))
}
