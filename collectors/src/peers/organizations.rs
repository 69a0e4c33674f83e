//! A synthetic AWS Organizations of any size, for the scale benchmark and the tests that
//! count requests. It speaks the service's documented protocol (AWS Organizations API
//! Reference: AWS JSON 1.1, `POST /` with `X-Amz-Target: AWSOrganizationsV20161128.<Op>`;
//! list operations take `MaxResults` 1-20 and answer a `NextToken` while more follow;
//! errors are `{"__type", "message"}` with HTTP 400, throttling as `TooManyRequestsException`)
//! and behaves as the real service does at a distance: every call waits a fixed latency, and
//! one token bucket for the whole organization answers calls beyond its rate as throttled.
//!
//! The organization: a root, `ous` OUs spread over `depth` levels below it, and `accounts`
//! accounts spread over the root and every OU, each tagged `team` and `cost-center`.

use super::{Meter, Stats};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

pub const ORGANIZATION: &str = "o-scale0000001";
pub const ROOT: &str = "r-sc00";
const MANAGEMENT: &str = "100000000000";

/// The organization's shape and how the peer answers.
#[derive(Debug, Clone)]
pub struct Shape {
    pub accounts: usize,
    pub ous: usize,
    pub depth: usize,
    /// Waited before every answer.
    pub latency: Duration,
    /// Requests per second the token bucket lets through (none: no throttling), and its
    /// burst.
    pub rate: Option<f64>,
    pub burst: f64,
}

struct Org {
    /// Child OUs of each parent, in order.
    ous: HashMap<String, Vec<(String, String)>>,
    /// Accounts of each parent, in order.
    accounts: HashMap<String, Vec<String>>,
    parent: HashMap<String, String>,
    names: HashMap<String, String>,
    /// Every account, in listing order.
    all: Vec<String>,
    /// Tags set on top of the generated ones.
    tags: HashMap<String, BTreeMap<String, String>>,
}

#[derive(Clone)]
struct Peer {
    org: Arc<Mutex<Org>>,
    meter: Meter,
}

/// A running peer.
pub struct Running {
    pub url: String,
    peer: Peer,
}

impl Running {
    pub fn stats(&self) -> Stats {
        self.peer.meter.stats()
    }

    /// Moves an account under another parent, as an administrator would mid-walk.
    pub fn move_account(&self, account: &str, to: &str) {
        let mut org = self.peer.org.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(from) = org.parent.insert(account.to_owned(), to.to_owned())
            && let Some(list) = org.accounts.get_mut(&from)
        {
            list.retain(|a| a != account);
        }
        org.accounts
            .entry(to.to_owned())
            .or_default()
            .push(account.to_owned());
    }

    /// Removes an account from the organization (it left, or was closed and is gone).
    pub fn remove_account(&self, account: &str) {
        let mut org = self.peer.org.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(from) = org.parent.remove(account)
            && let Some(list) = org.accounts.get_mut(&from)
        {
            list.retain(|a| a != account);
        }
        org.all.retain(|a| a != account);
    }

    /// Sets a tag on an account, as its owner would.
    pub fn tag_account(&self, account: &str, key: &str, value: &str) {
        let mut org = self.peer.org.lock().unwrap_or_else(PoisonError::into_inner);
        org.tags
            .entry(account.to_owned())
            .or_default()
            .insert(key.to_owned(), value.to_owned());
    }

    /// Deletes an OU with everything under it moved to its parent first.
    pub fn delete_ou(&self, ou: &str) {
        let mut org = self.peer.org.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(parent) = org.parent.remove(ou) else {
            return;
        };
        let accounts = org.accounts.remove(ou).unwrap_or_default();
        for account in &accounts {
            org.parent.insert(account.clone(), parent.clone());
        }
        org.accounts
            .entry(parent.clone())
            .or_default()
            .extend(accounts);
        let children = org.ous.remove(ou).unwrap_or_default();
        for (child, _) in &children {
            org.parent.insert(child.clone(), parent.clone());
        }
        let siblings = org.ous.entry(parent).or_default();
        siblings.retain(|(id, _)| id != ou);
        siblings.extend(children);
    }

    /// The OUs at `level` below the root (0: the root's children).
    pub fn ous_at(&self, level: usize) -> Vec<String> {
        let org = self.peer.org.lock().unwrap_or_else(PoisonError::into_inner);
        let mut current = vec![ROOT.to_owned()];
        for _ in 0..=level {
            current = current
                .iter()
                .flat_map(|p| {
                    org.ous
                        .get(p)
                        .into_iter()
                        .flatten()
                        .map(|(id, _)| id.clone())
                })
                .collect();
        }
        current
    }
}

