//! Relay-style keyset pagination, shared by every list. Rows are read in one stable order by
//! a unique key and a page starts right after (or before) the cursor's key: no OFFSET, so a
//! page deep in the table costs what the first page costs.

use crate::error::{ApiError, ApiResult};
use async_graphql::{Context, SimpleObject};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sea_orm::sea_query::{Alias, Expr, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, FromQueryResult,
    QueryFilter, QueryOrder, QueryResult, QuerySelect, QueryTrait, Select, Statement,
};

use super::limits::DEFAULT_PAGE_SIZE;

/// The four Relay arguments as the client sent them.
#[derive(Debug, Default, Clone)]
pub struct PageArgs {
    pub first: Option<i32>,
    pub after: Option<String>,
    pub last: Option<i32>,
    pub before: Option<String>,
}

/// A validated request: how many rows, in which direction, between which keys.
#[derive(Debug, Clone, PartialEq)]
struct Window {
    limit: u64,
    forward: bool,
    after: Option<String>,
    before: Option<String>,
}

fn size(value: Option<i32>, field: &str, max: u64) -> ApiResult<Option<u64>> {
    match value {
        None => Ok(None),
        Some(n) if n < 0 => Err(ApiError::bad_input(
            field,
            format!("{field} must not be negative"),
        )),
        Some(n) if n as u64 > max => Err(ApiError::bad_input(
            field,
            format!("{field} must be at most {max}"),
        )),
        Some(n) => Ok(Some(n as u64)),
    }
}

/// A forward-only list's `first`: the default page when absent, refused when negative or
/// above `max`.
pub(crate) fn first_or_default(first: Option<i32>, max: u64) -> ApiResult<u64> {
    Ok(size(first, "first", max)?.unwrap_or(DEFAULT_PAGE_SIZE.min(max)))
}

impl PageArgs {
    fn window(&self, max: u64) -> ApiResult<Window> {
        let first = size(self.first, "first", max)?;
        let last = size(self.last, "last", max)?;
        let after = self
            .after
            .as_deref()
            .map(|c| decode_cursor(c, "after"))
            .transpose()?;
        let before = self
            .before
            .as_deref()
            .map(|c| decode_cursor(c, "before"))
            .transpose()?;
        let (limit, forward) = match (first, last) {
            (Some(_), Some(_)) => {
                return Err(ApiError::bad_input(
                    "last",
                    "give either first or last, not both",
                ));
            }
            (Some(n), None) => (n, true),
            (None, Some(n)) => (n, false),
            // Without a size, paginate from the end a `before` cursor points at.
            (None, None) => (
                DEFAULT_PAGE_SIZE.min(max),
                self.before.is_none() || self.after.is_some(),
            ),
        };
        Ok(Window {
            limit,
            forward,
            after,
            before,
        })
    }
}

pub fn encode_cursor(key: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("c:{key}"))
}

pub(crate) fn decode_cursor(cursor: &str, field: &str) -> ApiResult<String> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|text| text.strip_prefix("c:").map(str::to_owned))
        .ok_or_else(|| {
            ApiError::bad_input(
                field,
                format!("{field} is not a cursor returned by this list"),
            )
        })
}

#[derive(SimpleObject, Debug, Clone, Default)]
pub struct PageInfo {
    pub has_next_page: bool,
    pub has_previous_page: bool,
    pub start_cursor: Option<String>,
    pub end_cursor: Option<String>,
}

/// The names of the fields the nodes of the connection being resolved ask for (through
/// `nodes` or `edges { node }`, fragments included, whatever their type condition): what a
/// page reads beyond its rows. A name may come more than once.
pub fn node_fields<'a>(ctx: &'a Context<'_>) -> Vec<&'a str> {
    let connection = ctx.look_ahead();
    let mut names = Vec::new();
    for nodes in [
        connection.field("nodes"),
        connection.field("edges").field("node"),
    ] {
        for node in nodes.selection_fields() {
            names.extend(node.selection_set().map(|field| field.name()));
        }
    }
    names
}

/// One page of rows in list order, its page info (the far side of the starting cursor left
/// to `far_side`), and the statement that counts the whole filtered list (run only when a
/// client asks for `totalCount`).
pub struct Page<M> {
    pub rows: Vec<M>,
    pub info: PageInfo,
    pub far_side: Option<FarSide>,
    pub count: Statement,
}

/// How a list is keyed and ordered.
pub struct Order<C> {
    pub key: C,
    pub ascending: bool,
    /// Turns a cursor's key text back into a value of the key column (`None`: not a key).
    pub parse: fn(&str) -> Option<sea_orm::Value>,
}

