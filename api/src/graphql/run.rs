//! `CollectorRun`: provenance. Assets resolve their last run through the request's
//! [`RequestRuns`] loader: one query per batch of runs, not per asset, and none at all for
//! a page that primed it with its rows' runs, or whose runs have all finished and were read
//! before ([`FinishedRuns`]). A page's rows mostly name the same few runs, so each run is
//! resolved once per selection and copied to the rows after it ([`SharedRun`]).

use super::enums::RunStatus;
use super::id::{NodeType, encode};
use super::row::PageValues;
use crate::error::{ApiError, ApiResult};
use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};
use async_graphql::parser::types::Field;
use async_graphql::registry::Registry;
use async_graphql::{
    Context, ContextSelectionSet, ID, InputObject, Object, OutputType, Positioned, ServerResult,
    Value,
};
use chrono::{DateTime, Utc};
use entity::collector_run;
use lru::LruCache;
use sea_orm::{ColumnTrait, Condition, DatabaseConnection, EntityTrait, QueryFilter};
use serde::Deserialize;
use std::borrow::Cow;
use std::collections::HashMap;
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex, PoisonError};

/// Shared, because a page's rows name the same few runs and the loader hands each row its
/// own copy.
pub struct CollectorRun(pub Arc<collector_run::Model>);

impl From<collector_run::Model> for CollectorRun {
    fn from(model: collector_run::Model) -> Self {
        Self(Arc::new(model))
    }
}

impl super::page::CursorKey for CollectorRun {
    fn cursor_key(&self) -> String {
        self.0.id.to_string()
    }
}

/// One run of a collector over one scope.
#[Object]
impl CollectorRun {
    pub async fn id(&self) -> ID {
        encode(NodeType::CollectorRun, &self.0.id.to_string())
    }
    async fn collector(&self) -> &str {
        &self.0.collector
    }
    /// The collector's version.
    async fn version(&self) -> &str {
        &self.0.version
    }
    /// The organization, tenant or endpoint set that was read.
    async fn scope(&self) -> &str {
        &self.0.scope
    }
    async fn started_at(&self) -> DateTime<Utc> {
        self.0.started_at
    }
    async fn finished_at(&self) -> Option<DateTime<Utc>> {
        self.0.finished_at
    }
    async fn duration_seconds(&self) -> Option<f64> {
        self.0
            .finished_at
            .map(|end| (end - self.0.started_at).as_seconds_f64())
    }
    async fn status(&self) -> RunStatus {
        self.0.status.into()
    }
    async fn seen(&self) -> i64 {
        self.0.seen
    }
    async fn created(&self) -> i64 {
        self.0.created
    }
    async fn updated(&self) -> i64 {
        self.0.updated
    }
    async fn unchanged(&self) -> i64 {
        self.0.unchanged
    }
    async fn removed(&self) -> i64 {
        self.0.removed
    }
    async fn pages(&self) -> i64 {
        self.0.pages
    }
    /// The provider's request ids (bounded), for support tickets.
    async fn request_ids(&self) -> Vec<String> {
        Vec::<String>::deserialize(&self.0.request_ids).unwrap_or_default()
    }
    async fn error(&self) -> Option<&str> {
        self.0.error.as_deref()
    }
}

/// Reads runs by id, in one query per batch, for the runs not already in [`FinishedRuns`].
pub struct RunLoader {
    db: DatabaseConnection,
    finished: Arc<FinishedRuns>,
}

impl Loader<i64> for RunLoader {
    type Value = Arc<collector_run::Model>;
    type Error = ApiError;

    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, Self::Value>, Self::Error> {
        let mut runs = self.finished.get(keys);
        let missing: Vec<i64> = keys
            .iter()
            .copied()
            .filter(|id| !runs.contains_key(id))
            .collect();
        if missing.is_empty() {
            return Ok(runs);
        }
        tracing::debug!(keys = missing.len(), "loading collector runs");
        for run in collector_run::Entity::find()
            .filter(collector_run::Column::Id.is_in(missing))
            .all(&self.db)
            .await?
        {
            let run = Arc::new(run);
            self.finished.keep(&run);
            runs.insert(run.id, run);
        }
        Ok(runs)
    }
}

