//! Conditions the lists filter by. Each backend gets its native JSON test; every value is
//! bound, never spliced. (sea-query substitutes each backend's own placeholder syntax: `$n`
//! on PostgreSQL, `?` on SQLite; the other one would be left in the SQL unbound.)

use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr};
use sea_orm::{ColumnTrait, DbBackend};
use serde_json::{Map, Value, json};

/// Case-insensitive substring match, with `%`, `_` and `\` in the needle taken literally.
pub fn contains_ci(column: impl ColumnTrait, needle: &str) -> Expr {
    let escaped = needle
        .to_lowercase()
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    Expr::expr(Func::lower(Expr::col(column.as_column_ref())))
        .like(LikeExpr::new(format!("%{escaped}%")).escape('\\'))
}

/// Accounts with the hierarchy node `id` among their ancestors (so at any depth below it).
/// On PostgreSQL the id is bound inside a `jsonb` value ([`has_tag`] says why).
pub fn has_ancestor(backend: DbBackend, id: &str) -> Expr {
    let column = "\"cloud_accounts\".\"ancestors\"";
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

/// The JSON object columns of key-value pairs a list filters by.
#[derive(Debug, Clone, Copy)]
pub enum Tagged {
    /// `cloud_accounts.tags`
    AccountTags,
    /// `monitoring_endpoints.labels`
    EndpointLabels,
}

impl Tagged {
    fn column(self) -> &'static str {
        match self {
            Self::AccountTags => "\"cloud_accounts\".\"tags\"",
            Self::EndpointLabels => "\"monitoring_endpoints\".\"labels\"",
        }
    }
}

/// Rows whose `tagged` column holds `key`, with `value` when given.
///
/// On PostgreSQL the pair is bound as one `jsonb` object, built here, rather than as two
/// texts that `jsonb_build_object` joins in the statement: that function is only stable, so
/// the planner could not see the object it builds, guessing how many rows match instead of
/// reading the column's statistics, and the server built it again for every row it tested.
pub fn has_tag(backend: DbBackend, tagged: Tagged, key: &str, value: Option<&str>) -> Expr {
    let column = tagged.column();
    match (backend, value) {
        (DbBackend::Postgres, Some(value)) => {
            let pair = Value::Object(Map::from_iter([(
                key.to_owned(),
                Value::String(value.to_owned()),
            )]));
            Expr::cust_with_values(format!("{column} @> $1"), [pair])
        }
        (DbBackend::Postgres, None) => {
            Expr::cust_with_values(format!("jsonb_exists({column}, $1)"), [key.to_owned()])
        }
        (_, Some(value)) => Expr::cust_with_values(
            format!(
                "EXISTS (SELECT 1 FROM json_each({column}) AS t WHERE t.key = ? AND t.value = ?)"
            ),
            [key.to_owned(), value.to_owned()],
        ),
        (_, None) => Expr::cust_with_values(
            format!("EXISTS (SELECT 1 FROM json_each({column}) AS t WHERE t.key = ?)"),
            [key.to_owned()],
        ),
    }
}

/// Accounts whose `raw` record has top-level text field `field` equal to `value`. `field` is
/// the caller's own constant, never input.
pub fn raw_text_equals(backend: DbBackend, field: &'static str, value: &str) -> Expr {
    let column = "\"cloud_accounts\".\"raw\"";
    match backend {
        DbBackend::Postgres => {
            Expr::cust_with_values(format!("{column} ->> '{field}' = $1"), [value.to_owned()])
        }
        _ => Expr::cust_with_values(
            format!("json_extract({column}, '$.{field}') = ?"),
            [value.to_owned()],
        ),
    }
}
