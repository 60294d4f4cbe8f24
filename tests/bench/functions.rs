//! Per function: each of the eleven release binaries (`target/lambda/<name>/bootstrap`)
//! measured as Lambda would run it, under the runtime API emulator of
//! [`connector_e2e::lambda`] against moto and both sandboxes: its size, its cold start,
//! its peak memory under load and its warm time per event; then what an order and a
//! stock change cost at AWS's list prices from those times.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::Context as _;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use connector_e2e::lambda::{
    self, Deployment, FUNCTIONS, Function, SHOP, STORE, bootstrap, fixture, fixture_product, live_sku,
    signed_tiktok_webhook, with_session,
};
use connector_local::Running;
use serde_json::{Value, json};

use crate::report::{Figure, Section};

/// Processes started per function for the cold-start distribution.
const COLD_STARTS: usize = 10;
/// Goal for spawn → ready (first `next` request).
const READY_GOAL: Duration = Duration::from_millis(30);
/// Goal for a release binary's size, in MiB.
const SIZE_GOAL_MIB: f64 = 10.0;
/// Goal for a process's peak resident memory, in MiB.
const RSS_GOAL_MIB: f64 = 48.0;
/// At most this many runs of a scheduled function in its warm load (a schedule runs
/// once a minute at most; its memory and time matter less than the handlers').
const SCHEDULE_RUNS: usize = 20;

/// AWS list prices (us-east-1, the ones `docs/operations.md` uses).
const LAMBDA_ARM_PER_GB_SECOND: f64 = 0.000_013_333_4;
const LAMBDA_PER_MILLION_REQUESTS: f64 = 0.20;
const HTTP_API_PER_MILLION_REQUESTS: f64 = 1.00;
const SQS_STANDARD_PER_MILLION_REQUESTS: f64 = 0.40;
const SQS_FIFO_PER_MILLION_REQUESTS: f64 = 0.50;
const DYNAMODB_PER_MILLION_WRITE_UNITS: f64 = 0.625;
const DYNAMODB_PER_MILLION_READ_UNITS: f64 = 0.125;
const LOGS_PER_GB: f64 = 0.50;

/// What one flow uses per occurrence in `docs/operations.md`'s cost table (SQS
/// requests: send, receive, delete; DynamoDB units: items under 1 KB).
struct DocumentedUse {
    sqs_requests: f64,
    table_writes: f64,
    table_reads: f64,
}
const ORDER_USE: DocumentedUse = DocumentedUse {
    sqs_requests: 3.0,
    table_writes: 19.0,
    table_reads: 8.0,
};
const STOCK_USE: DocumentedUse = DocumentedUse {
    sqs_requests: 3.0,
    table_writes: 8.0,
    table_reads: 9.0,
};

