//! The HTTP series: requests by method, route template and status, their latency, and how
//! many are in flight.

use super::Metrics;
use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use prometheus::IntGauge;
use std::sync::Arc;
use tokio::time::Instant;

/// Counts and times each request by method, route template and status.
pub async fn record(State(metrics): State<Arc<Metrics>>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
        .to_owned();
    let method = method_label(request.method());
    let _in_flight = InFlight::enter(&metrics.http_in_flight);
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status();
    metrics
        .http_requests
        .with_label_values(&[method, route.as_str(), status.as_str()])
        .inc();
    metrics
        .http_duration
        .with_label_values(&[method, route.as_str()])
        .observe(started.elapsed().as_secs_f64());
    response
}

/// Methods as a bounded label: anything unusual counts as `other`.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        _ => "other",
    }
}

/// Counts a request as in flight until it is answered or abandoned (a client that hangs up
/// drops the future; the gauge must not drift).
struct InFlight<'a>(&'a IntGauge);

impl<'a> InFlight<'a> {
    fn enter(gauge: &'a IntGauge) -> Self {
        gauge.inc();
        Self(gauge)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.dec();
    }
}
