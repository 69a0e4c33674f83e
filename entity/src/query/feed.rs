//! The change feed: every change across the inventory in commit order, for clients that keep
//! a copy current by paging from their last position.
//!
//! The order is `(tx_id, id)`. On PostgreSQL a page only holds changes of transactions older
//! than every transaction still in progress, so a change committed after a position was
//! handed out always sorts after that position, even when its id is smaller (ids are drawn
//! when a row is inserted, not when it commits). A long transaction holds the feed back; it
//! never makes it skip. SQLite has one writer at a time: ids are in commit order there.

use crate::asset_change::{self, Column};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbBackend, DbErr, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Select,
};

/// Where a reader is in the feed: the `(tx_id, id)` of the last change it was handed.
pub type FeedPosition = (i64, i64);

/// On PostgreSQL, only changes of transactions that finished before every one still
/// running: what commits later sorts after whatever the reader is handed now.
fn visible(
    backend: DbBackend,
    select: Select<asset_change::Entity>,
) -> Select<asset_change::Entity> {
    if backend == DbBackend::Postgres {
        select.filter(Expr::cust(
            "\"tx_id\" < pg_snapshot_xmin(pg_current_snapshot())::text::bigint",
        ))
    } else {
        select
    }
}

/// The newest change a reader can see now (`None` before the first change).
pub async fn feed_head<C: ConnectionTrait>(db: &C) -> Result<Option<asset_change::Model>, DbErr> {
    let select = asset_change::Entity::find()
        .order_by_desc(Column::TxId)
        .order_by_desc(Column::Id)
        .limit(1);
    visible(db.get_database_backend(), select).one(db).await
}

/// Up to `limit` changes matching `condition` after `after` (from the start without one),
/// in feed order.
pub async fn feed_page<C: ConnectionTrait>(
    db: &C,
    after: Option<FeedPosition>,
    limit: u64,
    condition: Condition,
) -> Result<Vec<asset_change::Model>, DbErr> {
    let mut select = asset_change::Entity::find()
        .filter(condition)
        .order_by_asc(Column::TxId)
        .order_by_asc(Column::Id)
        .limit(limit);
    select = visible(db.get_database_backend(), select);
    if let Some((tx_id, id)) = after {
        select = select.filter(
            Condition::any().add(Column::TxId.gt(tx_id)).add(
                Condition::all()
                    .add(Column::TxId.eq(tx_id))
                    .add(Column::Id.gt(id)),
            ),
        );
    }
    select.all(db).await
}