/// The per-function section: for each of the eleven functions its release binary's size
/// (goal ≤ 10 MiB), [`COLD_STARTS`] cold starts (spawn → ready, goal ≤ 30 ms; spawn →
/// first event answered), its peak RSS after `events` events (goal ≤ 48 MiB; a schedule
/// runs at most [`SCHEDULE_RUNS`] times) and its warm time per event; then the measured
/// DynamoDB and SQS calls and the cost of 1 M orders and 1 M stock changes.
///
/// Needs the binaries (else the section says how to build them) and moto: at
/// `AWS_ENDPOINT_URL`, or started here from `.venv-test/bin/moto_server` (else the
/// section says it is missing). Errors when the stack does not start or a function
/// answers an event wrongly.
pub async fn functions(events: usize) -> anyhow::Result<Section> {
    let mut section = Section::new("functions", "Per function: size, cold start, memory, cost");
    let absent: Vec<_> = FUNCTIONS.into_iter().filter(|f| !bootstrap(f).exists()).collect();
    if !absent.is_empty() {
        section.note(format!(
            "Not measured: no release binary for {absent:?}. Build them as `scripts/test` does: \
             `CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 cargo lambda build --release` \
             with `--package <function>` for each of `functions/*`."
        ));
        return Ok(section);
    }
    let stale = lambda::stale_binaries();
    if !stale.is_empty() {
        section.note(format!(
            "The binaries of {stale:?} are older than the sources: these figures are of the last build."
        ));
    }
    for name in FUNCTIONS {
        let bytes = std::fs::metadata(bootstrap(name))?.len();
        let mib = bytes as f64 / MIB;
        section.push(Figure::value(
            format!("{name}: release binary"),
            format!("{mib:.1} MiB"),
            Some((format!("≤ {SIZE_GOAL_MIB:.0} MiB"), mib <= SIZE_GOAL_MIB)),
        ));
    }

    let _moto = match Emulator::ensure().await? {
        Emulator::Given => None,
        Emulator::Started(moto) => Some(moto),
        Emulator::Missing(why) => {
            section.note(format!("Cold starts, memory and cost not measured: {why}."));
            return Ok(section);
        }
    };
    let data_dir = tempfile::tempdir()?;
    let (running, _, deployment) = lambda::binaries_only_stack(data_dir.path()).await?;
    let mut load = Load::new(&running, &deployment).await?;

    // Other work on the machine lengthens cold starts most: said next to them.
    let load_average = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "unknown".into());
    let mut measured = BTreeMap::new();
    for name in FUNCTIONS {
        let mut ready = Vec::new();
        let mut first_answer = Vec::new();
        for _ in 0..COLD_STARTS {
            // The event first: some take a sandbox call to make, which the timing would count.
            let event = load.event(name).await?;
            let mut function = deployment.start(name).await?;
            let answer = function.respond(event.body).await?;
            check(name, event.expect, &answer)?;
            ready.extend(function.ready_after());
            first_answer.extend(function.first_answer_after());
        }
        section.push(Figure::latency(
            format!("{name}: cold start, spawn → ready"),
            ready,
            Some(READY_GOAL),
        ));
        section.push(Figure::latency(
            format!("{name}: cold start, spawn → first event answered"),
            first_answer,
            None,
        ));

        let runs = if scheduled(name) {
            events.min(SCHEDULE_RUNS)
        } else {
            events
        }
        .max(2);
        let warm = warm_load(&deployment, &mut load, name, runs).await?;
        let mib = warm.peak_rss_bytes as f64 / MIB;
        section.push(Figure::value(
            format!("{name}: peak RSS after {runs} events"),
            format!("{mib:.1} MiB"),
            Some((format!("≤ {RSS_GOAL_MIB:.0} MiB"), mib <= RSS_GOAL_MIB)),
        ));
        section.push(Figure::latency(
            format!("{name}: warm time per event (handed out → answered)"),
            warm.invocations.iter().map(|i| i.took).collect(),
            None,
        ));
        measured.insert(name, warm);
    }

    cost(&mut section, &measured)?;
    section.note(format!(
        "Each function: {COLD_STARTS} processes spawned one after another, each answering one event (ready = its first \
         `GET /2018-06-01/runtime/invocation/next`); then one process answering {events} events in a row (a schedule \
         at most {SCHEDULE_RUNS}), its peak RSS (`VmHWM`) read just before it was stopped. Warm times leave out that \
         process's first event. Events: the oauth-callback load re-signed with a fresh `jti`, the dashboard in that \
         session, webhook-ingest alternating a TikTok order notification and a BigCommerce inventory webhook (both \
         signed), an order-worker `sync_order` job per new TikTok order, a product-worker `sync_stock` job per new \
         store stock level, and each schedule's fixture. Ready includes the start-up's read of the app secret; every \
         AWS call goes through a recording proxy to moto (Python, a few milliseconds a call), so AWS-bound times are \
         moto's, not DynamoDB's. Load average (1 min) when the measuring began: {load_average}."
    ));
    section.note(
        "Binaries from `cargo lambda build --release` without whole-program LTO (`CARGO_PROFILE_RELEASE_LTO=false \
         CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16`, as `scripts/test` builds them; `sam build` deploys them with LTO, \
         smaller), for this machine's architecture; sizes and memory in MiB (2^20 bytes). On loopback against moto and \
         the in-process sandboxes: a store or TikTok call takes about a millisecond here, 150–300 ms in production.",
    );
    Ok(section)
}

