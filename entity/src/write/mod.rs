//! The one write path. Collectors, the file importer and the API's mutation all write here,
//! so every row gets the same bookkeeping: first/last seen, the run that saw it, provenance,
//! and an `asset_changes` row for every real change (none when nothing changed).
//!
//! Each call is one transaction: a batch lands whole or not at all.

mod history;
pub(crate) mod observed;
mod rows;
pub(crate) mod tracked;

use crate::enums::{AssetType, ChangeKind};
use crate::error::StoreError;
use crate::record::{AccountRecord, EndpointRecord};
use crate::{cloud_account, monitoring_endpoint};
use chrono::{DateTime, Utc};
use history::{change_row, classify, insert_changes};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection,
    DatabaseTransaction, DbBackend, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait, Statement,
};
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use tracked::{Tracked, account_model, endpoint_model};

/// Rows per statement: far below the bind-parameter limits of both backends (SQLite 32,766,
/// PostgreSQL 65,535) at ~20 columns a row; larger statements measured slower on PostgreSQL.
const CHUNK: usize = 125;

/// Records per segment: a segment's stored rows are read by one statement, so a write of
/// any size holds one segment's rows at a time. A collector's page (1,000) is one segment.
const SEGMENT: usize = 1_000;

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
    /// Rows written that the writer saw: everything but removals.
    pub fn seen(&self) -> u64 {
        self.created + self.updated + self.restored + self.unchanged
    }

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
    for record in &records {
        crate::validate::account(record).map_err(|invalid| StoreError::Invalid {
            id: record.id(),
            invalid,
        })?;
    }
    upsert(
        db,
        ctx,
        records,
        AccountRecord::id,
        Read::Heads,
        |r, ctx, old| Some(account_model(r, ctx, old)),
    )
    .await
}

/// Inserts or updates monitoring endpoints, with the same guarantees as [`upsert_accounts`].
/// `created_by` is kept from the first write; `updated_by` names the latest actor.
pub async fn upsert_endpoints(
    db: &DatabaseConnection,
    ctx: &WriteContext,
    records: Vec<EndpointRecord>,
) -> Result<WriteCounts, StoreError> {
    let records = last_wins(records, |r| r.id.clone());
    for record in &records {
        crate::validate::endpoint(record).map_err(|invalid| StoreError::Invalid {
            id: record.id.clone(),
            invalid,
        })?;
    }
    upsert(
        db,
        ctx,
        records,
        |r| r.id.clone(),
        Read::Heads,
        |r, ctx, old| Some(endpoint_model(r, ctx, old)),
    )
    .await
}

/// An account's tags, read apart from its listing (see `crate::enrich`).
#[derive(Debug, Clone)]
pub struct TagsRead {
    /// The account's key (`cloud_account::Model::id`).
    pub id: String,
    pub tags: std::collections::BTreeMap<String, String>,
    /// Where they came from (operation, request id), kept under `tags` in the provenance.
    pub provenance: Value,
}

/// Sets the tags of accounts already stored, as read at `ctx.at`: a change is history like
/// any, and `tags_read_at` and `last_seen_at` become `ctx.at`. An account that is not
/// stored is skipped: tags alone make no account.
///
/// Most reads find the tags unchanged: those rows get one `UPDATE` of their times, and only
/// the changed ones go through the upsert (their whole rows read, history written). Each of
/// the two is a transaction; either alone leaves nothing wrong, only tags to read again.
pub(crate) async fn record_tags(
    db: &DatabaseConnection,
    ctx: &WriteContext,
    reads: Vec<TagsRead>,
) -> Result<WriteCounts, StoreError> {
    use cloud_account::Column as C;
    // Tags are kept as the provider says, like the rest of an account (`validate`).
    let reads = last_wins(reads, |r| r.id.clone());
    let ids: Vec<String> = reads.iter().map(|r| r.id.clone()).collect();
    let stored: HashMap<String, crate::json_column::Tags> = cloud_account::Entity::find()
        .select_only()
        .columns([C::Id, C::Tags])
        .filter(C::Id.is_in(ids))
        .into_tuple::<(String, crate::json_column::Tags)>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    let (unchanged, changed): (Vec<TagsRead>, Vec<TagsRead>) = reads
        .into_iter()
        .filter(|r| stored.contains_key(&r.id))
        .partition(|r| stored.get(&r.id).is_some_and(|tags| tags.0 == r.tags));
    let mut counts = WriteCounts {
        unchanged: unchanged.len() as u64,
        ..WriteCounts::default()
    };
    if !unchanged.is_empty() {
        cloud_account::Entity::update_many()
            .col_expr(C::TagsReadAt, Expr::value(ctx.at))
            .col_expr(C::LastSeenAt, Expr::value(ctx.at))
            .col_expr(C::LastRunId, Expr::value(ctx.run_id))
            .filter(C::Id.is_in(unchanged.into_iter().map(|r| r.id)))
            .exec(db)
            .await?;
        // After the statement, never before: a reader that saw the new version before the
        // change committed could keep the old answer under it.
        crate::version::advance(db).await?;
    }
    if !changed.is_empty() {
        counts.add(
            upsert(
                db,
                ctx,
                changed,
                |r| r.id.clone(),
                Read::Whole,
                tracked::tags_read,
            )
            .await?,
        );
    }
    Ok(counts)
}

