//! `cloud_accounts`: one row per AWS account, GCP project or Azure subscription.

use crate::enums::{AccountStatus, Provider};
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "cloud_accounts")]
pub struct Model {
    /// `<provider>:<native id>`: native ids are unique within a provider (AWS account ids,
    /// GCP project ids and Azure subscription GUIDs are global), so this cannot collide
    /// across organizations or tenants.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub provider: Provider,
    pub native_id: String,
    pub name: String,
    /// Human-readable hierarchy, `/`-separated from the organization down to the parent.
    pub org_path: String,
    /// `[{ "id", "name", "kind" }]` from the organization root down to the direct parent.
    #[sea_orm(column_type = "JsonBinary")]
    pub ancestors: Json,
    pub parent: Option<String>,
    pub status: AccountStatus,
    pub raw_status: Option<String>,
    pub region_residency: Option<String>,
    /// `{ "key": "value" }`.
    #[sea_orm(column_type = "JsonBinary")]
    pub tags: Json,
    #[sea_orm(column_type = "JsonBinary")]
    pub raw: Json,
    /// The organization or tenant the collector read; removals are decided per scope.
    pub scope: String,
    /// Collector name and version that last wrote the row.
    pub source: String,
    pub first_seen_at: DateTimeUtc,
    pub last_seen_at: DateTimeUtc,
    pub removed_at: Option<DateTimeUtc>,
    pub last_run_id: Option<i64>,
    #[sea_orm(column_type = "JsonBinary")]
    pub provenance: Json,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
