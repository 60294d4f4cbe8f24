//! The function binaries as `cargo lambda build --release` leaves them
//! (`target/lambda/<function>/bootstrap`), run as Lambda runs them: each process under a
//! small emulator of the Lambda runtime API (`2018-06-01`: next invocation, response,
//! error, init error), with the environment the template gives it, against moto and the
//! sandboxes. Every AWS call a process makes goes through a recording proxy in front of
//! moto. Used by `tests/lambda_functions.rs` (each fixture answered, each call granted)
//! and by the `bench` binary (sizes, cold starts, memory, warm durations).

use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;
use std::path::{Path as FsPath, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use connector::catalog::records::{self, ListingStatus};
use connector::queue::QueueSettings;
use connector::queue::sqs::SqsQueue;
use connector_local::Running;
use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot};

/// The sandbox store of the fixtures (its tenant id).
pub const STORE: &str = "sbx1store";
/// The sandbox store's US shop, as the fixtures name it.
pub const SHOP: &str = "7494049642642441621";

/// The eleven functions, by binary name (`functions/<name>/`).
pub const FUNCTIONS: [&str; 11] = [
    "oauth-callback",
    "webhook-ingest",
    "settings-api",
    "product-worker",
    "order-worker",
    "order-poller",
    "store-poller",
    "return-poller",
    "token-refresher",
    "stock-reconciler",
    "retry-sweeper",
];

/// The repository's root directory.
pub fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The fixture `name` of `tests/events/`, parsed. Panics when it is missing or not JSON.
pub fn fixture(name: &str) -> Value {
    let path = workspace().join("tests/events").join(name);
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
        .expect("fixtures are JSON")
}

/// Where `cargo lambda build --release` put `function`'s binary (under
/// `CARGO_TARGET_DIR` when set, else `target/`).
pub fn bootstrap(function: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| workspace().join("target"), PathBuf::from);
    target.join("lambda").join(function).join("bootstrap")
}

/// The functions whose release binary is missing or older than the newest file under
/// `shared/src` and `functions/`.
pub fn stale_binaries() -> Vec<&'static str> {
    let sources = newest(&workspace().join("shared/src")).max(newest(&workspace().join("functions")));
    FUNCTIONS
        .into_iter()
        .filter(|f| {
            std::fs::metadata(bootstrap(f))
                .and_then(|m| m.modified())
                .map_or(true, |built| built < sources)
        })
        .collect()
}

/// Whether the release binaries are there and as new as the sources; a missing or older
/// one skips the test, except under `scripts/test` (which builds them first), where it
/// fails: a skipped test proves nothing.
pub fn binaries_built() -> bool {
    let stale = stale_binaries();
    crate::given(
        stale.is_empty(),
        &format!("no release binary as new as the sources for {stale:?} (`cargo lambda build --release` makes them)"),
    )
}

/// When the newest file under `dir` was last changed.
fn newest(dir: &FsPath) -> std::time::SystemTime {
    let mut newest = std::time::SystemTime::UNIX_EPOCH;
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        let changed = if path.is_dir() {
            self::newest(&path)
        } else {
            entry.metadata().and_then(|m| m.modified()).unwrap_or(newest)
        };
        newest = newest.max(changed);
    }
    newest
}

/// What the function answered to one invocation.
#[derive(Debug)]
pub enum Outcome {
    /// `POST /runtime/invocation/{id}/response`, with its body.
    Response(Value),
    /// `POST /runtime/invocation/{id}/error`, with its body.
    Error(Value),
}

/// An answer and when it was posted.
struct Answered {
    outcome: Outcome,
    at: Instant,
}

/// The runtime API of one function process: invocations wait in `next` for the
/// process to ask for them; answers go back through `pending`.
#[derive(Clone)]
struct RuntimeApi {
    next: Arc<tokio::sync::Mutex<mpsc::Receiver<(String, Value)>>>,
    pending: Arc<Mutex<HashMap<String, oneshot::Sender<Answered>>>>,
    init_error: Arc<Mutex<Option<String>>>,
    /// When the process first asked for an invocation (it was ready).
    first_poll: Arc<OnceLock<Instant>>,
    /// When each invocation (by request id) was handed to the process.
    handed_out: Arc<Mutex<HashMap<String, Instant>>>,
}

