//! The real `inventory-api` binary as operators run it: trace ids from `traceparent` in the
//! response header and on every log line of the request, OTLP export to a collector,
//! graceful shutdown under in-flight load, and `/metrics` on its own port.

use crate::support::ApiProcess;
use serde_json::{Value, json};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

const TRACE: &str = "0af7651916cd43dd8448eb211c80319c";
const PARENT_SPAN: &str = "b7ad6b7169203331";

/// The lines logged inside the request whose trace id is `trace`.
fn lines_of<'a>(lines: &'a [Value], trace: &str) -> Vec<&'a Value> {
    lines.iter().filter(|l| l["trace_id"] == trace).collect()
}

#[tokio::test]
async fn trace_id_reaches_the_response_header_and_every_log_line() {
    let server = ApiProcess::start(
        "trace",
        &[
            ("RUST_LOG", "info"),
            (
                "INVENTORY_API_TOKENS",
                "alice:editor:0000000000000000000000000000000000000000000000000000000000000000",
            ),
        ],
        &[],
    );
    let client = reqwest::Client::new();
    // A refused credential: a warning and the access line, both inside the request.
    let refused = client
        .post(server.url("/graphql"))
        .header("traceparent", format!("00-{TRACE}-{PARENT_SPAN}-01"))
        .bearer_auth("inv_NotARealTokenJustAFakeForThisTest000000000")
        .json(&json!({ "query": "{ accounts { totalCount } }" }))
        .send()
        .await
        .expect("request");
    assert_eq!(refused.status(), 401);
    assert_eq!(refused.headers()["x-trace-id"], TRACE);

    // No traceparent: a new trace id, returned and logged just the same.
    let fresh = client
        .post(server.url("/graphql"))
        .json(&json!({ "query": "query Count { accounts { totalCount } }" }))
        .send()
        .await
        .expect("request");
    assert_eq!(fresh.status(), 200);
    let generated = fresh.headers()["x-trace-id"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert_eq!(generated.len(), 32, "{generated}");
    assert!(generated.chars().all(|c| c.is_ascii_hexdigit()) && generated != TRACE);

    // A malformed traceparent is ignored, not trusted or echoed.
    let malformed = client
        .get(server.url("/healthz"))
        .header("traceparent", "00-not-a-trace-01")
        .send()
        .await
        .expect("request");
    let id = malformed.headers()["x-trace-id"].to_str().expect("ascii");
    assert_eq!(id.len(), 32);
    assert!(!id.contains("not"));

    server.terminate();
    let (code, lines) = server.wait();
    assert_eq!(code, Some(0));
    let text: Vec<String> = lines.iter().map(Value::to_string).collect();
    let text = text.join("\n");

    let traced = lines_of(&lines, TRACE);
    let messages: Vec<&str> = traced
        .iter()
        .filter_map(|l| l["message"].as_str())
        .collect();
    assert!(messages.contains(&"credential refused"), "{text}");
    assert!(messages.contains(&"request finished"), "{text}");
    for line in &traced {
        assert_eq!(line["route"], "/graphql", "{line}");
        assert_eq!(line["method"], "POST", "{line}");
        assert!(
            line["timestamp"].is_string() && line["level"].is_string(),
            "{line}"
        );
    }
    let finished = traced
        .iter()
        .find(|l| l["message"] == "request finished")
        .expect("access line");
    assert_eq!(finished["status"], 401);
    // Every line inside a request carries its trace id: none has a route but another id.
    for line in lines.iter().filter(|l| l["route"] == "/graphql") {
        let id = line["trace_id"].as_str().unwrap_or_default();
        assert!(id == TRACE || id == generated, "{line}");
    }
    assert!(
        lines_of(&lines, &generated)
            .iter()
            .any(|l| l["message"] == "request finished" && l["status"] == 200),
        "{text}"
    );
    assert!(!text.contains("NotARealToken"), "a credential was logged");
}

/// A partly sent request: headers and half the body now, the rest later.
struct SlowRequest {
    stream: TcpStream,
    rest: Vec<u8>,
}

impl SlowRequest {
    fn begin(address: &str) -> Self {
        let body = json!({ "query": "{ accounts { totalCount } }" }).to_string();
        let (first, rest) = body.as_bytes().split_at(body.len() / 2);
        let mut stream = TcpStream::connect(address).expect("connect");
        write!(
            stream,
            "POST /graphql HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .expect("write head");
        stream.write_all(first).expect("write half the body");
        stream.flush().expect("flush");
        Self {
            stream,
            rest: rest.to_vec(),
        }
    }

    fn finish(mut self) -> String {
        self.stream.write_all(&self.rest).expect("write the rest");
        let mut response = String::new();
        self.stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .expect("timeout");
        self.stream
            .read_to_string(&mut response)
            .expect("read response");
        response
    }
}

/// SIGTERM with requests in flight and clients still calling: readiness turns false at once,
/// every request keeps being answered during the drain, the listener then closes, the
/// request in flight completes, and the process exits 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_finishes_in_flight_requests() {
    let server = ApiProcess::start(
        "shutdown",
        &[("RUST_LOG", "info")],
        &[
            "--shutdown-drain-seconds",
            "2",
            "--shutdown-timeout-seconds",
            "15",
        ],
    );
    // A connection per request: no request rides on a kept-alive connection that the
    // server closes between two requests (a client-side race, not a shutdown fault).
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .expect("client");
    let ready = client
        .get(server.url("/readyz"))
        .send()
        .await
        .expect("readyz");
    assert_eq!(ready.status(), 200);

    // Load: clients querying in a loop, as a load balancer sends them until it sees the
    // pod is not ready any more.
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    let stop_load = Arc::new(AtomicBool::new(false));
    let terminated = Arc::new(AtomicBool::new(false));
    let mut load = Vec::new();
    for _ in 0..4 {
        let client = client.clone();
        let url = server.url("/graphql");
        let (stop, terminated) = (Arc::clone(&stop_load), Arc::clone(&terminated));
        load.push(tokio::spawn(async move {
            let mut after_sigterm = 0u32;
            while !stop.load(Ordering::Relaxed) {
                let sent_after_sigterm = terminated.load(Ordering::Relaxed);
                let response = client
                    .post(&url)
                    .json(&json!({ "query": "{ accounts(first: 5) { totalCount } }" }))
                    .send()
                    .await
                    .expect("every request sent before readiness failed is answered");
                assert_eq!(response.status(), 200);
                after_sigterm += u32::from(sent_after_sigterm);
            }
            after_sigterm
        }));
    }

    let slow = SlowRequest::begin(&server.address);
    tokio::time::sleep(Duration::from_millis(200)).await;
    terminated.store(true, Ordering::Relaxed);
    server.terminate();

    // Readiness turns false while requests are still served.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let response = client
            .get(server.url("/readyz"))
            .send()
            .await
            .expect("readyz");
        if response.status() == 503 {
            assert!(
                response
                    .text()
                    .await
                    .unwrap_or_default()
                    .contains("shutting down")
            );
            break;
        }
        assert!(Instant::now() < deadline, "readiness never turned false");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The load balancer takes a moment to notice; meanwhile requests keep coming.
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop_load.store(true, Ordering::Relaxed);
    let mut after_sigterm = 0;
    for task in load {
        after_sigterm += task.await.expect("load task");
    }
    assert!(after_sigterm > 0, "no request was sent after SIGTERM");
    let during = client
        .post(server.url("/graphql"))
        .json(&json!({ "query": "{ accounts { totalCount } }" }))
        .send()
        .await
        .expect("served during the drain");
    assert_eq!(during.status(), 200);

    // After the drain the listener closes; the request in flight is still answered.
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(&server.address).is_ok() {
        assert!(Instant::now() < deadline, "the listener never closed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let response = tokio::task::spawn_blocking(move || slow.finish())
        .await
        .expect("slow request");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("\"totalCount\":0"), "{response}");

    let (code, lines) = server.wait();
    assert_eq!(code, Some(0), "{lines:#?}");
    let messages: Vec<&str> = lines.iter().filter_map(|l| l["message"].as_str()).collect();
    let draining = messages.iter().position(|m| m.starts_with("draining"));
    let closing = messages
        .iter()
        .position(|m| m.starts_with("closing listeners"));
    let stopped = messages.iter().position(|m| *m == "stopped");
    assert!(
        draining < closing && closing < stopped && draining.is_some(),
        "{messages:?}"
    );
    assert!(
        !messages.iter().any(|m| m.contains("cutting them off")),
        "{messages:?}"
    );
}

/// With `--metrics-listen`, `/metrics` is served there only (a NetworkPolicy can then open
/// it to Prometheus alone), and still counts the API's traffic.
#[tokio::test]
async fn metrics_can_have_their_own_port() {
    let mut args = crate::support::serve_args("sqlite::memory:", None);
    args.operations.metrics_listen = Some("127.0.0.1:0".parse().expect("address"));
    let app = api::app::Application::build(&args).await.expect("start");
    let api_address = app.local_addr().expect("address");
    let metrics_address = app.metrics_addr().expect("metrics address");
    assert_ne!(api_address.port(), metrics_address.port());
    tokio::spawn(app.run_until_stopped());

    let client = reqwest::Client::new();
    let query = client
        .post(format!("http://{api_address}/graphql"))
        .json(&json!({ "query": "query Count { accounts { totalCount } }" }))
        .send()
        .await
        .expect("query");
    assert_eq!(query.status(), 200);
    let on_api = client
        .get(format!("http://{api_address}/metrics"))
        .send()
        .await
        .expect("api port");
    assert_eq!(on_api.status(), 404);
    let scrape = client
        .get(format!("http://{metrics_address}/metrics"))
        .send()
        .await
        .expect("metrics port")
        .text()
        .await
        .expect("body");
    assert!(
        scrape.contains(
            "inventory_graphql_operations_total{operation=\"Count\",outcome=\"success\",type=\"query\"} 1"
        ),
        "{scrape}"
    );
    let graphql = client
        .post(format!("http://{metrics_address}/graphql"))
        .json(&json!({ "query": "{ accounts { totalCount } }" }))
        .send()
        .await
        .expect("metrics port");
    assert_eq!(
        graphql.status(),
        404,
        "the metrics port serves metrics only"
    );
}

/// What a local OTLP/HTTP collector received on `POST /v1/traces`.
type Received = std::sync::Arc<std::sync::Mutex<Vec<Vec<u8>>>>;

/// A trace collector speaking OTLP/HTTP with binary protobuf, as the OTLP specification
/// (opentelemetry.io/docs/specs/otlp, "OTLP/HTTP") describes it: export requests are
/// `POST /v1/traces` with `Content-Type: application/x-protobuf` and an
/// `ExportTraceServiceRequest` body; success is 200 with an `ExportTraceServiceResponse`.
async fn otlp_collector() -> (String, Received) {
    use axum::http::{HeaderMap, StatusCode, header};
    let received = Received::default();
    let store = std::sync::Arc::clone(&received);
    let app = axum::Router::new().route(
        "/v1/traces",
        axum::routing::post(move |headers: HeaderMap, body: axum::body::Bytes| {
            let store = std::sync::Arc::clone(&store);
            async move {
                if headers[header::CONTENT_TYPE] != "application/x-protobuf" {
                    return (StatusCode::UNSUPPORTED_MEDIA_TYPE, Vec::new());
                }
                store.lock().expect("lock").push(body.to_vec());
                let response =
                    opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse::default();
                (StatusCode::OK, prost::Message::encode_to_vec(&response))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, received)
}

/// With an OTLP endpoint configured, each request is exported as a span of the caller's
/// trace (child of the `traceparent` span) from service `inventory-api`; spans still queued
/// at SIGTERM are flushed before exit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_are_exported_over_otlp_when_configured() {
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
    let (endpoint, received) = otlp_collector().await;
    let server = ApiProcess::start(
        "otlp",
        &[
            ("RUST_LOG", "info"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
        ],
        &[],
    );
    let response = reqwest::Client::new()
        .post(server.url("/graphql"))
        .header("traceparent", format!("00-{TRACE}-{PARENT_SPAN}-01"))
        .json(&json!({ "query": "{ accounts { totalCount } }" }))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-trace-id"], TRACE);
    server.terminate();
    let (code, _) = tokio::task::spawn_blocking(move || server.wait())
        .await
        .expect("wait");
    assert_eq!(code, Some(0));

    let bodies = received.lock().expect("lock").clone();
    assert!(!bodies.is_empty(), "nothing was exported");
    let mut found = false;
    for body in bodies {
        let request: ExportTraceServiceRequest =
            prost::Message::decode(body.as_slice()).expect("an ExportTraceServiceRequest");
        for resource in request.resource_spans {
            let service = resource
                .resource
                .iter()
                .flat_map(|r| &r.attributes)
                .find(|a| a.key == "service.name")
                .and_then(|a| a.value.as_ref()?.value.clone());
            assert_eq!(service, Some(Any::StringValue("inventory-api".into())));
            for span in resource.scope_spans.iter().flat_map(|s| &s.spans) {
                if span.name == "request" && hex::encode(&span.trace_id) == TRACE {
                    assert_eq!(hex::encode(&span.parent_span_id), PARENT_SPAN);
                    let route = span
                        .attributes
                        .iter()
                        .find(|a| a.key == "route")
                        .and_then(|a| a.value.as_ref()?.value.clone());
                    assert_eq!(route, Some(Any::StringValue("/graphql".into())));
                    found = true;
                }
            }
        }
    }
    assert!(found, "no span of the caller's trace was exported");
}
