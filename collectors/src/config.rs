//! Command line of `inventory-collect`. Every flag has an `INVENTORY_…` variable.

use clap::{Parser, Subcommand};
use entity::enums::AccountStatus;
use runtime::database::DatabaseArgs;
use runtime::telemetry::LogFormat;
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "inventory-collect",
    version,
    about = "Reads one source into the asset inventory (one CronJob per source and scope)"
)]
pub struct Cli {
    #[command(subcommand)]
    pub source: SourceCommand,
    #[command(flatten)]
    pub database: DatabaseArgs,
    #[command(flatten)]
    pub secrets: runtime::secrets::SecretGrantArgs,
    /// Apply pending migrations first. Default: on for SQLite, off for PostgreSQL.
    #[arg(long, env = "INVENTORY_MIGRATE", num_args = 0..=1, default_missing_value = "true", global = true)]
    pub migrate: Option<bool>,
    /// Log format: `json` for log pipelines, `text` for a terminal.
    #[arg(long, env = "INVENTORY_LOG_FORMAT", value_enum, default_value_t = LogFormat::Json, global = true)]
    pub log_format: LogFormat,
    /// Each run (one scope) must finish within this many seconds; a run cut short is partial
    /// and removes nothing. Keep it under the CronJob's activeDeadlineSeconds.
    #[arg(
        long,
        env = "INVENTORY_RUN_DEADLINE_SECONDS",
        default_value_t = 270,
        global = true
    )]
    pub deadline_seconds: u64,
    /// A running run logs a progress line (pages, assets seen) this often, in seconds.
    #[arg(
        long,
        env = "INVENTORY_PROGRESS_SECONDS",
        default_value_t = 30,
        value_parser = clap::value_parser!(u64).range(1..),
        global = true
    )]
    pub progress_seconds: u64,
    /// Leave out accounts at or below this OU, folder or management group id (repeatable).
    #[arg(
        long,
        env = "INVENTORY_EXCLUDE_SUBTREE",
        value_delimiter = ',',
        global = true
    )]
    pub exclude_subtree: Vec<String>,
    /// Leave out accounts in this status: active, suspended, pending_deletion, deleted,
    /// unknown (repeatable).
    #[arg(long, env = "INVENTORY_EXCLUDE_STATUS", value_delimiter = ',', value_parser = parse_status, global = true)]
    pub exclude_status: Vec<AccountStatus>,
}

fn parse_auth_mode(text: &str) -> Result<entity::enums::AuthMode, String> {
    serde_json::from_value(serde_json::Value::String(text.to_ascii_lowercase()))
        .map_err(|_| format!("{text:?} is not one of none, token, basic, oauth"))
}

fn parse_status(text: &str) -> Result<AccountStatus, String> {
    serde_json::from_value(serde_json::Value::String(text.to_ascii_lowercase())).map_err(|_| {
        format!("{text:?} is not one of active, suspended, pending_deletion, deleted, unknown")
    })
}

