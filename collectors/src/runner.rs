//! The runner: everything around a source, once for all of them. It opens the run, holds the
//! scope's lock, writes every page through `entity::write` as it arrives, lets the source
//! recheck what a complete read did not see and removes the rest (and only then), reads the
//! source's enrichments within their budget (`crate::enrich`), closes the run and logs one
//! summary line.

use crate::enrich::{DEADLINE_SHARE, Outcome as EnrichOutcome, enrich};
use crate::filter::Exclusions;
use crate::lock;
use crate::source::Source;
use chrono::Utc;
use entity::StoreError;
use entity::collector_run;
use entity::enums::{AssetType, RunStatus};
use entity::run::{
    MAX_REQUEST_IDS, RunOutcome, close_abandoned, closed as closed_run, finish_run, only_scope,
    record_progress, start_run,
};
use entity::write::{
    WriteContext, WriteCounts, remove_unseen, unseen_accounts, upsert_accounts, upsert_endpoints,
};
use sea_orm::DatabaseConnection;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::{Instant, timeout_at};
use tracing::Instrument;

/// The collectors' version, recorded on every run.
const VERSION: &str = env!("CARGO_PKG_VERSION");

/// How a run is bounded, filtered, traced and stopped.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The whole run, opening included, must end by then; a run cut short is partial.
    pub deadline: Duration,
    pub exclusions: Exclusions,
    /// A W3C `traceparent` (the `TRACEPARENT` environment variable of the process) whose
    /// trace the run joins; without one the run starts a trace of its own.
    pub traceparent: Option<String>,
    /// Raised on SIGTERM: the run stops reading, closes as failed and removes nothing.
    pub stop: StopSignal,
    /// How often a run logs a progress line.
    pub progress_every: Duration,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            deadline: Duration::from_secs(270),
            exclusions: Exclusions::default(),
            traceparent: None,
            stop: StopSignal::default(),
            progress_every: Duration::from_secs(30),
        }
    }
}

/// A stop request shared by every run of a process, with the reason it was made.
#[derive(Debug, Clone)]
pub struct StopSignal(Arc<watch::Sender<Option<&'static str>>>);

impl Default for StopSignal {
    fn default() -> Self {
        Self(Arc::new(watch::channel(None).0))
    }
}

impl StopSignal {
    /// Asks every run to stop; the first reason given is kept.
    pub fn stop(&self, reason: &'static str) {
        self.0.send_if_modified(|current| {
            let first = current.is_none();
            if first {
                *current = Some(reason);
            }
            first
        });
    }

    /// The reason, once a stop was asked for.
    pub fn reason(&self) -> Option<&'static str> {
        *self.0.borrow()
    }

    /// Resolves with the reason when a stop is asked for.
    async fn requested(&self) -> &'static str {
        let mut receiver = self.0.subscribe();
        match receiver.wait_for(Option::is_some).await {
            Ok(reason) => reason.unwrap_or("stopped"),
            // The sender lives in `self`, so it cannot be gone while we wait.
            Err(_) => std::future::pending().await,
        }
    }
}

