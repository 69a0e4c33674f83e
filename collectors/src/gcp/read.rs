//! Walking Resource Manager v3: level by level from the scope, `concurrency` parents at a
//! time, each parent's projects (`projects.list` with `showDeleted`, sent as pages as they
//! arrive) and folders (`folders.list`, whose names and parents give every project's ancestry
//! without a call per folder); or `projects.search`. `folders.get` and `organizations.get`
//! resolve only what lies above the scope, each once per run. Every `nextPageToken` is
//! followed.

use super::{GcpOptions, Tokens, VISIBLE};
use crate::http::Http;
use crate::source::{CollectError, Page};
use entity::enums::{AccountStatus, Provider};
use entity::record::{AccountRecord, Ancestor};
use futures::StreamExt;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use tokio::sync::mpsc;
use url::Url;

/// A folder or organization: its display name and parent.
#[derive(Clone)]
struct Node {
    display: String,
    parent: Option<String>,
}

pub struct Reader {
    http: Http,
    tokens: Tokens,
    options: GcpOptions,
    pages: mpsc::Sender<Result<Page, CollectError>>,
    nodes: Mutex<HashMap<String, Node>>,
    page_number: AtomicU32,
}

fn text(value: &Value, field: &str) -> Option<String> {
    value.get(field).and_then(Value::as_str).map(str::to_owned)
}

fn poisoned() -> CollectError {
    CollectError::Invalid("the folder cache lock was poisoned".into())
}

impl Reader {
    pub fn new(
        http: Http,
        tokens: Tokens,
        options: GcpOptions,
        pages: mpsc::Sender<Result<Page, CollectError>>,
    ) -> Self {
        Self {
            http,
            tokens,
            options,
            pages,
            nodes: Mutex::new(HashMap::new()),
            page_number: AtomicU32::new(0),
        }
    }

    /// Reads the scope; stops at once when the run stops reading.
    pub async fn run(self) {
        let reader = self.pages.clone();
        let read = async {
            let result = if self.options.scope == VISIBLE {
                self.search().await
            } else {
                self.walk().await
            };
            if let Err(err) = result {
                let _ = self.pages.send(Err(err)).await;
            }
        };
        tokio::select! {
            () = read => {}
            () = reader.closed() => tracing::debug!("the run stopped reading; the walk stops"),
        }
    }

    fn url(&self, path: &str, query: &[(&str, &str)]) -> Url {
        let mut url = self.options.base_url.clone();
        url.set_path(&format!("/v3/{path}"));
        url.query_pairs_mut().extend_pairs(query);
        url
    }

    async fn get(&self, api: &str, url: &Url) -> Result<crate::http::Fetched, CollectError> {
        let token = self.tokens.get().await?;
        self.http.get_json(api, url, &token).await
    }

    /// Every page of a list call, handed to `each` as it arrives.
    async fn pages_of<F, Fut>(
        &self,
        api: &str,
        path: &str,
        query: &[(&str, &str)],
        items: &str,
        mut each: F,
    ) -> Result<(), CollectError>
    where
        F: FnMut(Vec<Value>, Request) -> Fut,
        Fut: Future<Output = Result<(), CollectError>>,
    {
        let page_size = self.options.page_size.to_string();
        let mut token: Option<String> = None;
        loop {
            let mut pairs: Vec<(&str, &str)> = query.to_vec();
            pairs.push(("pageSize", &page_size));
            if let Some(token) = &token {
                pairs.push(("pageToken", token));
            }
            let url = self.url(path, &pairs);
            let mut fetched = self.get(api, &url).await?;
            let list = match fetched.body.get_mut(items).map(Value::take) {
                Some(Value::Array(list)) => list,
                _ => Vec::new(),
            };
            let request = Request {
                id: fetched.request_id,
                // Path and query only: our URLs carry no secret, and the host is configuration.
                url: format!("{}?{}", url.path(), url.query().unwrap_or_default()),
            };
            token = text(&fetched.body, "nextPageToken").filter(|t| !t.is_empty());
            each(list, request).await?;
            if token.is_none() {
                return Ok(());
            }
        }
    }

    /// The organization or folder `name`, fetched once.
    async fn node(&self, name: &str) -> Result<Node, CollectError> {
        if let Some(node) = self.nodes.lock().map_err(|_| poisoned())?.get(name) {
            return Ok(node.clone());
        }
        let api = if name.starts_with("folders/") {
            "folders.get"
        } else {
            "organizations.get"
        };
        let fetched = self.get(api, &self.url(name, &[])).await?;
        let node = Node {
            display: text(&fetched.body, "displayName").unwrap_or_else(|| name.to_owned()),
            parent: text(&fetched.body, "parent"),
        };
        self.nodes
            .lock()
            .map_err(|_| poisoned())?
            .insert(name.to_owned(), node.clone());
        Ok(node)
    }

