//! `CloudAccount`: an AWS account, GCP project or Azure subscription, and its filter.

use super::common::{Ancestor, Tag, TagFilter, filter_text, tag_condition, tags_of};
use super::enums::{AccountStatus, Provider, to_store};
use super::id::{NodeType, encode};
use super::run::{CollectorRun, load_run};
use crate::error::{ApiError, ApiResult};
use async_graphql::{Context, ID, InputObject, Json, Object};
use chrono::{DateTime, Utc};
use entity::cloud_account::{self, Column as C};
use entity::query::{Tagged, contains_ci, has_ancestor};
use sea_orm::sea_query::{Expr, ExprTrait, Func};
use sea_orm::{ColumnTrait, Condition, DbBackend, EntityTrait, Select};
use serde_json::Value;

pub struct CloudAccount(pub cloud_account::Model);

impl From<cloud_account::Model> for CloudAccount {
    fn from(model: cloud_account::Model) -> Self {
        Self(model)
    }
}

impl super::page::CursorKey for CloudAccount {
    fn cursor_key(&self) -> String {
        self.0.id.clone()
    }
}

/// An AWS account, GCP project or Azure subscription.
#[Object]
impl CloudAccount {
    /// Opaque global id; resolves through `node(id:)`.
    pub async fn id(&self) -> ID {
        encode(NodeType::CloudAccount, &self.0.id)
    }
    /// The inventory's stable key, `<provider>:<nativeId>` (e.g. `aws:123456789012`).
    async fn key(&self) -> &str {
        &self.0.id
    }
    /// The provider's id: AWS account id, GCP project id, Azure subscription id.
    async fn native_id(&self) -> &str {
        &self.0.native_id
    }
    async fn provider(&self) -> Provider {
        self.0.provider.into()
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Human-readable hierarchy, e.g. `o-abc/r-root/Prod/Payments`.
    async fn org_path(&self) -> &str {
        &self.0.org_path
    }
    /// The hierarchy from the organization root down to the direct parent.
    async fn ancestors(&self) -> Vec<Ancestor> {
        self.0.ancestors.0.iter().map(Ancestor::from).collect()
    }
    /// The direct parent's id (OU, folder, management group), if any.
    async fn parent(&self) -> Option<&str> {
        self.0.parent.as_deref()
    }
    async fn status(&self) -> AccountStatus {
        self.0.status.into()
    }
    /// The provider's own status word (`ACTIVE`, `DELETE_REQUESTED`, `Warned`…).
    async fn raw_status(&self) -> Option<&str> {
        self.0.raw_status.as_deref()
    }
    async fn region_residency(&self) -> Option<&str> {
        self.0.region_residency.as_deref()
    }
    /// Tags or labels, sorted by key.
    async fn tags(&self) -> Vec<Tag> {
        tags_of(&self.0.tags)
    }
    /// When `tags` were read from the provider; null until first read. GCP labels and Azure
    /// tags come with every listing; AWS reads tags apart, a share of the accounts per run,
    /// stalest first, so they can be a few runs older than `lastSeenAt` (see the collectors'
    /// documentation).
    async fn tags_read_at(&self) -> Option<DateTime<Utc>> {
        self.0.tags_read_at
    }
    /// The organization or tenant the collector read.
    async fn scope(&self) -> &str {
        &self.0.scope
    }
    /// Collector and version that last wrote this account.
    async fn source(&self) -> &str {
        &self.0.source
    }
    async fn first_seen_at(&self) -> DateTime<Utc> {
        self.0.first_seen_at
    }
    async fn last_seen_at(&self) -> DateTime<Utc> {
        self.0.last_seen_at
    }
    /// When a complete read of its scope last missed this account; null while present.
    async fn removed_at(&self) -> Option<DateTime<Utc>> {
        self.0.removed_at
    }
    /// What happened to this account, newest first: each change's kind, time, fields
    /// (old and new values) and the run or person that made it.
    #[graphql(complexity = "super::limits::loaded_page_complexity(first, child_complexity)")]
    async fn history(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<super::history::AssetChangeConnection> {
        super::history::history(
            ctx,
            entity::enums::AssetType::CloudAccount,
            &self.0.id,
            first,
            after,
        )
        .await
    }
    /// The run that last saw this account.
    async fn last_run(&self, ctx: &Context<'_>) -> ApiResult<Option<CollectorRun>> {
        load_run(ctx, self.0.last_run_id).await
    }
    /// Where the facts came from: API operations, request ids, page.
    async fn provenance(&self) -> Json<&Value> {
        Json(&self.0.provenance)
    }
    /// The provider's full record.
    #[graphql(guard = "RawGuard")]
    async fn raw(&self) -> Json<&Value> {
        Json(&self.0.raw)
    }
    /// This account as a Backstage catalog entity (`kind: Resource`, `spec.type:
    /// cloud-account`), ready for an entity provider to apply. A removed account carries the
    /// annotation `asset-inventory/removed: "true"`: remove it from the catalog on purpose.
    async fn backstage_entity(&self, ctx: &Context<'_>) -> ApiResult<Json<Value>> {
        let options = ctx
            .data::<crate::backstage::Options>()
            .map_err(|_| ApiError::Internal)?;
        Ok(Json(crate::backstage::account_entity(options, &self.0)))
    }
}

/// The guard of `CloudAccount.raw`: refuses it to a request that carries [`RawRefused`].
/// No caller is refused today; it is the one guard on a row's field, so that a test
/// (`a_guard_on_a_row_field_holds_on_every_path_to_the_row`) proves every path to a row runs
/// its fields' guards, as the day a field needs a role will need.
pub struct RawGuard;

/// Request data that makes [`RawGuard`] refuse `raw`.
pub struct RawRefused;

impl async_graphql::Guard for RawGuard {
    async fn check(&self, ctx: &Context<'_>) -> async_graphql::Result<()> {
        match ctx.data_opt::<RawRefused>() {
            Some(_) => Err("raw is refused to this caller".into()),
            None => Ok(()),
        }
    }
}

/// What a field of `CloudAccount` reads from its row.
enum Reads {
    Nothing,
    Column(C),
    WholeRow,
}

/// What field `name` of `CloudAccount` reads: a field named as a column in camelCase
/// (`orgPath`) reads that column; the others are listed. `None` for a name that is not a
/// field of `CloudAccount` (a fragment on the other member of a union page);
/// `every_field_declares_what_it_reads` checks every field of the schema is covered.
fn reads(name: &str) -> Option<Reads> {
    use sea_orm::{IdenStatic, Iterable};
    Some(match name {
        "__typename" => Reads::Nothing,
        "id" | "key" | "history" => Reads::Column(C::Id),
        "lastRun" => Reads::Column(C::LastRunId),
        "backstageEntity" => Reads::WholeRow,
        field => Reads::Column(C::iter().find(|c| camel_case(c.as_str()) == field)?),
    })
}

/// `org_path` → `orgPath`, as async-graphql names fields.
fn camel_case(snake: &str) -> String {
    let mut parts = snake.split('_');
    let mut name = parts.next().unwrap_or_default().to_owned();
    for part in parts {
        let mut chars = part.chars();
        if let Some(first) = chars.next() {
            name.extend(first.to_uppercase());
            name.push_str(chars.as_str());
        }
    }
    name
}

/// The columns a page of accounts reads: the key (cursors) and what the fields its nodes
/// ask for read, in table order. A list showing names and statuses reads three columns,
/// not the provider's kilobyte record, tags and hierarchy of every row.
pub fn page_columns(ctx: &Context<'_>) -> Vec<C> {
    columns_for(super::page::node_fields(ctx))
}

/// The columns `account(...)` reads for the fields asked of it (fragments included). Bench
/// q2 asks seven fields of one account: reading the whole row parsed its kilobyte `raw`
/// record, hierarchy and provenance into JSON trees on every request only to drop them.
pub fn selection_columns(ctx: &Context<'_>) -> Vec<C> {
    columns_for(ctx.field().selection_set().map(|field| field.name()))
}

/// The key and the columns the fields named read, in table order; every column when one of
/// them reads the whole row. Names of other types' fields read nothing.
fn columns_for<'a>(fields: impl IntoIterator<Item = &'a str>) -> Vec<C> {
    use sea_orm::Iterable;
    let mut wanted = vec![false; C::iter().count()];
    wanted[C::Id as usize] = true;
    for field in fields {
        match reads(field) {
            Some(Reads::Column(column)) => wanted[column as usize] = true,
            Some(Reads::WholeRow) => return C::iter().collect(),
            Some(Reads::Nothing) | None => {}
        }
    }
    C::iter().filter(|c| wanted[*c as usize]).collect()
}

/// Accounts with only `columns`, in that order: decode each row with
/// [`cloud_account::Model::from_columns`].
pub fn select_columns(columns: &[C]) -> Select<cloud_account::Entity> {
    use sea_orm::QuerySelect;
    cloud_account::Entity::find()
        .select_only()
        .columns(columns.iter().copied())
}

/// Narrows `accounts`. All given conditions must hold; list conditions match any element.
#[derive(InputObject, Default, Debug)]
pub struct AccountFilter {
    pub provider: Option<Vec<Provider>>,
    pub status: Option<Vec<AccountStatus>>,
    /// Case-insensitive substring of the name.
    pub name_contains: Option<String>,
    /// The account sits at or below this org path (`o-abc/r-root/Prod` matches
    /// `o-abc/r-root/Prod` and `o-abc/r-root/Prod/Payments`, not `o-abc/r-root/Production`).
    pub org_path_prefix: Option<String>,
    /// The account sits below this hierarchy node, by its id (`ou-ab12-cdef3456`,
    /// `folders/123`, a management group): any depth, whatever the names on the way.
    pub subtree: Option<String>,
    /// Every tag condition must hold.
    pub tag: Option<Vec<TagFilter>>,
    pub scope: Option<Vec<String>>,
    /// Seen by a collector at or after this time.
    pub seen_since: Option<DateTime<Utc>>,
    /// Include accounts that are no longer present in their source.
    #[graphql(default)]
    pub include_removed: bool,
}

impl AccountFilter {
    pub fn condition(&self, backend: DbBackend) -> ApiResult<Condition> {
        let mut cond = Condition::all();
        if let Some(providers) = &self.provider {
            cond = cond.add(C::Provider.is_in(to_store::<_, entity::enums::Provider>(providers)));
        }
        if let Some(statuses) = &self.status {
            cond = cond.add(C::Status.is_in(to_store::<_, entity::enums::AccountStatus>(statuses)));
        }
        if let Some(needle) = &self.name_contains {
            cond = cond.add(contains_ci(C::Name, filter_text(needle, "nameContains")?));
        }
        if let Some(prefix) = &self.org_path_prefix {
            let prefix = filter_text(prefix, "orgPathPrefix")?.trim_end_matches('/');
            if prefix.is_empty() {
                return Err(ApiError::bad_input(
                    "orgPathPrefix",
                    "orgPathPrefix must name at least one level",
                ));
            }
            let below = format!("{prefix}/");
            cond = cond.add(
                Condition::any().add(C::OrgPath.eq(prefix)).add(
                    Expr::expr(
                        Func::cust("substr")
                            .arg(Expr::col((cloud_account::Entity, C::OrgPath)))
                            .arg(1)
                            .arg(i32::try_from(below.chars().count()).unwrap_or(i32::MAX)),
                    )
                    .eq(below),
                ),
            );
        }
        if let Some(id) = &self.subtree {
            let id = filter_text(id, "subtree")?;
            cond = cond.add(has_ancestor(backend, id));
        }
        if let Some(tags) = &self.tag {
            if tags.len() > super::common::MAX_TAG_FILTERS {
                return Err(ApiError::bad_input(
                    "tag",
                    format!("at most {} tag conditions", super::common::MAX_TAG_FILTERS),
                ));
            }
            for tag in tags {
                cond = cond.add(tag_condition(backend, Tagged::AccountTags, tag)?);
            }
        }
        if let Some(scopes) = &self.scope {
            cond = cond.add(C::Scope.is_in(scopes.iter().cloned()));
        }
        if let Some(since) = self.seen_since {
            cond = cond.add(C::LastSeenAt.gte(since));
        }
        if !self.include_removed {
            cond = cond.add(C::RemovedAt.is_null());
        }
        Ok(cond)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{Metrics, MetricsOptions};
    use entity::enums::{AccountStatus as StoredStatus, Provider as StoredProvider};
    use entity::record::AccountRecord;
    use entity::write::{WriteContext, upsert_accounts};
    use sea_orm::{IdenStatic, Iterable};

    fn names(columns: Vec<C>) -> Vec<&'static str> {
        columns.into_iter().map(|c| c.as_str()).collect()
    }

