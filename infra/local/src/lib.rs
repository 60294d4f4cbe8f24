//! `connector-local`: the whole connector in one process. Every HTTP route on
//! `--addr`, both queue consumers, and the schedules on tokio timers. Data goes to the
//! embedded store under `--data-dir`, or to DynamoDB/SQS when `AWS_ENDPOINT_URL` is
//! set (or `--aws` is given).

mod demo;

pub use demo::{place_demo_after_sales, tiktok_order};

use std::io::Write as _;
use std::net::SocketAddr;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use axum::response::Redirect;
use axum::routing::get;
use clap::Parser;
use connector::app::{App, Parts, aws_config};
use connector::config::Endpoints;
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
use connector::store::Platform;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// Command-line options of `connector-local`.
#[derive(Parser, Debug, Clone)]
#[command(version, about = "Run the TikTok Shop connector locally")]
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
    /// Start the TikTok and BigCommerce sandboxes in-process, point the connector at
    /// them, install the app and connect the shops through the real flows.
    #[arg(long)]
    pub sandbox: bool,
    /// Requests per 30 s window of each BigCommerce sandbox store (BigCommerce's
    /// Standard plan allows 150).
    #[arg(long, default_value_t = 150)]
    pub sandbox_store_quota: u32,
    /// Products seeded in each BigCommerce sandbox store.
    #[arg(long, default_value_t = 60)]
    pub sandbox_products: usize,
    /// Products each TikTok sandbox shop may list per day (TikTok's limit varies by shop).
    #[arg(long, default_value_t = 1000)]
    pub sandbox_listing_limit: u32,
    /// The store platform whose sandbox `--sandbox` starts (and whose stores it
    /// connects): `bigcommerce`.
    #[arg(long, default_value = "bigcommerce", value_parser = platform_named)]
    pub platform: Platform,
    /// Milliseconds each send to an in-process work queue takes, as a round trip to
    /// SQS would (the benchmark's realistic runs use 20); 0 sends at once.
    #[arg(long, default_value_t = 0)]
    pub queue_hop_ms: u64,
    /// Workers taking jobs from each queue at once, as Lambda runs several instances
    /// (the template lets it run up to 10 per queue).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub consumers_per_queue: u16,
}

/// The platform a `--platform` value names; the error lists those there are.
fn platform_named(name: &str) -> Result<Platform, String> {
    Platform::from_slug(name).ok_or_else(|| {
        let known: Vec<&str> = Platform::ALL.iter().map(|p| p.slug()).collect();
        format!("no store platform {name:?}; the connector serves: {}", known.join(", "))
    })
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
        _ if key_file.exists() => {
            // Readable by its owner only, also when an older runner wrote it.
            std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600))
                .context("restricting the token keyring to its owner")?;
            std::fs::read_to_string(&key_file).context("reading the token keyring")?
        }
        _ => {
            let spec = TokenCipher::generate_spec("local1");
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&key_file)
                .and_then(|mut file| file.write_all(spec.as_bytes()))
                .context("writing the token keyring")?;
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
            "BIGCOMMERCE_APP_ID" => "local-app-id",
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

/// Where the sandboxes listen, in `--sandbox` mode.
#[derive(Clone)]
pub struct Sandboxes {
    /// TikTok sandbox base URL.
    pub tiktok: String,
    /// The store platform's sandbox base URL (`--platform`'s).
    pub store: String,
    /// The store platform's sandbox (admin access for tests).
    pub store_sandbox: StoreSandbox,
    /// The TikTok sandbox (admin access for tests).
    pub tiktok_sandbox: tiktok_sandbox::Sandbox,
}

/// The sandbox of the `--platform` a run serves.
#[derive(Clone)]
pub enum StoreSandbox {
    /// BigCommerce's.
    BigCommerce(bigcommerce_sandbox::Sandbox),
    /// Magento 2's.
    Magento2(magento2_sandbox::Sandbox),
    /// PrestaShop's.
    PrestaShop(prestashop_sandbox::Sandbox),
}

impl Sandboxes {
    /// The BigCommerce sandbox. Panics in a run of another platform (a test's mistake).
    pub fn bigcommerce_sandbox(&self) -> &bigcommerce_sandbox::Sandbox {
        match &self.store_sandbox {
            StoreSandbox::BigCommerce(sandbox) => sandbox,
            _ => panic!("this run serves another platform's stores, not BigCommerce"),
        }
    }

