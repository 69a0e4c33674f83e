//! Local peers that speak the providers' documented protocols at any size, with a fixed
//! latency per call and the provider's throttling: the scale benchmark (`collectors/bench`)
//! and the tests that count requests run against them. Compiled only with the `peers`
//! feature.

pub mod arm;
pub mod organizations;
pub mod resource_manager;

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// What every peer does to every call: wait its latency, let it through its token bucket
/// or not, and count it.
#[derive(Clone)]
pub(crate) struct Meter {
    latency: Duration,
    bucket: Option<Arc<Mutex<Bucket>>>,
    stats: Arc<Mutex<Stats>>,
}

impl Meter {
    /// A latency per call and, with a rate, a bucket of `burst` tokens refilled at `rate`
    /// a second.
    pub(crate) fn new(latency: Duration, rate: Option<f64>, burst: f64) -> Self {
        Self {
            latency,
            bucket: rate.map(|rate| Arc::new(Mutex::new(Bucket::new(rate, burst)))),
            stats: Arc::default(),
        }
    }

    /// Waits the latency; whether the bucket lets `operation` through (counted either way).
    pub(crate) async fn admit(&self, operation: &str) -> bool {
        tokio::time::sleep(self.latency).await;
        let allowed = self
            .bucket
            .as_ref()
            .is_none_or(|bucket| bucket.lock().unwrap_or_else(PoisonError::into_inner).take());
        let mut stats = self.stats.lock().unwrap_or_else(PoisonError::into_inner);
        if allowed {
            *stats.requests.entry(operation.to_owned()).or_default() += 1;
        } else {
            stats.throttled += 1;
        }
        allowed
    }

    pub(crate) fn stats(&self) -> Stats {
        self.stats
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// Serves `app` on `listener`, with the meter's counts as JSON at `/stats`; gives its URL.
pub(crate) fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    meter: &Meter,
) -> std::io::Result<String> {
    let url = format!("http://{}", listener.local_addr()?);
    let stats = Router::new()
        .route("/stats", get(stats))
        .with_state(meter.clone());
    let app = app.merge(stats);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(url)
}

/// Whether a request carries a bearer token.
pub(crate) fn has_bearer(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("Bearer "))
}

async fn stats(State(meter): State<Meter>) -> Response {
    axum::Json(meter.stats()).into_response()
}

/// A token bucket: what the provider does, simulated; not the client's own limiter.
struct Bucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn new(rate: f64, burst: f64) -> Self {
        Self {
            rate,
            burst,
            tokens: burst,
            at: Instant::now(),
        }
    }

    /// Whether a call may go through now.
    fn take(&mut self) -> bool {
        let now = Instant::now();
        self.tokens =
            (self.tokens + now.duration_since(self.at).as_secs_f64() * self.rate).min(self.burst);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Calls answered, by operation, and calls throttled.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct Stats {
    pub requests: BTreeMap<String, u64>,
    pub throttled: u64,
}
