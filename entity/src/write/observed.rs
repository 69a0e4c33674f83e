//! The observed fields of each asset table, declared once: the fields whose change is
//! history. From the one list come what a write compares and digests ([`Observed::fields`]),
//! the names history records, and how `as_of` sets a field back from history
//! ([`Observed::set`]). The API's pruning reads columns by the same names.

use super::history::Fields;
use crate::enums::{AccountStatus, AuthMode, EndpointKind, EndpointStatus, Origin};
use crate::json_column::{Ancestors, Tags};
use crate::{cloud_account, monitoring_endpoint};
use serde_json::{Value, json};
use std::borrow::Cow;

/// A table's observed fields.
pub(crate) trait Observed {
    /// Their names, as history records them (the columns' names).
    #[cfg(test)]
    const FIELDS: &'static [&'static str];
    /// Each observed field's name and value as history and digests see it.
    fn fields(&self) -> Fields<'_>;
    /// Sets observed field `field` from a value history recorded; a field this version no
    /// longer observes is ignored (older history may name it).
    fn set(&mut self, field: &str, value: Value) -> Result<(), serde_json::Error>;
}

/// A field's value as history's JSON, and back.
trait ObservedValue: Sized {
    fn json(&self) -> Cow<'_, Value>;
    fn from_json(value: Value) -> Result<Self, serde_json::Error>;
}

/// A JSON field is itself: borrowed, as provider records are large.
impl ObservedValue for Value {
    fn json(&self) -> Cow<'_, Value> {
        Cow::Borrowed(self)
    }
    fn from_json(value: Value) -> Result<Self, serde_json::Error> {
        Ok(value)
    }
}

macro_rules! serialized {
    ($($type:ty),+ $(,)?) => {
        $(impl ObservedValue for $type {
            fn json(&self) -> Cow<'_, Value> {
                Cow::Owned(json!(self))
            }
            fn from_json(value: Value) -> Result<Self, serde_json::Error> {
                serde_json::from_value(value)
            }
        })+
    };
}

// Ancestors and tags are typed in the models; as JSON they are the values the models held
// before they were typed, so stored digests stay equal.
serialized!(
    String,
    Option<String>,
    AccountStatus,
    Ancestors,
    Tags,
    EndpointKind,
    EndpointStatus,
    AuthMode,
    Origin,
);

macro_rules! observed {
    ($model:ty: $($field:ident),+ $(,)?) => {
        impl Observed for $model {
            #[cfg(test)]
            const FIELDS: &'static [&'static str] = &[$(stringify!($field)),+];
            fn fields(&self) -> Fields<'_> {
                vec![$((stringify!($field), ObservedValue::json(&self.$field))),+]
            }
            fn set(&mut self, field: &str, value: Value) -> Result<(), serde_json::Error> {
                match field {
                    $(stringify!($field) => self.$field = ObservedValue::from_json(value)?,)+
                    _ => {}
                }
                Ok(())
            }
        }
    };
}

observed!(cloud_account::Model:
    name, org_path, ancestors, parent, status, raw_status, region_residency, tags, raw, scope,
);

// An endpoint's `raw` is left out: it is the latest probe's snapshot (goroutines, series
// counts) and changes every run; status and version are the history worth keeping.
observed!(monitoring_endpoint::Model:
    kind, url, auth_mode, status, version, origin, labels, notes, secret_ref, scope,
);

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::{IdenStatic, Iterable};

    /// Every column is observed (its change is history) or named here as what it is, so a
    /// column added later must be placed on purpose.
    #[test]
    fn every_column_is_observed_or_known_bookkeeping() {
        fn unlisted<C: IdenStatic + Iterable>(observed: &[&str], other: &[&str]) -> Vec<String> {
            C::iter()
                .map(|c| c.as_str().to_owned())
                .filter(|c| !observed.contains(&c.as_str()) && !other.contains(&c.as_str()))
                .collect()
        }
        let account_other = [
            "id",
            "provider",
            "native_id",
            "source",
            "first_seen_at",
            "last_seen_at",
            "removed_at",
            "last_run_id",
            "provenance",
            "observed_digest",
            "tags_read_at",
        ];
        assert_eq!(
            unlisted::<cloud_account::Column>(cloud_account::Model::FIELDS, &account_other),
            Vec::<String>::new()
        );
        let endpoint_other = [
            "id",
            "raw",
            "created_by",
            "updated_by",
            "first_seen_at",
            "last_checked_at",
            "last_error",
            "removed_at",
            "last_run_id",
            "provenance",
        ];
        assert_eq!(
            unlisted::<monitoring_endpoint::Column>(
                monitoring_endpoint::Model::FIELDS,
                &endpoint_other
            ),
            Vec::<String>::new()
        );
        for name in cloud_account::Model::FIELDS {
            assert!(
                cloud_account::Column::iter().any(|c| c.as_str() == *name),
                "{name}"
            );
        }
        for name in monitoring_endpoint::Model::FIELDS {
            assert!(
                monitoring_endpoint::Column::iter().any(|c| c.as_str() == *name),
                "{name}"
            );
        }
    }

    /// What `fields` gives, `set` takes back: history replayed onto any row gives the
    /// observed state it recorded.
    #[test]
    fn every_observed_field_set_from_history_reads_back_the_same() {
        let account = |native_id: &str| {
            let record = crate::record::AccountRecord {
                provider: crate::enums::Provider::Aws,
                native_id: native_id.into(),
                name: format!("account {native_id}"),
                org_path: "o/r/Prod".into(),
                ancestors: vec![crate::record::Ancestor {
                    id: "ou-1".into(),
                    name: "Prod".into(),
                    kind: "organizational_unit".into(),
                }],
                parent: Some("ou-1".into()),
                status: AccountStatus::Active,
                raw_status: Some("ACTIVE".into()),
                region_residency: Some("eu".into()),
                tags: Some([("team".to_owned(), "web".to_owned())].into()),
                raw: json!({ "Id": native_id }),
                scope: "o".into(),
                source: "test/0".into(),
                provenance: json!({}),
            };
            let at = chrono::DateTime::UNIX_EPOCH;
            super::super::tracked::account_model(
                record,
                &super::super::WriteContext::run(1, at),
                None,
            )
        };
        let from = account("1");
        let mut to = account("2");
        to.name = "other".into();
        to.tags = Tags::default();
        to.raw = json!({ "other": true });
        to.status = AccountStatus::Suspended;
        assert_ne!(from.fields(), to.fields());
        for (name, value) in from.fields() {
            to.set(name, value.into_owned())
                .expect("a value history recorded");
        }
        assert_eq!(from.fields(), to.fields());
        assert_eq!(
            from.fields()
                .iter()
                .map(|(name, _)| *name)
                .collect::<Vec<_>>(),
            cloud_account::Model::FIELDS
        );
    }
}
