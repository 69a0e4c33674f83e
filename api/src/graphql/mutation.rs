//! The mutation root: people seeding and retiring monitoring endpoints. Both need an editor
//! credential and write through `entity::write`, so history names the person.

use super::db;
use super::endpoint::MonitoringEndpoint;
use super::endpoint_input::{UpsertMonitoringEndpointInput, valid_key};
use crate::auth::{Principal, Role};
use crate::error::{ApiError, ApiResult};
use async_graphql::{Context, Enum, Object, SimpleObject};
use chrono::Utc;
use entity::enums::AssetType;
use entity::monitoring_endpoint;
use entity::write::{WriteContext, remove, upsert_endpoints};
use sea_orm::{DatabaseConnection, EntityTrait};

/// What an upsert did.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteOutcome {
    Created,
    Updated,
    /// A retired endpoint was described again and is back.
    Restored,
    /// The endpoint already looked exactly like this.
    Unchanged,
}

#[derive(SimpleObject)]
pub struct UpsertMonitoringEndpointPayload {
    pub endpoint: MonitoringEndpoint,
    pub outcome: WriteOutcome,
}

#[derive(SimpleObject)]
pub struct RetireMonitoringEndpointPayload {
    pub endpoint: MonitoringEndpoint,
    /// False when it was already retired.
    pub retired: bool,
}

/// The caller, if its role is at least `role`.
fn require<'a>(ctx: &Context<'a>, role: Role) -> ApiResult<&'a Principal> {
    match ctx.data_opt::<Principal>() {
        None => Err(ApiError::Unauthenticated),
        Some(principal) if principal.role < role => Err(ApiError::Forbidden),
        Some(principal) => Ok(principal),
    }
}

async fn endpoint(db: &DatabaseConnection, id: &str) -> ApiResult<Option<MonitoringEndpoint>> {
    Ok(monitoring_endpoint::Entity::find_by_id(id.to_owned())
        .one(db)
        .await?
        .map(MonitoringEndpoint))
}

pub struct Mutation;

#[Object]
impl Mutation {
    /// Creates or updates a monitoring endpoint by hand (`origin: MANUAL`). Collectors later
    /// record its status and version but never change what is set here. Needs an editor.
    async fn upsert_monitoring_endpoint(
        &self,
        ctx: &Context<'_>,
        input: UpsertMonitoringEndpointInput,
    ) -> ApiResult<UpsertMonitoringEndpointPayload> {
        let actor = require(ctx, Role::Editor)?;
        let grants = ctx
            .data::<std::sync::Arc<entity::secret_ref::SecretGrants>>()
            .map_err(|_| ApiError::Internal)?;
        let record = input.into_record(grants)?;
        let id = record.id.clone();
        let db = db(ctx)?;
        let counts = upsert_endpoints(
            db,
            &WriteContext::actor(&actor.name, Utc::now()),
            vec![record],
        )
        .await?;
        let outcome = if counts.created > 0 {
            WriteOutcome::Created
        } else if counts.restored > 0 {
            WriteOutcome::Restored
        } else if counts.updated > 0 {
            WriteOutcome::Updated
        } else {
            WriteOutcome::Unchanged
        };
        tracing::info!(actor = %actor.name, endpoint = %id, ?outcome, "endpoint upserted");
        let endpoint = self::endpoint(db, &id).await?.ok_or(ApiError::Internal)?;
        Ok(UpsertMonitoringEndpointPayload { endpoint, outcome })
    }

    /// Marks an endpoint removed. History keeps it, and upserting it again restores it.
    /// `id` is the endpoint's key. Needs an editor.
    async fn retire_monitoring_endpoint(
        &self,
        ctx: &Context<'_>,
        id: String,
    ) -> ApiResult<RetireMonitoringEndpointPayload> {
        let actor = require(ctx, Role::Editor)?;
        valid_key(&id, "id")?;
        let db = db(ctx)?;
        if endpoint(db, &id).await?.is_none() {
            return Err(ApiError::NotFound(format!("monitoring endpoint {id:?}")));
        }
        let removed = remove(
            db,
            &WriteContext::actor(&actor.name, Utc::now()),
            AssetType::MonitoringEndpoint,
            std::slice::from_ref(&id),
        )
        .await?;
        tracing::info!(actor = %actor.name, endpoint = %id, retired = removed > 0, "endpoint retired");
        let endpoint = endpoint(db, &id).await?.ok_or(ApiError::Internal)?;
        Ok(RetireMonitoringEndpointPayload {
            endpoint,
            retired: removed > 0,
        })
    }
}
