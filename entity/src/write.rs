//! The one write path. Collectors, the file importer and the API's mutation all write here,
//! so every row gets the same bookkeeping: first/last seen, the run that saw it, provenance,
//! and an `asset_changes` row for every real change (none when nothing changed).
//!
//! Each call is one transaction: a batch lands whole or not at all.

use crate::enums::{AssetType, ChangeKind};
use crate::error::StoreError;
use crate::record::{AccountRecord, EndpointRecord};
use crate::{asset_change, cloud_account, monitoring_endpoint};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait,
    IntoActiveModel, QueryFilter, QuerySelect, TransactionSession, TransactionTrait,
};
use serde_json::{Map, Value, json};
use std::collections::HashMap;

/// Rows per statement: far below the bind-parameter limits of both backends
/// (SQLite 32,766, PostgreSQL 65,535) at ~20 columns a row.
const CHUNK: usize = 500;

/// Who is writing and when. Every change row names the run or the person.
#[derive(Debug, Clone)]
pub struct WriteContext {
    pub run_id: Option<i64>,
    pub actor: Option<String>,
    pub at: DateTime<Utc>,
}

impl WriteContext {
    /// A collector run writing what it saw.
    pub fn run(run_id: i64, at: DateTime<Utc>) -> Self {
        Self {
            run_id: Some(run_id),
            actor: None,
            at,
        }
    }

    /// A person writing through the API.
    pub fn actor(actor: impl Into<String>, at: DateTime<Utc>) -> Self {
        Self {
            run_id: None,
            actor: Some(actor.into()),
            at,
        }
    }
}

/// What one write did, row by row.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct WriteCounts {
    pub created: u64,
    pub updated: u64,
    pub restored: u64,
    pub unchanged: u64,
    pub removed: u64,
}

impl WriteCounts {
    pub fn add(&mut self, other: WriteCounts) {
        self.created += other.created;
        self.updated += other.updated;
        self.restored += other.restored;
        self.unchanged += other.unchanged;
        self.removed += other.removed;
    }
}

/// Inserts or updates accounts. Writing the same records twice changes nothing but
/// `last_seen_at`, `last_run_id` and provenance; a removed account that is seen again is
/// restored.
pub async fn upsert_accounts<C>(
    db: &C,
    ctx: &WriteContext,
    records: Vec<AccountRecord>,
) -> Result<WriteCounts, StoreError>
where
    C: TransactionTrait,
{
    let records = last_wins(records, AccountRecord::id);
    for record in &records {
        if record.native_id.trim().is_empty() {
            return Err(StoreError::InvalidRecord {
                id: record.id(),
                reason: "native id is empty".into(),
            });
        }
    }
    let txn = db.begin().await?;
    let mut counts = WriteCounts::default();
    for chunk in records.chunks(CHUNK) {
        let ids: Vec<String> = chunk.iter().map(AccountRecord::id).collect();
        let existing: HashMap<String, cloud_account::Model> = cloud_account::Entity::find()
            .filter(cloud_account::Column::Id.is_in(ids))
            .all(&txn)
            .await?
            .into_iter()
            .map(|m| (m.id.clone(), m))
            .collect();
        let mut rows = Vec::with_capacity(chunk.len());
        let mut changes = Vec::new();
        for record in chunk {
            let old = existing.get(&record.id());
            let new = account_model(record, ctx, old);
            let change = classify(
                old.map(|o| (account_fields(o), o.removed_at.is_some())),
                account_fields(&new),
            );
            counts.count(change.as_ref().map(|(kind, _)| *kind));
            if let Some((kind, fields)) = change {
                changes.push(change_row(
                    ctx,
                    AssetType::CloudAccount,
                    &new.id,
                    kind,
                    fields,
                ));
            }
            rows.push(new.into_active_model().reset_all());
        }
        use cloud_account::Column as C;
        cloud_account::Entity::insert_many(rows)
            .on_conflict(
                OnConflict::column(C::Id)
                    .update_columns([
                        C::Name,
                        C::OrgPath,
                        C::Ancestors,
                        C::Parent,
                        C::Status,
                        C::RawStatus,
                        C::RegionResidency,
                        C::Tags,
                        C::Raw,
                        C::Scope,
                        C::Source,
                        C::LastSeenAt,
                        C::RemovedAt,
                        C::LastRunId,
                        C::Provenance,
                    ])
                    .to_owned(),
            )
            .exec_without_returning(&txn)
            .await?;
        insert_changes(&txn, changes).await?;
    }
    txn.commit().await?;
    Ok(counts)
}

