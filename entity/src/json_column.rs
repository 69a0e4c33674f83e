//! JSON columns that the models hold in their own types rather than as JSON values: sqlx
//! decodes them straight from the column, with no tree of values to build, convert and
//! drop for every row a page reads. The write
//! path hashes and records them as the JSON values the models held before
//! (`write::tracked`), so digests stored by earlier versions stay equal. Only the write path
//! writes these columns, from records of these same types.

use crate::record::Ancestor;
use sea_orm::FromJsonQueryResult;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// An account's ancestors, from the organization root down to the direct parent.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, FromJsonQueryResult)]
#[serde(transparent)]
pub struct Ancestors(pub Vec<Ancestor>);

/// An account's tags or an endpoint's labels, by key.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, FromJsonQueryResult)]
#[serde(transparent)]
pub struct Tags(pub BTreeMap<String, String>);
