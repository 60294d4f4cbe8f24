//! `prestashop-sandbox`: serves the PrestaShop Webservice sandbox on `--addr` until Ctrl-C.

use std::net::SocketAddr;

use clap::Parser;
use prestashop_sandbox::{Sandbox, SandboxConfig};

#[derive(Parser)]
#[command(about = "A PrestaShop Webservice sandbox")]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:3400")]
    addr: SocketAddr,
    /// Products seeded.
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
    sandbox_kit::wait_for_ctrl_c("prestashop", addr).await?;
    Ok(())
}