/// Finished runs, kept across requests. A run is written when it starts and once more when
/// it finishes (`entity::run::finish_run`), and never deleted, so a finished run read once is
/// that run for good; a run still going is read again by every request, as it will change.
/// Without this every page asking for `lastRun` read its runs with a statement of its own:
/// bench q4 (q1 plus `lastRun`) ran at 69 % of q1's requests/s with it, 77 % without
/// (alternating wrk runs at 8 connections). Bounded, least recently used first out, so that
/// years of runs named by old history cannot grow the process.
pub struct FinishedRuns(Mutex<LruCache<i64, Arc<collector_run::Model>>>);

impl FinishedRuns {
    /// Far more than the collectors and scopes whose latest runs pages name.
    const CAPACITY: NonZeroUsize = NonZeroUsize::new(1024).expect("non-zero");

    fn get(&self, ids: &[i64]) -> HashMap<i64, Arc<collector_run::Model>> {
        // An insert is whole or absent, so a lock poisoned elsewhere still holds good runs.
        let mut runs = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        ids.iter()
            .filter_map(|id| runs.get(id).map(|run| (*id, run.clone())))
            .collect()
    }

    fn keep(&self, run: &Arc<collector_run::Model>) {
        if run.finished_at.is_some() {
            self.0
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .put(run.id, run.clone());
        }
    }
}

impl Default for FinishedRuns {
    fn default() -> Self {
        Self(Mutex::new(LruCache::new(Self::CAPACITY)))
    }
}

/// One request's runs. The loader caches, so that a page can prime it with the runs its rows
/// name ([`prime_runs`]) and no row's `lastRun` waits out the batch delay (a timer thread
/// wake-up per batch). Per request, so a run still going is never older than the request.
pub struct RequestRuns {
    loader: DataLoader<RunLoader, HashMapCache>,
    /// Each run's response value, by the selection that asked for it ([`SharedRun`]).
    resolved: Mutex<HashMap<(usize, i64), Arc<Value>>>,
}

impl RequestRuns {
    pub fn new(db: DatabaseConnection, finished: Arc<FinishedRuns>) -> Self {
        Self {
            loader: DataLoader::with_cache(
                RunLoader { db, finished },
                tokio::spawn,
                HashMapCache::default(),
            ),
            resolved: Mutex::default(),
        }
    }
}

fn request_runs<'a>(ctx: &Context<'a>) -> ApiResult<&'a RequestRuns> {
    ctx.data::<RequestRuns>().map_err(|_| ApiError::Internal)
}

/// A row's run field (`lastRun`, `run`): the value this selection already resolved for
/// this run in this request if there is one, else the run through the request's loader.
/// Asking the loader cost every row a lock, a hash map built and dropped, and four hashes
/// even when the run was cached (perf, bench q4: ~20 of the ~155 µs a page's `lastRun` added
/// to q1's API CPU per request).
pub async fn load_run(ctx: &Context<'_>, id: Option<i64>) -> ApiResult<Option<SharedRun>> {
    let Some(id) = id else { return Ok(None) };
    let runs = request_runs(ctx)?;
    if let Some(value) = runs.resolved(ctx.item, id) {
        return Ok(Some(SharedRun(Shared::Resolved(value))));
    }
    Ok(runs
        .loader
        .load_one(id)
        .await?
        .map(|run| SharedRun(Shared::Run(CollectorRun(run)))))
}

/// A row's run field as this selection already resolved it in this page or request (`Null`
/// for a row without a run), or `None` when it has not yet: for [`super::row::Row`], which
/// then resolves the field through [`load_run`].
pub fn resolved_run(
    ctx: &ContextSelectionSet<'_>,
    field: &Positioned<Field>,
    id: Option<i64>,
    page: &mut PageValues,
) -> Option<Value> {
    let Some(id) = id else {
        return Some(Value::Null);
    };
    page.get_or_insert_with(field, id, || {
        let value = ctx.data::<RequestRuns>().ok()?.resolved(field, id)?;
        Some(Value::clone(&value))
    })
}

/// A run as the value of a row's field (`lastRun`, `run`). A page of 100 accounts names one
/// or two runs, and resolving the same run object again for every row made bench q4 (q1 with
/// `lastRun { id collector status startedAt }`) 2,300-2,600 req/s against 3,600-4,500 for
/// q1. So the first row resolves it and the rest copy that response value (q4: 3,060-3,120
/// against 4,450, same machine and run), kept per request by the selection's place in the
/// query document and the run's id: the same selection of the same run resolves to the same
/// value within one request (variables and directives are fixed per request), and
/// `CollectorRun`'s fields cannot fail, so a copy never hides an error.
pub struct SharedRun(Shared);

