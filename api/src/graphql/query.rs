//! The query root.

use super::account::{AccountFilter, CloudAccount};
use super::db;
use super::endpoint::{EndpointFilter, MonitoringEndpoint};
use super::enums::Provider;
use super::id::{NodeType, decode, decode_as};
use super::limits::{Limits, STATEMENT_COMPLEXITY, page_complexity};
use super::node::Node;
use super::page::{Order, PageArgs, connection, fetch, whole};
use super::run::{CollectorRun, CollectorRunFilter};
use super::summary::InventorySummary;
use crate::error::{ApiError, ApiResult};
use async_graphql::{Context, ID, Object};
use chrono::{DateTime, Utc};
use entity::{cloud_account, collector_run, monitoring_endpoint};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryResult,
    QueryTrait,
};

connection!(CloudAccount, CloudAccountConnection, CloudAccountEdge);
connection!(
    MonitoringEndpoint,
    MonitoringEndpointConnection,
    MonitoringEndpointEdge
);
connection!(CollectorRun, CollectorRunConnection, CollectorRunEdge);

fn max_page(ctx: &Context<'_>) -> ApiResult<u64> {
    Ok(ctx
        .data::<Limits>()
        .map_err(|_| ApiError::Internal)?
        .max_page_size)
}

/// A text key column's cursor value (accounts and endpoints are keyed by text).
pub(super) fn text_key(key: &str) -> Option<sea_orm::Value> {
    Some(key.to_owned().into())
}

fn run_key(key: &str) -> Option<sea_orm::Value> {
    key.parse::<i64>().ok().map(Into::into)
}

pub struct Query;

