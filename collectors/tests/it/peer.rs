//! A local AWS Organizations peer for the faults moto cannot produce on demand. It speaks the
//! service's documented wire protocol (AWS JSON 1.1: `POST /` with
//! `X-Amz-Target: AWSOrganizationsV20161128.<Operation>`, JSON bodies, errors as HTTP 4xx/5xx
//! with `{"__type": "<Code>", "message": …}`, `NextToken` paging) as described in the AWS
//! Organizations API Reference. The root's `ListAccountsForParent` comes in two pages whose
//! second misbehaves on purpose; and the organization changes while it is walked: one OU is
//! gone by the time its children are listed (`ParentNotFoundException`), one account is listed
//! under two parents, and, once they were stored, one account is missed by the walk (it moved
//! into a part already walked) and one has left the organization.

use crate::moto::options as aws_options;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use collectors::aws::AwsSource;
use collectors::runner::run;
use entity::cloud_account;
use entity::enums::RunStatus;
use entity::testing::TestDb;
use sea_orm::EntityTrait;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How the root's second `ListAccountsForParent` page answers.
#[derive(Clone, Copy, Debug)]
pub enum SecondPage {
    Fine,
    /// Fine, but without two accounts: one moved where the walk had been, one left.
    Moved,
    /// Throttled this many times, then fine.
    Throttled(u32),
    ServerError,
    Garbage,
    Slow,
}

#[derive(Default)]
struct Counters {
    second_page_requests: u32,
    list_parents: u32,
}

#[derive(Clone)]
struct Peer {
    second: Arc<Mutex<SecondPage>>,
    counters: Arc<Mutex<Counters>>,
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        [
            ("content-type", "application/x-amz-json-1.1"),
            ("x-amzn-RequestId", "peer-error"),
        ],
        json!({ "__type": code, "message": message }).to_string(),
    )
        .into_response()
}

fn ok(body: Value) -> Response {
    (
        StatusCode::OK,
        [
            ("content-type", "application/x-amz-json-1.1"),
            ("x-amzn-RequestId", "peer-request"),
        ],
        body.to_string(),
    )
        .into_response()
}

fn account(id: &str) -> Value {
    json!({
        "Id": id, "Arn": format!("arn:aws:organizations::111111111111:account/o-peer123456/{id}"),
        "Email": format!("{id}@example.com"), "Name": format!("account-{id}"),
        "Status": "ACTIVE", "State": "ACTIVE", "JoinedMethod": "INVITED",
        "JoinedTimestamp": 1.7e9,
    })
}

async fn handle(State(peer): State<Peer>, headers: HeaderMap, body: Bytes) -> Response {
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    match target.trim_start_matches("AWSOrganizationsV20161128.") {
        "DescribeOrganization" => ok(json!({ "Organization": {
            "Id": "o-peer123456", "Arn": "arn:aws:organizations::111111111111:organization/o-peer123456",
            "FeatureSet": "ALL", "MasterAccountId": "111111111111",
        }})),
        "ListRoots" => ok(json!({ "Roots": [{ "Id": "r-peer", "Name": "Root",
            "Arn": "arn:aws:organizations::111111111111:root/o-peer123456/r-peer", "PolicyTypes": [] }] })),
        "ListParents" => {
            peer.counters.lock().expect("counters").list_parents += 1;
            ok(json!({ "Parents": [{ "Id": "r-peer", "Type": "ROOT" }] }))
        }
        "ListTagsForResource" => ok(json!({ "Tags": [{ "Key": "team", "Value": "peer" }] })),
        "DescribeAccount" if request["AccountId"] == "444444444444" => {
            ok(json!({ "Account": account("444444444444") }))
        }
        "DescribeAccount" => error(
            StatusCode::BAD_REQUEST,
            "AccountNotFoundException",
            "You specified an account that doesn't exist.",
        ),
        "ListOrganizationalUnitsForParent" | "ListAccountsForParent"
            if request["ParentId"] == "ou-peer-gone" =>
        {
            error(
                StatusCode::BAD_REQUEST,
                "ParentNotFoundException",
                "We can't find a root or OU with the ParentId that you specified.",
            )
        }
        "ListOrganizationalUnitsForParent" if request["ParentId"] == "r-peer" => ok(json!({
            "OrganizationalUnits": [
                { "Id": "ou-peer-gone", "Name": "Gone", "Arn": "arn:aws:organizations::111111111111:ou/o-peer123456/ou-peer-gone" },
                { "Id": "ou-peer-new", "Name": "New", "Arn": "arn:aws:organizations::111111111111:ou/o-peer123456/ou-peer-new" },
            ],
        })),
        "ListOrganizationalUnitsForParent" => ok(json!({ "OrganizationalUnits": [] })),
        // Listed here too, though `ListParents` places it under the root.
        "ListAccountsForParent" if request["ParentId"] == "ou-peer-new" => {
            ok(json!({ "Accounts": [account("222222222222")] }))
        }
        "ListAccountsForParent" if request.get("NextToken").is_none() => ok(json!({
            "Accounts": [account("111111111111"), account("222222222222")],
            "NextToken": "page-2",
        })),
        "ListAccountsForParent" => {
            let attempt = {
                let mut counters = peer.counters.lock().expect("counters");
                counters.second_page_requests += 1;
                counters.second_page_requests
            };
            let mode = *peer.second.lock().expect("mode");
            match mode {
                SecondPage::Fine => ok(json!({ "Accounts": [
                    account("333333333333"), account("444444444444"), account("555555555555"),
                ] })),
                SecondPage::Moved => ok(json!({ "Accounts": [account("333333333333")] })),
                SecondPage::Throttled(times) if attempt <= times => error(
                    StatusCode::BAD_REQUEST,
                    "TooManyRequestsException",
                    "Rate exceeded",
                ),
                SecondPage::Throttled(_) => ok(json!({ "Accounts": [
                    account("333333333333"), account("444444444444"), account("555555555555"),
                ] })),
                SecondPage::ServerError => error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "ServiceException",
                    "internal failure",
                ),
                SecondPage::Garbage => (StatusCode::OK, "<html>proxy error</html>").into_response(),
                SecondPage::Slow => {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    ok(json!({ "Accounts": [] }))
                }
            }
        }
        other => error(StatusCode::BAD_REQUEST, "UnknownOperationException", other),
    }
}

