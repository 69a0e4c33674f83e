//! Reading the organization: `DescribeOrganization` and `ListRoots` once, then `ListAccounts`
//! page by page with the SDK paginator, each account enriched with its OU path and tags.

use super::hierarchy::Hierarchy;
use crate::source::{CollectError, Page};
use aws_sdk_organizations::Client;
use aws_sdk_organizations::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_organizations::operation::RequestId;
use aws_sdk_organizations::types::{Account, AccountState, AccountStatus as AwsStatus};
use entity::enums::{AccountStatus, Provider};
use entity::record::{AccountRecord, Ancestor};
use futures::{StreamExt, TryStreamExt};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio::sync::mpsc;

/// The organization being read.
pub struct Organization {
    pub id: String,
    pub root_id: String,
    pub root_name: String,
    pub request_ids: Vec<String>,
}

pub fn request_id<T: RequestId>(output: &T) -> Option<&str> {
    output.request_id()
}

/// Throttling that outlived the SDK's retries is told apart from other failures.
pub fn api_error<E: ProvideErrorMetadata + std::fmt::Debug, R: std::fmt::Debug>(
    api: &str,
    err: SdkError<E, R>,
) -> CollectError {
    let code = err.code().unwrap_or_default().to_owned();
    let detail = match (&err, err.message()) {
        (SdkError::TimeoutError(_), _) => "timed out".to_owned(),
        (SdkError::DispatchFailure(_), _) => "could not reach the endpoint".to_owned(),
        (_, Some(message)) => format!("{code}: {message}"),
        (_, None) if !code.is_empty() => code.clone(),
        _ => format!("{err:?}").chars().take(300).collect(),
    };
    if code == "TooManyRequestsException" || code.contains("Throttl") {
        CollectError::Throttled {
            api: api.into(),
            detail,
        }
    } else {
        CollectError::Request {
            api: api.into(),
            detail,
        }
    }
}

pub async fn describe(client: &Client) -> Result<Organization, CollectError> {
    let described = client
        .describe_organization()
        .send()
        .await
        .map_err(|e| api_error("DescribeOrganization", e))?;
    let id = described
        .organization()
        .and_then(|o| o.id())
        .ok_or_else(|| CollectError::Invalid("DescribeOrganization returned no id".into()))?
        .to_owned();
    let roots = client
        .list_roots()
        .send()
        .await
        .map_err(|e| api_error("ListRoots", e))?;
    let root = roots
        .roots()
        .first()
        .ok_or_else(|| CollectError::Invalid("ListRoots returned no root".into()))?;
    Ok(Organization {
        id,
        root_id: root.id().unwrap_or_default().to_owned(),
        root_name: root.name().unwrap_or("Root").to_owned(),
        request_ids: [request_id(&described), request_id(&roots)]
            .into_iter()
            .flatten()
            .map(str::to_owned)
            .collect(),
    })
}

/// Sends one enriched page per `ListAccounts` page, then ends (closing the channel) after
/// the last page or the first error.
pub async fn accounts(
    client: Client,
    organization: Organization,
    concurrency: usize,
    pages: mpsc::Sender<Result<Page, CollectError>>,
) {
    let top = vec![
        Ancestor {
            id: organization.id.clone(),
            name: organization.id.clone(),
            kind: "organization".into(),
        },
        Ancestor {
            id: organization.root_id.clone(),
            name: organization.root_name.clone(),
            kind: "root".into(),
        },
    ];
    let hierarchy = Arc::new(Hierarchy::new(
        client.clone(),
        top,
        organization.root_id.clone(),
    ));
    let mut first_ids = organization.request_ids;
    let mut stream = client.list_accounts().into_paginator().send();
    let mut number = 0u32;
    while let Some(listed) = stream.next().await {
        number += 1;
        let page = match listed {
            Ok(listed) => {
                let mut request_ids = std::mem::take(&mut first_ids);
                request_ids.extend(request_id(&listed).map(str::to_owned));
                let listing = Listing {
                    page: number,
                    request_id: request_id(&listed),
                };
                enrich(
                    &client,
                    &hierarchy,
                    &organization.id,
                    listed.accounts(),
                    listing,
                    concurrency,
                )
                .await
                .map(|accounts| {
                    if let Ok(mut ids) = hierarchy.request_ids.lock() {
                        request_ids.append(&mut ids);
                    }
                    Page {
                        accounts,
                        endpoints: Vec::new(),
                        request_ids,
                    }
                })
            }
            Err(err) => Err(api_error("ListAccounts", err)),
        };
        let failed = page.is_err();
        if pages.send(page).await.is_err() || failed {
            return;
        }
    }
}