/// Whether `function` runs on a schedule (its fixture is `<function>.schedule.json`).
fn scheduled(function: &str) -> bool {
    lambda::workspace()
        .join("tests/events")
        .join(format!("{function}.schedule.json"))
        .exists()
}

const MIB: f64 = 1024.0 * 1024.0;

/// What a good answer to an event looks like.
#[derive(Clone, Copy)]
enum Expect {
    /// An API Gateway response with this status code.
    Status(u16),
    /// An SQS batch response without failures.
    NoBatchFailures,
    /// A schedule's `null`.
    Null,
}

/// Errors unless `answer` is what `expect` says.
fn check(function: &str, expect: Expect, answer: &Value) -> anyhow::Result<()> {
    let good = match expect {
        Expect::Status(status) => answer["statusCode"] == status,
        Expect::NoBatchFailures => answer["batchItemFailures"] == json!([]),
        Expect::Null => answer.is_null(),
    };
    anyhow::ensure!(good, "{function} answered {answer}");
    Ok(())
}

/// One event to send and the answer it should get.
struct Event {
    body: Value,
    expect: Expect,
    /// The flow it belongs to, for the costs (webhook-ingest takes both).
    flow: Flow,
}

/// The flow an event is part of.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Flow {
    Order,
    StockChange,
    Other,
}

/// Makes events each function can take again and again: fresh ids, fresh signatures,
/// a new TikTok order for each order job, a new store stock level for each stock job.
struct Load<'a> {
    running: &'a Running,
    http: reqwest::Client,
    /// Numbers the ids of this run's events.
    serial: u64,
    /// The session a load opened, for the dashboard.
    session: Vec<String>,
    /// The store's webhook header secret (`X-Connector-Token`).
    webhook_secret: String,
    /// A live listing's (TikTok SKU, seller SKU), ordered by the new TikTok orders.
    sku: (String, String),
    /// The TikTok notification each webhook-ingest event alternates with a store webhook.
    ingest_turn: u64,
}

