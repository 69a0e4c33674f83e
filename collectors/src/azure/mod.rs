//! The Azure source: subscriptions of one tenant from Azure Resource Manager over REST
//! (`GET /subscriptions?api-version=2022-12-01`, every `nextLink` followed), placed in the
//! tenant's management-group hierarchy when the credential can read it (one
//! `descendants` call per tenant) and just under the tenant when it cannot.

mod credential;
mod read;

pub use credential::{CredentialConfig, CredentialKind};

use crate::http::{Http, RetryPolicy};
use crate::source::{CollectError, Owns, Page, Source};
use tokio::sync::mpsc;
use url::Url;

pub const DEFAULT_BASE_URL: &str = "https://management.azure.com";

#[derive(Debug, Clone)]
pub struct AzureOptions {
    pub base_url: Url,
    pub credentials: CredentialConfig,
    pub retry: RetryPolicy,
}

pub struct AzureSource {
    options: AzureOptions,
    pages: Option<mpsc::Receiver<Result<Page, CollectError>>>,
}

impl AzureSource {
    pub fn new(options: AzureOptions) -> Self {
        Self {
            options,
            pages: None,
        }
    }
}

impl Source for AzureSource {
    fn collector(&self) -> &'static str {
        "azure"
    }

    fn planned_scope(&self) -> Option<String> {
        let tenant = &self.options.credentials.tenant_id;
        (!tenant.is_empty()).then(|| format!("tenants/{tenant}"))
    }

    fn owns(&self) -> Owns {
        Owns {
            accounts: true,
            endpoints: false,
        }
    }

    async fn open(&mut self) -> Result<String, CollectError> {
        let tenant = self.options.credentials.tenant_id.clone();
        if tenant.is_empty() {
            return Err(CollectError::Invalid(
                "no tenant id (AZURE_TENANT_ID)".into(),
            ));
        }
        let tokens = self.options.credentials.tokens().await?;
        let http = Http::new(self.options.retry.clone())?;
        let (sender, receiver) = mpsc::channel(1);
        let reader = read::Reader {
            http,
            tokens,
            base: self.options.base_url.clone(),
            tenant: tenant.clone(),
            pages: sender,
        };
        tokio::spawn(reader.run());
        self.pages = Some(receiver);
        Ok(format!("tenants/{tenant}"))
    }

    async fn next_page(&mut self) -> Result<Option<Page>, CollectError> {
        match &mut self.pages {
            Some(pages) => pages.recv().await.transpose(),
            None => Err(CollectError::Invalid("the source was not opened".into())),
        }
    }
}
