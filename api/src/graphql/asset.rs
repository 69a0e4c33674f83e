//! `Asset`: an account or an endpoint, for lists that mix them (the change feed) or hold
//! either (`lookup`). Resolved through [`AssetLoader`]: a page of changes loads its assets in
//! one query per type.

use super::account::CloudAccount;
use super::endpoint::MonitoringEndpoint;
use super::page::CursorKey;
use super::row::{PageValues, PlainSelection, Row, Rows, build};
use crate::error::{ApiError, ApiResult};
use async_graphql::dataloader::{DataLoader, Loader};
use async_graphql::parser::types::Field;
use async_graphql::registry::Registry;
use async_graphql::resolver_utils::resolve_list;
use async_graphql::{Context, ContextSelectionSet, OutputType, Positioned, ServerResult, Value};
use entity::enums::AssetType;
use entity::{cloud_account, monitoring_endpoint};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use std::borrow::Cow;
use std::collections::HashMap;

/// An AWS account, GCP project or Azure subscription, or a monitoring endpoint.
#[derive(async_graphql::Union)]
pub enum Asset {
    CloudAccount(CloudAccount),
    MonitoringEndpoint(MonitoringEndpoint),
}

impl Asset {
    /// The run that last saw the asset.
    pub fn last_run_id(&self) -> Option<i64> {
        match self {
            Self::CloudAccount(account) => account.0.last_run_id,
            Self::MonitoringEndpoint(endpoint) => endpoint.0.last_run_id,
        }
    }
}

impl CursorKey for Asset {
    fn cursor_key(&self) -> String {
        match self {
            Self::CloudAccount(account) => account.cursor_key(),
            Self::MonitoringEndpoint(endpoint) => endpoint.cursor_key(),
        }
    }
}

/// A lookup's node, built as the account or endpoint it is would be in a list of its own
/// ([`Row`]) when the selection, read for that type, is plain: the Backstage operation
/// `assets-by-annotation` asks for accounts' fields in an inline fragment, and through
/// async-graphql each of its 50 rows was a future, and each field, tag and ancestor another.
impl OutputType for Row<Asset> {
    fn type_name() -> Cow<'static, str> {
        Asset::type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        Asset::create_type_info(registry)
    }

    async fn resolve(
        &self,
        ctx: &ContextSelectionSet<'_>,
        field: &Positioned<Field>,
    ) -> ServerResult<Value> {
        let within = Asset::type_name();
        match &self.0 {
            Asset::CloudAccount(account) => {
                if let Some(selection) = PlainSelection::of::<CloudAccount>(ctx, &within) {
                    return Ok(selection.only_row(account, ctx).await);
                }
            }
            Asset::MonitoringEndpoint(endpoint) => {
                if let Some(selection) = PlainSelection::of::<MonitoringEndpoint>(ctx, &within) {
                    return Ok(selection.only_row(endpoint, ctx).await);
                }
            }
        }
        Box::pin(self.0.resolve(ctx, field)).await
    }
}

