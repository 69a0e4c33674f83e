//! Liveness and readiness. `/healthz` never touches the database, so a slow database does not
//! get the pod restarted; `/readyz` takes it out of the Service until the database answers
//! and carries every migration this build expects, and again once shutdown has begun.

use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use migration::{Migrator, MigratorTrait};
use sea_orm::DatabaseConnection;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Set when shutdown begins: readiness fails from then on, so load balancers stop sending
/// new requests while in-flight ones finish.
#[derive(Debug, Clone, Default)]
pub struct Draining(Arc<AtomicBool>);

impl Draining {
    pub fn start(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    pub fn is_draining(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

pub async fn healthz() -> &'static str {
    "ok"
}

/// How long `/readyz` may take before it answers "not ready": below the probe's own timeout
/// (Kubernetes' default is 1 s), so a database that hangs fails the probe with a reason
/// instead of the pool's acquire timeout.
#[derive(Debug, Clone, Copy)]
pub struct ReadyTimeout(pub Duration);

pub async fn readyz(
    State(db): State<DatabaseConnection>,
    Extension(draining): Extension<Draining>,
    Extension(ReadyTimeout(timeout)): Extension<ReadyTimeout>,
) -> (StatusCode, Json<Value>) {
    if draining.is_draining() {
        return not_ready("shutting down");
    }
    match tokio::time::timeout(timeout, check(&db)).await {
        Ok(answer) => answer,
        Err(_) => {
            tracing::warn!(
                timeout_ms = timeout.as_millis() as u64,
                "readiness: the database did not answer in time"
            );
            not_ready("database did not answer in time")
        }
    }
}

async fn check(db: &DatabaseConnection) -> (StatusCode, Json<Value>) {
    if let Err(err) = db.ping().await {
        tracing::warn!(error = %err, "readiness: database unreachable");
        return not_ready("database unreachable");
    }
    match Migrator::get_pending_migrations_read_only(db).await {
        Ok(pending) if pending.is_empty() => (StatusCode::OK, Json(json!({ "status": "ready" }))),
        Ok(pending) => {
            tracing::warn!(pending = pending.len(), "readiness: migrations pending");
            not_ready("database schema is not migrated")
        }
        Err(err) => {
            tracing::warn!(error = %err, "readiness: cannot read migration status");
            not_ready("cannot read migration status")
        }
    }
}

fn not_ready(reason: &str) -> (StatusCode, Json<Value>) {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(json!({ "status": "unavailable", "reason": reason })),
    )
}