impl<'a> Load<'a> {
    /// Reads the store's webhook secret, picks a live SKU (its store stock raised so
    /// that orders never run out) and opens a session with the oauth-callback binary.
    async fn new(running: &'a Running, deployment: &Deployment) -> anyhow::Result<Load<'a>> {
        let store = connector::accounts::get_store(running.app.table.as_ref(), STORE)
            .await?
            .context("the sandbox store is installed")?;
        let webhook_secret = store
            .webhook_secret(&running.app.secrets.token_cipher)
            .context("the store's webhook secret")?
            .expose()
            .to_string();
        let (tiktok_sku, seller_sku, product) = live_sku(running).await?;
        let mut load = Load {
            running,
            http: reqwest::Client::new(),
            serial: 0,
            session: Vec::new(),
            webhook_secret,
            sku: (tiktok_sku, seller_sku),
            ingest_turn: 0,
        };
        load.set_store_stock(&product, 1_000_000).await?;
        let mut oauth = deployment.start("oauth-callback").await?;
        let event = load.event("oauth-callback").await?;
        let answer = oauth.respond(event.body).await?;
        check("oauth-callback", event.expect, &answer)?;
        load.session = serde_json::from_value(answer["cookies"].clone()).unwrap_or_default();
        anyhow::ensure!(!load.session.is_empty(), "the load opened no session: {answer}");
        Ok(load)
    }

    /// The next event for `function`.
    async fn event(&mut self, function: &str) -> anyhow::Result<Event> {
        self.serial += 1;
        let serial = self.serial;
        let secrets = &self.running.app.secrets;
        let (body, expect, flow) = match function {
            "oauth-callback" => (self.load_link(serial)?, Expect::Status(303), Flow::Other),
            "settings-api" => (
                with_session(fixture("settings-api.dashboard.json"), &self.session),
                Expect::Status(200),
                Flow::Other,
            ),
            "webhook-ingest" => {
                self.ingest_turn += 1;
                if self.ingest_turn % 2 == 1 {
                    let webhook = signed_tiktok_webhook(secrets, |notification| {
                        notification["tts_notification_id"] = json!(format!("73271123930{serial:08}"));
                        notification["data"]["order_id"] = json!(order_id(serial));
                    });
                    (webhook, Expect::Status(200), Flow::Order)
                } else {
                    (self.store_webhook(serial), Expect::Status(200), Flow::StockChange)
                }
            }
            "order-worker" => {
                let order = order_id(serial);
                let placed = connector_e2e::tiktok_admin(
                    self.running,
                    "/sandbox/orders",
                    &connector_e2e::tiktok_order(SHOP, &order, &[(&self.sku.0, &self.sku.1)]),
                )
                .await;
                anyhow::ensure!(placed.status().is_success(), "the TikTok sandbox took no order");
                let batch = with_job(fixture("order-worker.sqs-batch.json"), serial, |job| {
                    job["payload"]["order_id"] = json!(order);
                    job["group"] = json!(format!("{SHOP}/order/{order}"));
                });
                (batch, Expect::NoBatchFailures, Flow::Order)
            }
            "product-worker" => {
                self.set_store_stock(&fixture_product(), 100 + serial % 500).await?;
                let batch = with_job(fixture("product-worker.sqs-batch.json"), serial, |_| {});
                (batch, Expect::NoBatchFailures, Flow::StockChange)
            }
            schedule => (fixture(&format!("{schedule}.schedule.json")), Expect::Null, Flow::Other),
        };
        Ok(Event { body, expect, flow })
    }

    /// The oauth-callback fixture with its `signed_payload_jwt` signed again with a
    /// fresh `jti` (a load link opens the app once).
    fn load_link(&self, serial: u64) -> anyhow::Result<Value> {
        let event = fixture("oauth-callback.bigcommerce-load.json");
        let old = event["queryStringParameters"]["signed_payload_jwt"]
            .as_str()
            .context("the load fixture's JWT")?
            .to_string();
        let payload = old.split('.').nth(1).context("a JWT payload")?;
        let mut claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload)?)?;
        claims["jti"] = json!(format!("bench-load-{serial}-{}", uuid::Uuid::new_v4().simple()));
        let new = bigcommerce_sandbox::signing::sign_jwt(
            &claims,
            self.running.app.secrets.bigcommerce_client_secret.expose(),
        );
        Ok(serde_json::from_str(&event.to_string().replace(&old, &new))?)
    }

    /// A BigCommerce `store/product/inventory/updated` delivery, as API Gateway hands it
    /// to webhook-ingest, with the store's header secret and the Standard Webhooks
    /// signature. Each names a product of its own: changes of a product whose stock sync
    /// is pending coalesce into it (no new job), and each of these should cost a job.
    fn store_webhook(&self, serial: u64) -> Value {
        let product = 900_000 + serial;
        let now = jiff::Timestamp::now().as_second();
        let body = json!({"scope": "store/product/inventory/updated", "store_id": "1",
            "data": {"type": "product", "id": product, "inventory": {"product_id": product, "method": "absolute", "value": serial % 500}},
            "hash": format!("{serial:040}"), "created_at": now, "producer": format!("stores/{STORE}")})
        .to_string();
        let webhook_id = format!("msg_bench_{serial}");
        let signature = bigcommerce_sandbox::signing::sign_webhook(
            self.running.app.secrets.bigcommerce_client_secret.expose().as_bytes(),
            &webhook_id,
            now,
            &body,
        );
        let mut event = fixture("webhook-ingest.tiktok-order.json");
        event["rawPath"] = json!("/webhooks/bigcommerce");
        event["requestContext"]["http"]["path"] = json!("/webhooks/bigcommerce");
        event["headers"] = json!({
            "host": event["headers"]["host"], "content-type": "application/json",
            "x-connector-token": self.webhook_secret, "webhook-id": webhook_id,
            "webhook-timestamp": now.to_string(), "webhook-signature": signature,
        });
        event["body"] = json!(body);
        event
    }

    /// Sets `product`'s stock in the BigCommerce sandbox to `level`.
    async fn set_store_stock(&self, product: &str, level: u64) -> anyhow::Result<()> {
        let changed = self
            .http
            .post(format!(
                "{}/sandbox/products/{product}/stock",
                connector_e2e::bigcommerce(self.running)
            ))
            .json(&json!({"inventory_level": level}))
            .send()
            .await?;
        anyhow::ensure!(
            changed.status().is_success(),
            "the store sandbox refused a stock level: {}",
            changed.status()
        );
        Ok(())
    }
}

