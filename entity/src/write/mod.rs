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
use copy::CopyRows;
use history::{change_row, classify, insert_changes};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, DatabaseConnection, DbBackend, DbErr, EntityTrait,
    IdenStatic, IntoActiveModel, QueryFilter, QueryOrder, QuerySelect, QueryTrait, Statement,
};
use serde_json::{Map, Value, json};
use session::Session;
use std::collections::HashMap;
use tokio::sync::mpsc::{self, Receiver};
use tokio::task::JoinHandle;
use tracked::{Tracked, account_model, endpoint_model};

/// Rows per statement, far below the bind-parameter limits of both backends (SQLite 32,766,
/// PostgreSQL 65,535) at ~20 columns a row: 100,000 new accounts in pages of 1,000 on
/// PostgreSQL took 7.7 s in chunks of 500, 6.2-6.5 s in 250 and 5.8-6.0 s in 125 when each
/// chunk was a statement of its own (SQLite 5.8 s before building overlapped writing, 3.9 s
/// with it in 125).
const CHUNK: usize = 125;

/// Rows of a segment's first chunk: nothing overlaps building it, so it is smaller.
const FIRST_CHUNK: usize = 32;

/// Records per segment: a segment's stored heads are read by one statement, its new rows
/// copied by one `COPY` and its history by another, and what it copies is kept until the
/// copy succeeds (see `session`), so a write of any size holds one segment's rows at a
/// time. A collector's page (1,000) is one segment.
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

/// The shared upsert, segment by segment (`write_segment`): read the stored rows, decide
/// the history, then write rows and history; all segments in one transaction. Records are
/// consumed: their large values move into the rows instead of being copied.
///
/// Deciding and building a chunk's statements (comparing fields, serializing JSON) was 37 %
/// of a 100,000-account first write, time in which the server waited (3.7 of 9.9 s, the
/// statements 5.3 s): so chunks are built on a blocking thread while the ones before are
/// written. A segment's stored rows are read first, which is sound because segments never
/// share a key (`last_wins`).
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
/// accounts, 1.3 s the history and 0.45 s reading heads. A `COPY`, its savepoint and a
/// heads read per chunk of 125 were seven exchanges with the server each, and the server
/// idled while a page's first chunk was built; one `COPY` per segment, fed as its chunks are
/// built, took the same write from 10.2-13.6 s to 8.5-8.9 s in alternating runs on a slower
/// machine.
async fn upsert<R, M, F>(
    db: &DatabaseConnection,
    ctx: &WriteContext,
    records: Vec<R>,
    key: impl Fn(&R) -> String,
    read: Read,
    model: F,
) -> Result<WriteCounts, StoreError>
where
    R: Send + 'static,
    M: Tracked + IntoActiveModel<<M::Entity as EntityTrait>::ActiveModel> + Send + 'static,
    <M::Entity as EntityTrait>::ActiveModel: ActiveModelTrait<Entity = M::Entity> + Send,
    F: Model<R, M>,
{
    let mut session = Session::begin(db, M::BULK).await?;
    let mut counts = WriteCounts::default();
    let mut records = records.into_iter();
    loop {
        let segment: Vec<R> = records.by_ref().take(SEGMENT).collect();
        if segment.is_empty() {
            break;
        }
        counts.add(write_segment(&mut session, ctx, segment, &key, read, model).await?);
    }
    session.commit().await?;
    Ok(counts)
}

/// How a record becomes the row a write leaves behind, given the stored row (its head where
/// the write reads heads); `None` when the record writes nothing.
trait Model<R, M>: Fn(R, &WriteContext, Option<&M>) -> Option<M> + Copy + Send + 'static {}
impl<R, M, F> Model<R, M> for F where
    F: Fn(R, &WriteContext, Option<&M>) -> Option<M> + Copy + Send + 'static
{
}

