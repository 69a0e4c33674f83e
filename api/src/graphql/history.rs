//! `history`: an asset's changes, newest first. A page of assets asking for their history
//! costs one windowed query ([`HistoryLoader`]), not one per asset.

use super::page::{PageInfo, count_statement, decode_cursor, encode_cursor};
use super::run::{CollectorRun, load_run};
use crate::error::{ApiError, ApiResult};
use async_graphql::dataloader::{DataLoader, Loader};
use async_graphql::{Context, Json, Object, SimpleObject};
use chrono::{DateTime, Utc};
use entity::asset_change::{self, Column as C};
use entity::enums::AssetType;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Statement};
use serde_json::Value as JsonValue;
use std::collections::HashMap;

/// What happened to an asset in one change.
#[derive(async_graphql::Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "entity::enums::ChangeKind")]
pub enum ChangeKind {
    /// First seen (or first seeded).
    Created,
    /// One or more observed fields changed.
    Updated,
    /// A complete read of its scope missed it, or a person retired it.
    Removed,
    /// Seen again after it had been removed.
    Restored,
}

/// One field of a change: its value before and after (null where there was none).
#[derive(SimpleObject)]
pub struct FieldChange {
    /// The stored field's name (`name`, `status`, `tags`, `org_path`…).
    pub field: String,
    pub old: Option<Json<JsonValue>>,
    pub new: Option<Json<JsonValue>>,
}

pub struct AssetChange(pub asset_change::Model);

/// One change of an asset, and who or what made it.
#[Object]
impl AssetChange {
    async fn asset_type(&self) -> super::enums::AssetType {
        self.0.asset_type.into()
    }
    /// The asset's key (`aws:123456789012`, an endpoint's id).
    async fn asset_key(&self) -> &str {
        &self.0.asset_id
    }
    async fn kind(&self) -> ChangeKind {
        self.0.kind.into()
    }
    async fn at(&self) -> DateTime<Utc> {
        self.0.at
    }
    /// The fields that changed, by name. A creation lists every observed field it wrote.
    async fn fields(&self, ctx: &Context<'_>) -> ApiResult<Vec<FieldChange>> {
        let JsonValue::Object(fields) = &self.0.changes else {
            return Ok(Vec::new());
        };
        if self.0.kind == entity::enums::ChangeKind::Created && fields.is_empty() {
            return created_fields(ctx, &self.0).await;
        }
        let value = |change: &JsonValue, side: &str| {
            change
                .get(side)
                .filter(|v| !v.is_null())
                .map(|v| Json(v.clone()))
        };
        Ok(fields
            .iter()
            .map(|(field, change)| FieldChange {
                field: field.clone(),
                old: value(change, "old"),
                new: value(change, "new"),
            })
            .collect())
    }
    /// The person or token that made a manual change (`token:alice`, an OIDC subject).
    async fn actor(&self) -> Option<&str> {
        self.0.actor.as_deref()
    }
    /// The collector run that made the change, if a collector did.
    async fn run(&self, ctx: &Context<'_>) -> ApiResult<Option<CollectorRun>> {
        load_run(ctx, self.0.run_id).await
    }
    /// The asset as it is now (removed ones included): what a consumer of the change feed
    /// refreshes its copy from. Loaded for a whole page at once.
    async fn asset(&self, ctx: &Context<'_>) -> ApiResult<Option<super::asset::Asset>> {
        super::asset::load_asset(ctx, self.0.asset_type, &self.0.asset_id).await
    }
}

/// An edge encodes its cursor only when asked, as the asset lists' edges do
/// (`page::connection`).
pub struct AssetChangeEdge {
    pub node: AssetChange,
}

#[Object]
impl AssetChangeEdge {
    /// Opaque; pass it as `after`.
    async fn cursor(&self) -> String {
        change_cursor(&self.node.0)
    }

    async fn node(&self) -> &AssetChange {
        &self.node
    }
}

/// The history position after `change`: its id.
fn change_cursor(change: &asset_change::Model) -> String {
    encode_cursor(&change.id.to_string())
}

pub struct AssetChangeConnection {
    edges: Vec<AssetChangeEdge>,
    page_info: PageInfo,
    count: Statement,
}

#[Object]
impl AssetChangeConnection {
    async fn edges(&self) -> &[AssetChangeEdge] {
        &self.edges
    }
    /// The nodes of `edges`, for clients that do not need cursors.
    async fn nodes(&self) -> Vec<&AssetChange> {
        self.edges.iter().map(|e| &e.node).collect()
    }
    async fn page_info(&self) -> &PageInfo {
        &self.page_info
    }
    /// How many changes the asset has. Costs a count query: ask only when you show it.
    async fn total_count(&self, ctx: &Context<'_>) -> ApiResult<i64> {
        super::page::run_count(super::db(ctx)?, self.count.clone()).await
    }
}

/// One asset's page of history: changes older than `before` (a change id), at most `limit`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HistoryKey {
    pub asset: AssetType,
    pub asset_id: String,
    pub before: Option<i64>,
    pub limit: u64,
}

/// Batches the history pages of one request: keys that share a type, a cursor and a size
/// (a list's nodes all do) are read together, each asset's newest `limit` rows ranked by a
/// window function over the `(asset_type, asset_id, id)` index.
pub struct HistoryLoader {
    pub db: DatabaseConnection,
}

