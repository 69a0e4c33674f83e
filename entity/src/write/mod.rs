//! The one write path. Collectors, the file importer and the API's mutation all write here,
//! so every row gets the same bookkeeping: first/last seen, the run that saw it, provenance,
//! and an `asset_changes` row for every real change (none when nothing changed).
//!
//! Each call is one transaction: a batch lands whole or not at all. On PostgreSQL the new
//! rows of a bulk table (accounts) are copied rather than inserted (`session`).

mod copy;
mod history;
mod rows;
mod session;
pub(crate) mod tracked;

use crate::enums::{AssetType, ChangeKind};
use crate::error::StoreError;
use crate::record::{AccountRecord, EndpointRecord};
use crate::{cloud_account, monitoring_endpoint};
use chrono::{DateTime, Utc};
use history::{change_row, classify, insert_changes};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, DatabaseConnection, DbBackend, DbErr, EntityTrait,
    IdenStatic, IntoActiveModel, QueryFilter, QuerySelect, QueryTrait, TransactionSession,
    TransactionTrait,
};
use serde_json::{Map, Value, json};
use session::{Session, Step};
use std::collections::HashMap;
use tracked::{Tracked, account_model, endpoint_model};

/// Rows per statement, far below the bind-parameter limits of both backends (SQLite 32,766,
/// PostgreSQL 65,535) at ~20 columns a row. Small, because a call's first chunk is built
/// before anything can overlap it (see `upsert`): 100,000 new accounts in pages of 1,000 on
/// PostgreSQL took 7.7 s in chunks of 500, 6.2-6.5 s in 250 and 5.8-6.0 s in 125 (SQLite
/// 5.8 s before the overlap, 3.9 s with it in 125).
const CHUNK: usize = 125;

/// Who is writing and when. Every change row names the run or the person.
#[derive(Debug, Clone)]
pub struct WriteContext {
    pub run_id: Option<i64>,
    pub actor: Option<String>,
    pub at: DateTime<Utc>,
}

impl WriteContext {
    /// A collector run writing what it saw.
    pub fn run(run_id: i64, at: DateTime<Utc>) -> Self {
        Self {
            run_id: Some(run_id),
            actor: None,
            at,
        }
    }

    /// A person writing through the API.
    pub fn actor(actor: impl Into<String>, at: DateTime<Utc>) -> Self {
        Self {
            run_id: None,
            actor: Some(actor.into()),
            at,
        }
    }
}

/// What one write did, row by row.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct WriteCounts {
    pub created: u64,
    pub updated: u64,
    pub restored: u64,
    pub unchanged: u64,
    pub removed: u64,
}

impl WriteCounts {
    pub fn add(&mut self, other: WriteCounts) {
        self.created += other.created;
        self.updated += other.updated;
        self.restored += other.restored;
        self.unchanged += other.unchanged;
        self.removed += other.removed;
    }
}

/// Inserts or updates accounts. Writing the same records twice changes nothing but
/// `last_seen_at`, `last_run_id` and provenance; a removed account that is seen again is
/// restored.
pub async fn upsert_accounts(
    db: &DatabaseConnection,
    ctx: &WriteContext,
    records: Vec<AccountRecord>,
) -> Result<WriteCounts, StoreError> {
    let records = last_wins(records, AccountRecord::id);
    if let Some(bad) = records.iter().find(|r| r.native_id.trim().is_empty()) {
        return Err(StoreError::InvalidRecord {
            id: bad.id(),
            reason: "native id is empty".into(),
        });
    }
    upsert(db, ctx, records, AccountRecord::id, account_model).await
}

/// Inserts or updates monitoring endpoints, with the same guarantees as [`upsert_accounts`].
/// `created_by` is kept from the first write; `updated_by` names the latest actor.
pub async fn upsert_endpoints(
    db: &DatabaseConnection,
    ctx: &WriteContext,
    records: Vec<EndpointRecord>,
) -> Result<WriteCounts, StoreError> {
    let records = last_wins(records, |r| r.id.clone());
    if let Some(bad) = records
        .iter()
        .find(|r| r.id.trim().is_empty() || r.url.trim().is_empty())
    {
        return Err(StoreError::InvalidRecord {
            id: bad.id.clone(),
            reason: "id and url must not be empty".into(),
        });
    }
    upsert(db, ctx, records, |r| r.id.clone(), endpoint_model).await
}

