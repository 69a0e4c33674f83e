//! The GraphQL schema: our own types over the entity models, keyset-paginated lists, and
//! DataLoaders for provenance. Building it needs no database, so the SDL can be exported
//! anywhere.

mod account;
mod asset;
mod common;
mod endpoint;
mod endpoint_input;
mod enums;
mod feed;
mod history;
pub mod id;
pub mod limits;
mod lookup;
mod mutation;
mod node;
pub mod page;
mod query;
mod run;
mod summary;

use crate::error::{ApiError, ApiResult};
use crate::metrics::{GraphqlMetrics, Metrics};
use async_graphql::dataloader::DataLoader;
use async_graphql::{Context, EmptySubscription, Schema, SchemaBuilder};
use sea_orm::DatabaseConnection;
use std::sync::Arc;

use limits::{DocumentLimits, Limits};
pub use mutation::Mutation;
pub use query::Query;
pub use run::RunLoader;

pub type InventorySchema = Schema<Query, Mutation, EmptySubscription>;

fn builder() -> SchemaBuilder<Query, Mutation, EmptySubscription> {
    Schema::build(Query, Mutation, EmptySubscription)
}

/// The schema as served, reading and writing through `db`, within `limits`, projecting
/// entities with `backstage`, counted in `metrics`.
pub fn build(
    db: DatabaseConnection,
    limits: Limits,
    backstage: crate::backstage::Options,
    metrics: Arc<Metrics>,
) -> InventorySchema {
    let runs = DataLoader::new(RunLoader { db: db.clone() }, tokio::spawn);
    let history = DataLoader::new(history::HistoryLoader { db: db.clone() }, tokio::spawn);
    let assets = DataLoader::new(asset::AssetLoader { db: db.clone() }, tokio::spawn);
    let mut schema = builder()
        .limit_depth(limits.max_depth)
        .limit_complexity(limits.max_complexity)
        .extension(GraphqlMetrics(metrics))
        .extension(DocumentLimits {
            max_aliases: limits.max_aliases,
            introspection: limits.introspection,
        })
        .data(db)
        .data(runs)
        .data(history)
        .data(assets)
        .data(backstage)
        .data(limits);
    if !limits.introspection {
        schema = schema.disable_introspection();
    }
    schema.finish()
}

/// The SDL clients code against (`schema.graphql`).
pub fn sdl() -> String {
    builder().finish().sdl()
}

/// The request's database handle.
fn db<'a>(ctx: &Context<'a>) -> ApiResult<&'a DatabaseConnection> {
    ctx.data::<DatabaseConnection>()
        .map_err(|_| ApiError::Internal)
}
