//! What one request may cost, and the checks async-graphql does not make itself, made on the
//! parsed document before async-graphql validates it:
//!
//! - the **expanded size**: fields counted as if every fragment spread were replaced by its
//!   fragment. async-graphql's validation and complexity walk follow spreads, so a document
//!   of fragments that each spread the previous one twice costs it 2^n steps; this count
//!   memoises each fragment's size, so it takes time linear in the document's length and
//!   refuses such a document before anything exponential runs;
//! - **aliases and repeated fields**, also counted expanded: async-graphql runs a field's
//!   resolver once per occurrence, so `a a a` without aliases costs what `x: a y: a z: a`
//!   does, and both share one budget;
//! - a clear refusal of introspection when it is off (async-graphql alone answers `null`,
//!   which looks like a bug to the person debugging it).
//!
//! Root fields that run their own SQL statements weigh [`STATEMENT_COMPLEXITY`] in the
//! complexity limit, so the statements one request can cause are bounded too. (A
//! connection's `totalCount` and `pageInfo` are not weighed apart: async-graphql's complexity
//! sees only the sum of a list field's children, which a page multiplies by its rows.)

use async_graphql::ServerError;
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use std::collections::{HashMap, HashSet};

pub const DEFAULT_MAX_DEPTH: usize = 16;
pub const DEFAULT_MAX_COMPLEXITY: usize = 20_000;
pub const DEFAULT_MAX_ALIASES: usize = 30;
pub const DEFAULT_MAX_FIELDS: usize = 1_000;
pub const DEFAULT_MAX_PAGE_SIZE: u64 = 500;
pub const DEFAULT_MAX_BODY_BYTES: usize = 256 * 1024;
/// Page size when neither `first` nor `last` is given.
pub const DEFAULT_PAGE_SIZE: u64 = 50;
/// The complexity of a root field that runs statements of its own (a list, a lookup, a
/// summary): with the default limit, at most 40 such fields per request.
pub const STATEMENT_COMPLEXITY: usize = 500;

/// The limits a schema enforces.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_depth: usize,
    pub max_complexity: usize,
    pub max_aliases: usize,
    pub max_fields: usize,
    pub max_page_size: u64,
    pub introspection: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_depth: DEFAULT_MAX_DEPTH,
            max_complexity: DEFAULT_MAX_COMPLEXITY,
            max_aliases: DEFAULT_MAX_ALIASES,
            max_fields: DEFAULT_MAX_FIELDS,
            max_page_size: DEFAULT_MAX_PAGE_SIZE,
            introspection: true,
        }
    }
}

/// The complexity of a list field that runs its own statement: the statement, plus its
/// children once per row asked for.
pub fn page_complexity(first: Option<i32>, last: Option<i32>, child: usize) -> usize {
    rows(first.or(last))
        .saturating_mul(child)
        .saturating_add(STATEMENT_COMPLEXITY)
}

/// The complexity of a list field whose rows come through a DataLoader (batched with the
/// other rows of its page): its children once per row asked for.
pub fn loaded_page_complexity(first: Option<i32>, child: usize) -> usize {
    rows(first).saturating_mul(child).saturating_add(1)
}

/// The rows a page asks for (the default without `first`/`last`), at least one.
fn rows(asked: Option<i32>) -> usize {
    asked
        .map_or(DEFAULT_PAGE_SIZE as usize, |n| n.max(0) as usize)
        .max(1)
}

/// Refuses documents that are too large once expanded, that repeat or alias too many
/// fields, or that introspect when introspection is off.
#[derive(Clone, Copy)]
pub struct DocumentLimits {
    pub max_aliases: usize,
    pub max_fields: usize,
    pub introspection: bool,
}

