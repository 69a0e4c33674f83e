//! The API's enums, mirrored from `entity::enums` so that a change to storage can never
//! silently change the public schema (the `remote` derive fails to compile instead).

use async_graphql::Enum;
use entity::enums as store;

#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "store::Provider")]
pub enum Provider {
    Aws,
    Gcp,
    Azure,
}

#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "store::AccountStatus")]
pub enum AccountStatus {
    Active,
    Suspended,
    PendingDeletion,
    Deleted,
    Unknown,
}

#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "store::EndpointKind")]
pub enum EndpointKind {
    Prometheus,
    Grafana,
}

#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "store::AuthMode")]
pub enum AuthMode {
    None,
    Token,
    Basic,
    Oauth,
}

#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "store::EndpointStatus")]
pub enum EndpointStatus {
    Up,
    Down,
    Unauthorized,
    Unknown,
}

/// Who owns an endpoint row.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "store::Origin")]
pub enum Origin {
    /// Seeded by a person.
    Manual,
    /// Discovered by a collector.
    Collector,
}

#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "store::RunStatus")]
pub enum RunStatus {
    Running,
    Succeeded,
    /// The source was not read completely; nothing was marked removed.
    Partial,
    Failed,
    /// Another run of the same collector and scope held the lock.
    Skipped,
}

/// The kind of asset a change is about.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "store::AssetType")]
pub enum AssetType {
    CloudAccount,
    MonitoringEndpoint,
}

/// Converts a list of API enum values to storage values.
pub fn to_store<A: Copy + Into<S>, S>(values: &[A]) -> Vec<S> {
    values.iter().map(|v| (*v).into()).collect()
}
