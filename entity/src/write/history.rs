//! History: deciding what a write means (created, updated, restored, nothing) and recording
//! it in `asset_changes`.

use super::WriteContext;
use crate::asset_change;
use crate::enums::{AssetType, ChangeKind};
use crate::error::StoreError;
use chrono::{DateTime, Utc};
use sea_orm::{ActiveValue::Set, ConnectionTrait};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use std::borrow::Cow;

/// Observed fields, the ones whose change is history. Bookkeeping (last seen, run id,
/// provenance, source, last check time) changes on every run and is not. Raw records, the
/// large values, are borrowed from the row: comparing is most of a write's work, and only a
/// real change needs them owned. The rest, tags and ancestors among them, are typed in the
/// row and given here as the JSON values history and digests have always seen.
pub(crate) type Fields<'a> = Vec<(&'static str, Cow<'a, Value>)>;

/// Decides what a write means for history. `old` is the stored fields and when the row was
/// removed, if it is; `new` gives the written fields, asked for only when there are
/// stored ones to compare them with.
///
/// A creation records no fields: what it wrote is the row, rolled back through the changes
/// after it, each of which keeps the values it replaced (`as_of::created_fields`). Copying
/// every observed field into the creation, as history first did, stored each new asset
/// twice: the kilobyte provider records made history rows as large as the accounts, and a
/// first write spent a good part of its time inserting them.
pub(super) fn classify<'a>(
    old: Option<(Fields<'_>, Option<DateTime<Utc>>)>,
    new: impl FnOnce() -> Fields<'a>,
) -> Option<(ChangeKind, Map<String, Value>)> {
    match old {
        None => Some((ChangeKind::Created, Map::new())),
        Some((old, removed)) => {
            let mut fields: Map<String, Value> = old
                .into_iter()
                .zip(new())
                .filter(|((_, before), (_, after))| before != after)
                .map(|((name, before), (_, after))| {
                    (
                        name.to_owned(),
                        json!({ "old": before.into_owned(), "new": after.into_owned() }),
                    )
                })
                .collect();
            if let Some(removed_at) = removed {
                fields.insert(
                    "removed_at".into(),
                    json!({ "old": removed_at, "new": Value::Null }),
                );
                Some((ChangeKind::Restored, fields))
            } else if fields.is_empty() {
                None
            } else {
                Some((ChangeKind::Updated, fields))
            }
        }
    }
}

/// SHA-256 of observed fields: each name, a NUL, then its value as JSON. Equal digests mean
/// equal fields (names are fixed and JSON is self-delimiting); equal fields may still give
/// another digest (an object's keys in another order, a new field in a later version), which
/// costs one full comparison, never a missed change.
pub(super) fn digest(fields: &Fields<'_>) -> Result<Vec<u8>, serde_json::Error> {
    let mut hasher = Sha256::new();
    for (name, value) in fields {
        hasher.update(name.as_bytes());
        hasher.update([0]);
        serde_json::to_writer(&mut hasher, value.as_ref())?;
    }
    Ok(hasher.finalize().to_vec())
}

pub(super) fn change_row(
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

pub(super) async fn insert_changes<C: ConnectionTrait>(
    db: &C,
    changes: Vec<asset_change::ActiveModel>,
) -> Result<(), StoreError> {
    if let Some(insert) = super::rows::insert_rows(db.get_database_backend(), changes, None)? {
        db.execute(&insert).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn owned(fields: Vec<(&'static str, Value)>) -> Fields<'static> {
        fields
            .into_iter()
            .map(|(name, value)| (name, Cow::Owned(value)))
            .collect()
    }

    #[test]
    fn unchanged_fields_give_no_change() {
        let fields = owned(vec![("name", json!("x")), ("tags", json!({"a": "b"}))]);
        assert!(classify(Some((fields.clone(), None)), || fields).is_none());
    }

    #[test]
    fn only_changed_fields_are_recorded() {
        let old = owned(vec![("name", json!("x")), ("status", json!("active"))]);
        let new = owned(vec![("name", json!("x")), ("status", json!("suspended"))]);
        let (kind, fields) = classify(Some((old, None)), || new).expect("a change");
        assert_eq!(kind, ChangeKind::Updated);
        assert_eq!(
            Value::Object(fields),
            json!({ "status": { "old": "active", "new": "suspended" } })
        );
    }

    #[test]
    fn digests_tell_fields_apart_and_stay_the_same_across_versions() {
        let fields = owned(vec![("name", json!("x")), ("tags", json!({"a": "b"}))]);
        let hex = |bytes: Vec<u8>| -> String { bytes.iter().map(|b| format!("{b:02x}")).collect() };
        // Stored digests outlive releases: a change here makes every row's next write a
        // full comparison. sha256 of b"name\0\"x\"tags\0{\"a\":\"b\"}".
        assert_eq!(
            hex(digest(&fields).expect("digest")),
            "1a20d3f1098d1dd5dbec459441bc36fa11588dfd3da56585661c15f46b727f47"
        );
        let moved = owned(vec![
            ("name", json!("x\u{0}tags")),
            ("tags", json!({"a": "b"})),
        ]);
        assert_ne!(digest(&fields).ok(), digest(&moved).ok());
        let other = owned(vec![("name", json!("y")), ("tags", json!({"a": "b"}))]);
        assert_ne!(digest(&fields).ok(), digest(&other).ok());
    }

    #[test]
    fn a_creation_records_no_fields() {
        let fields = owned(vec![("name", json!("x")), ("raw", json!({"big": [1, 2]}))]);
        assert_eq!(
            classify(None, || fields),
            Some((ChangeKind::Created, Map::new()))
        );
    }

    #[test]
    fn a_removed_row_seen_again_is_restored_even_without_field_changes() {
        let fields = owned(vec![("name", json!("x"))]);
        let removed_at = chrono::DateTime::parse_from_rfc3339("2026-11-01T12:00:00Z")
            .expect("a time")
            .with_timezone(&Utc);
        let (kind, changed) =
            classify(Some((fields.clone(), Some(removed_at))), || fields).expect("a change");
        assert_eq!(kind, ChangeKind::Restored);
        // The restore says when the row had been removed, as the removal said it.
        assert_eq!(
            changed.get("removed_at"),
            Some(&json!({ "old": removed_at, "new": null }))
        );
    }
}
