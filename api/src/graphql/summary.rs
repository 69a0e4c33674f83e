//! `inventorySummary`: counts for dashboards and the newest run of every collector and scope.
//! Each field is its own query, run only when asked for.

use super::db;
use super::enums::{AccountStatus, EndpointKind, EndpointStatus, Provider};
use super::run::CollectorRun;
use crate::error::ApiResult;
use async_graphql::{Context, Object, SimpleObject};
use entity::{cloud_account, collector_run, monitoring_endpoint};
use sea_orm::sea_query::Query;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

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
        use cloud_account::Column as C;
        let rows: Vec<(entity::enums::Provider, entity::enums::AccountStatus, i64)> =
            cloud_account::Entity::find()
                .select_only()
                .column(C::Provider)
                .column(C::Status)
                .column_as(C::Id.count(), "n")
                .filter(C::RemovedAt.is_null())
                .group_by(C::Provider)
                .group_by(C::Status)
                .order_by_asc(C::Provider)
                .order_by_asc(C::Status)
                .into_tuple()
                .all(db(ctx)?)
                .await?;
        Ok(rows
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
        use monitoring_endpoint::Column as C;
        let rows: Vec<(
            entity::enums::EndpointKind,
            entity::enums::EndpointStatus,
            i64,
        )> = monitoring_endpoint::Entity::find()
            .select_only()
            .column(C::Kind)
            .column(C::Status)
            .column_as(C::Id.count(), "n")
            .filter(C::RemovedAt.is_null())
            .group_by(C::Kind)
            .group_by(C::Status)
            .order_by_asc(C::Kind)
            .order_by_asc(C::Status)
            .into_tuple()
            .all(db(ctx)?)
            .await?;
        Ok(rows
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
        use collector_run::Column as C;
        let newest = Query::select()
            .expr(C::Id.max())
            .from(collector_run::Entity)
            .group_by_columns([C::Collector, C::Scope])
            .to_owned();
        Ok(collector_run::Entity::find()
            .filter(C::Id.in_subquery(newest))
            .order_by_asc(C::Collector)
            .order_by_asc(C::Scope)
            .all(db(ctx)?)
            .await?
            .into_iter()
            .map(CollectorRun::from)
            .collect())
    }
}
