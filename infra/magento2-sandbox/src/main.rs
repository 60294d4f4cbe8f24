//! `magento2-sandbox`: serves the Magento 2 sandbox on `--addr` until Ctrl-C.

use std::net::SocketAddr;

use clap::Parser;
use magento2_sandbox::{Sandbox, SandboxConfig};

#[derive(Parser)]
#[command(about = "A Magento 2 REST API sandbox")]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:3300")]
    addr: SocketAddr,
    /// Visible products seeded.
    #[arg(long, default_value_t = 60)]
    products: usize,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt().with_writer(std::io::stderr).init();
    let args = Args::parse();
    let config = SandboxConfig {
        products: args.products,
        ..SandboxConfig::default()
    };
    let addr = Sandbox::new(config).serve(args.addr).await?;
    sandbox_kit::wait_for_ctrl_c("magento2", addr).await?;
    Ok(())
}
