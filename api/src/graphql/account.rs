//! `CloudAccount`: an AWS account, GCP project or Azure subscription, and its filter.

use super::common::{
    Ancestor, AncestorType, Tag, TagFilter, contains_ci, filter_text, json_has, tags_of,
};
use super::enums::{AccountStatus, Provider, to_store};
use super::id::{NodeType, encode};
use super::row::{PageValues, PlainFields, plain_objects};
use super::run::{SharedRun, load_run};
use crate::error::{ApiError, ApiResult};
use async_graphql::parser::types::Field;
use async_graphql::resolver_utils::enum_value;
use async_graphql::{
    Context, ContextSelectionSet, ID, InputObject, Json, Object, Positioned, ScalarType,
    Value as GqlValue, to_value,
};
use chrono::{DateTime, Utc};
use entity::cloud_account::{self, Column as C};
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
    async fn last_run(&self, ctx: &Context<'_>) -> ApiResult<Option<SharedRun>> {
        load_run(ctx, self.0.last_run_id).await
    }
    /// Where the facts came from: API operations, request ids, page.
    async fn provenance(&self) -> Json<&Value> {
        Json(&self.0.provenance)
    }
    /// The provider's full record.
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

/// Every field but `history` (it waits on its loader, and takes arguments). Those not read
/// off the row here resolve without the database: `lastRun` once per run and selection
/// (the page primed its runs, [`super::run::prime_runs`]), the rest from the row.
impl PlainFields for CloudAccount {
    fn is_plain(name: &str) -> bool {
        name != "history"
    }

    fn plain(
        &self,
        ctx: &ContextSelectionSet<'_>,
        field: &Positioned<Field>,
        page: &mut PageValues,
    ) -> Option<GqlValue> {
        let row = &self.0;
        let text = |text: &str| GqlValue::String(text.to_owned());
        let optional = |value: &Option<String>| value.as_deref().map_or(GqlValue::Null, text);
        let time =
            |at: &Option<DateTime<Utc>>| at.as_ref().map_or(GqlValue::Null, |at| at.to_value());
        Some(match field.node.name.node.as_str() {
            "__typename" => text("CloudAccount"),
            "id" => encode(NodeType::CloudAccount, &row.id).to_value(),
            "key" => text(&row.id),
            "nativeId" => text(&row.native_id),
            "provider" => enum_value(Provider::from(row.provider)),
            "name" => text(&row.name),
            "orgPath" => text(&row.org_path),
            "parent" => optional(&row.parent),
            "status" => enum_value(AccountStatus::from(row.status)),
            "rawStatus" => optional(&row.raw_status),
            "regionResidency" => optional(&row.region_residency),
            "scope" => text(&row.scope),
            "source" => text(&row.source),
            "firstSeenAt" => row.first_seen_at.to_value(),
            "lastSeenAt" => row.last_seen_at.to_value(),
            "removedAt" => time(&row.removed_at),
            "tagsReadAt" => time(&row.tags_read_at),
            "lastRun" => return super::run::resolved_run(ctx, field, row.last_run_id, page),
            // What `Json`'s resolver gives, without a future per field and row.
            "raw" => to_value(&row.raw).unwrap_or_default(),
            "provenance" => to_value(&row.provenance).unwrap_or_default(),
            "tags" => {
                return plain_objects(
                    field,
                    page,
                    row.tags.0.iter(),
                    |(key, value), name| match name {
                        "__typename" => Some(text("Tag")),
                        "key" => Some(text(key)),
                        "value" => Some(text(value)),
                        _ => None,
                    },
                );
            }
            "ancestors" => {
                return plain_objects(
                    field,
                    page,
                    row.ancestors.0.iter(),
                    |node, name| match name {
                        "__typename" => Some(text("Ancestor")),
                        "id" => Some(text(&node.id)),
                        "name" => Some(text(&node.name)),
                        "kind" => Some(text(&node.kind)),
                        "type" => Some(enum_value(AncestorType::of(&node.kind))),
                        _ => None,
                    },
                );
            }
            _ => return None,
        })
    }
}

/// The columns a field of `CloudAccount` reads; `None` for a field that reads the whole row
/// (and for a field not listed here, so that one added later is never given a blank).
fn columns_read_by(field: &str) -> Option<&'static [C]> {
    Some(match field {
        "__typename" => &[],
        "id" | "key" | "history" => &[C::Id],
        "nativeId" => &[C::NativeId],
        "provider" => &[C::Provider],
        "name" => &[C::Name],
        "orgPath" => &[C::OrgPath],
        "ancestors" => &[C::Ancestors],
        "parent" => &[C::Parent],
        "status" => &[C::Status],
        "rawStatus" => &[C::RawStatus],
        "regionResidency" => &[C::RegionResidency],
        "tags" => &[C::Tags],
        "tagsReadAt" => &[C::TagsReadAt],
        "scope" => &[C::Scope],
        "source" => &[C::Source],
        "firstSeenAt" => &[C::FirstSeenAt],
        "lastSeenAt" => &[C::LastSeenAt],
        "removedAt" => &[C::RemovedAt],
        "lastRun" => &[C::LastRunId],
        "provenance" => &[C::Provenance],
        "raw" => &[C::Raw],
        _ => return None,
    })
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

/// The columns a page of assets (`lookup`) reads for its accounts: what the fields its nodes
/// ask for outside fragments on `MonitoringEndpoint` read. The Backstage entity pages ask
/// for both members' fields on every view; taking every fragment, an endpoint's `url` would
/// make each account read its whole row.
pub fn asset_page_columns(ctx: &Context<'_>) -> Vec<C> {
    columns_for(super::page::union_node_fields(ctx, "MonitoringEndpoint"))
}

/// The key and the columns the fields named read, in table order; every column when one of
/// them reads the whole row.
fn columns_for<'a>(fields: impl IntoIterator<Item = &'a str>) -> Vec<C> {
    use sea_orm::Iterable;
    let mut wanted = vec![false; C::iter().count()];
    wanted[C::Id as usize] = true;
    for field in fields {
        match columns_read_by(field) {
            Some(columns) => {
                for column in columns {
                    wanted[*column as usize] = true;
                }
            }
            None => return C::iter().collect(),
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
            cond = cond.add(super::common::has_ancestor(backend, "cloud_accounts", id));
        }
        if let Some(tags) = &self.tag {
            if tags.len() > super::common::MAX_TAG_FILTERS {
                return Err(ApiError::bad_input(
                    "tag",
                    format!("at most {} tag conditions", super::common::MAX_TAG_FILTERS),
                ));
            }
            for tag in tags {
                cond = cond.add(json_has(backend, "cloud_accounts", "tags", tag)?);
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
    }

    #[test]
    fn a_field_not_listed_reads_the_whole_row() {
        let all = names(C::iter().collect());
        assert_eq!(names(columns_for(["name", "backstageEntity"])), all);
        assert_eq!(names(columns_for(["aFieldAddedLater"])), all);
    }
}