/// Decodes a row holding every column of `E`, as `Select::all` would, into node `N`.
pub fn whole<E: EntityTrait, N: From<E::Model>>(row: &QueryResult) -> Result<N, DbErr> {
    E::Model::from_query_result(row, "").map(N::from)
}

/// Reads one page of `select` (already filtered) according to `args`, each row decoded by
/// `decode` into a node (see [`whole`]), whose [`CursorKey`] is `order`'s key.
pub async fn fetch<E, M>(
    db: &DatabaseConnection,
    select: Select<E>,
    order: &Order<E::Column>,
    decode: impl Fn(&QueryResult) -> Result<M, DbErr>,
    args: &PageArgs,
    max_page_size: u64,
) -> ApiResult<Page<M>>
where
    E: EntityTrait,
    M: CursorKey,
{
    let window = args.window(max_page_size)?;
    let count = count_statement(db, &select);
    let parse = |key: &Option<String>, field: &str| -> ApiResult<Option<sea_orm::Value>> {
        key.as_deref()
            .map(|k| {
                (order.parse)(k).ok_or_else(|| {
                    ApiError::bad_input(field, format!("{field} is not a cursor of this list"))
                })
            })
            .transpose()
    };
    let after = parse(&window.after, "after")?;
    let before = parse(&window.before, "before")?;

    // "Beyond" a key means later in list order.
    let beyond = |key: sea_orm::Value| {
        if order.ascending {
            order.key.gt(key)
        } else {
            order.key.lt(key)
        }
    };
    let behind = |key: sea_orm::Value| {
        if order.ascending {
            order.key.lt(key)
        } else {
            order.key.gt(key)
        }
    };

    let mut page = select.clone();
    if let Some(key) = after.clone() {
        page = page.filter(beyond(key));
    }
    if let Some(key) = before.clone() {
        page = page.filter(behind(key));
    }
    let read_ascending = order.ascending == window.forward;
    page = if read_ascending {
        page.order_by_asc(order.key)
    } else {
        page.order_by_desc(order.key)
    };
    let results = db
        .query_all(&page.limit(window.limit + 1).into_query())
        .await?;
    // Sized up front: collected through `Result`, the rows grew by doubling, each step
    // moving every row decoded so far.
    let mut rows = Vec::with_capacity(results.len());
    for result in &results {
        rows.push(decode(result)?);
    }
    let more = rows.len() as u64 > window.limit;
    rows.truncate(window.limit as usize);
    if !window.forward {
        rows.reverse();
    }

    // Whether rows exist on the far side of the cursor the page starts from: a statement
    // run only if the client asks for that side's flag (`FarSide::resolve`).
    let far_side = |cursor: Option<sea_orm::Value>, at_or_beyond: bool| {
        cursor.map(|key| {
            let cond = if at_or_beyond == order.ascending {
                order.key.gte(key)
            } else {
                order.key.lte(key)
            };
            count_statement(db, &select.clone().filter(cond).limit(1))
        })
    };
    let (has_next_page, has_previous_page, far_side) = if window.forward {
        let probe = far_side(after, false).map(|probe| FarSide {
            statement: probe,
            field: FarField::HasPreviousPage,
        });
        (more, false, probe)
    } else {
        let probe = far_side(before, true).map(|probe| FarSide {
            statement: probe,
            field: FarField::HasNextPage,
        });
        (false, more, probe)
    };
    let info = PageInfo {
        has_next_page,
        has_previous_page,
        start_cursor: rows.first().map(|r| encode_cursor(&r.cursor_key())),
        end_cursor: rows.last().map(|r| encode_cursor(&r.cursor_key())),
    };
    Ok(Page {
        rows,
        info,
        far_side,
        count,
    })
}

/// Which flag of `PageInfo` a [`FarSide`] probe answers.
#[derive(Debug, Clone, Copy)]
enum FarField {
    HasNextPage,
    HasPreviousPage,
}

/// The probe for rows on the far side of a page's starting cursor (at or before `after`,
/// at or beyond `before`). Most clients page forward and never ask for
/// `hasPreviousPage`; reading it eagerly was a second query on every page after the first.
pub struct FarSide {
    statement: Statement,
    field: FarField,
}

impl FarSide {
    /// `info` with the probed flag filled in when the `pageInfo` selection being resolved
    /// asks for it.
    pub async fn resolve(
        probe: Option<&FarSide>,
        ctx: &Context<'_>,
        info: &PageInfo,
    ) -> ApiResult<PageInfo> {
        let mut info = info.clone();
        let Some(probe) = probe else {
            return Ok(info);
        };
        let (name, flag) = match probe.field {
            FarField::HasNextPage => ("hasNextPage", &mut info.has_next_page),
            FarField::HasPreviousPage => ("hasPreviousPage", &mut info.has_previous_page),
        };
        if ctx.look_ahead().field(name).exists() {
            let db = ctx
                .data::<DatabaseConnection>()
                .map_err(|_| ApiError::Internal)?;
            *flag = run_count(db, probe.statement.clone()).await? > 0;
        }
        Ok(info)
    }
}

