//! `inventory-api`: parse flags, start logging, hand over to the library.

use anyhow::Context;
use api::config::{Cli, Command};
use clap::Parser;
use std::io::Write;

/// mimalloc instead of glibc's malloc: serving a page allocates many small, short-lived
/// values on both runtime threads, where glibc spent a fifth of the process's CPU.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    runtime::telemetry::run_main(cli.log_format, "inventory-api", run(cli))
        .context("starting the async runtime")?
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command.unwrap_or(Command::Serve(Box::new(cli.serve))) {
        Command::Serve(args) => {
            api::app::Application::build(&args)
                .await?
                .run_until_stopped()
                .await
        }
        Command::Migrate { database } => {
            let options = database.options();
            let db = entity::db::connect(&options)
                .await
                .context("opening the database")?;
            runtime::database::migrate(&db, &options)
                .await
                .context("applying migrations")?;
            tracing::info!("migrations applied");
            Ok(())
        }
        Command::NewToken { name, role } => {
            let token = api::auth::new_token().context("reading randomness for the token")?;
            let line = format!("{name}:{role}:{}", api::auth::hash_hex(&token));
            api::auth::StaticTokens::parse(&line).context("the name is not usable")?;
            let text = format!(
                "token (give it to {name}; it is shown only this once):\n{token}\n\n\
                 configuration entry (INVENTORY_API_TOKENS or the token file):\n{line}\n"
            );
            std::io::stdout()
                .write_all(text.as_bytes())
                .context("writing the token")?;
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