/// Writes one segment: reads its stored heads, builds its chunks apart from the connection
/// (`build_chunks`) and writes each as it comes, new rows streaming into one `COPY` where
/// the session copies; what must wait for the connection (statements, rows read whole
/// before they can be decided) runs when it is free, and the history is copied last.
async fn write_segment<R, M, F>(
    session: &mut Session,
    ctx: &WriteContext,
    segment: Vec<R>,
    key: &impl Fn(&R) -> String,
    read: Read,
    model: F,
) -> Result<WriteCounts, StoreError>
where
    R: Send + 'static,
    M: Tracked + IntoActiveModel<<M::Entity as EntityTrait>::ActiveModel> + Send + 'static,
    <M::Entity as EntityTrait>::ActiveModel: ActiveModelTrait<Entity = M::Entity> + Send,
    F: Model<R, M>,
{
    let backend = session.backend();
    let copies = session.copies();
    let update: Vec<&'static str> = M::update_columns().iter().map(|c| c.as_str()).collect();
    let ids: Vec<String> = segment.iter().map(key).collect();
    let stored = stored_rows::<M>(session, &ids, read).await?;
    let (mut built, builder) = build_chunks(
        Steps { backend, copies },
        ctx,
        segment,
        ids,
        stored,
        read,
        model,
    );
    let mut pending = Pending::default();
    while let Some(chunk) = built.recv().await {
        if let Some(new_rows) = pending.keep(chunk)? {
            // Until the builder is done: every later chunk's new rows join this copy.
            let more = |chunk| pending.keep(chunk);
            session
                .copy_new(
                    new_rows,
                    M::id_column().as_str(),
                    &update,
                    Some(&mut built),
                    more,
                )
                .await?;
        }
        // The connection is free: what the chunks so far left runs now.
        loop {
            for statement in std::mem::take(&mut pending.statements) {
                session.execute(statement).await?;
            }
            let deferred = std::mem::take(&mut pending.deferred);
            if deferred.is_empty() {
                break;
            }
            let ids: Vec<String> = deferred.iter().map(|m| m.key().to_owned()).collect();
            let stored = stored_rows::<M>(session, &ids, Read::Whole).await?;
            let decided = plan(backend, copies, ctx, deferred, &stored, Read::Whole)?;
            // A deferred row has a stored row, so it is hardly new; if it were (gone since
            // its head was read), it is copied like any.
            if let Some(new_rows) = pending.keep(Ok(decided))? {
                let more = |chunk| pending.keep(chunk);
                session
                    .copy_new(new_rows, M::id_column().as_str(), &update, None, more)
                    .await?;
            }
        }
    }
    if let Some(builder) = builder {
        builder.await.map_err(|e| {
            DbErr::Custom(format!("building the statements of a chunk failed: {e}"))
        })?;
    }
    if let Some(history) = pending.history.take() {
        session.copy(&history).await?;
    }
    Ok(pending.counts)
}

/// What a segment's chunks leave for when the connection is free, and what they did.
struct Pending<M> {
    statements: Vec<Statement>,
    /// Their history rows, copied together at the end of the segment.
    history: Option<CopyRows>,
    deferred: Vec<M>,
    counts: WriteCounts,
}

impl<M> Default for Pending<M> {
    fn default() -> Self {
        Self {
            statements: Vec::new(),
            history: None,
            deferred: Vec::new(),
            counts: WriteCounts::default(),
        }
    }
}

impl<M> Pending<M> {
    /// Keeps a chunk's statements, history and deferred rows, and gives its new rows.
    fn keep(
        &mut self,
        chunk: Result<Prepared<M>, StoreError>,
    ) -> Result<Option<CopyRows>, StoreError> {
        let chunk = chunk?;
        self.statements.extend(chunk.statements);
        self.deferred.extend(chunk.deferred);
        self.counts.add(chunk.counts);
        match (&mut self.history, chunk.history) {
            (Some(history), Some(more)) => history.append(more)?,
            (history @ None, more) => *history = more,
            (Some(_), None) => {}
        }
        Ok(chunk.new_rows)
    }
}

/// Built chunks, in order.
type Chunks<M> = Receiver<Result<Prepared<M>, StoreError>>;

