//! Walking Resource Manager v3: `projects.list` per parent (with `showDeleted`),
//! `folders.list` to descend, or `projects.search`; `folders.get` and `organizations.get`
//! resolve names, each once per run. Every `nextPageToken` is followed.

use super::{GcpOptions, Tokens, VISIBLE};
use crate::http::Http;
use crate::source::{CollectError, Page};
use entity::enums::{AccountStatus, Provider};
use entity::record::{AccountRecord, Ancestor};
use serde_json::{Value, json};
use std::collections::{HashMap, VecDeque};
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
    nodes: HashMap<String, Node>,
    page_number: u32,
}

fn text(value: &Value, field: &str) -> Option<String> {
    value.get(field).and_then(Value::as_str).map(str::to_owned)
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
            nodes: HashMap::new(),
            page_number: 0,
        }
    }

    pub async fn run(mut self) {
        let result = if self.options.scope == VISIBLE {
            self.search().await
        } else {
            self.walk().await
        };
        if let Err(err) = result {
            let _ = self.pages.send(Err(err)).await;
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
    async fn pages_of(
        &mut self,
        api: &str,
        path: &str,
        query: &[(&str, &str)],
        items: &str,
        mut each: impl AsyncPageFn,
    ) -> Result<(), CollectError> {
        let page_size = self.options.page_size.to_string();
        let mut token: Option<String> = None;
        loop {
            let mut pairs: Vec<(&str, &str)> = query.to_vec();
            pairs.push(("pageSize", &page_size));
            if let Some(token) = &token {
                pairs.push(("pageToken", token));
            }
            let url = self.url(path, &pairs);
            let fetched = self.get(api, &url).await?;
            let list = fetched
                .body
                .get(items)
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let request = Request {
                id: fetched.request_id,
                // Path and query only: our URLs carry no secret, and the host is configuration.
                url: format!("{}?{}", url.path(), url.query().unwrap_or_default()),
            };
            each.call(self, list, request).await?;
            token = text(&fetched.body, "nextPageToken").filter(|t| !t.is_empty());
            if token.is_none() {
                return Ok(());
            }
        }
    }

    /// The organization or folder `name`, fetched once.
    async fn node(&mut self, name: &str) -> Result<Node, CollectError> {
        if let Some(node) = self.nodes.get(name) {
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
        self.nodes.insert(name.to_owned(), node.clone());
        Ok(node)
    }

    /// From the organization down to `parent` (projects outside an organization: empty).
    async fn ancestry(&mut self, parent: Option<&str>) -> Result<Vec<Ancestor>, CollectError> {
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
        &mut self,
        projects: Vec<Value>,
        api: &str,
        request: Request,
    ) -> Result<(), CollectError> {
        self.page_number += 1;
        let mut accounts = Vec::with_capacity(projects.len());
        for project in projects {
            let parent = text(&project, "parent");
            let ancestors = self.ancestry(parent.as_deref()).await?;
            accounts.push(record(
                project,
                parent,
                ancestors,
                api,
                self.page_number,
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

    async fn search(&mut self) -> Result<(), CollectError> {
        self.pages_of(
            "projects.search",
            "projects:search",
            &[],
            "projects",
            SendProjects("projects.search"),
        )
        .await
    }

    /// Breadth first from the scope: the projects under each parent, then its folders.
    async fn walk(&mut self) -> Result<(), CollectError> {
        let mut queue = VecDeque::from([self.options.scope.clone()]);
        while let Some(parent) = queue.pop_front() {
            self.pages_of(
                "projects.list",
                "projects",
                &[("parent", &parent), ("showDeleted", "true")],
                "projects",
                SendProjects("projects.list"),
            )
            .await?;
            let mut folders = Vec::new();
            self.pages_of(
                "folders.list",
                "folders",
                &[("parent", &parent)],
                "folders",
                Collect(&mut folders),
            )
            .await?;
            for folder in folders {
                if let Some(name) = text(&folder, "name") {
                    let node = Node {
                        display: text(&folder, "displayName").unwrap_or_else(|| name.clone()),
                        parent: text(&folder, "parent"),
                    };
                    self.nodes.insert(name.clone(), node);
                    queue.push_back(name);
                }
            }
        }
        Ok(())
    }
}

/// The request behind a page, for provenance.
pub struct Request {
    id: Option<String>,
    url: String,
}

/// What to do with each page of a list (async closures over `&mut Reader` are not yet
/// expressible as plain closures).
trait AsyncPageFn {
    fn call<'a>(
        &'a mut self,
        reader: &'a mut Reader,
        items: Vec<Value>,
        request: Request,
    ) -> futures::future::BoxFuture<'a, Result<(), CollectError>>;
}

struct SendProjects(&'static str);

impl AsyncPageFn for SendProjects {
    fn call<'a>(
        &'a mut self,
        reader: &'a mut Reader,
        items: Vec<Value>,
        request: Request,
    ) -> futures::future::BoxFuture<'a, Result<(), CollectError>> {
        Box::pin(reader.send_projects(items, self.0, request))
    }
}

struct Collect<'v>(&'v mut Vec<Value>);

impl AsyncPageFn for Collect<'_> {
    fn call<'a>(
        &'a mut self,
        _reader: &'a mut Reader,
        items: Vec<Value>,
        _request: Request,
    ) -> futures::future::BoxFuture<'a, Result<(), CollectError>> {
        self.0.extend(items);
        Box::pin(async { Ok(()) })
    }
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