#[derive(Debug, Subcommand)]
pub enum SourceCommand {
    /// AWS Organizations: every account of the organization the credentials reach.
    Aws {
        /// Read the organization through this role (repeatable: one organization each).
        /// Without it, the SDK's default credentials read their own organization.
        #[arg(long, env = "INVENTORY_AWS_ROLE_ARN", value_delimiter = ',')]
        role_arn: Vec<String>,
        /// External id required by the audit role's trust policy.
        #[arg(long, env = "INVENTORY_AWS_EXTERNAL_ID", hide_env_values = true)]
        external_id: Option<String>,
        /// Attempts per request, the first included (throttling and 5xx are retried with
        /// capped exponential backoff and jitter).
        #[arg(long, env = "INVENTORY_AWS_MAX_ATTEMPTS", default_value_t = 5)]
        max_attempts: u32,
        /// Parents walked, and accounts' tags read, concurrently.
        #[arg(long, env = "INVENTORY_AWS_CONCURRENCY", default_value_t = 8)]
        concurrency: usize,
        /// Timeout of one request attempt, in seconds.
        #[arg(
            long,
            env = "INVENTORY_AWS_REQUEST_TIMEOUT_SECONDS",
            default_value_t = 20
        )]
        request_timeout_seconds: u64,
    },
    /// GCP: projects from Cloud Resource Manager v3.
    Gcp {
        /// `organizations/N` or `folders/N` (the subtree is walked), or `projects:search`
        /// (every project the credential can see). Repeatable: one run per scope.
        #[arg(
            long,
            env = "INVENTORY_GCP_SCOPE",
            value_delimiter = ',',
            required = true
        )]
        scope: Vec<String>,
        /// Base URL of the Resource Manager API.
        #[arg(long, env = "INVENTORY_GCP_CRM_URL", default_value = collectors_gcp_default())]
        base_url: url::Url,
        /// Parents (the scope, folders) listed at once.
        #[arg(long, env = "INVENTORY_GCP_CONCURRENCY", default_value_t = 8)]
        concurrency: usize,
        #[command(flatten)]
        http: HttpArgs,
    },
    /// Azure: subscriptions from Azure Resource Manager, one run per tenant.
    Azure {
        /// Tenant (directory) ids, one run each; the same app registration must be consented
        /// in every tenant.
        #[arg(
            long = "tenant",
            env = "AZURE_TENANT_ID",
            value_delimiter = ',',
            required = true
        )]
        tenants: Vec<String>,
        /// Client id of the app registration or user-assigned identity.
        #[arg(long, env = "AZURE_CLIENT_ID")]
        client_id: Option<String>,
        /// Client secret, for the client-secret credential (prefer workload identity).
        #[arg(long, env = "AZURE_CLIENT_SECRET", hide_env_values = true)]
        client_secret: Option<secrecy::SecretString>,
        /// Projected service-account token, for workload identity.
        #[arg(long, env = "AZURE_FEDERATED_TOKEN_FILE")]
        federated_token_file: Option<PathBuf>,
        /// Entra ID authority (https).
        #[arg(long, env = "AZURE_AUTHORITY_HOST")]
        authority_host: Option<String>,
        /// The credentials to try, in order; the first configured one that yields a token
        /// wins. The default follows `DefaultAzureCredential`: the environment's client
        /// secret, then workload identity, then managed identity (which, always "configured",
        /// would otherwise wait on the metadata address before a secret given on purpose).
        #[arg(
            long = "credential",
            env = "INVENTORY_AZURE_CREDENTIALS",
            value_enum,
            value_delimiter = ',',
            default_value = "client-secret,workload-identity,managed-identity"
        )]
        credentials: Vec<crate::azure::CredentialKind>,
        /// Base URL of Azure Resource Manager.
        #[arg(long, env = "INVENTORY_AZURE_ARM_URL", default_value = crate::azure::DEFAULT_BASE_URL)]
        base_url: url::Url,
        #[command(flatten)]
        http: HttpArgs,
    },
    /// Prometheus: checks every stored Prometheus endpoint, plus the ones given here.
    Prometheus {
        /// An endpoint to check (repeatable); recorded as `prometheus-<host>-<port>`.
        #[arg(long = "url", env = "PROM_URL", value_delimiter = ',')]
        urls: Vec<url::Url>,
        /// How to authenticate to the `--url` endpoints: none, token or basic.
        #[arg(long, env = "INVENTORY_PROMETHEUS_AUTH_MODE", default_value = "none", value_parser = parse_auth_mode)]
        auth_mode: entity::enums::AuthMode,
        /// Where the `--url` endpoints' secret is: `env:NAME` or `file:/path` (basic auth:
        /// `user:password`).
        #[arg(long, env = "INVENTORY_PROMETHEUS_SECRET_REF")]
        secret_ref: Option<String>,
        #[command(flatten)]
        probe: ProbeArgs,
    },
    /// Grafana: checks every stored Grafana endpoint, plus the ones given here, and records
    /// the Prometheus data sources it reveals.
    Grafana {
        /// A Grafana to check (repeatable); recorded as `grafana-<host>-<port>`.
        #[arg(long = "url", env = "GRAFANA_URL", value_delimiter = ',')]
        urls: Vec<url::Url>,
        /// How to authenticate to the `--url` Grafanas: none, token or basic. With
        /// `GRAFANA_TOKEN` set and no secret reference, a token from that variable.
        #[arg(long, env = "INVENTORY_GRAFANA_AUTH_MODE", value_parser = parse_auth_mode)]
        auth_mode: Option<entity::enums::AuthMode>,
        /// Where the `--url` Grafanas' secret is: `env:NAME` or `file:/path`.
        #[arg(long, env = "INVENTORY_GRAFANA_SECRET_REF")]
        secret_ref: Option<String>,
        #[command(flatten)]
        probe: ProbeArgs,
    },
    /// An inventory document (YAML or JSON, the format of deploy/examples/inventory.json).
    File {
        /// The document.
        path: PathBuf,
        /// The scope its records belong to (default `file:<file name>`).
        #[arg(long, env = "INVENTORY_FILE_SCOPE")]
        scope: Option<String>,
    },
}

