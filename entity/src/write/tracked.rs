//! How the write path sees each table: key, bookkeeping columns, the observed fields whose
//! change is history, and how a record becomes a row.

use super::WriteContext;
use super::observed::Observed;
use crate::enums::{AssetType, EndpointStatus, Origin};
use crate::record::{AccountRecord, EndpointRecord, MANUAL_SCOPE};
use crate::{cloud_account, json_column, monitoring_endpoint};
use sea_orm::{EntityTrait, Iterable};
use serde_json::{Value, json};

/// What the write path needs to know about a table whose rows it upserts; its observed
/// fields are declared in `observed`.
pub(crate) trait Tracked: Sized + sea_orm::FromQueryResult + Observed {
    type Entity: EntityTrait<Model = Self>;
    const ASSET: AssetType;
    fn id_column() -> <Self::Entity as EntityTrait>::Column;
    fn scope_column() -> <Self::Entity as EntityTrait>::Column;
    fn removed_at_column() -> <Self::Entity as EntityTrait>::Column;
    fn last_run_column() -> <Self::Entity as EntityTrait>::Column;
    /// Every column an upsert overwrites: all but the key and what only the first write
    /// sets, so a column added later is written unless it says otherwise.
    fn update_columns() -> Vec<<Self::Entity as EntityTrait>::Column>;
    fn key(&self) -> &str;
    /// When the row was removed; `None` while it is present.
    fn removed_at(&self) -> Option<chrono::DateTime<chrono::Utc>>;
    fn is_removed(&self) -> bool {
        self.removed_at().is_some()
    }
    /// For a row whose observed fields did not change, every column the write may still
    /// change (bookkeeping) with its new value: the write then sets only these instead of
    /// rewriting the row. `None` where untracked observations must be rewritten too.
    fn bookkeeping(&self) -> Option<Vec<(<Self::Entity as EntityTrait>::Column, sea_orm::Value)>>;
    /// For a table that keeps a digest of each row's observed fields: the columns a write
    /// reads first, enough to build the new row and to tell an unchanged one by its digest.
    /// `None`: the write reads whole rows.
    fn head_columns() -> Option<&'static [<Self::Entity as EntityTrait>::Column]> {
        None
    }
    /// A row read with only [`Tracked::head_columns`] (a whole row where there are none).
    fn from_head(row: &sea_orm::QueryResult) -> Result<Self, sea_orm::DbErr> {
        Self::from_query_result(row, "")
    }
    /// The stored digest of the observed fields, where the table keeps one.
    fn digest(&self) -> Option<&[u8]> {
        None
    }
    /// Records the digest of the observed fields, where the table keeps one.
    fn set_digest(&mut self, _digest: Vec<u8>) {}
}

impl Tracked for cloud_account::Model {
    type Entity = cloud_account::Entity;
    const ASSET: AssetType = AssetType::CloudAccount;

    fn id_column() -> cloud_account::Column {
        cloud_account::Column::Id
    }
    fn scope_column() -> cloud_account::Column {
        cloud_account::Column::Scope
    }
    fn removed_at_column() -> cloud_account::Column {
        cloud_account::Column::RemovedAt
    }
    fn last_run_column() -> cloud_account::Column {
        cloud_account::Column::LastRunId
    }
    fn update_columns() -> Vec<cloud_account::Column> {
        use cloud_account::Column as C;
        C::iter()
            .filter(|c| !matches!(c, C::Id | C::Provider | C::NativeId | C::FirstSeenAt))
            .collect()
    }
    fn key(&self) -> &str {
        &self.id
    }
    fn removed_at(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        self.removed_at
    }
    /// Unchanged fields leave `removed_at` null (a removed row seen again is a restore) and
    /// `first_seen_at` as stored: what remains is who saw it, when, and how, and when its
    /// tags were read if this write read them. A write stamps its own time on both
    /// `last_seen_at` and a `tags_read_at` it sets (`account_model`, `enrich`), so equal
    /// times say the tags were read now; a row whose tags were kept keeps their time, and
    /// the rows of a page still share their values and one statement.
    fn bookkeeping(&self) -> Option<Vec<(cloud_account::Column, sea_orm::Value)>> {
        use cloud_account::Column as C;
        let mut values = vec![
            (C::Source, self.source.clone().into()),
            (C::LastSeenAt, self.last_seen_at.into()),
            (C::LastRunId, self.last_run_id.into()),
            (C::Provenance, self.provenance.clone().into()),
        ];
        if self.tags_read_at == Some(self.last_seen_at) {
            values.push((C::TagsReadAt, self.tags_read_at.into()));
        }
        Some(values)
    }
    /// `account_model` reads `first_seen_at`, and the tags with their time for a record that
    /// did not read them, from the stored row.
    fn head_columns() -> Option<&'static [cloud_account::Column]> {
        Some(&ACCOUNT_HEAD)
    }
    fn from_head(row: &sea_orm::QueryResult) -> Result<Self, sea_orm::DbErr> {
        cloud_account::Model::from_columns(row, &ACCOUNT_HEAD)
    }
    fn digest(&self) -> Option<&[u8]> {
        self.observed_digest.as_deref()
    }
    fn set_digest(&mut self, digest: Vec<u8>) {
        self.observed_digest = Some(digest);
    }
}

