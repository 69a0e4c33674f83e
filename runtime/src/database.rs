//! The database both binaries open: its flags (`#[command(flatten)]`) and migrations.

use entity::db::{Backend, connect};
use entity::db::{DEFAULT_DATABASE_URL, DEFAULT_SCHEMA, DEFAULT_STATEMENT_TIMEOUT, DbOptions};
use sea_orm::{DatabaseConnection, DbErr};
use secrecy::SecretString;
use std::time::Duration;

/// Database flags.
#[derive(Debug, Clone, clap::Args)]
pub struct DatabaseArgs {
    /// Database URL: `sqlite://path?mode=rwc` (embedded) or `postgres://user@host/db`.
    /// May carry a password; it is never logged.
    #[arg(long, env = "INVENTORY_DATABASE_URL", default_value = DEFAULT_DATABASE_URL, hide_env_values = true)]
    pub database_url: SecretString,
    /// PostgreSQL schema that holds the tables (ignored on SQLite).
    #[arg(long, env = "INVENTORY_DATABASE_SCHEMA", default_value = DEFAULT_SCHEMA)]
    pub database_schema: String,
    /// Largest number of pooled connections (SQLite uses at most 4).
    #[arg(long, env = "INVENTORY_DATABASE_MAX_CONNECTIONS", default_value_t = 10)]
    pub database_max_connections: u32,
    /// How long one statement may run on PostgreSQL before the server cancels it; 0 for no
    /// limit. Migrations run without one.
    #[arg(long, env = "INVENTORY_DATABASE_STATEMENT_TIMEOUT_SECONDS", default_value_t = DEFAULT_STATEMENT_TIMEOUT.as_secs())]
    pub database_statement_timeout_seconds: u64,
}

impl DatabaseArgs {
    pub fn options(&self) -> DbOptions {
        DbOptions {
            schema: self.database_schema.clone(),
            max_connections: self.database_max_connections,
            statement_timeout: (self.database_statement_timeout_seconds > 0)
                .then(|| Duration::from_secs(self.database_statement_timeout_seconds)),
            url: self.database_url.clone(),
            ..DbOptions::new("")
        }
    }
}

/// Applies the migrations `db` lacks. On PostgreSQL on a connection of their own, without
/// the pool's statement timeout (a migration may rewrite a whole table); on SQLite on `db`
/// itself, since an in-memory database exists only on its own connection.
pub async fn migrate(db: &DatabaseConnection, options: &DbOptions) -> Result<(), DbErr> {
    if options.backend() != Backend::Postgres {
        return migration::up(db).await;
    }
    let own = connect(&options.for_migrations())
        .await
        .map_err(|e| DbErr::Custom(e.to_string()))?;
    let applied = migration::up(&own).await;
    own.close().await?;
    applied
}

#[cfg(test)]
mod tests {
    use super::*;
    use entity::testing::TestDb;
    use sea_orm::ConnectionTrait;

    async fn migrated_here(db: &TestDb) {
        migrate(&db.conn, &db.options)
            .await
            .expect("migrations apply");
        db.conn
            .execute_unprepared("SELECT count(*) FROM cloud_accounts")
            .await
            .expect("the pool sees the migrated tables");
    }

    #[tokio::test]
    async fn migrations_apply_on_both_backends() {
        // In memory: a connection of its own would migrate a database of its own.
        let sqlite = TestDb::sqlite_unmigrated().await;
        migrated_here(&sqlite).await;
        sqlite.finish().await;
        if let Some(postgres) = TestDb::postgres_unmigrated().await {
            migrated_here(&postgres).await;
            postgres.finish().await;
        }
    }
}
