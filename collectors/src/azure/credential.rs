//! Tokens for Azure Resource Manager. azure_identity 1.0 has no `DefaultAzureCredential`, so
//! the chain is ours, in its order: a client secret from the environment, then workload
//! identity, then managed identity (configurable); the first credential that is configured
//! and yields a token wins.
//! Every token call has our own deadline: with no route to the authority it would hang.

use crate::source::CollectError;
use azure_core::credentials::{Secret, TokenCredential};
use azure_core::http::{ClientOptions, Transport};
use azure_identity::{
    ClientAssertionCredentialOptions, ClientSecretCredential, ClientSecretCredentialOptions,
    ManagedIdentityCredential, ManagedIdentityCredentialOptions, UserAssignedId,
    WorkloadIdentityCredential, WorkloadIdentityCredentialOptions,
};
use secrecy::{ExposeSecret, SecretString};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Read-only access to ARM.
pub const ARM_SCOPE: &str = "https://management.azure.com/.default";

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CredentialKind {
    /// `AZURE_FEDERATED_TOKEN_FILE` (AKS workload identity).
    WorkloadIdentity,
    /// The instance's or pod's managed identity.
    ManagedIdentity,
    /// `AZURE_CLIENT_SECRET` of a service principal.
    ClientSecret,
}

/// How to get tokens for one tenant. Values usually come from the conventional variables
/// (`AZURE_TENANT_ID`, `AZURE_CLIENT_ID`, `AZURE_CLIENT_SECRET`,
/// `AZURE_FEDERATED_TOKEN_FILE`, `AZURE_AUTHORITY_HOST`).
#[derive(Clone, Debug)]
pub struct CredentialConfig {
    pub tenant_id: String,
    pub client_id: Option<String>,
    pub client_secret: Option<SecretString>,
    pub federated_token_file: Option<PathBuf>,
    /// Entra ID authority, e.g. `https://login.microsoftonline.com` (must be https).
    pub authority_host: Option<String>,
    pub order: Vec<CredentialKind>,
    /// The HTTP client the credentials use (tests give one that trusts their CA).
    pub http: Option<reqwest::Client>,
    pub timeout: Duration,
}

pub struct Tokens {
    credential: Arc<dyn TokenCredential>,
    timeout: Duration,
}

fn token_error(detail: impl std::fmt::Display) -> CollectError {
    CollectError::Request {
        api: "entra id token".into(),
        detail: detail
            .to_string()
            .lines()
            .next()
            .unwrap_or_default()
            .chars()
            .take(300)
            .collect(),
    }
}

impl CredentialConfig {
    fn client_options(&self) -> ClientOptions {
        let mut options = ClientOptions::default();
        if let Some(http) = &self.http {
            options.transport = Some(Transport::new(Arc::new(http.clone())));
        }
        if let Some(host) = &self.authority_host {
            let mut custom = azure_core::cloud::CustomConfiguration::default();
            custom.authority_host = host.clone();
            options.cloud = Some(Arc::new(custom.into()));
        }
        options
    }

    fn build(&self, kind: CredentialKind) -> Option<Result<Arc<dyn TokenCredential>, String>> {
        let built: azure_core::Result<Arc<dyn TokenCredential>> = match kind {
            CredentialKind::WorkloadIdentity => {
                let (file, client) = (self.federated_token_file.clone()?, self.client_id.clone()?);
                WorkloadIdentityCredential::new(Some(WorkloadIdentityCredentialOptions {
                    credential_options: ClientAssertionCredentialOptions {
                        client_options: self.client_options(),
                    },
                    client_id: Some(client),
                    tenant_id: Some(self.tenant_id.clone()),
                    token_file_path: Some(file),
                }))
                .map(|c| c as Arc<dyn TokenCredential>)
            }
            CredentialKind::ClientSecret => {
                let (secret, client) = (self.client_secret.clone()?, self.client_id.clone()?);
                ClientSecretCredential::new(
                    &self.tenant_id,
                    client,
                    Secret::new(secret.expose_secret().to_owned()),
                    Some(ClientSecretCredentialOptions {
                        client_options: self.client_options(),
                    }),
                )
                .map(|c| c as Arc<dyn TokenCredential>)
            }
            CredentialKind::ManagedIdentity => {
                ManagedIdentityCredential::new(Some(ManagedIdentityCredentialOptions {
                    user_assigned_id: self.client_id.clone().map(UserAssignedId::ClientId),
                    client_options: self.client_options(),
                }))
                .map(|c| c as Arc<dyn TokenCredential>)
            }
        };
        Some(built.map_err(|e| e.to_string()))
    }

    /// The first credential of the chain that is configured and yields a token.
    pub async fn tokens(&self) -> Result<Tokens, CollectError> {
        let mut refusals = Vec::new();
        for kind in &self.order {
            let credential = match self.build(*kind) {
                None => continue,
                Some(Err(reason)) => {
                    refusals.push(format!("{kind:?}: {reason}"));
                    continue;
                }
                Some(Ok(credential)) => credential,
            };
            let tokens = Tokens {
                credential,
                timeout: self.timeout,
            };
            match tokens.get().await {
                Ok(_) => {
                    tracing::info!(credential = ?kind, tenant = %self.tenant_id, "using Azure credential");
                    return Ok(tokens);
                }
                Err(err) => refusals.push(format!("{kind:?}: {err}")),
            }
        }
        Err(token_error(if refusals.is_empty() {
            "no credential of the chain is configured".to_owned()
        } else {
            refusals.join("; ")
        }))
    }
}

impl Tokens {
    pub async fn get(&self) -> Result<String, CollectError> {
        let token =
            tokio::time::timeout(self.timeout, self.credential.get_token(&[ARM_SCOPE], None))
                .await
                .map_err(|_| token_error("the token endpoint did not answer in time"))?
                .map_err(token_error)?;
        Ok(token.token.secret().to_owned())
    }
}