impl DocumentLimits {
    /// Checks a parsed document before it is validated and run; the error is the client's.
    pub fn check(&self, document: &ExecutableDocument) -> Result<(), ServerError> {
        let cost = expanded_cost(document);
        if cost.fields > self.max_fields as u64 {
            return Err(ServerError::new(
                format!(
                    "Query selects {} fields once its fragments are expanded; at most {} are allowed.",
                    cost.fields, self.max_fields
                ),
                None,
            ));
        }
        if cost.aliases > self.max_aliases as u64 {
            return Err(ServerError::new(
                format!(
                    "Query uses {} aliases or repeated fields; at most {} are allowed.",
                    cost.aliases, self.max_aliases
                ),
                None,
            ));
        }
        if cost.introspects && !self.introspection {
            return Err(ServerError::new(
                "introspection is disabled on this server",
                None,
            ));
        }
        Ok(())
    }
}

/// What part of a document costs, counted with every fragment spread expanded. Counts
/// saturate: a document can only be refused by them, never wrap around.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Cost {
    fields: u64,
    /// Aliased fields, and fields that repeat a response name of their selection set.
    aliases: u64,
    introspects: bool,
}

impl Cost {
    fn add(&mut self, other: Cost, times: u64) {
        self.fields = self
            .fields
            .saturating_add(other.fields.saturating_mul(times));
        self.aliases = self
            .aliases
            .saturating_add(other.aliases.saturating_mul(times));
        self.introspects |= other.introspects && times > 0;
    }
}

/// One definition's own cost, and the fragments it spreads with how often.
#[derive(Default)]
struct Definition<'a> {
    own: Cost,
    spreads: HashMap<&'a str, u64>,
}

impl<'a> Definition<'a> {
    fn of(set: &'a SelectionSet) -> Self {
        let mut definition = Self::default();
        definition.visit(set, &mut HashSet::new());
        definition
    }

    /// `names` holds the response names already selected at this level: inline fragments
    /// add to their parent's level, a field's selection set starts a level of its own.
    fn visit(&mut self, set: &'a SelectionSet, names: &mut HashSet<&'a str>) {
        for item in &set.items {
            match &item.node {
                Selection::Field(field) => {
                    let field = &field.node;
                    let name = field.name.node.as_str();
                    let response = field.alias.as_ref().map_or(name, |a| a.node.as_str());
                    self.own.fields = self.own.fields.saturating_add(1);
                    let repeated = !names.insert(response);
                    if field.alias.is_some() || repeated {
                        self.own.aliases = self.own.aliases.saturating_add(1);
                    }
                    self.own.introspects |= name == "__schema" || name == "__type";
                    self.visit(&field.selection_set.node, &mut HashSet::new());
                }
                Selection::InlineFragment(fragment) => {
                    self.visit(&fragment.node.selection_set.node, names)
                }
                Selection::FragmentSpread(spread) => {
                    let count = self
                        .spreads
                        .entry(spread.node.fragment_name.node.as_str())
                        .or_default();
                    *count = count.saturating_add(1);
                }
            }
        }
    }
}