const ACCOUNT_HEAD: [cloud_account::Column; 6] = [
    cloud_account::Column::Id,
    cloud_account::Column::FirstSeenAt,
    cloud_account::Column::RemovedAt,
    cloud_account::Column::ObservedDigest,
    cloud_account::Column::Tags,
    cloud_account::Column::TagsReadAt,
];

impl Tracked for monitoring_endpoint::Model {
    type Entity = monitoring_endpoint::Entity;
    const ASSET: AssetType = AssetType::MonitoringEndpoint;

    fn id_column() -> monitoring_endpoint::Column {
        monitoring_endpoint::Column::Id
    }
    fn scope_column() -> monitoring_endpoint::Column {
        monitoring_endpoint::Column::Scope
    }
    fn removed_at_column() -> monitoring_endpoint::Column {
        monitoring_endpoint::Column::RemovedAt
    }
    fn last_run_column() -> monitoring_endpoint::Column {
        monitoring_endpoint::Column::LastRunId
    }
    fn update_columns() -> Vec<monitoring_endpoint::Column> {
        use monitoring_endpoint::Column as C;
        C::iter()
            .filter(|c| !matches!(c, C::Id | C::CreatedBy | C::FirstSeenAt))
            .collect()
    }
    fn key(&self) -> &str {
        &self.id
    }
    fn removed_at(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        self.removed_at
    }
    /// The latest probe's snapshot (`raw`, last check and error) is rewritten on every
    /// write, so there is no narrower update.
    fn bookkeeping(&self) -> Option<Vec<(monitoring_endpoint::Column, sea_orm::Value)>> {
        None
    }
}

pub(super) fn account_model(
    r: AccountRecord,
    ctx: &WriteContext,
    old: Option<&cloud_account::Model>,
) -> cloud_account::Model {
    let id = r.id();
    // Tags not read this time stay as they were, with the time they were read.
    let (tags, tags_read_at) = match r.tags {
        Some(tags) => (tags, Some(ctx.at)),
        None => old.map_or_else(Default::default, |o| (o.tags.0.clone(), o.tags_read_at)),
    };
    cloud_account::Model {
        id,
        provider: r.provider,
        native_id: r.native_id,
        name: r.name,
        org_path: r.org_path,
        ancestors: json_column::Ancestors(r.ancestors),
        parent: r.parent,
        status: r.status,
        raw_status: r.raw_status,
        region_residency: r.region_residency,
        tags: json_column::Tags(tags),
        raw: r.raw,
        scope: r.scope,
        source: r.source,
        first_seen_at: old.map_or(ctx.at, |o| o.first_seen_at),
        last_seen_at: ctx.at,
        removed_at: None,
        last_run_id: ctx.run_id,
        provenance: r.provenance,
        observed_digest: None,
        tags_read_at,
    }
}

/// The stored account with the tags just read: seen now, its tags read now. Nothing for an
/// account that is not stored.
pub(super) fn tags_read(
    read: super::TagsRead,
    ctx: &WriteContext,
    old: Option<&cloud_account::Model>,
) -> Option<cloud_account::Model> {
    let mut row = old?.clone();
    row.tags = json_column::Tags(read.tags);
    row.tags_read_at = Some(ctx.at);
    row.last_seen_at = ctx.at;
    row.last_run_id = ctx.run_id.or(row.last_run_id);
    row.observed_digest = None;
    if let Value::Object(provenance) = &mut row.provenance {
        provenance.insert("tags".into(), read.provenance);
    }
    Some(row)
}

