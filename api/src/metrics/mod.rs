//! `GET /metrics`: the API's own signals (HTTP, GraphQL, database pool and statements) and
//! the inventory's (asset counts, collector freshness), in the Prometheus text format.
//!
//! Freshness is read from `collector_runs`, so short-lived collector CronJobs need no push
//! gateway; it and the asset counts are re-read at most once per refresh interval, whatever
//! the scrape rate. Every label takes values from a bounded set: enums, route templates,
//! operation names (capped), and the collectors and scopes operators configured.

mod cache;
mod graphql;
mod http;
mod inventory;

pub use cache::CacheSeries;
pub use graphql::Operation;
pub use http::record;

use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry, TextEncoder,
};
use sea_orm::DatabaseConnection;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::Mutex;
use tokio::time::Instant;

/// Requests that gave up waiting for a database connection. Counted where a database error
/// becomes an API error (`crate::error`), which knows nothing of the registry; the pool
/// itself exposes no wait count.
pub static DB_ACQUIRE_TIMEOUTS: AtomicU64 = AtomicU64::new(0);

/// Latency buckets for HTTP requests and database statements: 1 ms to 10 s.
const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Every series the API exports, with the registry that renders them.
pub struct Metrics {
    registry: Registry,
    db: DatabaseConnection,
    refresh_every: Duration,
    /// When the inventory series were last read; held during a scrape, so concurrent scrapes
    /// read the database once and never see half-updated series.
    refreshed: Mutex<Option<Instant>>,
    pub(crate) http_requests: IntCounterVec,
    pub(crate) http_duration: HistogramVec,
    pub(crate) http_in_flight: IntGauge,
    pub(crate) graphql_operations: IntCounterVec,
    pub(crate) graphql_errors: IntCounterVec,
    pub(crate) graphql_operation_names: graphql::OperationNames,
    db_pool: IntGaugeVec,
    db_pool_max: IntGauge,
    db_acquire_timeouts: IntCounter,
    inventory: inventory::Series,
    pub(crate) response_cache: CacheSeries,
}

/// How the metrics are kept.
#[derive(Debug, Clone, Copy)]
pub struct MetricsOptions {
    /// Longest time the inventory series may be stale.
    pub refresh: Duration,
    /// Most distinct GraphQL operation names kept as label values; later ones count as
    /// `__other`.
    pub max_operation_names: usize,
}

impl Default for MetricsOptions {
    fn default() -> Self {
        Self {
            refresh: Duration::from_secs(30),
            max_operation_names: 200,
        }
    }
}

impl Metrics {
    /// Registers every series. Installs a statement callback on `db`, so pass the handle the
    /// application will use (clones made afterwards share it).
    pub fn new(
        db: &mut DatabaseConnection,
        options: MetricsOptions,
    ) -> Result<Arc<Self>, prometheus::Error> {
        let registry = Registry::new();
        let http_requests = counter_vec(
            &registry,
            "inventory_http_requests_total",
            "HTTP requests answered, by route template and status code.",
            &["method", "route", "status"],
        )?;
        let http_duration = histogram_vec(
            &registry,
            "inventory_http_request_duration_seconds",
            "Time from receiving a request to sending the response head.",
            &["method", "route"],
        )?;
        let http_in_flight = gauge(
            &registry,
            "inventory_http_requests_in_flight",
            "HTTP requests being served.",
        )?;
        let graphql_operations = counter_vec(
            &registry,
            "inventory_graphql_operations_total",
            "GraphQL operations executed, by operation name and type, and outcome \
             (success, partial: data with errors, error: no data).",
            &["operation", "type", "outcome"],
        )?;
        let graphql_errors = counter_vec(
            &registry,
            "inventory_graphql_errors_total",
            "Errors in GraphQL responses, by extensions.code.",
            &["code"],
        )?;
        let db_pool = gauge_vec(
            &registry,
            "inventory_db_pool_connections",
            "Database connections open in the pool, by state.",
            &["state"],
        )?;
        let db_pool_max = gauge(
            &registry,
            "inventory_db_pool_max_connections",
            "Most database connections the pool may open.",
        )?;
        let db_statements = histogram(
            &registry,
            "inventory_db_statement_duration_seconds",
            "Time a database statement took once it had a connection.",
        )?;
        let db_statement_failures = counter(
            &registry,
            "inventory_db_statement_failures_total",
            "Database statements that returned an error.",
        )?;
        let db_acquire_timeouts = counter(
            &registry,
            "inventory_db_pool_acquire_timeouts_total",
            "Requests that timed out waiting for a database connection.",
        )?;
        let inventory = inventory::Series::register(&registry)?;
        let response_cache = CacheSeries::register(&registry)?;
        #[cfg(target_os = "linux")]
        registry.register(Box::new(
            prometheus::process_collector::ProcessCollector::for_self(),
        ))?;

        db.set_metric_callback(move |info| {
            db_statements.observe(info.elapsed.as_secs_f64());
            if info.failed {
                db_statement_failures.inc();
            }
        });
        Ok(Arc::new(Self {
            registry,
            db: db.clone(),
            refresh_every: options.refresh,
            refreshed: Mutex::new(None),
            http_requests,
            http_duration,
            http_in_flight,
            graphql_operations,
            graphql_errors,
            graphql_operation_names: graphql::OperationNames::new(options.max_operation_names),
            db_pool,
            db_pool_max,
            db_acquire_timeouts,
            inventory,
            response_cache,
        }))
    }