/// The cost of every operation of `document` with its spreads expanded, in time linear in
/// the document: each fragment's expanded cost is computed once (depth first, without
/// recursion, so a long chain of fragments cannot exhaust the stack) and then multiplied.
/// A spread of an unknown fragment, or one that closes a cycle, adds nothing here:
/// validation refuses both with its own message.
fn expanded_cost(document: &ExecutableDocument) -> Cost {
    let fragments: HashMap<&str, Definition> = document
        .fragments
        .iter()
        .map(|(name, fragment)| {
            (
                name.as_str(),
                Definition::of(&fragment.node.selection_set.node),
            )
        })
        .collect();
    let mut done: HashMap<&str, Cost> = HashMap::with_capacity(fragments.len());
    let mut visiting: HashSet<&str> = HashSet::new();
    for &root in fragments.keys() {
        if done.contains_key(root) {
            continue;
        }
        // Each frame: a fragment and the spreads of it still to finish.
        let mut stack: Vec<(&str, Vec<&str>)> = Vec::new();
        visiting.insert(root);
        stack.push((root, fragments[root].spreads.keys().copied().collect()));
        while let Some((name, pending)) = stack.last_mut() {
            match pending.pop() {
                Some(next) => {
                    if done.contains_key(next) || visiting.contains(next) {
                        continue;
                    }
                    if let Some(definition) = fragments.get(next) {
                        visiting.insert(next);
                        stack.push((next, definition.spreads.keys().copied().collect()));
                    }
                }
                None => {
                    let name = *name;
                    let definition = &fragments[name];
                    let mut cost = definition.own;
                    for (spread, times) in &definition.spreads {
                        // Absent: unknown, or on the path being walked (a cycle).
                        if let Some(inner) = done.get(spread) {
                            cost.add(*inner, *times);
                        }
                    }
                    visiting.remove(name);
                    done.insert(name, cost);
                    stack.pop();
                }
            }
        }
    }
    let mut total = Cost::default();
    for (_, operation) in document.operations.iter() {
        let definition = Definition::of(&operation.node.selection_set.node);
        total.add(definition.own, 1);
        for (spread, times) in &definition.spreads {
            if let Some(inner) = done.get(spread) {
                total.add(*inner, *times);
            }
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_graphql::parser::parse_query;

    fn cost(text: &str) -> Cost {
        expanded_cost(&parse_query(text).expect("parses"))
    }

    /// Fragment `f{n}` spreads `f{n-1}` twice: 2^n fields once expanded.
    fn doubling(levels: u32) -> String {
        let mut text = String::from("query { ...f0 }\nfragment f1 on Query { __typename }\n");
        text = text.replace("...f0", &format!("...f{levels}"));
        for n in 2..=levels {
            text.push_str(&format!(
                "fragment f{n} on Query {{ ...f{m} ...f{m} }}\n",
                m = n - 1
            ));
        }
        text
    }

    #[test]
    fn spreads_are_counted_as_expanded() {
        assert_eq!(cost(&doubling(1)).fields, 1);
        assert_eq!(cost(&doubling(20)).fields, 1 << 19);
        // Counted with memoisation: walking 2^80 selections would never end.
        assert_eq!(cost(&doubling(80)).fields, u64::MAX);
        let limits = DocumentLimits {
            max_aliases: 30,
            max_fields: 1_000,
            introspection: true,
        };
        let error = limits
            .check(&parse_query(doubling(20)).expect("parses"))
            .expect_err("refused");
        assert!(error.message.contains("524288 fields"), "{}", error.message);
    }

    #[test]
    fn a_long_chain_of_fragments_needs_no_deep_stack() {
        let mut text = String::from("{ ...f0 }\n");
        for n in 0..20_000 {
            text.push_str(&format!("fragment f{n} on Query {{ a ...f{} }}\n", n + 1));
        }
        text.push_str("fragment f20000 on Query { a }\n");
        assert_eq!(cost(&text).fields, 20_001);
    }

    #[test]
    fn repeated_fields_count_like_aliases() {
        assert_eq!(cost("{ a b c }").aliases, 0);
        assert_eq!(cost("{ a a a }").aliases, 2);
        assert_eq!(cost("{ x: a y: a }").aliases, 2);
        // Inline fragments select into their parent's level; a sub-selection is a level of
        // its own.
        assert_eq!(cost("{ a ... { a } b { a } }").aliases, 1);
        // Through fragments, once per spread.
        assert_eq!(
            cost("{ ...F ...F ...F } fragment F on Query { x: a y: a }").aliases,
            6
        );
    }

    #[test]
    fn cycles_and_unknown_fragments_are_left_to_validation() {
        let cycle = cost("{ ...A } fragment A on Query { a ...B } fragment B on Query { b ...A }");
        // Which edge of the cycle is dropped depends on where the walk starts.
        assert!((1..=2).contains(&cycle.fields), "{cycle:?}");
        assert_eq!(cost("{ a ...Missing }").fields, 1);
    }

    #[test]
    fn introspection_is_seen_through_fragments() {
        assert!(cost("{ ...F } fragment F on Query { __schema { types { name } } }").introspects);
        assert!(!cost("{ __typename }").introspects);
    }
}