/// The shared upsert: per chunk, read the stored rows, decide the history, then write rows
/// and history; all chunks in one transaction. Records are consumed: their large values move
/// into the rows instead of being copied.
///
/// Deciding and building a chunk's statements (comparing fields, serializing JSON) was 37 %
/// of a 100,000-account first write, time in which the server waited (3.7 of 9.9 s, the
/// statements 5.3 s): so each next chunk is built on a blocking thread while the current
/// one's statements execute. Its stored rows are read first, which is sound because chunks
/// never share a key (`last_wins`). A single chunk (the API's mutation) is built in place.
///
/// Where the table keeps digests of observed fields (accounts), only the rows' heads are read
/// first: an unchanged row, what nearly every row of a collector run is, is told by its
/// digest, and only the others are read whole, to record what changed.
///
/// On PostgreSQL a bulk table's new rows and every history row are sent with `COPY`
/// (`session`). The multi-row INSERTs they replace cost the client more than the server
/// spent on them: 100,000 new accounts then unchanged took 5.9-7.5 s of client CPU with
/// INSERTs and 5.2-6.6 s with `COPY`, and the new write 6.8-8.8 s against 6.4-8.2 s in
/// alternating runs, on a machine where the server alone spends 4.0 s copying the
/// accounts, 1.3 s the history and 0.45 s reading heads.
async fn upsert<R, M, F>(
    db: &DatabaseConnection,
    ctx: &WriteContext,
    records: Vec<R>,
    key: impl Fn(&R) -> String,
    model: F,
) -> Result<WriteCounts, StoreError>
where
    R: Send + 'static,
    M: Tracked + IntoActiveModel<<M::Entity as EntityTrait>::ActiveModel> + Send + 'static,
    <M::Entity as EntityTrait>::ActiveModel: ActiveModelTrait<Entity = M::Entity> + Send,
    F: Fn(R, &WriteContext, Option<&M>) -> M + Copy + Send + 'static,
{
    let mut session = Session::begin(db, M::BULK).await?;
    let backend = session.backend();
    let copies = session.copies();
    let mut counts = WriteCounts::default();
    let mut records = records.into_iter();
    let mut next_chunk = || {
        let chunk: Vec<R> = records.by_ref().take(CHUNK).collect();
        let ids: Vec<String> = chunk.iter().map(&key).collect();
        (!chunk.is_empty()).then_some((chunk, ids))
    };
    let mut ready = match next_chunk() {
        Some((chunk, ids)) => {
            let stored = stored_rows::<M>(&mut session, &ids, Read::Heads).await?;
            Some(prepare(backend, copies, ctx, chunk, &ids, &stored, model)?)
        }
        None => None,
    };
    while let Some(mut current) = ready.take() {
        if !current.deferred.is_empty() {
            let deferred = std::mem::take(&mut current.deferred);
            let ids: Vec<String> = deferred.iter().map(|m| m.key().to_owned()).collect();
            let stored = stored_rows::<M>(&mut session, &ids, Read::Whole).await?;
            let rest = plan(backend, copies, ctx, deferred, &stored, Read::Whole)?;
            current.steps.extend(rest.steps);
            current.counts.add(rest.counts);
        }
        let building = match next_chunk() {
            Some((chunk, ids)) => {
                let stored = stored_rows::<M>(&mut session, &ids, Read::Heads).await?;
                let ctx = ctx.clone();
                Some(tokio::task::spawn_blocking(move || {
                    prepare(backend, copies, &ctx, chunk, &ids, &stored, model)
                }))
            }
            None => None,
        };
        for step in current.steps {
            session.run(step).await?;
        }
        counts.add(current.counts);
        if let Some(building) = building {
            let built = building.await.map_err(|e| {
                DbErr::Custom(format!("building the statements of a chunk failed: {e}"))
            })?;
            ready = Some(built?);
        }
    }
    session.commit().await?;
    Ok(counts)
}