/// Why the runner could not even record what happened (the database is unusable).
#[derive(Debug, thiserror::Error)]
#[error("cannot record the run: {0}")]
pub struct RunnerError(#[from] pub StoreError);

/// Runs `source` to the end (or the deadline) and returns the closed run. Everything it
/// logs carries the collector and scope (one span per run).
pub async fn run<S: Source>(
    db: &DatabaseConnection,
    source: &mut S,
    options: &RunOptions,
) -> Result<collector_run::Model, RunnerError> {
    let collector = source.collector();
    // At error level so the span, and the trace id on every line inside it, exists whatever
    // level `RUST_LOG` lets through.
    let span = tracing::error_span!(
        "collector_run",
        collector,
        scope = tracing::field::Empty,
        trace_id = tracing::field::Empty
    );
    runtime::telemetry::join_trace(&span, options.traceparent.as_deref());
    run_in_span(db, source, options).instrument(span).await
}

async fn run_in_span<S: Source>(
    db: &DatabaseConnection,
    source: &mut S,
    options: &RunOptions,
) -> Result<collector_run::Model, RunnerError> {
    let collector = source.collector();
    let deadline = Instant::now() + options.deadline;
    let span = tracing::Span::current();

    // Biased towards the stop: a process already stopping must not start reading.
    let planned = source.planned_scope();
    let opened = tokio::select! {
        biased;
        reason = options.stop.requested() => {
            let error = format!("{reason} while connecting; nothing was read");
            return failed_before_start(db, collector, planned, error).await;
        }
        opened = timeout_at(deadline, source.open()) => opened,
    };
    let scope = match opened {
        Ok(Ok(scope)) => scope,
        Ok(Err(err)) => return failed_before_start(db, collector, planned, err.to_string()).await,
        Err(_) => {
            return failed_before_start(
                db,
                collector,
                planned,
                "deadline exceeded while connecting".into(),
            )
            .await;
        }
    };
    span.record("scope", scope.as_str());

    let Some(lock) = lock::try_acquire(db, collector, &scope).await? else {
        let started = Utc::now();
        let run = start_run(db, collector, VERSION, &scope, started).await?;
        let outcome = RunOutcome {
            status: RunStatus::Skipped,
            counts: WriteCounts::default(),
            pages: 0,
            request_ids: Vec::new(),
            error: Some("another run of this collector and scope holds the lock".into()),
        };
        return close(db, &run, outcome).await;
    };
    // Holding the lock (PostgreSQL), no other run of this scope is alive; without one
    // (SQLite), a run that started a whole deadline ago cannot still be going.
    let now = Utc::now();
    let started_before = if lock.is_held() {
        now
    } else {
        now - chrono::Duration::from_std(options.deadline).unwrap_or(chrono::Duration::MAX)
    };
    for abandoned in close_abandoned(db, collector, &scope, started_before, now).await? {
        summary(&abandoned);
    }
    let run = run_locked(db, source, options, &scope, deadline).await;
    // Released here, not when the pool gets round to the dropped transaction: the next run
    // of the same scope in this process must find the lock free.
    lock.release().await;
    run
}

/// The run proper, while the scope's lock is held.
async fn run_locked<S: Source>(
    db: &DatabaseConnection,
    source: &mut S,
    options: &RunOptions,
    scope: &str,
    deadline: Instant,
) -> Result<collector_run::Model, RunnerError> {
    let collector = source.collector();
    let started = Utc::now();
    let run = start_run(db, collector, VERSION, scope, started).await?;
    let mut written = Written {
        db,
        run: run.id,
        scope,
        source: format!("{collector}/{VERSION}"),
        exclusions: &options.exclusions,
        counts: WriteCounts::default(),
        pages: 0,
        request_ids: Vec::new(),
        left_out: 0,
    };

    let began = Instant::now();
    let mut ticker =
        tokio::time::interval_at(began + options.progress_every, options.progress_every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let owns = source.owns();
    let read = timeout_at(deadline, async {
        loop {
            // A progress line at every tick, also while the source is waiting on a slow or
            // throttled provider, so a slow run is told from a stuck one.
            let next = source.next_page();
            tokio::pin!(next);
            let page = loop {
                tokio::select! {
                    page = &mut next => break page?,
                    _ = ticker.tick() => progress(written.pages, &written.counts, began.elapsed()),
                }
            };
            let Some(page) = page else { break };
            written.page(page).await?;
        }
        // Before anything is removed, the source may still find what its listing missed.
        if owns.accounts {
            let unseen = unseen_accounts(db, run.id, scope)
                .await
                .map_err(ReadError::AfterRead)?;
            if !unseen.is_empty() {
                let found = source.recheck(unseen).await?;
                if !found.accounts.is_empty() {
                    written.page(found).await?;
                }
            }
        }
        Ok::<(), ReadError>(())
    });
    // A stop drops the read between two awaits: a page being written is rolled back whole.
    // Biased towards the stop, so a read that ends as the stop arrives removes nothing.
    let (read, stopped) = tokio::select! {
        biased;
        reason = options.stop.requested() => (Ok(Ok(())), Some(reason)),
        read = read => (read, None),
    };
    let Written {
        mut counts,
        pages,
        request_ids,
        left_out,
        ..
    } = written;

    let error = match read {
        _ if stopped.is_some() => Some(format!(
            "{} after {pages} page(s); nothing was removed",
            stopped.unwrap_or("stopped")
        )),
        Ok(Ok(())) => None,
        Ok(Err(ReadError::Collect(err))) => Some(err.to_string()),
        Ok(Err(ReadError::Store(err))) => {
            tracing::error!(error = %err, "writing a page failed");
            Some(err.public_message())
        }
        Ok(Err(ReadError::AfterRead(err))) => {
            tracing::error!(error = %err, "finding what the read did not see failed");
            Some(format!("read completely, but {}", err.public_message()))
        }
        Err(_) => Some(format!(
            "deadline of {}s exceeded",
            options.deadline.as_secs()
        )),
    };
    let status = match (&error, pages) {
        (None, _) => RunStatus::Succeeded,
        // A stopped run is a failure whatever it wrote: the operator must see it.
        (Some(_), _) if stopped.is_some() => RunStatus::Failed,
        (Some(_), 0) => RunStatus::Failed,
        (Some(_), _) => RunStatus::Partial,
    };
    let (status, error) = if status == RunStatus::Succeeded {
        // Only a complete read may decide that something is gone.
        match remove_unseen_of(db, owns, run.id, scope, &mut counts.removed).await {
            Ok(()) => (status, error),
            Err(err) => {
                tracing::error!(error = %err, "removing what the run did not see failed");
                (
                    RunStatus::Partial,
                    Some(format!("read completely, but {}", err.public_message())),
                )
            }
        }
    } else {
        (status, error)
    };
    if status == RunStatus::Succeeded
        && let Some(enrichment) = source.enrichment()
    {
        let until = (began + options.deadline.mul_f64(DEADLINE_SHARE)).min(deadline);
        // No read starts after `until`; the run's deadline also bounds the reads in flight
        // then (retries of a throttled one) and the last write.
        let enriching = timeout_at(
            deadline,
            enrich(db, source, enrichment, run.id, scope, until, &mut ticker),
        );
        let enriched = tokio::select! {
            biased;
            reason = options.stop.requested() => Err(reason),
            enriched = enriching => Ok(enriched),
        };
        let kind = enrichment.as_str();
        match enriched {
            // The run's counts stay the listing's; what the enrichment changed is in history
            // and in its own line.
            Ok(Ok(Ok(outcome))) => enriched_line(enrichment, &outcome),
            Ok(Ok(Err(err))) => {
                tracing::warn!(error = %err, enrichment = kind, "recording an enrichment failed; the next run reads it again");
            }
            Ok(Err(_)) => {
                tracing::warn!(
                    enrichment = kind,
                    "the enrichment reached the run's deadline; the next run reads on"
                );
            }
            Err(reason) => tracing::warn!(reason, enrichment = kind, "enrichment stopped"),
        }
    }
    if left_out > 0 {
        tracing::info!(left_out, "accounts left out by exclusions");
    }
    let outcome = RunOutcome {
        status,
        counts,
        pages,
        request_ids,
        error,
    };
    close(db, &run, outcome).await
}

/// What a run wrote so far, and how it writes a page.
struct Written<'a> {
    db: &'a DatabaseConnection,
    run: i64,
    scope: &'a str,
    /// Collector and version, stamped on every account.
    source: String,
    exclusions: &'a Exclusions,
    counts: WriteCounts,
    pages: u64,
    request_ids: Vec<String>,
    /// Accounts left out by exclusions.
    left_out: u64,
}

impl Written<'_> {
    /// Writes a page in one transaction and records the run's progress.
    async fn page(&mut self, page: crate::source::Page) -> Result<(), ReadError> {
        let ctx = WriteContext::run(self.run, Utc::now());
        let mut accounts = page.accounts;
        let before = accounts.len();
        accounts.retain(|a| self.exclusions.keeps(a));
        self.left_out += (before - accounts.len()) as u64;
        // What a source reads belongs to its scope: that is what removal is decided by.
        for account in &mut accounts {
            self.scope.clone_into(&mut account.scope);
            account.source.clone_from(&self.source);
        }
        let mut endpoints = page.endpoints;
        for endpoint in &mut endpoints {
            self.scope.clone_into(&mut endpoint.scope);
        }
        self.counts.add(
            upsert_accounts(self.db, &ctx, accounts)
                .await
                .map_err(ReadError::Store)?,
        );
        self.counts.add(
            upsert_endpoints(self.db, &ctx, endpoints)
                .await
                .map_err(ReadError::Store)?,
        );
        self.pages += 1;
        let room = MAX_REQUEST_IDS.saturating_sub(self.request_ids.len());
        self.request_ids
            .extend(page.request_ids.into_iter().take(room));
        // Readable in `collectorRuns` and `/metrics` while the run goes on; progress that
        // cannot be recorded is not worth failing the run for.
        if let Err(err) = record_progress(self.db, self.run, self.counts, self.pages).await {
            tracing::warn!(error = %err, "recording the run's progress failed");
        }
        Ok(())
    }
}

