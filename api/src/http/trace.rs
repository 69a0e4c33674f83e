//! Each request's span and access-log line, by tower-http's `TraceLayer`. The span joins the
//! caller's trace (W3C `traceparent`), so every line logged while serving carries its trace
//! id, and the response names that id in `x-trace-id`.

use axum::Router;
use axum::body::Body;
use axum::extract::{MatchedPath, Request};
use axum::http::HeaderValue;
use axum::middleware::{self, Next};
use axum::response::Response;
use runtime::telemetry::{TRACE_ID_HEADER, Trace};
use std::time::Duration;
use tower_http::trace::TraceLayer;
use tracing::Span;

/// Routes polled by machines: their spans are named `probe` and their access lines logged at
/// debug, so they do not drown the rest.
const QUIET_ROUTES: &[&str] = &["/healthz", "/readyz", "/metrics"];

/// `router` with every request traced and logged. Layers added to `router` before this one run
/// inside the request's span.
pub fn traced(router: Router) -> Router {
    router
        .layer(middleware::from_fn(answer_trace_id))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(request_span as fn(&Request) -> Span)
                .on_response(finished as fn(&Response, Duration, &Span))
                // Handlers log the cause of their own failures; the access line has the status.
                .on_failure(()),
        )
        .layer(middleware::map_request(read_traceparent))
}

/// Reads the caller's trace before the span exists, so the span and the response header agree.
async fn read_traceparent(mut request: Request) -> Request {
    let traceparent = request
        .headers()
        .get("traceparent")
        .and_then(|v| v.to_str().ok());
    let trace = Trace::from_traceparent(traceparent);
    request.extensions_mut().insert(trace);
    request
}

// The spans are at error level so they, and the trace id on every line inside them, exist
// whatever level `RUST_LOG` lets through.
fn request_span(request: &Request<Body>) -> Span {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str);
    let method = request.method().as_str();
    let trace_id = tracing::field::Empty;
    let span = if QUIET_ROUTES.contains(&route) {
        tracing::error_span!("probe", trace_id, method, route)
    } else {
        tracing::error_span!("request", trace_id, method, route)
    };
    if let Some(trace) = request.extensions().get::<Trace>() {
        trace.join(&span);
    }
    span
}

/// The access-log line, written inside the request's span.
fn finished(response: &Response, latency: Duration, span: &Span) {
    let status = response.status().as_u16();
    let seconds = latency.as_secs_f64();
    if span.metadata().is_some_and(|m| m.name() == "probe") {
        tracing::debug!(status, seconds, "request finished");
    } else {
        tracing::info!(status, seconds, "request finished");
    }
}

/// Runs inside the request's span, whose trace id it answers with.
async fn answer_trace_id(request: Request, next: Next) -> Response {
    let trace = request.extensions().get::<Trace>().cloned();
    let mut response = next.run(request).await;
    if let Some(trace) = trace
        && let Ok(value) = HeaderValue::from_str(&trace.id(&Span::current()))
    {
        response.headers_mut().insert(TRACE_ID_HEADER, value);
    }
    response
}
