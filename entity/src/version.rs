//! The inventory version: what tells a reader's cache that what a query can see changed.
//!
//! Every transaction that changes what a query can see (collector pages, run bookkeeping,
//! the mutation, removals, restores) calls [`advance`] before it commits, so the signal and
//! the change commit together. On SQLite, where a collector is another process on the same
//! file, [`advance`] counts up the `inventory_version` row and a reader compares [`current`]
//! with the version its answer was made at. On PostgreSQL it sends `NOTIFY` on [`CHANNEL`],
//! which the server delivers to every listening API replica when (and only if) the
//! transaction commits.

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr, Statement};

/// The PostgreSQL notification channel the write path signals on.
pub const CHANNEL: &str = "inventory_changed";

/// Signals, within the transaction (or autocommit statement) `conn` runs, that the
/// inventory changed.
pub async fn advance<C: ConnectionTrait>(conn: &C) -> Result<(), DbErr> {
    let backend = conn.get_database_backend();
    let sql = match backend {
        // The schema as payload: replicas of another inventory in the same database (another
        // schema) ignore it.
        DbBackend::Postgres => "SELECT pg_notify('inventory_changed', current_schema())",
        _ => "UPDATE inventory_version SET version = version + 1 WHERE id = 1",
    };
    conn.execute_raw(Statement::from_string(backend, sql))
        .await?;
    Ok(())
}

/// The version an SQLite database is at now (PostgreSQL keeps it at 0: its readers listen).
pub async fn current(db: &DatabaseConnection) -> Result<i64, DbErr> {
    let backend = db.get_database_backend();
    let row = db
        .query_one_raw(Statement::from_string(
            backend,
            "SELECT version FROM inventory_version WHERE id = 1",
        ))
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("the inventory_version row".to_owned()))?;
    row.try_get_by_index::<i64>(0)
}
