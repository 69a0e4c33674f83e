//! Assets' histories, a page for many assets at once.

use crate::asset_change;
use crate::enums::AssetType;
use sea_orm::{ConnectionTrait, DbBackend, DbErr, EntityTrait, Statement, Value};

/// The newest `limit` changes (older than change `before`) of each asset in `ids`, by asset
/// and newest first: each asset's rows ranked by a window function over the
/// `(asset_type, asset_id, id)` index, in one statement.
pub async fn newest_changes<C: ConnectionTrait>(
    db: &C,
    asset: AssetType,
    ids: &[&str],
    before: Option<i64>,
    limit: u64,
) -> Result<Vec<asset_change::Model>, DbErr> {
    let backend = db.get_database_backend();
    let mut values: Vec<Value> = Vec::with_capacity(ids.len() + 3);
    let mut bind = |value: Value| {
        values.push(value);
        match backend {
            DbBackend::Postgres => format!("${}", values.len()),
            _ => "?".to_owned(),
        }
    };
    let asset_type = bind(asset.as_str().into());
    let in_list = ids
        .iter()
        .map(|id| bind((*id).into()))
        .collect::<Vec<_>>()
        .join(", ");
    let older = before
        .map(|id| format!(" AND \"id\" < {}", bind(id.into())))
        .unwrap_or_default();
    let limit = bind(i64::try_from(limit).unwrap_or(i64::MAX).into());
    let columns = "\"id\", \"asset_type\", \"asset_id\", \"run_id\", \"actor\", \"at\", \"kind\", \"changes\", \"tx_id\"";
    let sql = format!(
        "SELECT {columns} FROM (SELECT {columns}, ROW_NUMBER() OVER \
         (PARTITION BY \"asset_id\" ORDER BY \"id\" DESC) AS \"position\" \
         FROM \"asset_changes\" WHERE \"asset_type\" = {asset_type} \
         AND \"asset_id\" IN ({in_list}){older}) AS \"ranked\" \
         WHERE \"position\" <= {limit} ORDER BY \"asset_id\", \"id\" DESC"
    );
    asset_change::Entity::find()
        .from_raw_sql(Statement::from_sql_and_values(backend, sql, values))
        .all(db)
        .await
}
