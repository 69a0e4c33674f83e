//! The runner's side of enrichments (`entity::enrich`): what a source reads per asset apart
//! from its listing (AWS account tags). After a complete read, the assets the run saw are
//! enriched stalest first, never-read ones before all others, in batches written as they
//! come, until a share of the run's deadline is spent. Running out of that time is not a
//! failure: the run read its listing completely, and the next run goes on where this one
//! stopped, so a large organization's enrichments are all read within a few runs.

use crate::source::Source;
use chrono::Utc;
use entity::StoreError;
use entity::enrich::{Enriched, Enrichment, due, record};
use entity::write::WriteContext;
use futures::StreamExt;
use sea_orm::DatabaseConnection;
use tokio::task::JoinHandle;
use tokio::time::{Instant, Interval};

/// The share of a run's deadline, counted from its start, within which enrichments are
/// read; the rest is left for the last batch's write and closing the run.
pub const DEADLINE_SHARE: f64 = 0.8;

/// Values written per transaction, each batch while the next is read.
const BATCH: usize = 100;

/// What one run's enrichment did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Assets due: every asset the run saw.
    pub due: u64,
    pub read: u64,
    /// Of those read, the ones whose value changed.
    pub changed: u64,
    /// Why reading stopped before the budget did, if something failed.
    pub error: Option<String>,
}

/// Reads `enrichment` for the assets run `run_id` saw in `scope`, stalest first, starting
/// no read after `until`; a progress line at every tick of `ticker`.
pub async fn enrich<S: Source>(
    db: &DatabaseConnection,
    source: &mut S,
    enrichment: Enrichment,
    run_id: i64,
    scope: &str,
    until: Instant,
    ticker: &mut Interval,
) -> Result<Outcome, StoreError> {
    let due = due(db, enrichment, run_id, scope).await?;
    let mut outcome = Outcome {
        due: due.len() as u64,
        ..Outcome::default()
    };
    let reads = source.enrich(due, until);
    tokio::pin!(reads);
    let mut batch = Vec::with_capacity(BATCH);
    // The batch being written, while reads go on.
    let mut writing: Option<JoinHandle<Result<u64, StoreError>>> = None;
    loop {
        let read = tokio::select! {
            read = reads.next() => read,
            _ = ticker.tick() => {
                tracing::info!(
                    enrichment = enrichment.as_str(),
                    due = outcome.due,
                    read = outcome.read,
                    "collector run enrichment progress"
                );
                continue;
            }
        };
        match read {
            Some(Ok(enriched)) => {
                outcome.read += 1;
                batch.push(enriched);
                if batch.len() < BATCH {
                    continue;
                }
            }
            Some(Err(err)) => {
                outcome.error = Some(err.to_string());
                break;
            }
            None => break,
        }
        if let Some(previous) = writing.take() {
            outcome.changed += joined(previous.await)?;
        }
        let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
        writing = Some(tokio::spawn(write(db.clone(), run_id, full)));
    }
    if let Some(previous) = writing.take() {
        outcome.changed += joined(previous.await)?;
    }
    outcome.changed += write(db.clone(), run_id, batch).await?;
    Ok(outcome)
}

/// A write task's result; a task that panicked is a failed write.
fn joined(
    result: Result<Result<u64, StoreError>, tokio::task::JoinError>,
) -> Result<u64, StoreError> {
    result.map_err(|e| {
        StoreError::Db(sea_orm::DbErr::Custom(format!(
            "writing a batch failed: {e}"
        )))
    })?
}

/// Records a batch, in one transaction; how many values changed.
async fn write(
    db: DatabaseConnection,
    run_id: i64,
    read: Vec<Enriched>,
) -> Result<u64, StoreError> {
    if read.is_empty() {
        return Ok(0);
    }
    let ctx = WriteContext::run(run_id, Utc::now());
    Ok(record(&db, &ctx, read).await?.updated)
}
