//! Rows of a page resolved without a future per field, when every field they ask for is a
//! plain one ([`PlainFields`]).
//!
//! async-graphql makes each row of a list a future, and each field of each row a boxed
//! future the size of the type's largest field resolver, polls them together and gathers
//! the values into a map. A row whose selection is only fields read straight off the row
//! (no directives left, no arguments; fragments, inline or named, read as async-graphql
//! reads them) needs none of that: [`Row`] builds its map directly, [`Rows`] a page of them
//! one after another, and both fall back to async-graphql for anything else, so what a
//! client gets is the same either way (`tests/it/lists.rs` checks every field both ways).
//! Bench q1 (`nodes { id name status }`, 100 rows), alternating runs: API CPU 561-638
//! µs a request without, 443-496 with; q4's `lastRun` added 360 µs a page before, 125 now
//! (it is one more plain field here). `lookup`'s nodes, a union, are built as their member
//! type's rows (`super::asset`): bench q8, the Backstage operation `assets-by-annotation`
//! (50 accounts in an inline fragment), 6.09M → 3.49M instructions a request (callgrind).

use async_graphql::indexmap::IndexMap;
use async_graphql::parser::types::{Field, FragmentDefinition, Selection, SelectionSet};
use async_graphql::registry::Registry;
use async_graphql::resolver_utils::resolve_list;
use async_graphql::{
    ContainerType, ContextSelectionSet, Name, OutputType, Positioned, ServerResult, Value,
};
use std::borrow::Cow;
use std::collections::HashMap;

/// An object type some of whose fields can be read straight off the object.
pub trait PlainFields: ContainerType {
    /// Whether field `name` is plain: it takes no arguments, has no guard, and is either read
    /// off the row ([`PlainFields::plain`] gives its value, which cannot fail) or resolves
    /// without waiting on the database (it then goes through the type's resolver, one field
    /// at a time, its error handled as async-graphql handles it). Nothing is plain unless a
    /// type says so.
    fn is_plain(_name: &str) -> bool {
        false
    }

    /// The value of plain field `field` (its selection set included), or `None` to resolve
    /// it through the type's own resolver. `page` holds values the page's rows share.
    fn plain(
        &self,
        _ctx: &ContextSelectionSet<'_>,
        _field: &Positioned<Field>,
        _page: &mut PageValues,
    ) -> Option<Value> {
        None
    }
}

/// What the rows of one page share, found by the selection it belongs to (its address: the
/// document outlives the page) with a short scan: values by a key (a page's rows name the
/// same one or two runs), found here instead of in the request's map behind a lock and a
/// SipHash; and the selections of the small lists in each row ([`plain_objects`]).
#[derive(Default)]
pub struct PageValues {
    values: Vec<(usize, i64, Value)>,
    lists: Vec<(usize, Option<ListSelection>)>,
}

/// The selection of a list of small objects, decided once a page rather than once a row:
/// each row's list repeated the walk and hashed each key into a new blank object (callgrind,
/// a request: bench q8, 50 accounts with tags and ancestors, 3.03M instructions → 2.88M;
/// q3, 100 accounts, 12.70M → 12.37M).
struct ListSelection {
    /// The fields' names, in the order of `blank`'s response keys.
    names: Vec<Name>,
    blank: IndexMap<Name, Value>,
}

impl PageValues {
    /// The value for `field` and `key`, from the page if a row before kept it, else from
    /// `value` (kept for the rows after when there is one).
    pub fn get_or_insert_with(
        &mut self,
        field: &Positioned<Field>,
        key: i64,
        value: impl FnOnce() -> Option<Value>,
    ) -> Option<Value> {
        let at = std::ptr::from_ref(field) as usize;
        if let Some((_, _, kept)) = self.values.iter().find(|(f, k, _)| *f == at && *k == key) {
            return Some(kept.clone());
        }
        let value = value()?;
        self.values.push((at, key, value.clone()));
        Some(value)
    }