async fn next_invocation(State(api): State<RuntimeApi>) -> Response {
    api.first_poll.get_or_init(Instant::now);
    let Some((id, event)) = api.next.lock().await.recv().await else {
        return StatusCode::GONE.into_response();
    };
    api.handed_out.lock().unwrap().insert(id.clone(), Instant::now());
    let deadline = jiff::Timestamp::now().as_millisecond() + 60_000;
    (
        [
            ("lambda-runtime-aws-request-id", id),
            ("lambda-runtime-deadline-ms", deadline.to_string()),
            (
                "lambda-runtime-invoked-function-arn",
                "arn:aws:lambda:us-east-1:123456789012:function:fixture".to_string(),
            ),
            ("lambda-runtime-trace-id", "Root=1-fixture".to_string()),
            ("content-type", "application/json".to_string()),
        ],
        event.to_string(),
    )
        .into_response()
}

fn answer(api: &RuntimeApi, id: &str, body: &[u8], outcome: fn(Value) -> Outcome) -> StatusCode {
    let at = Instant::now();
    let value = serde_json::from_slice(body).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into()));
    match api.pending.lock().unwrap().remove(id) {
        Some(waiting) => {
            let _ = waiting.send(Answered {
                outcome: outcome(value),
                at,
            });
            StatusCode::ACCEPTED
        }
        None => StatusCode::NOT_FOUND,
    }
}

async fn invocation_response(State(api): State<RuntimeApi>, Path(id): Path<String>, body: Bytes) -> StatusCode {
    answer(&api, &id, &body, Outcome::Response)
}

async fn invocation_error(State(api): State<RuntimeApi>, Path(id): Path<String>, body: Bytes) -> StatusCode {
    answer(&api, &id, &body, Outcome::Error)
}

async fn init_error(State(api): State<RuntimeApi>, body: Bytes) -> StatusCode {
    *api.init_error.lock().unwrap() = Some(String::from_utf8_lossy(&body).into());
    StatusCode::ACCEPTED
}

/// Serves `router` on a free loopback port; its address.
async fn serve(router: axum::Router) -> anyhow::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    Ok(addr)
}

/// The AWS resources of the stack under test, by URL or name, and the template's
/// logical id of each (as `infra/template/permissions.json` names them).
#[derive(Clone)]
pub struct Resources {
    /// moto's base URL, where the proxy forwards every request.
    pub moto: String,
    /// The table's name (`ConnectorTable`).
    pub table: String,
    /// Each queue's URL and logical id (`ProductQueue`, `OrderQueue`, their dead-letter queues).
    pub queues: Vec<(String, &'static str)>,
    /// The app secret's name (`AppSecret`).
    pub secret: String,
}

impl Resources {
    /// The URL of the queue with this logical id; panics for an unknown one.
    fn queue_url(&self, logical: &str) -> &str {
        &self
            .queues
            .iter()
            .find(|(_, l)| *l == logical)
            .unwrap_or_else(|| panic!("no queue {logical}"))
            .0
    }

