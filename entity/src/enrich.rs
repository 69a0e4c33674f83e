//! Enrichments: what a source reads per asset apart from its listing, because the listing
//! does not carry it (AWS account tags: `ListTagsForResource`, one call per account). At
//! scale and under throttling they cannot all be read every run, so each run reads a share,
//! stalest first, and each asset records when its enrichment was last read.
//!
//! The store's side is here: which assets of a run are due, in order ([`due`]), and writing
//! what was read ([`record`]) through the write path, so a change is history like any other.
//! The collectors' runner owns the budget and the pace.

use crate::cloud_account::{self, Column};
use crate::error::StoreError;
use crate::write::{TagsRead, WriteContext, WriteCounts};
use sea_orm::sea_query::NullOrdering;
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, Order, QueryFilter, QueryOrder, QuerySelect,
};

/// An enrichment a source can read, each with the column that says when it was last read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enrichment {
    /// An account's tags (`cloud_accounts.tags`, read at `tags_read_at`).
    AccountTags,
}

impl Enrichment {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AccountTags => "tags",
        }
    }
}

/// An asset whose enrichment is due: its key, and the provider's id the source asks about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Due {
    pub key: String,
    pub native_id: String,
}

/// The assets a run saw (and did not remove) in `scope`, never enriched first, then the
/// longest ago first; ties by key, so the order is stable.
pub async fn due(
    db: &DatabaseConnection,
    enrichment: Enrichment,
    run_id: i64,
    scope: &str,
) -> Result<Vec<Due>, StoreError> {
    match enrichment {
        Enrichment::AccountTags => {
            let rows: Vec<(String, String)> = cloud_account::Entity::find()
                .select_only()
                .columns([Column::Id, Column::NativeId])
                .filter(Column::Scope.eq(scope))
                .filter(Column::LastRunId.eq(run_id))
                .filter(Column::RemovedAt.is_null())
                .order_by_with_nulls(Column::TagsReadAt, Order::Asc, NullOrdering::First)
                .order_by_asc(Column::Id)
                .into_tuple()
                .all(db)
                .await?;
            Ok(rows
                .into_iter()
                .map(|(key, native_id)| Due { key, native_id })
                .collect())
        }
    }
}

/// What a source read for one asset.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Tags(std::collections::BTreeMap<String, String>),
}

/// One asset's enrichment as read, with where it came from (operation, request id).
#[derive(Debug, Clone)]
pub struct Enriched {
    pub key: String,
    pub value: Value,
    pub provenance: serde_json::Value,
}

/// Records enrichments read at `ctx.at`, in one transaction. `updated` counts the assets
/// whose enrichment changed; the rest are `unchanged`.
pub async fn record(
    db: &DatabaseConnection,
    ctx: &WriteContext,
    enriched: Vec<Enriched>,
) -> Result<WriteCounts, StoreError> {
    let tags = enriched
        .into_iter()
        .map(|e| match e.value {
            Value::Tags(tags) => TagsRead {
                id: e.key,
                tags,
                provenance: e.provenance,
            },
        })
        .collect();
    crate::write::record_tags(db, ctx, tags).await
}
