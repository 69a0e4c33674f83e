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
fn has_bearer(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("Bearer "))
}

/// A call with a bearer token (any: the peers measure scale, not credentials), through
/// `meter`; `Some(answer)` when it is refused: the provider's `unauthorized` answer without
/// a token, its `throttled` one when its bucket is empty.
pub(crate) async fn admit(
    meter: &Meter,
    operation: &str,
    headers: &axum::http::HeaderMap,
    unauthorized: impl FnOnce() -> Response,
    throttled: impl FnOnce() -> Response,
) -> Option<Response> {
    if !has_bearer(headers) {
        return Some(unauthorized());
    }
    if meter.admit(operation).await {
        None
    } else {
        Some(throttled())
    }
}

/// `count` nodes of a hierarchy below `root`, spread over `depth` levels: each level holds an
/// even share (the last one the rest), each node under a node of the level above in turn.
/// Each node is named by `name` from its number (level order) and comes with its parent.
pub(crate) fn levels(
    root: &str,
    count: usize,
    depth: usize,
    name: impl Fn(usize) -> String,
) -> Vec<(String, String)> {
    let depth = depth.max(1);
    let mut nodes = Vec::with_capacity(count);
    let mut above = vec![root.to_owned()];
    let mut made = 0;
    for level in 0..depth {
        let here = if level + 1 == depth {
            count - made
        } else {
            count / depth
        };
        let this: Vec<String> = (made..made + here).map(&name).collect();
        for (i, node) in this.iter().enumerate() {
            nodes.push((node.clone(), above[i % above.len()].clone()));
        }
        made += here;
        if !this.is_empty() {
            above = this;
        }
    }
    nodes
}

/// Where leaves (accounts, projects, subscriptions) go, in turn: the root, then every node.
pub(crate) fn holders(root: &str, nodes: &[(String, String)]) -> Vec<String> {
    std::iter::once(root.to_owned())
        .chain(nodes.iter().map(|(node, _)| node.clone()))
        .collect()
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
