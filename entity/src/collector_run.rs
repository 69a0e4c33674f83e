//! `collector_runs`: one row per collector run, the provenance every asset points at.

use crate::enums::RunStatus;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "collector_runs")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub collector: String,
    pub version: String,
    pub scope: String,
    pub started_at: DateTimeUtc,
    pub finished_at: Option<DateTimeUtc>,
    pub status: RunStatus,
    pub seen: i64,
    pub created: i64,
    pub updated: i64,
    pub unchanged: i64,
    pub removed: i64,
    pub pages: i64,
    /// A bounded list of the provider's request ids, for support tickets.
    #[sea_orm(column_type = "JsonBinary")]
    pub request_ids: Json,
    pub error: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
