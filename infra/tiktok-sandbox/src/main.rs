//! `tiktok-sandbox`: serves the TikTok Shop sandbox on `--addr` until Ctrl-C.

use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser;
use tiktok_sandbox::{Sandbox, SandboxConfig};

#[derive(Parser)]
#[command(about = "A TikTok Shop Open API sandbox")]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:3100")]
    addr: SocketAddr,
    /// App key clients must use.
    #[arg(long, default_value = "sandbox-app-key")]
    app_key: String,
    /// App secret requests are signed with.
    #[arg(long, default_value = "sandbox-app-secret")]
    app_secret: String,
    /// Seconds a product stays in review.
    #[arg(long, default_value_t = 2.0)]
    review_seconds: f64,
    /// Share of reviews that fail.
    #[arg(long, default_value_t = 0.0)]
    rejection_share: f64,
    /// Default webhook URL.
    #[arg(long)]
    webhook_url: Option<String>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    connector::telemetry::init_stderr();
    let args = Args::parse();
    let config = SandboxConfig {
        app_key: args.app_key,
        app_secret: args.app_secret,
        review_delay: Duration::from_secs_f64(args.review_seconds),
        rejection_share: args.rejection_share,
        default_webhook_url: args.webhook_url,
        ..SandboxConfig::default()
    };
    let addr = Sandbox::new(config).serve(args.addr).await?;
    sandbox_kit::wait_for_ctrl_c("tiktok", addr).await?;
    Ok(())
}