/// The line that says how far a run's enrichment got.
fn enriched_line(enrichment: entity::enrich::Enrichment, outcome: &EnrichOutcome) {
    tracing::info!(
        enrichment = enrichment.as_str(),
        due = outcome.due,
        read = outcome.read,
        changed = outcome.changed,
        error = outcome.error.as_deref(),
        "collector run enrichment finished"
    );
    if let Some(error) = &outcome.error {
        tracing::warn!(
            enrichment = enrichment.as_str(),
            error,
            "an enrichment read failed; the next run reads it again"
        );
    }
}

/// The line an operator watches while a run goes on.
fn progress(pages: u64, counts: &WriteCounts, elapsed: Duration) {
    tracing::info!(
        pages,
        seen = counts.seen(),
        created = counts.created,
        seconds = elapsed.as_secs(),
        "collector run progress"
    );
}

/// Marks removed what a complete read of `scope` did not see, in the tables the source
/// speaks for, counting into `removed` each table's removals as they commit.
async fn remove_unseen_of(
    db: &DatabaseConnection,
    owns: crate::source::Owns,
    run: i64,
    scope: &str,
    removed: &mut u64,
) -> Result<(), StoreError> {
    let at = Utc::now();
    if owns.accounts {
        *removed += remove_unseen(db, run, at, AssetType::CloudAccount, scope).await?;
    }
    if owns.endpoints {
        *removed += remove_unseen(db, run, at, AssetType::MonitoringEndpoint, scope).await?;
    }
    Ok(())
}

