//! Serves a synthetic Azure tenant behind Azure Resource Manager for the scale benchmark
//! (`collectors/bench/scale.sh`): prints its URL, then answers until killed.
//!
//!   cargo run --release -p collectors --features peers --example arm_peer -- \
//!     --subscriptions 5000 --groups 100 --depth 3 --latency-ms 40

use clap::Parser;
use collectors::peers::arm::{Shape, serve};
use std::io::Write;
use std::time::Duration;

#[derive(Parser)]
struct Args {
    #[arg(long, default_value_t = 5_000)]
    subscriptions: usize,
    #[arg(long, default_value_t = 100)]
    groups: usize,
    #[arg(long, default_value_t = 4)]
    depth: usize,
    /// Waited before every answer.
    #[arg(long, default_value_t = 40)]
    latency_ms: u64,
    /// Requests per second before calls are throttled (none: never).
    #[arg(long)]
    rate: Option<f64>,
    #[arg(long, default_value_t = 40.0)]
    burst: f64,
    #[arg(long, default_value_t = 0)]
    port: u16,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.port)).await?;
    let running = serve(
        listener,
        Shape {
            subscriptions: args.subscriptions,
            groups: args.groups,
            depth: args.depth,
            latency: Duration::from_millis(args.latency_ms),
            rate: args.rate,
            burst: args.burst,
        },
    )?;
    // The benchmark reads this line to find the peer.
    writeln!(std::io::stdout(), "{}", running.url)?;
    std::io::stdout().flush()?;
    std::future::pending::<()>().await;
    Ok(())
}
