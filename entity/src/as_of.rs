//! An asset as it was at a past time, rebuilt from its row and its `asset_changes`.
//!
//! Every change after an asset's creation records each field it changed with the value
//! before and after, so rolling the row back through the changes made after a time, newest
//! first, gives the observed state then: no snapshots are needed, and a creation need not
//! record the fields it wrote (the write path leaves them out, see `write::history`). Removal
//! and restore decide `removed_at`. Bookkeeping that history does not keep (source,
//! provenance, last run; an endpoint's latest probe snapshot, check time and error) is the
//! present value; `last_seen_at` and `tags_read_at` are capped at that time.

use crate::asset_change::{self, Column};
use crate::enums::{AssetType, ChangeKind};
use crate::error::StoreError;
use crate::write::tracked::Tracked;
use crate::{cloud_account, monitoring_endpoint};
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::collections::HashMap;

/// A stored asset whose observed fields can be set from history's JSON values
/// (`write::observed`).
trait Replay: Tracked + Clone {
    fn set_removed_at(&mut self, at: Option<DateTime<Utc>>);
    fn set_first_seen_at(&mut self, at: DateTime<Utc>);
    fn cap_last_seen_at(&mut self, at: DateTime<Utc>);
}

fn from<T: DeserializeOwned>(value: Value) -> Result<T, serde_json::Error> {
    serde_json::from_value(value)
}

impl Replay for cloud_account::Model {
    fn set_removed_at(&mut self, at: Option<DateTime<Utc>>) {
        self.removed_at = at;
    }
    fn set_first_seen_at(&mut self, at: DateTime<Utc>) {
        self.first_seen_at = at;
    }
    fn cap_last_seen_at(&mut self, at: DateTime<Utc>) {
        self.last_seen_at = self.last_seen_at.min(at);
        self.tags_read_at = self.tags_read_at.map(|read| read.min(at));
    }
}

impl Replay for monitoring_endpoint::Model {
    fn set_removed_at(&mut self, at: Option<DateTime<Utc>>) {
        self.removed_at = at;
    }
    fn set_first_seen_at(&mut self, at: DateTime<Utc>) {
        self.first_seen_at = at;
    }
    fn cap_last_seen_at(&mut self, _at: DateTime<Utc>) {}
}

/// The account with key `key` as it was at `at`; `None` when it did not exist yet (or never).
pub async fn account<C: ConnectionTrait>(
    db: &C,
    key: &str,
    at: DateTime<Utc>,
) -> Result<Option<cloud_account::Model>, StoreError> {
    let Some(current) = cloud_account::Entity::find_by_id(key).one(db).await? else {
        return Ok(None);
    };
    rebuild(db, current, key, at).await
}

/// The endpoint with id `id` as it was at `at`; `None` when it did not exist yet (or never).
pub async fn endpoint<C: ConnectionTrait>(
    db: &C,
    id: &str,
    at: DateTime<Utc>,
) -> Result<Option<monitoring_endpoint::Model>, StoreError> {
    let Some(current) = monitoring_endpoint::Entity::find_by_id(id).one(db).await? else {
        return Ok(None);
    };
    rebuild(db, current, id, at).await
}

async fn rebuild<C: ConnectionTrait, M: Replay>(
    db: &C,
    current: M,
    key: &str,
    at: DateTime<Utc>,
) -> Result<Option<M>, StoreError> {
    let changes = asset_change::Entity::find()
        .filter(Column::AssetType.eq(M::ASSET))
        .filter(Column::AssetId.eq(key))
        .order_by_asc(Column::Id)
        .all(db)
        .await?;
    replay(current, &changes, at).map_err(|source| StoreError::History {
        id: key.to_owned(),
        source,
    })
}

/// `current` (the stored row) as it was at `at`, from all of its `changes`, oldest first.
fn replay<M: Replay>(
    current: M,
    changes: &[asset_change::Model],
    at: DateTime<Utc>,
) -> Result<Option<M>, serde_json::Error> {
    let Some(created) = changes.iter().find(|c| c.kind == ChangeKind::Created) else {
        return Ok(None);
    };
    if created.at > at {
        return Ok(None);
    }
    let mut state = current;
    roll_back(&mut state, changes.iter().filter(|c| c.at > at))?;
    state.set_first_seen_at(created.at);
    let lifecycle = changes
        .iter()
        .rfind(|c| c.at <= at && c.kind != ChangeKind::Updated);
    state.set_removed_at(match lifecycle {
        Some(change) if change.kind == ChangeKind::Removed => {
            let recorded = change.changes.get("removed_at").and_then(|v| v.get("new"));
            Some(match recorded {
                Some(value) if !value.is_null() => from(value.clone())?,
                _ => change.at,
            })
        }
        _ => None,
    });
    state.cap_last_seen_at(at);
    Ok(Some(state))
}

