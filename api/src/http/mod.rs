//! The HTTP surface: GraphQL, GraphiQL, health and readiness.

mod graphiql;
mod health;

use crate::graphql::{self, InventorySchema};
use async_graphql::ErrorExtensionValues;
use async_graphql_axum::{GraphQLRequest, GraphQLResponse};
use axum::extract::State;
use axum::routing::get;
use axum::{Extension, Router};
use sea_orm::DatabaseConnection;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::trace::TraceLayer;

/// Largest request body accepted, GraphQL documents included.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// The whole application as a router, so tests can drive it without a socket.
pub fn router(db: DatabaseConnection) -> Router {
    let schema = graphql::build(db.clone());
    Router::new()
        .route("/graphql", get(graphiql::page).post(execute))
        .route("/graphiql/{file}", get(graphiql::asset))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .with_state(db)
        .layer(Extension(schema))
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        .layer(TraceLayer::new_for_http())
}

/// `POST /graphql`. Errors raised by our resolvers carry a code already; the ones that do
/// not come from parsing and validation (syntax, unknown fields, bad enum values, limits),
/// which are the client's to fix.
async fn execute(
    Extension(schema): Extension<InventorySchema>,
    State(_): State<DatabaseConnection>,
    request: GraphQLRequest,
) -> GraphQLResponse {
    let mut response = schema.execute(request.into_inner()).await;
    for error in &mut response.errors {
        let extensions = error
            .extensions
            .get_or_insert_with(ErrorExtensionValues::default);
        if extensions.get("code").is_none() {
            extensions.set("code", "BAD_USER_INPUT");
        }
    }
    response.into()
}
