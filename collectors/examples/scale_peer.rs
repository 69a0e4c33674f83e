//! Serves one of the scale peers (`collectors::peers`) for the scale benchmark
//! (`collectors/bench/scale.sh`): prints its URL, then answers until killed.
//!
//!   cargo run --release -p collectors --features peers --example scale_peer -- \
//!     --latency-ms 40 --rate 20 aws --accounts 10000 --ous 200 --depth 4

use clap::{Parser, Subcommand};
use collectors::peers::{arm, organizations, resource_manager};
use std::io::Write;
use std::time::Duration;

#[derive(Parser)]
struct Args {
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
    #[command(subcommand)]
    provider: Provider,
}

#[derive(Subcommand)]
enum Provider {
    /// AWS Organizations.
    Aws {
        #[arg(long, default_value_t = 1_000)]
        accounts: usize,
        #[arg(long, default_value_t = 50)]
        ous: usize,
        #[arg(long, default_value_t = 4)]
        depth: usize,
    },
    /// GCP Resource Manager v3.
    Gcp {
        #[arg(long, default_value_t = 10_000)]
        projects: usize,
        #[arg(long, default_value_t = 500)]
        folders: usize,
        #[arg(long, default_value_t = 4)]
        depth: usize,
    },
    /// Azure Resource Manager.
    Azure {
        #[arg(long, default_value_t = 5_000)]
        subscriptions: usize,
        #[arg(long, default_value_t = 100)]
        groups: usize,
        #[arg(long, default_value_t = 3)]
        depth: usize,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.port)).await?;
    let latency = Duration::from_millis(args.latency_ms);
    let (rate, burst) = (args.rate, args.burst);
    let url = match args.provider {
        Provider::Aws {
            accounts,
            ous,
            depth,
        } => {
            let shape = organizations::Shape {
                accounts,
                ous,
                depth,
                latency,
                rate,
                burst,
            };
            organizations::serve(listener, shape)?.url
        }
        Provider::Gcp {
            projects,
            folders,
            depth,
        } => {
            let shape = resource_manager::Shape {
                projects,
                folders,
                depth,
                latency,
                rate,
                burst,
            };
            resource_manager::serve(listener, shape)?.url
        }
        Provider::Azure {
            subscriptions,
            groups,
            depth,
        } => {
            let shape = arm::Shape {
                subscriptions,
                groups,
                depth,
                latency,
                rate,
                burst,
            };
            arm::serve(listener, shape)?.url
        }
    };
    // The benchmark reads this line to find the peer.
    writeln!(std::io::stdout(), "{url}")?;
    std::io::stdout().flush()?;
    std::future::pending::<()>().await;
    Ok(())
}