    /// The Magento 2 sandbox. Panics in a run of another platform (a test's mistake).
    pub fn magento2_sandbox(&self) -> &magento2_sandbox::Sandbox {
        match &self.store_sandbox {
            StoreSandbox::Magento2(sandbox) => sandbox,
            _ => panic!("this run serves another platform's stores, not Magento 2"),
        }
    }

    /// The PrestaShop sandbox. Panics in a run of another platform (a test's mistake).
    pub fn prestashop_sandbox(&self) -> &prestashop_sandbox::Sandbox {
        match &self.store_sandbox {
            StoreSandbox::PrestaShop(sandbox) => sandbox,
            _ => panic!("this run serves another platform's stores, not PrestaShop"),
        }
    }
}

/// Starts the TikTok sandbox and the sandbox of `--platform` on free ports, configured
/// as this app's TikTok app and store app (credentials from `secrets`, callbacks on
/// `public_url`).
async fn start_sandboxes(secrets: &AppSecrets, public_url: &str, args: &Args) -> anyhow::Result<Sandboxes> {
    let free: SocketAddr = "127.0.0.1:0".parse().expect("valid address");
    let tiktok_sandbox = tiktok_sandbox::Sandbox::new(tiktok_sandbox::SandboxConfig {
        app_key: secrets.tiktok_app_key.clone(),
        app_secret: secrets.tiktok_app_secret.expose().to_string(),
        service_id: secrets.tiktok_service_id.clone(),
        redirect_url: Some(format!("{public_url}/tiktok/callback")),
        default_webhook_url: Some(format!("{public_url}/webhooks/tiktok")),
        daily_listing_limit: args.sandbox_listing_limit,
        ..tiktok_sandbox::SandboxConfig::default()
    });
    let tiktok = tiktok_sandbox.clone().serve(free).await?;
    let (store, store_sandbox) = match args.platform {
        Platform::BigCommerce => {
            let sandbox = bigcommerce_sandbox::Sandbox::new(bigcommerce_sandbox::SandboxConfig {
                client_id: secrets.bigcommerce_client_id.clone(),
                client_secret: secrets.bigcommerce_client_secret.expose().to_string(),
                auth_callback_url: Some(format!("{public_url}/bigcommerce/auth")),
                load_callback_url: Some(format!("{public_url}/bigcommerce/load")),
                uninstall_callback_url: Some(format!("{public_url}/bigcommerce/uninstall")),
                remove_user_callback_url: Some(format!("{public_url}/bigcommerce/remove_user")),
                stores: vec!["sbx1store".into(), "sbx2store".into()],
                quota: args.sandbox_store_quota,
                products: args.sandbox_products,
                ..bigcommerce_sandbox::SandboxConfig::default()
            });
            (sandbox.clone().serve(free).await?, StoreSandbox::BigCommerce(sandbox))
        }
        Platform::Magento2 => {
            let sandbox = magento2_sandbox::Sandbox::new(magento2_sandbox::SandboxConfig {
                products: args.sandbox_products,
                ..magento2_sandbox::SandboxConfig::default()
            });
            (sandbox.clone().serve(free).await?, StoreSandbox::Magento2(sandbox))
        }
        Platform::PrestaShop => {
            let sandbox = prestashop_sandbox::Sandbox::new(prestashop_sandbox::SandboxConfig {
                products: args.sandbox_products,
                ..prestashop_sandbox::SandboxConfig::default()
            });
            (sandbox.clone().serve(free).await?, StoreSandbox::PrestaShop(sandbox))
        }
    };
    Ok(Sandboxes {
        tiktok: format!("http://{tiktok}"),
        store: format!("http://{store}"),
        store_sandbox,
        tiktok_sandbox,
    })
}

impl Sandboxes {
    fn endpoints(&self) -> Endpoints {
        Endpoints {
            tiktok_api: self.tiktok.clone(),
            tiktok_auth: self.tiktok.clone(),
            tiktok_authorize: format!("{}/open/authorize", self.tiktok),
            bigcommerce_api: self.store.clone(),
            bigcommerce_login: self.store.clone(),
            control_panels: format!("{} {}", connector::config::BIGCOMMERCE_CONTROL_PANELS, self.store),
        }
    }
}

/// Wraps the connector's table before the app is built on it: the chaos run puts a
/// decorator there that fails writes after they happened, as a crash would.
pub type TableWrapper = Box<dyn FnOnce(Arc<dyn Table>) -> Arc<dyn Table> + Send>;

