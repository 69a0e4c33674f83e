//! What one request may cost, and the checks async-graphql does not make itself: an alias
//! count, and a clear refusal of introspection when it is off (async-graphql alone answers
//! `null`, which looks like a bug to the person debugging it).

use async_graphql::ServerError;
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};

pub const DEFAULT_MAX_DEPTH: usize = 16;
pub const DEFAULT_MAX_COMPLEXITY: usize = 20_000;
pub const DEFAULT_MAX_ALIASES: usize = 30;
pub const DEFAULT_MAX_PAGE_SIZE: u64 = 500;
pub const DEFAULT_MAX_BODY_BYTES: usize = 256 * 1024;
/// Page size when neither `first` nor `last` is given.
pub const DEFAULT_PAGE_SIZE: u64 = 50;

/// The limits a schema enforces.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_depth: usize,
    pub max_complexity: usize,
    pub max_aliases: usize,
    pub max_page_size: u64,
    pub introspection: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_depth: DEFAULT_MAX_DEPTH,
            max_complexity: DEFAULT_MAX_COMPLEXITY,
            max_aliases: DEFAULT_MAX_ALIASES,
            max_page_size: DEFAULT_MAX_PAGE_SIZE,
            introspection: true,
        }
    }
}

/// The complexity of a list field: its children once per row asked for.
pub fn page_complexity(first: Option<i32>, last: Option<i32>, child: usize) -> usize {
    let rows = first
        .or(last)
        .map_or(DEFAULT_PAGE_SIZE as usize, |n| n.max(0) as usize);
    rows.max(1).saturating_mul(child).saturating_add(1)
}

/// Refuses documents with more aliased fields than allowed, and introspection when it is off.
#[derive(Clone, Copy)]
pub struct DocumentLimits {
    pub max_aliases: usize,
    pub introspection: bool,
}

impl DocumentLimits {
    /// Checks a parsed document before it is validated and run; the error is the client's.
    pub fn check(&self, document: &ExecutableDocument) -> Result<(), ServerError> {
        let mut shape = Shape::default();
        for (_, operation) in document.operations.iter() {
            shape.visit(&operation.node.selection_set.node);
        }
        for fragment in document.fragments.values() {
            shape.visit(&fragment.node.selection_set.node);
        }
        if shape.aliases > self.max_aliases {
            return Err(ServerError::new(
                format!(
                    "Query uses {} aliases; at most {} are allowed.",
                    shape.aliases, self.max_aliases
                ),
                None,
            ));
        }
        if shape.introspects && !self.introspection {
            return Err(ServerError::new(
                "introspection is disabled on this server",
                None,
            ));
        }
        Ok(())
    }
}

/// What a document asks for, beyond what async-graphql checks.
#[derive(Default)]
struct Shape {
    aliases: usize,
    introspects: bool,
}

impl Shape {
    fn visit(&mut self, set: &SelectionSet) {
        for item in &set.items {
            match &item.node {
                Selection::Field(field) => {
                    self.aliases += usize::from(field.node.alias.is_some());
                    let name = field.node.name.node.as_str();
                    self.introspects |= name == "__schema" || name == "__type";
                    self.visit(&field.node.selection_set.node);
                }
                Selection::InlineFragment(fragment) => {
                    self.visit(&fragment.node.selection_set.node)
                }
                Selection::FragmentSpread(_) => {}
            }
        }
    }
}
