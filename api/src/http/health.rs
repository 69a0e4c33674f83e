//! Liveness and readiness. `/healthz` never touches the database, so a slow database does not
//! get the pod restarted; `/readyz` takes it out of the Service until the database answers
//! and carries every migration this build expects.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use migration::{Migrator, MigratorTrait};
use sea_orm::DatabaseConnection;
use serde_json::{Value, json};

pub async fn healthz() -> &'static str {
    "ok"
}

pub async fn readyz(State(db): State<DatabaseConnection>) -> (StatusCode, Json<Value>) {
    if let Err(err) = db.ping().await {
        tracing::warn!(error = %err, "readiness: database unreachable");
        return not_ready("database unreachable");
    }
    match Migrator::get_pending_migrations_read_only(&db).await {
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
