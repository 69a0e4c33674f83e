//! The GraphQL schema: our own types over the entity models, keyset-paginated lists, and
//! DataLoaders for provenance. Building it needs no database, so the SDL can be exported
//! anywhere.

mod account;
mod asset;
mod common;
mod documents;
mod endpoint;
pub(crate) mod endpoint_input;
mod enums;
mod feed;
mod history;
pub mod id;
pub mod limits;
mod lookup;
mod mutation;
mod node;
pub mod page;
mod persisted;
mod query;
mod run;
mod summary;

use crate::error::{ApiError, ApiResult};
use crate::metrics::Metrics;
use async_graphql::dataloader::DataLoader;
use async_graphql::parser::types::{DocumentOperations, OperationType};
use async_graphql::{
    Context, EmptySubscription, ErrorExtensionValues, Request, Response, Schema, SchemaBuilder,
};
use sea_orm::DatabaseConnection;
use std::sync::Arc;

use documents::Documents;
use limits::{DocumentLimits, Limits};
pub use mutation::Mutation;
use persisted::Persisted;
pub use query::Query;
use run::{FinishedRuns, RequestRuns};

pub type InventorySchema = Schema<Query, Mutation, EmptySubscription>;

fn builder() -> SchemaBuilder<Query, Mutation, EmptySubscription> {
    Schema::build(Query, Mutation, EmptySubscription)
}

/// The schema as served, with the checks and counts made around each request.
///
/// Those run here, once per request, and not as async-graphql extensions: with any extension
/// registered, async-graphql sends every field of every row through the extension chain (a
/// registry lookup and a boxed future per field and extension), a cost paid on every field
/// of every page for checks that only need the parsed document.
#[derive(Clone)]
pub struct Service {
    schema: InventorySchema,
    db: DatabaseConnection,
    limits: DocumentLimits,
    metrics: Arc<Metrics>,
    runs: Arc<FinishedRuns>,
    documents: Arc<Documents>,
    persisted: Persisted,
}

impl Service {
    /// Parses, checks, runs and counts one request. Errors without a code come from
    /// parsing and validation (syntax, unknown fields, bad enum values, limits): they are
    /// the client's to fix and get `BAD_USER_INPUT`.
    pub async fn execute(&self, request: Request) -> Response {
        self.execute_as(request, None).await
    }

    /// Puts a persisted query's document in place of its hash ([`persisted`]); a hash the
    /// service does not know is left for execution to refuse.
    pub async fn resolve_persisted(&self, request: &mut Request) {
        let _ = self.persisted.resolve(request).await;
    }

    /// What `request` would run: a query, a mutation or a subscription; `None` when its
    /// document does not parse or does not name one operation (it then fails to execute).
    pub fn operation_type(&self, request: &mut Request) -> Option<OperationType> {
        let name = request.operation_name.clone();
        let document = self.documents.parse(request).ok()?;
        let operation = match (&document.operations, name) {
            (DocumentOperations::Single(operation), _) => operation,
            (DocumentOperations::Multiple(operations), Some(name)) => {
                operations.get(name.as_str())?
            }
            (DocumentOperations::Multiple(operations), None) if operations.len() == 1 => {
                operations.values().next()?
            }
            (DocumentOperations::Multiple(_), None) => return None,
        };
        Some(operation.node.ty)
    }

    /// [`Service::execute`] for `caller` (a principal's name), who is charged for the
    /// operation names it adds to the metrics' label values.
    pub async fn execute_as(&self, request: Request, caller: Option<&str>) -> Response {
        let mut request = request.data(RequestRuns::new(self.db.clone(), self.runs.clone()));
        if let Err(not_found) = self.persisted.resolve(&mut request).await {
            self.metrics.record_graphql(None, &not_found, caller);
            return not_found;
        }
        let requested = request.operation_name.clone();
        // The parsed document stays in the request: the schema does not parse it again.
        let checked = self.documents.parse(&mut request).and_then(|document| {
            self.limits.check(document)?;
            Ok(self
                .metrics
                .graphql_operation(document, requested.as_deref()))
        });
        let (operation, mut response) = match checked {
            Ok(operation) => (operation, self.schema.execute(request).await),
            Err(error) => (None, Response::from_errors(vec![error])),
        };
        for error in &mut response.errors {
            let extensions = error
                .extensions
                .get_or_insert_with(ErrorExtensionValues::default);
            if extensions.get("code").is_none() {
                extensions.set("code", "BAD_USER_INPUT");
            }
        }
        self.metrics
            .record_graphql(operation.as_ref(), &response, caller);
        response
    }
}

/// The service reading and writing through `db`, within `limits`, projecting entities with
/// `backstage`, storing only the secret references `secret_grants` allow, counted in
/// `metrics`.
pub fn build(
    db: DatabaseConnection,
    limits: Limits,
    backstage: crate::backstage::Options,
    secret_grants: Arc<entity::secret_ref::SecretGrants>,
    metrics: Arc<Metrics>,
) -> Service {
    let history = DataLoader::new(history::HistoryLoader { db: db.clone() }, tokio::spawn);
    let assets = DataLoader::new(asset::AssetLoader { db: db.clone() }, tokio::spawn);
    let creations = DataLoader::new(history::CreationLoader { db: db.clone() }, tokio::spawn);
    let persisted = Persisted::default();
    let mut schema = builder()
        .extension(persisted.extension())
        .limit_depth(limits.max_depth)
        .limit_complexity(limits.max_complexity)
        .data(db.clone())
        .data(history)
        .data(assets)
        .data(creations)
        .data(backstage)
        .data(secret_grants)
        .data(limits);
    if !limits.introspection {
        // "Did you mean …?" would name the fields introspection hides.
        schema = schema.disable_introspection().disable_suggestions();
    }
    Service {
        schema: schema.finish(),
        db,
        limits: DocumentLimits {
            max_aliases: limits.max_aliases,
            max_fields: limits.max_fields,
            introspection: limits.introspection,
        },
        metrics,
        runs: Arc::default(),
        documents: Arc::default(),
        persisted,
    }
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
