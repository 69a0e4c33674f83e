//! The `file` source: accounts and endpoints from a YAML or JSON inventory document (the
//! format of `deploy/examples/inventory.json`), for what no API lists: accounts outside any
//! organization, endpoints behind a VPN.
//!
//! A file is its own scope (`file:<name>` unless `--scope` says otherwise): every record in it
//! is stamped with that scope, and a record that disappears from the file is marked removed by
//! the next complete import. Endpoints from a file are owned by the file (`origin: COLLECTOR`),
//! so editing the file edits them; hand-seeded endpoints belong to the API's mutation.

use crate::source::{CollectError, Owns, Page, Source};
use entity::document::InventoryDocument;
use entity::enums::Origin;
use std::path::PathBuf;

pub struct FileSource {
    path: PathBuf,
    scope: Option<String>,
    document: Option<InventoryDocument>,
}

impl FileSource {
    pub fn new(path: PathBuf, scope: Option<String>) -> Self {
        Self {
            path,
            scope,
            document: None,
        }
    }

    /// `--scope`, or `file:<file name>`.
    fn scope(&self) -> String {
        self.scope.clone().unwrap_or_else(|| {
            let name = self
                .path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| self.path.display().to_string());
            format!("file:{name}")
        })
    }
}

/// Parses by extension: `.yaml`/`.yml` as YAML, anything else as JSON. Errors name the line
/// and column (and the field, where serde knows it).
pub fn parse(
    text: &str,
    path: &std::path::Path,
    label: &str,
) -> Result<InventoryDocument, CollectError> {
    let blank = text
        .lines()
        .map(str::trim)
        .all(|line| line.is_empty() || line.starts_with('#') || line == "---" || line == "...");
    if blank {
        return Err(CollectError::Invalid(format!(
            "{}: the document is empty; an inventory names `accounts` or `endpoints` (write `accounts: []` to mean none)",
            path.display()
        )));
    }
    let yaml = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml"));
    let parsed = if yaml {
        serde_saphyr::from_str::<InventoryDocument>(text).map_err(|e| e.to_string())
    } else {
        InventoryDocument::parse(text, label).map_err(|e| e.to_string())
    };
    let mut document =
        parsed.map_err(|reason| CollectError::Invalid(format!("{}: {reason}", path.display())))?;
    document.stamp(label);
    Ok(document)
}

impl Source for FileSource {
    fn collector(&self) -> &'static str {
        "file"
    }

    fn owns(&self) -> Owns {
        Owns {
            accounts: true,
            endpoints: true,
        }
    }

    fn planned_scope(&self) -> Option<String> {
        Some(self.scope())
    }

    async fn open(&mut self) -> Result<String, CollectError> {
        let scope = self.scope();
        let text = tokio::fs::read_to_string(&self.path).await.map_err(|e| {
            CollectError::Invalid(format!("cannot read {}: {e}", self.path.display()))
        })?;
        let mut document = parse(&text, &self.path, &self.path.display().to_string())?;
        for endpoint in &mut document.endpoints {
            endpoint.origin = Origin::Collector;
        }
        self.document = Some(document);
        Ok(scope)
    }

    async fn next_page(&mut self) -> Result<Option<Page>, CollectError> {
        Ok(self.document.take().map(|document| Page {
            accounts: document.accounts,
            endpoints: document.endpoints,
            request_ids: Vec::new(),
        }))
    }
}
