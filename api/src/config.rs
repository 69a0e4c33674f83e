//! Command line and environment. Every flag has an `INVENTORY_…` variable; `--help` lists
//! them with these doc comments.

use crate::graphql::limits;
use clap::{Parser, Subcommand};
use runtime::database::DatabaseArgs;
use runtime::telemetry::LogFormat;
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "inventory-api",
    version,
    about = "Serves the asset inventory over GraphQL (GraphiQL at GET /graphql)",
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub serve: ServeArgs,
    /// Log format: `json` for log pipelines, `text` for a terminal.
    #[arg(long, env = "INVENTORY_LOG_FORMAT", value_enum, default_value_t = LogFormat::Json, global = true)]
    pub log_format: LogFormat,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the API (the default; the same flags work without the subcommand).
    Serve(Box<ServeArgs>),
    /// Apply pending migrations and exit (a Kubernetes Job before a rollout).
    Migrate {
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Print the GraphQL SDL (what `schema.graphql` holds) and exit.
    Schema,
    /// Create a random API token and print it with its configuration line.
    NewToken {
        /// Who or what will use the token (recorded as `token:<name>` in history).
        #[arg(long)]
        name: String,
        /// `viewer` reads; `editor` also seeds and retires endpoints.
        #[arg(long, value_parser = ["viewer", "editor"])]
        role: String,
    },
}

#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// Address and port to listen on.
    #[arg(long, env = "INVENTORY_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Apply pending migrations at start. Default: on for SQLite, off for PostgreSQL (where
    /// `inventory-api migrate` runs as a Job before the rollout).
    #[arg(long, env = "INVENTORY_MIGRATE", num_args = 0..=1, default_missing_value = "true")]
    pub migrate: Option<bool>,
    /// An inventory document (see `deploy/examples/inventory.json`) to load through the
    /// write path when the database holds no assets yet.
    #[arg(long, env = "INVENTORY_SEED_FILE")]
    pub seed_file: Option<PathBuf>,
    #[command(flatten)]
    pub auth: AuthArgs,
    #[command(flatten)]
    pub limits: LimitsArgs,
    #[command(flatten)]
    pub operations: OperationsArgs,
    #[command(flatten)]
    pub backstage: BackstageArgs,
    #[command(flatten)]
    pub secrets: runtime::secrets::SecretGrantArgs,
    #[command(flatten)]
    pub connections: ConnectionArgs,
    #[command(flatten)]
    pub cache: CacheArgs,
}

/// The response cache (docs/api.md, "Response cache").
#[derive(Debug, Clone, clap::Args)]
pub struct CacheArgs {
    /// Bytes of query answers kept in memory, least recently used first out; 0 turns the
    /// cache off.
    #[arg(long, env = "INVENTORY_RESPONSE_CACHE_BYTES", default_value_t = CacheArgs::default().response_cache_bytes)]
    pub response_cache_bytes: u64,
    /// Larger answers are served but not kept.
    #[arg(long, env = "INVENTORY_RESPONSE_CACHE_ENTRY_BYTES", default_value_t = CacheArgs::default().response_cache_entry_bytes)]
    pub response_cache_entry_bytes: usize,
}

impl Default for CacheArgs {
    fn default() -> Self {
        let options = crate::cache::CacheOptions::default();
        Self {
            response_cache_bytes: options.max_bytes,
            response_cache_entry_bytes: options.max_entry_bytes,
        }
    }
}

impl CacheArgs {
    pub fn options(&self) -> crate::cache::CacheOptions {
        crate::cache::CacheOptions {
            max_bytes: self.response_cache_bytes,
            max_entry_bytes: self.response_cache_entry_bytes,
        }
    }
}

/// What one client connection may hold: how long, and how many at once.
#[derive(Debug, Clone, clap::Args)]
pub struct ConnectionArgs {
    /// Seconds a connection may take to send a request's headers (from its opening, or from
    /// the first byte of a next request); slower ones are closed.
    #[arg(
        long,
        env = "INVENTORY_HEADER_READ_TIMEOUT_SECONDS",
        default_value_t = 10
    )]
    pub header_read_timeout_seconds: u64,
    /// Seconds a connection may wait without sending anything (between requests, or in the
    /// middle of one) before it is closed.
    #[arg(long, env = "INVENTORY_IDLE_TIMEOUT_SECONDS", default_value_t = 60)]
    pub idle_timeout_seconds: u64,
    /// Seconds a whole request may take, its body included; then it is answered 408.
    #[arg(long, env = "INVENTORY_REQUEST_TIMEOUT_SECONDS", default_value_t = 30)]
    pub request_timeout_seconds: u64,
    /// Connections open at once (and so requests in flight); more are closed on arrival.
    #[arg(long, env = "INVENTORY_MAX_CONNECTIONS", default_value_t = 512)]
    pub max_connections: usize,
}

