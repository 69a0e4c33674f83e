//! Start-up: connect, migrate when asked, load first-run data, bind, serve until a signal.

use crate::auth::{Authenticator, Oidc, OidcConfig, RoleMap, StaticTokens};
use crate::config::{AuthArgs, ServeArgs};
use crate::http::{self, Settings};
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
    db: DatabaseConnection,
    settings: Settings,
}

impl Application {
    pub async fn build(args: &ServeArgs) -> anyhow::Result<Self> {
        let settings = Settings {
            auth: Arc::new(authenticator(&args.auth)?),
            limits: args.limits.limits(),
            max_body_bytes: args.limits.max_body_bytes,
        };
        if args.auth.allow_anonymous_read && !args.listen.ip().is_loopback() {
            tracing::warn!(listen = %args.listen, "anonymous reads are on for a non-loopback address");
        }
        let options = args.database.options();
        let backend = Backend::of(&options.url);
        let db = connect(&options)
            .await
            .context("opening the database (check INVENTORY_DATABASE_URL)")?;
        let migrate = args.migrate.unwrap_or(backend == Backend::Sqlite);
        if migrate {
            migration::up(&db).await.context("applying migrations")?;
        }
        if let Some(path) = &args.seed_file {
            seed_if_empty(&db, path).await?;
        }
        let listener = TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("binding {}", args.listen))?;
        tracing::info!(
            listen = %listener.local_addr()?,
            backend = ?backend,
            migrated = migrate,
            "asset-inventory API ready; GraphiQL at GET /graphql"
        );
        Ok(Self {
            listener,
            db,
            settings,
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until SIGINT or SIGTERM, then lets in-flight requests finish.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        axum::serve(self.listener, http::router(self.db.clone(), self.settings))
            .with_graceful_shutdown(shutdown_signal())
            .await
            .context("serving HTTP")?;
        self.db.close().await.ok();
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

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %err, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(err) => {
                tracing::error!(error = %err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