/// The shared upsert, segment by segment ([`write_segment`]): read the stored rows, decide
/// the history, then write rows and history; all segments in one transaction. Records are
/// consumed: their large values move into the rows instead of being copied.
///
/// Where the table keeps digests of observed fields (accounts), only the rows' heads are read
/// first: an unchanged row, what nearly every row of a collector run is, is told by its
/// digest, and only the others are read whole, to record what changed.
async fn upsert<R, M, F>(
    db: &DatabaseConnection,
    ctx: &WriteContext,
    records: Vec<R>,
    key: impl Fn(&R) -> String,
    read: Read,
    model: F,
) -> Result<WriteCounts, StoreError>
where
    M: Tracked + IntoActiveModel<<M::Entity as EntityTrait>::ActiveModel>,
    <M::Entity as EntityTrait>::ActiveModel: ActiveModelTrait<Entity = M::Entity> + Send,
    F: Fn(R, &WriteContext, Option<&M>) -> Option<M>,
{
    let txn = crate::db::begin(db).await?;
    let mut counts = WriteCounts::default();
    let mut records = records.into_iter();
    loop {
        let segment: Vec<R> = records.by_ref().take(SEGMENT).collect();
        if segment.is_empty() {
            break;
        }
        counts.add(write_segment(&txn, ctx, segment, &key, read, &model).await?);
    }
    crate::db::commit(txn).await?;
    Ok(counts)
}

/// Writes one segment: reads its stored rows (heads where the table keeps digests), decides
/// each record against its stored row and writes the result; rows whose heads could not
/// decide them (changed, or removed) are read whole and decided then.
async fn write_segment<R, M, F>(
    txn: &DatabaseTransaction,
    ctx: &WriteContext,
    segment: Vec<R>,
    key: &impl Fn(&R) -> String,
    read: Read,
    model: &F,
) -> Result<WriteCounts, StoreError>
where
    M: Tracked + IntoActiveModel<<M::Entity as EntityTrait>::ActiveModel>,
    <M::Entity as EntityTrait>::ActiveModel: ActiveModelTrait<Entity = M::Entity> + Send,
    F: Fn(R, &WriteContext, Option<&M>) -> Option<M>,
{
    let backend = txn.get_database_backend();
    let ids: Vec<String> = segment.iter().map(key).collect();
    let stored = stored_rows::<M>(txn, &ids, read).await?;
    let rows = new_rows(ctx, segment, &ids, &stored, model)?;
    let planned = plan(backend, ctx, rows, &stored, read)?;
    let mut counts = planned.counts;
    execute(txn, planned.statements).await?;
    if !planned.deferred.is_empty() {
        let ids: Vec<String> = planned
            .deferred
            .iter()
            .map(|m| m.key().to_owned())
            .collect();
        let stored = stored_rows::<M>(txn, &ids, Read::Whole).await?;
        let decided = plan(backend, ctx, planned.deferred, &stored, Read::Whole)?;
        counts.add(decided.counts);
        execute(txn, decided.statements).await?;
    }
    Ok(counts)
}

async fn execute(txn: &DatabaseTransaction, statements: Vec<Statement>) -> Result<(), StoreError> {
    for statement in statements {
        txn.execute_raw(statement).await?;
    }
    Ok(())
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
    txn: &DatabaseTransaction,
    ids: &[String],
    read: Read,
) -> Result<HashMap<String, M>, StoreError>
where
    M: Tracked,
{
    let query = M::Entity::find().filter(M::id_column().is_in(ids.iter().cloned()));
    let backend = txn.get_database_backend();
    let rows = match read.head_columns::<M>() {
        Some(columns) => {
            let statement = query
                .select_only()
                .columns(columns.iter().copied())
                .build(backend);
            txn.query_all_raw(statement)
                .await?
                .iter()
                .map(M::from_head)
                .collect::<Result<Vec<_>, _>>()?
        }
        None => txn
            .query_all_raw(query.build(backend))
            .await?
            .iter()
            .map(|row| M::from_query_result(row, ""))
            .collect::<Result<Vec<_>, _>>()?,
    };
    Ok(rows.into_iter().map(|m| (m.key().to_owned(), m)).collect())
}

/// A segment's writes and what they do, and the rows whose stored rows must be read whole
/// before they can be decided.
struct Prepared<M> {
    /// Upserts, bookkeeping updates and history inserts, in that order.
    statements: Vec<Statement>,
    counts: WriteCounts,
    deferred: Vec<M>,
}

