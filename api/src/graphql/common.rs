//! Small shared types and filter pieces: tags, ancestors, text matching.

use crate::error::{ApiError, ApiResult};
use async_graphql::{InputObject, SimpleObject};
use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr};
use sea_orm::{ColumnTrait, DbBackend};
use serde_json::Value;

/// Longest text a filter accepts.
pub const MAX_FILTER_TEXT: usize = 256;
/// Most tag conditions one filter may carry.
pub const MAX_TAG_FILTERS: usize = 16;

/// A key/value pair from a provider's tags or labels.
#[derive(SimpleObject, Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    pub key: String,
    pub value: String,
}

/// Tags sorted by key, from the stored JSON object.
pub fn tags_of(json: &Value) -> Vec<Tag> {
    let mut tags: Vec<Tag> = json
        .as_object()
        .map(|map| {
            map.iter()
                .map(|(key, value)| Tag {
                    key: key.clone(),
                    value: value
                        .as_str()
                        .map_or_else(|| value.to_string(), str::to_owned),
                })
                .collect()
        })
        .unwrap_or_default();
    tags.sort_by(|a, b| a.key.cmp(&b.key));
    tags
}

/// One level of an account's organization hierarchy, from the root down.
#[derive(SimpleObject, Debug, Clone, serde::Deserialize)]
pub struct Ancestor {
    pub id: String,
    pub name: String,
    /// `organization`, `root`, `organizational_unit`, `folder`, `tenant`, `management_group`…
    pub kind: String,
}

/// Matches assets that carry tag `key`, with `value` when given.
#[derive(InputObject, Debug, Clone)]
pub struct TagFilter {
    pub key: String,
    pub value: Option<String>,
}

/// Checks a free-text filter argument.
pub fn filter_text<'a>(text: &'a str, field: &str) -> ApiResult<&'a str> {
    if text.chars().count() > MAX_FILTER_TEXT {
        Err(ApiError::bad_input(
            field,
            format!("{field} must be at most {MAX_FILTER_TEXT} characters"),
        ))
    } else {
        Ok(text)
    }
}

/// Case-insensitive substring match, with `%`, `_` and `\` in the needle taken literally.
pub fn contains_ci(col: impl ColumnTrait, needle: &str) -> sea_orm::sea_query::Expr {
    let escaped = needle
        .to_lowercase()
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    Expr::expr(Func::lower(Expr::col(col.as_column_ref())))
        .like(LikeExpr::new(format!("%{escaped}%")).escape('\\'))
}

/// Matches a JSON object column (tags, labels) holding `key` (and `value`). Each backend
/// gets its own native JSON operator; key and value are always bound, never spliced.
/// (sea-query substitutes each backend's own placeholder syntax: `$n` on PostgreSQL, `?` on
/// SQLite; the other one would be left in the SQL unbound.)
pub fn json_has(
    backend: DbBackend,
    table: &str,
    column: &str,
    filter: &TagFilter,
) -> ApiResult<sea_orm::sea_query::Expr> {
    filter_text(&filter.key, "tag.key")?;
    if let Some(value) = &filter.value {
        filter_text(value, "tag.value")?;
    }
    let qualified = format!("\"{table}\".\"{column}\"");
    Ok(match (backend, &filter.value) {
        (DbBackend::Postgres, Some(value)) => Expr::cust_with_values(
            format!("{qualified} @> jsonb_build_object($1::text, $2::text)"),
            [filter.key.clone(), value.clone()],
        ),
        (DbBackend::Postgres, None) => Expr::cust_with_values(
            format!("jsonb_exists({qualified}, $1)"),
            [filter.key.clone()],
        ),
        (_, Some(value)) => Expr::cust_with_values(
            format!(
                "EXISTS (SELECT 1 FROM json_each({qualified}) AS t WHERE t.key = ? AND t.value = ?)"
            ),
            [filter.key.clone(), value.clone()],
        ),
        (_, None) => Expr::cust_with_values(
            format!("EXISTS (SELECT 1 FROM json_each({qualified}) AS t WHERE t.key = ?)"),
            [filter.key.clone()],
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tags_come_sorted_and_as_text() {
        let tags = tags_of(&json!({ "b": "2", "a": "1", "n": 3 }));
        let keys: Vec<_> = tags
            .iter()
            .map(|t| (t.key.as_str(), t.value.as_str()))
            .collect();
        assert_eq!(keys, vec![("a", "1"), ("b", "2"), ("n", "3")]);
    }
}