fn collectors_gcp_default() -> &'static str {
    crate::gcp::DEFAULT_BASE_URL
}

/// Retries and timeouts of the REST sources.
#[derive(Debug, Clone, clap::Args)]
pub struct HttpArgs {
    /// Attempts per request, the first included (429, 5xx, timeouts, dropped connections and
    /// non-JSON bodies are retried with capped exponential backoff and jitter, honouring
    /// Retry-After).
    #[arg(long, env = "INVENTORY_HTTP_MAX_ATTEMPTS", default_value_t = 5)]
    pub max_attempts: u32,
    /// Timeout of one request (and of getting a token), in seconds.
    #[arg(long, env = "INVENTORY_HTTP_TIMEOUT_SECONDS", default_value_t = 20)]
    pub timeout_seconds: u64,
    /// Items asked for per page.
    #[arg(long, env = "INVENTORY_PAGE_SIZE", default_value_t = 500)]
    pub page_size: u32,
    /// Requests per second at most to one scope (organization, folder or tenant), retries
    /// included; `0` lifts the limit. Throttling answers slow the run down further.
    #[arg(long, env = "INVENTORY_MAX_REQUESTS_PER_SECOND", default_value_t = 20)]
    pub max_requests_per_second: u32,
}

impl HttpArgs {
    pub fn retry(&self) -> crate::http::RetryPolicy {
        crate::http::RetryPolicy {
            rate: std::num::NonZeroU32::new(self.max_requests_per_second),
            max_attempts: self.max_attempts,
            min_delay: std::time::Duration::from_millis(500),
            max_delay: std::time::Duration::from_secs(30),
            timeout: std::time::Duration::from_secs(self.timeout_seconds),
        }
    }
}

/// How endpoints are probed.
#[derive(Debug, Clone, clap::Args)]
pub struct ProbeArgs {
    /// Open a private, loopback or other non-public range to probing (repeatable). Link-local
    /// and metadata addresses stay closed unless named here too.
    #[arg(
        long = "allow-cidr",
        env = "INVENTORY_ALLOW_CIDR",
        value_delimiter = ','
    )]
    pub allow_cidr: Vec<ipnet::IpNet>,
    /// Endpoints checked at once.
    #[arg(long, env = "INVENTORY_PROBE_CONCURRENCY", default_value_t = 16)]
    pub concurrency: usize,
    /// Timeout of one request to an endpoint, in seconds.
    #[arg(long, env = "INVENTORY_PROBE_TIMEOUT_SECONDS", default_value_t = 10)]
    pub timeout_seconds: u64,
    /// Extra CA certificates (PEM) to trust for endpoints behind an internal CA.
    #[arg(long, env = "INVENTORY_CA_FILE")]
    pub ca_file: Option<PathBuf>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::azure::CredentialKind;

    #[test]
    fn the_azure_chain_tries_a_configured_secret_before_the_metadata_address() {
        let cli =
            Cli::try_parse_from(["inventory-collect", "azure", "--tenant", "t"]).expect("parses");
        let SourceCommand::Azure { credentials, .. } = cli.source else {
            panic!("not the azure source");
        };
        assert_eq!(
            credentials,
            [
                CredentialKind::ClientSecret,
                CredentialKind::WorkloadIdentity,
                CredentialKind::ManagedIdentity
            ]
        );
    }
}
