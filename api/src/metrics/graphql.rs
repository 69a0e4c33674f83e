//! Counts GraphQL operations by name, type and outcome, and errors by code, from inside the
//! schema (an async-graphql extension), so parse and validation failures count too.

use super::Metrics;
use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextParseQuery, NextPrepareRequest, NextRequest,
};
use async_graphql::parser::types::{DocumentOperations, ExecutableDocument, OperationType};
use async_graphql::{Request, Response, ServerError, ServerResult, Value, Variables};
use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};

/// Label for a request without an operation name.
const ANONYMOUS: &str = "__anonymous";
/// Label for names past the cap, and for a name no operation of the document has.
const OTHER: &str = "__other";
/// The codes our errors carry; anything else is counted as `OTHER`.
const CODES: &[&str] = &[
    "BAD_USER_INPUT",
    "NOT_FOUND",
    "UNAUTHENTICATED",
    "FORBIDDEN",
    "INTERNAL",
];

/// The code a client sees for `error`: its own, or `BAD_USER_INPUT` for the parse and
/// validation errors async-graphql raises without one (the HTTP handler sets the same).
pub fn error_code(error: &ServerError) -> &str {
    error
        .extensions
        .as_ref()
        .and_then(|ext| ext.get("code"))
        .and_then(|code| match code {
            Value::String(code) => Some(code.as_str()),
            _ => None,
        })
        .unwrap_or("BAD_USER_INPUT")
}

/// The operation names already used as label values, up to a cap: clients choose names, so
/// without a cap a client could grow the series without bound.
pub(crate) struct OperationNames {
    max: usize,
    seen: Mutex<HashSet<String>>,
}

impl OperationNames {
    pub(super) fn new(max: usize) -> Self {
        Self {
            max,
            seen: Mutex::new(HashSet::new()),
        }
    }

    fn label(&self, name: &str) -> String {
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        if seen.contains(name) {
            return name.to_owned();
        }
        if seen.len() < self.max {
            seen.insert(name.to_owned());
            return name.to_owned();
        }
        OTHER.to_owned()
    }
}

/// The schema extension; one observer per request.
pub struct GraphqlMetrics(pub Arc<Metrics>);

impl ExtensionFactory for GraphqlMetrics {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(Observer {
            metrics: Arc::clone(&self.0),
            seen: Mutex::new(Seen::default()),
        })
    }
}

#[derive(Default)]
struct Seen {
    /// The `operationName` the client sent.
    requested: Option<String>,
    /// The operation that runs, once the document parsed: its name label and type.
    operation: Option<(String, &'static str)>,
}

struct Observer {
    metrics: Arc<Metrics>,
    seen: Mutex<Seen>,
}

impl Observer {
    fn seen(&self) -> std::sync::MutexGuard<'_, Seen> {
        self.seen.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for Observer {
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        let response = next.run(ctx).await;
        let (name, kind) = self
            .seen()
            .operation
            .clone()
            .unwrap_or_else(|| (OTHER.to_owned(), "unknown"));
        let outcome = match (response.errors.is_empty(), response.data == Value::Null) {
            (true, _) => "success",
            (false, false) => "partial",
            (false, true) => "error",
        };
        self.metrics
            .graphql_operations
            .with_label_values(&[name.as_str(), kind, outcome])
            .inc();
        for error in &response.errors {
            let code = error_code(error);
            let code = CODES
                .iter()
                .find(|c| **c == code)
                .copied()
                .unwrap_or("OTHER");
            self.metrics.graphql_errors.with_label_values(&[code]).inc();
        }
        response
    }

    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        self.seen().requested.clone_from(&request.operation_name);
        next.run(ctx, request).await
    }

    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await?;
        let mut seen = self.seen();
        let requested = seen.requested.clone();
        // The operation that will run, as async-graphql picks it: the named one, or the only one.
        let operation = match (&document.operations, requested.as_deref()) {
            (DocumentOperations::Single(op), None) => Some((ANONYMOUS.to_owned(), op.node.ty)),
            (DocumentOperations::Multiple(ops), Some(name)) => ops
                .get(name)
                .map(|op| (self.metrics.graphql_operation_names.label(name), op.node.ty)),
            (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => {
                ops.iter().next().map(|(name, op)| {
                    (
                        self.metrics.graphql_operation_names.label(name.as_str()),
                        op.node.ty,
                    )
                })
            }
            _ => None,
        };
        seen.operation = operation.map(|(name, ty)| (name, type_label(ty)));
        drop(seen);
        Ok(document)
    }
}

fn type_label(ty: OperationType) -> &'static str {
    match ty {
        OperationType::Query => "query",
        OperationType::Mutation => "mutation",
        OperationType::Subscription => "subscription",
    }
}
