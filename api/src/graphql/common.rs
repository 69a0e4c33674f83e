//! Small shared types and filter pieces: tags, ancestors, text matching.

use crate::error::{ApiError, ApiResult};
use async_graphql::{InputObject, SimpleObject};
use sea_orm::DbBackend;

/// Longest text a filter accepts.
pub const MAX_FILTER_TEXT: usize = 256;
/// Most tag conditions one filter may carry.
pub const MAX_TAG_FILTERS: usize = 16;

/// A key/value pair from a provider's tags or labels.
#[derive(SimpleObject, Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    pub key: String,
    pub value: String,
}

/// Tags as the API lists them: sorted by key, as stored.
pub fn tags_of(tags: &entity::json_column::Tags) -> Vec<Tag> {
    tags.0
        .iter()
        .map(|(key, value)| Tag {
            key: key.clone(),
            value: value.clone(),
        })
        .collect()
}

/// One level of an account's organization hierarchy, from the root down.
#[derive(SimpleObject, Debug, Clone)]
#[graphql(complex)]
pub struct Ancestor {
    /// The provider's id of the node (`ou-ab12-cdef3456`, `folders/123`, a management group
    /// name); `subtree` filters match it.
    pub id: String,
    pub name: String,
    /// The provider's own word: `organization`, `root`, `organizational_unit`, `folder`,
    /// `tenant`, `management_group`… (`type` is the same, as one enum for all clouds).
    pub kind: String,
}

/// What a hierarchy node is, one model for all three clouds.
#[derive(async_graphql::Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum AncestorType {
    /// An AWS organization or a GCP organization.
    Organization,
    /// The root of an AWS organization.
    Root,
    /// An AWS organizational unit.
    Ou,
    /// A GCP folder.
    Folder,
    /// An Azure management group.
    ManagementGroup,
    /// An Azure (Entra ID) tenant.
    Tenant,
    /// A kind this version does not know (for example from an imported document).
    Other,
}

#[async_graphql::ComplexObject]
impl Ancestor {
    #[graphql(name = "type")]
    async fn ancestor_type(&self) -> AncestorType {
        AncestorType::of(&self.kind)
    }
}

impl From<&entity::record::Ancestor> for Ancestor {
    fn from(node: &entity::record::Ancestor) -> Self {
        Self {
            id: node.id.clone(),
            name: node.name.clone(),
            kind: node.kind.clone(),
        }
    }
}

impl AncestorType {
    /// `type`: the provider's word for a node (`kind`) as one enum for all clouds.
    pub fn of(kind: &str) -> Self {
        match kind {
            "organization" => AncestorType::Organization,
            "root" => AncestorType::Root,
            "organizational_unit" => AncestorType::Ou,
            "folder" => AncestorType::Folder,
            "management_group" => AncestorType::ManagementGroup,
            "tenant" => AncestorType::Tenant,
            _ => AncestorType::Other,
        }
    }
}

/// Matches assets that carry tag `key`, with `value` when given.
#[derive(InputObject, Debug, Clone)]
pub struct TagFilter {
    pub key: String,
    pub value: Option<String>,
}

/// Checks a free-text filter argument.
pub fn filter_text<'a>(text: &'a str, field: &str) -> ApiResult<&'a str> {
    if text.chars().count() > MAX_FILTER_TEXT {
        Err(ApiError::bad_input(
            field,
            format!("{field} must be at most {MAX_FILTER_TEXT} characters"),
        ))
    } else {
        Ok(text)
    }
}

/// The condition a tag filter sets on `tagged`, its texts checked.
pub fn tag_condition(
    backend: DbBackend,
    tagged: entity::query::Tagged,
    filter: &TagFilter,
) -> ApiResult<sea_orm::sea_query::Expr> {
    filter_text(&filter.key, "tag.key")?;
    if let Some(value) = &filter.value {
        filter_text(value, "tag.value")?;
    }
    Ok(entity::query::has_tag(
        backend,
        tagged,
        &filter.key,
        filter.value.as_deref(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tags_come_sorted_by_key() {
        let stored: entity::json_column::Tags =
            serde_json::from_value(json!({ "b": "2", "a": "1", "B": "3" })).expect("tags");
        let tags = tags_of(&stored);
        let keys: Vec<_> = tags
            .iter()
            .map(|t| (t.key.as_str(), t.value.as_str()))
            .collect();
        assert_eq!(keys, vec![("B", "3"), ("a", "1"), ("b", "2")]);
    }
}
