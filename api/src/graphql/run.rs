//! `CollectorRun`: provenance. Assets resolve their last run through the request's
//! [`RequestRuns`] loader: one query per batch of runs, not per asset, and none at all for
//! a page that primed it with its rows' runs, or whose runs have all finished and were read
//! before ([`FinishedRuns`]).

use super::enums::RunStatus;
use super::id::{NodeType, encode};
use crate::error::{ApiError, ApiResult};
use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};
use async_graphql::{Context, ID, InputObject, Object};
use chrono::{DateTime, Utc};
use entity::collector_run;
use lru::LruCache;
use sea_orm::{ColumnTrait, Condition, DatabaseConnection, EntityTrait, QueryFilter};
use serde::Deserialize;
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
/// Without this every page asking for `lastRun` read its runs with a statement of its own.
/// Bounded, least recently used first out, so that years of runs named by old history cannot
/// grow the process.
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
}

impl RequestRuns {
    pub fn new(db: DatabaseConnection, finished: Arc<FinishedRuns>) -> Self {
        Self {
            loader: DataLoader::with_cache(
                RunLoader { db, finished },
                tokio::spawn,
                HashMapCache::default(),
            ),
        }
    }
}

fn request_runs<'a>(ctx: &Context<'a>) -> ApiResult<&'a RequestRuns> {
    ctx.data::<RequestRuns>().map_err(|_| ApiError::Internal)
}

/// A row's run field (`lastRun`, `run`), through the request's loader.
pub async fn load_run(ctx: &Context<'_>, id: Option<i64>) -> ApiResult<Option<CollectorRun>> {
    let Some(id) = id else { return Ok(None) };
    Ok(request_runs(ctx)?
        .loader
        .load_one(id)
        .await?
        .map(CollectorRun))
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
