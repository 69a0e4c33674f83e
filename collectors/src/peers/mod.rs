//! Local peers that speak the providers' documented protocols at any size, with a fixed
//! latency per call and the provider's throttling: the scale benchmark (`collectors/bench`)
//! and the tests that count requests run against them. Compiled only with the `peers`
//! feature.

pub mod arm;
pub mod organizations;
pub mod resource_manager;

use std::collections::BTreeMap;
use std::time::Instant;

/// A token bucket: what the provider does, simulated; not the client's own limiter.
pub(crate) struct Bucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    at: Instant,
}

impl Bucket {
    pub(crate) fn new(rate: f64, burst: f64) -> Self {
        Self {
            rate,
            burst,
            tokens: burst,
            at: Instant::now(),
        }
    }

    /// Whether a call may go through now.
    pub(crate) fn take(&mut self) -> bool {
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