    /// The IAM actions and resources (logical ids) one AWS request asks for: DynamoDB
    /// transactions are authorized per item action, SendMessageBatch as SendMessage.
    fn actions(&self, headers: &HeaderMap, uri: &Uri, body: &[u8]) -> Vec<(String, String)> {
        let json: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let target = headers
            .get("x-amz-target")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let table = |request: &Value| {
            let name = request["TableName"].as_str().unwrap_or_default();
            let logical = if name == self.table { "ConnectorTable" } else { name };
            match request["IndexName"].as_str() {
                Some(_) => format!("{logical}/index/*"),
                None => logical.to_string(),
            }
        };
        let queue = |url: &str| {
            self.queues
                .iter()
                .find(|(known, _)| known == url)
                .map_or_else(|| url.to_string(), |(_, logical)| logical.to_string())
        };
        match target.split_once('.') {
            Some(("DynamoDB_20120810", "TransactWriteItems")) => json["TransactItems"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|item| item.as_object().into_iter().flatten())
                .map(|(kind, request)| {
                    let action = match kind.as_str() {
                        "ConditionCheck" => "ConditionCheckItem".to_string(),
                        other => format!("{other}Item"),
                    };
                    (format!("dynamodb:{action}"), table(request))
                })
                .collect(),
            Some(("DynamoDB_20120810", action)) => vec![(format!("dynamodb:{action}"), table(&json))],
            Some(("AmazonSQS", action)) => {
                let action = action.strip_suffix("Batch").unwrap_or(action);
                vec![(
                    format!("sqs:{action}"),
                    queue(json["QueueUrl"].as_str().unwrap_or_default()),
                )]
            }
            Some(("secretsmanager", action)) => {
                let secret = json["SecretId"].as_str().unwrap_or_default();
                let logical = if secret == self.secret { "AppSecret" } else { secret };
                vec![(format!("secretsmanager:{action}"), logical.to_string())]
            }
            _ if uri.path().starts_with("/v2/email/outbound-emails") => {
                vec![("ses:SendEmail".to_string(), "identity/*".to_string())]
            }
            _ => vec![(format!("unknown {target} {}", uri.path()), String::new())],
        }
    }
}

/// The recording proxy of one function process.
#[derive(Clone)]
struct Proxy {
    resources: Resources,
    calls: Arc<Mutex<Vec<(String, String)>>>,
    http: reqwest::Client,
}

/// Forwards an AWS request to moto unchanged, noting the actions it asks for.
async fn forward(State(proxy): State<Proxy>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    proxy
        .calls
        .lock()
        .unwrap()
        .extend(proxy.resources.actions(&headers, &uri, &body));
    let url = format!(
        "{}{}",
        proxy.resources.moto,
        uri.path_and_query().map_or("/", |p| p.as_str())
    );
    let mut request = proxy.http.request(method, url).body(body);
    for (name, value) in &headers {
        if name != "host" && name != "content-length" {
            request = request.header(name, value);
        }
    }
    let answer = match request.send().await {
        Ok(answer) => answer,
        Err(error) => return (StatusCode::BAD_GATEWAY, format!("moto did not answer: {error}")).into_response(),
    };
    let status = answer.status();
    let headers = answer.headers().clone();
    let body = answer.bytes().await.unwrap_or_default();
    let mut response = (status, body).into_response();
    for (name, value) in &headers {
        if name != "content-length" && name != "transfer-encoding" {
            response.headers_mut().insert(name, value.clone());
        }
    }
    response
}

/// The connector's AWS resources on moto as the template would make them (the stack's
/// table and queues, plus the app secret created here), and the environment the
/// template gives every function.
pub struct Deployment {
    /// The resources, for the recording proxies.
    pub resources: Resources,
    /// The functions' environment variables (table, queues, secret, public URL, sender
    /// address, sandbox endpoints, region and credentials for moto, log level).
    pub environment: Vec<(String, String)>,
    /// A client of moto's SQS.
    pub sqs: aws_sdk_sqs::Client,
}

impl Deployment {
    /// The deployment of the stack `running` on DynamoDB and SQS (moto at
    /// `AWS_ENDPOINT_URL`), whose table is `table_name` and whose sandbox keys are in
    /// `data_dir`: creates its own queues and the app secret the template would hold.
    /// Errors when `AWS_ENDPOINT_URL` is unset or moto refuses a call.
    pub async fn new(running: &Running, data_dir: &FsPath, table_name: &str) -> anyhow::Result<Deployment> {
        let moto = std::env::var("AWS_ENDPOINT_URL").context("AWS_ENDPOINT_URL is not set")?;
        let sdk = connector::app::aws_config().await;
        let sqs = aws_sdk_sqs::Client::new(&sdk);
        // Queues of their own: a receive the runner's aborted workers left waiting in
        // moto would take the first messages sent to the runner's queues.
        let mut queues = Vec::new();
        for (name, fifo, logical, dead_letters) in [
            ("products", false, "ProductQueue", "ProductDeadLetterQueue"),
            ("orders", true, "OrderQueue", "OrderDeadLetterQueue"),
        ] {
            let settings = QueueSettings {
                fifo,
                ..QueueSettings::default()
            };
            let (queue, dlq) =
                SqsQueue::create(sqs.clone(), &format!("{table_name}-functions-{name}"), &settings).await?;
            queues.push((queue.url().to_string(), logical));
            queues.push((dlq.url().to_string(), dead_letters));
        }
        let secrets = &running.app.secrets;
        let token_keys = std::fs::read_to_string(data_dir.join("sandbox/token-keys"))?;
        let secret_name = format!("{table_name}/app");
        aws_sdk_secretsmanager::Client::new(&sdk)
            .create_secret()
            .name(&secret_name)
            .secret_string(
                json!({
                    "TIKTOK_APP_KEY": secrets.tiktok_app_key,
                    "TIKTOK_APP_SECRET": secrets.tiktok_app_secret.expose(),
                    "TIKTOK_SERVICE_ID": secrets.tiktok_service_id,
                    "BIGCOMMERCE_CLIENT_ID": secrets.bigcommerce_client_id,
                    "BIGCOMMERCE_CLIENT_SECRET": secrets.bigcommerce_client_secret.expose(),
                    "BIGCOMMERCE_APP_ID": secrets.bigcommerce_app_id,
                    "TOKEN_KEYS": token_keys.trim(),
                })
                .to_string(),
            )
            .send()
            .await?;
        let resources = Resources {
            moto,
            table: table_name.to_string(),
            queues,
            secret: secret_name.clone(),
        };
        let queue_url = |logical: &str| resources.queue_url(logical).to_string();
        let endpoints = &running.app.endpoints;
        let environment = [
            ("TABLE_NAME", table_name.to_string()),
            ("PRODUCT_QUEUE_URL", queue_url("ProductQueue")),
            ("ORDER_QUEUE_URL", queue_url("OrderQueue")),
            ("PRODUCT_DLQ_URL", queue_url("ProductDeadLetterQueue")),
            ("ORDER_DLQ_URL", queue_url("OrderDeadLetterQueue")),
            ("PUBLIC_URL", running.app.public_url.clone()),
            ("APP_SECRET_ID", secret_name),
            ("NOTICE_FROM_EMAIL", connector::mail::DEFAULT_SENDER.to_string()),
            ("TIKTOK_API_URL", endpoints.tiktok_api.clone()),
            ("TIKTOK_AUTH_URL", endpoints.tiktok_auth.clone()),
            ("TIKTOK_AUTHORIZE_URL", endpoints.tiktok_authorize.clone()),
            ("BIGCOMMERCE_API_URL", endpoints.bigcommerce_api.clone()),
            ("BIGCOMMERCE_LOGIN_URL", endpoints.bigcommerce_login.clone()),
            ("AWS_REGION", "us-east-1".to_string()),
            ("AWS_ACCESS_KEY_ID", "test".to_string()),
            ("AWS_SECRET_ACCESS_KEY", "test".to_string()),
            ("RUST_LOG", "info".to_string()),
            ("METRICS_NAMESPACE", "TikTokShopConnector/fixture".to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        Ok(Deployment {
            resources,
            environment,
            sqs,
        })
    }

    /// The URL of the queue with this logical id (`ProductQueue`, `OrderQueue`,
    /// `ProductDeadLetterQueue`, `OrderDeadLetterQueue`).
    pub fn queue_url(&self, logical: &str) -> &str {
        self.resources.queue_url(logical)
    }

    /// Starts `name`'s release binary with this deployment's environment; errors when
    /// it cannot be spawned.
    pub async fn start(&self, name: &'static str) -> anyhow::Result<Function> {
        Function::start(name, &self.environment, &self.resources).await
    }
}

/// The local stack on DynamoDB and SQS (moto at `AWS_ENDPOINT_URL`) with both
/// sandboxes and 60 products, onboarded, its demo catalogue live and settled; then its
/// in-process server, workers and schedules stopped, so that only the binaries work
/// from here on (a webhook the sandboxes send now is lost, as in an outage). Returns
/// the stack, the US shop's live listings and the deployment the binaries run in.
pub async fn binaries_only_stack(data_dir: &FsPath) -> anyhow::Result<(Running, Vec<records::Listing>, Deployment)> {
    let args = crate::stack_args(data_dir, true, true, 60);
    let running = connector_local::start(&args).await.context("the local stack starts")?;
    connector_local::onboard_sandbox(&running).await?;
    let (_, live) = crate::live_demo_listings(&running).await?;
    anyhow::ensure!(
        running.settle(Duration::from_secs(3), Duration::from_secs(120)).await,
        "the stack did not settle within 2 minutes"
    );
    for task in &running.tasks {
        task.abort();
    }
    let deployment = Deployment::new(&running, data_dir, &args.table).await?;
    Ok((running, live, deployment))
}

/// A function process under the emulator, killed when dropped.
pub struct Function {
    /// The function's binary name.
    pub name: &'static str,
    queue: mpsc::Sender<(String, Value)>,
    api: RuntimeApi,
    process: std::process::Child,
    calls: Arc<Mutex<Vec<(String, String)>>>,
    /// When the process was spawned.
    spawned: Instant,
    /// How long each invocation took, from its event queued to its answer (the first
    /// one includes the process's start-up).
    durations: Vec<Duration>,
    /// How long each invocation took the process, from its event handed out (the
    /// answer to `next`) to its answer posted.
    handling: Vec<Duration>,
    /// When the first answer was posted.
    first_answer: Option<Instant>,
    /// What the process wrote to stdout (its JSON logs and metrics), as Lambda ships it.
    stdout: tempfile::NamedTempFile,
}

impl Drop for Function {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

impl Function {
    /// Starts `name`'s release binary with `environment` (plus the runtime API's own
    /// variables and `AWS_ENDPOINT_URL` at its recording proxy in front of `resources`'
    /// moto). Errors when the binary cannot be spawned.
    pub async fn start(
        name: &'static str,
        environment: &[(String, String)],
        resources: &Resources,
    ) -> anyhow::Result<Function> {
        let (queue, receiver) = mpsc::channel(4);
        let api = RuntimeApi {
            next: Arc::new(tokio::sync::Mutex::new(receiver)),
            pending: Arc::default(),
            init_error: Arc::default(),
            first_poll: Arc::default(),
            handed_out: Arc::default(),
        };
        let runtime = serve(
            axum::Router::new()
                .route("/2018-06-01/runtime/invocation/next", get(next_invocation))
                .route(
                    "/2018-06-01/runtime/invocation/{id}/response",
                    post(invocation_response),
                )
                .route("/2018-06-01/runtime/invocation/{id}/error", post(invocation_error))
                .route("/2018-06-01/runtime/init/error", post(init_error))
                .with_state(api.clone()),
        )
        .await?;
        let calls = Arc::new(Mutex::new(Vec::new()));
        let proxy = serve(axum::Router::new().fallback(forward).with_state(Proxy {
            resources: resources.clone(),
            calls: calls.clone(),
            http: reqwest::Client::new(),
        }))
        .await?;
        let stdout = tempfile::NamedTempFile::new()?;
        let mut command = std::process::Command::new(bootstrap(name));
        command
            .env_clear()
            .envs(environment.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("AWS_LAMBDA_RUNTIME_API", runtime.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", name)
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}"))
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "fixture")
            .env("AWS_ENDPOINT_URL", format!("http://{proxy}"))
            .stdout(stdout.reopen()?);
        let spawned = Instant::now();
        let process = command.spawn().with_context(|| format!("{name} starts"))?;
        Ok(Function {
            name,
            queue,
            api,
            process,
            calls,
            spawned,
            durations: Vec::new(),
            handling: Vec::new(),
            first_answer: None,
            stdout,
        })
    }

    /// Sends `event` and waits for the answer (a minute at most); errors when none comes.
    pub async fn invoke(&mut self, event: Value) -> anyhow::Result<Outcome> {
        let id = format!("{}-{}", self.name, self.durations.len() + 1);
        let started = Instant::now();
        let (sender, receiver) = oneshot::channel();
        self.api.pending.lock().unwrap().insert(id.clone(), sender);
        self.queue.send((id.clone(), event)).await?;
        let Ok(Ok(answered)) = tokio::time::timeout(Duration::from_secs(60), receiver).await else {
            anyhow::bail!(
                "{} gave no answer (init error: {:?}, exited: {:?})",
                self.name,
                self.api.init_error.lock().unwrap(),
                self.process.try_wait()
            );
        };
        self.durations.push(started.elapsed());
        if let Some(handed_out) = self.api.handed_out.lock().unwrap().remove(&id) {
            self.handling.push(answered.at.saturating_duration_since(handed_out));
        }
        self.first_answer.get_or_insert(answered.at);
        Ok(answered.outcome)
    }

    /// The answer to a successful invocation; errors on an error answer or none.
    pub async fn respond(&mut self, event: Value) -> anyhow::Result<Value> {
        match self.invoke(event).await? {
            Outcome::Response(value) => Ok(value),
            Outcome::Error(error) => anyhow::bail!("{} answered an error: {error}", self.name),
        }
    }

    /// How long the process took from its spawn to its first `next` request (ready
    /// for events); `None` before that.
    pub fn ready_after(&self) -> Option<Duration> {
        self.api
            .first_poll
            .get()
            .map(|at| at.saturating_duration_since(self.spawned))
    }

    /// How long the process took from its spawn to its first answer posted; `None`
    /// before it answered.
    pub fn first_answer_after(&self) -> Option<Duration> {
        self.first_answer.map(|at| at.saturating_duration_since(self.spawned))
    }

    /// Each invocation's time in the process so far, in order: from its event handed
    /// out to its answer posted.
    pub fn handling(&self) -> &[Duration] {
        &self.handling
    }

    /// The process's peak resident memory so far (`VmHWM` of `/proc/<pid>/status`), in
    /// bytes; `None` where `/proc` does not tell (not Linux, or the process ended).
    pub fn peak_rss_bytes(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.process.id())).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
        let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib * 1024)
    }

