//! `chaos`: the chaos run of [`connector_e2e::chaos`] at any scale, with its figures
//! printed; exits non-zero when an order was duplicated or lost, a SKU oversold, a
//! failure left without a reason, or the stack did not settle in time.
//!
//! Run: `cargo run -p connector-e2e --bin chaos -- --orders 10000 --stock-changes 10000 --seconds 3600 [--aws]`

use std::time::Duration;

use clap::Parser;
use connector_e2e::chaos::{Plan, run};

/// Options of the chaos run.
#[derive(Parser, Debug)]
#[command(about = "Orders and stock changes through the local stack under injected faults")]
struct Args {
    /// TikTok orders to place.
    #[arg(long, default_value_t = 10_000)]
    orders: usize,
    /// Store stock changes to make (levels, bursts on one SKU, storefront sales).
    #[arg(long, default_value_t = 10_000)]
    stock_changes: usize,
    /// Time limit of the whole run, setup included, in seconds.
    #[arg(long, default_value_t = 3600)]
    seconds: u64,
    /// Run on DynamoDB and SQS at AWS_ENDPOINT_URL (moto) instead of in-process.
    #[arg(long)]
    aws: bool,
    /// Seed of the faults, the crashes and the traffic (the same seed replays them).
    #[arg(long, default_value_t = 12)]
    seed: u64,
    /// Share of the connector's successful writes that crash right after.
    #[arg(long, default_value_t = 0.02)]
    crash_share: f64,
    /// The sandboxes' faults as JSON (replaces the default mix), e.g. '{"error_share": 0.1}'.
    #[arg(long)]
    faults: Option<String>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut plan = Plan::new(
        args.orders,
        args.stock_changes,
        Duration::from_secs(args.seconds),
        args.aws,
        args.seed,
    );
    plan.crash_share = args.crash_share;
    if let Some(faults) = &args.faults {
        plan.faults = serde_json::from_str(faults)?;
    }
    let report = run(&plan).await?;
    println!("{report}");
    let violations = report.violations();
    for violation in &violations {
        eprintln!("VIOLATION: {violation}");
    }
    if !violations.is_empty() {
        std::process::exit(1);
    }
    Ok(())
}