/// How much of the stored rows to read.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Read {
    /// [`Tracked::head_columns`] where the table keeps digests, else whole rows.
    Heads,
    Whole,
}

impl Read {
    /// The head columns when this read is of heads only.
    fn head_columns<M: Tracked>(self) -> Option<&'static [<M::Entity as EntityTrait>::Column]> {
        M::head_columns().filter(|_| self == Read::Heads)
    }
}

/// The stored rows with these keys, by key.
async fn stored_rows<M>(
    session: &mut Session,
    ids: &[String],
    read: Read,
) -> Result<HashMap<String, M>, StoreError>
where
    M: Tracked,
{
    let query = M::Entity::find().filter(M::id_column().is_in(ids.iter().cloned()));
    let backend = session.backend();
    let rows = match read.head_columns::<M>() {
        Some(columns) => {
            let statement = query
                .select_only()
                .columns(columns.iter().copied())
                .build(backend);
            session
                .query_all(statement)
                .await?
                .iter()
                .map(M::from_head)
                .collect::<Result<Vec<_>, _>>()?
        }
        None => session
            .query_all(query.build(backend))
            .await?
            .iter()
            .map(|row| M::from_query_result(row, ""))
            .collect::<Result<Vec<_>, _>>()?,
    };
    Ok(rows.into_iter().map(|m| (m.key().to_owned(), m)).collect())
}

/// A chunk's steps (rows, bookkeeping updates, history) and what they do, and the new rows
/// whose stored rows must be read whole before they can be decided.
struct Prepared<M> {
    steps: Vec<Step>,
    counts: WriteCounts,
    deferred: Vec<M>,
}

/// Builds a chunk's new rows, with the digests of their observed fields where the table
/// keeps them, and [`plan`]s them; no database access, so it can run apart from the
/// connection.
fn prepare<R, M>(
    backend: DbBackend,
    copies: bool,
    ctx: &WriteContext,
    chunk: Vec<R>,
    ids: &[String],
    stored: &HashMap<String, M>,
    model: impl Fn(R, &WriteContext, Option<&M>) -> M,
) -> Result<Prepared<M>, StoreError>
where
    M: Tracked + IntoActiveModel<<M::Entity as EntityTrait>::ActiveModel>,
    <M::Entity as EntityTrait>::ActiveModel: ActiveModelTrait<Entity = M::Entity> + Send,
{
    let keeps_digests = M::head_columns().is_some();
    let mut rows = Vec::with_capacity(chunk.len());
    for (record, id) in chunk.into_iter().zip(ids) {
        let mut new = model(record, ctx, stored.get(id));
        if keeps_digests {
            let digest = history::digest(&new.fields()).map_err(|e| StoreError::InvalidRecord {
                id: id.clone(),
                reason: format!("its fields cannot be serialized: {e}"),
            })?;
            new.set_digest(digest);
        }
        rows.push(new);
    }
    plan(backend, copies, ctx, rows, stored, Read::Heads)
}