/// A segment's chunks, built one after another on a blocking thread while the connection
/// writes the ones before (deciding and building a chunk was 37 % of a new write, time in
/// which the server waited), with the thread to await for its end; a segment no larger than
/// a first chunk (the API's mutation) is built in place. The first chunk is small, as
/// nothing overlaps building it.
fn build_chunks<R, M, F>(
    steps: Steps,
    ctx: &WriteContext,
    segment: Vec<R>,
    ids: Vec<String>,
    stored: HashMap<String, M>,
    read: Read,
    model: F,
) -> (Chunks<M>, Option<JoinHandle<()>>)
where
    R: Send + 'static,
    M: Tracked + IntoActiveModel<<M::Entity as EntityTrait>::ActiveModel> + Send + 'static,
    <M::Entity as EntityTrait>::ActiveModel: ActiveModelTrait<Entity = M::Entity> + Send,
    F: Model<R, M>,
{
    // Two chunks ahead at most: a segment's chunks stay bounded, whatever the server's pace.
    let (sender, receiver) = mpsc::channel(2);
    if segment.len() <= FIRST_CHUNK {
        let prepared = prepare(steps, ctx, segment, &ids, &stored, read, model);
        // The receiver is ours and the channel empty: this cannot fail.
        let _ = sender.try_send(prepared);
        return (receiver, None);
    }
    let ctx = ctx.clone();
    let builder = tokio::task::spawn_blocking(move || {
        let mut records = segment.into_iter();
        let mut ids = ids.into_iter();
        let mut size = FIRST_CHUNK;
        loop {
            let chunk: Vec<R> = records.by_ref().take(size).collect();
            if chunk.is_empty() {
                return;
            }
            let chunk_ids: Vec<String> = ids.by_ref().take(chunk.len()).collect();
            let prepared = prepare(steps, &ctx, chunk, &chunk_ids, &stored, read, model);
            let failed = prepared.is_err();
            // A closed channel: the write failed and no longer waits for chunks.
            if sender.blocking_send(prepared).is_err() || failed {
                return;
            }
            size = CHUNK;
        }
    });
    (receiver, Some(builder))
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

/// A chunk's writes and what they do, and the rows whose stored rows must be read whole
/// before they can be decided.
struct Prepared<M> {
    /// Upserts and bookkeeping updates; where the session does not copy, also the new rows
    /// and the history.
    statements: Vec<Statement>,
    /// New rows, where the session copies.
    new_rows: Option<CopyRows>,
    /// History rows, where the session copies.
    history: Option<CopyRows>,
    counts: WriteCounts,
    deferred: Vec<M>,
}

/// Builds a chunk's new rows, with the digests of their observed fields where the table
/// keeps them, and [`plan`]s them; no database access, so it can run apart from the
/// connection.
fn prepare<R, M>(
    steps: Steps,
    ctx: &WriteContext,
    chunk: Vec<R>,
    ids: &[String],
    stored: &HashMap<String, M>,
    read: Read,
    model: impl Model<R, M>,
) -> Result<Prepared<M>, StoreError>
where
    M: Tracked + IntoActiveModel<<M::Entity as EntityTrait>::ActiveModel>,
    <M::Entity as EntityTrait>::ActiveModel: ActiveModelTrait<Entity = M::Entity> + Send,
{
    let keeps_digests = M::head_columns().is_some();
    let mut rows = Vec::with_capacity(chunk.len());
    for (record, id) in chunk.into_iter().zip(ids) {
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
    plan(steps.backend, steps.copies, ctx, rows, stored, read)
}

/// How a segment's steps are built: for which backend, and whether new rows and history
/// are copied.
#[derive(Clone, Copy)]
struct Steps {
    backend: DbBackend,
    copies: bool,
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
        let row = new.into_active_model().reset_all();
        if copies && old.is_none() {
            created.push(row);
        } else {
            writes.push(row);
        }
    }
    let mut statements = Vec::new();
    let on_conflict = OnConflict::column(M::id_column())
        .update_columns(M::update_columns())
        .to_owned();
    if let Some(insert) = rows::insert_rows(backend, writes, Some(on_conflict))? {
        statements.push(backend.build(&insert));
    }
    for (values, ids) in touched {
        let mut update = M::Entity::update_many();
        for (column, value) in values {
            update = update.col_expr(column, Expr::value(value));
        }
        statements.push(update.filter(M::id_column().is_in(ids)).build(backend));
    }
    let history = if copies {
        copy::copy_rows(changes)?
    } else {
        if let Some(insert) = rows::insert_rows(backend, changes, None)? {
            statements.push(backend.build(&insert));
        }
        None
    };
    Ok(Prepared {
        statements,
        new_rows: copy::copy_rows(created)?,
        history,
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
