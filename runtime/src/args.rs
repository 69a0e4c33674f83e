//! The flags both binaries share (`#[command(flatten)]`).

use entity::db::{DEFAULT_DATABASE_URL, DEFAULT_SCHEMA, DbOptions};
use entity::secret_ref::{Grant, SecretGrants};

/// Database flags.
#[derive(Debug, Clone, clap::Args)]
pub struct DatabaseArgs {
    /// Database URL: `sqlite://path?mode=rwc` (embedded) or `postgres://user@host/db`.
    /// May carry a password; it is never logged.
    #[arg(long, env = "INVENTORY_DATABASE_URL", default_value = DEFAULT_DATABASE_URL, hide_env_values = true)]
    pub database_url: String,
    /// PostgreSQL schema that holds the tables (ignored on SQLite).
    #[arg(long, env = "INVENTORY_DATABASE_SCHEMA", default_value = DEFAULT_SCHEMA)]
    pub database_schema: String,
    /// Largest number of pooled connections (SQLite uses at most 4).
    #[arg(long, env = "INVENTORY_DATABASE_MAX_CONNECTIONS", default_value_t = 10)]
    pub database_max_connections: u32,
}

impl DatabaseArgs {
    pub fn options(&self) -> DbOptions {
        DbOptions {
            schema: self.database_schema.clone(),
            max_connections: self.database_max_connections,
            ..DbOptions::new(self.database_url.clone())
        }
    }
}

/// The grants flag, shared by `inventory-api` (which checks references when they are
/// stored) and `inventory-collect` (which checks them again when it resolves them).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct SecretGrantArgs {
    /// Secret references that endpoints may use, and where to: `REFERENCE=ORIGINS` entries
    /// separated by `;` (e.g. `env:INVENTORY_SECRET_*=https://grafana.example.com` or
    /// `file:/var/run/secrets/asset-inventory/=*`). Without one, no reference resolves.
    #[arg(
        long = "secret-grant",
        env = "INVENTORY_SECRET_GRANTS",
        value_delimiter = ';'
    )]
    pub secret_grants: Vec<Grant>,
}

impl SecretGrantArgs {
    pub fn grants(&self) -> SecretGrants {
        SecretGrants::new(self.secret_grants.clone())
    }
}