/// The id of account `n` (0 is the management account).
pub fn account_id(n: usize) -> String {
    format!("{}", 100_000_000_000u64 + n as u64)
}

fn build(shape: &Shape) -> Org {
    let mut org = Org {
        ous: HashMap::new(),
        accounts: HashMap::new(),
        parent: HashMap::new(),
        names: HashMap::new(),
        all: Vec::new(),
        tags: HashMap::new(),
    };
    let ous = super::levels(ROOT, shape.ous, shape.depth, |n| format!("ou-sc00-{n:08}"));
    let parents = super::holders(ROOT, &ous);
    for (n, (id, parent)) in ous.into_iter().enumerate() {
        org.ous
            .entry(parent.clone())
            .or_default()
            .push((id.clone(), format!("Unit {n}")));
        org.parent.insert(id, parent);
    }
    for n in 0..shape.accounts {
        let id = account_id(n);
        let parent = parents[n % parents.len()].clone();
        org.accounts
            .entry(parent.clone())
            .or_default()
            .push(id.clone());
        org.parent.insert(id.clone(), parent);
        org.names.insert(id.clone(), format!("account-{n}"));
        org.all.push(id);
    }
    org
}

/// Starts the peer on a free loopback port.
pub async fn start(shape: Shape) -> std::io::Result<Running> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    serve(listener, shape)
}

/// Serves the peer on `listener`.
pub fn serve(listener: tokio::net::TcpListener, shape: Shape) -> std::io::Result<Running> {
    let peer = Peer {
        org: Arc::new(Mutex::new(build(&shape))),
        meter: Meter::new(shape.latency, shape.rate, shape.burst),
    };
    let app = Router::new()
        .route("/", post(handle))
        .with_state(peer.clone());
    let url = super::serve(listener, app, &peer.meter)?;
    Ok(Running { url, peer })
}

fn answer(status: StatusCode, body: Value) -> Response {
    (
        status,
        [
            ("content-type", "application/x-amz-json-1.1"),
            ("x-amzn-RequestId", "scale-peer"),
        ],
        body.to_string(),
    )
        .into_response()
}

fn error(code: &str, message: &str) -> Response {
    answer(
        StatusCode::BAD_REQUEST,
        json!({ "__type": code, "message": message }),
    )
}

fn account(org: &Org, id: &str) -> Value {
    json!({
        "Id": id,
        "Arn": format!("arn:aws:organizations::{MANAGEMENT}:account/{ORGANIZATION}/{id}"),
        "Email": format!("{id}@example.com"),
        "Name": org.names.get(id).cloned().unwrap_or_else(|| id.to_owned()),
        "Status": "ACTIVE", "State": "ACTIVE", "JoinedMethod": "CREATED",
        "JoinedTimestamp": 1.7e9,
    })
}

/// An error answer: its `__type` and message.
type Fault = (&'static str, &'static str);

const PARENT_NOT_FOUND: Fault = (
    "ParentNotFoundException",
    "We can't find a root or OU with the ParentId that you specified.",
);

/// One page of `items` from the request's `NextToken` (an offset), at most `MaxResults`.
fn page<T: Clone>(request: &Value, items: &[T]) -> Result<(Vec<T>, Option<String>), Fault> {
    let max = match request.get("MaxResults") {
        None => 20,
        Some(v) => match v.as_u64() {
            Some(n @ 1..=20) => n as usize,
            _ => {
                return Err((
                    "InvalidInputException",
                    "MaxResults must be between 1 and 20",
                ));
            }
        },
    };
    let start = match request.get("NextToken").and_then(Value::as_str) {
        None => 0,
        Some(token) => token
            .parse::<usize>()
            .map_err(|_| ("InvalidInputException", "invalid NextToken"))?,
    };
    let end = (start + max).min(items.len());
    let slice = items.get(start..end).unwrap_or_default().to_vec();
    Ok((slice, (end < items.len()).then(|| end.to_string())))
}

