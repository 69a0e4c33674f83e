//! Small shared types and filter pieces: tags, ancestors, text matching.

use crate::error::{ApiError, ApiResult};
use async_graphql::{InputObject, SimpleObject};
use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr};
use sea_orm::{ColumnTrait, DbBackend};
use serde_json::{Map, Value, json};

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

/// Tags as the API lists them: sorted by key, as stored.
pub fn tags_of(tags: &entity::json_column::Tags) -> Vec<Tag> {
    tags.0
        .iter()
        .map(|(key, value)| Tag {
            key: key.clone(),
            value: value.clone(),
        })
        .collect()
}

/// One level of an account's organization hierarchy, from the root down.
#[derive(SimpleObject, Debug, Clone)]
#[graphql(complex)]
pub struct Ancestor {
    /// The provider's id of the node (`ou-ab12-cdef3456`, `folders/123`, a management group
    /// name); `subtree` filters match it.
    pub id: String,
    pub name: String,
    /// The provider's own word: `organization`, `root`, `organizational_unit`, `folder`,
    /// `tenant`, `management_group`… (`type` is the same, as one enum for all clouds).
    pub kind: String,
}

/// What a hierarchy node is, one model for all three clouds.
#[derive(async_graphql::Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum AncestorType {
    /// An AWS organization or a GCP organization.
    Organization,
    /// The root of an AWS organization.
    Root,
    /// An AWS organizational unit.
    Ou,
    /// A GCP folder.
    Folder,
    /// An Azure management group.
    ManagementGroup,
    /// An Azure (Entra ID) tenant.
    Tenant,
    /// A kind this version does not know (for example from an imported document).
    Other,
}

#[async_graphql::ComplexObject]
impl Ancestor {
    #[graphql(name = "type")]
    async fn ancestor_type(&self) -> AncestorType {
        AncestorType::of(&self.kind)
    }
}

impl From<&entity::record::Ancestor> for Ancestor {
    fn from(node: &entity::record::Ancestor) -> Self {
        Self {
            id: node.id.clone(),
            name: node.name.clone(),
            kind: node.kind.clone(),
        }
    }
}

impl AncestorType {
    /// `type`: the provider's word for a node (`kind`) as one enum for all clouds.
    pub fn of(kind: &str) -> Self {
        match kind {
            "organization" => AncestorType::Organization,
            "root" => AncestorType::Root,
            "organizational_unit" => AncestorType::Ou,
            "folder" => AncestorType::Folder,
            "management_group" => AncestorType::ManagementGroup,
            "tenant" => AncestorType::Tenant,
            _ => AncestorType::Other,
        }
    }
}

/// Matches accounts with the hierarchy node `id` among their ancestors (so at any depth
/// below it). Each backend gets its native JSON test; the id is always bound, on
/// PostgreSQL inside a bound `jsonb` value ([`json_has`] says why).
pub fn has_ancestor(backend: DbBackend, table: &str, id: &str) -> Expr {
    let column = format!("\"{table}\".\"ancestors\"");
    match backend {
        DbBackend::Postgres => {
            Expr::cust_with_values(format!("{column} @> $1"), [json!([{ "id": id }])])
        }
        _ => Expr::cust_with_values(
            format!(
                "EXISTS (SELECT 1 FROM json_each({column}) AS a WHERE json_extract(a.value, '$.id') = ?)"
            ),
            [id.to_owned()],
        ),
    }
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
///
/// On PostgreSQL the pair is bound as one `jsonb` object, built here, rather than as two
/// texts that `jsonb_build_object` joins in the statement: that function is only stable, so
/// the planner could not see the object it builds, guessing how many rows match instead of
/// reading the column's statistics, and the server built it again for every row it tested
/// (`subtree` binds its node the same way).
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
        (DbBackend::Postgres, Some(value)) => {
            let pair = Value::Object(Map::from_iter([(
                filter.key.clone(),
                Value::String(value.clone()),
            )]));
            Expr::cust_with_values(format!("{qualified} @> $1"), [pair])
        }
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
    fn tags_come_sorted_by_key() {
        let stored: entity::json_column::Tags =
            serde_json::from_value(json!({ "b": "2", "a": "1", "B": "3" })).expect("tags");
        let tags = tags_of(&stored);
        let keys: Vec<_> = tags
            .iter()
            .map(|t| (t.key.as_str(), t.value.as_str()))
            .collect();
        assert_eq!(keys, vec![("B", "3"), ("a", "1"), ("b", "2")]);
    }
}