    /// From the organization down to `parent` (projects outside an organization: empty).
    async fn ancestry(&self, parent: Option<&str>) -> Result<Vec<Ancestor>, CollectError> {
        let mut chain = Vec::new();
        let mut next = parent.map(str::to_owned);
        while let Some(name) = next.take() {
            if !(name.starts_with("folders/") || name.starts_with("organizations/")) {
                break;
            }
            let node = self.node(&name).await?;
            let kind = if name.starts_with("folders/") {
                "folder"
            } else {
                "organization"
            };
            chain.push(Ancestor {
                id: name.clone(),
                name: node.display.clone(),
                kind: kind.into(),
            });
            if chain.len() > 32 {
                return Err(CollectError::Invalid(format!(
                    "the ancestry of {name} does not end"
                )));
            }
            next = node.parent;
        }
        chain.reverse();
        Ok(chain)
    }

    async fn send_projects(
        &self,
        projects: Vec<Value>,
        api: &str,
        request: Request,
    ) -> Result<(), CollectError> {
        let page_number = self.page_number.fetch_add(1, Ordering::Relaxed) + 1;
        // The projects of a list page share their parent; `projects.search` mixes them.
        let mut chains: HashMap<Option<String>, Vec<Ancestor>> = HashMap::new();
        let mut accounts = Vec::with_capacity(projects.len());
        for project in projects {
            let parent = text(&project, "parent");
            let ancestors = match chains.get(&parent) {
                Some(chain) => chain.clone(),
                None => {
                    let chain = self.ancestry(parent.as_deref()).await?;
                    chains.insert(parent.clone(), chain.clone());
                    chain
                }
            };
            accounts.push(record(
                project,
                parent,
                ancestors,
                api,
                page_number,
                &request,
            ));
        }
        let page = Page {
            accounts,
            endpoints: Vec::new(),
            request_ids: request.id.into_iter().collect(),
        };
        self.pages
            .send(Ok(page))
            .await
            .map_err(|_| CollectError::Invalid("the runner stopped reading".into()))
    }

    async fn search(&self) -> Result<(), CollectError> {
        self.pages_of(
            "projects.search",
            "projects:search",
            &[],
            "projects",
            |projects, request| self.send_projects(projects, "projects.search", request),
        )
        .await
    }

    /// Level by level from the scope, `concurrency` parents at a time.
    async fn walk(&self) -> Result<(), CollectError> {
        // What lies above the scope, and the scope itself, resolved once.
        self.ancestry(Some(&self.options.scope)).await?;
        let mut level = vec![self.options.scope.clone()];
        while !level.is_empty() {
            let listed: Vec<Result<Vec<Value>, CollectError>> = futures::stream::iter(level)
                .map(|parent| self.parent(parent))
                .buffer_unordered(self.options.concurrency.max(1))
                .collect()
                .await;
            let mut next = Vec::new();
            for folders in listed {
                for folder in folders? {
                    let Some(name) = text(&folder, "name") else {
                        continue;
                    };
                    let node = Node {
                        display: text(&folder, "displayName").unwrap_or_else(|| name.clone()),
                        parent: text(&folder, "parent"),
                    };
                    self.nodes
                        .lock()
                        .map_err(|_| poisoned())?
                        .insert(name.clone(), node);
                    next.push(name);
                }
            }
            level = next;
        }
        Ok(())
    }

    /// A parent's projects, sent page by page, and its folders.
    async fn parent(&self, parent: String) -> Result<Vec<Value>, CollectError> {
        self.pages_of(
            "projects.list",
            "projects",
            &[("parent", &parent), ("showDeleted", "true")],
            "projects",
            |projects, request| self.send_projects(projects, "projects.list", request),
        )
        .await?;
        let mut folders = Vec::new();
        self.pages_of(
            "folders.list",
            "folders",
            &[("parent", &parent)],
            "folders",
            |items, _| {
                folders.extend(items);
                std::future::ready(Ok(()))
            },
        )
        .await?;
        Ok(folders)
    }
}

/// The request behind a page, for provenance.
pub struct Request {
    id: Option<String>,
    url: String,
}

fn record(
    project: Value,
    parent: Option<String>,
    ancestors: Vec<Ancestor>,
    api: &str,
    page: u32,
    request: &Request,
) -> AccountRecord {
    let project_id = text(&project, "projectId").unwrap_or_default();
    let state = text(&project, "state");
    let status = match state.as_deref() {
        Some("ACTIVE") => AccountStatus::Active,
        Some("DELETE_REQUESTED") => AccountStatus::PendingDeletion,
        _ => AccountStatus::Unknown,
    };
    let tags = project
        .get("labels")
        .and_then(Value::as_object)
        .map(|labels| {
            labels
                .iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        v.as_str().map_or_else(|| v.to_string(), str::to_owned),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    AccountRecord {
        provider: Provider::Gcp,
        name: text(&project, "displayName").unwrap_or_else(|| project_id.clone()),
        native_id: project_id,
        org_path: ancestors
            .iter()
            .map(|a| a.name.as_str())
            .collect::<Vec<_>>()
            .join("/"),
        ancestors,
        parent,
        status,
        raw_status: state,
        region_residency: None,
        tags: Some(tags),
        raw: project,
        scope: String::new(),
        source: String::new(),
        provenance: json!({
            "api": "cloudresourcemanager.v3",
            "operation": api,
            "page": page,
            "request_id": request.id,
            "url": request.url,
        }),
    }
}
