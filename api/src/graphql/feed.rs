//! `changes`: every change across the inventory in commit order, for clients that keep a copy
//! current (a Backstage entity provider's delta ingestion) by paging from their last cursor.
//! The order and why a cursor never skips a change: `entity::query`'s feed.

use super::enums::{AssetType, Provider, to_store};
use super::history::{AssetChange, ChangeKind};
use super::page::{PageInfo, decode_cursor, encode_cursor};
use crate::error::{ApiError, ApiResult};
use async_graphql::{InputObject, Object};
use entity::asset_change::{self, Column as C};
use sea_orm::{ColumnTrait, Condition, DatabaseConnection};

/// Narrows `changes`. All given conditions must hold; list conditions match any element.
#[derive(InputObject, Default, Debug)]
pub struct ChangeFilter {
    pub asset_type: Option<Vec<AssetType>>,
    /// Changes of cloud accounts of these providers (endpoints have no provider).
    pub provider: Option<Vec<Provider>>,
    pub kind: Option<Vec<ChangeKind>>,
}

impl ChangeFilter {
    fn condition(&self) -> Condition {
        let mut cond = Condition::all();
        if let Some(types) = &self.asset_type {
            cond = cond.add(C::AssetType.is_in(to_store::<_, entity::enums::AssetType>(types)));
        }
        if let Some(providers) = &self.provider {
            let mut any = Condition::any();
            for provider in providers {
                let provider: entity::enums::Provider = (*provider).into();
                any = any.add(C::AssetId.starts_with(format!("{}:", provider.as_str())));
            }
            cond = cond
                .add(C::AssetType.eq(entity::enums::AssetType::CloudAccount))
                .add(any);
        }
        if let Some(kinds) = &self.kind {
            cond = cond.add(C::Kind.is_in(to_store::<_, entity::enums::ChangeKind>(kinds)));
        }
        cond
    }
}

/// An edge encodes its cursor only when asked, as the asset lists' edges do
/// (`page::connection`).
pub struct ChangeFeedEdge {
    pub node: AssetChange,
}

#[Object]
impl ChangeFeedEdge {
    /// Opaque; pass it as `after` to continue from this change.
    async fn cursor(&self) -> String {
        change_cursor(&self.node.0)
    }

    async fn node(&self) -> &AssetChange {
        &self.node
    }
}

pub struct ChangeFeedConnection {
    edges: Vec<ChangeFeedEdge>,
    page_info: PageInfo,
}

/// A page of the feed. `pageInfo.endCursor` is where to continue from: the last change's
/// cursor, or the `after` given when nothing new has been committed yet.
#[Object]
impl ChangeFeedConnection {
    async fn edges(&self) -> &[ChangeFeedEdge] {
        &self.edges
    }
    /// The nodes of `edges`, for clients that do not need cursors.
    async fn nodes(&self) -> Vec<&AssetChange> {
        self.edges.iter().map(|e| &e.node).collect()
    }
    async fn page_info(&self) -> &PageInfo {
        &self.page_info
    }
}

/// The feed position after `change`: its transaction and id.
fn change_cursor(change: &asset_change::Model) -> String {
    encode_cursor(&format!("{}:{}", change.tx_id, change.id))
}

fn parse_cursor(text: &str) -> ApiResult<(i64, i64)> {
    let bad = || ApiError::bad_input("after", "after is not a cursor of the change feed");
    let key = decode_cursor(text, "after")?;
    let (tx_id, id) = key.split_once(':').ok_or_else(bad)?;
    Ok((
        tx_id.parse().map_err(|_| bad())?,
        id.parse().map_err(|_| bad())?,
    ))
}

/// The cursor of the newest change a reader can see now (`None` before the first change).
pub async fn head(db: &DatabaseConnection) -> ApiResult<Option<String>> {
    Ok(entity::query::feed_head(db)
        .await?
        .map(|row| change_cursor(&row)))
}

pub async fn changes(
    db: &DatabaseConnection,
    after: Option<String>,
    first: u64,
    filter: Option<ChangeFilter>,
) -> ApiResult<ChangeFeedConnection> {
    let position = after.as_deref().map(parse_cursor).transpose()?;
    let condition = filter.unwrap_or_default().condition();
    let mut rows = entity::query::feed_page(db, position, first + 1, condition).await?;
    let has_next_page = rows.len() as u64 > first;
    rows.truncate(first as usize);
    let edges: Vec<ChangeFeedEdge> = rows
        .into_iter()
        .map(|row| ChangeFeedEdge {
            node: AssetChange(row),
        })
        .collect();
    let page_info = PageInfo {
        has_next_page,
        has_previous_page: position.is_some(),
        start_cursor: edges.first().map(|e| change_cursor(&e.node.0)),
        end_cursor: edges.last().map(|e| change_cursor(&e.node.0)).or(after),
    };
    Ok(ChangeFeedConnection { edges, page_info })
}
