//! Logging and tracing for every binary.
//!
//! Logs are JSON lines (or text for a terminal) on stderr, filtered by `RUST_LOG` (default
//! `info`, with the database driver's per-statement notices kept at `warn`). Every field of
//! the enclosing spans is flattened onto each line, so the `trace_id` that [`join_trace`]
//! puts on a request or run span is a top-level field of every line written inside it.
//!
//! Traces go to an OTLP/HTTP collector only when the standard `OTEL_EXPORTER_OTLP_ENDPOINT`
//! (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set; the OpenTelemetry SDK reads the rest of
//! its standard variables (`OTEL_SERVICE_NAME`, `OTEL_EXPORTER_OTLP_HEADERS`, timeouts).

mod trace;

pub use trace::{TRACE_ID_HEADER, Trace, join_trace};

use json_subscriber::JsonLayer;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::time::SystemTime;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// How logs are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// JSON lines, for log pipelines.
    Json,
    /// Human-readable, for a terminal.
    Text,
}

/// Keeps the trace exporter alive; dropping it flushes the spans not yet sent. Drop it
/// outside the async runtime: the exporter's HTTP client blocks.
#[must_use = "dropping the guard stops trace export"]
pub struct TelemetryGuard {
    provider: Option<SdkTracerProvider>,
}

impl TelemetryGuard {
    /// Whether spans are exported over OTLP.
    pub fn exporting(&self) -> bool {
        self.provider.is_some()
    }
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        if let Some(provider) = self.provider.take()
            && let Err(err) = provider.shutdown()
        {
            tracing::warn!(error = %err, "flushing traces at exit failed");
        }
    }
}

/// A binary's whole life: telemetry installed, `main` run to completion on a multi-threaded
/// runtime, then the runtime stopped *before* the guard flushes traces, because the flush
/// blocks and must not run on a runtime thread. Fails only when the runtime cannot start.
pub fn run_main<F: std::future::Future>(
    format: LogFormat,
    service: &'static str,
    main: F,
) -> std::io::Result<F::Output> {
    let telemetry = init(format, service);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let output = runtime.block_on(main);
    drop(runtime);
    drop(telemetry);
    Ok(output)
}

/// Installs the global subscriber. `service` names the binary in exported traces unless
/// `OTEL_SERVICE_NAME` says otherwise. A broken OTLP configuration is logged and export stays
/// off: telemetry never stops the service.
pub fn init(format: LogFormat, service: &'static str) -> TelemetryGuard {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let (provider, otlp_error) = match otlp_provider(service) {
        Ok(provider) => (provider, None),
        Err(err) => (None, Some(err)),
    };
    let otel = provider
        .as_ref()
        .map(|p| tracing_opentelemetry::layer().with_tracer(p.tracer(service)));
    let json = (format == LogFormat::Json).then(|| {
        let mut layer = JsonLayer::new(std::io::stderr);
        layer
            .with_timer("timestamp", SystemTime)
            .with_level("level")
            .with_target("target")
            .with_flattened_event()
            .with_top_level_flattened_span_list();
        layer
    });
    let text = (format == LogFormat::Text)
        .then(|| tracing_subscriber::fmt::layer().with_writer(std::io::stderr));
    // A second init (tests starting several apps in one process) keeps the first subscriber.
    let installed = tracing_subscriber::registry()
        .with(filter)
        .with(otel)
        .with(json)
        .with(text)
        .try_init()
        .is_ok();
    if let Some(err) = otlp_error {
        tracing::error!(error = %err, "OTLP trace export is misconfigured; traces stay off");
    }
    TelemetryGuard {
        provider: provider.filter(|_| installed),
    }
}

/// The OTLP/HTTP (protobuf) exporter when an endpoint is configured, else `None`.
fn otlp_provider(
    service: &'static str,
) -> Result<Option<SdkTracerProvider>, opentelemetry_otlp::ExporterBuildError> {
    let configured = |name: &str| std::env::var(name).is_ok_and(|v| !v.trim().is_empty());
    let disabled = std::env::var("OTEL_SDK_DISABLED").is_ok_and(|v| v.eq_ignore_ascii_case("true"));
    if disabled
        || !(configured("OTEL_EXPORTER_OTLP_ENDPOINT")
            || configured("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))
    {
        return Ok(None);
    }
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .build()?;
    let mut resource = Resource::builder();
    if !configured("OTEL_SERVICE_NAME") {
        resource = resource.with_service_name(service);
    }
    Ok(Some(
        SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_resource(resource.build())
            .build(),
    ))
}