/// Builds the endpoint row a write leaves behind. People own the description, collectors
/// the observation (see `EndpointRecord`): each writer's record supplies only its own side,
/// the other side comes from the stored row.
pub(super) fn endpoint_model(
    r: EndpointRecord,
    ctx: &WriteContext,
    old: Option<&monitoring_endpoint::Model>,
) -> monitoring_endpoint::Model {
    let mut row = monitoring_endpoint::Model {
        id: r.id,
        kind: r.kind,
        url: r.url,
        auth_mode: r.auth_mode,
        status: r.status,
        version: r.version,
        raw: r.raw,
        origin: r.origin,
        labels: json_column::Tags(r.labels),
        notes: r.notes,
        secret_ref: r.secret_ref,
        scope: r.scope,
        created_by: old.map_or(ctx.actor.clone(), |o| o.created_by.clone()),
        updated_by: ctx
            .actor
            .clone()
            .or_else(|| old.and_then(|o| o.updated_by.clone())),
        first_seen_at: old.map_or(ctx.at, |o| o.first_seen_at),
        last_checked_at: r.last_checked_at,
        last_error: r.last_error,
        removed_at: None,
        last_run_id: ctx.run_id.or_else(|| old.and_then(|o| o.last_run_id)),
        provenance: r.provenance,
    };
    match (ctx.actor.is_some(), old) {
        (true, _) => {
            // A person describes; what the endpoint reported stays as last observed.
            row.origin = Origin::Manual;
            row.scope = MANUAL_SCOPE.to_owned();
            row.status = old.map_or(EndpointStatus::Unknown, |o| o.status);
            row.version = old.and_then(|o| o.version.clone());
            row.raw = old.map_or_else(|| json!({}), |o| o.raw.clone());
            row.last_checked_at = old.and_then(|o| o.last_checked_at);
            row.last_error = old.and_then(|o| o.last_error.clone());
        }
        (false, Some(o)) => {
            if r.last_checked_at.is_none() {
                // A collector that found the endpoint without checking it (a Grafana's data
                // source, a file) observed nothing: what the last check saw stays.
                row.status = o.status;
                row.version = o.version.clone();
                row.raw = o.raw.clone();
                row.last_checked_at = o.last_checked_at;
                row.last_error = o.last_error.clone();
            }
            if o.origin == Origin::Manual {
                // A collector observes; a person's description of the endpoint stays.
                row.origin = Origin::Manual;
                row.kind = o.kind;
                row.url = o.url.clone();
                row.auth_mode = o.auth_mode;
                row.labels = o.labels.clone();
                row.notes = o.notes.clone();
                row.secret_ref = o.secret_ref.clone();
            }
            // An endpoint belongs to the scope that first recorded it (a person, a file, a
            // Grafana's discovery, `--url`): another collector probing it observes and does
            // not take it over, so only its owner's complete run may remove it.
            row.scope = o.scope.clone();
        }
        (false, None) => {}
    }
    row
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::enums::{AccountStatus, Provider};
    use chrono::{DateTime, TimeZone, Utc};
    use serde_json::Value;

    fn record() -> AccountRecord {
        AccountRecord {
            provider: Provider::Gcp,
            native_id: "proj-1".into(),
            name: "now".into(),
            org_path: "org/folder".into(),
            ancestors: Vec::new(),
            parent: Some("folders/1".into()),
            status: AccountStatus::Active,
            raw_status: Some("ACTIVE".into()),
            region_residency: None,
            tags: Some([("team".to_owned(), "web".to_owned())].into()),
            raw: json!({ "projectId": "proj-1" }),
            scope: "organizations/1".into(),
            source: "gcp/1".into(),
            provenance: json!({ "api": "projects.search" }),
        }
    }

    /// Writes build an account from its stored head (`ACCOUNT_HEAD`), so `account_model`
    /// must read nothing else of the stored row: a head and the whole row give the same
    /// account.
    #[test]
    fn accounts_are_built_from_their_head_alone() {
        let at = |hour| Utc.with_ymd_and_hms(2026, 11, 1, hour, 0, 0).single();
        let earlier = WriteContext::run(1, at(1).expect("time"));
        let mut whole = account_model(record(), &earlier, None);
        whole.removed_at = at(2);
        whole.observed_digest = Some(vec![1; 32]);
        let head = cloud_account::Model {
            provider: Provider::Aws,
            native_id: String::new(),
            name: String::new(),
            org_path: String::new(),
            ancestors: json_column::Ancestors::default(),
            parent: None,
            status: AccountStatus::Suspended,
            raw_status: None,
            tags: json_column::Tags::default(),
            raw: Value::Null,
            scope: String::new(),
            source: String::new(),
            last_seen_at: DateTime::UNIX_EPOCH,
            last_run_id: None,
            provenance: Value::Null,
            ..whole.clone()
        };
        let now = WriteContext::run(2, at(3).expect("time"));
        let from_whole = account_model(record(), &now, Some(&whole));
        assert_eq!(from_whole.first_seen_at, whole.first_seen_at);
        assert_eq!(from_whole, account_model(record(), &now, Some(&head)));
    }

    /// The model holds ancestors and tags typed, but history and digests see them as the
    /// JSON values the model held before (keys in `serde_json`'s order): digests stored by
    /// earlier versions stay equal, so an upgrade does not make every account look changed.
    #[test]
    fn ancestors_and_tags_reach_digests_and_history_as_the_stored_json() {
        let mut r = record();
        r.ancestors = vec![crate::record::Ancestor {
            id: "o-1".into(),
            name: "Org".into(),
            kind: "organization".into(),
        }];
        let at = Utc
            .with_ymd_and_hms(2026, 11, 1, 1, 0, 0)
            .single()
            .expect("time");
        let model = account_model(r, &WriteContext::run(1, at), None);
        let fields = model.fields();
        let field = |field: &str| {
            fields
                .iter()
                .find(|(name, _)| *name == field)
                .map(|(_, value)| value.to_string())
        };
        assert_eq!(
            field("ancestors").as_deref(),
            Some(r#"[{"id":"o-1","kind":"organization","name":"Org"}]"#)
        );
        assert_eq!(field("tags").as_deref(), Some(r#"{"team":"web"}"#));
    }
}
