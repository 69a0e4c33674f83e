//! `Asset`: an account or an endpoint, for lists that mix them (the change feed) or hold
//! either (`lookup`). Resolved through [`AssetLoader`]: a page of changes loads its assets in
//! one query per type.

use super::account::CloudAccount;
use super::endpoint::MonitoringEndpoint;
use super::page::CursorKey;
use crate::error::{ApiError, ApiResult};
use async_graphql::Context;
use async_graphql::dataloader::{DataLoader, Loader};
use entity::enums::AssetType;
use entity::{cloud_account, monitoring_endpoint};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
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
