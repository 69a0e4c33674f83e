//! What a collector is: something that reads one source, page by page, and turns what it
//! reads into plain records. It never writes; the runner does.

use entity::enrich::{Due, Enriched, Enrichment};
use entity::record::{AccountRecord, EndpointRecord};
use futures::Stream;
use std::future::Future;
use tokio::time::Instant;

/// Why reading stopped. The runner records it on the run; nothing is removed after either.
#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    /// The provider kept throttling after every retry the budget allowed.
    #[error("throttled by {api}: {detail}")]
    Throttled { api: String, detail: String },
    /// A request failed for good (after retries where they make sense).
    #[error("{api} failed: {detail}")]
    Request { api: String, detail: String },
    /// The input cannot be used at all (bad document, bad configuration).
    #[error("{0}")]
    Invalid(String),
}

/// One page of what a source read.
#[derive(Debug, Default)]
pub struct Page {
    pub accounts: Vec<AccountRecord>,
    pub endpoints: Vec<EndpointRecord>,
    /// The provider's request ids behind this page, for support tickets.
    pub request_ids: Vec<String>,
}

/// Which asset tables a source speaks for in its scope: after a complete read, rows of these
/// tables in the scope that were not seen are marked removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owns {
    pub accounts: bool,
    pub endpoints: bool,
}

pub trait Source: Send {
    /// The collector's name, as recorded on runs (`aws`, `file`…).
    fn collector(&self) -> &'static str;

    /// Which tables a complete read is authoritative for.
    fn owns(&self) -> Owns;

    /// The scope [`Source::open`] will return, when the configuration says it (a file, a
    /// GCP organization, an Azure tenant): a run that fails before it opens is recorded
    /// there, so its failure shows on the series that its next success clears.
    fn planned_scope(&self) -> Option<String> {
        None
    }

    /// Connects and finds out what is being read: the scope (an organization, a tenant, a
    /// file). Runs before the run is recorded, so the lock can be taken per scope.
    fn open(&mut self) -> impl Future<Output = Result<String, CollectError>> + Send;

    /// The next page, or `None` once the source was read completely.
    fn next_page(&mut self) -> impl Future<Output = Result<Option<Page>, CollectError>> + Send;

    /// After a complete read, before anything is removed: of the accounts stored in the
    /// scope that the read did not see (their native ids), those that still exist, as a
    /// page. A source whose listing can miss an account that moved while it ran (a walk of
    /// a tree) answers here where they are now; the rest are removed.
    fn recheck(
        &mut self,
        unseen: Vec<String>,
    ) -> impl Future<Output = Result<Page, CollectError>> + Send {
        let _ = unseen;
        async { Ok(Page::default()) }
    }

    /// What this source reads per asset apart from its listing, if anything: the runner
    /// then asks for it ([`Source::enrich`]) after a complete read, stalest first, within a
    /// share of the run's deadline (`crate::enrich`).
    fn enrichment(&self) -> Option<Enrichment> {
        None
    }

    /// Reads the enrichment of these assets as they are pulled, as many at a time as the
    /// source allows, in about their order, starting no read after `until`. An asset that no
    /// longer exists is left out; the runner stops at the first error.
    fn enrich(
        &mut self,
        due: Vec<Due>,
        until: Instant,
    ) -> impl Stream<Item = Result<Enriched, CollectError>> + Send + '_ {
        let _ = (due, until);
        futures::stream::empty()
    }
}