/// The rows `records` leave behind, with the digests of their observed fields where the
/// table keeps them.
fn new_rows<R, M>(
    ctx: &WriteContext,
    records: Vec<R>,
    ids: &[String],
    stored: &HashMap<String, M>,
    model: &impl Fn(R, &WriteContext, Option<&M>) -> Option<M>,
) -> Result<Vec<M>, StoreError>
where
    M: Tracked,
{
    let keeps_digests = M::head_columns().is_some();
    let mut rows = Vec::with_capacity(records.len());
    for (record, id) in records.into_iter().zip(ids) {
        let Some(mut new) = model(record, ctx, stored.get(id)) else {
            continue;
        };
        if keeps_digests {
            let digest = history::digest(&new.fields()).map_err(|e| StoreError::InvalidRecord {
                id: id.clone(),
                reason: format!("its fields cannot be serialized: {e}"),
            })?;
            new.set_digest(digest);
        }
        rows.push(new);
    }
    Ok(rows)
}

/// Decides what each new row means against its stored row (its head, or the whole row) and
/// builds the steps that write it. Against a head, only a row with the same digest, not
/// removed, is decided (unchanged); the rest are deferred, as their history needs the whole
/// stored row.
fn plan<M>(
    backend: DbBackend,
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
            _ => classify(old.map(|o| (o.fields(), o.removed_at())), || new.fields()),
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
        writes.push(new.into_active_model().reset_all());
    }
    let mut statements = Vec::new();
    let on_conflict = OnConflict::column(M::id_column())
        .update_columns(M::update_columns())
        .to_owned();
    for chunk in chunks(writes) {
        if let Some(insert) = rows::insert_rows(backend, chunk, Some(on_conflict.clone()))? {
            statements.push(backend.build(&insert));
        }
    }
    for (values, ids) in touched {
        let mut update = M::Entity::update_many();
        for (column, value) in values {
            update = update.col_expr(column, Expr::value(value));
        }
        statements.push(update.filter(M::id_column().is_in(ids)).build(backend));
    }
    for chunk in chunks(changes) {
        if let Some(insert) = rows::insert_rows(backend, chunk, None)? {
            statements.push(backend.build(&insert));
        }
    }
    Ok(Prepared {
        statements,
        counts,
        deferred,
    })
}

/// `rows` in statements of at most [`CHUNK`].
fn chunks<T>(rows: Vec<T>) -> impl Iterator<Item = Vec<T>> {
    let mut rows = rows.into_iter().peekable();
    std::iter::from_fn(move || {
        rows.peek()?;
        Some(rows.by_ref().take(CHUNK).collect())
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

/// Most groups of unchanged rows per segment: a collector's page shares its source and
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
pub async fn remove_unseen(
    db: &DatabaseConnection,
    run_id: i64,
    at: DateTime<Utc>,
    asset: AssetType,
    scope: &str,
) -> Result<u64, StoreError> {
    let ctx = WriteContext::run(run_id, at);
    match asset {
        AssetType::CloudAccount => {
            remove_where::<cloud_account::Model>(
                db,
                &ctx,
                unseen::<cloud_account::Model>(run_id, scope),
            )
            .await
        }
        AssetType::MonitoringEndpoint => {
            remove_where::<monitoring_endpoint::Model>(
                db,
                &ctx,
                unseen::<monitoring_endpoint::Model>(run_id, scope),
            )
            .await
        }
    }
}

/// The native ids of the present accounts of `scope` that run `run_id` did not write:
/// what [`remove_unseen`] would remove now.
pub async fn unseen_accounts(
    db: &DatabaseConnection,
    run_id: i64,
    scope: &str,
) -> Result<Vec<String>, StoreError> {
    Ok(cloud_account::Entity::find()
        .select_only()
        .column(cloud_account::Column::NativeId)
        .filter(unseen::<cloud_account::Model>(run_id, scope))
        .filter(cloud_account::Column::RemovedAt.is_null())
        .order_by_asc(cloud_account::Column::NativeId)
        .into_tuple()
        .all(db)
        .await?)
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
pub async fn remove(
    db: &DatabaseConnection,
    ctx: &WriteContext,
    asset: AssetType,
    ids: &[String],
) -> Result<u64, StoreError> {
    let ids = ids.iter().cloned();
    match asset {
        AssetType::CloudAccount => {
            let named = Condition::all().add(cloud_account::Column::Id.is_in(ids));
            remove_where::<cloud_account::Model>(db, ctx, named).await
        }
        AssetType::MonitoringEndpoint => {
            let named = Condition::all().add(monitoring_endpoint::Column::Id.is_in(ids));
            remove_where::<monitoring_endpoint::Model>(db, ctx, named).await
        }
    }
}

async fn remove_where<M>(
    db: &DatabaseConnection,
    ctx: &WriteContext,
    condition: Condition,
) -> Result<u64, StoreError>
where
    M: Tracked,
{
    let txn = crate::db::begin(db).await?;
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
    crate::db::commit(txn).await?;
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
