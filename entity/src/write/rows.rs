//! Multi-row INSERT statements for the write path.
//!
//! On PostgreSQL a chunk's rows go as one parameter, a JSON array of row objects that
//! `jsonb_populate_recordset` turns into rows of the table's own type: one bound value
//! instead of one per column and row, which the client builds by serializing and the server
//! parses as one document. On SQLite, a `VALUES` list with JSON values sent as text (sea-orm's
//! `insert_many` carries each JSON value as a tree that sea-query clones while it builds the
//! statement).

use sea_orm::sea_query::{Expr, InsertStatement, Keyword, OnConflict, SimpleExpr};
use sea_orm::{
    ActiveModelTrait, ActiveValue, DbBackend, DbErr, EntityName, EntityTrait, IdenStatic,
    Iterable, Statement, Value,
};
use serde_json::{Map, Value as Json};

/// The conflict an upsert resolves: on `key`, overwriting `update`.
pub(super) struct Upsert<C> {
    pub key: C,
    pub update: Vec<C>,
}

/// An INSERT of `rows` (none: `None`), with the columns any row sets, optionally upserting.
pub(super) fn insert_rows<A>(
    backend: DbBackend,
    rows: Vec<A>,
    upsert: Option<&Upsert<<A::Entity as EntityTrait>::Column>>,
) -> Result<Option<Statement>, DbErr>
where
    A: ActiveModelTrait,
{
    let columns: Vec<_> = <A::Entity as EntityTrait>::Column::iter().collect();
    let mut used = vec![false; columns.len()];
    let mut nulls: Vec<Option<Value>> = vec![None; columns.len()];
    let mut all: Vec<Vec<Option<Value>>> = Vec::with_capacity(rows.len());
    for mut row in rows {
        let values = columns
            .iter()
            .enumerate()
            .map(|(i, column)| match row.take(*column) {
                ActiveValue::Set(value) | ActiveValue::Unchanged(value) => {
                    used[i] = true;
                    nulls[i].get_or_insert_with(|| value.as_null());
                    Some(value)
                }
                ActiveValue::NotSet => None,
            })
            .collect();
        all.push(values);
    }
    if all.is_empty() {
        return Ok(None);
    }
    let used_columns: Vec<_> = columns
        .iter()
        .zip(&used)
        .filter(|(_, used)| **used)
        .map(|(column, _)| *column)
        .collect();
    if backend == DbBackend::Postgres {
        return postgres_insert::<A>(&used_columns, &used, all, upsert).map(Some);
    }
    let mut insert = InsertStatement::new();
    insert
        .into_table(A::Entity::default().table_ref())
        .columns(used_columns.iter().copied());
    for values in all {
        // Every row has a value for every used column: a column one row leaves unset gets
        // its typed NULL, as sea-orm's own multi-row insert does.
        insert
            .values(
                values
                    .into_iter()
                    .enumerate()
                    .filter(|(i, _)| used[*i])
                    .map(|(i, value)| match value {
                        Some(value) => json_as_text(value),
                        None => nulls[i]
                            .clone()
                            .map_or(SimpleExpr::Keyword(Keyword::Null), SimpleExpr::Value),
                    }),
            )
            .map_err(|e| DbErr::Custom(format!("building a multi-row insert: {e}")))?;
    }
    if let Some(upsert) = upsert {
        insert.on_conflict(
            OnConflict::column(upsert.key)
                .update_columns(upsert.update.iter().copied())
                .to_owned(),
        );
    }
    Ok(Some(backend.build(&insert)))
}

/// `INSERT … SELECT … FROM jsonb_populate_recordset(NULL::table, $1)`, the rows as one JSON
/// array; a column a row leaves unset is null, as in a `VALUES` list.
fn postgres_insert<A: ActiveModelTrait>(
    columns: &[<A::Entity as EntityTrait>::Column],
    used: &[bool],
    rows: Vec<Vec<Option<Value>>>,
    upsert: Option<&Upsert<<A::Entity as EntityTrait>::Column>>,
) -> Result<Statement, DbErr> {
    let names: Vec<&str> = columns.iter().map(|c| c.as_str()).collect();
    let mut objects = Vec::with_capacity(rows.len());
    for values in rows {
        let mut object = Map::with_capacity(names.len());
        let values = values.into_iter().zip(used).filter(|(_, used)| **used);
        for (name, (value, _)) in names.iter().zip(values) {
            if let Some(value) = value {
                object.insert((*name).to_owned(), json_of(value)?);
            }
        }
        objects.push(Json::Object(object));
    }
    let list = names
        .iter()
        .map(|name| format!("\"{name}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let table = A::Entity::default().table_name().to_owned();
    let mut sql = format!(
        "INSERT INTO \"{table}\" ({list}) SELECT {list} \
         FROM jsonb_populate_recordset(NULL::\"{table}\", $1::jsonb)"
    );
    if let Some(upsert) = upsert {
        let set = upsert
            .update
            .iter()
            .map(|c| format!("\"{0}\" = EXCLUDED.\"{0}\"", c.as_str()))
            .collect::<Vec<_>>()
            .join(", ");
        sql.push_str(&format!(
            " ON CONFLICT (\"{}\") DO UPDATE SET {set}",
            upsert.key.as_str()
        ));
    }
    let rows = Json::Array(objects).to_string();
    Ok(Statement::from_sql_and_values(
        DbBackend::Postgres,
        sql,
        [Value::String(Some(rows))],
    ))
}

/// A column's value as `jsonb_populate_recordset` reads it back into the column's type.
fn json_of(value: Value) -> Result<Json, DbErr> {
    Ok(match value {
        Value::Json(json) => json.map_or(Json::Null, |json| *json),
        Value::String(text) => text.map_or(Json::Null, Json::String),
        Value::BigInt(n) => n.map_or(Json::Null, Json::from),
        Value::Int(n) => n.map_or(Json::Null, Json::from),
        Value::Bool(b) => b.map_or(Json::Null, Json::Bool),
        // bytea's hex input form.
        Value::Bytes(bytes) => bytes.map_or(Json::Null, |bytes| {
            let mut text = String::with_capacity(2 + 2 * bytes.len());
            text.push_str("\\x");
            for byte in bytes.iter() {
                text.push_str(&format!("{byte:02x}"));
            }
            Json::String(text)
        }),
        // Microseconds, cut as sqlx cuts a bound time: the same instant either way.
        Value::ChronoDateTimeUtc(at) => at.map_or(Json::Null, |at| {
            Json::String(at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string())
        }),
        other => {
            return Err(DbErr::Custom(format!(
                "the write path has no JSON form for {other:?}"
            )));
        }
    })
}

/// A JSON value as its text (SQLite stores JSON as text); any other value as is.
fn json_as_text(value: Value) -> SimpleExpr {
    match value {
        Value::Json(Some(json)) => Expr::val(json.to_string()),
        other => Expr::val(other),
    }
}
