//! The response cache's series: lookups by result, 304 answers, evictions, and its size.

use prometheus::{IntCounter, IntCounterVec, IntGauge, Opts, Registry};

#[derive(Clone)]
pub struct CacheSeries {
    requests: IntCounterVec,
    not_modified: IntCounter,
    evictions: IntCounter,
    bytes: IntGauge,
    entries: IntGauge,
}

impl CacheSeries {
    pub(super) fn register(registry: &Registry) -> Result<Self, prometheus::Error> {
        let requests = IntCounterVec::new(
            Opts::new(
                "inventory_response_cache_requests_total",
                "Cacheable GraphQL requests, by result: hit (answered from memory), miss \
                 (executed, then kept if complete), bypass (the inventory version was unknown).",
            ),
            &["result"],
        )?;
        let not_modified = IntCounter::new(
            "inventory_response_cache_not_modified_total",
            "Requests answered 304 Not Modified (their If-None-Match named the current answer).",
        )?;
        let evictions = IntCounter::new(
            "inventory_response_cache_evictions_total",
            "Answers dropped to stay within the cache's byte bound.",
        )?;
        let bytes = IntGauge::new(
            "inventory_response_cache_bytes",
            "Bytes of response bodies the cache holds.",
        )?;
        let entries = IntGauge::new(
            "inventory_response_cache_entries",
            "Answers the cache holds.",
        )?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(not_modified.clone()))?;
        registry.register(Box::new(evictions.clone()))?;
        registry.register(Box::new(bytes.clone()))?;
        registry.register(Box::new(entries.clone()))?;
        Ok(Self {
            requests,
            not_modified,
            evictions,
            bytes,
            entries,
        })
    }

    pub fn hit(&self) {
        self.requests.with_label_values(&["hit"]).inc();
    }

    pub fn miss(&self) {
        self.requests.with_label_values(&["miss"]).inc();
    }

    pub fn bypass(&self) {
        self.requests.with_label_values(&["bypass"]).inc();
    }

    pub fn not_modified(&self) {
        self.not_modified.inc();
    }

    /// An answer of `bytes` was kept.
    pub fn keep(&self, bytes: usize) {
        self.bytes.add(i64::try_from(bytes).unwrap_or(i64::MAX));
        self.entries.inc();
    }

    /// An answer of `bytes` left the cache; `evicted` when it left for the byte bound.
    pub fn forget(&self, bytes: usize, evicted: bool) {
        self.bytes.sub(i64::try_from(bytes).unwrap_or(i64::MAX));
        self.entries.dec();
        if evicted {
            self.evictions.inc();
        }
    }
}
