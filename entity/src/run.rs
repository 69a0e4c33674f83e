//! Run bookkeeping: the `collector_runs` row that every write of a run points at.

use crate::collector_run;
use crate::enums::RunStatus;
use crate::error::StoreError;
use crate::write::WriteCounts;
use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, DatabaseConnection, EntityTrait};
use serde_json::json;

/// How many provider request ids a run keeps: enough for a support ticket, bounded so a
/// huge organization cannot bloat the row.
pub const MAX_REQUEST_IDS: usize = 50;

/// Opens a run in status `running`. Like every bookkeeping write, in a transaction begun by
/// [`crate::db::begin`], so a pooled connection the server ended is not the end of it.
pub async fn start_run(
    db: &DatabaseConnection,
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
    let txn = crate::db::begin(db).await?;
    let run = run.insert(&txn).await?;
    crate::db::commit(txn).await?;
    Ok(run)
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
pub async fn finish_run(
    db: &DatabaseConnection,
    run_id: i64,
    outcome: RunOutcome,
    at: DateTime<Utc>,
) -> Result<collector_run::Model, StoreError> {
    let mut request_ids = outcome.request_ids;
    request_ids.truncate(MAX_REQUEST_IDS);
    let c = Recorded::from(outcome.counts);
    let run = collector_run::ActiveModel {
        id: Set(run_id),
        finished_at: Set(Some(at)),
        status: Set(outcome.status),
        seen: Set(c.seen),
        created: Set(c.created),
        updated: Set(c.updated),
        unchanged: Set(c.unchanged),
        removed: Set(c.removed),
        pages: Set(to_i64(outcome.pages)),
        request_ids: Set(json!(request_ids)),
        error: Set(outcome.error),
        ..Default::default()
    };
    let txn = crate::db::begin(db).await?;
    let run = collector_run::Entity::update(run).exec(&txn).await?;
    crate::db::commit(txn).await?;
    Ok(run)
}

/// `run` as `outcome` would close it at `at`: what [`finish_run`] records, for a summary
/// line when it cannot be recorded.
pub fn closed(
    run: &collector_run::Model,
    outcome: &RunOutcome,
    at: DateTime<Utc>,
) -> collector_run::Model {
    let c = Recorded::from(outcome.counts);
    collector_run::Model {
        finished_at: Some(at),
        status: outcome.status,
        seen: c.seen,
        created: c.created,
        updated: c.updated,
        unchanged: c.unchanged,
        removed: c.removed,
        pages: to_i64(outcome.pages),
        error: outcome.error.clone(),
        ..run.clone()
    }
}

/// A run's counts as its row keeps them: restores count as updates.
struct Recorded {
    seen: i64,
    created: i64,
    updated: i64,
    unchanged: i64,
    removed: i64,
}

impl From<WriteCounts> for Recorded {
    fn from(c: WriteCounts) -> Self {
        Self {
            seen: to_i64(c.seen()),
            created: to_i64(c.created),
            updated: to_i64(c.updated + c.restored),
            unchanged: to_i64(c.unchanged),
            removed: to_i64(c.removed),
        }
    }
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Records how far a running run has got (its pages and counts so far), so that a slow run
/// can be told from a stuck one while it goes on. A finished run is left alone.
pub async fn record_progress(
    db: &DatabaseConnection,
    run_id: i64,
    counts: WriteCounts,
    pages: u64,
) -> Result<(), StoreError> {
    use collector_run::Column as C;
    use sea_orm::{ColumnTrait, QueryFilter, sea_query::Expr};
    let c = Recorded::from(counts);
    let txn = crate::db::begin(db).await?;
    collector_run::Entity::update_many()
        .col_expr(C::Pages, Expr::value(to_i64(pages)))
        .col_expr(C::Seen, Expr::value(c.seen))
        .col_expr(C::Created, Expr::value(c.created))
        .col_expr(C::Updated, Expr::value(c.updated))
        .col_expr(C::Unchanged, Expr::value(c.unchanged))
        .filter(C::Id.eq(run_id))
        .filter(C::Status.eq(RunStatus::Running))
        .exec(&txn)
        .await?;
    crate::db::commit(txn).await?;
    Ok(())
}

/// The error recorded on a run closed by [`close_abandoned`].
pub const ABANDONED: &str =
    "abandoned: the process ended (or lost the database) before it could close the run";

/// Closes as failed the runs of `collector` and `scope` still `running` that started before
/// `started_before`: their process is gone (it could not close them, for example because the
/// database went away first). The caller holds the scope's lock, or knows from the run
/// deadline that no such run can still be going. Returns the runs closed.
pub async fn close_abandoned(
    db: &DatabaseConnection,
    collector: &str,
    scope: &str,
    started_before: DateTime<Utc>,
    at: DateTime<Utc>,
) -> Result<Vec<collector_run::Model>, StoreError> {
    use collector_run::Column as C;
    use sea_orm::{ColumnTrait, QueryFilter, sea_query::Expr};
    let stale = collector_run::Entity::find()
        .filter(C::Collector.eq(collector))
        .filter(C::Scope.eq(scope))
        .filter(C::Status.eq(RunStatus::Running))
        .filter(C::StartedAt.lt(started_before))
        .all(db)
        .await?;
    if stale.is_empty() {
        return Ok(stale);
    }
    let ids: Vec<i64> = stale.iter().map(|run| run.id).collect();
    let txn = crate::db::begin(db).await?;
    collector_run::Entity::update_many()
        .col_expr(C::Status, Expr::value(RunStatus::Failed.as_str()))
        .col_expr(C::FinishedAt, Expr::value(at))
        .col_expr(C::Error, Expr::value(ABANDONED))
        .filter(C::Id.is_in(ids))
        .filter(C::Status.eq(RunStatus::Running))
        .exec(&txn)
        .await?;
    crate::db::commit(txn).await?;
    Ok(stale
        .into_iter()
        .map(|run| collector_run::Model {
            status: RunStatus::Failed,
            finished_at: Some(at),
            error: Some(ABANDONED.to_owned()),
            ..run
        })
        .collect())
}

/// The one scope `collector` has opened before, if it has opened exactly one: where a run
/// that fails before it can tell its scope most likely belongs.
pub async fn only_scope(
    db: &DatabaseConnection,
    collector: &str,
) -> Result<Option<String>, StoreError> {
    use collector_run::Column as C;
    use sea_orm::{ColumnTrait, QueryFilter, QuerySelect};
    let scopes: Vec<String> = collector_run::Entity::find()
        .select_only()
        .column(C::Scope)
        .distinct()
        .filter(C::Collector.eq(collector))
        .filter(C::Pages.gt(0))
        .limit(2)
        .into_tuple()
        .all(db)
        .await?;
    Ok(match scopes.as_slice() {
        [only] => Some(only.clone()),
        _ => None,
    })
}
