//! Trace ids for requests and runs: taken from a W3C `traceparent` when a caller sends one,
//! otherwise new, and the same id in logs, in exported spans and in the response header.

use opentelemetry::Context;
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::{SpanContext, TraceContextExt, TraceId};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{IdGenerator, RandomIdGenerator};
use std::collections::HashMap;
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// The response header that tells a caller which trace id to search the logs for.
pub const TRACE_ID_HEADER: &str = "x-trace-id";

/// What a caller said about its trace, read from a W3C `traceparent` before the span it
/// parents exists (a malformed value is ignored, as the W3C recommendation says), with the id
/// a trace gets when there is neither a caller's trace nor an exported span to take it from.
#[derive(Clone, Debug)]
pub struct Trace {
    parent: Option<Context>,
    remote: Option<SpanContext>,
    fallback: TraceId,
}

impl Trace {
    pub fn from_traceparent(traceparent: Option<&str>) -> Self {
        let parent = traceparent.map(|value| {
            let carrier = HashMap::from([("traceparent".to_owned(), value.trim().to_owned())]);
            TraceContextPropagator::new().extract(&carrier)
        });
        let remote = parent
            .as_ref()
            .map(|cx| cx.span().span_context().clone())
            .filter(SpanContext::is_valid);
        Self {
            parent: parent.filter(|_| remote.is_some()),
            remote,
            fallback: RandomIdGenerator::default().new_trace_id(),
        }
    }

    /// Makes `span` the child of the caller's span, records the trace id in the span's
    /// `trace_id` field (declare it `tracing::field::Empty`) and returns it.
    pub fn join(&self, span: &Span) -> String {
        if let Some(cx) = &self.parent {
            // Fails only when no OpenTelemetry layer is installed: nothing to join then.
            let _ = span.set_parent(cx.clone());
        }
        let id = self.id(span);
        span.record("trace_id", id.as_str());
        id
    }

    /// The trace id of a span this trace was joined to, as 32 lower-case hex digits: the
    /// exported span's when OTLP export is on (the caller's, or one the SDK chose), otherwise
    /// the caller's or the fallback.
    pub fn id(&self, span: &Span) -> String {
        let exported = span.context().span().span_context().trace_id();
        let id = if exported != TraceId::INVALID {
            exported
        } else if let Some(remote) = &self.remote {
            remote.trace_id()
        } else {
            self.fallback
        };
        id.to_string()
    }
}

/// [`Trace::join`] for a span whose caller's trace is known at once (a collector run).
pub fn join_trace(span: &Span, traceparent: Option<&str>) -> String {
    Trace::from_traceparent(traceparent).join(span)
}
