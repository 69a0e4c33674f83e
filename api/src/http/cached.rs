//! Answering a GraphQL request through the response cache: queries from memory while the
//! inventory version they were made at is current, with an `ETag` so a client holding the
//! answer gets `304 Not Modified`; everything else executed as always.

use crate::cache::version::Versions;
use crate::cache::{Entry, ResponseCache, matches};
use crate::graphql::Service;
use crate::metrics::CacheSeries;
use async_graphql::parser::types::OperationType;
use async_graphql_axum::GraphQLResponse;
use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// The response header that says how the cache served a request.
pub const CACHE_HEADER: &str = "x-cache";

pub struct Caching {
    /// `None` when the cache is off.
    cache: Option<(ResponseCache, Versions)>,
    series: CacheSeries,
}

impl Caching {
    /// The cache as `options` ask, over the versions of `db` (on PostgreSQL this starts
    /// listening for changes; call it inside the runtime).
    pub fn start(
        options: crate::cache::CacheOptions,
        db: &sea_orm::DatabaseConnection,
        series: CacheSeries,
    ) -> Self {
        let cache =
            ResponseCache::new(options, series.clone()).map(|cache| (cache, Versions::start(db)));
        Self { cache, series }
    }
}

/// How the request came: a GET may only read (GraphQL over HTTP).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
}

/// Executes `request` for a caller with `role` (and `caller`, the principal's name), from
/// the cache where it can.
pub async fn answer(
    service: &Service,
    caching: &Caching,
    role: &str,
    caller: Option<&str>,
    mut request: async_graphql::Request,
    headers: &HeaderMap,
    method: Method,
) -> Response {
    // Before a persisted query's hash is replaced by its document: the hash is its text.
    let key = caching
        .cache
        .is_some()
        .then(|| ResponseCache::key(role, &request));
    // Known before the cache only for a GET, which must not run a mutation; a POST that hits
    // the cache is never parsed (only answers to queries are kept).
    let mut operation = None;
    if method == Method::Get {
        service.resolve_persisted(&mut request).await;
        operation = Some(service.operation_type(&mut request));
    }
    if operation == Some(Some(OperationType::Mutation)) {
        let mut response = super::refusal(
            StatusCode::METHOD_NOT_ALLOWED,
            "BAD_USER_INPUT",
            "a mutation must be sent with POST",
        );
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        return response;
    }
    let (Some((cache, versions)), Some(key)) = (&caching.cache, key) else {
        return executed(service.execute_as(request, caller).await);
    };
    let version = versions.current().await;
    if let Some(entry) = version.and_then(|version| cache.get(&key, version)) {
        caching.series.hit();
        return from_entry(&entry, headers, "hit", &caching.series);
    }
    let operation = match operation {
        Some(known) => known,
        None => {
            service.resolve_persisted(&mut request).await;
            service.operation_type(&mut request)
        }
    };
    match operation {
        Some(OperationType::Query) => {}
        Some(OperationType::Mutation) => {
            let response = service.execute_as(request, caller).await;
            // Visible to the next read here at once, not only once the notification of the
            // write comes back from the database.
            versions.wrote();
            return executed(response);
        }
        // Subscriptions, and documents that will fail to execute.
        _ => return executed(service.execute_as(request, caller).await),
    }
    let Some(version) = version else {
        caching.series.bypass();
        let mut response = executed(service.execute_as(request, caller).await);
        marked(&mut response, "bypass");
        return response;
    };
    caching.series.miss();
    let response = service.execute_as(request, caller).await;
    // Errors, and data with errors, are answered but never kept.
    let body = match response.is_ok().then(|| serde_json::to_vec(&response)) {
        Some(Ok(body)) => body,
        _ => {
            let mut response = executed(response);
            marked(&mut response, "miss");
            return response;
        }
    };
    let entry = cache.put(key, version, body.into());
    from_entry(&entry, headers, "miss", &caching.series)
}

fn executed(response: async_graphql::Response) -> Response {
    GraphQLResponse::from(response).into_response()
}

fn marked(response: &mut Response, how: &'static str) {
    response
        .headers_mut()
        .insert(CACHE_HEADER, HeaderValue::from_static(how));
}

/// The kept answer, or `304 Not Modified` when the request's `If-None-Match` names it.
fn from_entry(
    entry: &Entry,
    headers: &HeaderMap,
    how: &'static str,
    series: &CacheSeries,
) -> Response {
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|tags| matches(tags, &entry.etag));
    let mut response = if fresh {
        series.not_modified();
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/graphql-response+json"),
            )],
            Body::from(entry.body.clone()),
        )
            .into_response()
    };
    let headers = response.headers_mut();
    headers.insert(header::ETAG, entry.etag.clone());
    // Any cache may keep it for this caller only, and must ask us before reusing it.
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-cache"),
    );
    headers.insert(CACHE_HEADER, HeaderValue::from_static(how));
    response
}