    /// The selection of list `field`, decided by the page's first row that asks for it.
    fn list_selection(&mut self, field: &Positioned<Field>) -> Option<&ListSelection> {
        let at = std::ptr::from_ref(field) as usize;
        let index = match self.lists.iter().position(|(f, _)| *f == at) {
            Some(index) => index,
            None => {
                let selection = simple_fields(&field.node.selection_set.node, None, |field| {
                    field.selection_set.node.items.is_empty()
                })
                .map(|selection| ListSelection {
                    names: (selection.fields.iter())
                        .map(|field| field.node.name.node.clone())
                        .collect(),
                    blank: selection.blank,
                });
                self.lists.push((at, selection));
                self.lists.len() - 1
            }
        };
        self.lists[index].1.as_ref()
    }
}

/// The fields of a selection whose objects are built directly, and an object holding their
/// response keys, in order, with no values yet, as each object starts. Inserting a key into
/// async-graphql's map hashes it with std's SipHash, which it fixes; a copy of a map keeps
/// its keys' hashes (callgrind, bench q1: the inserts were 6 % of a request's instructions).
pub(super) struct PlainSelection<'a> {
    pub(super) fields: Vec<&'a Positioned<Field>>,
    pub(super) blank: IndexMap<Name, Value>,
}

impl<'a> PlainSelection<'a> {
    /// The plain selection of a `M` in a list of `within` (`M` itself, or a union it is a
    /// member of), when every field it asks of a `M` is plain (see [`simple_fields`]).
    /// Fragments, inline or named, are read as async-graphql reads them: those on `M`, on an
    /// interface it implements or on `within` apply; those on other types ask nothing of it.
    pub(super) fn of<M: PlainFields>(
        ctx: &'a ContextSelectionSet<'_>,
        within: &str,
    ) -> Option<Self> {
        let member = M::type_name();
        let applies = |condition: &str| {
            condition == member
                || condition == within
                || ctx
                    .schema_env
                    .registry
                    .implements
                    .get(member.as_ref())
                    .is_some_and(|interfaces| interfaces.contains(condition))
        };
        let fragments = Fragments {
            applies: &applies,
            named: &ctx.query_env.fragments,
        };
        simple_fields(&ctx.item.node, Some(&fragments), |field| {
            M::is_plain(&field.name.node)
        })
    }

    /// `object` with `value` for the field at `index` of the selection.
    fn set(object: &mut IndexMap<Name, Value>, index: usize, value: Value) {
        if let Some((_, slot)) = object.get_index_mut(index) {
            *slot = value;
        }
    }
}

/// The fragments a selection's fields may come from: those whose type condition `applies`
/// accepts (or that have none), inline or named (`named`, the request's definitions).
struct Fragments<'f, 'a> {
    applies: &'f dyn Fn(&str) -> bool,
    named: &'a HashMap<Name, Positioned<FragmentDefinition>>,
}

/// The fields of `selection`, in order, when each is a field with no directives or arguments
/// that `keep` accepts and no response key repeats (a repeated key merges its selections:
/// async-graphql's to do); else `None`. Fields of a fragment without directives count where
/// `fragments` accepts it, and the fragment is left out where it does not; with no
/// `fragments`, any fragment makes the selection not simple.
fn simple_fields<'a>(
    selection: &'a SelectionSet,
    fragments: Option<&Fragments<'_, 'a>>,
    keep: impl Fn(&Field) -> bool,
) -> Option<PlainSelection<'a>> {
    let mut fields = Vec::new();
    collect_simple(&selection.items, fragments, &keep, &mut fields)?;
    let blank: IndexMap<Name, Value> = fields
        .iter()
        .map(|field| (field.node.response_key().node.clone(), Value::Null))
        .collect();
    // An empty object (every fragment on other types) is left to async-graphql.
    (!fields.is_empty() && blank.len() == fields.len()).then_some(PlainSelection { fields, blank })
}

