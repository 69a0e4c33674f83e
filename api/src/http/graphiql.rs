//! GraphiQL, served entirely by the API: the page, our small start-up script, and the
//! React/GraphiQL bundles of the pinned npm packages, committed under `api/graphiql/assets`
//! (refreshed by `api/graphiql/refresh`, their checksums in `SHA256SUMS`) and embedded at
//! compile time. No CDN, so it works on an air-gapped cluster and a laptop on a plane alike;
//! no Node, so any machine with the Rust toolchain builds it.

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// Only our own origin may serve scripts; GraphiQL sets inline styles and data: images.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
                   img-src 'self' data:; font-src 'self' data:; connect-src 'self'; \
                   frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

const PAGE: &str = r#"<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <meta name="robots" content="noindex">
    <title>asset-inventory · GraphiQL</title>
    <link rel="stylesheet" href="/graphiql/graphiql.min.css">
    <style>body { margin: 0; } #graphiql { height: 100vh; }</style>
  </head>
  <body>
    <div id="graphiql">Loading GraphiQL…</div>
    <script src="/graphiql/react.production.min.js"></script>
    <script src="/graphiql/react-dom.production.min.js"></script>
    <script src="/graphiql/graphiql.min.js"></script>
    <script src="/graphiql/start.js"></script>
  </body>
</html>
"#;

/// Mounts GraphiQL with a first query that shows what the inventory holds.
const START: &str = r#"'use strict';
(function () {
  var defaultQuery = [
    '# asset-inventory: every cloud account and monitoring endpoint, with provenance.',
    '# Press the play button (or Ctrl-Enter) to run this query.',
    '',
    'query Overview {',
    '  inventorySummary {',
    '    accounts { provider status count }',
    '    endpoints { kind status count }',
    '  }',
    '  accounts(first: 10) {',
    '    totalCount',
    '    edges {',
    '      node { key provider name orgPath status tags { key value } lastRun { collector startedAt } }',
    '    }',
    '    pageInfo { hasNextPage endCursor }',
    '  }',
    '  monitoringEndpoints(first: 10) {',
    '    nodes { key kind url status version origin }',
    '  }',
    '}',
    ''
  ].join('\n');
  var fetcher = GraphiQL.createFetcher({ url: '/graphql' });
  var root = ReactDOM.createRoot(document.getElementById('graphiql'));
  root.render(React.createElement(GraphiQL, {
    fetcher: fetcher,
    defaultQuery: defaultQuery,
    defaultEditorToolsVisibility: true
  }));
})();
"#;

macro_rules! asset {
    ($name:literal) => {
        include_bytes!(concat!("../../graphiql/assets/", $name)).as_slice()
    };
}

fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

/// `GET /graphql`: the explorer.
pub async fn page() -> Response {
    security_headers(([(header::CONTENT_TYPE, "text/html; charset=utf-8")], PAGE).into_response())
}

/// `GET /graphiql/{file}`: the explorer's scripts and styles.
pub async fn asset(Path(file): Path<String>) -> Response {
    let (body, content_type): (&'static [u8], &str) = match file.as_str() {
        "start.js" => (START.as_bytes(), "text/javascript; charset=utf-8"),
        "react.production.min.js" => (
            asset!("react.production.min.js"),
            "text/javascript; charset=utf-8",
        ),
        "react-dom.production.min.js" => (
            asset!("react-dom.production.min.js"),
            "text/javascript; charset=utf-8",
        ),
        "graphiql.min.js" => (asset!("graphiql.min.js"), "text/javascript; charset=utf-8"),
        "graphiql.min.css" => (asset!("graphiql.min.css"), "text/css; charset=utf-8"),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    security_headers(
        (
            [
                (header::CONTENT_TYPE, content_type),
                // The bundles change only with a new build of the API.
                (header::CACHE_CONTROL, "public, max-age=3600"),
            ],
            body,
        )
            .into_response(),
    )
}

#[cfg(test)]
mod tests {
    use sha2::{Digest, Sha256};

    /// The embedded bundles are the ones `api/graphiql/refresh` took from npm.
    #[test]
    fn embedded_assets_match_their_checksums() {
        let sums = include_str!("../../graphiql/assets/SHA256SUMS");
        let embedded: [(&str, &[u8]); 4] = [
            ("graphiql.min.js", asset!("graphiql.min.js")),
            ("graphiql.min.css", asset!("graphiql.min.css")),
            ("react.production.min.js", asset!("react.production.min.js")),
            (
                "react-dom.production.min.js",
                asset!("react-dom.production.min.js"),
            ),
        ];
        assert_eq!(sums.lines().count(), embedded.len(), "{sums}");
        for (name, body) in embedded {
            let line = sums
                .lines()
                .find(|line| line.ends_with(&format!("  {name}")))
                .unwrap_or_else(|| panic!("{name} has no checksum"));
            assert_eq!(
                line.split_whitespace().next(),
                Some(hex::encode(Sha256::digest(body)).as_str()),
                "{name}"
            );
        }
    }
}
