//! An asset as it was at a past time, rebuilt from its `asset_changes`.
//!
//! History records every observed field when an asset is created and each field that changes
//! later, so replaying the changes made up to a time, oldest first, gives the observed state
//! then: no snapshots are needed. Removal and restore replay as `removed_at`. Bookkeeping that
//! history does not keep (source, provenance, last run; an endpoint's latest probe snapshot,
//! check time and error) is the present value; `last_seen_at` is capped at that time.

use crate::asset_change::{self, Column};
use crate::enums::{AssetType, ChangeKind};
use crate::error::StoreError;
use crate::{cloud_account, monitoring_endpoint};
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::de::DeserializeOwned;
use serde_json::Value;

/// A stored asset whose observed fields can be set from history's JSON values.
trait Replay: Clone {
    const ASSET: AssetType;
    /// Sets one observed field; a field this version does not know is ignored.
    fn set(&mut self, field: &str, value: Value) -> Result<(), serde_json::Error>;
    fn set_removed_at(&mut self, at: Option<DateTime<Utc>>);
    fn set_first_seen_at(&mut self, at: DateTime<Utc>);
    fn cap_last_seen_at(&mut self, at: DateTime<Utc>);
}

fn from<T: DeserializeOwned>(value: Value) -> Result<T, serde_json::Error> {
    serde_json::from_value(value)
}

impl Replay for cloud_account::Model {
    const ASSET: AssetType = AssetType::CloudAccount;

    fn set(&mut self, field: &str, value: Value) -> Result<(), serde_json::Error> {
        match field {
            "name" => self.name = from(value)?,
            "org_path" => self.org_path = from(value)?,
            "ancestors" => self.ancestors = value,
            "parent" => self.parent = from(value)?,
            "status" => self.status = from(value)?,
            "raw_status" => self.raw_status = from(value)?,
            "region_residency" => self.region_residency = from(value)?,
            "tags" => self.tags = value,
            "raw" => self.raw = value,
            "scope" => self.scope = from(value)?,
            _ => {}
        }
        Ok(())
    }
    fn set_removed_at(&mut self, at: Option<DateTime<Utc>>) {
        self.removed_at = at;
    }
    fn set_first_seen_at(&mut self, at: DateTime<Utc>) {
        self.first_seen_at = at;
    }
    fn cap_last_seen_at(&mut self, at: DateTime<Utc>) {
        self.last_seen_at = self.last_seen_at.min(at);
    }
}

impl Replay for monitoring_endpoint::Model {
    const ASSET: AssetType = AssetType::MonitoringEndpoint;

    fn set(&mut self, field: &str, value: Value) -> Result<(), serde_json::Error> {
        match field {
            "kind" => self.kind = from(value)?,
            "url" => self.url = from(value)?,
            "auth_mode" => self.auth_mode = from(value)?,
            "status" => self.status = from(value)?,
            "version" => self.version = from(value)?,
            "origin" => self.origin = from(value)?,
            "labels" => self.labels = value,
            "notes" => self.notes = from(value)?,
            "secret_ref" => self.secret_ref = from(value)?,
            "scope" => self.scope = from(value)?,
            _ => {}
        }
        Ok(())
    }
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
        .filter(Column::At.lte(at))
        .order_by_asc(Column::Id)
        .all(db)
        .await?;
    replay(current, &changes, at).map_err(|source| StoreError::History {
        id: key.to_owned(),
        source,
    })
}

/// Applies `changes` (oldest first, all made by `at`) over `current`'s bookkeeping.
fn replay<M: Replay>(
    current: M,
    changes: &[asset_change::Model],
    at: DateTime<Utc>,
) -> Result<Option<M>, serde_json::Error> {
    let Some(created) = changes.iter().find(|c| c.kind == ChangeKind::Created) else {
        return Ok(None);
    };
    let mut state = current;
    state.set_first_seen_at(created.at);
    state.set_removed_at(None);
    for change in changes.iter().skip_while(|c| c.kind != ChangeKind::Created) {
        let Value::Object(fields) = &change.changes else {
            continue;
        };
        for (field, values) in fields {
            let new = values.get("new").cloned().unwrap_or(Value::Null);
            if field == "removed_at" {
                state.set_removed_at(from(new)?);
            } else {
                state.set(field, new)?;
            }
        }
    }
    state.cap_last_seen_at(at);
    Ok(Some(state))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::enums::AccountStatus;
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
            ancestors: json!([]),
            parent: None,
            status: AccountStatus::Suspended,
            raw_status: None,
            region_residency: None,
            tags: json!({}),
            raw: json!({}),
            scope: "o".into(),
            source: "aws/1".into(),
            first_seen_at: at(0),
            last_seen_at: at(50),
            removed_at: None,
            last_run_id: None,
            provenance: json!({}),
            observed_digest: None,
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

    #[test]
    fn replays_created_then_updates_and_ignores_unknown_fields() {
        let changes = [
            change(
                1,
                ChangeKind::Created,
                0,
                json!({
                    "name": { "old": null, "new": "first" },
                    "status": { "old": null, "new": "active" },
                    "a_field_from_the_future": { "old": null, "new": 1 },
                }),
            ),
            change(
                2,
                ChangeKind::Updated,
                10,
                json!({ "name": { "old": "first", "new": "second" } }),
            ),
        ];
        let then = replay(current(), &changes, at(20))
            .expect("replays")
            .expect("existed");
        assert_eq!(then.name, "second");
        assert_eq!(then.status, AccountStatus::Active);
        assert_eq!(then.last_seen_at, at(20));
        assert!(replay(current(), &[], at(20)).expect("replays").is_none());
    }

    #[test]
    fn a_value_that_no_longer_fits_is_an_error_not_a_guess() {
        let changes = [change(
            1,
            ChangeKind::Created,
            0,
            json!({
                "status": { "old": null, "new": "exploded" },
            }),
        )];
        assert!(replay(current(), &changes, at(20)).is_err());
    }
}
