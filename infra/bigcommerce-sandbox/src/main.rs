//! `bigcommerce-sandbox`: serves the BigCommerce sandbox on `--addr` until Ctrl-C.

use std::net::SocketAddr;

use bigcommerce_sandbox::{Sandbox, SandboxConfig};
use clap::Parser;

#[derive(Parser)]
#[command(about = "A BigCommerce API and app-install sandbox")]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:3200")]
    addr: SocketAddr,
    /// Products per store.
    #[arg(long, default_value_t = 60)]
    products: usize,
    /// The app's auth callback URL.
    #[arg(long)]
    auth_callback: Option<String>,
    /// The app's load callback URL.
    #[arg(long)]
    load_callback: Option<String>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    connector::telemetry::init_stderr();
    let args = Args::parse();
    let config = SandboxConfig {
        products: args.products,
        auth_callback_url: args.auth_callback,
        load_callback_url: args.load_callback,
        ..SandboxConfig::default()
    };
    let addr = Sandbox::new(config).serve(args.addr).await?;
    sandbox_kit::wait_for_ctrl_c("bigcommerce", addr).await?;
    Ok(())
}
