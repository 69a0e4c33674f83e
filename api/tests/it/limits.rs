//! Each query limit, configured small, refuses with a clear error; the defaults let normal
//! use (and GraphiQL) through.

use crate::support::{gql, send};
use api::graphql::limits::Limits;
use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use entity::testing::TestDb;
use serde_json::json;

fn tight(db: &TestDb, introspection: bool) -> Router {
    let mut settings = crate::support::open_settings();
    settings.limits = Limits {
        max_depth: 5,
        max_complexity: 1_000,
        max_aliases: 3,
        max_fields: 60,
        max_page_size: 20,
        introspection,
    };
    settings.max_body_bytes = 4096;
    api::http::router(db.conn.clone(), settings).expect("router")
}

async fn refusal(app: &Router, query: &str) -> String {
    let response = gql(app, query, json!({})).await;
    let error = &response["errors"][0];
    assert_eq!(
        error["extensions"]["code"], "BAD_USER_INPUT",
        "{query}: {response}"
    );
    error["message"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn each_limit_refuses_clearly() {
    let db = TestDb::sqlite().await;
    let app = tight(&db, true);

    // Depth: 5 levels pass, 6 do not.
    let ok = gql(
        &app,
        "{ accounts(first: 1) { edges { node { lastRun { id } } } } }",
        json!({}),
    )
    .await;
    assert!(ok.get("errors").is_none(), "{ok}");
    // Our own types are at most 5 deep; introspection goes deeper.
    let message = refusal(
        &app,
        "{ __schema { types { fields { type { ofType { name } } } } } }",
    )
    .await;
    assert!(message.contains("nested too deep"), "{message}");

    // Complexity grows with the page size asked for.
    let fields = "key name orgPath status rawStatus scope source";
    let ok = gql(
        &app,
        &format!("{{ accounts(first: 20) {{ nodes {{ {fields} }} }} }}"),
        json!({}),
    )
    .await;
    assert!(ok.get("errors").is_none(), "{ok}");
    let message = refusal(
        &app,
        &format!("{{ a: accounts(first: 20) {{ nodes {{ {fields} }} }} b: accounts(first: 20) {{ nodes {{ {fields} }} }} c: accounts(first: 20) {{ nodes {{ {fields} }} }} }}"),
    )
    .await;
    assert!(message.contains("complex"), "{message}");

    // Aliases.
    let message = refusal(
        &app,
        "{ a: __typename b: __typename c: __typename d: __typename }",
    )
    .await;
    assert!(message.contains("aliases"), "{message}");

    // Page size.
    let response = gql(&app, "{ accounts(first: 21) { totalCount } }", json!({})).await;
    assert_eq!(
        response["errors"][0]["extensions"]["field"], "first",
        "{response}"
    );
    assert!(
        response["errors"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("at most 20")
    );

    // Body size.
    let big = json!({ "query": format!("{{ __typename }} #{}", "x".repeat(5000)) }).to_string();
    let request = Request::post("/graphql")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CONTENT_LENGTH, big.len())
        .body(Body::from(big))
        .expect("request");
    let (status, _, _) = send(&app, request).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);

    // Batches are not accepted at all: one operation per request.
    let batch = json!([{ "query": "{ __typename }" }, { "query": "{ __typename }" }]).to_string();
    let request = Request::post("/graphql")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(batch))
        .expect("request");
    let (status, _, _) = send(&app, request).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    db.finish().await;
}

