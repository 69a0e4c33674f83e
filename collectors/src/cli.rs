//! `inventory-collect <source>`: the sources wired from their flags, each run once per
//! scope, and the exit code. `main.rs` only parses and starts logging.

use crate::aws::{AwsOptions, AwsSource};
use crate::azure::{AzureOptions, AzureSource, CredentialConfig};
use crate::config::ProbeArgs;
use crate::config::{Cli, SourceCommand};
use crate::file::FileSource;
use crate::filter::Exclusions;
use crate::gcp::{GcpOptions, GcpSource};
use crate::grafana::GrafanaSource;
use crate::guard::AddressPolicy;
use crate::probe::{ProbeOptions, Target};
use crate::prometheus::PrometheusSource;
use crate::runner::{RunOptions, StopSignal};
use crate::source::Source;
use anyhow::Context;
use entity::db::{Backend, connect};
use entity::enums::RunStatus;
use entity::enums::{AuthMode, EndpointKind};
use entity::secret_ref::{Grant, SecretGrants, SecretRef};
use runtime::secrets::SecretGrantArgs;
use std::process::ExitCode;
use std::time::Duration;

/// Runs the source `cli` names once per scope it lists and tells whether every run
/// succeeded (or was skipped): the process's exit code.
pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let options = cli.database.options();
    let db = connect(&options)
        .await
        .context("opening the database (check INVENTORY_DATABASE_URL)")?;
    if cli.migrate.unwrap_or(options.backend() == Backend::Sqlite) {
        runtime::database::migrate(&db, &options)
            .await
            .context("applying migrations")?;
    }
    let run_options = RunOptions {
        deadline: Duration::from_secs(cli.deadline_seconds),
        exclusions: Exclusions {
            subtrees: cli.exclude_subtree,
            statuses: cli.exclude_status,
        },
        traceparent: std::env::var("TRACEPARENT").ok(),
        stop: StopSignal::default(),
        progress_every: Duration::from_secs(cli.progress_seconds),
    };
    let stop = run_options.stop.clone();
    tokio::spawn(async move { stop.stop(runtime::signals::stop_requested().await) });
    let mut statuses = Vec::new();
    match cli.source {
        SourceCommand::Aws {
            role_arn,
            external_id,
            max_attempts,
            concurrency,
            request_timeout_seconds,
        } => {
            // No role: the ambient credentials' own organization, once.
            let roles: Vec<Option<String>> = if role_arn.is_empty() {
                vec![None]
            } else {
                role_arn.into_iter().map(Some).collect()
            };
            for role_arn in roles {
                let mut source = AwsSource::new(AwsOptions {
                    role_arn,
                    external_id: external_id.clone(),
                    max_attempts,
                    concurrency,
                    request_timeout: Duration::from_secs(request_timeout_seconds),
                    endpoint_url: None,
                    credentials: None,
                });
                run_one(&db, &mut source, &run_options, &mut statuses).await?;
            }
        }
        SourceCommand::Gcp {
            scope,
            base_url,
            concurrency,
            http,
        } => {
            for scope in scope {
                let mut source = GcpSource::new(GcpOptions {
                    base_url: base_url.clone(),
                    scope,
                    credentials_file: None,
                    retry: http.retry(),
                    page_size: http.page_size,
                    concurrency,
                });
                run_one(&db, &mut source, &run_options, &mut statuses).await?;
            }
        }
        SourceCommand::Azure {
            tenants,
            client_id,
            client_secret,
            federated_token_file,
            authority_host,
            credentials,
            base_url,
            http,
        } => {
            for tenant_id in tenants {
                let mut source = AzureSource::new(AzureOptions {
                    base_url: base_url.clone(),
                    credentials: CredentialConfig {
                        tenant_id,
                        client_id: client_id.clone(),
                        client_secret: client_secret.clone(),
                        federated_token_file: federated_token_file.clone(),
                        authority_host: authority_host.clone(),
                        order: credentials.clone(),
                        http: None,
                        timeout: Duration::from_secs(http.timeout_seconds),
                    },
                    retry: http.retry(),
                });
                run_one(&db, &mut source, &run_options, &mut statuses).await?;
            }
        }
        SourceCommand::Prometheus {
            urls,
            auth_mode,
            secret_ref,
            probe,
        } => {
            let flags = UrlFlags::new(&urls, auth_mode, secret_ref.as_deref());
            let options = flags
                .probe(
                    &db,
                    EndpointKind::Prometheus,
                    crate::prometheus::id_for,
                    probe,
                    &cli.secrets,
                )
                .await?;
            let mut source = PrometheusSource::new(options);
            run_one(&db, &mut source, &run_options, &mut statuses).await?;
        }
        SourceCommand::Grafana {
            urls,
            auth_mode,
            secret_ref,
            probe,
        } => {
            // The starter kit's GRAFANA_TOKEN keeps working.
            let (auth_mode, secret_ref) = match (auth_mode, secret_ref) {
                (None, None) if std::env::var_os("GRAFANA_TOKEN").is_some() => {
                    (AuthMode::Token, Some("env:GRAFANA_TOKEN".to_owned()))
                }
                (mode, reference) => (mode.unwrap_or(AuthMode::None), reference),
            };
            let flags = UrlFlags::new(&urls, auth_mode, secret_ref.as_deref());
            let options = flags
                .probe(
                    &db,
                    EndpointKind::Grafana,
                    crate::grafana::grafana_id,
                    probe,
                    &cli.secrets,
                )
                .await?;
            let mut source = GrafanaSource::new(options);
            run_one(&db, &mut source, &run_options, &mut statuses).await?;
        }
        SourceCommand::File { path, scope } => {
            let mut source = FileSource::new(path, scope);
            run_one(&db, &mut source, &run_options, &mut statuses).await?;
        }
    }
    db.close().await.ok();
    let ok = statuses
        .iter()
        .all(|s| matches!(s, RunStatus::Succeeded | RunStatus::Skipped));
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Runs `source` unless a stop was asked for (then the run is not started and counts as
/// failed), and records its status.
async fn run_one<S: Source>(
    db: &sea_orm::DatabaseConnection,
    source: &mut S,
    options: &RunOptions,
    statuses: &mut Vec<RunStatus>,
) -> anyhow::Result<()> {
    if let Some(reason) = options.stop.reason() {
        tracing::warn!(collector = source.collector(), reason, "run not started");
        statuses.push(RunStatus::Failed);
        return Ok(());
    }
    statuses.push(crate::runner::run(db, source, options).await?.status);
    Ok(())
}

/// The endpoints a probe's `--url` flags name, with the auth they are given.
struct UrlFlags<'a> {
    urls: &'a [url::Url],
    auth_mode: AuthMode,
    secret_ref: Option<&'a str>,
}