/// This run's TikTok order number `serial`.
fn order_id(serial: u64) -> String {
    format!("5764614150{serial:08}")
}

/// An SQS batch fixture whose one job has ids of its own (`serial`) and `edit` applied.
fn with_job(mut batch: Value, serial: u64, edit: impl FnOnce(&mut Value)) -> Value {
    let record = &mut batch["Records"][0];
    let mut job: Value = serde_json::from_str(record["body"].as_str().unwrap_or("{}")).unwrap_or_default();
    job["id"] = json!(format!("bench-job-{serial}"));
    job["idempotency_key"] = json!(format!("bench-{serial}"));
    edit(&mut job);
    record["messageId"] = json!(format!("bench-message-{serial}"));
    record["body"] = json!(job.to_string());
    batch
}

/// One warm invocation: its flow, its time in the process, what it called and logged.
struct Invocation {
    flow: Flow,
    took: Duration,
    calls: Vec<String>,
    log_bytes: u64,
}

/// What one process did under load.
struct Warm {
    /// Every invocation after the first (cold) one.
    invocations: Vec<Invocation>,
    /// `VmHWM` just before the process was stopped.
    peak_rss_bytes: u64,
}

/// Starts `name` once and sends it `runs` events in a row, each checked.
async fn warm_load(
    deployment: &Deployment,
    load: &mut Load<'_>,
    name: &'static str,
    runs: usize,
) -> anyhow::Result<Warm> {
    let mut function: Function = deployment.start(name).await?;
    let mut invocations = Vec::new();
    for run in 0..runs {
        let event = load.event(name).await?;
        let (calls_before, logged_before) = (function.calls().len(), function.stdout_bytes());
        let answer = function.respond(event.body).await?;
        check(name, event.expect, &answer)?;
        if run > 0 {
            invocations.push(Invocation {
                flow: event.flow,
                took: *function.handling().last().context("a timed invocation")?,
                calls: function.calls()[calls_before..]
                    .iter()
                    .map(|(action, _)| action.clone())
                    .collect(),
                log_bytes: function.stdout_bytes().saturating_sub(logged_before),
            });
        }
    }
    let peak_rss_bytes = function
        .peak_rss_bytes()
        .context("no VmHWM in /proc/<pid>/status (not Linux?)")?;
    Ok(Warm {
        invocations,
        peak_rss_bytes,
    })
}

/// Averages over one function's warm invocations of one flow.
#[derive(Default, Debug)]
struct PerEvent {
    /// Billed milliseconds (each invocation rounded up to 1 ms, as Lambda bills).
    billed_ms: f64,
    table_writes: f64,
    table_reads: f64,
    queue_sends: f64,
    log_bytes: f64,
}

/// The averages of `function`'s warm invocations of `flow`; errors when there is none.
fn per_event(measured: &BTreeMap<&str, Warm>, function: &str, flow: Flow) -> anyhow::Result<PerEvent> {
    let of_flow: Vec<_> = measured[function]
        .invocations
        .iter()
        .filter(|i| i.flow == flow)
        .collect();
    anyhow::ensure!(!of_flow.is_empty(), "no warm {flow:?} invocation of {function}");
    let count = of_flow.len() as f64;
    let mut average = PerEvent::default();
    for invocation in &of_flow {
        average.billed_ms += (invocation.took.as_secs_f64() * 1000.0).ceil() / count;
        average.log_bytes += invocation.log_bytes as f64 / count;
        for action in &invocation.calls {
            let (writes, reads, sends) = match action.as_str() {
                "dynamodb:PutItem" | "dynamodb:UpdateItem" | "dynamodb:DeleteItem" | "dynamodb:ConditionCheckItem" => {
                    (1.0, 0.0, 0.0)
                }
                "dynamodb:GetItem" | "dynamodb:Query" | "dynamodb:Scan" | "dynamodb:BatchGetItem" => (0.0, 1.0, 0.0),
                "sqs:SendMessage" => (0.0, 0.0, 1.0),
                _ => (0.0, 0.0, 0.0),
            };
            average.table_writes += writes / count;
            average.table_reads += reads / count;
            average.queue_sends += sends / count;
        }
    }
    Ok(average)
}

