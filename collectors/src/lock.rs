//! One run per (collector, scope) at a time. On PostgreSQL a transaction-scoped advisory
//! lock is held for the whole run, so two overlapping CronJob runs cannot interleave their
//! writes or removals; the second sees the lock taken and skips. On SQLite (one process on
//! one machine) there is nothing to take.

use entity::StoreError;
use sea_orm::{ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, Statement};
use sha2::{Digest, Sha256};

/// Held until [`RunLock::release`]. Dropping it also ends the transaction, but only once the
/// pool gets round to the connection (a spawned task), so a next run of the same scope in
/// this process could find the lock still taken and skip.
pub struct RunLock {
    txn: Option<DatabaseTransaction>,
}

impl RunLock {
    /// Whether a database lock is held (PostgreSQL), rather than nothing to take (SQLite).
    pub fn is_held(&self) -> bool {
        self.txn.is_some()
    }

    /// Ends the transaction, and with it the lock, before returning.
    pub async fn release(self) {
        if let Some(txn) = self.txn
            && let Err(err) = txn.rollback().await
        {
            // The server releases the lock when the connection ends; nothing is lost.
            tracing::warn!(error = %err, "releasing the run lock failed");
        }
    }
}

/// A stable 32-bit key for the pair. Advisory locks are database-wide, so the lock pairs it
/// with a hash of the schema: two inventories in one database do not block each other.
pub fn key(collector: &str, scope: &str) -> i32 {
    let digest = Sha256::digest(format!("asset-inventory\0{collector}\0{scope}"));
    let mut bytes = [0u8; 4];
    bytes.copy_from_slice(&digest[..4]);
    i32::from_be_bytes(bytes)
}

/// `None` when another run holds the lock.
pub async fn try_acquire(
    db: &DatabaseConnection,
    collector: &str,
    scope: &str,
) -> Result<Option<RunLock>, StoreError> {
    if db.get_database_backend() != DbBackend::Postgres {
        return Ok(Some(RunLock { txn: None }));
    }
    let txn = entity::db::begin(db).await?;
    let row = txn
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_try_advisory_xact_lock($1, hashtext(current_schema())) AS locked",
            [key(collector, scope).into()],
        ))
        .await?;
    let locked = match row {
        Some(row) => row.try_get::<bool>("", "locked")?,
        None => false,
    };
    Ok(locked.then_some(RunLock { txn: Some(txn) }))
}
