//! Counts GraphQL operations by name, type and outcome, and errors by code. The request
//! handler (`crate::graphql::Service`) reports every request, so parse and validation
//! failures count too.

use super::Metrics;
use async_graphql::parser::types::{DocumentOperations, ExecutableDocument, OperationType};
use async_graphql::{Response, ServerError, Value};
use std::collections::HashSet;
use std::sync::{Mutex, PoisonError};

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

/// The code `error` carries (every error has one by the time it is counted), if any.
fn error_code(error: &ServerError) -> Option<&str> {
    error
        .extensions
        .as_ref()
        .and_then(|ext| ext.get("code"))
        .and_then(|code| match code {
            Value::String(code) => Some(code.as_str()),
            _ => None,
        })
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

/// The operation a request runs, as its metric labels: name and type.
pub struct Operation {
    name: String,
    kind: &'static str,
}

impl Metrics {
    /// The operation of a parsed `document` that will run, as async-graphql picks it: the
    /// one named `requested`, or the only one. `None` when no operation matches (the
    /// request fails validation then).
    pub fn graphql_operation(
        &self,
        document: &ExecutableDocument,
        requested: Option<&str>,
    ) -> Option<Operation> {
        let (name, ty) = match (&document.operations, requested) {
            (DocumentOperations::Single(op), None) => (ANONYMOUS.to_owned(), op.node.ty),
            (DocumentOperations::Multiple(ops), Some(name)) => ops
                .get(name)
                .map(|op| (self.graphql_operation_names.label(name), op.node.ty))?,
            (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => {
                ops.iter().next().map(|(name, op)| {
                    (
                        self.graphql_operation_names.label(name.as_str()),
                        op.node.ty,
                    )
                })?
            }
            _ => return None,
        };
        Some(Operation {
            name,
            kind: type_label(ty),
        })
    }

    /// Counts one request's outcome under its operation (`None`: the document did not
    /// parse, or named no operation it has) and each of its errors by code.
    pub fn record_graphql(&self, operation: Option<&Operation>, response: &Response) {
        let (name, kind) = operation.map_or((OTHER, "unknown"), |op| (op.name.as_str(), op.kind));
        let outcome = match (response.errors.is_empty(), response.data == Value::Null) {
            (true, _) => "success",
            (false, false) => "partial",
            (false, true) => "error",
        };
        self.graphql_operations
            .with_label_values(&[name, kind, outcome])
            .inc();
        for error in &response.errors {
            let code = error_code(error)
                .and_then(|code| CODES.iter().find(|c| **c == code))
                .copied()
                .unwrap_or("OTHER");
            self.graphql_errors.with_label_values(&[code]).inc();
        }
    }
}

fn type_label(ty: OperationType) -> &'static str {
    match ty {
        OperationType::Query => "query",
        OperationType::Mutation => "mutation",
        OperationType::Subscription => "subscription",
    }
}
