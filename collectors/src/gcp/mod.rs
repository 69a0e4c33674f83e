//! The GCP source: projects from Cloud Resource Manager v3 over REST, with their folder and
//! organization ancestry resolved to names. Tokens come from `gcp_auth` (workload identity
//! through the metadata server, or a service-account file via
//! `GOOGLE_APPLICATION_CREDENTIALS`); the base URL is overridable so tests use a local peer.
//!
//! Scopes: an organization or folder (`organizations/123`, `folders/456`: the subtree is
//! walked, folder by folder), or `projects:search` (every project the credential can see,
//! projects outside any organization included).

mod read;

use crate::http::{Http, RetryPolicy};
use crate::source::{CollectError, Owns, Page, Source};
use gcp_auth::TokenProvider;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use url::Url;

/// Read-only access to Resource Manager.
pub const SCOPES: &[&str] = &["https://www.googleapis.com/auth/cloud-platform.read-only"];
pub const DEFAULT_BASE_URL: &str = "https://cloudresourcemanager.googleapis.com";
/// The scope that means "every project the credential can see".
pub const VISIBLE: &str = "projects:search";

#[derive(Debug, Clone)]
pub struct GcpOptions {
    pub base_url: Url,
    /// `organizations/N`, `folders/N` or `projects:search`.
    pub scope: String,
    /// A service-account key file instead of the default chain (tools and tests).
    pub credentials_file: Option<PathBuf>,
    pub retry: RetryPolicy,
    pub page_size: u32,
    /// Parents (the scope, folders) listed at the same time.
    pub concurrency: usize,
}

pub struct GcpSource {
    options: GcpOptions,
    pages: Option<mpsc::Receiver<Result<Page, CollectError>>>,
}

impl GcpSource {
    pub fn new(options: GcpOptions) -> Self {
        Self {
            options,
            pages: None,
        }
    }
}

/// Tokens, with a deadline of our own: the token endpoint may not answer at all.
#[derive(Clone)]
pub struct Tokens {
    provider: Arc<dyn TokenProvider>,
    timeout: Duration,
}

impl Tokens {
    pub async fn get(&self) -> Result<String, CollectError> {
        let token = tokio::time::timeout(self.timeout, self.provider.token(SCOPES))
            .await
            .map_err(|_| CollectError::Request {
                api: "oauth2 token".into(),
                detail: "the token endpoint did not answer in time".into(),
            })?
            .map_err(|e| CollectError::Request {
                api: "oauth2 token".into(),
                detail: e.to_string().chars().take(300).collect(),
            })?;
        Ok(token.as_str().to_owned())
    }
}

fn valid_scope(scope: &str) -> bool {
    let node = |prefix: &str| {
        scope
            .strip_prefix(prefix)
            .is_some_and(|id| !id.is_empty() && id.chars().all(|c| c.is_ascii_digit()))
    };
    scope == VISIBLE || node("organizations/") || node("folders/")
}

impl Source for GcpSource {
    fn collector(&self) -> &'static str {
        "gcp"
    }

    fn planned_scope(&self) -> Option<String> {
        valid_scope(&self.options.scope).then(|| self.options.scope.clone())
    }

    fn owns(&self) -> Owns {
        Owns {
            accounts: true,
            endpoints: false,
        }
    }

    async fn open(&mut self) -> Result<String, CollectError> {
        let scope = self.options.scope.clone();
        if !valid_scope(&scope) {
            return Err(CollectError::Invalid(format!(
                "GCP scope {scope:?} must be organizations/N, folders/N or {VISIBLE}"
            )));
        }
        let provider: Arc<dyn TokenProvider> = match &self.options.credentials_file {
            Some(path) => Arc::new(gcp_auth::CustomServiceAccount::from_file(path).map_err(
                |e| CollectError::Invalid(format!("service-account file {}: {e}", path.display())),
            )?),
            None => gcp_auth::provider()
                .await
                .map_err(|e| CollectError::Invalid(format!("no GCP credentials found: {e}")))?,
        };
        let tokens = Tokens {
            provider,
            timeout: self.options.retry.timeout,
        };
        // Fail before the run starts writing when no token can be had.
        tokens.get().await?;
        let http = Http::new(self.options.retry.clone())?;
        let (sender, receiver) = mpsc::channel(1);
        let reader = read::Reader::new(http, tokens, self.options.clone(), sender);
        tokio::spawn(reader.run());
        self.pages = Some(receiver);
        Ok(scope)
    }

    async fn next_page(&mut self) -> Result<Option<Page>, CollectError> {
        match &mut self.pages {
            Some(pages) => pages.recv().await.transpose(),
            None => Err(CollectError::Invalid("the source was not opened".into())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_are_checked() {
        for good in ["organizations/123", "folders/9", VISIBLE] {
            assert!(valid_scope(good), "{good}");
        }
        for bad in [
            "organizations/",
            "folders/abc",
            "projects/1",
            "",
            "organizations/1/x",
        ] {
            assert!(!valid_scope(bad), "{bad}");
        }
    }
}