#[Object]
impl Query {
    /// Refetches any object by its global id; null when it does not exist.
    #[graphql(complexity = "STATEMENT_COMPLEXITY + child_complexity")]
    async fn node(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Option<Node>> {
        let db = db(ctx)?;
        Ok(match decode(&id, "id")? {
            (NodeType::CloudAccount, key) => {
                account_by_key(db, &key).await?.map(Node::CloudAccount)
            }
            (NodeType::MonitoringEndpoint, key) => endpoint_by_key(db, &key)
                .await?
                .map(Node::MonitoringEndpoint),
            (NodeType::CollectorRun, key) => match key.parse::<i64>() {
                Ok(run) => collector_run::Entity::find_by_id(run)
                    .one(db)
                    .await?
                    .map(|m| Node::CollectorRun(CollectorRun::from(m))),
                Err(_) => return Err(ApiError::bad_input("id", "id is not a valid id")),
            },
        })
    }

    /// One account, by global `id` or by `provider` and `nativeId`; removed accounts
    /// included. Null when it does not exist.
    ///
    /// With `asOf`, the account as it was then, rebuilt from its history: every observed
    /// field and `removedAt` as of that time (null if it did not exist yet); `source`,
    /// `provenance` and `lastRun` are the present ones, `lastSeenAt` and `tagsReadAt` at most
    /// `asOf`.
    #[graphql(complexity = "STATEMENT_COMPLEXITY + child_complexity")]
    async fn account(
        &self,
        ctx: &Context<'_>,
        id: Option<ID>,
        provider: Option<Provider>,
        native_id: Option<String>,
        as_of: Option<DateTime<Utc>>,
    ) -> ApiResult<Option<CloudAccount>> {
        let key = match (id, provider, native_id) {
            (Some(id), None, None) => decode_as(&id, NodeType::CloudAccount, "id")?,
            (None, Some(provider), Some(native_id)) => {
                entity::record::account_id(provider.into(), &native_id)
            }
            _ => {
                return Err(ApiError::bad_input(
                    "id",
                    "give either id, or provider and nativeId",
                ));
            }
        };
        match as_of {
            Some(at) => Ok(entity::as_of::account(db(ctx)?, &key, at)
                .await?
                .map(CloudAccount)),
            None => {
                let columns = super::account::selection_columns(ctx);
                account_columns_by_key(db(ctx)?, &key, &columns).await
            }
        }
    }

    /// Accounts in a stable order (provider, then native id), filtered and paginated.
    #[graphql(complexity = "page_complexity(first, last, child_complexity)")]
    async fn accounts(
        &self,
        ctx: &Context<'_>,
        filter: Option<AccountFilter>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> ApiResult<CloudAccountConnection> {
        let db = db(ctx)?;
        let filter = filter.unwrap_or_default();
        let columns = super::account::page_columns(ctx);
        let select = super::account::select_columns(&columns)
            .filter(filter.condition(db.get_database_backend())?);
        let order = Order {
            key: cloud_account::Column::Id,
            ascending: true,
            parse: text_key,
        };
        let args = PageArgs {
            first,
            after,
            last,
            before,
        };
        let decode =
            |row: &QueryResult| cloud_account::Model::from_columns(row, &columns).map(CloudAccount);
        let page = fetch(db, select, &order, decode, &args, max_page(ctx)?).await?;
        super::run::prime_runs(ctx, page.rows.iter().map(|a| a.0.last_run_id)).await?;
        Ok(CloudAccountConnection::from_page(page))
    }

    /// One monitoring endpoint by global id; removed endpoints included.
    ///
    /// With `asOf`, the endpoint as it was then, rebuilt from its history (null if it did
    /// not exist yet); its latest probe snapshot (`raw`, `lastCheckedAt`, `lastError`),
    /// `provenance` and `lastRun` are the present ones.
    #[graphql(complexity = "STATEMENT_COMPLEXITY + child_complexity")]
    async fn monitoring_endpoint(
        &self,
        ctx: &Context<'_>,
        id: ID,
        as_of: Option<DateTime<Utc>>,
    ) -> ApiResult<Option<MonitoringEndpoint>> {
        let key = decode_as(&id, NodeType::MonitoringEndpoint, "id")?;
        match as_of {
            Some(at) => Ok(entity::as_of::endpoint(db(ctx)?, &key, at)
                .await?
                .map(MonitoringEndpoint)),
            None => endpoint_by_key(db(ctx)?, &key).await,
        }
    }

    /// Monitoring endpoints ordered by key, filtered and paginated.
    #[graphql(complexity = "page_complexity(first, last, child_complexity)")]
    async fn monitoring_endpoints(
        &self,
        ctx: &Context<'_>,
        filter: Option<EndpointFilter>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> ApiResult<MonitoringEndpointConnection> {
        let db = db(ctx)?;
        let filter = filter.unwrap_or_default();
        let select = monitoring_endpoint::Entity::find()
            .filter(filter.condition(db.get_database_backend())?);
        let order = Order {
            key: monitoring_endpoint::Column::Id,
            ascending: true,
            parse: text_key,
        };
        let args = PageArgs {
            first,
            after,
            last,
            before,
        };
        let decode = whole::<monitoring_endpoint::Entity, MonitoringEndpoint>;
        let page = fetch(db, select, &order, decode, &args, max_page(ctx)?).await?;
        super::run::prime_runs(ctx, page.rows.iter().map(|e| e.0.last_run_id)).await?;
        Ok(MonitoringEndpointConnection::from_page(page))
    }

    /// Every change across the inventory in commit order, oldest first: page from the
    /// last `pageInfo.endCursor` you kept to get what changed since. A cursor never skips a
    /// change committed later, even under concurrent writers.
    #[graphql(complexity = "page_complexity(first, None, child_complexity)")]
    async fn changes(
        &self,
        ctx: &Context<'_>,
        after: Option<String>,
        first: Option<i32>,
        filter: Option<super::feed::ChangeFilter>,
    ) -> ApiResult<super::feed::ChangeFeedConnection> {
        let first = super::page::first_or_default(first, max_page(ctx)?)?;
        super::feed::changes(db(ctx)?, after, first, filter).await
    }

    /// The assets a Backstage entity annotation names, ordered by key: one asset for
    /// `asset-inventory/id`, `amazonaws.com/account-id` or `arn`,
    /// `cloud.google.com/project-id` or `project-number`, `azure.com/subscription-id`;
    /// every account below an organization or tenant for `amazonaws.com/organization-id`,
    /// `cloud.google.com/organization-id` and `azure.com/tenant-id`. Removed assets are
    /// included unless `includeRemoved` is false (an entity may point at what is gone).
    #[graphql(complexity = "page_complexity(first, None, child_complexity)")]
    async fn lookup(
        &self,
        ctx: &Context<'_>,
        annotation: super::lookup::AnnotationInput,
        first: Option<i32>,
        after: Option<String>,
        #[graphql(default = true)] include_removed: bool,
    ) -> ApiResult<super::lookup::AssetConnection> {
        let args = PageArgs {
            first,
            after,
            last: None,
            before: None,
        };
        let page = super::lookup::lookup(
            db(ctx)?,
            &annotation,
            include_removed,
            &args,
            max_page(ctx)?,
            &super::account::page_columns(ctx),
        )
        .await?;
        super::run::prime_runs(ctx, page.edges.iter().map(|e| e.node.last_run_id())).await?;
        Ok(page)
    }

    /// Where the change feed ends now: the cursor of the newest change `changes` can
    /// show (null before the first change). Save it before a full copy of the inventory and
    /// page `changes(after:)` from it afterwards: whatever was written meanwhile follows it.
    #[graphql(complexity = "STATEMENT_COMPLEXITY + child_complexity")]
    async fn changes_head(&self, ctx: &Context<'_>) -> ApiResult<Option<String>> {
        super::feed::head(db(ctx)?).await
    }

    /// Collector runs, newest first.
    #[graphql(complexity = "page_complexity(first, last, child_complexity)")]
    async fn collector_runs(
        &self,
        ctx: &Context<'_>,
        filter: Option<CollectorRunFilter>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> ApiResult<CollectorRunConnection> {
        let db = db(ctx)?;
        let filter = filter.unwrap_or_default();
        let select = collector_run::Entity::find().filter(filter.condition());
        let order = Order {
            key: collector_run::Column::Id,
            ascending: false,
            parse: run_key,
        };
        let args = PageArgs {
            first,
            after,
            last,
            before,
        };
        let decode = whole::<collector_run::Entity, CollectorRun>;
        let page = fetch(db, select, &order, decode, &args, max_page(ctx)?).await?;
        Ok(CollectorRunConnection::from_page(page))
    }

    /// Counts and freshness for dashboards.
    async fn inventory_summary(&self) -> InventorySummary {
        InventorySummary
    }
}

async fn account_by_key(db: &DatabaseConnection, key: &str) -> ApiResult<Option<CloudAccount>> {
    Ok(cloud_account::Entity::find_by_id(key.to_owned())
        .one(db)
        .await?
        .map(CloudAccount))
}

/// The account with `key` holding only `columns`, the rest blank (see
/// [`cloud_account::Model::from_columns`]).
async fn account_columns_by_key(
    db: &DatabaseConnection,
    key: &str,
    columns: &[cloud_account::Column],
) -> ApiResult<Option<CloudAccount>> {
    let statement = super::account::select_columns(columns)
        .filter(cloud_account::Column::Id.eq(key))
        .build(db.get_database_backend());
    Ok(match db.query_one_raw(statement).await? {
        Some(row) => Some(CloudAccount(cloud_account::Model::from_columns(
            &row, columns,
        )?)),
        None => None,
    })
}

async fn endpoint_by_key(
    db: &DatabaseConnection,
    key: &str,
) -> ApiResult<Option<MonitoringEndpoint>> {
    Ok(monitoring_endpoint::Entity::find_by_id(key.to_owned())
        .one(db)
        .await?
        .map(MonitoringEndpoint))
}