/// Inserts or updates monitoring endpoints, with the same guarantees as [`upsert_accounts`].
/// `created_by` is kept from the first write; `updated_by` names the latest actor.
pub async fn upsert_endpoints<C>(
    db: &C,
    ctx: &WriteContext,
    records: Vec<EndpointRecord>,
) -> Result<WriteCounts, StoreError>
where
    C: TransactionTrait,
{
    let records = last_wins(records, |r| r.id.clone());
    for record in &records {
        if record.id.trim().is_empty() || record.url.trim().is_empty() {
            return Err(StoreError::InvalidRecord {
                id: record.id.clone(),
                reason: "id and url must not be empty".into(),
            });
        }
    }
    let txn = db.begin().await?;
    let mut counts = WriteCounts::default();
    for chunk in records.chunks(CHUNK) {
        let ids: Vec<String> = chunk.iter().map(|r| r.id.clone()).collect();
        let existing: HashMap<String, monitoring_endpoint::Model> =
            monitoring_endpoint::Entity::find()
                .filter(monitoring_endpoint::Column::Id.is_in(ids))
                .all(&txn)
                .await?
                .into_iter()
                .map(|m| (m.id.clone(), m))
                .collect();
        let mut rows = Vec::with_capacity(chunk.len());
        let mut changes = Vec::new();
        for record in chunk {
            let old = existing.get(&record.id);
            let new = endpoint_model(record, ctx, old);
            let change = classify(
                old.map(|o| (endpoint_fields(o), o.removed_at.is_some())),
                endpoint_fields(&new),
            );
            counts.count(change.as_ref().map(|(kind, _)| *kind));
            if let Some((kind, fields)) = change {
                changes.push(change_row(
                    ctx,
                    AssetType::MonitoringEndpoint,
                    &new.id,
                    kind,
                    fields,
                ));
            }
            rows.push(new.into_active_model().reset_all());
        }
        use monitoring_endpoint::Column as C;
        monitoring_endpoint::Entity::insert_many(rows)
            .on_conflict(
                OnConflict::column(C::Id)
                    .update_columns([
                        C::Kind,
                        C::Url,
                        C::AuthMode,
                        C::Status,
                        C::Version,
                        C::Raw,
                        C::Origin,
                        C::Labels,
                        C::Notes,
                        C::Scope,
                        C::UpdatedBy,
                        C::LastCheckedAt,
                        C::LastError,
                        C::RemovedAt,
                        C::LastRunId,
                        C::Provenance,
                    ])
                    .to_owned(),
            )
            .exec_without_returning(&txn)
            .await?;
        insert_changes(&txn, changes).await?;
    }
    txn.commit().await?;
    Ok(counts)
}

/// After a complete read of `scope`, marks every asset of that scope that this run did not
/// see as removed. Only a run that read its source completely may call this: a partial read
/// would wipe what it failed to see.
pub async fn remove_unseen<C>(
    db: &C,
    run_id: i64,
    at: DateTime<Utc>,
    asset: AssetType,
    scope: &str,
) -> Result<u64, StoreError>
where
    C: TransactionTrait,
{
    let ctx = WriteContext::run(run_id, at);
    match asset {
        AssetType::CloudAccount => {
            use cloud_account::Column as C;
            let unseen = Condition::all().add(C::Scope.eq(scope)).add(
                Condition::any()
                    .add(C::LastRunId.is_null())
                    .add(C::LastRunId.ne(run_id)),
            );
            remove_where::<cloud_account::Entity, _>(db, &ctx, asset, C::Id, C::RemovedAt, unseen)
                .await
        }
        AssetType::MonitoringEndpoint => {
            use monitoring_endpoint::Column as C;
            let unseen = Condition::all().add(C::Scope.eq(scope)).add(
                Condition::any()
                    .add(C::LastRunId.is_null())
                    .add(C::LastRunId.ne(run_id)),
            );
            remove_where::<monitoring_endpoint::Entity, _>(
                db,
                &ctx,
                asset,
                C::Id,
                C::RemovedAt,
                unseen,
            )
            .await
        }
    }
}