/// Builds the app on embedded storage or DynamoDB/SQS; also returns the in-process
/// work queues (none on SQS), which [`Running::settle`] watches.
async fn build_app(
    args: &Args,
    public_url: &str,
    endpoints: Endpoints,
    secrets: AppSecrets,
    wrap_table: TableWrapper,
) -> anyhow::Result<(Arc<App>, Vec<InProcessQueue>)> {
    type Queues = [Arc<dyn JobQueue>; 4];
    let mut local_queues = Vec::new();
    let mut mailer: Arc<dyn connector::mail::Mailer> = Arc::new(connector::mail::LogMailer);
    let (table, [product_queue, order_queue, product_dead_letters, order_dead_letters]): (Arc<dyn Table>, Queues) =
        if args.aws {
            let sdk = aws_config().await;
            let table = DynamoTable::create(aws_sdk_dynamodb::Client::new(&sdk), &args.table).await?;
            let sqs = aws_sdk_sqs::Client::new(&sdk);
            // The notice mails go through SES, whose sender identity is created if missing.
            let ses =
                connector::mail::SesMailer::new(aws_sdk_sesv2::Client::new(&sdk), connector::mail::sender_from_env());
            if let Err(error) = ses.ensure_identity().await {
                tracing::warn!(%error, "the SES sender identity could not be created");
            }
            mailer = Arc::new(ses);
            let (products, product_dlq) = SqsQueue::create(
                sqs.clone(),
                &format!("{}-products", args.table),
                &product_queue_settings(),
            )
            .await?;
            let (orders, order_dlq) =
                SqsQueue::create(sqs, &format!("{}-orders", args.table), &order_queue_settings()).await?;
            (
                Arc::new(table),
                [
                    Arc::new(products),
                    Arc::new(orders),
                    Arc::new(product_dlq),
                    Arc::new(order_dlq),
                ],
            )
        } else {
            let table = EmbeddedTable::open(&args.data_dir)
                .with_context(|| format!("opening the embedded store in {}", args.data_dir.display()))?;
            let products = InProcessQueue::new(product_queue_settings());
            let orders = InProcessQueue::new(order_queue_settings());
            let dead_letters =
                |queue: &InProcessQueue| Arc::new(queue.dead_letter().expect("work queues have one").clone());
            let (product_dlq, order_dlq) = (dead_letters(&products), dead_letters(&orders));
            local_queues = vec![products.clone(), orders.clone()];
            let hop = Duration::from_millis(args.queue_hop_ms);
            (
                Arc::new(table),
                [
                    Hop::over(Arc::new(products), hop),
                    Hop::over(Arc::new(orders), hop),
                    product_dlq,
                    order_dlq,
                ],
            )
        };
    let app = App::assemble(Parts {
        table: wrap_table(table),
        product_queue,
        order_queue,
        product_dead_letters,
        order_dead_letters,
        secrets,
        public_url: public_url.to_string(),
        endpoints,
        mailer,
    })?;
    Ok((app, local_queues))
}

/// An in-process queue whose sends take `hop`, as SendMessage's round trip to SQS does:
/// the sender waits, then the message is there.
struct Hop {
    queue: Arc<dyn JobQueue>,
    hop: Duration,
}

impl Hop {
    /// `queue` itself when `hop` is zero, else `queue` behind the hop.
    fn over(queue: Arc<dyn JobQueue>, hop: Duration) -> Arc<dyn JobQueue> {
        if hop.is_zero() {
            queue
        } else {
            Arc::new(Self { queue, hop })
        }
    }
}

#[async_trait::async_trait]
impl JobQueue for Hop {
    fn is_fifo(&self) -> bool {
        self.queue.is_fifo()
    }

    async fn send(&self, jobs: &[connector::queue::Job], delay: Duration) -> Result<(), connector::queue::QueueError> {
        tokio::time::sleep(self.hop).await;
        self.queue.send(jobs, delay).await
    }

    async fn receive(
        &self,
        max: usize,
        wait: Duration,
    ) -> Result<Vec<connector::queue::Delivery>, connector::queue::QueueError> {
        self.queue.receive(max, wait).await
    }

    async fn ack(&self, delivery: &connector::queue::Delivery) -> Result<(), connector::queue::QueueError> {
        self.queue.ack(delivery).await
    }

