//! Command line and environment. Every flag has an `INVENTORY_…` variable; `--help` lists
//! them with these doc comments.

use clap::{Parser, Subcommand, ValueEnum};
use entity::db::DatabaseArgs;
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
    Serve(ServeArgs),
    /// Apply pending migrations and exit (a Kubernetes Job before a rollout).
    Migrate {
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Print the GraphQL SDL (what `schema.graphql` holds) and exit.
    Schema,
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
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Json,
    Text,
}