impl Loader<HistoryKey> for HistoryLoader {
    type Value = Vec<asset_change::Model>;
    type Error = ApiError;

    async fn load(
        &self,
        keys: &[HistoryKey],
    ) -> Result<HashMap<HistoryKey, Self::Value>, Self::Error> {
        let mut groups: HashMap<(AssetType, Option<i64>, u64), Vec<&str>> = HashMap::new();
        for key in keys {
            groups
                .entry((key.asset, key.before, key.limit))
                .or_default()
                .push(&key.asset_id);
        }
        let mut pages = HashMap::with_capacity(keys.len());
        for ((asset, before, limit), ids) in groups {
            tracing::debug!(assets = ids.len(), "loading history");
            let rows = entity::query::newest_changes(&self.db, asset, &ids, before, limit).await?;
            let mut by_asset: HashMap<String, Vec<asset_change::Model>> = HashMap::new();
            for row in rows {
                by_asset.entry(row.asset_id.clone()).or_default().push(row);
            }
            for id in ids {
                let key = HistoryKey {
                    asset,
                    asset_id: id.to_owned(),
                    before,
                    limit,
                };
                pages.insert(key, by_asset.remove(id).unwrap_or_default());
            }
        }
        Ok(pages)
    }
}

/// A creation change, for [`CreationLoader`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CreationKey {
    pub asset: AssetType,
    pub asset_id: String,
    pub change_id: i64,
}

/// Batches what creation changes wrote (`entity::as_of::created_fields`): a page of changes
/// rebuilds its creations in two queries per asset type, not two per creation.
pub struct CreationLoader {
    pub db: DatabaseConnection,
}

impl Loader<CreationKey> for CreationLoader {
    type Value = Vec<(String, JsonValue)>;
    type Error = ApiError;

    async fn load(
        &self,
        keys: &[CreationKey],
    ) -> Result<HashMap<CreationKey, Self::Value>, Self::Error> {
        let mut found = HashMap::with_capacity(keys.len());
        for asset in [AssetType::CloudAccount, AssetType::MonitoringEndpoint] {
            let created: Vec<(i64, String)> = keys
                .iter()
                .filter(|key| key.asset == asset)
                .map(|key| (key.change_id, key.asset_id.clone()))
                .collect();
            if created.is_empty() {
                continue;
            }
            let fields = entity::as_of::created_fields(&self.db, asset, &created).await?;
            for (change_id, asset_id) in created {
                if let Some(written) = fields.get(&change_id).cloned() {
                    let key = CreationKey {
                        asset,
                        asset_id,
                        change_id,
                    };
                    found.insert(key, written);
                }
            }
        }
        Ok(found)
    }
}

/// The fields a creation that lists none wrote, each as a change from nothing.
async fn created_fields(
    ctx: &Context<'_>,
    change: &asset_change::Model,
) -> ApiResult<Vec<FieldChange>> {
    let loader = ctx
        .data::<DataLoader<CreationLoader>>()
        .map_err(|_| ApiError::Internal)?;
    let key = CreationKey {
        asset: change.asset_type,
        asset_id: change.asset_id.clone(),
        change_id: change.id,
    };
    let written = loader.load_one(key).await?.unwrap_or_default();
    Ok(written
        .into_iter()
        .map(|(field, value)| FieldChange {
            field,
            old: None,
            new: (!value.is_null()).then_some(Json(value)),
        })
        .collect())
}

/// Resolves `history(first, after)` of one asset through the request's loader.
pub async fn history(
    ctx: &Context<'_>,
    asset: AssetType,
    asset_id: &str,
    first: Option<i32>,
    after: Option<String>,
) -> ApiResult<AssetChangeConnection> {
    let max = ctx
        .data::<super::limits::Limits>()
        .map_err(|_| ApiError::Internal)?
        .max_page_size;
    let first = super::page::first_or_default(first, max)?;
    let before = after
        .as_deref()
        .map(|cursor| {
            decode_cursor(cursor, "after")?
                .parse::<i64>()
                .map_err(|_| ApiError::bad_input("after", "after is not a cursor of this history"))
        })
        .transpose()?;
    let loader = ctx
        .data::<DataLoader<HistoryLoader>>()
        .map_err(|_| ApiError::Internal)?;
    // One row more than asked tells whether another page follows.
    let key = HistoryKey {
        asset,
        asset_id: asset_id.to_owned(),
        before,
        limit: first + 1,
    };
    let mut rows = loader.load_one(key).await?.unwrap_or_default();
    let has_next_page = rows.len() as u64 > first;
    rows.truncate(first as usize);
    let edges: Vec<AssetChangeEdge> = rows
        .into_iter()
        .map(|row| AssetChangeEdge {
            node: AssetChange(row),
        })
        .collect();
    let page_info = PageInfo {
        has_next_page,
        has_previous_page: before.is_some(),
        start_cursor: edges.first().map(|e| change_cursor(&e.node.0)),
        end_cursor: edges.last().map(|e| change_cursor(&e.node.0)),
    };
    let db = super::db(ctx)?;
    let count = count_statement(
        db,
        &asset_change::Entity::find()
            .filter(C::AssetType.eq(asset))
            .filter(C::AssetId.eq(asset_id)),
    );
    Ok(AssetChangeConnection {
        edges,
        page_info,
        count,
    })
}