/// [`simple_fields`]' walk: `items`' fields appended to `fields`, or `None`.
fn collect_simple<'a>(
    items: &'a [Positioned<Selection>],
    fragments: Option<&Fragments<'_, 'a>>,
    keep: &impl Fn(&Field) -> bool,
    fields: &mut Vec<&'a Positioned<Field>>,
) -> Option<()> {
    for item in items {
        let (condition, selection) = match &item.node {
            Selection::Field(field)
                if field.node.directives.is_empty()
                    && field.node.arguments.is_empty()
                    && keep(&field.node) =>
            {
                fields.push(field);
                continue;
            }
            Selection::InlineFragment(fragment) if fragment.node.directives.is_empty() => (
                fragment.node.type_condition.as_ref(),
                &fragment.node.selection_set,
            ),
            Selection::FragmentSpread(spread) if spread.node.directives.is_empty() => {
                let fragment = fragments?.named.get(&spread.node.fragment_name.node)?;
                (
                    Some(&fragment.node.type_condition),
                    &fragment.node.selection_set,
                )
            }
            _ => return None,
        };
        let fragments = fragments?;
        if condition.is_none_or(|condition| (fragments.applies)(&condition.node.on.node)) {
            collect_simple(&selection.node.items, Some(fragments), keep, fields)?;
        }
    }
    Some(())
}

/// A list of small objects (an account's tags, its ancestors) built directly, when `field`'s
/// selection asks each only for scalar fields that `scalar` gives, with no directives,
/// arguments or fragments; `None` otherwise, to resolve it through async-graphql. There, each
/// object is a future and each of its fields another, polled together: for q3 (100 accounts,
/// every field) that was a tenth of the API's CPU. `page` keeps the selection for the rows
/// after.
pub fn plain_objects<I: ExactSizeIterator>(
    field: &Positioned<Field>,
    page: &mut PageValues,
    items: I,
    scalar: impl Fn(&I::Item, &str) -> Option<Value>,
) -> Option<Value> {
    let selection = page.list_selection(field)?;
    let mut list = Vec::with_capacity(items.len());
    for item in items {
        let mut object = selection.blank.clone();
        for (index, name) in selection.names.iter().enumerate() {
            PlainSelection::set(&mut object, index, scalar(&item, name)?);
        }
        list.push(Value::Object(object));
    }
    #[cfg(test)]
    tests::PLAIN_LISTS.set(tests::PLAIN_LISTS.get() + 1);
    Some(Value::List(list))
}

/// A node of a page: the same type to clients, resolved through [`PlainFields`] when it can.
pub struct Row<T>(pub T);

impl PlainSelection<'_> {
    /// `object`'s value as a row resolved on its own: the blank object is taken.
    pub(super) async fn only_row<M: PlainFields>(
        self,
        object: &M,
        ctx: &ContextSelectionSet<'_>,
    ) -> Value {
        build(
            object,
            ctx,
            &self.fields,
            self.blank,
            &mut PageValues::default(),
        )
        .await
    }
}

/// `object`'s value for plain `fields`, built as async-graphql would: a field's error goes
/// to the response and the field is left out. `values` is the selection's blank object, which
/// a page copies for each row. A page calls this directly: through a method of
/// [`PlainSelection`], one more future around this one was moved for every row (callgrind,
/// bench q1: 0.5 % of a request).
pub(super) async fn build<M: PlainFields>(
    object: &M,
    ctx: &ContextSelectionSet<'_>,
    fields: &[&Positioned<Field>],
    mut values: IndexMap<Name, Value>,
    page: &mut PageValues,
) -> Value {
    let mut failed = Vec::new();
    for (index, field) in fields.iter().enumerate() {
        let value = match object.plain(ctx, field, page) {
            Some(value) => value,
            // Boxed: inline, the type's resolver future (the size of its largest field's)
            // made every row's future that large.
            None => match Box::pin(object.resolve_field(&ctx.with_field(field))).await {
                Ok(value) => value.unwrap_or_default(),
                Err(error) => {
                    ctx.add_error(error);
                    failed.push(index);
                    continue;
                }
            },
        };
        PlainSelection::set(&mut values, index, value);
    }
    for index in failed.into_iter().rev() {
        values.shift_remove_index(index);
    }
    #[cfg(test)]
    tests::PLAIN_ROWS.set(tests::PLAIN_ROWS.get() + 1);
    if values.is_empty() {
        Value::Null
    } else {
        Value::Object(values)
    }
}

