//! `connector-local` binary: parses the flags, starts everything, prints
//! `listening on http://ADDR` once ready, and runs until Ctrl-C.

use std::io::Write as _;

use clap::Parser as _;
use connector_local::{Args, onboard_sandbox, start};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    connector::telemetry::init_stderr();
    let running = start(&Args::parse()).await?;
    println!("listening on http://{}", running.addr);
    if let Some(sandboxes) = &running.sandboxes {
        println!("tiktok sandbox on {}", sandboxes.tiktok);
        println!("bigcommerce sandbox on {}", sandboxes.bigcommerce);
        let settings = onboard_sandbox(&running).await?;
        println!("settings: {settings}");
    }
    std::io::stdout().flush()?;
    tokio::signal::ctrl_c().await?;
    Ok(())
}