impl<'a> UrlFlags<'a> {
    fn new(urls: &'a [url::Url], auth_mode: AuthMode, secret_ref: Option<&'a str>) -> Self {
        Self {
            urls,
            auth_mode,
            secret_ref,
        }
    }

    /// What a probe of `kind` checks (every stored endpoint and these URLs), how, and with
    /// which grants.
    async fn probe(
        &self,
        db: &sea_orm::DatabaseConnection,
        kind: EndpointKind,
        id_for: fn(&url::Url) -> String,
        probe: ProbeArgs,
        secrets: &SecretGrantArgs,
    ) -> anyhow::Result<ProbeOptions> {
        let targets = self.targets(db, kind, id_for).await?;
        probe_options(targets, probe, self.grants(secrets)?)
    }

    /// Every stored endpoint of `kind`, plus each URL not among them (its id by `id_for`).
    async fn targets(
        &self,
        db: &sea_orm::DatabaseConnection,
        kind: EndpointKind,
        id_for: fn(&url::Url) -> String,
    ) -> anyhow::Result<Vec<Target>> {
        let mut targets = stored_targets(db, kind).await?;
        for url in self.urls {
            let id = id_for(url);
            if !targets.iter().any(|t| t.id == id) {
                targets.push(Target {
                    id,
                    url: url.clone(),
                    auth_mode: self.auth_mode,
                    secret_ref: self.secret_ref.map(str::to_owned),
                });
            }
        }
        Ok(targets)
    }

    /// The operator's grants, plus the one made by configuring `--secret-ref` with `--url`:
    /// that reference, for those URLs' origins.
    fn grants(&self, args: &SecretGrantArgs) -> anyhow::Result<SecretGrants> {
        let Some(reference) = self.secret_ref else {
            return Ok(args.grants());
        };
        let reference = SecretRef::parse(reference)
            .map_err(|e| anyhow::anyhow!("the secret reference of --url {e}"))?;
        Ok(args
            .grants()
            .with(self.urls.iter().map(|url| Grant::exact(&reference, url))))
    }
}

fn probe_options(
    targets: Vec<Target>,
    probe: ProbeArgs,
    grants: SecretGrants,
) -> anyhow::Result<ProbeOptions> {
    let ca_pem = match &probe.ca_file {
        Some(path) => {
            Some(std::fs::read(path).with_context(|| format!("reading {}", path.display()))?)
        }
        None => None,
    };
    Ok(ProbeOptions {
        targets,
        policy: AddressPolicy {
            allowed: probe.allow_cidr,
        },
        timeout: Duration::from_secs(probe.timeout_seconds),
        concurrency: probe.concurrency,
        ca_pem,
        grants: std::sync::Arc::new(grants),
    })
}

/// Every endpoint of `kind` stored and not removed (seeded by people or discovered).
async fn stored_targets(
    db: &sea_orm::DatabaseConnection,
    kind: EndpointKind,
) -> anyhow::Result<Vec<Target>> {
    let rows = entity::query::present_endpoints(db, kind)
        .await
        .context("reading the stored endpoints")?;
    Ok(rows
        .into_iter()
        .filter_map(|row| {
            let url = url::Url::parse(&row.url).ok()?;
            Some(Target {
                id: row.id,
                url,
                auth_mode: row.auth_mode,
                secret_ref: row.secret_ref,
            })
        })
        .collect())
}