pub(crate) fn count_statement<E: EntityTrait>(
    db: &DatabaseConnection,
    select: &Select<E>,
) -> Statement {
    let inner = select.clone().into_query();
    let query = Query::select()
        .expr_as(Expr::cust("COUNT(*)"), Alias::new("n"))
        .from_subquery(inner, Alias::new("filtered"))
        .to_owned();
    db.get_database_backend().build(&query)
}

/// Runs a statement built by `count_statement`.
pub async fn run_count(db: &DatabaseConnection, statement: Statement) -> ApiResult<i64> {
    let row = db.query_one_raw(statement).await?;
    Ok(match row {
        Some(row) => row.try_get_by_index::<i64>(0)?,
        None => 0,
    })
}

/// A node of a page: the key its list is ordered by, which its edge's cursor encodes.
pub trait CursorKey {
    fn cursor_key(&self) -> String;
}

/// Defines `<Name>Connection` and `<Name>Edge` for a node type. (async-graphql's own
/// connection type computes extra fields eagerly; ours counts only when asked, and encodes
/// an edge's cursor only when asked: pages read through `nodes` never do.)
macro_rules! connection {
    ($node:ty, $connection:ident, $edge:ident) => {
        pub struct $edge {
            pub node: $node,
        }

        #[async_graphql::Object]
        impl $edge {
            /// Opaque; pass it as `after` or `before`.
            async fn cursor(&self) -> String {
                $crate::graphql::page::encode_cursor(&$crate::graphql::page::CursorKey::cursor_key(
                    &self.node,
                ))
            }

            async fn node(&self) -> &$node {
                &self.node
            }
        }

        pub struct $connection {
            pub edges: Vec<$edge>,
            pub page_info: $crate::graphql::page::PageInfo,
            pub far_side: Option<$crate::graphql::page::FarSide>,
            pub count: sea_orm::Statement,
        }

        #[async_graphql::Object]
        impl $connection {
            async fn edges(&self) -> &[$edge] {
                &self.edges
            }

            /// The nodes of `edges`, for clients that do not need cursors.
            async fn nodes(&self) -> Vec<&$node> {
                self.edges.iter().map(|e| &e.node).collect()
            }

            async fn page_info(
                &self,
                ctx: &async_graphql::Context<'_>,
            ) -> $crate::error::ApiResult<$crate::graphql::page::PageInfo> {
                $crate::graphql::page::FarSide::resolve(
                    self.far_side.as_ref(),
                    ctx,
                    &self.page_info,
                )
                .await
            }

            /// How many items match the filter across all pages. Costs a count query:
            /// ask only when you show it.
            async fn total_count(
                &self,
                ctx: &async_graphql::Context<'_>,
            ) -> $crate::error::ApiResult<i64> {
                let db = ctx
                    .data::<sea_orm::DatabaseConnection>()
                    .map_err(|_| $crate::error::ApiError::Internal)?;
                $crate::graphql::page::run_count(db, self.count.clone()).await
            }
        }

        impl $connection {
            pub fn from_page(page: $crate::graphql::page::Page<$node>) -> Self {
                let edges = page.rows.into_iter().map(|node| $edge { node }).collect();
                Self {
                    edges,
                    page_info: page.info,
                    far_side: page.far_side,
                    count: page.count,
                }
            }
        }
    };
}
pub(crate) use connection;

#[cfg(test)]
mod tests {
    use super::*;

    fn args(first: Option<i32>, last: Option<i32>) -> PageArgs {
        PageArgs {
            first,
            last,
            ..Default::default()
        }
    }

    #[test]
    fn sizes_are_bounded() {
        assert!(args(Some(-1), None).window(500).is_err());
        assert!(args(Some(501), None).window(500).is_err());
        assert!(args(Some(500), None).window(500).is_ok());
        assert!(args(Some(1), Some(1)).window(500).is_err());
        let limit = |a: PageArgs, max| a.window(max).ok().map(|w| w.limit);
        assert_eq!(limit(args(None, None), 500), Some(DEFAULT_PAGE_SIZE));
        assert_eq!(limit(args(None, None), 10), Some(10));
        let forward = args(None, Some(3)).window(500).ok().map(|w| w.forward);
        assert_eq!(forward, Some(false));
    }

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        assert_eq!(
            decode_cursor(&encode_cursor("aws:1"), "after").ok(),
            Some("aws:1".into())
        );
        for bad in ["", "%%%", "YWJj"] {
            assert!(decode_cursor(bad, "after").is_err(), "{bad:?}");
        }
    }
}