/// Marks the named assets removed (a person retiring an endpoint, say). Already removed or
/// unknown ids are left alone; returns how many were removed now.
pub async fn remove<C>(
    db: &C,
    ctx: &WriteContext,
    asset: AssetType,
    ids: &[String],
) -> Result<u64, StoreError>
where
    C: TransactionTrait,
{
    let ids: Vec<String> = ids.to_vec();
    match asset {
        AssetType::CloudAccount => {
            use cloud_account::Column as C;
            let cond = Condition::all().add(C::Id.is_in(ids));
            remove_where::<cloud_account::Entity, _>(db, ctx, asset, C::Id, C::RemovedAt, cond)
                .await
        }
        AssetType::MonitoringEndpoint => {
            use monitoring_endpoint::Column as C;
            let cond = Condition::all().add(C::Id.is_in(ids));
            remove_where::<monitoring_endpoint::Entity, _>(
                db,
                ctx,
                asset,
                C::Id,
                C::RemovedAt,
                cond,
            )
            .await
        }
    }
}

async fn remove_where<E, C>(
    db: &C,
    ctx: &WriteContext,
    asset: AssetType,
    id: E::Column,
    removed_at: E::Column,
    condition: Condition,
) -> Result<u64, StoreError>
where
    E: EntityTrait,
    C: TransactionTrait,
{
    let txn = db.begin().await?;
    let ids: Vec<String> = E::find()
        .select_only()
        .column(id)
        .filter(condition)
        .filter(removed_at.is_null())
        .into_tuple()
        .all(&txn)
        .await?;
    for chunk in ids.chunks(CHUNK) {
        E::update_many()
            .col_expr(removed_at, Expr::value(ctx.at))
            .filter(id.is_in(chunk.iter().cloned()))
            .exec(&txn)
            .await?;
        let changes = chunk
            .iter()
            .map(|asset_id| {
                let mut fields = Map::new();
                fields.insert(
                    "removed_at".into(),
                    json!({ "old": Value::Null, "new": ctx.at }),
                );
                change_row(ctx, asset, asset_id, ChangeKind::Removed, fields)
            })
            .collect();
        insert_changes(&txn, changes).await?;
    }
    txn.commit().await?;
    Ok(ids.len() as u64)
}

impl WriteCounts {
    fn count(&mut self, change: Option<ChangeKind>) {
        match change {
            Some(ChangeKind::Created) => self.created += 1,
            Some(ChangeKind::Updated) => self.updated += 1,
            Some(ChangeKind::Restored) => self.restored += 1,
            Some(ChangeKind::Removed) => self.removed += 1,
            None => self.unchanged += 1,
        }
    }
}

/// Keeps the last record per id, in first-seen order: one statement cannot upsert a row
/// twice on PostgreSQL, and the newest observation is the one that counts.
fn last_wins<T>(records: Vec<T>, id: impl Fn(&T) -> String) -> Vec<T> {
    let mut position: HashMap<String, usize> = HashMap::with_capacity(records.len());
    let mut out: Vec<T> = Vec::with_capacity(records.len());
    for record in records {
        match position.get(&id(&record)) {
            Some(&at) => out[at] = record,
            None => {
                position.insert(id(&record), out.len());
                out.push(record);
            }
        }
    }
    out
}

