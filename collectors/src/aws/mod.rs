//! The AWS Organizations source: every account of an organization, with its OU path, tags
//! and status, read with the official SDK. Credentials come from the SDK's standard chain
//! (web identity / IRSA first), optionally through `AssumeRole` into an audit role; the
//! endpoint follows the SDK's own `AWS_ENDPOINT_URL`, so tests point it at a local emulator.
//!
//! Reading runs in a task that hands finished pages over a channel of one: memory stays flat
//! however large the organization, and the runner writes each page while the next is read.
//! Tags take a call per account, so they are an enrichment (`crate::enrich`): read after the
//! walk, stalest first, as many as a share of the deadline allows.

mod hierarchy;
mod read;
mod walk;

use crate::source::{CollectError, Owns, Page, Source};
use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::sts::AssumeRoleProvider;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_organizations::Client;
use aws_sdk_organizations::config::retry::{ClientRateLimiter, RetryPartition};
use entity::enrich::{Due, Enriched, Enrichment, Value as Read};
use futures::StreamExt;
use hierarchy::Hierarchy;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// How to reach one organization.
#[derive(Debug, Clone, Default)]
pub struct AwsOptions {
    /// Assume this role (an organization audit role) before reading.
    pub role_arn: Option<String>,
    pub external_id: Option<String>,
    /// Attempts per request, the first included, for throttling and server errors (the SDK's
    /// standard mode: exponential backoff with jitter).
    pub max_attempts: u32,
    /// Parents walked, and accounts' tags read, at the same time.
    pub concurrency: usize,
    pub request_timeout: Duration,
    /// Overrides the endpoint (normally `AWS_ENDPOINT_URL` does, through the SDK).
    pub endpoint_url: Option<String>,
    /// Fixed credentials instead of the standard chain: for tools and tests that must not
    /// reach for instance metadata.
    pub credentials: Option<aws_sdk_organizations::config::Credentials>,
}

pub struct AwsSource {
    options: AwsOptions,
    /// This organization's own retry quota and adaptive rate limiter. The SDK's default
    /// partition is one per service for the whole process, so a throttled organization would
    /// slow down (or use up the retries of) every other organization a collector reads.
    retry: RetryPartition,
    opened: Option<Opened>,
}

/// An organization being read.
struct Opened {
    client: Client,
    organization: String,
    hierarchy: Arc<Hierarchy>,
    pages: mpsc::Receiver<Result<Page, CollectError>>,
}

/// What an account's record comes from when the walk missed it and a recheck found it.
const RECHECKED: &[&str] = &[
    "DescribeAccount",
    "ListParents",
    "DescribeOrganizationalUnit",
];

impl AwsSource {
    pub fn new(options: AwsOptions) -> Self {
        // The limiter starts as the SDK's own default one does: disabled until a throttle,
        // its clock at now.
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs_f64();
        let retry = RetryPartition::custom("asset-inventory-organizations")
            .client_rate_limiter(ClientRateLimiter::new(now))
            .build();
        Self {
            options,
            retry,
            opened: None,
        }
    }

    fn opened(&self) -> Result<&Opened, CollectError> {
        self.opened
            .as_ref()
            .ok_or_else(|| CollectError::Invalid("the source was not opened".into()))
    }

    async fn client(&self) -> Client {
        let timeouts = TimeoutConfig::builder()
            .connect_timeout(self.options.request_timeout)
            .operation_attempt_timeout(self.options.request_timeout)
            .build();
        // The SDK's adaptive mode adds to the standard retries a client-side rate limiter that
        // slows every call down once Organizations throttles, instead of each call retrying
        // on its own into the same limit.
        let retry = RetryConfig::adaptive()
            .with_max_attempts(self.options.max_attempts.max(1))
            .with_max_backoff(Duration::from_secs(20));
        // Organizations is global and answers in us-east-1; a region set in the environment
        // still wins (GovCloud, China).
        let region =
            aws_config::meta::region::RegionProviderChain::default_provider().or_else("us-east-1");
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .region(region)
            .retry_config(retry)
            .timeout_config(timeouts);
        if let Some(url) = &self.options.endpoint_url {
            loader = loader.endpoint_url(url);
        }
        if let Some(credentials) = &self.options.credentials {
            loader = loader.credentials_provider(credentials.clone());
        }
        let base = loader.load().await;
        let mut config =
            aws_sdk_organizations::config::Builder::from(&base).retry_partition(self.retry.clone());
        if let Some(role_arn) = &self.options.role_arn {
            let mut assume = AssumeRoleProvider::builder(role_arn).session_name("asset-inventory");
            if let Some(external_id) = &self.options.external_id {
                assume = assume.external_id(external_id);
            }
            config = config.credentials_provider(assume.configure(&base).build().await);
        }
        Client::from_conf(config.build())
    }
}