/// Sets every field that `later` changes (oldest first) back to its value before them.
/// `removed_at` is left alone: it follows from the lifecycle, not from field values.
fn roll_back<'a, M: Replay>(
    state: &mut M,
    later: impl DoubleEndedIterator<Item = &'a asset_change::Model>,
) -> Result<(), serde_json::Error> {
    for change in later.rev() {
        let Value::Object(fields) = &change.changes else {
            continue;
        };
        for (field, values) in fields {
            if field != "removed_at" {
                let old = values.get("old").cloned().unwrap_or(Value::Null);
                state.set(field, old)?;
            }
        }
    }
    Ok(())
}

/// A creation change and the fields it wrote, by name.
pub type CreatedFields = HashMap<i64, Vec<(String, Value)>>;

/// The observed fields each of `created` (creation changes of assets of one type, by change
/// id and asset key) wrote: the asset's row rolled back through every later change. A
/// creation the write path recorded since history stopped copying them (see
/// `write::history`) lists no fields of its own; this is how they are shown. Two queries
/// whatever the number of changes.
pub async fn created_fields<C: ConnectionTrait>(
    db: &C,
    asset: AssetType,
    created: &[(i64, String)],
) -> Result<CreatedFields, StoreError> {
    match asset {
        AssetType::CloudAccount => created_fields_of::<cloud_account::Model, _>(db, created).await,
        AssetType::MonitoringEndpoint => {
            created_fields_of::<monitoring_endpoint::Model, _>(db, created).await
        }
    }
}

