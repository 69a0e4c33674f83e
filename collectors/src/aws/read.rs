//! What reading an organization needs besides the walk (`walk`): `DescribeOrganization` and
//! `ListRoots` once, errors told apart, one account and its tags, and an account as a
//! record.

use crate::source::CollectError;
use aws_sdk_organizations::Client;
use aws_sdk_organizations::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_organizations::operation::RequestId;
use aws_sdk_organizations::types::{Account, AccountState, AccountStatus as AwsStatus};
use entity::enums::{AccountStatus, Provider};
use entity::record::{AccountRecord, Ancestor};
use serde_json::{Value, json};
use std::collections::BTreeMap;

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

/// How an account was read, for its provenance: the page it was sent in, the request that
/// listed it, and the operations behind its record.
#[derive(Clone, Copy)]
pub(super) struct Listing<'a> {
    pub page: u32,
    pub request_id: Option<&'a str>,
    pub operations: &'a [&'a str],
}

/// An account's tags (`ListTagsForResource`, every page), with the requests that read them;
/// `None` when the account is no longer in the organization.
pub(super) async fn tags(
    client: &Client,
    account: &str,
) -> Result<Option<(BTreeMap<String, String>, Vec<String>)>, CollectError> {
    let mut tags = BTreeMap::new();
    let mut request_ids = Vec::new();
    let mut stream = client
        .list_tags_for_resource()
        .resource_id(account)
        .into_paginator()
        .send();
    while let Some(page) = stream.next().await {
        let page = match page {
            Ok(page) => page,
            Err(err) if gone(&err) => return Ok(None),
            Err(err) => return Err(api_error("ListTagsForResource", err)),
        };
        request_ids.extend(request_id(&page).map(str::to_owned));
        for tag in page.tags() {
            tags.insert(tag.key().to_owned(), tag.value().to_owned());
        }
    }
    Ok(Some((tags, request_ids)))
}

/// An account as `DescribeAccount` gives it, with the request id; `None` when it is no
/// longer in the organization.
pub(super) async fn account(
    client: &Client,
    id: &str,
) -> Result<Option<(Account, Option<String>)>, CollectError> {
    match client.describe_account().account_id(id).send().await {
        Ok(output) => Ok(output
            .account()
            .cloned()
            .map(|account| (account, request_id(&output).map(str::to_owned)))),
        Err(err) if gone(&err) => Ok(None),
        Err(err) => Err(api_error("DescribeAccount", err)),
    }
}

/// The answer for an account that is not (or no longer) in the organization.
fn gone<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> bool {
    matches!(
        err.code(),
        Some("AccountNotFoundException" | "TargetNotFoundException" | "ChildNotFoundException")
    )
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

pub(super) fn record(
    account: &Account,
    organization: &str,
    chain: &[Ancestor],
    parent: String,
    tags: Option<BTreeMap<String, String>>,
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
            "operations": listing.operations,
            "page": listing.page,
            "request_id": listing.request_id,
        }),
    }
}
