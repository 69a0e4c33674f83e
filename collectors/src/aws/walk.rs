//! Reading an organization top-down: from the root, level by level, each parent's OUs
//! (`ListOrganizationalUnitsForParent`) and accounts (`ListAccountsForParent`), a few parents
//! at a time. Every account's parent and path come from the walk and every OU's name from
//! its listing, so the requests grow with the OUs plus the accounts / 20, not with the
//! accounts (no `ListParents` or `DescribeOrganizationalUnit` per account or OU).
//!
//! Organizations change while they are read. An OU deleted mid-walk answers
//! `ParentNotFoundException` and is passed over; its accounts moved somewhere. So the walk
//! ends by listing every account once (`ListAccounts`): an account the walk did not meet (it
//! moved into a part already walked) or met under two parents is placed by `ListParents`,
//! the one per-account call left, made only for those few. None is lost or written twice.

use super::hierarchy::{Chain, Hierarchy};
use super::read::{Listing, Organization, api_error, record, request_id, tags};
use crate::source::{CollectError, Page};
use aws_sdk_organizations::Client;
use aws_sdk_organizations::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_organizations::types::Account;
use entity::record::{AccountRecord, Ancestor};
use futures::{StreamExt, TryStreamExt};
use std::collections::{HashMap, HashSet};
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

/// What `ListAccounts` gave: every account, with the request that listed it.
#[derive(Default)]
struct AllAccounts {
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
const WALKED: &[&str] = &[
    "ListOrganizationalUnitsForParent",
    "ListAccountsForParent",
    "ListTagsForResource",
];
/// What it comes from when the walk missed it or met it twice.
const PLACED_AFTER: &[&str] = &[
    "ListAccounts",
    "ListParents",
    "DescribeOrganizationalUnit",
    "ListTagsForResource",
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
    /// Accounts met under a second parent: placed again once the walk is done.
    moved: HashSet<String>,
    number: u32,
}

/// Sends the organization's accounts as pages, then ends (closing the channel) after the
/// last page or the first error; what was found before an error is sent first. Stops at once
/// when the run stops reading (its deadline, a stop): no call is made for a run that is over.
pub async fn accounts(
    client: Client,
    organization: Organization,
    concurrency: usize,
    pages: mpsc::Sender<Result<Page, CollectError>>,
) {
    let reader = pages.clone();
    tokio::select! {
        () = read(client, organization, concurrency, pages) => {}
        () = reader.closed() => tracing::debug!("the run stopped reading; the walk stops"),
    }
}

async fn read(
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
    let mut walk = Walk {
        hierarchy: Arc::new(Hierarchy::new(
            client.clone(),
            top.clone(),
            organization.root_id.clone(),
        )),
        client,
        organization: organization.id.clone(),
        concurrency: concurrency.max(1),
        pages,
        found: Vec::new(),
        request_ids: organization.request_ids,
        placed: HashMap::new(),
        moved: HashSet::new(),
        number: 0,
    };
    // The closing list runs beside the walk: it is one call per 20 accounts, one after the
    // other, and needs nothing from the walk until both are done.
    let client = walk.client.clone();
    let (walked, listed) = tokio::join!(
        walk.walk(organization.root_id, Arc::new(top)),
        list_all(&client)
    );
    let outcome = match (walked, listed) {
        (Ok(()), Ok(listed)) => walk.reconcile(listed).await,
        (Err(err), _) | (_, Err(err)) => Err(err),
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
                    // An OU deleted while the walk ran: its accounts went elsewhere, and the
                    // closing `ListAccounts` finds them.
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
                            self.moved.insert(id);
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

    /// Of every account listed, those the walk missed, and those it met twice, are placed
    /// where `ListParents` says they are now.
    async fn reconcile(&mut self, listed: AllAccounts) -> Result<(), CollectError> {
        self.request_ids.extend(listed.request_ids);
        let stragglers: Vec<(Account, Option<String>)> = listed
            .accounts
            .into_iter()
            .filter(|(account, _)| {
                let id = account.id().unwrap_or_default();
                !self.placed.contains_key(id) || self.moved.contains(id)
            })
            .collect();
        for (account, request_id) in stragglers {
            let id = account.id().unwrap_or_default().to_owned();
            let (parent, is_root) = self.hierarchy.parent_of(&id).await?;
            let unchanged = self
                .placed
                .get(&id)
                .is_some_and(|placed| placed.parent == parent);
            if unchanged {
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

    /// Reads the tags of the accounts found, and sends them as one page.
    async fn flush(&mut self) -> Result<(), CollectError> {
        if self.found.is_empty() {
            return Ok(());
        }
        self.number += 1;
        let found = std::mem::take(&mut self.found);
        let number = self.number;
        let client = &self.client;
        let hierarchy = &self.hierarchy;
        let organization = self.organization.as_str();
        let accounts: Vec<AccountRecord> = futures::stream::iter(found)
            .map(|found| async move {
                let id = found.account.id().unwrap_or_default().to_owned();
                let tags = tags(client, &id, hierarchy).await?;
                let listing = Listing {
                    page: number,
                    request_id: found.request_id.as_deref(),
                    operations: found.operations,
                };
                Ok::<_, CollectError>(record(
                    &found.account,
                    organization,
                    found.chain.as_slice(),
                    found.parent,
                    tags,
                    listing,
                ))
            })
            .buffered(self.concurrency)
            .try_collect()
            .await?;
        let mut request_ids = std::mem::take(&mut self.request_ids);
        if let Ok(mut ids) = self.hierarchy.request_ids.lock() {
            request_ids.append(&mut ids);
        }
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

/// Every account of the organization (`ListAccounts`), each with the request that listed it.
async fn list_all(client: &Client) -> Result<AllAccounts, CollectError> {
    let mut listed = AllAccounts::default();
    let mut pages = client
        .list_accounts()
        .max_results(MAX_RESULTS)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| api_error("ListAccounts", e))?;
        let listing = request_id(&page).map(str::to_owned);
        listed.request_ids.extend(listing.clone());
        listed.accounts.extend(
            page.accounts()
                .iter()
                .map(|account| (account.clone(), listing.clone())),
        );
    }
    Ok(listed)
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