impl<T: PlainFields> OutputType for Row<T> {
    fn type_name() -> Cow<'static, str> {
        T::type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        T::create_type_info(registry)
    }

    async fn resolve(
        &self,
        ctx: &ContextSelectionSet<'_>,
        field: &Positioned<Field>,
    ) -> ServerResult<Value> {
        match PlainSelection::of::<T>(ctx, &T::type_name()) {
            Some(selection) => Ok(selection.only_row(&self.0, ctx).await),
            None => Box::pin(self.0.resolve(ctx, field)).await,
        }
    }
}

/// A page's `nodes`: the same list to clients. With a plain selection, decided once for the
/// page, the rows are built one after another, as none waits on anything; async-graphql
/// would make each row a future of its own and poll them together.
pub struct Rows<'a, T>(pub Vec<&'a Row<T>>);

impl<T: PlainFields> OutputType for Rows<'_, T> {
    fn type_name() -> Cow<'static, str> {
        <Vec<&Row<T>>>::type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        <Vec<&Row<T>>>::create_type_info(registry)
    }

    async fn resolve(
        &self,
        ctx: &ContextSelectionSet<'_>,
        field: &Positioned<Field>,
    ) -> ServerResult<Value> {
        let Some(selection) = PlainSelection::of::<T>(ctx, &T::type_name()) else {
            return resolve_list(ctx, field, self.0.iter().copied(), Some(self.0.len())).await;
        };
        let mut rows = Vec::with_capacity(self.0.len());
        let mut page = PageValues::default();
        for (index, row) in self.0.iter().enumerate() {
            rows.push(
                build(
                    &row.0,
                    &ctx.with_index(index),
                    &selection.fields,
                    selection.blank.clone(),
                    &mut page,
                )
                .await,
            );
        }
        Ok(Value::List(rows))
    }
}

// Pages of these resolve field by field as async-graphql does: none is read by the hundred
// on every page view (bench scenarios q1-q6 are accounts).
impl PlainFields for super::endpoint::MonitoringEndpoint {}
impl PlainFields for super::run::CollectorRun {}

#[cfg(test)]
mod tests {
    use crate::metrics::{Metrics, MetricsOptions};
    use chrono::Utc;
    use entity::enums::{AccountStatus, Provider};
    use entity::record::AccountRecord;
    use entity::write::{WriteContext, upsert_accounts};
    use std::cell::Cell;

    thread_local! {
        /// Rows resolved without per-field futures, on this thread (the test's runtime).
        pub(super) static PLAIN_ROWS: Cell<usize> = const { Cell::new(0) };
        /// Lists of objects built by `plain_objects`, on this thread.
        pub(super) static PLAIN_LISTS: Cell<usize> = const { Cell::new(0) };
    }

    fn record(native_id: &str) -> AccountRecord {
        AccountRecord {
            provider: Provider::Aws,
            native_id: native_id.to_owned(),
            name: format!("account {native_id}"),
            org_path: "o/r".into(),
            ancestors: vec![
                entity::record::Ancestor {
                    id: "o".into(),
                    name: "Org".into(),
                    kind: "organization".into(),
                },
                entity::record::Ancestor {
                    id: "ou-1".into(),
                    name: "Payments".into(),
                    kind: "organizational_unit".into(),
                },
            ],
            parent: None,
            status: AccountStatus::Active,
            raw_status: None,
            region_residency: None,
            tags: Some(
                [("team", "pay"), ("env", "prod")]
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
                    .into(),
            ),
            raw: serde_json::json!({ "Id": native_id, "Tags": [{ "Key": "team" }] }),
            scope: "o".into(),
            source: String::new(),
            provenance: serde_json::json!({}),
        }
    }

