//! `inventorySummary`: counts for dashboards and the newest run of every collector and scope.
//! Each field is its own query, run only when asked for.

use super::db;
use super::enums::{AccountStatus, EndpointKind, EndpointStatus, Provider};
use super::run::CollectorRun;
use crate::error::ApiResult;
use async_graphql::{Context, Object, SimpleObject};
use entity::query;

#[derive(SimpleObject)]
pub struct AccountCount {
    pub provider: Provider,
    pub status: AccountStatus,
    pub count: i64,
}

#[derive(SimpleObject)]
pub struct EndpointCount {
    pub kind: EndpointKind,
    pub status: EndpointStatus,
    pub count: i64,
}

pub struct InventorySummary;

/// What the inventory holds now (removed assets excluded) and how fresh it is.
#[Object]
impl InventorySummary {
    /// Present accounts by provider and status.
    #[graphql(complexity = "super::limits::STATEMENT_COMPLEXITY + child_complexity")]
    async fn accounts(&self, ctx: &Context<'_>) -> ApiResult<Vec<AccountCount>> {
        Ok(query::account_counts(db(ctx)?)
            .await?
            .into_iter()
            .map(|(provider, status, count)| AccountCount {
                provider: provider.into(),
                status: status.into(),
                count,
            })
            .collect())
    }

    /// Present endpoints by kind and status.
    #[graphql(complexity = "super::limits::STATEMENT_COMPLEXITY + child_complexity")]
    async fn endpoints(&self, ctx: &Context<'_>) -> ApiResult<Vec<EndpointCount>> {
        Ok(query::endpoint_counts(db(ctx)?)
            .await?
            .into_iter()
            .map(|(kind, status, count)| EndpointCount {
                kind: kind.into(),
                status: status.into(),
                count,
            })
            .collect())
    }

    /// The newest run of each collector and scope, whatever its status.
    #[graphql(complexity = "super::limits::STATEMENT_COMPLEXITY + child_complexity")]
    async fn latest_runs(&self, ctx: &Context<'_>) -> ApiResult<Vec<CollectorRun>> {
        Ok(query::latest_runs(db(ctx)?, &[])
            .await?
            .into_iter()
            .map(CollectorRun::from)
            .collect())
    }
}