/// Decides what each new row means against its stored row (its head, or the whole row) and
/// builds the steps that write it. Against a head, only a row with the same digest, not
/// removed, is decided (unchanged); the rest are deferred, as their history needs the whole
/// stored row. Where the session `copies`, rows without a stored row and the history are
/// copied rather than inserted.
fn plan<M>(
    backend: DbBackend,
    copies: bool,
    ctx: &WriteContext,
    rows: Vec<M>,
    stored: &HashMap<String, M>,
    read: Read,
) -> Result<Prepared<M>, StoreError>
where
    M: Tracked + IntoActiveModel<<M::Entity as EntityTrait>::ActiveModel>,
    <M::Entity as EntityTrait>::ActiveModel: ActiveModelTrait<Entity = M::Entity> + Send,
{
    let mut counts = WriteCounts::default();
    let mut writes = Vec::with_capacity(rows.len());
    let mut created = Vec::new();
    let mut changes = Vec::new();
    let mut touched: Vec<Touched<M>> = Vec::new();
    let mut deferred = Vec::new();
    let heads = read.head_columns::<M>().is_some();
    for new in rows {
        let old = stored.get(new.key());
        let change = match old {
            // `prepare` gave every new row of a table with heads its digest.
            Some(o) if heads => {
                if o.is_removed() || o.digest() != new.digest() {
                    deferred.push(new);
                    continue;
                }
                None
            }
            _ => classify(old.map(|o| (o.fields(), o.is_removed())), || new.fields()),
        };
        counts.count(change.as_ref().map(|(kind, _)| *kind));
        match change {
            Some((kind, fields)) => {
                changes.push(change_row(ctx, M::ASSET, new.key(), kind, fields));
            }
            None => {
                // A row whose digest is missing or stale is rewritten whole, digest included.
                let digest_kept = old.map(Tracked::digest) == Some(new.digest());
                if digest_kept
                    && let Some(values) = new.bookkeeping()
                    && touch::<M>(&mut touched, values, new.key())
                {
                    continue;
                }
            }
        }
        let row = new.into_active_model().reset_all();
        if copies && old.is_none() {
            created.push(row);
        } else {
            writes.push(row);
        }
    }
    let mut steps = Vec::new();
    let on_conflict = OnConflict::column(M::id_column())
        .update_columns(M::update_columns())
        .to_owned();
    if let Some(insert) = rows::insert_rows(backend, writes, Some(on_conflict))? {
        steps.push(Step::Run(backend.build(&insert)));
    }
    if let Some(rows) = copy::copy_rows(created)? {
        steps.push(Step::CopyNew {
            rows,
            key: M::id_column().as_str(),
            update: M::update_columns().iter().map(|c| c.as_str()).collect(),
        });
    }
    for (values, ids) in touched {
        let mut update = M::Entity::update_many();
        for (column, value) in values {
            update = update.col_expr(column, Expr::value(value));
        }
        steps.push(Step::Run(
            update.filter(M::id_column().is_in(ids)).build(backend),
        ));
    }
    if copies {
        steps.extend(copy::copy_rows(changes)?.map(Step::Copy));
    } else if let Some(insert) = rows::insert_rows(backend, changes, None)? {
        steps.push(Step::Run(backend.build(&insert)));
    }
    Ok(Prepared {
        steps,
        counts,
        deferred,
    })
}

/// Unchanged rows that share their bookkeeping values, updated by one statement.
type Touched<M> = (
    Vec<(
        <<M as Tracked>::Entity as EntityTrait>::Column,
        sea_orm::Value,
    )>,
    Vec<String>,
);

/// Most groups of unchanged rows per chunk: a collector's page shares its source and
/// provenance, so one is usual; rows beyond these go through the full upsert instead of
/// costing a statement each.
const MAX_TOUCH_GROUPS: usize = 4;

/// Adds an unchanged row to the group with the same bookkeeping values, or starts one;
/// `false` when there is no room for another group.
fn touch<M: Tracked>(
    touched: &mut Vec<Touched<M>>,
    values: Vec<(<M::Entity as EntityTrait>::Column, sea_orm::Value)>,
    key: &str,
) -> bool {
    let same = |group: &&mut Touched<M>| {
        group.0.len() == values.len() && group.0.iter().zip(&values).all(|((_, a), (_, b))| a == b)
    };
    if let Some(group) = touched.iter_mut().find(same) {
        group.1.push(key.to_owned());
        return true;
    }
    if touched.len() < MAX_TOUCH_GROUPS {
        touched.push((values, vec![key.to_owned()]));
        return true;
    }
    false
}

/// After a complete read of `scope`, marks every asset of that scope that this run did not
/// see as removed. Only a run that read its source completely may call this: a partial read
/// would wipe what it failed to see.
pub async fn remove_unseen<C>(
    db: &C,
    run_id: i64,
    at: DateTime<Utc>,
    asset: AssetType,
    scope: &str,
) -> Result<u64, StoreError>
where
    C: TransactionTrait,
{
    let ctx = WriteContext::run(run_id, at);
    match asset {
        AssetType::CloudAccount => {
            remove_where::<cloud_account::Model, _>(
                db,
                &ctx,
                unseen::<cloud_account::Model>(run_id, scope),
            )
            .await
        }
        AssetType::MonitoringEndpoint => {
            remove_where::<monitoring_endpoint::Model, _>(
                db,
                &ctx,
                unseen::<monitoring_endpoint::Model>(run_id, scope),
            )
            .await
        }
    }
}

