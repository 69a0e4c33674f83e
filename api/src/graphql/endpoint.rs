//! `MonitoringEndpoint`: a Prometheus or Grafana server, and its filter.

use super::common::{Tag, TagFilter, filter_text, tag_condition, tags_of};
use super::enums::{AuthMode, EndpointKind, EndpointStatus, Origin, to_store};
use super::id::{NodeType, encode};
use super::run::{CollectorRun, load_run};
use crate::error::{ApiError, ApiResult};
use async_graphql::{Context, ID, InputObject, Json, Object};
use chrono::{DateTime, Utc};
use entity::monitoring_endpoint::{self, Column as C};
use entity::query::{Tagged, contains_ci};
use sea_orm::{ColumnTrait, Condition, DbBackend};
use serde_json::Value;

pub struct MonitoringEndpoint(pub monitoring_endpoint::Model);

impl From<monitoring_endpoint::Model> for MonitoringEndpoint {
    fn from(model: monitoring_endpoint::Model) -> Self {
        Self(model)
    }
}

impl super::page::CursorKey for MonitoringEndpoint {
    fn cursor_key(&self) -> String {
        self.0.id.clone()
    }
}

/// A Prometheus or Grafana server.
#[Object]
impl MonitoringEndpoint {
    /// Opaque global id; resolves through `node(id:)`.
    pub async fn id(&self) -> ID {
        encode(NodeType::MonitoringEndpoint, &self.0.id)
    }
    /// The inventory's stable key, chosen by whoever seeded the endpoint.
    async fn key(&self) -> &str {
        &self.0.id
    }
    async fn kind(&self) -> EndpointKind {
        self.0.kind.into()
    }
    async fn url(&self) -> &str {
        &self.0.url
    }
    /// How collectors authenticate; the secret itself is never stored.
    async fn auth_mode(&self) -> AuthMode {
        self.0.auth_mode.into()
    }
    async fn status(&self) -> EndpointStatus {
        self.0.status.into()
    }
    async fn version(&self) -> Option<&str> {
        self.0.version.as_deref()
    }
    async fn origin(&self) -> Origin {
        self.0.origin.into()
    }
    /// Labels, sorted by key.
    async fn labels(&self) -> Vec<Tag> {
        tags_of(&self.0.labels)
    }
    async fn notes(&self) -> Option<&str> {
        self.0.notes.as_deref()
    }
    /// Where collectors find the credential (`env:NAME` or `file:/path`); never the secret.
    async fn secret_ref(&self) -> Option<&str> {
        self.0.secret_ref.as_deref()
    }
    /// `manual` for seeded endpoints, otherwise the collector scope that found it.
    async fn scope(&self) -> &str {
        &self.0.scope
    }
    async fn created_by(&self) -> Option<&str> {
        self.0.created_by.as_deref()
    }
    async fn updated_by(&self) -> Option<&str> {
        self.0.updated_by.as_deref()
    }
    async fn first_seen_at(&self) -> DateTime<Utc> {
        self.0.first_seen_at
    }
    async fn last_checked_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_checked_at
    }
    async fn last_error(&self) -> Option<&str> {
        self.0.last_error.as_deref()
    }
    async fn removed_at(&self) -> Option<DateTime<Utc>> {
        self.0.removed_at
    }
    /// What happened to this endpoint, newest first: each change's kind, time, fields
    /// (old and new values) and the run or person that made it.
    #[graphql(complexity = "super::limits::loaded_page_complexity(first, child_complexity)")]
    async fn history(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<super::history::AssetChangeConnection> {
        super::history::history(
            ctx,
            entity::enums::AssetType::MonitoringEndpoint,
            &self.0.id,
            first,
            after,
        )
        .await
    }
    /// The run that last checked this endpoint.
    async fn last_run(&self, ctx: &Context<'_>) -> ApiResult<Option<CollectorRun>> {
        load_run(ctx, self.0.last_run_id).await
    }
    async fn provenance(&self) -> Json<&Value> {
        Json(&self.0.provenance)
    }
    /// What the server reported at the last check.
    async fn raw(&self) -> Json<&Value> {
        Json(&self.0.raw)
    }
    /// This endpoint as a Backstage catalog entity (`kind: Resource`, `spec.type:
    /// monitoring-endpoint`); a Grafana `dependsOn` the Prometheus servers it revealed. A
    /// removed endpoint carries the annotation `asset-inventory/removed: "true"`.
    async fn backstage_entity(&self, ctx: &Context<'_>) -> ApiResult<Json<Value>> {
        let options = ctx
            .data::<crate::backstage::Options>()
            .map_err(|_| ApiError::Internal)?;
        Ok(Json(crate::backstage::endpoint_entity(options, &self.0)))
    }
}

/// Narrows `monitoringEndpoints`. All given conditions must hold.
#[derive(InputObject, Default, Debug)]
pub struct EndpointFilter {
    pub kind: Option<Vec<EndpointKind>>,
    pub status: Option<Vec<EndpointStatus>>,
    /// Case-insensitive substring of the URL.
    pub url_contains: Option<String>,
    pub origin: Option<Vec<Origin>>,
    /// Every label condition must hold.
    pub label: Option<Vec<TagFilter>>,
    pub scope: Option<Vec<String>>,
    #[graphql(default)]
    pub include_removed: bool,
}

impl EndpointFilter {
    pub fn condition(&self, backend: DbBackend) -> ApiResult<Condition> {
        let mut cond = Condition::all();
        if let Some(kinds) = &self.kind {
            cond = cond.add(C::Kind.is_in(to_store::<_, entity::enums::EndpointKind>(kinds)));
        }
        if let Some(statuses) = &self.status {
            cond =
                cond.add(C::Status.is_in(to_store::<_, entity::enums::EndpointStatus>(statuses)));
        }
        if let Some(needle) = &self.url_contains {
            cond = cond.add(contains_ci(C::Url, filter_text(needle, "urlContains")?));
        }
        if let Some(origins) = &self.origin {
            cond = cond.add(C::Origin.is_in(to_store::<_, entity::enums::Origin>(origins)));
        }
        if let Some(labels) = &self.label {
            if labels.len() > super::common::MAX_TAG_FILTERS {
                return Err(ApiError::bad_input(
                    "label",
                    format!(
                        "at most {} label conditions",
                        super::common::MAX_TAG_FILTERS
                    ),
                ));
            }
            for label in labels {
                cond = cond.add(tag_condition(backend, Tagged::EndpointLabels, label)?);
            }
        }
        if let Some(scopes) = &self.scope {
            cond = cond.add(C::Scope.is_in(scopes.iter().cloned()));
        }
        if !self.include_removed {
            cond = cond.add(C::RemovedAt.is_null());
        }
        Ok(cond)
    }
}
