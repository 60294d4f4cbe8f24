//! `bench`: the connector's figures against its goals, measured on the local stack with
//! both sandboxes and written to `docs/benchmarks.md` (each flow into its own section,
//! so one can be re-run alone). Benchmarks print numbers; they never fail on a slow
//! machine, only when a flow breaks.
//!
//! Run (release optimizations): `cargo run --profile bench -p connector-e2e --bin bench -- all`,
//! or one of `flows`, `upload`, `webhooks`, `functions`, `screens` (`--help` lists each
//! one's options).

mod flows;
mod functions;
mod report;
mod screens;
mod upload;
mod webhooks;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::report::Section;

#[derive(Parser)]
#[command(about = "Measure the connector's flows against their goals")]
struct Args {
    /// Where the figures are written (each run replaces its own section).
    #[arg(long, default_value = "docs/benchmarks.md")]
    out: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Order intake and stock sync, on loopback and with realistic round trips.
    Flows(FlowArgs),
    /// A bulk upload: requests per second per TikTok endpoint, 429s, products per minute.
    Upload {
        /// Products in the store, all uploaded.
        #[arg(long, default_value_t = 10_000)]
        products: usize,
    },
    /// Per Lambda function: release binary size, cold start and peak RSS under the
    /// runtime API emulator, warm time per event, and the cost per 1 M orders and
    /// stock changes (needs moto: `AWS_ENDPOINT_URL`, or `.venv-test/bin/moto_server`).
    Functions {
        /// Events sent to each function's warm instance.
        #[arg(long, default_value_t = 100)]
        events: usize,
    },
    /// Webhook intake on one core: verified and queued per second, handler latency.
    Webhooks {
        /// Signed notifications sent.
        #[arg(long, default_value_t = 20_000)]
        count: usize,
    },
    /// The settings pages at scale.
    Screens {
        /// Products and orders in the store.
        #[arg(long, default_value_t = 100_000)]
        records: usize,
    },
    /// Every figure, with the defaults.
    All,
}

#[derive(Parser, Clone)]
struct FlowArgs {
    /// TikTok orders per mode.
    #[arg(long, default_value_t = 1_000)]
    orders: usize,
    /// Store stock changes per mode (a burst's ten count ten).
    #[arg(long, default_value_t = 1_000)]
    stock_changes: usize,
    /// Storefront sales per mode.
    #[arg(long, default_value_t = 100)]
    sales: usize,
    /// Orders per mode whose webhook is dropped (found by the poller).
    #[arg(long, default_value_t = 10)]
    dropped: usize,
    /// Orders and stock changes per second on loopback.
    #[arg(long, default_value_t = 20.0)]
    loopback_rate: f64,
    /// Orders and stock changes per second with realistic round trips.
    #[arg(long, default_value_t = 3.0)]
    realistic_rate: f64,
    /// Which runs: `loopback`, `realistic` or `both` (each writes its own section).
    #[arg(long, default_value = "both", value_parser = ["loopback", "realistic", "both"])]
    mode: String,
}

impl Default for FlowArgs {
    fn default() -> Self {
        Self::parse_from(["flows"])
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    // Logs cost time in the flows measured: written only when asked for.
    if std::env::var_os("RUST_LOG").is_some() {
        connector::telemetry::init_stderr();
    }
    let command_line = format!(
        "cargo run --profile bench -p connector-e2e --bin bench -- {}",
        std::env::args().skip(1).collect::<Vec<_>>().join(" ")
    );
    let sections: Vec<Section> = match args.command {
        Command::Flows(flow) => flows(&flow).await?,
        Command::Upload { products } => vec![upload::upload(products).await?],
        Command::Webhooks { count } => vec![webhooks_on_a_thread(count).await?],
        Command::Functions { events } => vec![functions::functions(events).await?],
        Command::Screens { records } => vec![screens::screens(records).await?],
        Command::All => {
            let mut all = vec![webhooks_on_a_thread(20_000).await?, functions::functions(100).await?];
            all.extend(flows(&FlowArgs::default()).await?);
            all.push(upload::upload(10_000).await?);
            all.push(screens::screens(100_000).await?);
            all
        }
    };
    for section in &sections {
        report::write(&args.out, section, &command_line)?;
    }
    Ok(())
}

/// [`webhooks::webhooks`], which runs its own runtimes, off this one.
async fn webhooks_on_a_thread(count: usize) -> anyhow::Result<Section> {
    tokio::task::spawn_blocking(move || webhooks::webhooks(count)).await?
}

/// Both flows in each mode asked for, a section per mode.
async fn flows(args: &FlowArgs) -> anyhow::Result<Vec<Section>> {
    let modes = [
        (flows::LOOPBACK, args.loopback_rate, "loopback"),
        (flows::REALISTIC, args.realistic_rate, "realistic"),
    ];
    let mut sections = Vec::new();
    for (mode, rate, name) in modes {
        if args.mode != name && args.mode != "both" {
            continue;
        }
        let mut section = Section::new(mode.key, format!("Order intake and stock sync, {}", mode.name));
        let load = flows::Load {
            orders: args.orders,
            order_rate: rate,
            stock_changes: args.stock_changes,
            stock_rate: rate,
            sales: args.sales,
            dropped: args.dropped,
        };
        flows::run(&mut section, mode, &load).await?;
        section.note(format!(
            "{} consumers per queue, as Lambda runs several instances; orders are FIFO per order, stock jobs share the shop's TikTok budget through the table.",
            mode.consumers_per_queue
        ));
        sections.push(section);
    }
    Ok(sections)
}