impl Default for ConnectionArgs {
    fn default() -> Self {
        let limits = crate::http::server::ConnectionLimits::default();
        Self {
            header_read_timeout_seconds: limits.header_read_timeout.as_secs(),
            idle_timeout_seconds: limits.idle_timeout.as_secs(),
            request_timeout_seconds: 30,
            max_connections: limits.max_connections,
        }
    }
}

impl ConnectionArgs {
    pub fn limits(&self) -> crate::http::server::ConnectionLimits {
        crate::http::server::ConnectionLimits {
            header_read_timeout: std::time::Duration::from_secs(self.header_read_timeout_seconds),
            idle_timeout: std::time::Duration::from_secs(self.idle_timeout_seconds),
            max_connections: self.max_connections,
        }
    }
}

/// How `backstageEntity` names, places and owns entities.
#[derive(Debug, Clone, clap::Args)]
pub struct BackstageArgs {
    /// The catalog namespace of every entity (and of the refs between them).
    #[arg(long, env = "INVENTORY_BACKSTAGE_NAMESPACE", default_value = "default")]
    pub backstage_namespace: String,
    /// The tag (endpoint label) whose value becomes `spec.owner`; matched exactly, else
    /// ignoring case.
    #[arg(long, env = "INVENTORY_BACKSTAGE_OWNER_TAG", default_value = "owner")]
    pub backstage_owner_tag: String,
    /// The tag (endpoint label) whose value becomes `spec.system`.
    #[arg(long, env = "INVENTORY_BACKSTAGE_SYSTEM_TAG", default_value = "system")]
    pub backstage_system_tag: String,
    /// `spec.owner` of assets without the owner tag (an entity ref; Backstage requires one).
    #[arg(
        long,
        env = "INVENTORY_BACKSTAGE_DEFAULT_OWNER",
        default_value = "unknown"
    )]
    pub backstage_default_owner: String,
}

impl Default for BackstageArgs {
    fn default() -> Self {
        let options = crate::backstage::Options::default();
        Self {
            backstage_namespace: options.namespace,
            backstage_owner_tag: options.owner_tag,
            backstage_system_tag: options.system_tag,
            backstage_default_owner: options.default_owner,
        }
    }
}

impl BackstageArgs {
    pub fn options(&self) -> Result<crate::backstage::Options, crate::backstage::OptionsError> {
        crate::backstage::Options {
            namespace: self.backstage_namespace.clone(),
            owner_tag: self.backstage_owner_tag.clone(),
            system_tag: self.backstage_system_tag.clone(),
            default_owner: self.backstage_default_owner.clone(),
        }
        .validated()
    }
}

/// Metrics and shutdown.
#[derive(Debug, Clone, clap::Args)]
pub struct OperationsArgs {
    /// Serve `GET /metrics` on this address instead of the API's, so a NetworkPolicy can let
    /// Prometheus reach metrics and nothing else.
    #[arg(long, env = "INVENTORY_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,
    /// Longest time the asset and collector-freshness series may be stale; they are re-read
    /// from the database at most this often, whatever the scrape rate.
    #[arg(long, env = "INVENTORY_METRICS_REFRESH_SECONDS", default_value_t = 30)]
    pub metrics_refresh_seconds: u64,
    /// After SIGTERM, how long `/readyz` reports "shutting down" while requests are still
    /// accepted, so load balancers take the instance out before its listener closes.
    #[arg(long, env = "INVENTORY_SHUTDOWN_DRAIN_SECONDS", default_value_t = 5)]
    pub shutdown_drain_seconds: u64,
    /// Once the listener is closed, how long in-flight requests may take to finish before
    /// they are cut off.
    #[arg(long, env = "INVENTORY_SHUTDOWN_TIMEOUT_SECONDS", default_value_t = 20)]
    pub shutdown_timeout_seconds: u64,
    /// How long `/readyz` waits for the database before it answers 503; keep it below the
    /// readiness probe's timeout.
    #[arg(long, env = "INVENTORY_READY_TIMEOUT_MS", default_value_t = DEFAULT_READY_TIMEOUT_MS)]
    pub ready_timeout_ms: u64,
}

/// `/readyz`'s own bound, below Kubernetes' default probe timeout of one second.
pub const DEFAULT_READY_TIMEOUT_MS: u64 = 800;

impl Default for OperationsArgs {
    fn default() -> Self {
        Self {
            metrics_listen: None,
            metrics_refresh_seconds: 30,
            shutdown_drain_seconds: 5,
            shutdown_timeout_seconds: 20,
            ready_timeout_ms: DEFAULT_READY_TIMEOUT_MS,
        }
    }
}

