//! `asset_changes`: the history. One row per created, updated, removed or restored asset,
//! pointing at the run or the person that made the change.

use crate::enums::{AssetType, ChangeKind};
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "asset_changes")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub asset_type: AssetType,
    pub asset_id: String,
    pub run_id: Option<i64>,
    pub actor: Option<String>,
    pub at: DateTimeUtc,
    pub kind: ChangeKind,
    /// `{ "field": { "old": .., "new": .. } }`, only the fields that changed.
    #[sea_orm(column_type = "JsonBinary")]
    pub changes: Json,
    /// The writing transaction (PostgreSQL; 0 on SQLite), set by the database: the change
    /// feed's order is `(tx_id, id)` (see the `change_feed` migration).
    pub tx_id: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
