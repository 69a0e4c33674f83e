//! The secret-grant flag both binaries share (`#[command(flatten)]`).

use entity::secret_ref::{Grant, SecretGrants};

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
