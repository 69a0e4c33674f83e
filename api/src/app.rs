//! Start-up: connect, migrate when asked, load first-run data, bind, serve until a signal,
//! then drain: readiness off, listener closed after a grace period, in-flight requests given
//! a bounded time to finish.

use crate::auth::{Authenticator, Oidc, OidcConfig, RoleMap, StaticTokens};
use crate::config::{AuthArgs, OperationsArgs, ServeArgs};
use crate::http::{self, Draining, Routers, Settings};
use crate::metrics::MetricsOptions;
use anyhow::Context;
use entity::db::{Backend, connect};
use entity::document::{InventoryDocument, import};
use sea_orm::{DatabaseConnection, EntityTrait, PaginatorTrait};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

/// A bound, ready-to-serve API.
pub struct Application {
    listener: TcpListener,
    metrics_listener: Option<TcpListener>,
    db: DatabaseConnection,
    settings: Settings,
    operations: OperationsArgs,
    connections: http::server::ConnectionLimits,
}

impl Application {
    pub async fn build(args: &ServeArgs) -> anyhow::Result<Self> {
        let settings = Settings {
            auth: Arc::new(authenticator(&args.auth)?),
            limits: args.limits.limits(),
            max_body_bytes: args.limits.max_body_bytes,
            metrics: MetricsOptions {
                refresh: Duration::from_secs(args.operations.metrics_refresh_seconds),
                ..MetricsOptions::default()
            },
            draining: Draining::default(),
            ready_timeout: Duration::from_millis(args.operations.ready_timeout_ms),
            request_timeout: Duration::from_secs(args.connections.request_timeout_seconds),
            backstage: args.backstage.options()?,
            secret_grants: Arc::new(args.secrets.grants()),
            cache: args.cache.options(),
        };
        if args.auth.allow_anonymous_read && !args.listen.ip().is_loopback() {
            tracing::warn!(listen = %args.listen, "anonymous reads are on for a non-loopback address");
        }
        let options = args.database.options();
        let backend = options.backend();
        let db = connect(&options)
            .await
            .context("opening the database (check INVENTORY_DATABASE_URL)")?;
        let migrate = args.migrate.unwrap_or(backend == Backend::Sqlite);
        if migrate {
            runtime::database::migrate(&db, &options)
                .await
                .context("applying migrations")?;
        }
        if let Some(path) = &args.seed_file {
            seed_if_empty(&db, path).await?;
        }
        let listener = TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("binding {}", args.listen))?;
        let metrics_listener = match args.operations.metrics_listen {
            Some(address) => Some(
                TcpListener::bind(address)
                    .await
                    .with_context(|| format!("binding the metrics address {address}"))?,
            ),
            None => None,
        };
        tracing::info!(
            listen = %listener.local_addr()?,
            metrics_listen = ?metrics_listener.as_ref().and_then(|l| l.local_addr().ok()),
            backend = ?backend,
            migrated = migrate,
            "asset-inventory API ready; GraphiQL at GET /graphql"
        );
        Ok(Self {
            listener,
            metrics_listener,
            db,
            settings,
            operations: args.operations.clone(),
            connections: args.connections.limits(),
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Where `/metrics` is served when it has its own address.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_listener
            .as_ref()
            .and_then(|l| l.local_addr().ok())
    }

    /// Serves until SIGINT or SIGTERM. Then `/readyz` fails for the drain period while
    /// requests are still served, the listeners close, and in-flight requests get the
    /// shutdown timeout to finish before they are cut off.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let draining = self.settings.draining.clone();
        let Routers { api, metrics } =
            http::routers(self.db.clone(), self.settings).context("registering metrics")?;
        let drain = Duration::from_secs(self.operations.shutdown_drain_seconds);
        let timeout = Duration::from_secs(self.operations.shutdown_timeout_seconds);

        let (stop, stopped) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            runtime::signals::stop_requested().await;
            draining.start();
            tracing::info!(
                drain_seconds = drain.as_secs(),
                "draining: readiness is off"
            );
            tokio::time::sleep(drain).await;
            tracing::info!("closing listeners; finishing in-flight requests");
            let _ = stop.send(true);
        });
        let closed = |mut stopped: tokio::sync::watch::Receiver<bool>| async move {
            // An error means the sender is gone, which only happens once it has sent.
            let _ = stopped.wait_for(|stop| *stop).await;
        };

        let limits = self.connections;
        let (api, metrics_server) = match self.metrics_listener {
            Some(listener) => (
                api,
                Some(http::server::serve(
                    listener,
                    metrics,
                    limits,
                    closed(stopped.clone()),
                )),
            ),
            None => (api.merge(metrics), None),
        };
        let api_server = http::server::serve(self.listener, api, limits, closed(stopped.clone()));
        let servers = async {
            match metrics_server {
                Some(metrics_server) => {
                    tokio::join!(api_server, metrics_server);
                }
                None => api_server.await,
            }
        };
        let cut_off = async {
            closed(stopped).await;
            tokio::time::sleep(timeout).await;
        };
        tokio::select! {
            () = servers => {}
            () = cut_off => tracing::warn!(
                timeout_seconds = timeout.as_secs(),
                "in-flight requests did not finish in time; cutting them off"
            ),
        }
        self.db.close().await.ok();
        tracing::info!("stopped");
        Ok(())
    }
}