struct Running {
    url: String,
    peer: Peer,
}

impl Running {
    fn set(&self, mode: SecondPage) {
        *self.peer.second.lock().expect("mode") = mode;
        self.peer
            .counters
            .lock()
            .expect("counters")
            .second_page_requests = 0;
    }
    fn list_parents(&self) -> u32 {
        self.peer.counters.lock().expect("counters").list_parents
    }
    fn second_page_requests(&self) -> u32 {
        self.peer
            .counters
            .lock()
            .expect("counters")
            .second_page_requests
    }
}

async fn start() -> Running {
    let peer = Peer {
        second: Arc::new(Mutex::new(SecondPage::Fine)),
        counters: Arc::new(Mutex::new(Counters::default())),
    };
    let app = Router::new()
        .route("/", post(handle))
        .with_state(peer.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    Running { url, peer }
}

async fn present(db: &TestDb) -> Vec<String> {
    let mut ids: Vec<String> = cloud_account::Entity::find()
        .all(&db.conn)
        .await
        .expect("read")
        .into_iter()
        .filter(|a| a.removed_at.is_none())
        .map(|a| a.native_id)
        .collect();
    ids.sort();
    ids
}

/// After a good run, each fault on the second page gives a partial run that writes the first
/// page, removes nothing and says what failed.
async fn faults_mid_way_leave_partial_runs_that_remove_nothing(db: &TestDb) {
    let peer = start().await;
    let all = vec![
        "111111111111",
        "222222222222",
        "333333333333",
        "444444444444",
        "555555555555",
    ];
    let good = run(
        &db.conn,
        &mut AwsSource::new(aws_options(&peer.url)),
        &crate::aws::options(),
    )
    .await
    .expect("run");
    assert_eq!(good.status, RunStatus::Succeeded, "{:?}", good.error);
    assert_eq!(present(db).await, all);

    for (mode, expected) in [
        (SecondPage::ServerError, "ServiceException"),
        (SecondPage::Garbage, "ListAccountsForParent failed"),
        (
            SecondPage::Throttled(10),
            "throttled by ListAccountsForParent",
        ),
        (SecondPage::Slow, "timed out"),
    ] {
        peer.set(mode);
        let mut options = aws_options(&peer.url);
        options.request_timeout = Duration::from_secs(1);
        let partial = run(
            &db.conn,
            &mut AwsSource::new(options),
            &crate::aws::options(),
        )
        .await
        .expect("run");
        assert_eq!(
            partial.status,
            RunStatus::Partial,
            "{mode:?}: {:?}",
            partial.error
        );
        assert_eq!(
            (partial.pages, partial.seen, partial.removed),
            (1, 2, 0),
            "{mode:?}"
        );
        let error = partial.error.unwrap_or_default();
        assert!(error.contains(expected), "{mode:?}: {error}");
        assert_eq!(present(db).await, all, "{mode:?} removed something");
    }
    // Server errors and throttling were retried up to the attempt budget (3).
    peer.set(SecondPage::ServerError);
    run(
        &db.conn,
        &mut AwsSource::new(aws_options(&peer.url)),
        &crate::aws::options(),
    )
    .await
    .expect("run");
    assert_eq!(peer.second_page_requests(), 3);
}

async fn throttling_within_the_budget_is_retried_to_success(db: &TestDb) {
    let peer = start().await;
    peer.set(SecondPage::Throttled(2));
    let done = run(
        &db.conn,
        &mut AwsSource::new(aws_options(&peer.url)),
        &crate::aws::options(),
    )
    .await
    .expect("run");
    assert_eq!(done.status, RunStatus::Succeeded, "{:?}", done.error);
    assert_eq!(done.seen, 5);
    assert_eq!(
        peer.second_page_requests(),
        3,
        "two throttled answers, then the page"
    );
}

/// The organization changes under the walk: an OU disappears and an account shows under two
/// parents; on the next run, an account stored before is missed by the walk (it moved where
/// the walk had been) and another has left. Every account is stored once, in its place; the
/// one that left, and only it, is removed; `ListParents` is asked only about those two.
async fn changes_during_the_walk_lose_and_duplicate_nothing(db: &TestDb) {
    let peer = start().await;
    let done = run(
        &db.conn,
        &mut AwsSource::new(aws_options(&peer.url)),
        &crate::aws::options(),
    )
    .await
    .expect("run");
    assert_eq!(done.status, RunStatus::Succeeded, "{:?}", done.error);
    assert_eq!((done.seen, done.created), (5, 5));
    assert_eq!(peer.list_parents(), 1, "the account met twice");

    peer.set(SecondPage::Moved);
    let moved = run(
        &db.conn,
        &mut AwsSource::new(aws_options(&peer.url)),
        &crate::aws::options(),
    )
    .await
    .expect("run");
    assert_eq!(moved.status, RunStatus::Succeeded, "{:?}", moved.error);
    assert_eq!((moved.seen, moved.removed), (4, 1), "{moved:?}");
    assert_eq!(
        present(db).await,
        [
            "111111111111",
            "222222222222",
            "333333333333",
            "444444444444"
        ]
    );
    assert_eq!(
        peer.list_parents(),
        3,
        "met twice again, and the one missed"
    );
    for id in ["222222222222", "444444444444"] {
        let row = cloud_account::Entity::find_by_id(format!("aws:{id}"))
            .one(&db.conn)
            .await
            .expect("read")
            .expect("stored");
        assert_eq!(row.parent.as_deref(), Some("r-peer"), "{id}");
        assert_eq!(row.org_path, "o-peer123456/r-peer", "{id}");
        assert_eq!(row.tags.0.get("team").map(String::as_str), Some("peer"));
    }
    // Provenance says how each was placed: by the walk (the account met twice was where the
    // walk first met it), or by a recheck of what the walk missed.
    let operations = |id: &str| {
        let db = &db.conn;
        let id = format!("aws:{id}");
        async move {
            cloud_account::Entity::find_by_id(id)
                .one(db)
                .await
                .expect("read")
                .expect("stored")
                .provenance["operations"]
                .clone()
        }
    };
    assert_eq!(operations("444444444444").await[0], "DescribeAccount");
    assert_eq!(operations("111111111111").await[1], "ListAccountsForParent");
}

entity::on_both_backends!(
    faults_mid_way_leave_partial_runs_that_remove_nothing,
    throttling_within_the_budget_is_retried_to_success,
    changes_during_the_walk_lose_and_duplicate_nothing,
);

#[tokio::test]
async fn an_unreachable_organization_is_a_failed_run() {
    let db = TestDb::sqlite().await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let mut options = aws_options(&format!("http://127.0.0.1:{port}"));
    options.max_attempts = 1;
    let failed = run(
        &db.conn,
        &mut AwsSource::new(options),
        &crate::aws::options(),
    )
    .await
    .expect("run");
    assert_eq!(failed.status, RunStatus::Failed);
    assert_eq!(failed.scope, "unknown");
    assert!(
        failed
            .error
            .unwrap_or_default()
            .contains("DescribeOrganization")
    );
    db.finish().await;
}
