//! `inventory-api`: parse flags, start logging, hand over to the library.

use anyhow::Context;
use api::config::{Cli, Command};
use clap::Parser;
use std::io::Write;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    api::telemetry::init(cli.log_format);
    match cli.command.unwrap_or(Command::Serve(cli.serve)) {
        Command::Serve(args) => {
            api::app::Application::build(&args)
                .await?
                .run_until_stopped()
                .await
        }
        Command::Migrate { database } => {
            let db = entity::db::connect(&database.options())
                .await
                .context("opening the database")?;
            migration::up(&db).await.context("applying migrations")?;
            tracing::info!("migrations applied");
            Ok(())
        }
        Command::Schema => {
            std::io::stdout()
                .write_all(api::graphql::sdl().as_bytes())
                .context("writing the schema")?;
            Ok(())
        }
    }
}
