//! `connector-local`: the whole connector in one process. Every HTTP route on
//! `--addr`, both queue consumers, and the schedules on tokio timers. Data goes to the
//! embedded store under `--data-dir`, or to DynamoDB/SQS when `AWS_ENDPOINT_URL` is
//! set (or `--aws` is given).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Parser;
use connector::app::{App, aws_config};
use connector::crypto::TokenCipher;
use connector::http;
use connector::jobs::Dispatcher;
use connector::queue::memory::InProcessQueue;
use connector::queue::sqs::SqsQueue;
use connector::queue::{JobQueue, QueueSettings, worker};
use connector::schedules::{self, Schedule};
use connector::secrets::AppSecrets;
use connector::storage::Table;
use connector::storage::dynamodb::DynamoTable;
use connector::storage::embedded::EmbeddedTable;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// Command-line options of `connector-local`.
#[derive(Parser, Debug, Clone)]
#[command(about = "Run the TikTok Shop connector locally")]
pub struct Args {
    /// Address of the HTTP server.
    #[arg(long, default_value = "127.0.0.1:3000")]
    pub addr: SocketAddr,
    /// Directory of the embedded store.
    #[arg(long, default_value = "./.connector-data")]
    pub data_dir: PathBuf,
    /// Use DynamoDB and SQS (endpoint from AWS_ENDPOINT_URL) instead of embedded storage.
    #[arg(long, default_value_t = std::env::var_os("AWS_ENDPOINT_URL").is_some())]
    pub aws: bool,
    /// Table name when using DynamoDB (created if missing).
    #[arg(long, default_value = "connector-local")]
    pub table: String,
    /// Start the TikTok and BigCommerce sandboxes (arrives with the sandbox issues).
    #[arg(long)]
    pub sandbox: bool,
}

/// Product queue: standard, so jobs can be delayed (coalescing, listing-limit ETAs).
fn product_queue_settings() -> QueueSettings {
    QueueSettings {
        fifo: false,
        ..QueueSettings::default()
    }
}

/// Order queue: FIFO per shop, so one shop's order updates apply in order.
fn order_queue_settings() -> QueueSettings {
    QueueSettings {
        fifo: true,
        ..QueueSettings::default()
    }
}

/// Secrets from the environment; anything missing gets a development value, and the
/// token keyring is kept in the data directory so sealed tokens survive a restart.
fn local_secrets(data_dir: &Path) -> anyhow::Result<AppSecrets> {
    std::fs::create_dir_all(data_dir).with_context(|| format!("creating {}", data_dir.display()))?;
    let key_file = data_dir.join("token-keys");
    let token_keys = match std::env::var("TOKEN_KEYS") {
        Ok(keys) if !keys.is_empty() => keys,
        _ if key_file.exists() => std::fs::read_to_string(&key_file).context("reading the token keyring")?,
        _ => {
            let spec = TokenCipher::generate_spec("local1");
            std::fs::write(&key_file, &spec).context("writing the token keyring")?;
            spec
        }
    };
    let secrets = AppSecrets::from_lookup("the environment", |name| {
        let development = match name {
            "TOKEN_KEYS" => token_keys.trim(),
            "TIKTOK_APP_KEY" => "local-app-key",
            "TIKTOK_APP_SECRET" => "local-app-secret",
            "TIKTOK_SERVICE_ID" => "local-service-id",
            "BIGCOMMERCE_CLIENT_ID" => "local-client-id",
            _ => "local-client-secret",
        };
        Some(
            std::env::var(name)
                .ok()
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| development.to_string()),
        )
    })?;
    Ok(secrets)
}

async fn build_app(args: &Args) -> anyhow::Result<Arc<App>> {
    let secrets = local_secrets(&args.data_dir)?;
    let public_url = std::env::var("PUBLIC_URL").unwrap_or_else(|_| format!("http://{}", args.addr));
    let (table, product_queue, order_queue): (Arc<dyn Table>, Arc<dyn JobQueue>, Arc<dyn JobQueue>) = if args.aws {
        let sdk = aws_config().await;
        let table = DynamoTable::create(aws_sdk_dynamodb::Client::new(&sdk), &args.table).await?;
        let sqs = aws_sdk_sqs::Client::new(&sdk);
        let (products, _) =
            SqsQueue::create(sqs.clone(), "connector-local-products", &product_queue_settings()).await?;
        let (orders, _) = SqsQueue::create(sqs, "connector-local-orders", &order_queue_settings()).await?;
        (Arc::new(table), Arc::new(products), Arc::new(orders))
    } else {
        let table = EmbeddedTable::open(&args.data_dir)
            .with_context(|| format!("opening the embedded store in {}", args.data_dir.display()))?;
        (
            Arc::new(table),
            Arc::new(InProcessQueue::new(product_queue_settings())),
            Arc::new(InProcessQueue::new(order_queue_settings())),
        )
    };
    Ok(Arc::new(App {
        table,
        product_queue,
        order_queue,
        secrets,
        public_url,
    }))
}

/// A running local connector.
pub struct Running {
    /// The address the HTTP server is bound to.
    pub addr: SocketAddr,
    /// The connector's parts (table, queues), for tests that look inside.
    pub app: Arc<App>,
    /// The HTTP server, the queue workers and the schedules.
    pub tasks: Vec<JoinHandle<()>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Builds the connector from `args`, binds the HTTP server and starts every worker
/// and schedule in the background.
pub async fn start(args: &Args) -> anyhow::Result<Running> {
    if args.sandbox {
        bail!("--sandbox is reserved for the TikTok and BigCommerce sandboxes, which are not built yet");
    }
    let app = build_app(args).await?;
    let mut tasks = Vec::new();
    let dispatcher = Arc::new(Dispatcher { app: app.clone() });
    for queue in [app.product_queue.clone(), app.order_queue.clone()] {
        tasks.push(tokio::spawn(worker::run(queue, dispatcher.clone())));
    }
    for (schedule, period) in Schedule::ALL {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            let mut ticks = tokio::time::interval(Duration::from_secs(period));
            loop {
                ticks.tick().await;
                if let Err(error) = schedules::run(&app, schedule).await {
                    tracing::warn!(?schedule, %error, "scheduled run failed");
                }
            }
        }));
    }
    let listener = TcpListener::bind(args.addr)
        .await
        .with_context(|| format!("binding {}", args.addr))?;
    let addr = listener.local_addr()?;
    let router = http::serve(app.clone(), http::all_routes());
    tasks.push(tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, router).await {
            tracing::error!(%error, "HTTP server stopped");
        }
    }));
    Ok(Running { addr, app, tasks })
}
