//! `connector-local` binary: parses the flags, starts everything, prints
//! `listening on http://ADDR` once ready, and runs until Ctrl-C.

use std::io::Write as _;

use clap::Parser as _;
use connector_local::{Args, start};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    connector::telemetry::init();
    let running = start(&Args::parse()).await?;
    println!("listening on http://{}", running.addr);
    std::io::stdout().flush()?;
    tokio::signal::ctrl_c().await?;
    Ok(())
}