#[tokio::test]
async fn introspection_can_be_switched_off() {
    let db = TestDb::sqlite().await;
    let closed = tight(&db, false);
    let response = gql(&closed, "{ __schema { queryType { name } } }", json!({})).await;
    assert_eq!(
        response["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{response}"
    );
    let message = response["errors"][0]["message"]
        .as_str()
        .unwrap_or_default();
    assert!(message.contains("introspection"), "{message}");
    let plain = gql(&closed, "{ __typename accounts { totalCount } }", json!({})).await;
    assert!(plain.get("errors").is_none(), "{plain}");
    // Nor do errors suggest the names introspection would show.
    let typo = gql(&closed, "{ acounts { totalCount } }", json!({})).await;
    let message = typo["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(message.contains("acounts"), "{typo}");
    assert!(!message.contains("Did you mean"), "{message}");

    let open = tight(&db, true);
    let response = gql(&open, "{ __schema { queryType { name } } }", json!({})).await;
    assert_eq!(response["data"]["__schema"]["queryType"]["name"], "Query");
    db.finish().await;
}

#[tokio::test]
async fn the_default_limits_admit_a_full_page_with_every_field() {
    let db = TestDb::sqlite().await;
    let app = crate::support::app(&db.conn);
    let every = "id key nativeId provider name orgPath ancestors { id name kind } parent status rawStatus regionResidency tags { key value } scope source firstSeenAt lastSeenAt removedAt lastRun { id collector status } provenance raw";
    let response = gql(&app, &format!("{{ accounts(first: 500) {{ totalCount nodes {{ {every} }} pageInfo {{ hasNextPage }} }} }}"), json!({})).await;
    assert!(response.get("errors").is_none(), "{response}");
    db.finish().await;
}

/// Fragments that each spread the previous one twice: 2^levels fields once expanded, in a
/// document of a few hundred bytes.
fn doubling_fragments(levels: u32) -> String {
    let mut text = format!("query {{ ...f{levels} }}\nfragment f0 on Query {{ changesHead }}\n");
    for n in 1..=levels {
        text.push_str(&format!(
            "fragment f{n} on Query {{ ...f{m} ...f{m} }}\n",
            m = n - 1
        ));
    }
    text
}

#[tokio::test]
async fn exponential_fragments_are_refused_before_validation() {
    let db = TestDb::sqlite().await;
    let app = crate::support::app(&db.conn);
    // 2^40 selections: async-graphql's own walk of this document would never end.
    let message = refusal(&app, &doubling_fragments(40)).await;
    assert!(
        message.contains("1099511627776 fields once its fragments are expanded"),
        "{message}"
    );
    // A few levels stay within the limits and run.
    let ok = gql(&app, &doubling_fragments(3), json!({})).await;
    assert!(ok.get("errors").is_none(), "{ok}");
    db.finish().await;
}

#[tokio::test]
async fn repeated_fields_share_the_alias_budget() {
    let db = TestDb::sqlite().await;
    let app = crate::support::app(&db.conn);
    let repeated = format!("{{ {} }}", "changesHead ".repeat(20_000));
    let message = refusal(&app, &repeated).await;
    assert!(message.contains("fields"), "{message}");
    // The first is selected, the 31 after it repeat it.
    let repeated = format!("{{ {} }}", "changesHead ".repeat(32));
    let message = refusal(&app, &repeated).await;
    assert!(
        message.contains("31") && message.contains("repeated fields"),
        "{message}"
    );
    // The same through a fragment spread many times over.
    let spread = format!(
        "{{ {} }} fragment F on Query {{ a: changesHead }}",
        "...F ".repeat(31)
    );
    let message = refusal(&app, &spread).await;
    assert!(message.contains("aliases"), "{message}");
    let ok = gql(&app, "{ changesHead changesHead }", json!({})).await;
    assert!(ok.get("errors").is_none(), "{ok}");
    db.finish().await;
}

#[tokio::test]
async fn fields_that_run_statements_weigh_more() {
    let db = TestDb::sqlite().await;
    let app = tight(&db, true);
    // Each root field that reads the database weighs 500: two fit in 1,000, three do not.
    let ok = gql(&app, "{ changesHead a: changesHead }", json!({})).await;
    assert!(ok.get("errors").is_none(), "{ok}");
    let message = refusal(&app, "{ changesHead a: changesHead b: changesHead }").await;
    assert!(message.contains("complex"), "{message}");
    let message = refusal(
        &app,
        "{ a: accounts(first: 1) { totalCount } b: accounts(first: 1) { totalCount } }",
    )
    .await;
    assert!(message.contains("complex"), "{message}");
    db.finish().await;
}
