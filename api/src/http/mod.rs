//! The HTTP surface: GraphQL, GraphiQL, health, readiness and metrics.

mod cached;
mod graphiql;
mod health;
pub mod server;
mod trace;

pub use cached::CACHE_HEADER;
pub use health::{Draining, ReadyTimeout};

use crate::auth::{AuthError, Authenticator};
use crate::graphql::limits::Limits;
use crate::graphql::{self, Service};
use crate::metrics::{Metrics, MetricsOptions, record};
use async_graphql::ParseRequestError;
use async_graphql::http::MultipartOptions;
use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router, middleware};
use sea_orm::DatabaseConnection;
use serde_json::json;
use std::sync::Arc;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;

/// How the router serves: who may call, what a request may cost, how metrics are kept, and
/// the flag that takes the instance out of rotation while it shuts down.
#[derive(Clone)]
pub struct Settings {
    pub auth: Arc<Authenticator>,
    pub limits: Limits,
    pub max_body_bytes: usize,
    pub metrics: MetricsOptions,
    pub draining: Draining,
    /// How long `/readyz` waits for the database.
    pub ready_timeout: std::time::Duration,
    /// How long a whole request may take, its body included.
    pub request_timeout: std::time::Duration,
    pub backstage: crate::backstage::Options,
    /// The secret references the mutation may store, and for which origins.
    pub secret_grants: Arc<entity::secret_ref::SecretGrants>,
    /// The response cache's bounds.
    pub cache: crate::cache::CacheOptions,
}

impl Settings {
    /// Default limits and metrics, serving (not draining), authenticating with `auth`.
    pub fn new(auth: Arc<Authenticator>) -> Self {
        Self {
            auth,
            limits: Limits::default(),
            max_body_bytes: graphql::limits::DEFAULT_MAX_BODY_BYTES,
            metrics: MetricsOptions::default(),
            draining: Draining::default(),
            ready_timeout: std::time::Duration::from_millis(
                crate::config::DEFAULT_READY_TIMEOUT_MS,
            ),
            request_timeout: std::time::Duration::from_secs(30),
            backstage: crate::backstage::Options::default(),
            secret_grants: Arc::default(),
            cache: crate::cache::CacheOptions::default(),
        }
    }
}

/// The API routes and the metrics route, apart so `/metrics` can listen on its own port.
pub struct Routers {
    pub api: Router,
    pub metrics: Router,
}

/// Both routers over one set of metrics. Fails only on an invalid metric definition.
pub fn routers(
    mut db: DatabaseConnection,
    settings: Settings,
) -> Result<Routers, prometheus::Error> {
    let metrics = Metrics::new(&mut db, settings.metrics)?;
    let service = graphql::build(
        db.clone(),
        settings.limits,
        settings.backstage,
        settings.secret_grants,
        Arc::clone(&metrics),
    );
    let caching = Arc::new(cached::Caching::start(
        settings.cache,
        &db,
        metrics.response_cache.clone(),
    ));
    let recorded = middleware::from_fn_with_state(Arc::clone(&metrics), record);
    let api = Router::new()
        .route("/graphql", get(get_graphql).post(execute))
        .route("/graphiql/{file}", get(graphiql::asset))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .with_state(db)
        .layer(Extension(service))
        .layer(Extension(caching))
        .layer(Extension(settings.auth))
        .layer(Extension(settings.draining))
        .layer(Extension(ReadyTimeout(settings.ready_timeout)))
        .layer(RequestBodyLimitLayer::new(settings.max_body_bytes))
        // Inside the metrics and trace layers, so a request cut off here is counted as a 408
        // and a panic as a 500, each logged in its request's span.
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            settings.request_timeout,
        ))
        .layer(CatchPanicLayer::custom(panicked as fn(_) -> Response))
        .layer(recorded.clone());
    let metrics = Router::new()
        .route("/metrics", get(scrape))
        .with_state(metrics)
        .layer(recorded);
    Ok(Routers {
        api: trace::traced(api),
        metrics: trace::traced(metrics),
    })
}

/// The whole application on one router (metrics included), so tests can drive it without a
/// socket.
pub fn router(db: DatabaseConnection, settings: Settings) -> Result<Router, prometheus::Error> {
    let Routers { api, metrics } = routers(db, settings)?;
    Ok(api.merge(metrics))
}

/// `GET /metrics` in the Prometheus text format (0.0.4).
async fn scrape(axum::extract::State(metrics): axum::extract::State<Arc<Metrics>>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(prometheus::TEXT_FORMAT),
        )],
        metrics.render().await,
    )
        .into_response()
}

/// `POST /graphql`. Authenticates first: a refused credential, or none while anonymous
/// reads are off, rejects the whole request with 401.
async fn execute(
    Extension(service): Extension<Service>,
    Extension(caching): Extension<Arc<cached::Caching>>,
    Extension(auth): Extension<Arc<Authenticator>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let principal = match authenticate(&auth, &headers).await {
        Ok(principal) => principal,
        Err(refused) => return refused,
    };
    // Read only once the caller is known: an unauthenticated client makes us buffer nothing.
    let request = match graphql_request(&headers, body).await {
        Ok(request) => request,
        Err(refused) => return refused,
    };
    answer(
        &service,
        &caching,
        principal,
        request,
        &headers,
        cached::Method::Post,
    )
    .await
}

