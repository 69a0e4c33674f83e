//! Multi-row INSERT statements for the write path, with JSON values sent as text.
//!
//! sea-orm's `insert_many` carries each JSON value as a `serde_json::Value` tree, which
//! sea-query clones while it builds the statement and then both copies are dropped: with
//! ~1 KB provider records (and history rows holding them again) that was most of a write's
//! client time. Serialized once to text here, the tree is walked once; PostgreSQL casts the
//! text to `jsonb`, SQLite stores JSON as text anyway.

use sea_orm::sea_query::{
    Alias, Expr, ExprTrait, InsertStatement, Keyword, OnConflict, SimpleExpr,
};
use sea_orm::{
    ActiveModelTrait, ActiveValue, ColumnTrait, DbBackend, DbErr, EntityName, EntityTrait,
    Iterable, Value,
};

/// An INSERT of `rows` (none: `None`), with the columns any row sets, optionally upserting.
pub(super) fn insert_rows<A>(
    backend: DbBackend,
    rows: Vec<A>,
    on_conflict: Option<OnConflict>,
) -> Result<Option<InsertStatement>, DbErr>
where
    A: ActiveModelTrait,
{
    let columns: Vec<_> = <A::Entity as EntityTrait>::Column::iter().collect();
    let mut used = vec![false; columns.len()];
    let mut nulls: Vec<Option<Value>> = vec![None; columns.len()];
    let mut all: Vec<Vec<Option<SimpleExpr>>> = Vec::with_capacity(rows.len());
    for mut row in rows {
        let values = columns
            .iter()
            .enumerate()
            .map(|(i, column)| match row.take(*column) {
                ActiveValue::Set(value) | ActiveValue::Unchanged(value) => {
                    used[i] = true;
                    nulls[i].get_or_insert_with(|| value.as_null());
                    Some(column.save_as(json_as_text(backend, value)))
                }
                ActiveValue::NotSet => None,
            })
            .collect();
        all.push(values);
    }
    if all.is_empty() {
        return Ok(None);
    }
    let mut insert = InsertStatement::new();
    insert.into_table(A::Entity::default().table_ref()).columns(
        columns
            .iter()
            .zip(&used)
            .filter(|(_, used)| **used)
            .map(|(column, _)| *column),
    );
    for values in all {
        // Every row has a value for every used column: a column one row leaves unset gets
        // its typed NULL, as sea-orm's own multi-row insert does.
        insert
            .values(
                values
                    .into_iter()
                    .enumerate()
                    .filter(|(i, _)| used[*i])
                    .map(|(i, value)| {
                        value.unwrap_or_else(|| {
                            nulls[i]
                                .clone()
                                .map_or(SimpleExpr::Keyword(Keyword::Null), SimpleExpr::Value)
                        })
                    }),
            )
            .map_err(|e| DbErr::Custom(format!("building a multi-row insert: {e}")))?;
    }
    if let Some(on_conflict) = on_conflict {
        insert.on_conflict(on_conflict);
    }
    Ok(Some(insert))
}

/// A JSON value as its text (cast back to `jsonb` on PostgreSQL); any other value as is.
fn json_as_text(backend: DbBackend, value: Value) -> SimpleExpr {
    match value {
        Value::Json(Some(json)) => {
            let text = Expr::val(json.to_string());
            match backend {
                DbBackend::Postgres => text.cast_as(Alias::new("jsonb")),
                _ => text,
            }
        }
        other => Expr::val(other),
    }
}