/// Who may call the API.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct AuthArgs {
    /// Static API tokens: `name:role:sha256-hex` entries separated by commas or newlines
    /// (`inventory-api new-token` makes one). Only hashes: never put a token here.
    #[arg(long, env = "INVENTORY_API_TOKENS", hide_env_values = true)]
    pub api_tokens: Option<String>,
    /// A file with one `name:role:sha256-hex` entry per line (`#` comments allowed), e.g. a
    /// mounted Kubernetes Secret.
    #[arg(long, env = "INVENTORY_API_TOKENS_FILE")]
    pub api_tokens_file: Option<PathBuf>,
    /// Let requests without credentials read (never write). Off by default.
    #[arg(long, env = "INVENTORY_ALLOW_ANONYMOUS_READ")]
    pub allow_anonymous_read: bool,
    /// OIDC issuer (`iss`) whose JWTs are accepted; turns JWT authentication on.
    #[arg(long, env = "INVENTORY_OIDC_ISSUER", requires_all = ["oidc_audience", "oidc_jwks_url"])]
    pub oidc_issuer: Option<String>,
    /// Audience (`aud`) the JWTs must carry.
    #[arg(long, env = "INVENTORY_OIDC_AUDIENCE")]
    pub oidc_audience: Option<String>,
    /// Where the issuer publishes its signing keys (JWKS).
    #[arg(long, env = "INVENTORY_OIDC_JWKS_URL")]
    pub oidc_jwks_url: Option<url::Url>,
    /// The JWT claim holding groups or roles.
    #[arg(long, env = "INVENTORY_OIDC_ROLE_CLAIM", default_value = "groups")]
    pub oidc_role_claim: String,
    /// Claim values to roles: `group=editor,other=viewer`; the highest match wins, no match
    /// means no access.
    #[arg(
        long,
        env = "INVENTORY_OIDC_ROLE_MAP",
        default_value = "inventory-editors=editor,inventory-viewers=viewer"
    )]
    pub oidc_role_map: String,
    /// Fewest seconds between two JWKS fetches (an unknown `kid` triggers one).
    #[arg(
        long,
        env = "INVENTORY_OIDC_JWKS_MIN_REFRESH_SECONDS",
        default_value_t = 30
    )]
    pub oidc_jwks_min_refresh_seconds: u64,
}

/// What one request may cost. Each refusal is a `BAD_USER_INPUT` error that names the limit.
#[derive(Debug, Clone, clap::Args)]
pub struct LimitsArgs {
    /// Deepest query accepted (GraphiQL's introspection needs 13).
    #[arg(long, env = "INVENTORY_MAX_QUERY_DEPTH", default_value_t = limits::DEFAULT_MAX_DEPTH)]
    pub max_query_depth: usize,
    /// Highest query complexity accepted: each field counts 1, list fields times the page
    /// size asked for, and a field that runs a database statement of its own 500.
    #[arg(long, env = "INVENTORY_MAX_QUERY_COMPLEXITY", default_value_t = limits::DEFAULT_MAX_COMPLEXITY)]
    pub max_query_complexity: usize,
    /// Most aliased or repeated fields in one query, fragments expanded (each runs its
    /// resolver again without adding depth).
    #[arg(long, env = "INVENTORY_MAX_ALIASES", default_value_t = limits::DEFAULT_MAX_ALIASES)]
    pub max_aliases: usize,
    /// Most fields in one query once every fragment spread is replaced by its fragment.
    #[arg(long, env = "INVENTORY_MAX_QUERY_FIELDS", default_value_t = limits::DEFAULT_MAX_FIELDS)]
    pub max_query_fields: usize,
    /// Largest `first`/`last` of a list.
    #[arg(long, env = "INVENTORY_MAX_PAGE_SIZE", default_value_t = limits::DEFAULT_MAX_PAGE_SIZE)]
    pub max_page_size: u64,
    /// Largest request body in bytes.
    #[arg(long, env = "INVENTORY_MAX_BODY_BYTES", default_value_t = limits::DEFAULT_MAX_BODY_BYTES)]
    pub max_body_bytes: usize,
    /// Answer introspection queries (GraphiQL's docs and completion need it).
    #[arg(long, env = "INVENTORY_INTROSPECTION", default_value_t = true, action = clap::ArgAction::Set)]
    pub introspection: bool,
}

impl Default for LimitsArgs {
    fn default() -> Self {
        Self::from_limits(limits::Limits::default(), limits::DEFAULT_MAX_BODY_BYTES)
    }
}

impl LimitsArgs {
    pub fn from_limits(l: limits::Limits, max_body_bytes: usize) -> Self {
        Self {
            max_query_depth: l.max_depth,
            max_query_complexity: l.max_complexity,
            max_aliases: l.max_aliases,
            max_query_fields: l.max_fields,
            max_page_size: l.max_page_size,
            max_body_bytes,
            introspection: l.introspection,
        }
    }

    pub fn limits(&self) -> limits::Limits {
        limits::Limits {
            max_depth: self.max_query_depth,
            max_complexity: self.max_query_complexity,
            max_aliases: self.max_aliases,
            max_fields: self.max_query_fields,
            max_page_size: self.max_page_size,
            introspection: self.introspection,
        }
    }
}