/// `GET /graphql`: a query in the URL (GraphQL over HTTP: `query`, `operationName`,
/// `variables`, `extensions` as parameters), which browsers and proxies can revalidate; or,
/// without one, the GraphiQL page.
async fn get_graphql(
    Extension(service): Extension<Service>,
    Extension(caching): Extension<Arc<cached::Caching>>,
    Extension(auth): Extension<Arc<Authenticator>>,
    uri: axum::http::Uri,
    headers: HeaderMap,
) -> Response {
    let Some(parameters) = uri.query().filter(|q| {
        q.split('&')
            .any(|pair| pair.starts_with("query=") || pair.starts_with("extensions="))
    }) else {
        return graphiql::page().await;
    };
    let principal = match authenticate(&auth, &headers).await {
        Ok(principal) => principal,
        Err(refused) => return refused,
    };
    let request = match async_graphql::http::parse_query_string(parameters) {
        Ok(request) => request,
        Err(err) => {
            return refusal(
                StatusCode::BAD_REQUEST,
                "BAD_USER_INPUT",
                &format!("the URL is not a GraphQL request: {err}"),
            );
        }
    };
    answer(
        &service,
        &caching,
        principal,
        request,
        &headers,
        cached::Method::Get,
    )
    .await
}

/// The caller, or the refusal to answer with: 401 for a refused credential or none while
/// anonymous reads are off, 403 for a credential without a role.
async fn authenticate(
    auth: &Authenticator,
    headers: &HeaderMap,
) -> Result<Option<crate::auth::Principal>, Response> {
    match auth.authenticate(headers.get(header::AUTHORIZATION)).await {
        Ok(Some(principal)) => Ok(Some(principal)),
        Ok(None) if auth.allow_anonymous_read => Ok(None),
        Ok(None) => Err(unauthenticated("authentication required")),
        Err(reason @ AuthError::NoRole { .. }) => {
            tracing::warn!(%reason, "credential without a role");
            Err(refusal(
                StatusCode::FORBIDDEN,
                "FORBIDDEN",
                "not allowed for this credential",
            ))
        }
        Err(reason) => {
            // The reason stays here: an attacker learns nothing from the response.
            tracing::warn!(%reason, "credential refused");
            Err(unauthenticated("invalid credentials"))
        }
    }
}

async fn answer(
    service: &Service,
    caching: &cached::Caching,
    principal: Option<crate::auth::Principal>,
    mut request: async_graphql::Request,
    headers: &HeaderMap,
    method: cached::Method,
) -> Response {
    let caller = principal.as_ref().map(|p| p.name.clone());
    let role = principal.as_ref().map_or("anonymous", |p| p.role.as_str());
    if let Some(principal) = principal {
        request = request.data(principal);
    }
    cached::answer(
        service,
        caching,
        role,
        caller.as_deref(),
        request,
        headers,
        method,
    )
    .await
}

/// Reads a request's body (within the body limit) and parses it as one GraphQL request.
/// Refusals come in GraphQL's error shape: 413 when the body is larger than allowed, whether
/// it said so in `Content-Length` or was cut off while streaming in chunks; 400 otherwise,
/// with a message and never a Rust debug string.
async fn graphql_request(
    headers: &HeaderMap,
    body: Body,
) -> Result<async_graphql::Request, Response> {
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .map_err(|err| {
            // The limit layer's error, under however many wrappers the body went through.
            let inner = err.into_inner();
            let mut next: Option<&(dyn std::error::Error + 'static)> = Some(inner.as_ref());
            let mut too_large = false;
            while let Some(error) = next {
                too_large |= error.is::<http_body_util::LengthLimitError>();
                next = error.source();
            }
            if too_large {
                refusal(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "BAD_USER_INPUT",
                    "the request body is larger than this server accepts",
                )
            } else {
                refusal(
                    StatusCode::BAD_REQUEST,
                    "BAD_USER_INPUT",
                    "the request body could not be read",
                )
            }
        })?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok());
    async_graphql::http::receive_body(content_type, bytes.as_ref(), MultipartOptions::default())
        .await
        .map_err(|err| {
            let message = match err {
                ParseRequestError::UnsupportedBatch => {
                    "batches are not accepted: send one operation per request".to_owned()
                }
                other => format!("the request body is not a GraphQL request: {other}"),
            };
            refusal(StatusCode::BAD_REQUEST, "BAD_USER_INPUT", &message)
        })
}

/// A handler that panicked: the client gets a 500 in GraphQL's error shape, the log the
/// panic's message (the connection and the process carry on).
fn panicked(panic: Box<dyn std::any::Any + Send>) -> Response {
    let message = panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("a panic without a message");
    tracing::error!(panic = message, "a request handler panicked");
    refusal(
        StatusCode::INTERNAL_SERVER_ERROR,
        "INTERNAL_SERVER_ERROR",
        "internal error",
    )
}

fn unauthenticated(message: &str) -> Response {
    let mut response = refusal(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED", message);
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"asset-inventory\""),
    );
    response
}

/// A whole request refused before execution, in GraphQL's error shape.
fn refusal(status: StatusCode, code: &str, message: &str) -> Response {
    let body = json!({ "errors": [{ "message": message, "extensions": { "code": code } }] });
    (status, Json(body)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tower::ServiceExt;

    async fn boom() -> &'static str {
        panic!("boom")
    }

    #[tokio::test]
    async fn a_panicking_handler_answers_500_in_graphql_shape() {
        let app = Router::new()
            .route("/boom", get(boom))
            .layer(CatchPanicLayer::custom(panicked as fn(_) -> Response));
        let response = app
            .oneshot(
                axum::http::Request::get("/boom")
                    .body(Body::empty())
                    .expect("a request"),
            )
            .await
            .expect("an answer");
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = axum::body::to_bytes(response.into_body(), 1024)
            .await
            .expect("a body");
        let body: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
        assert_eq!(
            body["errors"][0]["extensions"]["code"],
            "INTERNAL_SERVER_ERROR"
        );
    }
}
