//! Schema migrations of asset-inventory: one set that runs on PostgreSQL and on SQLite.
//!
//! Owns the tables' DDL and nothing else: the entities that read and write the tables live in
//! the `entity` crate. A migration, once released, is never edited: add a new one.
//!
//! On PostgreSQL the tables live in the first schema of the connection's `search_path`
//! (`inventory` in production, set by `entity::db`); [`up`] creates that schema first.

pub use sea_orm_migration::prelude::*;

mod m20261128_000001_create_inventory;
mod m20261129_000002_endpoint_secret_ref;
mod m20261129_000003_change_feed;
mod m20261129_000004_lz4_history;
mod m20261129_000005_bookkeeping_in_place;
mod m20261129_000006_observed_digest;
mod m20261130_000007_brin_history_run;
mod m20261130_000008_substring_statistics;
mod m20261207_000009_tags_read_at;
mod m20261207_000010_inventory_version;

/// The ordered list of migrations.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261128_000001_create_inventory::Migration),
            Box::new(m20261129_000002_endpoint_secret_ref::Migration),
            Box::new(m20261129_000003_change_feed::Migration),
            Box::new(m20261129_000004_lz4_history::Migration),
            Box::new(m20261129_000005_bookkeeping_in_place::Migration),
            Box::new(m20261129_000006_observed_digest::Migration),
            Box::new(m20261130_000007_brin_history_run::Migration),
            Box::new(m20261130_000008_substring_statistics::Migration),
            Box::new(m20261207_000009_tags_read_at::Migration),
            Box::new(m20261207_000010_inventory_version::Migration),
        ]
    }
}

/// Applies every pending migration.
///
/// The migrations table itself is created in the current schema before any migration runs,
/// so on PostgreSQL the schema named first in `search_path` must exist beforehand: this
/// creates it when missing.
pub async fn up(db: &sea_orm_migration::sea_orm::DatabaseConnection) -> Result<(), DbErr> {
    use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend, Statement};
    if db.get_database_backend() == DbBackend::Postgres {
        let row = db
            .query_one_raw(Statement::from_string(
                DbBackend::Postgres,
                "SELECT split_part(current_setting('search_path'), ',', 1) AS schema",
            ))
            .await?
            .ok_or_else(|| DbErr::Custom("search_path is not readable".into()))?;
        let schema: String = row.try_get("", "schema")?;
        let schema = schema.trim().trim_matches('"').to_owned();
        if schema.is_empty() || schema.contains('$') {
            return Err(DbErr::Custom(format!(
                "refusing to migrate into search_path entry {schema:?}: set a schema name"
            )));
        }
        db.execute_unprepared(&format!(
            "CREATE SCHEMA IF NOT EXISTS \"{}\"",
            schema.replace('"', "\"\"")
        ))
        .await?;
    }
    Migrator::up(db, None).await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Names are what a database records as applied: a migration's name never changes once
    /// released, however it is derived.
    #[test]
    fn names_are_the_released_ones() {
        let names: Vec<String> = Migrator::migrations()
            .iter()
            .map(|m| m.name().to_owned())
            .collect();
        assert_eq!(
            names,
            [
                "m20261128_000001_create_inventory",
                "m20261129_000002_endpoint_secret_ref",
                "m20261129_000003_change_feed",
                "m20261129_000004_lz4_history",
                "m20261129_000005_bookkeeping_in_place",
                "m20261129_000006_observed_digest",
                "m20261130_000007_brin_history_run",
                "m20261130_000008_substring_statistics",
                "m20261207_000009_tags_read_at",
                "m20261207_000010_inventory_version",
            ]
        );
    }
}
