//! The transaction a write runs in, and how its statements reach the database.
//!
//! sea-orm runs every statement but one kind: it has no `COPY`, and its transactions do not
//! lend their connection. So a bulk write on PostgreSQL runs on a sqlx transaction of the
//! same pool (same search path and settings), sending sea-query's statements with their
//! values bound as sea-orm binds them, and `COPY` where it inserts new rows. Everything else
//! runs on sea-orm's transaction.
//!
//! Statements on the sqlx transaction do not reach sea-orm's metric callback, which the
//! API's `inventory_db_statement_*` series observe. Accounts are written by collectors and
//! the document importer, which register none, and by the API only when it loads its seed
//! file into an empty database at startup; the API's mutation writes endpoints, through
//! sea-orm.

use super::copy::{CopyRows, quoted};
use sea_orm::sea_query::Values;
use sea_orm::sqlx::postgres::PgRow;
use sea_orm::sqlx::{self, Postgres};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr, QueryResult,
    RuntimeErr, Statement,
};
use sea_query_sqlx::SqlxValues;
use std::sync::Arc;
use tokio::sync::mpsc::Receiver;

pub(super) enum Session {
    Orm(DatabaseTransaction),
    Pg(sqlx::Transaction<'static, Postgres>),
}

impl Session {
    /// Begins a transaction; with `bulk` on PostgreSQL, one that can `COPY`.
    pub(super) async fn begin(db: &DatabaseConnection, bulk: bool) -> Result<Self, DbErr> {
        if bulk && db.get_database_backend() == DbBackend::Postgres {
            let pool = db.get_postgres_connection_pool();
            let txn = crate::db::begin_on_a_live_connection(db, || async {
                pool.begin().await.map_err(sqlx_error_to_exec_err)
            })
            .await?;
            return Ok(Self::Pg(txn));
        }
        Ok(Self::Orm(crate::db::begin(db).await?))
    }

    pub(super) fn backend(&self) -> DbBackend {
        match self {
            Self::Orm(txn) => txn.get_database_backend(),
            Self::Pg(_) => DbBackend::Postgres,
        }
    }

    /// Whether [`Step::CopyNew`] and [`Step::Copy`] can run here.
    pub(super) fn copies(&self) -> bool {
        matches!(self, Self::Pg(_))
    }

    pub(super) async fn query_all(
        &mut self,
        statement: Statement,
    ) -> Result<Vec<QueryResult>, DbErr> {
        match self {
            Self::Orm(txn) => txn.query_all_raw(statement).await,
            Self::Pg(txn) => {
                let rows: Vec<PgRow> = bound(statement)
                    .fetch_all(&mut **txn)
                    .await
                    .map_err(sqlx_error_to_query_err)?;
                Ok(rows.into_iter().map(QueryResult::from).collect())
            }
        }
    }

    pub(super) async fn execute(&mut self, statement: Statement) -> Result<(), DbErr> {
        match self {
            Self::Orm(txn) => txn.execute_raw(statement).await.map(|_| ()),
            Self::Pg(txn) => bound(statement)
                .execute(&mut **txn)
                .await
                .map(|_| ())
                .map_err(sqlx_error_to_exec_err),
        }
    }

    /// Copies rows that cannot conflict (history).
    pub(super) async fn copy(&mut self, rows: &CopyRows) -> Result<(), DbErr> {
        let txn = self.pg()?;
        copy(txn, rows, &rows.table)
            .await
            .map(|_| ())
            .map_err(sqlx_error_to_exec_err)
    }

    /// Copies new rows straight into their table: `first`, then those of each item `more`
    /// gives (`new_rows_of` keeps the rest of an item for later), in one `COPY` inside a
    /// savepoint, so the server works on one chunk while the next is built and a segment
    /// costs one exchange instead of four a chunk. A key another transaction inserted after
    /// this write read its rows makes the copy fail as a whole: it is undone to the
    /// savepoint and the rows are copied into a staging table and merged from there with
    /// `ON CONFLICT`, updating `update` as the upsert would. Only that rare case pays for
    /// the staging table; the rows sent are kept until then.
    pub(super) async fn copy_new<T, E: From<DbErr>>(
        &mut self,
        first: CopyRows,
        key: &str,
        update: &[&str],
        mut more: Option<&mut Receiver<T>>,
        mut new_rows_of: impl FnMut(T) -> Result<Option<CopyRows>, E>,
    ) -> Result<(), E> {
        let txn = self.pg()?;
        let mut savepoint = sqlx::Connection::begin(&mut *txn)
            .await
            .map_err(sqlx_error_to_exec_err)?;
        let mut copy = savepoint
            .copy_in_raw(&first.copy_into(&first.table))
            .await
            .map_err(sqlx_error_to_exec_err)?;
        copy.send(first.data.as_slice())
            .await
            .map_err(sqlx_error_to_exec_err)?;
        // Kept as sent, not joined: only the rare merge below reads them again.
        let mut sent = vec![first];
        while let Some(more) = &mut more
            && let Some(item) = more.recv().await
        {
            // Lines of another layout must not reach the stream.
            let checked = new_rows_of(item).and_then(|next| match next {
                Some(next) => sent[0]
                    .same_layout(&next)
                    .map(|()| Some(next))
                    .map_err(E::from),
                None => Ok(None),
            });
            let next = match checked {
                Ok(next) => next,
                Err(e) => {
                    // The write fails as a whole; the server should not wait for the rest.
                    let _ = copy.abort("the write failed while copying").await;
                    return Err(e);
                }
            };
            if let Some(next) = next {
                copy.send(next.data.as_slice())
                    .await
                    .map_err(sqlx_error_to_exec_err)?;
                sent.push(next);
            }
        }
        match copy.finish().await {
            Ok(_) => {
                return savepoint
                    .commit()
                    .await
                    .map_err(|e| sqlx_error_to_exec_err(e).into());
            }
            Err(e) if is_unique_violation(&e) => {
                savepoint.rollback().await.map_err(sqlx_error_to_exec_err)?;
            }
            Err(e) => return Err(sqlx_error_to_exec_err(e).into()),
        }
        merge_from_staging(txn, &sent, key, update)
            .await
            .map_err(E::from)
    }