async fn handle(State(peer): State<Peer>, headers: HeaderMap, body: Bytes) -> Response {
    let operation = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .trim_start_matches("AWSOrganizationsV20161128.")
        .to_owned();
    if !peer.meter.admit(&operation).await {
        return error("TooManyRequestsException", "Rate exceeded");
    }
    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let org = peer.org.lock().unwrap_or_else(PoisonError::into_inner);
    let parent_id = request
        .get("ParentId")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let known_parent =
        parent_id == ROOT || (parent_id.starts_with("ou-") && org.parent.contains_key(parent_id));
    let result = match operation.as_str() {
        "DescribeOrganization" => Ok(json!({ "Organization": {
            "Id": ORGANIZATION, "FeatureSet": "ALL", "MasterAccountId": MANAGEMENT,
            "Arn": format!("arn:aws:organizations::{MANAGEMENT}:organization/{ORGANIZATION}"),
        }})),
        "ListRoots" => Ok(
            json!({ "Roots": [{ "Id": ROOT, "Name": "Root", "PolicyTypes": [],
            "Arn": format!("arn:aws:organizations::{MANAGEMENT}:root/{ORGANIZATION}/{ROOT}") }] }),
        ),
        "ListOrganizationalUnitsForParent" if !known_parent => Err(PARENT_NOT_FOUND),
        "ListOrganizationalUnitsForParent" => {
            let ous = org.ous.get(parent_id).cloned().unwrap_or_default();
            page(&request, &ous).map(|(ous, next)| {
                json!({
                    "OrganizationalUnits": ous.iter().map(|(id, name)| json!({ "Id": id, "Name": name,
                        "Arn": format!("arn:aws:organizations::{MANAGEMENT}:ou/{ORGANIZATION}/{id}") })).collect::<Vec<_>>(),
                    "NextToken": next,
                })
            })
        }
        "ListAccountsForParent" if !known_parent => Err(PARENT_NOT_FOUND),
        "ListAccountsForParent" => {
            let accounts = org.accounts.get(parent_id).cloned().unwrap_or_default();
            page(&request, &accounts).map(|(accounts, next)| {
                json!({
                    "Accounts": accounts.iter().map(|id| account(&org, id)).collect::<Vec<_>>(),
                    "NextToken": next,
                })
            })
        }
        "ListAccounts" => page(&request, &org.all).map(|(accounts, next)| {
            json!({
                "Accounts": accounts.iter().map(|id| account(&org, id)).collect::<Vec<_>>(),
                "NextToken": next,
            })
        }),
        "ListParents" => {
            let child = request
                .get("ChildId")
                .and_then(Value::as_str)
                .unwrap_or_default();
            match org.parent.get(child) {
                Some(parent) => Ok(json!({ "Parents": [{
                    "Id": parent, "Type": if parent == ROOT { "ROOT" } else { "ORGANIZATIONAL_UNIT" },
                }]})),
                None => Err(("ChildNotFoundException", "We can't find that child")),
            }
        }
        "DescribeOrganizationalUnit" => {
            let id = request
                .get("OrganizationalUnitId")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let name = org
                .ous
                .values()
                .flatten()
                .find(|(ou, _)| ou == id)
                .map(|(_, name)| name.clone());
            match name {
                Some(name) => Ok(json!({ "OrganizationalUnit": { "Id": id, "Name": name } })),
                None => Err((
                    "OrganizationalUnitNotFoundException",
                    "We can't find an OU with that OrganizationalUnitId",
                )),
            }
        }
        "DescribeAccount" => {
            let id = request
                .get("AccountId")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if org.parent.contains_key(id) && !id.starts_with("ou-") {
                Ok(json!({ "Account": account(&org, id) }))
            } else {
                Err((
                    "AccountNotFoundException",
                    "You specified an account that doesn't exist.",
                ))
            }
        }
        "ListTagsForResource" => {
            let id = request
                .get("ResourceId")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if org.parent.contains_key(id) {
                let n = id.parse::<u64>().unwrap_or_default() % 10;
                let mut tags = BTreeMap::from([
                    ("team".to_owned(), format!("team-{n}")),
                    ("cost-center".to_owned(), format!("cc-{}", 1000 + n)),
                ]);
                tags.extend(org.tags.get(id).cloned().unwrap_or_default());
                Ok(
                    json!({ "Tags": tags.iter().map(|(k, v)| json!({ "Key": k, "Value": v })).collect::<Vec<_>>() }),
                )
            } else {
                Err((
                    "TargetNotFoundException",
                    "We can't find a root, OU, account, or policy with the TargetId that you specified.",
                ))
            }
        }
        _ => Err(("UnknownOperationException", "unknown operation")),
    };
    match result {
        Ok(body) => answer(StatusCode::OK, body),
        Err((code, message)) => error(code, message),
    }
}
