//! `inventory-collect <source>`: parse flags, start logging, run the source once per scope
//! ([`collectors::cli::run`]), exit non-zero when any run did not succeed.

use anyhow::Context;
use clap::Parser;
use collectors::config::Cli;
use std::process::ExitCode;

/// mimalloc instead of glibc's malloc, as in `inventory-api`: a page of records is many
/// small JSON values built, compared, serialized and freed. Built without transparent huge
/// pages (the workspace's `no_thp`): on hosts that grant them on request, its arenas made
/// whole huge pages resident for a few live bytes each.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    runtime::telemetry::run_main(
        cli.log_format,
        "inventory-collect",
        collectors::cli::run(cli),
    )
    .context("starting the async runtime")?
}