/// The MemorySize `template.yaml` gives `function` (its own, else the Globals'), in MB.
fn memory_size(function: &str) -> anyhow::Result<f64> {
    let template = std::fs::read_to_string(lambda::workspace().join("template.yaml"))?;
    let lines: Vec<&str> = template.lines().collect();
    let size_in = |block: &[&str]| {
        block
            .iter()
            .find_map(|l| l.trim().strip_prefix("MemorySize:"))
            .and_then(|v| v.trim().parse::<f64>().ok())
    };
    let own = lines
        .iter()
        .position(|l| l.contains(&format!("Binary: {function} ")))
        .and_then(|start| {
            let end = lines[start + 1..]
                .iter()
                .position(|l| l.starts_with("  ") && !l.starts_with("   ") && l.trim_end().ends_with(':'))
                .map_or(lines.len(), |i| start + 1 + i);
            size_in(&lines[start..end])
        });
    let global = lines.iter().position(|l| l.starts_with("Globals:")).and_then(|start| {
        let end = lines[start + 1..]
            .iter()
            .position(|l| !l.is_empty() && !l.starts_with(' '))
            .map_or(lines.len(), |i| start + 1 + i);
        size_in(&lines[start..end])
    });
    own.or(global).context("no MemorySize in template.yaml")
}

/// The cost of 1 M orders and 1 M stock changes from the measured warm times, with the
/// documented DynamoDB and SQS use, and the measured calls next to the documented ones.
fn cost(section: &mut Section, measured: &BTreeMap<&str, Warm>) -> anyhow::Result<()> {
    let flows = [
        (
            "orders",
            Flow::Order,
            "order-worker",
            SQS_FIFO_PER_MILLION_REQUESTS,
            ORDER_USE,
            "FIFO",
        ),
        (
            "stock changes",
            Flow::StockChange,
            "product-worker",
            SQS_STANDARD_PER_MILLION_REQUESTS,
            STOCK_USE,
            "standard",
        ),
    ];
    for (what, flow, worker, sqs_price, documented, queue_kind) in flows {
        let ingest = per_event(measured, "webhook-ingest", flow)?;
        let work = per_event(measured, worker, flow)?;
        let gb_seconds = ingest.billed_ms / 1000.0 * memory_size("webhook-ingest")? / 1024.0
            + work.billed_ms / 1000.0 * memory_size(worker)? / 1024.0;
        let compute = gb_seconds * LAMBDA_ARM_PER_GB_SECOND * 1e6;
        let requests = 2.0 * LAMBDA_PER_MILLION_REQUESTS;
        let http_api = HTTP_API_PER_MILLION_REQUESTS;
        let queue = documented.sqs_requests * sqs_price;
        let writes = documented.table_writes * DYNAMODB_PER_MILLION_WRITE_UNITS;
        let reads = documented.table_reads * DYNAMODB_PER_MILLION_READ_UNITS;
        let logs = (ingest.log_bytes + work.log_bytes) * 1e6 / 1e9 * LOGS_PER_GB;
        let total = compute + requests + http_api + queue + writes + reads + logs;
        section.push(Figure::value(
            format!("cost per 1 M {what}"),
            format!("${total:.2}"),
            None,
        ));
        section.note(format!(
            "1 M {what}: Lambda compute ${compute:.2} (webhook-ingest {:.1} ms + {worker} {:.1} ms billed on average), \
             Lambda requests ${requests:.2}, HTTP API ${http_api:.2}, SQS ${queue:.2} ({} {queue_kind} requests), \
             DynamoDB writes ${writes:.2} ({} units) and reads ${reads:.2} ({} units), logs ${logs:.2} \
             ({:.0} bytes of stdout): ${total:.2}.",
            ingest.billed_ms,
            work.billed_ms,
            documented.sqs_requests,
            documented.table_writes,
            documented.table_reads,
            ingest.log_bytes + work.log_bytes,
        ));
        section.push(Figure::value(
            format!(
                "DynamoDB calls per {} (measured: writes, reads)",
                &what[..what.len() - 1]
            ),
            format!(
                "{:.1} writes, {:.1} reads (operations.md: {} writes, {} reads)",
                ingest.table_writes + work.table_writes,
                ingest.table_reads + work.table_reads,
                documented.table_writes,
                documented.table_reads,
            ),
            None,
        ));
        section.push(Figure::value(
            format!("SQS sends per {} (measured)", &what[..what.len() - 1]),
            format!("{:.1}", ingest.queue_sends + work.queue_sends),
            None,
        ));
    }
    section.note(format!(
        "Prices (us-east-1 list prices, as in docs/operations.md): Lambda arm64 ${LAMBDA_ARM_PER_GB_SECOND} per GB-s and \
         ${LAMBDA_PER_MILLION_REQUESTS:.2} per 1 M requests, at the template's MemorySize; HTTP API \
         ${HTTP_API_PER_MILLION_REQUESTS:.2} per 1 M requests; SQS ${SQS_STANDARD_PER_MILLION_REQUESTS:.2} per 1 M \
         requests (64 KB chunks; FIFO ${SQS_FIFO_PER_MILLION_REQUESTS:.2}); DynamoDB on demand \
         ${DYNAMODB_PER_MILLION_WRITE_UNITS} per 1 M write units and ${DYNAMODB_PER_MILLION_READ_UNITS} per 1 M read \
         units; CloudWatch Logs ${LOGS_PER_GB:.2} per GB. Compute from the measured warm times (billed per 1 ms); \
         the table and queue use per order and per stock change is operations.md's (an item under 1 KB is one unit, a \
         transaction's items counted one each; measured calls next to it, a ConditionCheck counted as a write). A stock \
         change comes in through webhook-ingest (the same function takes TikTok and store webhooks)."
    ));
    Ok(())
}