    /// The fast path is taken exactly where it may be: the answers are compared field by
    /// field with async-graphql's own in `tests/it/lists.rs`; this checks that the rows of
    /// the first queries did not go async-graphql's way after all, and that those of the
    /// others (an empty object, a field that waits on its loader, a repeated key) did.
    #[tokio::test]
    async fn only_plain_selections_skip_the_field_futures() {
        let mut db = entity::testing::TestDb::sqlite().await;
        let at = Utc::now();
        let run = entity::run::start_run(&db.conn, "test", "0", "o", at)
            .await
            .expect("run")
            .id;
        upsert_accounts(
            &db.conn,
            &WriteContext::run(run, at),
            vec![record("1"), record("2")],
        )
        .await
        .expect("write");
        let metrics = Metrics::new(&mut db.conn, MetricsOptions::default()).expect("metrics");
        let service = super::super::build(
            db.conn.clone(),
            Default::default(),
            Default::default(),
            Default::default(),
            metrics,
        );
        for (query, plain_rows) in [
            (
                "{ accounts { nodes { __typename id name status lastRun { id } } } }",
                2,
            ),
            ("{ accounts { edges { cursor node { a: id b: key } } } }", 2),
            // async-graphql applies `@skip` and `@include` before resolving anything.
            (
                "{ accounts { nodes { id name @include(if: true) key @skip(if: true) } } }",
                2,
            ),
            // Fragments that apply, inline or named, are read as the row's own fields, and
            // those on other types ask nothing of it.
            (
                "{ accounts { nodes { ... on CloudAccount { id } ... on Node { i: id } } } }",
                2,
            ),
            (
                "{ accounts { nodes { ...F } } } fragment F on CloudAccount { id ...G } \
                 fragment G on Node { i: id }",
                2,
            ),
            (
                "{ accounts { nodes { ...F } } } fragment F on CloudAccount { id history { nodes { kind } } }",
                0,
            ),
            (
                "{ lookup(annotation: {key: \"amazonaws.com/organization-id\", value: \"o\"}) \
                 { nodes { __typename ... on CloudAccount { key tags { key } } \
                 ... on MonitoringEndpoint { url } ... on Asset { t: __typename } } } }",
                2,
            ),
            (
                "{ lookup(annotation: {key: \"amazonaws.com/organization-id\", value: \"o\"}) \
                 { edges { node { ... on CloudAccount { key } } } } }",
                2,
            ),
            // Nothing asked of an account: an empty object, async-graphql's to build.
            (
                "{ lookup(annotation: {key: \"amazonaws.com/organization-id\", value: \"o\"}) \
                 { nodes { ... on MonitoringEndpoint { url } } } }",
                0,
            ),
            (
                "{ lookup(annotation: {key: \"amazonaws.com/organization-id\", value: \"o\"}) \
                 { nodes { ...F ...E } } } fragment F on CloudAccount { key } \
                 fragment E on MonitoringEndpoint { url }",
                2,
            ),
            (
                "{ accounts { nodes { id history { nodes { kind } } } } }",
                0,
            ),
            (
                "{ accounts { nodes { id lastRun { id } lastRun { status } } } }",
                0,
            ),
        ] {
            let before = PLAIN_ROWS.get();
            let response = service.execute(async_graphql::Request::new(query)).await;
            assert!(response.errors.is_empty(), "{query}: {:?}", response.errors);
            assert_eq!(PLAIN_ROWS.get() - before, plain_rows, "{query}");
        }
        // Built directly or by async-graphql (the rows of a selection holding a field that
        // is not plain, `h`, left out when comparing), a page reads the same; so do tags and
        // ancestors built directly, or by async-graphql where their own selection is not
        // plain (a fragment, a directive).
        let selection = "__typename id key name status parent removedAt lastRun { id status } \
            raw provenance tags { __typename k: key value } \
            ancestors { type id __typename n: name kind } \
            t: tags { ... on Tag { key } value } a: ancestors { ... on Ancestor { id type } } \
            s: tags { key @skip(if: false) value @include(if: false) }";
        const NOT_PLAIN: &str = "h: history { nodes { kind } }";
        let data = |query: String| {
            let service = &service;
            async move {
                let response = service.execute(async_graphql::Request::new(query)).await;
                assert!(response.errors.is_empty(), "{:?}", response.errors);
                let mut data = response.data.into_json().expect("json");
                for list in ["accounts", "lookup"] {
                    for node in data[list]["nodes"].as_array_mut().into_iter().flatten() {
                        node.as_object_mut().map(|node| node.remove("h"));
                    }
                }
                data
            }
        };
        let (lists, rows) = (PLAIN_LISTS.get(), PLAIN_ROWS.get());
        let direct = data(format!("{{ accounts {{ nodes {{ {selection} }} }} }}")).await;
        // `tags`, `ancestors` and `s` (directives are applied before resolving) of both
        // rows; `t` and `a` went async-graphql's way.
        assert_eq!(PLAIN_LISTS.get() - lists, 6);
        let by_name = data(format!(
            "{{ accounts {{ nodes {{ ...F }} }} }} fragment F on CloudAccount {{ {selection} }}"
        ))
        .await;
        assert_eq!(PLAIN_ROWS.get() - rows, 4);
        let by_async_graphql = data(format!(
            "{{ accounts {{ nodes {{ {selection} {NOT_PLAIN} }} }} }}"
        ))
        .await;
        assert_eq!(PLAIN_ROWS.get() - rows, 4);
        // The same through `lookup`, whose nodes are a union.
        let lookup = |nodes: String, fragments: String| {
            data(format!(
                "{{ lookup(annotation: {{key: \"amazonaws.com/organization-id\", value: \"o\"}}) \
                 {{ nodes {{ {nodes} }} }} }} {fragments}"
            ))
        };
        let union_direct = lookup(
            format!("... on CloudAccount {{ {selection} }} ... on MonitoringEndpoint {{ url }}"),
            String::new(),
        )
        .await;
        let union_by_name = lookup(
            "...F ...E".into(),
            format!(
                "fragment F on CloudAccount {{ {selection} }} \
                 fragment E on MonitoringEndpoint {{ url }}"
            ),
        )
        .await;
        assert_eq!(PLAIN_ROWS.get() - rows, 8);
        let union_by_async_graphql = lookup(
            format!(
                "... on CloudAccount {{ {selection} {NOT_PLAIN} }} \
                 ... on MonitoringEndpoint {{ url }}"
            ),
            String::new(),
        )
        .await;
        assert_eq!(PLAIN_ROWS.get() - rows, 8);
        for union in [&union_direct, &union_by_name, &union_by_async_graphql] {
            assert_eq!(union["lookup"]["nodes"], direct["accounts"]["nodes"]);
        }
        // A fragment on the union applies to a lookup's rows, and, as async-graphql has it,
        // to no row of a list of accounts.
        const ON_UNION: &str = "... on Asset { u: __typename }";
        let on_union = [
            lookup(
                format!("... on CloudAccount {{ key }} {ON_UNION}"),
                String::new(),
            )
            .await,
            lookup(
                format!("... on CloudAccount {{ key {NOT_PLAIN} }} {ON_UNION}"),
                String::new(),
            )
            .await,
        ];
        assert_eq!(on_union[0], on_union[1]);
        assert_eq!(on_union[0]["lookup"]["nodes"][1]["u"], "CloudAccount");
        let on_union = [
            data(format!("{{ accounts {{ nodes {{ key {ON_UNION} }} }} }}")).await,
            data(format!(
                "{{ accounts {{ nodes {{ key {ON_UNION} {NOT_PLAIN} }} }} }}"
            ))
            .await,
        ];
        assert_eq!(on_union[0], on_union[1]);
        assert_eq!(
            on_union[0]["accounts"]["nodes"][1],
            serde_json::json!({ "key": "aws:2" })
        );
        assert_eq!(PLAIN_ROWS.get() - rows, 12);
        let second = &direct["accounts"]["nodes"][1];
        assert_eq!(second["__typename"], "CloudAccount");
        assert_eq!(
            second["tags"][0],
            serde_json::json!({ "__typename": "Tag", "k": "env", "value": "prod" })
        );
        assert_eq!(second["ancestors"][1]["type"], "OU");
        assert_eq!(second["a"][0]["type"], "ORGANIZATION");
        assert_eq!(second["s"][1], serde_json::json!({ "key": "team" }));
        assert_eq!(second["raw"]["Id"], "2");
        assert_eq!(direct, by_name);
        assert_eq!(direct, by_async_graphql);
        db.finish().await;
    }

