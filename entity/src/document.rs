//! The inventory document: accounts and endpoints in one JSON file, for inventories kept by
//! hand (accounts outside any organization, endpoints behind a VPN) and for the example data
//! the API loads on first run. `deploy/examples/inventory.json` is the reference.

use crate::record::{AccountRecord, EndpointRecord};
use serde::Deserialize;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InventoryDocument {
    #[serde(default)]
    pub accounts: Vec<AccountRecord>,
    #[serde(default)]
    pub endpoints: Vec<EndpointRecord>,
}

/// Why a document was refused, with the position serde reports.
#[derive(Debug, thiserror::Error)]
#[error("invalid inventory document: {0}")]
pub struct DocumentError(#[from] serde_json::Error);

impl InventoryDocument {
    /// Parses a document and stamps every record with `source`, so the rows say which file
    /// they came from.
    pub fn parse(text: &str, source: &str) -> Result<Self, DocumentError> {
        let mut doc: Self = serde_json::from_str(text)?;
        let provenance = serde_json::json!({ "document": source });
        for account in &mut doc.accounts {
            account.source = source.to_owned();
            account.provenance = provenance.clone();
        }
        for endpoint in &mut doc.endpoints {
            endpoint.provenance = provenance.clone();
        }
        Ok(doc)
    }
}