    #[test]
    fn fields_read_their_columns_and_the_key_in_table_order() {
        assert_eq!(
            names(columns_for(["status", "__typename", "name", "id"])),
            ["id", "name", "status"]
        );
        assert_eq!(
            names(columns_for(["raw", "lastRun"])),
            ["id", "raw", "last_run_id"]
        );
        assert_eq!(names(columns_for([])), ["id"]);
        // A union page: the other member's fields read nothing of an account.
        assert_eq!(names(columns_for(["url", "kind", "name"])), ["id", "name"]);
    }

    #[test]
    fn the_backstage_entity_reads_the_whole_row() {
        let all = names(C::iter().collect());
        assert_eq!(names(columns_for(["name", "backstageEntity"])), all);
    }

    fn record(native_id: &str) -> AccountRecord {
        AccountRecord {
            provider: StoredProvider::Aws,
            native_id: native_id.to_owned(),
            name: format!("account {native_id}"),
            org_path: "o/r".into(),
            ancestors: vec![entity::record::Ancestor {
                id: "o".into(),
                name: "Org".into(),
                kind: "organization".into(),
            }],
            parent: None,
            status: StoredStatus::Active,
            raw_status: None,
            region_residency: None,
            tags: Some(Default::default()),
            raw: serde_json::json!({ "Id": native_id }),
            scope: "o".into(),
            source: String::new(),
            provenance: serde_json::json!({}),
        }
    }

