//! Reading an organization top-down: from the root, level by level, each parent's OUs
//! (`ListOrganizationalUnitsForParent`) and accounts (`ListAccountsForParent`), a few parents
//! at a time. Every account's parent and path come from the walk and every OU's name from
//! its listing, so the requests grow with the OUs plus the accounts / 20, not with the
//! accounts (no `ListParents` or `DescribeOrganizationalUnit` per account or OU).
//!
//! Tags are not read here: they are an enrichment (`crate::enrich`), read apart within a
//! budget, so records leave them as stored.
//!
//! Organizations change while they are read. An OU deleted mid-walk answers
//! `ParentNotFoundException` and is passed over; its accounts moved somewhere. An account met
//! under two parents is placed once the walk is done, where `ListParents` says it is now. An
//! account the walk did not meet at all (it moved into a part already walked) is not lost:
//! after a complete read the runner asks about every stored account the read missed before
//! removing any (`AwsSource::recheck`). None is lost or written twice.

use super::hierarchy::{Chain, Hierarchy};
use super::read::{Listing, Organization, api_error, record, request_id};
use crate::source::{CollectError, Page};
use aws_sdk_organizations::Client;
use aws_sdk_organizations::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_organizations::types::Account;
use entity::record::Ancestor;
use futures::StreamExt;
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::mpsc;

/// Accounts written per page: a page is one write transaction. The write path's memory
/// grows with the page, and the walk waits on the provider, not on writes, so pages stay
/// small (see the note on issue 32 for the measurements).
const PAGE: usize = 100;
/// The most the listing calls accept per page.
const MAX_RESULTS: i32 = 20;

/// What one parent holds.
#[derive(Default)]
struct Children {
    ous: Vec<(String, Chain)>,
    /// Each with the request id of the page that listed it, for its provenance.
    accounts: Vec<(Account, Option<String>)>,
    request_ids: Vec<String>,
}

/// How listing one parent went.
enum Listed {
    Read(Children),
    /// The parent no longer exists.
    Gone,
    /// Listing failed part-way: what was read before, and why it stopped.
    Failed(Children, CollectError),
}

/// An account found and not yet sent.
struct Found {
    account: Account,
    parent: String,
    chain: Chain,
    request_id: Option<String>,
    operations: &'static [&'static str],
}

/// What an account's record comes from when the walk placed it.
const WALKED: &[&str] = &["ListOrganizationalUnitsForParent", "ListAccountsForParent"];
/// What it comes from when the walk met it twice.
const PLACED_AFTER: &[&str] = &[
    "ListAccountsForParent",
    "ListParents",
    "DescribeOrganizationalUnit",
];

/// Where an account was met, and what was sent for it.
struct Placed {
    parent: String,
}

struct Walk {
    client: Client,
    organization: String,
    concurrency: usize,
    pages: mpsc::Sender<Result<Page, CollectError>>,
    hierarchy: Arc<Hierarchy>,
    /// Accounts found and not yet sent: each with its parent, chain and listing request.
    found: Vec<Found>,
    request_ids: Vec<String>,
    placed: HashMap<String, Placed>,
    /// Accounts met under a second parent, as listed there: placed again once the walk is
    /// done.
    moved: HashMap<String, (Account, Option<String>)>,
    number: u32,
}

/// Sends the organization's accounts as pages, then ends (closing the channel) after the
/// last page or the first error; what was found before an error is sent first. Stops at once
/// when the run stops reading (its deadline, a stop): no call is made for a run that is over.
pub async fn accounts(
    client: Client,
    organization: Organization,
    hierarchy: Arc<Hierarchy>,
    concurrency: usize,
    pages: mpsc::Sender<Result<Page, CollectError>>,
) {
    let reader = pages.clone();
    tokio::select! {
        () = read(client, organization, hierarchy, concurrency, pages) => {}
        () = reader.closed() => tracing::debug!("the run stopped reading; the walk stops"),
    }
}

async fn read(
    client: Client,
    organization: Organization,
    hierarchy: Arc<Hierarchy>,
    concurrency: usize,
    pages: mpsc::Sender<Result<Page, CollectError>>,
) {
    let top = hierarchy.top();
    let mut walk = Walk {
        hierarchy,
        client,
        organization: organization.id.clone(),
        concurrency: concurrency.max(1),
        pages,
        found: Vec::new(),
        request_ids: organization.request_ids,
        placed: HashMap::new(),
        moved: HashMap::new(),
        number: 0,
    };
    let outcome = match walk.walk(organization.root_id, top).await {
        Ok(()) => walk.place_moved().await,
        Err(err) => Err(err),
    };
    // What was found before a failure is kept: the run is partial, not empty.
    let flushed = walk.flush().await;
    if let Err(err) = outcome.and(flushed) {
        let _ = walk.pages.send(Err(err)).await;
    }
}

