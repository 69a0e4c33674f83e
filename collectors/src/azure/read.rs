//! Reading one tenant: the management-group hierarchy (optional), then subscriptions page by
//! page. `nextLink`s are followed only on the API's own origin, so a token is never sent to
//! a host a response names.

use super::credential::Tokens;
use crate::http::Http;
use crate::source::{CollectError, Page};
use entity::enums::{AccountStatus, Provider};
use entity::record::{AccountRecord, Ancestor};
use serde_json::{Value, json};
use std::collections::HashMap;
use tokio::sync::mpsc;
use url::Url;

const SUBSCRIPTIONS_API: &str = "2022-12-01";
const MANAGEMENT_GROUPS_API: &str = "2020-05-01";

pub struct Reader {
    pub http: Http,
    pub tokens: Tokens,
    pub base: Url,
    pub tenant: String,
    pub pages: mpsc::Sender<Result<Page, CollectError>>,
}

/// A management group: display name and parent group id (full resource id).
struct Group {
    name: String,
    parent: Option<String>,
}

/// Where each subscription sits: subscription id → parent group id.
#[derive(Default)]
struct Hierarchy {
    groups: HashMap<String, Group>,
    parents: HashMap<String, String>,
    readable: bool,
}

fn text(value: &Value, pointer: &str) -> Option<String> {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .map(str::to_owned)
}

impl Reader {
    pub async fn run(self) {
        if let Err(err) = self.read().await {
            let _ = self.pages.send(Err(err)).await;
        }
    }

    /// The URL of a `nextLink`, if it stays on our origin.
    fn next(&self, body: &Value, api: &str) -> Result<Option<Url>, CollectError> {
        let Some(link) = text(body, "/nextLink").filter(|l| !l.is_empty()) else {
            return Ok(None);
        };
        let url = Url::parse(&link).map_err(|e| CollectError::Request {
            api: api.into(),
            detail: format!("nextLink is not a URL: {e}"),
        })?;
        if url.origin() != self.base.origin() {
            return Err(CollectError::Request {
                api: api.into(),
                detail: format!(
                    "nextLink points at another host ({})",
                    url.origin().ascii_serialization()
                ),
            });
        }
        Ok(Some(url))
    }

    async fn get(&self, api: &str, url: &Url) -> Result<crate::http::Fetched, CollectError> {
        let token = self.tokens.get().await?;
        self.http.get_json(api, url, &token).await
    }