/// moto_server started here, stopped when dropped.
struct Moto(std::process::Child);

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Where the AWS emulator comes from.
enum Emulator {
    /// `AWS_ENDPOINT_URL` was set.
    Given,
    /// Started here on a free port (and `AWS_ENDPOINT_URL` set to it).
    Started(Moto),
    /// Neither: why.
    Missing(String),
}

impl Emulator {
    /// Uses `AWS_ENDPOINT_URL`, else starts `.venv-test/bin/moto_server` on a free
    /// loopback port and points `AWS_ENDPOINT_URL` (and test credentials, if unset) at
    /// it; errors when the started moto does not answer within 30 s.
    async fn ensure() -> anyhow::Result<Emulator> {
        if std::env::var_os("AWS_ENDPOINT_URL").is_some() {
            return Ok(Emulator::Given);
        }
        let server = lambda::workspace().join(".venv-test/bin/moto_server");
        if !server.exists() {
            return Ok(Emulator::Missing(format!(
                "AWS_ENDPOINT_URL is not set and there is no {} (`scripts/test` installs it)",
                server.display()
            )));
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let moto = Moto(
            std::process::Command::new(&server)
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .with_context(|| format!("{} starts", server.display()))?,
        );
        let url = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        let mut answering = false;
        for _ in 0..300 {
            if http.get(format!("{url}/moto-api/")).send().await.is_ok() {
                answering = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        anyhow::ensure!(answering, "moto_server on port {port} did not answer within 30 s");
        let variables = [
            ("AWS_ENDPOINT_URL", url.as_str()),
            ("AWS_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_SECRET_ACCESS_KEY", "test"),
        ];
        for (name, value) in variables {
            if name == "AWS_ENDPOINT_URL" || std::env::var_os(name).is_none() {
                // SAFETY: set before the stack or any SDK client starts, while nothing
                // else in this process reads or writes the environment.
                unsafe { std::env::set_var(name, value) };
            }
        }
        Ok(Emulator::Started(moto))
    }
}