    async fn service(db: &mut entity::testing::TestDb) -> super::super::Service {
        let at = Utc::now();
        let run = entity::run::start_run(&db.conn, "test", "0", "o", at)
            .await
            .expect("run")
            .id;
        upsert_accounts(
            &db.conn,
            &WriteContext::run(run, at),
            vec![record("111111111111"), record("222222222222")],
        )
        .await
        .expect("write");
        let metrics = Metrics::new(&mut db.conn, MetricsOptions::default()).expect("metrics");
        super::super::build(
            db.conn.clone(),
            Default::default(),
            Default::default(),
            Default::default(),
            metrics,
        )
    }

    #[tokio::test]
    async fn a_guard_on_a_row_field_holds_on_every_path_to_the_row() {
        let mut db = entity::testing::TestDb::sqlite().await;
        let service = service(&mut db).await;
        let id = encode(NodeType::CloudAccount, "aws:111111111111");
        let lookup = r#"lookup(annotation: {key: "amazonaws.com/organization-id", value: "o"})"#;
        let paths = [
            "{ accounts { nodes { raw } } }".to_owned(),
            "{ accounts { edges { node { raw } } } }".to_owned(),
            "{ accounts { nodes { ...A } } } fragment A on CloudAccount { raw }".to_owned(),
            "{ accounts { nodes { ... on CloudAccount { ... on CloudAccount { raw } } } } }"
                .to_owned(),
            // Fragments around the connection and the edge: pruning must still see `raw`.
            "{ accounts { ...C } } fragment C on CloudAccountConnection { nodes { raw } }"
                .to_owned(),
            "{ accounts { edges { ...E } } } fragment E on CloudAccountEdge { node { raw } }"
                .to_owned(),
            format!(
                r#"{{ node(id: "{}") {{ ... on CloudAccount {{ raw }} }} }}"#,
                id.0
            ),
            format!(r#"{{ account(id: "{}") {{ raw }} }}"#, id.0),
            r#"{ account(provider: AWS, nativeId: "111111111111") { raw } }"#.to_owned(),
            format!("{{ {lookup} {{ nodes {{ ... on CloudAccount {{ raw }} }} }} }}"),
            format!(
                "{{ {lookup} {{ edges {{ node {{ ...A }} }} }} }} fragment A on CloudAccount {{ raw }}"
            ),
            "{ changes { nodes { asset { ... on CloudAccount { raw } } } } }".to_owned(),
        ];
        for query in &paths {
            let allowed = service.execute(async_graphql::Request::new(query)).await;
            assert!(allowed.errors.is_empty(), "{query}: {:?}", allowed.errors);
            assert!(
                allowed.data.to_string().contains("111111111111"),
                "{query}: {}",
                allowed.data
            );
            let denied = service
                .execute(async_graphql::Request::new(query).data(RawRefused))
                .await;
            assert!(
                !denied.errors.is_empty()
                    && denied
                        .errors
                        .iter()
                        .all(|e| e.message == "raw is refused to this caller"),
                "{query}: {:?}",
                denied.errors
            );
            assert!(
                !denied.data.to_string().contains("\"Id\""),
                "{query} gave a raw record past its guard: {}",
                denied.data
            );
        }
        db.finish().await;
    }

    #[tokio::test]
    async fn every_field_declares_what_it_reads() {
        let mut db = entity::testing::TestDb::sqlite().await;
        let service = service(&mut db).await;
        let response = service
            .execute(async_graphql::Request::new(
                r#"{ __type(name: "CloudAccount") { fields { name } } }"#,
            ))
            .await;
        assert!(response.errors.is_empty(), "{:?}", response.errors);
        let data = response.data.into_json().expect("json");
        let mut in_schema: Vec<&str> = data["__type"]["fields"]
            .as_array()
            .expect("fields")
            .iter()
            .map(|field| field["name"].as_str().expect("a name"))
            .collect();
        in_schema.push("__typename");
        for field in &in_schema {
            assert!(reads(field).is_some(), "{field} reads no declared column");
        }
        assert!(matches!(reads("orgPath"), Some(Reads::Column(C::OrgPath))));
        assert!(matches!(
            reads("tagsReadAt"),
            Some(Reads::Column(C::TagsReadAt))
        ));
        assert!(reads("url").is_none());

        // And each field alone, read through a page (pruned), is what the whole row gives.
        for field in in_schema.iter().filter(|name| **name != "history") {
            let selection = match *field {
                "tags" => "tags { key value }",
                "ancestors" => "ancestors { id name kind }",
                "lastRun" => "lastRun { id }",
                other => other,
            };
            let pruned = service
                .execute(async_graphql::Request::new(format!(
                    "{{ accounts {{ nodes {{ {selection} }} }} }}"
                )))
                .await;
            let whole = service
                .execute(async_graphql::Request::new(format!(
                    "{{ accounts {{ nodes {{ {selection} whole: backstageEntity }} }} }}"
                )))
                .await;
            assert!(
                pruned.errors.is_empty() && whole.errors.is_empty(),
                "{field}"
            );
            let pruned = pruned.data.into_json().expect("json");
            let mut whole = whole.data.into_json().expect("json");
            for node in whole["accounts"]["nodes"].as_array_mut().expect("nodes") {
                node.as_object_mut().map(|node| node.remove("whole"));
            }
            assert_eq!(pruned, whole, "{field}");
        }
        db.finish().await;
    }
}
