//! Run bookkeeping: the `collector_runs` row that every write of a run points at.

use crate::collector_run;
use crate::enums::RunStatus;
use crate::error::StoreError;
use crate::write::WriteCounts;
use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ConnectionTrait, EntityTrait};
use serde_json::json;

/// How many provider request ids a run keeps: enough for a support ticket, bounded so a
/// huge organization cannot bloat the row.
pub const MAX_REQUEST_IDS: usize = 50;

/// Opens a run in status `running`.
pub async fn start_run<C: ConnectionTrait>(
    db: &C,
    collector: &str,
    version: &str,
    scope: &str,
    at: DateTime<Utc>,
) -> Result<collector_run::Model, StoreError> {
    let run = collector_run::ActiveModel {
        collector: Set(collector.to_owned()),
        version: Set(version.to_owned()),
        scope: Set(scope.to_owned()),
        started_at: Set(at),
        finished_at: Set(None),
        status: Set(RunStatus::Running),
        seen: Set(0),
        created: Set(0),
        updated: Set(0),
        unchanged: Set(0),
        removed: Set(0),
        pages: Set(0),
        request_ids: Set(json!([])),
        error: Set(None),
        ..Default::default()
    };
    Ok(run.insert(db).await?)
}

/// How a run ended.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    pub status: RunStatus,
    pub counts: WriteCounts,
    pub pages: u64,
    pub request_ids: Vec<String>,
    pub error: Option<String>,
}

/// Closes a run with its outcome. Request ids beyond [`MAX_REQUEST_IDS`] are dropped.
///
/// A finished run is final: nothing writes or deletes it again, and the API keeps finished
/// runs across requests on that promise (`api::graphql::run::FinishedRuns`).
pub async fn finish_run<C: ConnectionTrait>(
    db: &C,
    run_id: i64,
    outcome: RunOutcome,
    at: DateTime<Utc>,
) -> Result<collector_run::Model, StoreError> {
    let mut request_ids = outcome.request_ids;
    request_ids.truncate(MAX_REQUEST_IDS);
    let c = outcome.counts;
    let seen = c.created + c.updated + c.restored + c.unchanged;
    let run = collector_run::ActiveModel {
        id: Set(run_id),
        finished_at: Set(Some(at)),
        status: Set(outcome.status),
        seen: Set(to_i64(seen)),
        created: Set(to_i64(c.created)),
        updated: Set(to_i64(c.updated + c.restored)),
        unchanged: Set(to_i64(c.unchanged)),
        removed: Set(to_i64(c.removed)),
        pages: Set(to_i64(outcome.pages)),
        request_ids: Set(json!(request_ids)),
        error: Set(outcome.error),
        ..Default::default()
    };
    Ok(collector_run::Entity::update(run).exec(db).await?)
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