/// Observed fields, the ones whose change is history. Bookkeeping (last seen, run id,
/// provenance, source, last check time) changes on every run and is not.
type Fields = Vec<(&'static str, Value)>;

/// Decides what a write means for history. `old` is the stored fields and whether the row
/// is currently removed.
fn classify(old: Option<(Fields, bool)>, new: Fields) -> Option<(ChangeKind, Map<String, Value>)> {
    match old {
        None => Some((
            ChangeKind::Created,
            new.into_iter()
                .map(|(name, value)| (name.to_owned(), json!({ "old": Value::Null, "new": value })))
                .collect(),
        )),
        Some((old, removed)) => {
            let mut fields: Map<String, Value> = old
                .into_iter()
                .zip(new)
                .filter(|((_, before), (_, after))| before != after)
                .map(|((name, before), (_, after))| {
                    (name.to_owned(), json!({ "old": before, "new": after }))
                })
                .collect();
            if removed {
                fields.insert("removed_at".into(), json!({ "new": Value::Null }));
                Some((ChangeKind::Restored, fields))
            } else if fields.is_empty() {
                None
            } else {
                Some((ChangeKind::Updated, fields))
            }
        }
    }
}

fn account_fields(m: &cloud_account::Model) -> Fields {
    vec![
        ("name", json!(m.name)),
        ("org_path", json!(m.org_path)),
        ("ancestors", m.ancestors.clone()),
        ("parent", json!(m.parent)),
        ("status", json!(m.status)),
        ("raw_status", json!(m.raw_status)),
        ("region_residency", json!(m.region_residency)),
        ("tags", m.tags.clone()),
        ("raw", m.raw.clone()),
        ("scope", json!(m.scope)),
    ]
}

fn endpoint_fields(m: &monitoring_endpoint::Model) -> Fields {
    vec![
        ("kind", json!(m.kind)),
        ("url", json!(m.url)),
        ("auth_mode", json!(m.auth_mode)),
        ("status", json!(m.status)),
        ("version", json!(m.version)),
        ("raw", m.raw.clone()),
        ("origin", json!(m.origin)),
        ("labels", json!(m.labels)),
        ("notes", json!(m.notes)),
        ("scope", json!(m.scope)),
    ]
}

fn account_model(
    r: &AccountRecord,
    ctx: &WriteContext,
    old: Option<&cloud_account::Model>,
) -> cloud_account::Model {
    cloud_account::Model {
        id: r.id(),
        provider: r.provider,
        native_id: r.native_id.clone(),
        name: r.name.clone(),
        org_path: r.org_path.clone(),
        ancestors: json!(r.ancestors),
        parent: r.parent.clone(),
        status: r.status,
        raw_status: r.raw_status.clone(),
        region_residency: r.region_residency.clone(),
        tags: json!(r.tags),
        raw: r.raw.clone(),
        scope: r.scope.clone(),
        source: r.source.clone(),
        first_seen_at: old.map_or(ctx.at, |o| o.first_seen_at),
        last_seen_at: ctx.at,
        removed_at: None,
        last_run_id: ctx.run_id,
        provenance: r.provenance.clone(),
    }
}

fn endpoint_model(
    r: &EndpointRecord,
    ctx: &WriteContext,
    old: Option<&monitoring_endpoint::Model>,
) -> monitoring_endpoint::Model {
    monitoring_endpoint::Model {
        id: r.id.clone(),
        kind: r.kind,
        url: r.url.clone(),
        auth_mode: r.auth_mode,
        status: r.status,
        version: r.version.clone(),
        raw: r.raw.clone(),
        origin: r.origin,
        labels: json!(r.labels),
        notes: r.notes.clone(),
        scope: r.scope.clone(),
        created_by: old.map_or(ctx.actor.clone(), |o| o.created_by.clone()),
        updated_by: ctx
            .actor
            .clone()
            .or_else(|| old.and_then(|o| o.updated_by.clone())),
        first_seen_at: old.map_or(ctx.at, |o| o.first_seen_at),
        last_checked_at: r
            .last_checked_at
            .or_else(|| old.and_then(|o| o.last_checked_at)),
        last_error: r.last_error.clone(),
        removed_at: None,
        last_run_id: ctx.run_id.or_else(|| old.and_then(|o| o.last_run_id)),
        provenance: r.provenance.clone(),
    }
}

fn change_row(
    ctx: &WriteContext,
    asset: AssetType,
    asset_id: &str,
    kind: ChangeKind,
    fields: Map<String, Value>,
) -> asset_change::ActiveModel {
    asset_change::ActiveModel {
        asset_type: Set(asset),
        asset_id: Set(asset_id.to_owned()),
        run_id: Set(ctx.run_id),
        actor: Set(ctx.actor.clone()),
        at: Set(ctx.at),
        kind: Set(kind),
        changes: Set(Value::Object(fields)),
        ..Default::default()
    }
}

async fn insert_changes<C: ConnectionTrait>(
    db: &C,
    changes: Vec<asset_change::ActiveModel>,
) -> Result<(), StoreError> {
    if !changes.is_empty() {
        asset_change::Entity::insert_many(changes)
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_record_per_id_wins_in_first_seen_order() {
        let out = last_wins(vec![("a", 1), ("b", 2), ("a", 3)], |r| r.0.to_owned());
        assert_eq!(out, vec![("a", 3), ("b", 2)]);
    }

    #[test]
    fn unchanged_fields_give_no_change() {
        let fields = vec![("name", json!("x")), ("tags", json!({"a": "b"}))];
        assert!(classify(Some((fields.clone(), false)), fields).is_none());
    }

    #[test]
    fn only_changed_fields_are_recorded() {
        let old = vec![("name", json!("x")), ("status", json!("active"))];
        let new = vec![("name", json!("x")), ("status", json!("suspended"))];
        let (kind, fields) = classify(Some((old, false)), new).expect("a change");
        assert_eq!(kind, ChangeKind::Updated);
        assert_eq!(
            Value::Object(fields),
            json!({ "status": { "old": "active", "new": "suspended" } })
        );
    }

    #[test]
    fn a_removed_row_seen_again_is_restored_even_without_field_changes() {
        let fields = vec![("name", json!("x"))];
        let (kind, _) = classify(Some((fields.clone(), true)), fields).expect("a change");
        assert_eq!(kind, ChangeKind::Restored);
    }
}