/// Reads the credential configuration; a malformed entry stops start-up (without echoing it:
/// someone may have pasted a token where its hash belongs).
pub fn authenticator(args: &AuthArgs) -> anyhow::Result<Authenticator> {
    let mut entries = args.api_tokens.clone().unwrap_or_default();
    if let Some(path) = &args.api_tokens_file {
        let file = std::fs::read_to_string(path)
            .with_context(|| format!("reading the API token file {}", path.display()))?;
        entries.push('\n');
        entries.push_str(&file);
    }
    let tokens = StaticTokens::parse(&entries)
        .context("parsing API tokens (INVENTORY_API_TOKENS, INVENTORY_API_TOKENS_FILE)")?;
    let oidc = match (&args.oidc_issuer, &args.oidc_audience, &args.oidc_jwks_url) {
        (Some(issuer), Some(audience), Some(jwks_url)) => Some(
            Oidc::new(OidcConfig {
                issuer: issuer.clone(),
                audience: audience.clone(),
                jwks_url: jwks_url.clone(),
                role_claim: args.oidc_role_claim.clone(),
                role_map: RoleMap::parse(&args.oidc_role_map)
                    .map_err(anyhow::Error::msg)
                    .context("parsing INVENTORY_OIDC_ROLE_MAP")?,
                min_refresh: Duration::from_secs(args.oidc_jwks_min_refresh_seconds),
                max_age: Duration::from_secs(3600),
                timeout: Duration::from_secs(5),
                leeway: Duration::from_secs(30),
            })
            .context("building the JWKS client")?,
        ),
        (None, None, None) => None,
        _ => anyhow::bail!(
            "OIDC needs all of INVENTORY_OIDC_ISSUER, INVENTORY_OIDC_AUDIENCE and INVENTORY_OIDC_JWKS_URL"
        ),
    };
    tracing::info!(
        api_tokens = tokens.len(),
        oidc = oidc.is_some(),
        anonymous_read = args.allow_anonymous_read,
        "authentication configured"
    );
    if tokens.is_empty() && oidc.is_none() && !args.allow_anonymous_read {
        tracing::warn!("no API token, no OIDC and no anonymous reads: every query will be refused");
    }
    Ok(Authenticator::new(tokens, oidc, args.allow_anonymous_read))
}

/// Loads the document when no account and no endpoint exists yet, so a first run shows
/// something and a later restart never duplicates or resurrects anything.
async fn seed_if_empty(db: &DatabaseConnection, path: &Path) -> anyhow::Result<()> {
    let accounts = entity::cloud_account::Entity::find().count(db).await?;
    let endpoints = entity::monitoring_endpoint::Entity::find()
        .count(db)
        .await?;
    if accounts + endpoints > 0 {
        tracing::info!(path = %path.display(), "database holds assets; seed file not loaded");
        return Ok(());
    }
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading seed file {}", path.display()))?;
    let label = path.display().to_string();
    let doc = InventoryDocument::parse(&text, &label)
        .with_context(|| format!("parsing seed file {label}"))?;
    let summary = import(db, doc, &format!("file:{label}"), env!("CARGO_PKG_VERSION"))
        .await
        .with_context(|| format!("loading seed file {label}"))?;
    tracing::info!(
        path = %label,
        run = summary.run.id,
        accounts = summary.accounts.created,
        endpoints = summary.endpoints.created,
        "loaded seed file"
    );
    Ok(())
}
