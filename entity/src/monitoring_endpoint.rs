//! `monitoring_endpoints`: one row per Prometheus or Grafana server. Credentials are
//! referenced, never stored.

use crate::enums::{AuthMode, EndpointKind, EndpointStatus, Origin};
use crate::json_column::Tags;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "monitoring_endpoints")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub kind: EndpointKind,
    pub url: String,
    pub auth_mode: AuthMode,
    pub status: EndpointStatus,
    pub version: Option<String>,
    #[sea_orm(column_type = "JsonBinary")]
    pub raw: Json,
    pub origin: Origin,
    /// `{ "key": "value" }`, chosen by people for manual rows.
    #[sea_orm(column_type = "JsonBinary")]
    pub labels: Tags,
    pub notes: Option<String>,
    /// Where collectors find the credential: `env:NAME` or `file:/path`. Never the secret.
    pub secret_ref: Option<String>,
    /// `manual` for rows seeded by people, otherwise the collector's scope.
    pub scope: String,
    pub created_by: Option<String>,
    pub updated_by: Option<String>,
    pub first_seen_at: DateTimeUtc,
    pub last_checked_at: Option<DateTimeUtc>,
    pub last_error: Option<String>,
    pub removed_at: Option<DateTimeUtc>,
    pub last_run_id: Option<i64>,
    #[sea_orm(column_type = "JsonBinary")]
    pub provenance: Json,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