/// A lookup's `nodes`: built one after another when the selection is plain for each type
/// of asset on the page (a page holds one: each annotation names one type), else through
/// async-graphql as a whole.
impl OutputType for Rows<'_, Asset> {
    fn type_name() -> Cow<'static, str> {
        <Vec<&Row<Asset>>>::type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        <Vec<&Row<Asset>>>::create_type_info(registry)
    }

    async fn resolve(
        &self,
        ctx: &ContextSelectionSet<'_>,
        field: &Positioned<Field>,
    ) -> ServerResult<Value> {
        let within = Asset::type_name();
        let holds = |account: bool| {
            self.0
                .iter()
                .any(|row| matches!(row.0, Asset::CloudAccount(_)) == account)
        };
        let accounts = PlainSelection::of::<CloudAccount>(ctx, &within);
        let endpoints = PlainSelection::of::<MonitoringEndpoint>(ctx, &within);
        if (holds(true) && accounts.is_none()) || (holds(false) && endpoints.is_none()) {
            return resolve_list(ctx, field, self.0.iter().copied(), Some(self.0.len())).await;
        }
        let mut rows = Vec::with_capacity(self.0.len());
        let mut page = PageValues::default();
        for (index, row) in self.0.iter().enumerate() {
            let ctx = ctx.with_index(index);
            rows.push(match (&row.0, &accounts, &endpoints) {
                (Asset::CloudAccount(account), Some(selection), _) => {
                    let blank = selection.blank.clone();
                    build(account, &ctx, &selection.fields, blank, &mut page).await
                }
                (Asset::MonitoringEndpoint(endpoint), _, Some(selection)) => {
                    let blank = selection.blank.clone();
                    build(endpoint, &ctx, &selection.fields, blank, &mut page).await
                }
                // Not reached: the page was checked above.
                _ => OutputType::resolve(*row, &ctx, field).await?,
            });
        }
        Ok(Value::List(rows))
    }
}

impl From<cloud_account::Model> for Asset {
    fn from(model: cloud_account::Model) -> Self {
        Self::CloudAccount(CloudAccount(model))
    }
}

impl From<monitoring_endpoint::Model> for Asset {
    fn from(model: monitoring_endpoint::Model) -> Self {
        Self::MonitoringEndpoint(MonitoringEndpoint(model))
    }
}

/// What the loader hands out; `Asset` itself holds GraphQL objects, which are not `Clone`.
#[derive(Clone)]
pub enum StoredAsset {
    Account(cloud_account::Model),
    Endpoint(monitoring_endpoint::Model),
}

impl From<StoredAsset> for Asset {
    fn from(stored: StoredAsset) -> Self {
        match stored {
            StoredAsset::Account(model) => model.into(),
            StoredAsset::Endpoint(model) => model.into(),
        }
    }
}

/// Batches asset lookups by key, one query per asset type.
pub struct AssetLoader {
    pub db: DatabaseConnection,
}

impl Loader<(AssetType, String)> for AssetLoader {
    type Value = StoredAsset;
    type Error = ApiError;

    async fn load(
        &self,
        keys: &[(AssetType, String)],
    ) -> Result<HashMap<(AssetType, String), Self::Value>, Self::Error> {
        let ids = |wanted: AssetType| {
            keys.iter()
                .filter(move |(asset, _)| *asset == wanted)
                .map(|(_, key)| key.clone())
                .collect::<Vec<_>>()
        };
        let mut found = HashMap::with_capacity(keys.len());
        let accounts = ids(AssetType::CloudAccount);
        if !accounts.is_empty() {
            for model in cloud_account::Entity::find()
                .filter(cloud_account::Column::Id.is_in(accounts))
                .all(&self.db)
                .await?
            {
                found.insert(
                    (AssetType::CloudAccount, model.id.clone()),
                    StoredAsset::Account(model),
                );
            }
        }
        let endpoints = ids(AssetType::MonitoringEndpoint);
        if !endpoints.is_empty() {
            for model in monitoring_endpoint::Entity::find()
                .filter(monitoring_endpoint::Column::Id.is_in(endpoints))
                .all(&self.db)
                .await?
            {
                found.insert(
                    (AssetType::MonitoringEndpoint, model.id.clone()),
                    StoredAsset::Endpoint(model),
                );
            }
        }
        Ok(found)
    }
}

/// The asset a change is about, as it is now, through the request's loader.
pub async fn load_asset(
    ctx: &Context<'_>,
    asset: AssetType,
    key: &str,
) -> ApiResult<Option<Asset>> {
    let loader = ctx
        .data::<DataLoader<AssetLoader>>()
        .map_err(|_| ApiError::Internal)?;
    Ok(loader
        .load_one((asset, key.to_owned()))
        .await?
        .map(Asset::from))
}
