//! Tables, domain enums and the one write path of asset-inventory.
//!
//! Owns: the sea-orm entities (`cloud_accounts`, `monitoring_endpoints`, `collector_runs`,
//! `asset_changes`), the domain enums, opening the database ([`db`]), and every write
//! ([`write`], [`run`]), so collectors and the API record changes and provenance the same way
//! and refuse the same records ([`validate`], [`secret_ref`]).
//! Does not own: HTTP, GraphQL, cloud SDKs, or the DDL (that is the `migration` crate).

pub mod as_of;
pub mod asset_change;
pub mod cloud_account;
pub mod collector_run;
pub mod db;
pub mod document;
pub mod enrich;
pub mod enums;
pub mod error;
pub mod json_column;
pub mod monitoring_endpoint;
pub mod query;
pub mod record;
pub mod run;
pub mod secret_ref;
pub mod validate;
pub mod version;
pub mod write;

pub use error::StoreError;

#[cfg(feature = "testing")]
pub mod testing;
