//! JSON over HTTPS for the REST sources (GCP, Azure): one client per scope (an organization,
//! a tenant) with timeouts, bearer tokens, a client-side rate limit (a token bucket, so a run
//! stays under the provider's quota instead of running into it), and retries of what is worth
//! retrying (429, 5xx, timeouts, dropped connections, bodies that are not JSON) with capped
//! exponential backoff and jitter, honouring `Retry-After`. Errors name the request and the
//! reason, never the token.

use crate::source::CollectError;
use backon::{ExponentialBuilder, Retryable};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER};
use serde_json::Value;
use std::num::NonZeroU32;
use std::time::Duration;
use url::Url;

/// The longest `Retry-After` we wait for; a longer one ends the attempts (the deadline
/// would pass anyway).
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// How requests to one scope are paced and retried.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Requests per second at most, every attempt counted (a burst of as many); `None`: no
    /// client-side limit.
    pub rate: Option<NonZeroU32>,
    /// Attempts per request, the first included.
    pub max_attempts: u32,
    pub min_delay: Duration,
    pub max_delay: Duration,
    pub timeout: Duration,
}

/// A page of JSON and the provider's id for the request.
pub struct Fetched {
    pub body: Value,
    pub request_id: Option<String>,
}

#[derive(Debug)]
enum Failure {
    Status {
        status: StatusCode,
        detail: String,
        retry_after: Option<Duration>,
    },
    Timeout,
    Connection(String),
    NotJson,
}

impl Failure {
    fn retryable(&self) -> bool {
        match self {
            Self::Status {
                status,
                retry_after,
                ..
            } => {
                (*status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error())
                    && retry_after.is_none_or(|d| d <= MAX_RETRY_AFTER)
            }
            Self::Timeout | Self::Connection(_) | Self::NotJson => true,
        }
    }

    fn describe(&self) -> String {
        match self {
            Self::Status { status, detail, .. } => format!("HTTP {}: {detail}", status.as_u16()),
            Self::Timeout => "timed out".into(),
            Self::Connection(reason) => format!("connection failed: {reason}"),
            Self::NotJson => "the response is not JSON".into(),
        }
    }
}

pub struct Http {
    client: reqwest::Client,
    policy: RetryPolicy,
    limiter: Option<DefaultDirectRateLimiter>,
}

