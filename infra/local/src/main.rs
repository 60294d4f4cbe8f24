//! `connector-local` binary: parses the flags, starts everything, prints
//! `listening on http://ADDR` once ready, and runs until Ctrl-C. With `--sandbox` it
//! also onboards the sandbox store and prints `settings: http://…` as its last line,
//! once the start-up work has settled, so no start-up log line buries the link.

use std::io::Write as _;
use std::time::Duration;

use clap::Parser as _;
use connector_local::{Args, SETTLE_QUIET, onboard_sandbox, place_demo_after_sales, start};

/// The longest the settings link waits for start-up work (the demo catalogue's
/// upload and reviews; about half a minute with the default store quota).
const SETTLE_LIMIT: Duration = Duration::from_secs(180);

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    connector::telemetry::init_stderr();
    let args = Args::parse();
    let running = start(&args).await?;
    println!("listening on http://{}", running.addr);
    if let Some(sandboxes) = &running.sandboxes {
        println!("tiktok sandbox on {}", sandboxes.tiktok);
        println!("{} sandbox on {}", args.platform.slug(), sandboxes.store);
        std::io::stdout().flush()?;
        let settings = onboard_sandbox(&running).await?;
        tracing::info!("sandbox onboarded; the settings link follows once the catalogue upload has settled");
        if !running.settle(SETTLE_QUIET, SETTLE_LIMIT).await {
            tracing::warn!(limit = ?SETTLE_LIMIT, "start-up work still running; printing the settings link now");
        }
        // A demo return and buyer cancellation request, so the Returns screen shows its work.
        match place_demo_after_sales(&running, &sandboxes.onboarded_store_id()).await {
            Ok(()) => {
                running.settle(SETTLE_QUIET, SETTLE_LIMIT).await;
            }
            Err(error) => tracing::warn!(%error, "the demo return and cancellation were not placed"),
        }
        std::io::stderr().flush()?;
        println!("settings: {settings}");
    }
    std::io::stdout().flush()?;
    tokio::signal::ctrl_c().await?;
    Ok(())
}