enum Shared {
    /// Found already resolved by [`load_run`].
    Resolved(Arc<Value>),
    /// Read through the loader: resolved here unless a row before has done it meanwhile.
    Run(CollectorRun),
}

impl RequestRuns {
    /// The selection's address is its identity: the document outlives the request, and the
    /// field a resolver sees (`Context::item`) is the one its value is resolved with.
    fn key(field: &Positioned<Field>, run: i64) -> (usize, i64) {
        (std::ptr::from_ref(field) as usize, run)
    }

    fn resolved(&self, field: &Positioned<Field>, run: i64) -> Option<Arc<Value>> {
        // An insert is whole or absent, so a lock poisoned elsewhere still holds good values.
        self.resolved
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&Self::key(field, run))
            .cloned()
    }

    fn keep_resolved(&self, field: &Positioned<Field>, run: i64, value: Arc<Value>) {
        self.resolved
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(Self::key(field, run), value);
    }
}

impl OutputType for SharedRun {
    fn type_name() -> Cow<'static, str> {
        CollectorRun::type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        CollectorRun::create_type_info(registry)
    }

    async fn resolve(
        &self,
        ctx: &ContextSelectionSet<'_>,
        field: &Positioned<Field>,
    ) -> ServerResult<Value> {
        let run = match &self.0 {
            Shared::Resolved(value) => return Ok(Value::clone(value)),
            Shared::Run(run) => run,
        };
        let runs = ctx
            .data::<RequestRuns>()
            .map_err(|e| e.into_server_error(field.pos))?;
        if let Some(value) = runs.resolved(field, run.0.id) {
            return Ok(Value::clone(&value));
        }
        let value = run.resolve(ctx, field).await?;
        runs.keep_resolved(field, run.0.id, Arc::new(cheap_to_copy(value.clone())));
        Ok(value)
    }
}

/// `value` with its strings held as shared names: the rows after the first copy it, and a
/// name is copied by a reference count where a string is allocated and copied (bench q4:
/// four allocations fewer a row). A name serializes as the same JSON string.
fn cheap_to_copy(value: Value) -> Value {
    match value {
        Value::String(text) => Value::Enum(async_graphql::Name::new(text)),
        Value::List(items) => Value::List(items.into_iter().map(cheap_to_copy).collect()),
        Value::Object(fields) => Value::Object(
            fields
                .into_iter()
                .map(|(name, value)| (name, cheap_to_copy(value)))
                .collect(),
        ),
        other => other,
    }
}

/// Reads the runs of a page's rows in one query, when the page's nodes ask for `lastRun`,
/// and keeps them in the request's loader for those fields.
pub async fn prime_runs(
    ctx: &Context<'_>,
    ids: impl IntoIterator<Item = Option<i64>>,
) -> ApiResult<()> {
    if !super::page::node_fields(ctx).contains(&"lastRun") {
        return Ok(());
    }
    let mut ids: Vec<i64> = ids.into_iter().flatten().collect();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Ok(());
    }
    let loader = &request_runs(ctx)?.loader;
    let runs = loader.loader().load(&ids).await?;
    loader.feed_many(runs).await;
    Ok(())
}

/// Narrows `collectorRuns`.
#[derive(InputObject, Default, Debug)]
pub struct CollectorRunFilter {
    pub collector: Option<Vec<String>>,
    pub scope: Option<Vec<String>>,
    pub status: Option<Vec<RunStatus>>,
}

impl CollectorRunFilter {
    pub fn condition(&self) -> Condition {
        use collector_run::Column as C;
        let mut cond = Condition::all();
        if let Some(collectors) = &self.collector {
            cond = cond.add(C::Collector.is_in(collectors.iter().cloned()));
        }
        if let Some(scopes) = &self.scope {
            cond = cond.add(C::Scope.is_in(scopes.iter().cloned()));
        }
        if let Some(statuses) = &self.status {
            cond = cond.add(C::Status.is_in(
                super::enums::to_store::<_, entity::enums::RunStatus>(statuses),
            ));
        }
        cond
    }
}