    async fn retry_later(
        &self,
        delivery: &connector::queue::Delivery,
        delay: Duration,
    ) -> Result<(), connector::queue::QueueError> {
        self.queue.retry_later(delivery, delay).await
    }
}

/// A running local connector.
pub struct Running {
    /// The address the HTTP server is bound to.
    pub addr: SocketAddr,
    /// The connector's parts (table, queues), for tests that look inside.
    pub app: Arc<App>,
    /// The sandboxes, in `--sandbox` mode.
    pub sandboxes: Option<Sandboxes>,
    /// The HTTP server, the queue workers and the schedules.
    pub tasks: Vec<JoinHandle<()>>,
    /// The in-process work queues (product, order); empty on SQS.
    local_queues: Vec<InProcessQueue>,
}

/// How long the work queues must stay empty and the log quiet before start-up counts
/// as settled: longer than the TikTok sandbox's review delay (2 s), after which its
/// webhooks bring new work for the uploaded products.
pub const SETTLE_QUIET: Duration = Duration::from_secs(3);

impl Running {
    /// Waits until the work started so far has settled: the in-process work queues
    /// have been empty (nothing waiting, delayed or in flight) for `quiet`, and no log
    /// line was written through [`connector::telemetry::init_stderr`]'s subscriber for
    /// `quiet` either. On SQS only the log is watched. Gives up after `limit`; returns
    /// whether it settled.
    pub async fn settle(&self, quiet: Duration, limit: Duration) -> bool {
        let start = tokio::time::Instant::now();
        let mut empty_since: Option<std::time::Instant> = None;
        loop {
            let now = std::time::Instant::now();
            if self.local_queues.iter().all(InProcessQueue::is_empty) {
                empty_since.get_or_insert(now);
            } else {
                empty_since = None;
            }
            let quiet_for = |since: std::time::Instant| now.duration_since(since) >= quiet;
            let log_quiet = connector::telemetry::last_line_at().is_none_or(quiet_for);
            if empty_since.is_some_and(quiet_for) && log_quiet {
                return true;
            }
            if start.elapsed() >= limit {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Builds the connector from `args`, binds the HTTP server and starts every worker
/// and schedule in the background; in `--sandbox` mode also the sandboxes.
pub async fn start(args: &Args) -> anyhow::Result<Running> {
    start_with(args, Box::new(|table| table)).await
}

/// [`start`], with the table wrapped by `wrap_table` before anything uses it.
pub async fn start_with(args: &Args, wrap_table: TableWrapper) -> anyhow::Result<Running> {
    let listener = TcpListener::bind(args.addr)
        .await
        .with_context(|| format!("binding {}", args.addr))?;
    let addr = listener.local_addr()?;
    let public_url = std::env::var("PUBLIC_URL").unwrap_or_else(|_| format!("http://{addr}"));
    let mut args = args.clone();
    if args.sandbox {
        // Sandbox worlds are fresh each run: keep their data apart from real local data.
        args.data_dir = args.data_dir.join("sandbox");
    }
    let secrets = local_secrets(&args.data_dir)?;
    let sandboxes = if args.sandbox {
        Some(start_sandboxes(&secrets, &public_url, &args).await?)
    } else {
        None
    };
    let endpoints = match &sandboxes {
        Some(sandboxes) => sandboxes.endpoints(),
        None => Endpoints::from_lookup(|name| std::env::var(name).ok()),
    };
    let (app, local_queues) = build_app(&args, &public_url, endpoints, secrets, wrap_table).await?;
    let mut tasks = Vec::new();
    let dispatcher = Arc::new(Dispatcher { app: app.clone() });
    // Several consumers per queue, as Lambda runs several instances: they share the
    // TikTok budget through the table, and FIFO groups still run one job at a time.
    for queue in [app.product_queue.clone(), app.order_queue.clone()] {
        for _ in 0..args.consumers_per_queue {
            tasks.push(tokio::spawn(worker::run(queue.clone(), dispatcher.clone())));
        }
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
    // The runner's home page is the settings page (a person opens the bare address).
    let routes = http::all_routes().route("/", get(|| async { Redirect::to("/settings") }));
    let router = http::serve(app.clone(), routes);
    tasks.push(tokio::spawn(serve_http(listener, router)));
    Ok(Running {
        addr,
        app,
        sandboxes,
        tasks,
        local_queues,
    })
}

/// How long a client may take to send a request's head, also while a kept-alive
/// connection waits for its next request.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest a connection is kept; then it is closed after its current request.
pub const CONNECTION_LIFETIME: Duration = Duration::from_secs(300);

/// Serves `router` as a public server must (API Gateway does this in Lambda): a slow
/// or idle client is cut after [`HEADER_TIMEOUT`], a request after
/// [`http::REQUEST_TIMEOUT`], a connection after [`CONNECTION_LIFETIME`], so slow
/// connections cannot hold the server.
async fn serve_http(listener: tokio::net::TcpListener, router: axum::Router) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(error) => {
                tracing::warn!(%error, "accepting a connection failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let service = hyper_util::service::TowerToHyperService::new(router.clone());
        tokio::spawn(async move {
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT);
            let connection = builder.serve_connection(hyper_util::rt::TokioIo::new(stream), service);
            tokio::pin!(connection);
            tokio::select! {
                _ = connection.as_mut() => {}
                _ = tokio::time::sleep(CONNECTION_LIFETIME) => {
                    connection.as_mut().graceful_shutdown();
                    let _ = tokio::time::timeout(http::REQUEST_TIMEOUT, connection).await;
                }
            }
        });
    }
}

/// A browser stand-in: keeps the cookies it is given (by name and path, with removals),
/// sends them back on matching paths, and follows redirects when asked. Used by
/// `--sandbox` onboarding and by the end-to-end tests.
pub struct Browser {
    http: reqwest::Client,
    cookies: cookie::CookieJar,
}

/// One HTTP answer as a browser sees it.
pub struct Answer {
    /// Status code.
    pub status: u16,
    /// `Location`, on redirects.
    pub location: Option<String>,
    /// Whether the answer set a cookie.
    pub set_cookie: bool,
    /// Body text.
    pub body: String,
}

impl Browser {
    /// A browser without cookies.
    pub fn new() -> anyhow::Result<Self> {
        Ok(Self {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()?,
            cookies: cookie::CookieJar::new(),
        })
    }

    /// The `Cookie` header this browser sends to `url` (cookies whose path covers it).
    pub fn cookie_header(&self, url: &str) -> Option<String> {
        let path = reqwest::Url::parse(url)
            .map(|u| u.path().to_string())
            .unwrap_or_default();
        let sent: Vec<String> = self
            .cookies
            .iter()
            .filter(|c| path.starts_with(c.path().unwrap_or("/")))
            .map(|c| c.stripped().encoded().to_string())
            .collect();
        (!sent.is_empty()).then(|| sent.join("; "))
    }

    /// The value of cookie `name`, if set.
    pub fn cookie_value(&self, name: &str) -> Option<String> {
        self.cookies.get(name).map(|c| c.value().to_string())
    }

    /// Sets cookie `name` for every path, as a script or an attacker in the browser would.
    pub fn set_cookie(&mut self, name: &str, value: &str) {
        self.cookies
            .add(cookie::Cookie::build((name.to_string(), value.to_string())).path("/"));
    }

    async fn send(&mut self, url: &str, request: reqwest::RequestBuilder) -> anyhow::Result<Answer> {
        let request = match self.cookie_header(url) {
            Some(cookie) => request.header("cookie", cookie),
            None => request,
        };
        let response = request.send().await?;
        let mut set_cookie = false;
        for value in response.headers().get_all("set-cookie") {
            let Ok(parsed) = cookie::Cookie::parse_encoded(value.to_str()?.to_string()) else {
                continue;
            };
            set_cookie = true;
            if parsed.max_age().is_some_and(|age| age.is_zero()) {
                self.cookies.remove(parsed);
            } else {
                self.cookies.add(parsed);
            }
        }
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        Ok(Answer {
            status,
            location,
            set_cookie,
            body: response.text().await?,
        })
    }

    /// One GET, no redirect followed.
    pub async fn get(&mut self, url: &str) -> anyhow::Result<Answer> {
        let request = self.http.get(url);
        self.send(url, request).await
    }

    /// A JSON POST with the CSRF header.
    pub async fn post_json(&mut self, url: &str, body: &serde_json::Value, csrf: &str) -> anyhow::Result<Answer> {
        let request = self.http.post(url).header("x-csrf-token", csrf).json(body);
        self.send(url, request).await
    }

    /// A JSON PUT with the CSRF header.
    pub async fn put_json(&mut self, url: &str, body: &serde_json::Value, csrf: &str) -> anyhow::Result<Answer> {
        let request = self.http.put(url).header("x-csrf-token", csrf).json(body);
        self.send(url, request).await
    }

    /// A form POST.
    pub async fn post_form(&mut self, url: &str, fields: &[(&str, &str)]) -> anyhow::Result<Answer> {
        let request = self.http.post(url).form(fields);
        self.send(url, request).await
    }

    /// Fills in the form of the page at `url` as a person would: loads the page, keeps
    /// its hidden fields (CSRF and form tokens), adds `fields` and posts it back to
    /// `url`.
    pub async fn fill_in(&mut self, url: &str, fields: &[(&str, &str)]) -> anyhow::Result<Answer> {
        let page = self.get(url).await?;
        let hidden = hidden_fields(&page.body);
        let mut all: Vec<(&str, &str)> = hidden.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        all.extend_from_slice(fields);
        self.post_form(url, &all).await
    }

    /// GETs `url` and follows redirects; returns the final URL and answer.
    pub async fn visit(&mut self, url: &str) -> anyhow::Result<(String, Answer)> {
        let mut url = url.to_string();
        for _ in 0..10 {
            let answer = self.get(&url).await.with_context(|| format!("visiting {url}"))?;
            match &answer.location {
                Some(location) if (300..400).contains(&answer.status) => {
                    url = reqwest::Url::parse(&url)?.join(location)?.to_string()
                }
                _ => return Ok((url, answer)),
            }
        }
        bail!("too many redirects from {url}")
    }
}

/// The `(name, value)` of every `<input type="hidden" name=… value=…>` of a page
/// (values without HTML entities, as the connector's tokens are).
fn hidden_fields(html: &str) -> Vec<(String, String)> {
    let attribute = |tag: &str, name: &str| {
        let start = tag.find(&format!("{name}=\""))? + name.len() + 2;
        Some(tag[start..].split('"').next()?.to_string())
    };
    html.split("<input")
        .skip(1)
        .filter_map(|rest| rest.split('>').next())
        .filter(|tag| tag.contains("type=\"hidden\""))
        .filter_map(|tag| Some((attribute(tag, "name")?, attribute(tag, "value")?)))
        .collect()
}

/// Installs the app on the BigCommerce sandbox store, opens it, and connects the
/// TikTok sandbox shops, all through the real HTTP flows. Returns a fresh link that
/// opens the settings page with a valid session (single use: it carries a signed JWT).
pub async fn onboard_sandbox(running: &Running) -> anyhow::Result<String> {
    let sandboxes = running.sandboxes.as_ref().context("not in sandbox mode")?;
    let mut browser = Browser::new()?;
    match &sandboxes.store_sandbox {
        StoreSandbox::BigCommerce(_) => {
            let (_, answer) = browser.visit(&format!("{}/sandbox/install", sandboxes.store)).await?;
            anyhow::ensure!(
                answer.status == 200,
                "the install callback answered {}: {}",
                answer.status,
                answer.body
            );
            let (_, answer) = browser.visit(&sandboxes.load_url().await?).await?;
            anyhow::ensure!(answer.status == 200, "opening the app answered {}", answer.status);
        }
        StoreSandbox::Magento2(_) => {
            let integration = magento2_sandbox::SandboxConfig::default_integration();
            let answer = browser
                .fill_in(
                    &format!("http://{}/connect/magento2", running.addr),
                    &[
                        ("store_url", sandboxes.store.as_str()),
                        ("store_code", "default"),
                        ("consumer_key", &integration.consumer_key),
                        ("consumer_secret", &integration.consumer_secret),
                        ("access_token", &integration.access_token),
                        ("access_token_secret", &integration.access_token_secret),
                    ],
                )
                .await?;
            anyhow::ensure!(
                answer.status == 303,
                "the Magento connection form answered {}: {}",
                answer.status,
                answer.body
            );
        }
        StoreSandbox::PrestaShop(_) => {
            let key = prestashop_sandbox::SandboxConfig::default_key();
            let answer = browser
                .fill_in(
                    &format!("http://{}/connect/prestashop", running.addr),
                    &[
                        ("store_url", sandboxes.store.as_str()),
                        ("id_shop", "1"),
                        ("key", &key.key),
                    ],
                )
                .await?;
            anyhow::ensure!(
                answer.status == 303,
                "the PrestaShop connection form answered {}: {}",
                answer.status,
                answer.body
            );
        }
    }
    let (landed, answer) = browser
        .visit(&format!("http://{}/tiktok/connect", running.addr))
        .await?;
    anyhow::ensure!(
        answer.status == 200 && landed.ends_with("/settings"),
        "connecting TikTok ended at {landed} with {}",
        answer.status
    );
    load_demo_catalogue(running, &mut browser).await?;
    match &sandboxes.store_sandbox {
        StoreSandbox::BigCommerce(_) => sandboxes.load_url().await,
        // A store the merchant hosts opens the app by connecting again (same credentials).
        StoreSandbox::Magento2(_) => Ok(format!("http://{}/connect/magento2", running.addr)),
        StoreSandbox::PrestaShop(_) => Ok(format!("http://{}/connect/prestashop", running.addr)),
    }
}

impl Sandboxes {
    /// The tenant id of the store [`onboard_sandbox`] connects.
    pub fn onboarded_store_id(&self) -> String {
        match &self.store_sandbox {
            StoreSandbox::BigCommerce(_) => "sbx1store".into(),
            StoreSandbox::Magento2(_) => {
                let url = reqwest::Url::parse(&self.store).expect("the sandbox URL parses");
                connector::store::tenant_id(Platform::Magento2, &connector::store::hosted_store_id(&url, "default"))
            }
            StoreSandbox::PrestaShop(_) => {
                let url = reqwest::Url::parse(&self.store).expect("the sandbox URL parses");
                connector::store::tenant_id(Platform::PrestaShop, &connector::store::hosted_store_id(&url, "1"))
            }
        }
    }
}

/// Imports the sandbox store's catalogue, maps a default profile and uploads every
/// product to the US shop, through the settings API (the products without images
/// stay Not ready, with the reason).
async fn load_demo_catalogue(running: &Running, browser: &mut Browser) -> anyhow::Result<()> {
    let base = format!("http://{}", running.addr);
    let session: serde_json::Value =
        serde_json::from_str(&browser.get(&format!("{base}/settings/api/session")).await?.body)?;
    let csrf = session["csrf_token"].as_str().context("no CSRF token")?.to_string();
    let started = browser
        .post_json(&format!("{base}/settings/api/imports"), &serde_json::json!({}), &csrf)
        .await?;
    anyhow::ensure!(started.status == 200, "the import was refused: {}", started.body);
    let activity: serde_json::Value = serde_json::from_str(&started.body)?;
    let activity_id = activity["id"].as_str().context("no activity")?.to_string();
    // About 30 s per 10,000 products; up to 10 minutes.
    let mut done = false;
    for _ in 0..12_000 {
        let progress: serde_json::Value = serde_json::from_str(
            &browser
                .get(&format!("{base}/settings/api/activities/{activity_id}"))
                .await?
                .body,
        )?;
        if progress["status"] == "done" {
            done = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    anyhow::ensure!(done, "the import did not finish");
    let profile = serde_json::json!({"id": "", "name": "Default", "priority": 0, "is_default": true, "matching": "all", "rules": [],
        "category_id": "900010", "attributes": [], "brand_id": null, "price_rule": {"adjustment": {"kind": "none"}, "rounding": "cents"},
        "size_chart_uri": null, "certifications": []});
    let saved = browser
        .post_json(&format!("{base}/settings/api/profiles"), &profile, &csrf)
        .await?;
    anyhow::ensure!(saved.status == 200, "the default profile was refused: {}", saved.body);
    let shops: serde_json::Value =
        serde_json::from_str(&browser.get(&format!("{base}/settings/api/shops")).await?.body)?;
    let us = shops
        .as_array()
        .and_then(|s| s.iter().find(|s| s["region"] == "US"))
        .context("no US shop")?;
    let upload = serde_json::json!({"shop_id": us["shop_id"], "all_ready": true});
    let queued = browser
        .post_json(&format!("{base}/settings/api/uploads"), &upload, &csrf)
        .await?;
    anyhow::ensure!(queued.status == 200, "the upload was refused: {}", queued.body);
    Ok(())
}

impl Sandboxes {
    /// A fresh `/bigcommerce/load` link with a signed JWT for the first sandbox store.
    pub async fn load_url(&self) -> anyhow::Result<String> {
        let answer: serde_json::Value = reqwest::get(format!("{}/sandbox/load-url", self.store))
            .await?
            .json()
            .await?;
        answer["url"]
            .as_str()
            .map(str::to_string)
            .context("the sandbox gave no load URL")
    }
}