impl Source for AwsSource {
    fn collector(&self) -> &'static str {
        "aws"
    }

    fn owns(&self) -> Owns {
        Owns {
            accounts: true,
            endpoints: false,
        }
    }

    async fn open(&mut self) -> Result<String, CollectError> {
        let client = self.client().await;
        let organization = read::describe(&client).await?;
        let scope = organization.id.clone();
        let hierarchy = Arc::new(Hierarchy::new(
            client.clone(),
            &organization.id,
            &organization.root_id,
            &organization.root_name,
        ));
        let (sender, receiver) = mpsc::channel(1);
        tokio::spawn(walk::accounts(
            client.clone(),
            organization,
            hierarchy.clone(),
            self.options.concurrency.max(1),
            sender,
        ));
        self.opened = Some(Opened {
            client,
            organization: scope.clone(),
            hierarchy,
            pages: receiver,
        });
        Ok(scope)
    }

    async fn next_page(&mut self) -> Result<Option<Page>, CollectError> {
        match &mut self.opened {
            Some(opened) => opened.pages.recv().await.transpose(),
            None => Err(CollectError::Invalid("the source was not opened".into())),
        }
    }

    /// An account the walk did not meet moved while it ran, or left: `DescribeAccount` says
    /// which, and `ListParents` where it is now.
    async fn recheck(&mut self, unseen: Vec<String>) -> Result<Page, CollectError> {
        let opened = self.opened()?;
        let found: Vec<Result<Option<entity::record::AccountRecord>, CollectError>> =
            futures::stream::iter(unseen)
                .map(|id| async move {
                    let Some((account, request_id)) = read::account(&opened.client, &id).await?
                    else {
                        return Ok(None);
                    };
                    let (parent, is_root) = opened.hierarchy.parent_of(&id).await?;
                    let chain = opened.hierarchy.chain(&parent, is_root).await?;
                    tracing::info!(account = %id, parent = %parent, "an account the walk missed is still there");
                    let listing = read::Listing {
                        page: 0,
                        request_id: request_id.as_deref(),
                        operations: RECHECKED,
                    };
                    Ok(Some(read::record(
                        &account,
                        &opened.organization,
                        &chain,
                        parent,
                        None,
                        listing,
                    )))
                })
                .buffer_unordered(self.options.concurrency.max(1))
                .collect()
                .await;
        let mut page = Page::default();
        for account in found {
            page.accounts.extend(account?);
        }
        page.request_ids = opened.hierarchy.take_request_ids();
        Ok(page)
    }

    fn enrichment(&self) -> Option<Enrichment> {
        Some(Enrichment::AccountTags)
    }

    /// `ListTagsForResource`, `concurrency` accounts at a time.
    fn enrich(
        &mut self,
        due: Vec<Due>,
        until: Instant,
    ) -> impl futures::Stream<Item = Result<Enriched, CollectError>> + Send + '_ {
        let client = self.opened.as_ref().map(|opened| opened.client.clone());
        let concurrency = self.options.concurrency.max(1);
        futures::stream::iter(due)
            .take_while(move |_| std::future::ready(Instant::now() < until))
            .map(move |due| {
                let client = client.clone();
                async move {
                    let Some(client) = client else {
                        return Err(CollectError::Invalid("the source was not opened".into()));
                    };
                    Ok(read::tags(&client, &due.native_id)
                        .await?
                        .map(|(tags, request_ids)| Enriched {
                            key: due.key,
                            value: Read::Tags(tags),
                            provenance: json!({
                                "operations": ["ListTagsForResource"],
                                "request_ids": request_ids,
                            }),
                        }))
                }
            })
            .buffer_unordered(concurrency)
            // An account that left the organization since the walk: the next run sees that.
            .filter_map(|read| std::future::ready(read.transpose()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The client reads its retry quota and limiter from the source's own partition, not
    /// from the SDK's process-wide one for Organizations.
    #[tokio::test]
    async fn the_client_uses_the_sources_own_retry_partition() {
        let source = AwsSource::new(AwsOptions {
            endpoint_url: Some("http://127.0.0.1:9".into()),
            credentials: Some(aws_sdk_organizations::config::Credentials::new(
                "id", "secret", None, None, "test",
            )),
            ..AwsOptions::default()
        });
        let client = source.client().await;
        let partition = client.config().retry_partition().map(ToString::to_string);
        assert_eq!(partition.as_deref(), Some("asset-inventory-organizations"));
    }
}
