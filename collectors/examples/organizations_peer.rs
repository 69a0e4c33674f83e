//! Serves a synthetic AWS Organizations for the scale benchmark (`collectors/bench/scale.sh`):
//! prints its URL, then answers until killed.
//!
//!   cargo run --release -p collectors --features peers --example organizations_peer -- \
//!     --accounts 10000 --ous 200 --depth 4 --latency-ms 40 --rate 20 --burst 40

use clap::Parser;
use collectors::peers::organizations::{Shape, serve};
use std::io::Write;
use std::time::Duration;

#[derive(Parser)]
struct Args {
    #[arg(long, default_value_t = 1_000)]
    accounts: usize,
    #[arg(long, default_value_t = 50)]
    ous: usize,
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
            accounts: args.accounts,
            ous: args.ous,
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