/// Which `ListAccounts` page an account came from, for its provenance.
#[derive(Clone, Copy)]
struct Listing<'a> {
    page: u32,
    request_id: Option<&'a str>,
}

async fn enrich(
    client: &Client,
    hierarchy: &Arc<Hierarchy>,
    organization: &str,
    accounts: &[Account],
    listing: Listing<'_>,
    concurrency: usize,
) -> Result<Vec<AccountRecord>, CollectError> {
    futures::stream::iter(accounts.iter().cloned())
        .map(|account| {
            let hierarchy = hierarchy.clone();
            async move {
                let id = account.id().unwrap_or_default().to_owned();
                let (parent, is_root) = hierarchy.parent_of(&id).await?;
                let chain = hierarchy.chain(&parent, is_root).await?;
                let tags = tags(client, &id, &hierarchy).await?;
                Ok::<_, CollectError>(record(
                    &account,
                    organization,
                    &chain,
                    parent,
                    tags,
                    listing,
                ))
            }
        })
        .buffered(concurrency)
        .try_collect()
        .await
}

async fn tags(
    client: &Client,
    account: &str,
    hierarchy: &Hierarchy,
) -> Result<BTreeMap<String, String>, CollectError> {
    let mut tags = BTreeMap::new();
    let mut stream = client
        .list_tags_for_resource()
        .resource_id(account)
        .into_paginator()
        .send();
    while let Some(page) = stream.next().await {
        let page = page.map_err(|e| api_error("ListTagsForResource", e))?;
        if let (Some(id), Ok(mut ids)) = (request_id(&page), hierarchy.request_ids.lock()) {
            ids.push(id.to_owned());
        }
        for tag in page.tags() {
            tags.insert(tag.key().to_owned(), tag.value().to_owned());
        }
    }
    Ok(tags)
}

/// The newer `State` is preferred; the deprecated `Status` is the fallback.
fn status(account: &Account) -> (AccountStatus, Option<String>) {
    if let Some(state) = account.state() {
        let normalized = match state {
            AccountState::Active => AccountStatus::Active,
            AccountState::Suspended => AccountStatus::Suspended,
            AccountState::PendingClosure => AccountStatus::PendingDeletion,
            AccountState::Closed => AccountStatus::Deleted,
            _ => AccountStatus::Unknown,
        };
        return (normalized, Some(state.as_str().to_owned()));
    }
    match account.status() {
        Some(status) => {
            let normalized = match status {
                AwsStatus::Active => AccountStatus::Active,
                AwsStatus::Suspended => AccountStatus::Suspended,
                AwsStatus::PendingClosure => AccountStatus::PendingDeletion,
                _ => AccountStatus::Unknown,
            };
            (normalized, Some(status.as_str().to_owned()))
        }
        None => (AccountStatus::Unknown, None),
    }
}

fn record(
    account: &Account,
    organization: &str,
    chain: &[Ancestor],
    parent: String,
    tags: BTreeMap<String, String>,
    listing: Listing<'_>,
) -> AccountRecord {
    let id = account.id().unwrap_or_default().to_owned();
    let (status, raw_status) = status(account);
    // Org and root by id, OUs by name: `o-abc/r-root/Prod/Payments`.
    let org_path = chain
        .iter()
        .map(|a| {
            if a.kind == "organizational_unit" {
                a.name.as_str()
            } else {
                a.id.as_str()
            }
        })
        .collect::<Vec<_>>()
        .join("/");
    let raw: Value = json!({
        "Id": account.id(),
        "Arn": account.arn(),
        "Email": account.email(),
        "Name": account.name(),
        "Status": account.status().map(|s| s.as_str()),
        "State": account.state().map(|s| s.as_str()),
        "JoinedMethod": account.joined_method().map(|m| m.as_str()),
        "JoinedTimestamp": account.joined_timestamp().map(|t| t.to_string()),
    });
    AccountRecord {
        provider: Provider::Aws,
        name: account.name().unwrap_or(&id).to_owned(),
        native_id: id,
        org_path,
        ancestors: chain.to_vec(),
        parent: Some(parent),
        status,
        raw_status,
        region_residency: None,
        tags,
        raw,
        scope: organization.to_owned(),
        source: String::new(),
        provenance: json!({
            "api": "organizations",
            "operations": ["ListAccounts", "ListParents", "DescribeOrganizationalUnit", "ListTagsForResource"],
            "page": listing.page,
            "request_id": listing.request_id,
        }),
    }
}