    /// Every AWS call so far, as (IAM action, logical resource), in order.
    pub fn calls(&self) -> Vec<(String, String)> {
        self.calls.lock().unwrap().clone()
    }

    /// How many bytes the process wrote to stdout so far (its logs and metrics).
    pub fn stdout_bytes(&self) -> u64 {
        std::fs::metadata(self.stdout.path()).map_or(0, |m| m.len())
    }

    /// The Embedded Metric Format documents the process wrote so far.
    pub fn metrics(&self) -> Vec<Value> {
        std::fs::read_to_string(self.stdout.path())
            .unwrap_or_default()
            .lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .filter(|line| line.get("_aws").is_some())
            .collect()
    }

    /// Asserts that every AWS call so far is one `permissions` (the parsed
    /// `infra/template/permissions.json`) grants this function, and that there was one.
    /// Prints what the invocations took and called (what `docs/operations.md`'s cost
    /// table is computed from).
    pub fn assert_calls_granted(&self, permissions: &Value) {
        let recorded = self.calls();
        let mut counted: std::collections::BTreeMap<&str, usize> = Default::default();
        for (action, _) in &recorded {
            *counted.entry(action.as_str()).or_default() += 1;
        }
        eprintln!(
            "{}: invocations took {:?}; AWS calls {counted:?}",
            self.name, self.durations
        );
        let calls: BTreeSet<_> = recorded.iter().cloned().collect();
        assert!(!calls.is_empty(), "{} made no AWS call at all", self.name);
        let granted = &permissions[self.name];
        let refused: Vec<_> = calls
            .iter()
            .filter(|(action, resource)| {
                !granted[resource.as_str()]
                    .as_array()
                    .is_some_and(|actions| actions.iter().any(|a| a == action.as_str()))
            })
            .collect();
        assert!(
            refused.is_empty(),
            "{} called {refused:?}, which infra/template/permissions.json (and so the template) does not grant it",
            self.name
        );
    }
}

/// `event` with the session cookies of `set_cookies` (a load's `Set-Cookie` values) in
/// place of the fixture's placeholder.
pub fn with_session(mut event: Value, set_cookies: &[String]) -> Value {
    let cookies: Vec<String> = set_cookies
        .iter()
        .map(|c| c.split(';').next().unwrap_or_default().to_string())
        .collect();
    event["cookies"] = json!(cookies);
    event
}

/// The webhook-ingest fixture (a TikTok order notification) with its `timestamp` set to
/// now, `edit` applied to the notification, and signed again with the app's key and
/// secret as TikTok signs it.
pub fn signed_tiktok_webhook(secrets: &connector::secrets::AppSecrets, edit: impl FnOnce(&mut Value)) -> Value {
    let mut webhook = fixture("webhook-ingest.tiktok-order.json");
    let mut notification: Value =
        serde_json::from_str(webhook["body"].as_str().expect("the fixture has a body")).expect("a JSON body");
    notification["timestamp"] = json!(jiff::Timestamp::now().as_second());
    edit(&mut notification);
    let body = notification.to_string();
    webhook["headers"]["authorization"] = json!(tiktok_sandbox::signing::webhook_signature(
        &secrets.tiktok_app_key,
        secrets.tiktok_app_secret.expose(),
        body.as_bytes()
    ));
    webhook["body"] = json!(body);
    webhook
}

/// The store product of the product-worker fixture's stock job.
pub fn fixture_product() -> String {
    let batch = fixture("product-worker.sqs-batch.json");
    let job: Value = serde_json::from_str(batch["Records"][0]["body"].as_str().unwrap()).unwrap();
    job["payload"]["product_id"].as_str().unwrap().to_string()
}

/// A live single-SKU listing of the US shop other than the fixture product's: (TikTok
/// SKU id, seller SKU, store product id). Errors when there is none.
pub async fn live_sku(running: &Running) -> anyhow::Result<(String, String, String)> {
    let table = running.app.table.as_ref();
    let listing = records::shop_listings(table, STORE, SHOP)
        .await?
        .into_iter()
        .find(|l| l.status == ListingStatus::Live && l.product_id != fixture_product())
        .context("a live listing")?;
    let (variant, sku) = listing.skus[0].clone();
    let seller = records::all_products(table, STORE)
        .await?
        .into_iter()
        .flat_map(|p| p.variants)
        .find(|v| v.id == variant)
        .context("the listing's variant")?
        .sku;
    Ok((sku, seller, listing.product_id))
}