async fn created_fields_of<M: Replay, C: ConnectionTrait>(
    db: &C,
    created: &[(i64, String)],
) -> Result<CreatedFields, StoreError> {
    let keys: Vec<String> = created.iter().map(|(_, key)| key.clone()).collect();
    let rows: HashMap<String, M> = M::Entity::find()
        .filter(M::id_column().is_in(keys.iter().cloned()))
        .all(db)
        .await?
        .into_iter()
        .map(|row| (row.key().to_owned(), row))
        .collect();
    let mut changes: HashMap<String, Vec<asset_change::Model>> = HashMap::new();
    for change in asset_change::Entity::find()
        .filter(Column::AssetType.eq(M::ASSET))
        .filter(Column::AssetId.is_in(keys))
        .order_by_asc(Column::Id)
        .all(db)
        .await?
    {
        changes
            .entry(change.asset_id.clone())
            .or_default()
            .push(change);
    }
    let mut fields = HashMap::with_capacity(created.len());
    for (id, key) in created {
        let Some(row) = rows.get(key) else { continue };
        let mut state = row.clone();
        let later = changes.get(key).map_or(&[][..], Vec::as_slice);
        roll_back(&mut state, later.iter().filter(|c| c.id > *id)).map_err(|source| {
            StoreError::History {
                id: key.clone(),
                source,
            }
        })?;
        let written = state
            .fields()
            .into_iter()
            .map(|(name, value)| (name.to_owned(), value.into_owned()))
            .collect();
        fields.insert(*id, written);
    }
    Ok(fields)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::enums::AccountStatus;
    use crate::json_column;
    use chrono::TimeZone;
    use serde_json::json;

    fn at(minute: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 1, 12, minute, 0)
            .single()
            .expect("time")
    }

    fn current() -> cloud_account::Model {
        cloud_account::Model {
            id: "aws:1".into(),
            provider: crate::enums::Provider::Aws,
            native_id: "1".into(),
            name: "now".into(),
            org_path: "o/r".into(),
            ancestors: json_column::Ancestors::default(),
            parent: None,
            status: AccountStatus::Suspended,
            raw_status: None,
            region_residency: None,
            tags: json_column::Tags::default(),
            raw: json!({}),
            scope: "o".into(),
            source: "aws/1".into(),
            first_seen_at: at(0),
            last_seen_at: at(50),
            removed_at: None,
            last_run_id: None,
            provenance: json!({}),
            observed_digest: None,
            tags_read_at: None,
        }
    }

    fn change(id: i64, kind: ChangeKind, minute: u32, fields: Value) -> asset_change::Model {
        asset_change::Model {
            id,
            asset_type: AssetType::CloudAccount,
            asset_id: "aws:1".into(),
            run_id: None,
            actor: None,
            at: at(minute),
            kind,
            changes: fields,
            tx_id: 0,
        }
    }

    /// Created at minute 0 listing no fields (as the write path records it), renamed at 10,
    /// renamed again and suspended at 30, removed at 40.
    fn sequence() -> Vec<asset_change::Model> {
        vec![
            change(1, ChangeKind::Created, 0, json!({})),
            change(
                2,
                ChangeKind::Updated,
                10,
                json!({ "name": { "old": "first", "new": "second" } }),
            ),
            change(
                3,
                ChangeKind::Updated,
                30,
                json!({
                    "name": { "old": "second", "new": "now" },
                    "status": { "old": "active", "new": "suspended" },
                    "a_field_from_the_future": { "old": 1, "new": 2 },
                }),
            ),
            change(
                4,
                ChangeKind::Removed,
                40,
                json!({ "removed_at": { "old": null, "new": at(40) } }),
            ),
        ]
    }

    fn removed_now() -> cloud_account::Model {
        cloud_account::Model {
            removed_at: Some(at(40)),
            ..current()
        }
    }

    #[test]
    fn rolls_the_row_back_through_later_changes_and_ignores_unknown_fields() {
        let changes = sequence();
        let state = |minute| {
            replay(removed_now(), &changes, at(minute))
                .expect("replays")
                .expect("existed")
        };
        let (five, twenty, thirty, forty) = (state(5), state(20), state(30), state(45));
        assert_eq!(
            (five.name.as_str(), five.status),
            ("first", AccountStatus::Active)
        );
        assert_eq!(
            (twenty.name.as_str(), twenty.status),
            ("second", AccountStatus::Active)
        );
        assert_eq!(
            (thirty.name.as_str(), thirty.status),
            ("now", AccountStatus::Suspended)
        );
        assert_eq!(thirty.removed_at, None);
        assert_eq!(forty.removed_at, Some(at(40)));
        assert_eq!(twenty.first_seen_at, at(0));
        assert_eq!(twenty.last_seen_at, at(20));
        assert!(
            replay(removed_now(), &[], at(20))
                .expect("replays")
                .is_none()
        );
        assert!(
            replay(removed_now(), &changes[1..], at(20))
                .expect("replays")
                .is_none(),
            "no creation, no asset"
        );
    }

    #[test]
    fn before_its_creation_there_was_nothing_and_a_restore_clears_the_removal() {
        let mut changes = sequence();
        changes.push(change(
            5,
            ChangeKind::Restored,
            50,
            json!({ "removed_at": { "new": null } }),
        ));
        assert!(
            replay(current(), &changes[1..2], at(20))
                .expect("replays")
                .is_none()
        );
        let mut created_later = sequence();
        created_later[0].at = at(5);
        assert!(
            replay(current(), &created_later, at(4))
                .expect("replays")
                .is_none()
        );
        let restored = replay(current(), &changes, at(55))
            .expect("replays")
            .expect("existed");
        assert_eq!(restored.removed_at, None);
        assert_eq!(restored.name, "now");
    }

    #[test]
    fn a_creation_that_lists_its_fields_changes_nothing() {
        // Histories written before creations stopped listing their fields.
        let mut changes = sequence();
        changes[0].changes = json!({
            "name": { "old": null, "new": "first" },
            "status": { "old": null, "new": "active" },
        });
        let then = replay(removed_now(), &changes, at(5))
            .expect("replays")
            .expect("existed");
        assert_eq!(then.name, "first");
        assert_eq!(then.status, AccountStatus::Active);
    }

    #[test]
    fn a_value_that_no_longer_fits_is_an_error_not_a_guess() {
        let changes = [
            change(1, ChangeKind::Created, 0, json!({})),
            change(
                2,
                ChangeKind::Updated,
                10,
                json!({ "status": { "old": "exploded", "new": "suspended" } }),
            ),
        ];
        assert!(replay(current(), &changes, at(5)).is_err());
    }
}
