//! Counts GraphQL operations by name, type and outcome, and errors by code. The request
//! handler (`crate::graphql::Service`) reports every request, so parse and validation
//! failures count too.

use super::Metrics;
use async_graphql::parser::types::{DocumentOperations, ExecutableDocument, OperationType};
use async_graphql::{Response, ServerError, Value};
use std::collections::{HashMap, HashSet};
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

/// New operation names one caller may add to the label values: one client sending made-up
/// names uses up this share, not the whole budget.
pub(crate) const NAMES_PER_CALLER: usize = 20;

/// The operation names already used as label values. Clients choose names, so a name is
/// admitted only when its operation succeeded, each caller (a credential, or all anonymous
/// callers together) admits at most [`NAMES_PER_CALLER`], and all of them at most `max`.
pub(crate) struct OperationNames {
    max: usize,
    state: Mutex<Admitted>,
}

#[derive(Default)]
struct Admitted {
    names: HashSet<String>,
    by_caller: HashMap<String, usize>,
}

impl OperationNames {
    pub(super) fn new(max: usize) -> Self {
        Self {
            max,
            state: Mutex::default(),
        }
    }

    fn label(&self, name: &str, succeeded: bool, caller: &str) -> String {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if state.names.contains(name) {
            return name.to_owned();
        }
        let used = state.by_caller.get(caller).copied().unwrap_or(0);
        if succeeded && state.names.len() < self.max && used < NAMES_PER_CALLER {
            state.names.insert(name.to_owned());
            *state.by_caller.entry(caller.to_owned()).or_default() += 1;
            return name.to_owned();
        }
        OTHER.to_owned()
    }
}

/// The operation a request runs: its name (`None` for an unnamed one) and type. The name
/// becomes a label value once the outcome is known ([`Metrics::record_graphql`]).
pub struct Operation {
    name: Option<String>,
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
            (DocumentOperations::Single(op), None) => (None, op.node.ty),
            (DocumentOperations::Multiple(ops), Some(name)) => ops
                .get(name)
                .map(|op| (Some(name.to_owned()), op.node.ty))?,
            (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => ops
                .iter()
                .next()
                .map(|(name, op)| (Some(name.to_string()), op.node.ty))?,
            _ => return None,
        };
        Some(Operation {
            name,
            kind: type_label(ty),
        })
    }

    /// Counts one request's outcome under its operation (`None`: the document did not
    /// parse, or named no operation it has) and each of its errors by code. `caller` is who
    /// sent it (a principal's name, or `None` for an anonymous caller).
    pub fn record_graphql(
        &self,
        operation: Option<&Operation>,
        response: &Response,
        caller: Option<&str>,
    ) {
        let outcome = match (response.errors.is_empty(), response.data == Value::Null) {
            (true, _) => "success",
            (false, false) => "partial",
            (false, true) => "error",
        };
        let (name, kind) = match operation {
            None => (OTHER.to_owned(), "unknown"),
            Some(Operation { name: None, kind }) => (ANONYMOUS.to_owned(), *kind),
            Some(Operation {
                name: Some(name),
                kind,
            }) => (
                self.graphql_operation_names.label(
                    name,
                    outcome == "success",
                    caller.unwrap_or("anonymous"),
                ),
                *kind,
            ),
        };
        self.graphql_operations
            .with_label_values(&[name.as_str(), kind, outcome])
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