    fn pg(&mut self) -> Result<&mut sqlx::PgConnection, DbErr> {
        match self {
            Self::Pg(txn) => Ok(&mut **txn),
            Self::Orm(_) => Err(DbErr::Custom(
                "COPY runs only in a PostgreSQL bulk write".into(),
            )),
        }
    }

    pub(super) async fn commit(self) -> Result<(), DbErr> {
        match self {
            Self::Orm(txn) => txn.commit().await,
            Self::Pg(txn) => txn.commit().await.map_err(sqlx_error_to_exec_err),
        }
    }
}

/// A statement with its values bound, as sea-orm binds them. Taken whole: its values (a
/// changed account's JSON text among them) move into the query instead of being copied.
fn bound(statement: Statement) -> sqlx::query::Query<'static, Postgres, SqlxValues> {
    let values = statement.values.unwrap_or(Values(Vec::new()));
    sqlx::query_with(sqlx::AssertSqlSafe(statement.sql), SqlxValues(values))
}

async fn copy(
    txn: &mut sqlx::PgConnection,
    rows: &CopyRows,
    table: &str,
) -> Result<u64, sqlx::Error> {
    let mut copy = txn.copy_in_raw(&rows.copy_into(table)).await?;
    copy.send(rows.data.as_slice()).await?;
    copy.finish().await
}

/// Copies `parts` (rows of one table and layout) into a staging table and merges them into
/// their table, updating `update` where a row with the same `key` is there already.
async fn merge_from_staging(
    txn: &mut sqlx::PgConnection,
    parts: &[CopyRows],
    key: &str,
    update: &[&str],
) -> Result<(), DbErr> {
    let Some(rows) = parts.first() else {
        return Ok(());
    };
    let staging = format!("{}_staging", rows.table);
    let columns = rows.column_list();
    let updates = update
        .iter()
        .map(|c| format!("{0} = EXCLUDED.{0}", quoted(c)))
        .collect::<Vec<_>>()
        .join(", ");
    let statements = [
        format!(
            "CREATE TEMPORARY TABLE IF NOT EXISTS {} (LIKE {} INCLUDING DEFAULTS) ON COMMIT DROP",
            quoted(&staging),
            quoted(&rows.table)
        ),
        format!("TRUNCATE {}", quoted(&staging)),
    ];
    for statement in statements {
        sqlx::raw_sql(sqlx::AssertSqlSafe(statement))
            .execute(&mut *txn)
            .await
            .map_err(sqlx_error_to_exec_err)?;
    }
    for part in parts {
        copy(txn, part, &staging)
            .await
            .map_err(sqlx_error_to_exec_err)?;
    }
    let merge = format!(
        "INSERT INTO {table} ({columns}) SELECT {columns} FROM {staging} \
         ON CONFLICT ({key}) DO UPDATE SET {updates}",
        table = quoted(&rows.table),
        staging = quoted(&staging),
        key = quoted(key),
    );
    sqlx::raw_sql(sqlx::AssertSqlSafe(merge))
        .execute(&mut *txn)
        .await
        .map(|_| ())
        .map_err(sqlx_error_to_exec_err)
}

fn is_unique_violation(error: &sqlx::Error) -> bool {
    error
        .as_database_error()
        .is_some_and(|e| e.kind() == sqlx::error::ErrorKind::UniqueViolation)
}

/// sqlx's errors as sea-orm reports them from its own statements, so that callers see one
/// kind of error whichever way a statement went.
fn sqlx_error_to_exec_err(error: sqlx::Error) -> DbErr {
    DbErr::Exec(RuntimeErr::SqlxError(Arc::new(error)))
}

fn sqlx_error_to_query_err(error: sqlx::Error) -> DbErr {
    DbErr::Query(RuntimeErr::SqlxError(Arc::new(error)))
}