/// `Retry-After` in either form HTTP allows (RFC 9110, 10.2.3): seconds, or a date, which
/// means the wait until then (none once it has passed).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(
        at.duration_since(std::time::SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

fn request_id(headers: &HeaderMap) -> Option<String> {
    ["x-ms-request-id", "x-goog-request-id", "x-request-id"]
        .iter()
        .find_map(|name| headers.get(*name)?.to_str().ok().map(str::to_owned))
}

/// The provider's own words from an error body (`{"error": {"message", "status"|"code"}}`
/// for both Google and Azure), bounded.
fn error_detail(body: &str) -> String {
    let parsed: Option<Value> = serde_json::from_str(body).ok();
    let error = parsed.as_ref().and_then(|v| v.get("error"));
    let text = match error {
        Some(error) => {
            let code = error
                .get("status")
                .or_else(|| error.get("code"))
                .map(|c| c.as_str().map_or_else(|| c.to_string(), str::to_owned))
                .unwrap_or_default();
            let message = error
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or_default();
            format!("{code} {message}").trim().to_owned()
        }
        None => "no error body".to_owned(),
    };
    text.chars().take(300).collect()
}

impl Http {
    pub fn new(policy: RetryPolicy) -> Result<Self, CollectError> {
        let client = reqwest::Client::builder()
            .timeout(policy.timeout)
            .connect_timeout(policy.timeout)
            .build()
            .map_err(|e| CollectError::Invalid(format!("cannot build the HTTP client: {e}")))?;
        let limiter = policy
            .rate
            .map(|rate| RateLimiter::direct(Quota::per_second(rate)));
        Ok(Self {
            client,
            policy,
            limiter,
        })
    }

    /// GETs `url` as JSON with `token`, retrying per the policy. `api` names the operation
    /// in errors (e.g. `projects.list`).
    pub async fn get_json(
        &self,
        api: &str,
        url: &Url,
        token: &str,
    ) -> Result<Fetched, CollectError> {
        let attempt = || async {
            if let Some(limiter) = &self.limiter {
                limiter.until_ready().await;
            }
            let response = self
                .client
                .get(url.clone())
                .bearer_auth(token)
                .header("accept", "application/json")
                .send()
                .await
                .map_err(|e| {
                    if e.is_timeout() {
                        Failure::Timeout
                    } else {
                        Failure::Connection(without_url(&e))
                    }
                })?;
            let status = response.status();
            let headers = response.headers().clone();
            let text = response.text().await.map_err(|e| {
                if e.is_timeout() {
                    Failure::Timeout
                } else {
                    Failure::Connection(without_url(&e))
                }
            })?;
            if !status.is_success() {
                return Err(Failure::Status {
                    status,
                    detail: error_detail(&text),
                    retry_after: retry_after(&headers),
                });
            }
            let body: Value = serde_json::from_str(&text).map_err(|_| Failure::NotJson)?;
            Ok(Fetched {
                body,
                request_id: request_id(&headers),
            })
        };
        let backoff = ExponentialBuilder::default()
            .with_min_delay(self.policy.min_delay)
            .with_max_delay(self.policy.max_delay)
            .with_max_times(self.policy.max_attempts.saturating_sub(1) as usize)
            .with_jitter();
        attempt
            .retry(backoff)
            .when(Failure::retryable)
            // `delay` is `None` once the attempts are spent: Retry-After replaces the wait,
            // never the budget.
            .adjust(|failure, delay| match failure {
                Failure::Status {
                    retry_after: Some(wait),
                    ..
                } => delay.map(|_| *wait),
                _ => delay,
            })
            .notify(|failure, delay| {
                tracing::warn!(api, path = url.path(), failure = %failure.describe(), ?delay, "retrying")
            })
            .await
            .map_err(|failure| {
                let detail = format!("GET {}: {}", url.path(), failure.describe());
                match failure {
                    Failure::Status { status, .. } if status == StatusCode::TOO_MANY_REQUESTS => {
                        CollectError::Throttled { api: api.into(), detail }
                    }
                    _ => CollectError::Request { api: api.into(), detail },
                }
            })
    }
}

/// reqwest's errors carry the URL; our messages carry the path already, and a query could
/// one day carry something sensitive.
fn without_url(err: &reqwest::Error) -> String {
    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(err);
    let mut last = err.to_string();
    while let Some(inner) = source {
        last = inner.to_string();
        source = inner.source();
    }
    last
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_error_bodies_are_summarised() {
        let google = r#"{"error":{"code":403,"message":"The caller does not have permission","status":"PERMISSION_DENIED"}}"#;
        assert_eq!(
            error_detail(google),
            "PERMISSION_DENIED The caller does not have permission"
        );
        let azure = r#"{"error":{"code":"AuthorizationFailed","message":"no access"}}"#;
        assert_eq!(error_detail(azure), "AuthorizationFailed no access");
        assert_eq!(error_detail("<html>"), "no error body");
    }

    #[test]
    fn retry_after_is_read_in_both_forms() {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, "7".parse().expect("header"));
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(7)));
        // A date: the wait until then.
        let later = std::time::SystemTime::now() + Duration::from_secs(30);
        headers.insert(
            RETRY_AFTER,
            httpdate::fmt_http_date(later).parse().expect("header"),
        );
        let wait = retry_after(&headers).expect("a date is a wait");
        assert!(
            (Duration::from_secs(28)..=Duration::from_secs(30)).contains(&wait),
            "{wait:?}"
        );
        // A date already past: no wait.
        headers.insert(
            RETRY_AFTER,
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().expect("header"),
        );
        assert_eq!(retry_after(&headers), Some(Duration::ZERO));
        headers.insert(RETRY_AFTER, "soon".parse().expect("header"));
        assert_eq!(retry_after(&headers), None);
    }
}