    /// The text exposition of every series. A failed inventory read keeps the previous
    /// values (and is logged); the scrape itself still answers.
    pub async fn render(&self) -> String {
        // Held while gathering too: a refresh replaces the inventory's values one by one,
        // and no scrape may see half of them.
        let mut refreshed = self.refreshed.lock().await;
        let stale = refreshed.is_none_or(|at| at.elapsed() >= self.refresh_every);
        if stale {
            match self.inventory.refresh(&self.db).await {
                Ok(()) => *refreshed = Some(Instant::now()),
                Err(err) => {
                    tracing::warn!(error = %err, "metrics: reading the inventory failed")
                }
            }
        }
        self.sample_pool();
        let families = self.registry.gather();
        drop(refreshed);
        let mut text = Vec::new();
        if let Err(err) = TextEncoder::new().encode(&families, &mut text) {
            tracing::error!(error = %err, "metrics: encoding failed");
        }
        String::from_utf8(text).unwrap_or_default()
    }

    fn sample_pool(&self) {
        let (size, idle, max) = pool_state(&self.db);
        self.db_pool
            .with_label_values(&["idle"])
            .set(i64::from(idle));
        self.db_pool
            .with_label_values(&["in_use"])
            .set(i64::from(size.saturating_sub(idle)));
        self.db_pool_max.set(i64::from(max));
        let timeouts = DB_ACQUIRE_TIMEOUTS.load(Ordering::Relaxed);
        self.db_acquire_timeouts
            .inc_by(timeouts.saturating_sub(self.db_acquire_timeouts.get()));
    }
}

/// Open, idle and maximum connections of the pool behind `db`.
fn pool_state(db: &DatabaseConnection) -> (u32, u32, u32) {
    use sea_orm::DbBackend;
    let idle = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    match db.get_database_backend() {
        DbBackend::Postgres => {
            let pool = db.get_postgres_connection_pool();
            (
                pool.size(),
                idle(pool.num_idle()),
                pool.options().get_max_connections(),
            )
        }
        DbBackend::Sqlite => {
            let pool = db.get_sqlite_connection_pool();
            (
                pool.size(),
                idle(pool.num_idle()),
                pool.options().get_max_connections(),
            )
        }
        _ => (0, 0, 0),
    }
}

fn counter(registry: &Registry, name: &str, help: &str) -> prometheus::Result<IntCounter> {
    let metric = IntCounter::new(name, help)?;
    registry.register(Box::new(metric.clone()))?;
    Ok(metric)
}

fn counter_vec(
    registry: &Registry,
    name: &str,
    help: &str,
    labels: &[&str],
) -> prometheus::Result<IntCounterVec> {
    let metric = IntCounterVec::new(Opts::new(name, help), labels)?;
    registry.register(Box::new(metric.clone()))?;
    Ok(metric)
}

fn gauge(registry: &Registry, name: &str, help: &str) -> prometheus::Result<IntGauge> {
    let metric = IntGauge::new(name, help)?;
    registry.register(Box::new(metric.clone()))?;
    Ok(metric)
}

fn gauge_vec(
    registry: &Registry,
    name: &str,
    help: &str,
    labels: &[&str],
) -> prometheus::Result<IntGaugeVec> {
    let metric = IntGaugeVec::new(Opts::new(name, help), labels)?;
    registry.register(Box::new(metric.clone()))?;
    Ok(metric)
}

fn histogram(registry: &Registry, name: &str, help: &str) -> prometheus::Result<Histogram> {
    let opts = HistogramOpts::new(name, help).buckets(LATENCY_BUCKETS.to_vec());
    let metric = Histogram::with_opts(opts)?;
    registry.register(Box::new(metric.clone()))?;
    Ok(metric)
}

fn histogram_vec(
    registry: &Registry,
    name: &str,
    help: &str,
    labels: &[&str],
) -> prometheus::Result<HistogramVec> {
    let opts = HistogramOpts::new(name, help).buckets(LATENCY_BUCKETS.to_vec());
    let metric = HistogramVec::new(opts, labels)?;
    registry.register(Box::new(metric.clone()))?;
    Ok(metric)
}