/// How long closing a run keeps trying while the database is away: a restart or a
/// fail-over takes seconds, and the run's outcome is worth waiting for.
const CLOSE_PATIENCE: Duration = Duration::from_secs(30);

/// Records the run's outcome and logs its summary line. While the database is unreachable
/// the outcome is retried with backoff for [`CLOSE_PATIENCE`]; if it still cannot be
/// recorded, the summary is logged from what the run knows, and the next run of the scope
/// closes the row as abandoned ([`close_abandoned`]).
async fn close(
    db: &DatabaseConnection,
    run: &collector_run::Model,
    outcome: RunOutcome,
) -> Result<collector_run::Model, RunnerError> {
    use backon::{ExponentialBuilder, Retryable};
    let attempt = || finish_run(db, run.id, outcome.clone(), Utc::now());
    let closed = attempt
        .retry(
            ExponentialBuilder::default()
                .with_min_delay(Duration::from_millis(250))
                .with_max_delay(Duration::from_secs(5))
                .with_total_delay(Some(CLOSE_PATIENCE))
                .without_max_times()
                .with_jitter(),
        )
        .when(|err| matches!(err, StoreError::Connect(_) | StoreError::Db(_)))
        .notify(|err, wait| {
            tracing::warn!(error = %err, retry_in = ?wait, "recording the run's outcome failed; retrying");
        })
        .await;
    match closed {
        Ok(run) => {
            summary(&run);
            Ok(run)
        }
        Err(err) => {
            summary(&closed_run(run, &outcome, Utc::now()));
            Err(RunnerError(err))
        }
    }
}

enum ReadError {
    Collect(crate::source::CollectError),
    Store(StoreError),
    /// The source was read completely, but what it did not see could not be found.
    AfterRead(StoreError),
}

impl From<crate::source::CollectError> for ReadError {
    fn from(err: crate::source::CollectError) -> Self {
        Self::Collect(err)
    }
}

/// A source that could not even say what it reads still leaves a failed run behind, so the
/// freshness signals see the failure.
///
/// It is recorded in the scope the configuration names, else in the one scope the collector
/// has read before (an AWS organization is known only once it answers), and in `unknown`
/// only when neither exists.
async fn failed_before_start(
    db: &DatabaseConnection,
    collector: &'static str,
    planned: Option<String>,
    error: String,
) -> Result<collector_run::Model, RunnerError> {
    let scope = match planned {
        Some(scope) => scope,
        None => only_scope(db, collector)
            .await?
            .unwrap_or_else(|| "unknown".into()),
    };
    tracing::Span::current().record("scope", scope.as_str());
    let run = start_run(db, collector, VERSION, &scope, Utc::now()).await?;
    let outcome = RunOutcome {
        status: RunStatus::Failed,
        counts: WriteCounts::default(),
        pages: 0,
        request_ids: Vec::new(),
        error: Some(error),
    };
    close(db, &run, outcome).await
}

/// The one line per run that operators grep for; a run that did not succeed adds an error
/// line, so alerting on `level=ERROR` catches it.
fn summary(run: &collector_run::Model) {
    let seconds = run
        .finished_at
        .map(|end| (end - run.started_at).as_seconds_f64());
    tracing::info!(
        run = run.id,
        status = run.status.as_str(),
        seen = run.seen,
        created = run.created,
        updated = run.updated,
        unchanged = run.unchanged,
        removed = run.removed,
        pages = run.pages,
        seconds,
        error = run.error.as_deref(),
        "collector run finished"
    );
    if !matches!(run.status, RunStatus::Succeeded | RunStatus::Skipped) {
        tracing::error!(
            run = run.id,
            status = run.status.as_str(),
            error = run.error.as_deref(),
            "collector run did not succeed"
        );
    }
}
