//! An account's place in the organization when the walk could not give it (an account that
//! moved while it ran, or that the walk missed): `ListParents` and
//! `DescribeOrganizationalUnit`, once per OU per run, starting from the OUs the walk knows.

use super::read::{api_error, request_id};
use crate::source::CollectError;
use aws_sdk_organizations::Client;
use aws_sdk_organizations::types::ParentType;
use entity::record::Ancestor;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::OnceCell;

/// The chain from the organization down to a parent (inclusive), and the requests behind it.
pub type Chain = Arc<Vec<Ancestor>>;

pub struct Hierarchy {
    client: Client,
    /// The organization and its root: every chain starts with them.
    top: Vec<Ancestor>,
    root_id: String,
    ous: Mutex<HashMap<String, Arc<OnceCell<Chain>>>>,
    request_ids: Mutex<Vec<String>>,
}

impl Hierarchy {
    /// The hierarchy of an organization, knowing only its root.
    pub fn new(client: Client, organization: &str, root_id: &str, root_name: &str) -> Self {
        let top = vec![
            Ancestor {
                id: organization.to_owned(),
                name: organization.to_owned(),
                kind: "organization".into(),
            },
            Ancestor {
                id: root_id.to_owned(),
                name: root_name.to_owned(),
                kind: "root".into(),
            },
        ];
        Self {
            client,
            top,
            root_id: root_id.to_owned(),
            ous: Mutex::new(HashMap::new()),
            request_ids: Mutex::new(Vec::new()),
        }
    }

    /// The chain down to the root.
    pub fn top(&self) -> Chain {
        Arc::new(self.top.clone())
    }

    /// The request ids of the calls made since the last time they were taken.
    pub fn take_request_ids(&self) -> Vec<String> {
        self.request_ids
            .lock()
            .map(|mut ids| std::mem::take(&mut *ids))
            .unwrap_or_default()
    }

    /// Remembers the chain of an OU the walk met, so that placing a straggler under it
    /// costs no call.
    pub fn know(&self, ou: &str, chain: Chain) {
        if let Ok(mut ous) = self.ous.lock() {
            ous.entry(ou.to_owned())
                .or_insert_with(|| Arc::new(OnceCell::new_with(Some(chain))));
        }
    }

    fn note(&self, id: Option<&str>) {
        if let (Some(id), Ok(mut ids)) = (id, self.request_ids.lock()) {
            ids.push(id.to_owned());
        }
    }

    /// The direct parent of an account or OU: (id, is it the root).
    pub async fn parent_of(&self, child: &str) -> Result<(String, bool), CollectError> {
        let output = self
            .client
            .list_parents()
            .child_id(child)
            .send()
            .await
            .map_err(|e| api_error("ListParents", e))?;
        self.note(request_id(&output));
        let parent = output
            .parents()
            .first()
            .ok_or_else(|| CollectError::Request {
                api: "ListParents".into(),
                detail: format!("{child} has no parent"),
            })?;
        let id = parent.id().unwrap_or_default().to_owned();
        Ok((id, parent.r#type() == Some(&ParentType::Root)))
    }

    /// The chain down to `parent`, from cache or by walking up once.
    pub fn chain<'a>(
        &'a self,
        parent: &'a str,
        is_root: bool,
    ) -> futures::future::BoxFuture<'a, Result<Chain, CollectError>> {
        Box::pin(async move {
            if is_root || parent == self.root_id {
                return Ok(Arc::new(self.top.clone()));
            }
            let cell = {
                let mut ous = self.ous.lock().map_err(|_| poisoned())?;
                ous.entry(parent.to_owned()).or_default().clone()
            };
            cell.get_or_try_init(|| async {
                let described = self
                    .client
                    .describe_organizational_unit()
                    .organizational_unit_id(parent)
                    .send()
                    .await
                    .map_err(|e| api_error("DescribeOrganizationalUnit", e))?;
                self.note(request_id(&described));
                let name = described
                    .organizational_unit()
                    .and_then(|ou| ou.name())
                    .unwrap_or(parent)
                    .to_owned();
                let (grandparent, grandparent_is_root) = self.parent_of(parent).await?;
                let mut chain = (*self.chain(&grandparent, grandparent_is_root).await?).clone();
                chain.push(Ancestor {
                    id: parent.to_owned(),
                    name,
                    kind: "organizational_unit".into(),
                });
                Ok(Arc::new(chain))
            })
            .await
            .cloned()
        })
    }
}

fn poisoned() -> CollectError {
    CollectError::Invalid("the OU cache lock was poisoned".into())
}