    /// The tenant's management groups; an unreadable hierarchy (no Management Group Reader
    /// role) is not an error: subscriptions then sit directly under the tenant.
    async fn hierarchy(&self) -> Hierarchy {
        let mut url = self.base.clone();
        url.set_path(&format!(
            "/providers/Microsoft.Management/managementGroups/{}/descendants",
            self.tenant
        ));
        url.query_pairs_mut()
            .append_pair("api-version", MANAGEMENT_GROUPS_API);
        let mut hierarchy = Hierarchy::default();
        let mut next = Some(url);
        while let Some(url) = next.take() {
            let fetched = match self.get("managementGroups.descendants", &url).await {
                Ok(fetched) => fetched,
                Err(err) => {
                    tracing::warn!(error = %err, "management groups not readable; subscriptions stay under the tenant");
                    return Hierarchy::default();
                }
            };
            for item in fetched
                .body
                .get("value")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let parent = text(item, "/properties/parent/id");
                let name = text(item, "/name").unwrap_or_default();
                match item.get("type").and_then(Value::as_str) {
                    Some("Microsoft.Management/managementGroups") => {
                        let id = text(item, "/id").unwrap_or_default();
                        let display =
                            text(item, "/properties/displayName").unwrap_or_else(|| name.clone());
                        hierarchy.groups.insert(
                            id,
                            Group {
                                name: display,
                                parent,
                            },
                        );
                    }
                    Some("Microsoft.Management/managementGroups/subscriptions") => {
                        if let Some(parent) = parent {
                            hierarchy.parents.insert(name, parent);
                        }
                    }
                    _ => {}
                }
            }
            next = match self.next(&fetched.body, "managementGroups.descendants") {
                Ok(next) => next,
                Err(err) => {
                    tracing::warn!(error = %err, "management groups not readable");
                    return Hierarchy::default();
                }
            };
        }
        hierarchy.readable = true;
        hierarchy
    }

    fn ancestors(&self, hierarchy: &Hierarchy, subscription: &str) -> Vec<Ancestor> {
        let mut chain = Vec::new();
        let mut next = hierarchy.parents.get(subscription).cloned();
        while let Some(id) = next.take() {
            let Some(group) = hierarchy.groups.get(&id) else {
                break;
            };
            chain.push(Ancestor {
                id: id.clone(),
                name: group.name.clone(),
                kind: "management_group".into(),
            });
            if chain.len() > 10 {
                break;
            }
            next = group.parent.clone();
        }
        chain.push(Ancestor {
            id: self.tenant.clone(),
            name: self.tenant.clone(),
            kind: "tenant".into(),
        });
        chain.reverse();
        chain
    }

    async fn read(&self) -> Result<(), CollectError> {
        let hierarchy = self.hierarchy().await;
        let mut url = self.base.clone();
        url.set_path("/subscriptions");
        url.query_pairs_mut()
            .append_pair("api-version", SUBSCRIPTIONS_API);
        let mut next = Some(url);
        let mut page = 0u32;
        while let Some(url) = next.take() {
            page += 1;
            let fetched = self.get("subscriptions.list", &url).await?;
            let accounts = fetched
                .body
                .get("value")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|s| self.record(s, &hierarchy, page, fetched.request_id.as_deref()))
                .collect();
            next = self.next(&fetched.body, "subscriptions.list")?;
            let page = Page {
                accounts,
                endpoints: Vec::new(),
                request_ids: fetched.request_id.into_iter().collect(),
            };
            self.pages
                .send(Ok(page))
                .await
                .map_err(|_| CollectError::Invalid("the runner stopped reading".into()))?;
        }
        Ok(())
    }

    fn record(
        &self,
        subscription: &Value,
        hierarchy: &Hierarchy,
        page: u32,
        request_id: Option<&str>,
    ) -> Option<AccountRecord> {
        let id = text(subscription, "/subscriptionId")?;
        let state = text(subscription, "/state");
        let status = match state.as_deref() {
            Some("Enabled" | "Warned" | "PastDue") => AccountStatus::Active,
            Some("Disabled") => AccountStatus::Suspended,
            Some("Deleted") => AccountStatus::Deleted,
            _ => AccountStatus::Unknown,
        };
        let ancestors = self.ancestors(hierarchy, &id);
        let tags = subscription
            .get("tags")
            .and_then(Value::as_object)
            .map(|t| {
                t.iter()
                    .map(|(k, v)| {
                        (
                            k.clone(),
                            v.as_str().map_or_else(|| v.to_string(), str::to_owned),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        Some(AccountRecord {
            provider: Provider::Azure,
            name: text(subscription, "/displayName").unwrap_or_else(|| id.clone()),
            org_path: ancestors
                .iter()
                .map(|a| a.name.as_str())
                .collect::<Vec<_>>()
                .join("/"),
            parent: ancestors.last().map(|a| a.id.clone()),
            ancestors,
            native_id: id,
            status,
            raw_status: state,
            region_residency: None,
            tags: Some(tags),
            raw: subscription.clone(),
            scope: String::new(),
            source: String::new(),
            provenance: json!({
                "api": "azure-resource-manager",
                "operation": "subscriptions.list",
                "api_version": SUBSCRIPTIONS_API,
                "page": page,
                "request_id": request_id,
                "management_groups": hierarchy.readable,
            }),
        })
    }
}
