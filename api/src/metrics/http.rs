//! One middleware per request: its span (with the trace id), its metrics, its access-log line
//! and the `x-trace-id` response header.

use super::Metrics;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method};
use axum::middleware::Next;
use axum::response::Response;
use prometheus::IntGauge;
use runtime::telemetry::{TRACE_ID_HEADER, join_trace};
use std::sync::Arc;
use tokio::time::Instant;
use tracing::Instrument;

/// Routes polled by machines; their lines are logged at debug so they do not drown the rest.
const QUIET_ROUTES: &[&str] = &["/healthz", "/readyz", "/metrics"];

pub async fn observe(
    State(metrics): State<Arc<Metrics>>,
    request: Request,
    next: Next,
) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
        .to_owned();
    let method = method_label(request.method());
    let traceparent = request
        .headers()
        .get("traceparent")
        .and_then(|v| v.to_str().ok());
    // At error level so the span, and the trace id on every line inside it, exists whatever
    // level `RUST_LOG` lets through.
    let span = tracing::error_span!(
        "request",
        trace_id = tracing::field::Empty,
        method,
        route = route.as_str()
    );
    let trace_id = join_trace(&span, traceparent);

    let _in_flight = InFlight::enter(&metrics.http_in_flight);
    let started = Instant::now();
    let mut response = next.run(request).instrument(span.clone()).await;
    let seconds = started.elapsed().as_secs_f64();
    let status = response.status();

    metrics
        .http_requests
        .with_label_values(&[method, route.as_str(), status.as_str()])
        .inc();
    metrics
        .http_duration
        .with_label_values(&[method, route.as_str()])
        .observe(seconds);
    span.in_scope(|| {
        if QUIET_ROUTES.contains(&route.as_str()) {
            tracing::debug!(status = status.as_u16(), seconds, "request finished");
        } else {
            tracing::info!(status = status.as_u16(), seconds, "request finished");
        }
    });
    if let Ok(value) = HeaderValue::from_str(&trace_id) {
        response.headers_mut().insert(TRACE_ID_HEADER, value);
    }
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
