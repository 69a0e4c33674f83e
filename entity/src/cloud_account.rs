//! `cloud_accounts`: one row per AWS account, GCP project or Azure subscription.

use crate::enums::{AccountStatus, Provider};
use crate::json_column::{Ancestors, Tags};
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
    pub ancestors: Ancestors,
    pub parent: Option<String>,
    pub status: AccountStatus,
    pub raw_status: Option<String>,
    pub region_residency: Option<String>,
    /// `{ "key": "value" }`.
    #[sea_orm(column_type = "JsonBinary")]
    pub tags: Tags,
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
    /// SHA-256 of the observed fields as last written (`entity::write`): a write tells an
    /// unchanged account by it without reading the stored fields back. Null for rows written
    /// before digests were kept.
    pub observed_digest: Option<Vec<u8>>,
    /// When the tags were last read: a source may read them apart from its listing, within
    /// a budget, stalest first (`collectors`' enrichment), so they can be older than the
    /// row's `last_seen_at`. Null until first read.
    pub tags_read_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl Model {
    /// An account from a row holding only `columns`, in that order. Every other field is
    /// left blank (empty text, JSON null, the epoch, the first enum variant): only for a
    /// reader that selected every column it will look at. Lists that show a few fields
    /// spent a third of their CPU decoding all nineteen columns of every row by name.
    pub fn from_columns(row: &QueryResult, columns: &[Column]) -> Result<Self, DbErr> {
        let mut model = Self {
            id: String::new(),
            provider: Provider::Aws,
            native_id: String::new(),
            name: String::new(),
            org_path: String::new(),
            ancestors: Ancestors::default(),
            parent: None,
            status: AccountStatus::Active,
            raw_status: None,
            region_residency: None,
            tags: Tags::default(),
            raw: Json::Null,
            scope: String::new(),
            source: String::new(),
            first_seen_at: DateTimeUtc::UNIX_EPOCH,
            last_seen_at: DateTimeUtc::UNIX_EPOCH,
            removed_at: None,
            last_run_id: None,
            provenance: Json::Null,
            observed_digest: None,
            tags_read_at: None,
        };
        for (i, column) in columns.iter().enumerate() {
            match column {
                Column::Id => model.id = required(text(row, i)?, i)?,
                Column::Provider => {
                    model.provider = Provider::try_from_value(&required(text(row, i)?, i)?)?;
                }
                Column::NativeId => model.native_id = required(text(row, i)?, i)?,
                Column::Name => model.name = required(text(row, i)?, i)?,
                Column::OrgPath => model.org_path = required(text(row, i)?, i)?,
                Column::Ancestors => model.ancestors = row.try_get_by_index(i)?,
                Column::Parent => model.parent = text(row, i)?,
                Column::Status => {
                    model.status = AccountStatus::try_from_value(&required(text(row, i)?, i)?)?;
                }
                Column::RawStatus => model.raw_status = text(row, i)?,
                Column::RegionResidency => model.region_residency = text(row, i)?,
                Column::Tags => model.tags = row.try_get_by_index(i)?,
                Column::Raw => model.raw = row.try_get_by_index(i)?,
                Column::Scope => model.scope = required(text(row, i)?, i)?,
                Column::Source => model.source = required(text(row, i)?, i)?,
                Column::FirstSeenAt => model.first_seen_at = row.try_get_by_index(i)?,
                Column::LastSeenAt => model.last_seen_at = row.try_get_by_index(i)?,
                Column::RemovedAt => model.removed_at = row.try_get_by_index(i)?,
                Column::LastRunId => model.last_run_id = row.try_get_by_index(i)?,
                Column::Provenance => model.provenance = row.try_get_by_index(i)?,
                Column::ObservedDigest => model.observed_digest = row.try_get_by_index(i)?,
                Column::TagsReadAt => model.tags_read_at = row.try_get_by_index(i)?,
            }
        }
        Ok(model)
    }
}

/// Text column `index` of `row`, null as `None`. On PostgreSQL, sqlx checks a column's type
/// before decoding it, comparing it by value with the text types in turn (`character
/// varying`, ours, is the fourth), and a page decodes a few text columns of each of its
/// rows: the check was half of what decoding one cost. These columns are this table's own, `character
/// varying` by the migrations, so the check cannot fail here; decoding still refuses text
/// that is not UTF-8.
fn text(row: &QueryResult, index: usize) -> Result<Option<String>, DbErr> {
    match row.try_as_pg_row() {
        Some(row) => sea_orm::sqlx::Row::try_get_unchecked(row, index)
            .map_err(|e| DbErr::Query(RuntimeErr::SqlxError(e.into()))),
        None => row.try_get_by_index(index),
    }
}

/// A value of a column that is never null, as sea-orm refuses a null one.
fn required(value: Option<String>, index: usize) -> Result<String, DbErr> {
    value.ok_or_else(|| DbErr::Type(format!("a null value in column {index}, which has none")))
}
