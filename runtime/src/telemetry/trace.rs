//! Trace ids for requests and runs: taken from a W3C `traceparent` when a caller sends one,
//! otherwise new, and the same id in logs, in exported spans and in the response header.

use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::{TraceContextExt, TraceId};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{IdGenerator, RandomIdGenerator};
use std::collections::HashMap;
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// The response header that tells a caller which trace id to search the logs for.
pub const TRACE_ID_HEADER: &str = "x-trace-id";

/// Joins `span` to the trace a `traceparent` value names (a malformed one is ignored, as the
/// W3C recommendation says), records the trace id in the span's `trace_id` field (declare it
/// `tracing::field::Empty`) and returns it as 32 lower-case hex digits.
///
/// With OTLP export on, the exported span is the child of the caller's span, or the root of
/// a trace whose id the SDK chose; without it the id is the caller's or a random one.
pub fn join_trace(span: &Span, traceparent: Option<&str>) -> String {
    let parent = traceparent.map(|value| {
        let carrier = HashMap::from([("traceparent".to_owned(), value.trim().to_owned())]);
        TraceContextPropagator::new().extract(&carrier)
    });
    let remote = parent
        .as_ref()
        .map(|cx| cx.span().span_context().clone())
        .filter(|sc| sc.is_valid());
    if let (Some(cx), Some(_)) = (parent, &remote) {
        // Fails only when no OpenTelemetry layer is installed: nothing to join then.
        let _ = span.set_parent(cx);
    }
    let exported = span.context().span().span_context().trace_id();
    let id = if exported != TraceId::INVALID {
        exported
    } else if let Some(remote) = remote {
        remote.trace_id()
    } else {
        RandomIdGenerator::default().new_trace_id()
    };
    let id = id.to_string();
    span.record("trace_id", id.as_str());
    id
}