/// Rows of `scope` that run `run_id` did not write.
fn unseen<M: Tracked>(run_id: i64, scope: &str) -> Condition {
    Condition::all().add(M::scope_column().eq(scope)).add(
        Condition::any()
            .add(M::last_run_column().is_null())
            .add(M::last_run_column().ne(run_id)),
    )
}

/// Marks the named assets removed (a person retiring an endpoint, say). Already removed or
/// unknown ids are left alone; returns how many were removed now.
pub async fn remove<C>(
    db: &C,
    ctx: &WriteContext,
    asset: AssetType,
    ids: &[String],
) -> Result<u64, StoreError>
where
    C: TransactionTrait,
{
    let ids = ids.iter().cloned();
    match asset {
        AssetType::CloudAccount => {
            let named = Condition::all().add(cloud_account::Column::Id.is_in(ids));
            remove_where::<cloud_account::Model, _>(db, ctx, named).await
        }
        AssetType::MonitoringEndpoint => {
            let named = Condition::all().add(monitoring_endpoint::Column::Id.is_in(ids));
            remove_where::<monitoring_endpoint::Model, _>(db, ctx, named).await
        }
    }
}

async fn remove_where<M, C>(
    db: &C,
    ctx: &WriteContext,
    condition: Condition,
) -> Result<u64, StoreError>
where
    M: Tracked,
    C: TransactionTrait,
{
    let txn = db.begin().await?;
    let ids: Vec<String> = M::Entity::find()
        .select_only()
        .column(M::id_column())
        .filter(condition)
        .filter(M::removed_at_column().is_null())
        .into_tuple()
        .all(&txn)
        .await?;
    for chunk in ids.chunks(CHUNK) {
        M::Entity::update_many()
            .col_expr(M::removed_at_column(), Expr::value(ctx.at))
            .filter(M::id_column().is_in(chunk.iter().cloned()))
            .exec(&txn)
            .await?;
        let changes = chunk
            .iter()
            .map(|asset_id| {
                let mut fields = Map::new();
                fields.insert(
                    "removed_at".into(),
                    json!({ "old": Value::Null, "new": ctx.at }),
                );
                change_row(ctx, M::ASSET, asset_id, ChangeKind::Removed, fields)
            })
            .collect();
        insert_changes(&txn, changes).await?;
    }
    txn.commit().await?;
    Ok(ids.len() as u64)
}

impl WriteCounts {
    fn count(&mut self, change: Option<ChangeKind>) {
        match change {
            Some(ChangeKind::Created) => self.created += 1,
            Some(ChangeKind::Updated) => self.updated += 1,
            Some(ChangeKind::Restored) => self.restored += 1,
            Some(ChangeKind::Removed) => self.removed += 1,
            None => self.unchanged += 1,
        }
    }
}

/// Keeps the last record per id, in first-seen order: one statement cannot upsert a row
/// twice on PostgreSQL, and the newest observation is the one that counts.
fn last_wins<T>(records: Vec<T>, id: impl Fn(&T) -> String) -> Vec<T> {
    let mut position: HashMap<String, usize> = HashMap::with_capacity(records.len());
    let mut out: Vec<T> = Vec::with_capacity(records.len());
    for record in records {
        match position.get(&id(&record)) {
            Some(&at) => out[at] = record,
            None => {
                position.insert(id(&record), out.len());
                out.push(record);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_record_per_id_wins_in_first_seen_order() {
        let out = last_wins(vec![("a", 1), ("b", 2), ("a", 3)], |r| r.0.to_owned());
        assert_eq!(out, vec![("a", 3), ("b", 2)]);
    }
}
