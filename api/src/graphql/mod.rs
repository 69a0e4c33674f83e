//! The GraphQL schema: our own types over the entity models, keyset-paginated lists, and
//! DataLoaders for provenance. Building it needs no database, so the SDL can be exported
//! anywhere.

mod account;
mod common;
mod endpoint;
mod enums;
pub mod id;
mod node;
pub mod page;
mod query;
mod run;
mod summary;

use crate::error::{ApiError, ApiResult};
use async_graphql::dataloader::DataLoader;
use async_graphql::{Context, EmptyMutation, EmptySubscription, Schema, SchemaBuilder};
use sea_orm::DatabaseConnection;

pub use query::Query;
pub use run::RunLoader;

pub type InventorySchema = Schema<Query, EmptyMutation, EmptySubscription>;

/// Deepest query accepted. Our own data is at most 5 levels deep (a connection's node's run);
/// GraphiQL's introspection query, which these limits apply to as well, needs 13.
pub const MAX_DEPTH: usize = 16;
/// Most fields one query may select, counted across the whole document (the introspection
/// query counts about 200).
pub const MAX_COMPLEXITY: usize = 2_000;

fn builder() -> SchemaBuilder<Query, EmptyMutation, EmptySubscription> {
    Schema::build(Query, EmptyMutation, EmptySubscription)
        .limit_depth(MAX_DEPTH)
        .limit_complexity(MAX_COMPLEXITY)
}

/// The schema as served, reading and writing through `db`.
pub fn build(db: DatabaseConnection) -> InventorySchema {
    let runs = DataLoader::new(RunLoader { db: db.clone() }, tokio::spawn);
    builder().data(db).data(runs).finish()
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