impl Walk {
    /// Every level of the tree below `root`, `concurrency` parents at a time.
    async fn walk(&mut self, root: String, root_chain: Chain) -> Result<(), CollectError> {
        let mut level = vec![(root, root_chain)];
        while !level.is_empty() {
            let client = &self.client;
            let listed: Vec<(String, Chain, Listed)> = futures::stream::iter(level)
                .map(|(parent, chain)| async move {
                    let listed = children(client, &parent, &chain).await;
                    (parent, chain, listed)
                })
                .buffer_unordered(self.concurrency)
                .collect()
                .await;
            let mut next = Vec::new();
            // The level's first failure ends the walk, once what the level read is kept.
            let mut failure = None;
            for (parent, chain, listed) in listed {
                let children = match listed {
                    Listed::Read(children) => children,
                    // An OU deleted while the walk ran: its accounts went elsewhere, where
                    // the walk or the runner's recheck finds them.
                    Listed::Gone => {
                        tracing::info!(ou = %parent, "an OU disappeared during the walk");
                        continue;
                    }
                    Listed::Failed(children, err) => {
                        failure.get_or_insert(err);
                        children
                    }
                };
                self.request_ids.extend(children.request_ids);
                for (ou, ou_chain) in &children.ous {
                    self.hierarchy.know(ou, ou_chain.clone());
                }
                next.extend(children.ous);
                for (account, request_id) in children.accounts {
                    let id = account.id().unwrap_or_default().to_owned();
                    match self.placed.get(&id) {
                        Some(placed) if placed.parent != parent => {
                            self.moved.insert(id, (account, request_id));
                        }
                        Some(_) => {}
                        None => {
                            self.placed.insert(
                                id,
                                Placed {
                                    parent: parent.clone(),
                                },
                            );
                            self.found.push(Found {
                                account,
                                parent: parent.clone(),
                                chain: chain.clone(),
                                request_id,
                                operations: WALKED,
                            });
                        }
                    }
                }
                if self.found.len() >= PAGE {
                    self.flush().await?;
                }
            }
            if let Some(err) = failure {
                return Err(err);
            }
            level = next;
        }
        Ok(())
    }

    /// Accounts met under two parents are placed where `ListParents` says they are now.
    async fn place_moved(&mut self) -> Result<(), CollectError> {
        let mut moved: Vec<(String, (Account, Option<String>))> = self.moved.drain().collect();
        moved.sort_by(|a, b| a.0.cmp(&b.0));
        for (id, (account, request_id)) in moved {
            let (parent, is_root) = self.hierarchy.parent_of(&id).await?;
            if self.placed.get(&id).is_some_and(|p| p.parent == parent) {
                continue;
            }
            tracing::info!(account = %id, parent = %parent, "an account moved during the walk");
            let chain = self.hierarchy.chain(&parent, is_root).await?;
            self.placed.insert(
                id,
                Placed {
                    parent: parent.clone(),
                },
            );
            self.found.push(Found {
                account,
                parent,
                chain,
                request_id,
                operations: PLACED_AFTER,
            });
        }
        Ok(())
    }

    /// Sends the accounts found as one page; their tags stay as stored (an enrichment).
    async fn flush(&mut self) -> Result<(), CollectError> {
        if self.found.is_empty() {
            return Ok(());
        }
        self.number += 1;
        let organization = self.organization.as_str();
        let number = self.number;
        let accounts = std::mem::take(&mut self.found)
            .into_iter()
            .map(|found| {
                let listing = Listing {
                    page: number,
                    request_id: found.request_id.as_deref(),
                    operations: found.operations,
                };
                record(
                    &found.account,
                    organization,
                    found.chain.as_slice(),
                    found.parent,
                    None,
                    listing,
                )
            })
            .collect();
        let mut request_ids = std::mem::take(&mut self.request_ids);
        request_ids.append(&mut self.hierarchy.take_request_ids());
        let page = Page {
            accounts,
            endpoints: Vec::new(),
            request_ids,
        };
        self.pages
            .send(Ok(page))
            .await
            .map_err(|_| CollectError::Invalid("the run stopped reading".into()))
    }
}

/// A parent's OUs (with their chains) and accounts.
async fn children(client: &Client, parent: &str, chain: &Chain) -> Listed {
    let mut children = Children::default();
    match list(client, parent, chain, &mut children).await {
        Ok(()) => Listed::Read(children),
        Err(None) => Listed::Gone,
        Err(Some(err)) => Listed::Failed(children, err),
    }
}

/// Fills `children` page by page; `Err(None)` when the parent is gone.
async fn list(
    client: &Client,
    parent: &str,
    chain: &Chain,
    children: &mut Children,
) -> Result<(), Option<CollectError>> {
    let mut pages = client
        .list_organizational_units_for_parent()
        .parent_id(parent)
        .max_results(MAX_RESULTS)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|err| failure("ListOrganizationalUnitsForParent", err))?;
        children
            .request_ids
            .extend(request_id(&page).map(str::to_owned));
        for ou in page.organizational_units() {
            let id = ou.id().unwrap_or_default().to_owned();
            let mut ou_chain = (**chain).clone();
            ou_chain.push(Ancestor {
                id: id.clone(),
                name: ou.name().unwrap_or(&id).to_owned(),
                kind: "organizational_unit".into(),
            });
            children.ous.push((id, Arc::new(ou_chain)));
        }
    }
    let mut pages = client
        .list_accounts_for_parent()
        .parent_id(parent)
        .max_results(MAX_RESULTS)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|err| failure("ListAccountsForParent", err))?;
        let listing = request_id(&page).map(str::to_owned);
        children.request_ids.extend(listing.clone());
        children.accounts.extend(
            page.accounts()
                .iter()
                .map(|account| (account.clone(), listing.clone())),
        );
    }
    Ok(())
}

/// A failed listing of a parent: `None` when the parent no longer exists.
fn failure<E, R>(api: &str, err: SdkError<E, R>) -> Option<CollectError>
where
    E: ProvideErrorMetadata + std::fmt::Debug,
    R: std::fmt::Debug,
{
    (err.code() != Some("ParentNotFoundException")).then(|| api_error(api, err))
}
