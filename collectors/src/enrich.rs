//! The runner's side of enrichments (`entity::enrich`): what a source reads per asset apart
//! from its listing (AWS account tags). After a complete read, the assets the run saw are
//! enriched stalest first, never-read ones before all others, in batches written as they
//! come, until a share of the run's deadline is spent. Running out of that time is not a
//! failure: the run read its listing completely, and the next run goes on where this one
//! stopped, so a large organization's enrichments are all read within a few runs.

use crate::source::Source;
use chrono::Utc;
use entity::StoreError;
use entity::enrich::{Enrichment, due, record};
use entity::write::WriteContext;
use tokio::time::{Instant, Interval};

/// The share of a run's deadline, counted from its start, within which enrichments are
/// read; the rest is left for the last batch's write and closing the run.
pub const DEADLINE_SHARE: f64 = 0.8;

/// Assets asked about at a time; each batch is written as one transaction while the next
/// is read. The source's reads drain at the end of each batch, so batches are large.
const BATCH: usize = 500;

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
    db: &sea_orm::DatabaseConnection,
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
    // Each batch is written while the next one is read.
    let mut unwritten = Vec::new();
    for batch in due.chunks(BATCH) {
        if Instant::now() >= until {
            break;
        }
        let read = async {
            let read = source.enrich(batch.to_vec(), until);
            tokio::pin!(read);
            loop {
                tokio::select! {
                    read = &mut read => break read,
                    _ = ticker.tick() => tracing::info!(
                        enrichment = enrichment.as_str(),
                        due = outcome.due,
                        read = outcome.read,
                        "collector run enrichment progress"
                    ),
                }
            }
        };
        let (written, read) = tokio::join!(write(db, run_id, std::mem::take(&mut unwritten)), read);
        outcome.changed += written?;
        outcome.read += read.read.len() as u64;
        unwritten = read.read;
        if let Some(err) = read.error {
            outcome.error = Some(err.to_string());
            break;
        }
    }
    outcome.changed += write(db, run_id, unwritten).await?;
    Ok(outcome)
}

/// Records what a batch read, in one transaction; how many values changed.
async fn write(
    db: &sea_orm::DatabaseConnection,
    run_id: i64,
    read: Vec<entity::enrich::Enriched>,
) -> Result<u64, StoreError> {
    if read.is_empty() {
        return Ok(0);
    }
    let ctx = WriteContext::run(run_id, Utc::now());
    Ok(record(db, &ctx, read).await?.updated)
}
