//! The inventory document: accounts and endpoints in one JSON file, for inventories kept by
//! hand (accounts outside any organization, endpoints behind a VPN) and for the example data
//! the API loads on first run. `deploy/examples/inventory.json` is the reference.

use crate::record::{AccountRecord, EndpointRecord};
use serde::Deserialize;
use std::collections::HashSet;

/// A document that parsed and passed every check: it names `accounts` or `endpoints` (an
/// empty file is not an empty inventory: importing one would remove its scope's assets),
/// no record twice, and every record meets the write path's rules ([`crate::validate`]), so
/// an import is refused whole, before anything is written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(try_from = "Unchecked")]
pub struct InventoryDocument {
    pub accounts: Vec<AccountRecord>,
    pub endpoints: Vec<EndpointRecord>,
}

/// A document as written, before [`InventoryDocument`]'s checks.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Unchecked {
    accounts: Option<Vec<AccountRecord>>,
    endpoints: Option<Vec<EndpointRecord>>,
}

impl TryFrom<Unchecked> for InventoryDocument {
    type Error = String;

    fn try_from(doc: Unchecked) -> Result<Self, String> {
        if doc.accounts.is_none() && doc.endpoints.is_none() {
            return Err(
                "the document names neither accounts nor endpoints (write `accounts: []` to mean none)"
                    .into(),
            );
        }
        let accounts = doc.accounts.unwrap_or_default();
        let endpoints = doc.endpoints.unwrap_or_default();
        let mut seen = HashSet::with_capacity(accounts.len());
        for (index, account) in accounts.iter().enumerate() {
            let id = account.id();
            crate::validate::account(account)
                .map_err(|e| format!("accounts[{index}] ({id:?}): {e}"))?;
            if !seen.insert(id) {
                return Err(format!(
                    "accounts[{index}]: account {:?} appears more than once",
                    account.id()
                ));
            }
        }
        let mut seen = HashSet::with_capacity(endpoints.len());
        for (index, endpoint) in endpoints.iter().enumerate() {
            crate::validate::endpoint(endpoint)
                .map_err(|e| format!("endpoints[{index}] ({:?}): {e}", endpoint.id))?;
            if !seen.insert(endpoint.id.clone()) {
                return Err(format!(
                    "endpoints[{index}]: endpoint {:?} appears more than once",
                    endpoint.id
                ));
            }
        }
        Ok(Self {
            accounts,
            endpoints,
        })
    }
}

/// Why a document was refused, with the position serde reports.
#[derive(Debug, thiserror::Error)]
#[error("invalid inventory document: {0}")]
pub struct DocumentError(#[from] serde_json::Error);

impl InventoryDocument {
    /// Parses a JSON document and stamps every record with `source`, so the rows say which
    /// file they came from.
    pub fn parse(text: &str, source: &str) -> Result<Self, DocumentError> {
        let mut doc: Self = serde_json::from_str(text)?;
        doc.stamp(source);
        Ok(doc)
    }

    /// Records where every record came from (documents cannot set provenance themselves).
    pub fn stamp(&mut self, source: &str) {
        let provenance = serde_json::json!({ "document": source });
        for account in &mut self.accounts {
            account.source = source.to_owned();
            account.provenance = provenance.clone();
        }
        for endpoint in &mut self.endpoints {
            endpoint.provenance = provenance.clone();
        }
    }
}

/// What [`import`] wrote.
#[derive(Debug, Clone)]
pub struct ImportSummary {
    pub run: crate::collector_run::Model,
    pub accounts: crate::write::WriteCounts,
    pub endpoints: crate::write::WriteCounts,
}

/// Writes a document as one run of collector `file` over `scope`: both upserts go through
/// the write path, and the run is closed as failed (with nothing half-written: each upsert
/// is a transaction) when either fails.
pub async fn import(
    db: &sea_orm::DatabaseConnection,
    doc: InventoryDocument,
    scope: &str,
    version: &str,
) -> Result<ImportSummary, crate::StoreError> {
    use crate::enums::RunStatus;
    use crate::run::{RunOutcome, finish_run, start_run};
    use crate::write::{WriteContext, WriteCounts, upsert_accounts, upsert_endpoints};

    let started = chrono::Utc::now();
    let run = start_run(db, "file", version, scope, started).await?;
    let ctx = WriteContext::run(run.id, started);
    let written = async {
        let accounts = upsert_accounts(db, &ctx, doc.accounts).await?;
        let endpoints = upsert_endpoints(db, &ctx, doc.endpoints).await?;
        Ok::<_, crate::StoreError>((accounts, endpoints))
    }
    .await;
    let (status, counts, error, result) = match written {
        Ok((accounts, endpoints)) => {
            let mut all = accounts;
            all.add(endpoints);
            (RunStatus::Succeeded, all, None, Ok((accounts, endpoints)))
        }
        Err(err) => {
            tracing::error!(run = run.id, error = %err, "import failed");
            (
                RunStatus::Failed,
                WriteCounts::default(),
                Some(err.public_message()),
                Err(err),
            )
        }
    };
    let outcome = RunOutcome {
        status,
        counts,
        pages: 1,
        request_ids: Vec::new(),
        error,
    };
    let run = finish_run(db, run.id, outcome, chrono::Utc::now()).await?;
    let (accounts, endpoints) = result?;
    Ok(ImportSummary {
        run,
        accounts,
        endpoints,
    })
}