    /// A type whose fields all count as plain but resolve through its resolver, one of them
    /// failing: what `build` does with a field's error, against async-graphql's own.
    struct Failing(i32);

    #[async_graphql::Object]
    impl Failing {
        async fn ok(&self) -> i32 {
            self.0
        }

        async fn bad(&self) -> async_graphql::Result<i32> {
            Err(format!("boom {}", self.0).into())
        }
    }

    impl super::PlainFields for Failing {
        fn is_plain(_name: &str) -> bool {
            true
        }
    }

    struct FailingQuery(Vec<super::Row<Failing>>);

    #[async_graphql::Object]
    impl FailingQuery {
        async fn direct(&self) -> super::Rows<'_, Failing> {
            super::Rows(self.0.iter().collect())
        }

        async fn by_async_graphql(&self) -> Vec<&Failing> {
            self.0.iter().map(|row| &row.0).collect()
        }
    }

    /// A field that fails is left out of its row and its error reported at its path, and a
    /// row none of whose fields resolved is null, as async-graphql does (its
    /// `do_resolve_container`): the rows built directly read the same as its own.
    #[tokio::test]
    async fn a_failing_field_is_left_out_with_its_error_as_async_graphql_does() {
        use async_graphql::{EmptyMutation, EmptySubscription, Schema};
        let schema = Schema::new(
            FailingQuery(vec![super::Row(Failing(1)), super::Row(Failing(2))]),
            EmptyMutation,
            EmptySubscription,
        );
        for selection in ["ok bad", "bad", "bad ok ... on Failing { k: ok }"] {
            let rows = PLAIN_ROWS.get();
            let response = schema
                .execute(format!(
                    "{{ direct {{ {selection} }} byAsyncGraphql {{ {selection} }} }}"
                ))
                .await;
            assert_eq!(PLAIN_ROWS.get() - rows, 2, "{selection}");
            let data = response.data.into_json().expect("json");
            assert_eq!(data["direct"], data["byAsyncGraphql"], "{selection}");
            assert_eq!(data["direct"].as_array().map(Vec::len), Some(2));
            if selection == "bad" {
                assert_eq!(data["direct"], serde_json::json!([null, null]));
            } else {
                assert_eq!(data["direct"][1]["ok"], 2);
                assert!(data["direct"][1].get("bad").is_none(), "{data}");
            }
            let errors = |list: &str| {
                let mut errors: Vec<(String, String)> = response
                    .errors
                    .iter()
                    .filter(|e| {
                        e.path.first() == Some(&async_graphql::PathSegment::Field(list.into()))
                    })
                    .map(|e| (e.message.clone(), format!("{:?}", &e.path[1..])))
                    .collect();
                errors.sort();
                errors
            };
            assert_eq!(
                errors("direct"),
                [
                    (
                        "boom 1".to_owned(),
                        r#"[Index(0), Field("bad")]"#.to_owned()
                    ),
                    (
                        "boom 2".to_owned(),
                        r#"[Index(1), Field("bad")]"#.to_owned()
                    ),
                ],
                "{selection}"
            );
            assert_eq!(errors("direct"), errors("byAsyncGraphql"), "{selection}");
        }
    }
}
