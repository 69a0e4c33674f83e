//! History: deciding what a write means (created, updated, restored, nothing) and recording
//! it in `asset_changes`.

use super::WriteContext;
use crate::asset_change;
use crate::enums::{AssetType, ChangeKind};
use crate::error::StoreError;
use sea_orm::{ActiveValue::Set, ConnectionTrait};
use serde_json::{Map, Value, json};
use std::borrow::Cow;

/// Observed fields, the ones whose change is history. Bookkeeping (last seen, run id,
/// provenance, source, last check time) changes on every run and is not. Large values
/// (raw records, tags) are borrowed from the row: comparing is most of a write's work, and
/// only a real change needs them owned.
pub(super) type Fields<'a> = Vec<(&'static str, Cow<'a, Value>)>;

/// Decides what a write means for history. `old` is the stored fields and whether the row
/// is currently removed.
pub(super) fn classify(
    old: Option<(Fields<'_>, bool)>,
    new: Fields<'_>,
) -> Option<(ChangeKind, Map<String, Value>)> {
    match old {
        None => Some((
            ChangeKind::Created,
            new.into_iter()
                .map(|(name, value)| {
                    (
                        name.to_owned(),
                        json!({ "old": Value::Null, "new": value.into_owned() }),
                    )
                })
                .collect(),
        )),
        Some((old, removed)) => {
            let mut fields: Map<String, Value> = old
                .into_iter()
                .zip(new)
                .filter(|((_, before), (_, after))| before != after)
                .map(|((name, before), (_, after))| {
                    (
                        name.to_owned(),
                        json!({ "old": before.into_owned(), "new": after.into_owned() }),
                    )
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
        assert!(classify(Some((fields.clone(), false)), fields).is_none());
    }

    #[test]
    fn only_changed_fields_are_recorded() {
        let old = owned(vec![("name", json!("x")), ("status", json!("active"))]);
        let new = owned(vec![("name", json!("x")), ("status", json!("suspended"))]);
        let (kind, fields) = classify(Some((old, false)), new).expect("a change");
        assert_eq!(kind, ChangeKind::Updated);
        assert_eq!(
            Value::Object(fields),
            json!({ "status": { "old": "active", "new": "suspended" } })
        );
    }

    #[test]
    fn a_removed_row_seen_again_is_restored_even_without_field_changes() {
        let fields = owned(vec![("name", json!("x"))]);
        let (kind, _) = classify(Some((fields.clone(), true)), fields).expect("a change");
        assert_eq!(kind, ChangeKind::Restored);
    }
}
