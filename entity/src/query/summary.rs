//! What the inventory holds now (removed assets left out) and the newest runs of every
//! collector and scope: the API's summary and its metrics read these. One query each.

use crate::enums::{AccountStatus, EndpointKind, EndpointStatus, Provider, RunStatus};
use crate::{cloud_account, collector_run, monitoring_endpoint};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};

/// Present accounts by provider and status, in that order.
pub async fn account_counts<C: ConnectionTrait>(
    db: &C,
) -> Result<Vec<(Provider, AccountStatus, i64)>, DbErr> {
    use cloud_account::Column as A;
    present_by::<cloud_account::Entity, _, _, _>(db, A::Provider, A::Status, A::RemovedAt).await
}

/// Present endpoints by kind and status, in that order.
pub async fn endpoint_counts<C: ConnectionTrait>(
    db: &C,
) -> Result<Vec<(EndpointKind, EndpointStatus, i64)>, DbErr> {
    use monitoring_endpoint::Column as E;
    present_by::<monitoring_endpoint::Entity, _, _, _>(db, E::Kind, E::Status, E::RemovedAt).await
}

/// Rows of `E` not removed, counted by two columns, in their order.
async fn present_by<E, C, A, B>(
    db: &C,
    first: E::Column,
    second: E::Column,
    removed_at: E::Column,
) -> Result<Vec<(A, B, i64)>, DbErr>
where
    E: EntityTrait,
    C: ConnectionTrait,
    (A, B, i64): sea_orm::TryGetableMany,
{
    E::find()
        .select_only()
        .column(first)
        .column(second)
        .column_as(Expr::val(1).count(), "n")
        .filter(removed_at.is_null())
        .group_by(first)
        .group_by(second)
        .order_by_asc(first)
        .order_by_asc(second)
        .into_tuple()
        .all(db)
        .await
}

/// Finished runs (not running) by collector, scope and status, in that order.
pub async fn run_counts<C: ConnectionTrait>(
    db: &C,
) -> Result<Vec<(String, String, RunStatus, i64)>, DbErr> {
    use collector_run::Column as R;
    collector_run::Entity::find()
        .select_only()
        .column(R::Collector)
        .column(R::Scope)
        .column(R::Status)
        .column_as(R::Id.count(), "n")
        .filter(R::Status.ne(RunStatus::Running))
        .group_by(R::Collector)
        .group_by(R::Scope)
        .group_by(R::Status)
        .order_by_asc(R::Collector)
        .order_by_asc(R::Scope)
        .order_by_asc(R::Status)
        .into_tuple()
        .all(db)
        .await
}

/// The newest run of each collector and scope among runs with one of `statuses` (any when
/// empty), by collector and scope. Uses the `(collector, scope, id)` index.
pub async fn latest_runs<C: ConnectionTrait>(
    db: &C,
    statuses: &[RunStatus],
) -> Result<Vec<collector_run::Model>, DbErr> {
    use collector_run::Column as R;
    let mut newest = Query::select()
        .expr(R::Id.max())
        .from(collector_run::Entity)
        .group_by_columns([R::Collector, R::Scope])
        .to_owned();
    if !statuses.is_empty() {
        newest.and_where(R::Status.is_in(statuses.iter().copied()));
    }
    collector_run::Entity::find()
        .filter(R::Id.in_subquery(newest))
        .order_by_asc(R::Collector)
        .order_by_asc(R::Scope)
        .all(db)
        .await
}

/// Every endpoint of `kind` stored and not removed (seeded by people or discovered), by key.
pub async fn present_endpoints<C: ConnectionTrait>(
    db: &C,
    kind: EndpointKind,
) -> Result<Vec<monitoring_endpoint::Model>, DbErr> {
    use monitoring_endpoint::Column as E;
    monitoring_endpoint::Entity::find()
        .filter(E::Kind.eq(kind))
        .filter(E::RemovedAt.is_null())
        .order_by_asc(E::Id)
        .all(db)
        .await
}
