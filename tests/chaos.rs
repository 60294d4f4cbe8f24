//! The chaos run: thousands of TikTok orders and store stock changes through the local
//! stack while both sandboxes inject faults (5xx, 429, timeouts, answers dropped after
//! the call took effect, duplicate, dropped and reordered webhooks) and the connector's
//! table "crashes" right after a share of its writes ([`CrashingTable`]). Then the
//! faults stop, the stack settles, and [`Report`] counts what matters: duplicate and
//! lost store orders, oversells beyond the reserve, and failures without a reason.
//! `cargo run -p connector-e2e --bin chaos` runs it at scale; the `chaos` test runs a
//! small one.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use async_trait::async_trait;
use connector::app::App;
use connector::catalog::records;
use connector::orders::{self, SyncState};
use connector::rules::catalog::InventoryPolicy;
use connector::schedules::{self, Schedule};
use connector::storage::{Condition, Item, Page, Query, StorageError, Table, WriteOp};
use connector::store::InventoryTracking;
use connector_local::{Running, onboard_sandbox, start_with};
use futures_util::StreamExt as _;
use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};
use serde_json::{Value, json};

use crate::{merchant, stack_args, tiktok_order};

const STORE: &str = "sbx1store";

/// A [`Table`] whose successful writes fail, for a share of them, *after* they were
/// written: the worker "died" right after the write, so its job is not acknowledged
/// and comes back. Reads are never touched.
pub struct CrashingTable {
    inner: Arc<dyn Table>,
    /// The share of writes that crash, in millionths.
    share: AtomicU64,
    rng: Mutex<StdRng>,
    crashes: AtomicU64,
}

impl CrashingTable {
    /// Wraps `inner`; no write crashes until [`CrashingTable::set_share`].
    pub fn new(inner: Arc<dyn Table>, seed: u64) -> Self {
        Self {
            inner,
            share: AtomicU64::new(0),
            rng: Mutex::new(StdRng::seed_from_u64(seed)),
            crashes: AtomicU64::new(0),
        }
    }

    /// Sets the share (0 to 1) of successful writes that crash afterwards.
    pub fn set_share(&self, share: f64) {
        self.share
            .store((share.clamp(0.0, 1.0) * 1e6) as u64, Ordering::Relaxed);
    }

    /// Crashes injected so far.
    pub fn crashes(&self) -> u64 {
        self.crashes.load(Ordering::Relaxed)
    }

    /// Passes a write's outcome through, or turns a success into a crash.
    fn after_write(&self, written: Result<(), StorageError>) -> Result<(), StorageError> {
        let share = self.share.load(Ordering::Relaxed);
        let crash = written.is_ok()
            && share > 0
            && self.rng.lock().expect("crash dice lock").random_range(0..1_000_000) < share;
        if crash {
            self.crashes.fetch_add(1, Ordering::Relaxed);
            return Err(StorageError::Unavailable("injected crash after the write".into()));
        }
        written
    }
}

#[async_trait]
impl Table for CrashingTable {
    async fn get(&self, pk: &str, sk: &str) -> Result<Option<Item>, StorageError> {
        self.inner.get(pk, sk).await
    }

    async fn put(&self, item: Item, condition: Condition) -> Result<(), StorageError> {
        self.after_write(self.inner.put(item, condition).await)
    }

    async fn delete(&self, pk: &str, sk: &str, condition: Condition) -> Result<(), StorageError> {
        self.after_write(self.inner.delete(pk, sk, condition).await)
    }

    async fn query(&self, query: Query) -> Result<Page, StorageError> {
        self.inner.query(query).await
    }

    async fn transact(&self, ops: Vec<WriteOp>) -> Result<(), StorageError> {
        self.after_write(self.inner.transact(ops).await)
    }

    async fn replace(&self, item: Item) -> Result<Option<Item>, StorageError> {
        let replaced = self.inner.replace(item).await?;
        self.after_write(Ok(())).map(|()| replaced)
    }

    async fn add(&self, pk: &str, sk: &str, counts: Vec<(String, i64)>) -> Result<(), StorageError> {
        self.after_write(self.inner.add(pk, sk, counts).await)
    }
}

/// What a chaos run does.
#[derive(Debug, Clone)]
pub struct Plan {
    /// TikTok orders placed.
    pub orders: usize,
    /// Store stock changes made (absolute levels, bursts on one SKU, storefront sales).
    pub stock_changes: usize,
    /// The whole run, setup included, must end within this.
    pub limit: Duration,
    /// On DynamoDB and SQS (`AWS_ENDPOINT_URL`, moto) rather than in-process.
    pub aws: bool,
    /// Seeds the sandboxes' dice, the crash dice and the traffic.
    pub seed: u64,
    /// The faults both sandboxes inject while the traffic runs.
    pub faults: Value,
    /// Share of the connector's successful writes that crash afterwards.
    pub crash_share: f64,
    /// Units the inventory policy holds back from TikTok.
    pub reserve: i64,
}

impl Plan {
    /// The mix: 10% 5xx, 2% 429, 0.1% timeouts, 2% answers dropped after the
    /// effect, 5% duplicate, 2% dropped and 10% reordered webhooks, 2% of writes crashing.
    pub fn new(orders: usize, stock_changes: usize, limit: Duration, aws: bool, seed: u64) -> Self {
        Self {
            orders,
            stock_changes,
            limit,
            aws,
            seed,
            faults: json!({"error_share": 0.1, "rate_limit_share": 0.02, "timeout_share": 0.001, "drop_share": 0.02,
                           "duplicate_share": 0.05, "drop_webhook_share": 0.02, "reorder_share": 0.1, "reorder_ms": 2000}),
            crash_share: 0.02,
            reserve: 2,
        }
    }
}

/// A SKU of the run: live on TikTok, stock tracked in the store.
#[derive(Debug, Clone)]
pub struct Sku {
    /// TikTok's SKU id.
    pub tiktok_id: String,
    /// The store's SKU code (TikTok's `seller_sku`).
    pub seller_sku: String,
    /// The store's product id.
    pub product_id: u64,
    /// The store's variant id.
    pub variant_id: u64,
    /// Whether the store tracks its stock per variant (else per product).
    pub by_variant: bool,
}

/// The figures of a run.
#[derive(Debug, Default)]
pub struct Report {
    /// TikTok orders placed.
    pub orders: usize,
    /// Store orders created for them.
    pub store_orders: usize,
    /// Store orders beyond the first for one TikTok order.
    pub duplicates: usize,
    /// TikTok orders with no store order and no reason (ids).
    pub lost: Vec<String>,
    /// TikTok orders without a store order, parked or in error with their reason.
    pub parked_orders: Vec<(String, String)>,
    /// Jobs parked after every retry, with their reason.
    pub parked_jobs: Vec<(String, String)>,
    /// Store stock changes made.
    pub stock_changes: usize,
    /// SKUs whose stock was compared.
    pub skus: usize,
    /// SKUs where TikTok offers more than the store has less the reserve:
    /// (seller SKU, TikTok units, store units less reserve).
    pub oversells: Vec<(String, u64, i64)>,
    /// SKUs where TikTok offers less than it could (held for open orders: no violation).
    pub under: usize,
    /// Faults injected, by source and kind.
    pub faults: BTreeMap<String, u64>,
    /// Whether orders and stock settled before the time limit.
    pub settled: bool,
    /// Wall time of the whole run.
    pub wall: Duration,
    /// Setup: the stack started, the catalogue live on TikTok, the reserve set.
    pub setup: Duration,
    /// Wall time of the traffic (orders and stock changes sent).
    pub traffic: Duration,
    /// From the end of the traffic until every order had landed (store order or reason).
    pub orders_landed: Duration,
}

impl Report {
    /// What breaks the run's promises, in words (empty when it passed).
    pub fn violations(&self) -> Vec<String> {
        let mut violations = Vec::new();
        if self.duplicates > 0 {
            violations.push(format!("{} duplicate store orders", self.duplicates));
        }
        if !self.lost.is_empty() {
            violations.push(format!("{} lost orders: {:?}", self.lost.len(), first(&self.lost)));
        }
        if !self.oversells.is_empty() {
            violations.push(format!(
                "{} oversold SKUs: {:?}",
                self.oversells.len(),
                first(&self.oversells)
            ));
        }
        let silent = self
            .parked_orders
            .iter()
            .chain(&self.parked_jobs)
            .filter(|(_, reason)| reason.trim().is_empty())
            .count();
        if silent > 0 {
            violations.push(format!("{silent} failures without a reason"));
        }
        if !self.settled {
            violations.push("the stack did not settle within the time limit".into());
        }
        violations
    }
}

fn first<T: fmt::Debug>(items: &[T]) -> &[T] {
    &items[..items.len().min(5)]
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let faults: u64 = self.faults.values().sum();
        writeln!(f, "orders placed:        {}", self.orders)?;
        writeln!(f, "store orders created: {}", self.store_orders)?;
        writeln!(f, "duplicates:           {}", self.duplicates)?;
        writeln!(f, "lost:                 {}", self.lost.len())?;
        writeln!(f, "parked orders:        {}", self.parked_orders.len())?;
        for (id, reason) in first(&self.parked_orders) {
            writeln!(f, "  {id}: {reason}")?;
        }
        writeln!(f, "parked jobs:          {}", self.parked_jobs.len())?;
        for (job, reason) in first(&self.parked_jobs) {
            writeln!(f, "  {job}: {reason}")?;
        }
        writeln!(f, "stock changes:        {}", self.stock_changes)?;
        writeln!(
            f,
            "SKUs compared:        {} ({} oversold, {} below the store for open orders)",
            self.skus,
            self.oversells.len(),
            self.under
        )?;
        writeln!(f, "faults injected:      {faults}")?;
        for (kind, count) in &self.faults {
            writeln!(f, "  {kind}: {count}")?;
        }
        writeln!(f, "settled:              {}", self.settled)?;
        writeln!(f, "setup time:           {:.0?}", self.setup)?;
        writeln!(f, "traffic time:         {:.0?}", self.traffic)?;
        writeln!(f, "orders landed after:  {:.0?}", self.orders_landed)?;
        write!(f, "wall time:            {:.0?}", self.wall)
    }
}

/// Runs `plan` and reports; an error means the run itself could not be made.
pub async fn run(plan: &Plan) -> anyhow::Result<Report> {
    let started = Instant::now();
    let deadline = started + plan.limit;
    let data_dir = tempfile::tempdir()?;
    let crashing: Arc<Mutex<Option<Arc<CrashingTable>>>> = Arc::default();
    let slot = crashing.clone();
    let seed = plan.seed;
    let running = start_with(
        &stack_args(data_dir.path(), plan.aws, true, 60),
        Box::new(move |table| {
            let table = Arc::new(CrashingTable::new(table, seed));
            *slot.lock().expect("crash slot") = Some(table.clone());
            table
        }),
    )
    .await?;
    let crashing = crashing
        .lock()
        .expect("crash slot")
        .clone()
        .context("the table was not wrapped")?;
    onboard_sandbox(&running).await?;
    let (shop, skus) = live_skus(&running).await?;
    let (mut browser, base, csrf) = merchant(&running).await;
    let policy = InventoryPolicy {
        reserve: plan.reserve,
        ..InventoryPolicy::default()
    };
    let answer = browser
        .put_json(
            &format!("{base}/settings/api/settings"),
            &json!({ "inventory": policy }),
            &csrf,
        )
        .await?;
    anyhow::ensure!(answer.status == 200, "the reserve was refused: {}", answer.body);

    let mut faults = plan.faults.clone();
    faults["seed"] = json!(plan.seed);
    set_faults(&running, &faults).await?;
    crashing.set_share(plan.crash_share);
    let schedules = tokio::spawn(compressed_schedules(running.app.clone()));

    let setup = started.elapsed();
    eprintln!("chaos: set up in {setup:.0?}; faults on, traffic starts");
    let traffic_started = Instant::now();
    let ids = traffic(&running, plan, &shop, &skus).await?;
    let traffic = traffic_started.elapsed();
    eprintln!("chaos: traffic sent in {traffic:.0?}");
    // Under faults until every order has landed or half the time left is spent.
    let traffic_ended = Instant::now();
    let under_faults = traffic_ended + (deadline - traffic_ended.min(deadline)) / 2;
    orders_done(&running, &ids, under_faults).await;
    set_faults(&running, &json!({})).await?;
    crashing.set_share(0.0);
    let orders_settled = orders_done(&running, &ids, deadline).await;
    let orders_landed = traffic_ended.elapsed();
    let stock_settled = stock_settles(&running, &skus, policy, deadline).await;
    schedules.abort();

    let mut report = count(&running, &ids, &skus, policy).await?;
    report.stock_changes = plan.stock_changes;
    report.settled = orders_settled && stock_settled;
    for (source, base) in sandbox_bases(&running) {
        let answer: Value = reqwest::get(format!("{base}/sandbox/faults")).await?.json().await?;
        for (kind, count) in answer["injected"].as_object().into_iter().flatten() {
            report
                .faults
                .insert(format!("{source} {kind}"), count.as_u64().unwrap_or(0));
        }
    }
    report
        .faults
        .insert("connector crash after write".into(), crashing.crashes());
    report.setup = setup;
    report.traffic = traffic;
    report.orders_landed = orders_landed;
    report.wall = started.elapsed();
    Ok(report)
}

fn sandbox_bases(running: &Running) -> [(&'static str, String); 2] {
    let sandboxes = running.sandboxes.as_ref().expect("sandbox mode");
    [
        ("tiktok", sandboxes.tiktok.clone()),
        ("bigcommerce", sandboxes.store.clone()),
    ]
}

async fn set_faults(running: &Running, faults: &Value) -> anyhow::Result<()> {
    for (source, base) in sandbox_bases(running) {
        let answer = reqwest::Client::new()
            .post(format!("{base}/sandbox/faults"))
            .json(faults)
            .send()
            .await?;
        anyhow::ensure!(answer.status() == 200, "the {source} sandbox refused the faults");
    }
    Ok(())
}

/// The US shop and every SKU live on it whose stock the store tracks.
pub async fn live_skus(running: &Running) -> anyhow::Result<(String, Vec<Sku>)> {
    let table = running.app.table.as_ref();
    let (shop, live) = crate::live_demo_listings(running).await?;
    let products = records::all_products(table, STORE).await?;
    let mut skus = Vec::new();
    for listing in &live {
        let Some(product) = products.iter().find(|p| p.id == listing.product_id) else {
            continue;
        };
        if product.inventory_tracking == InventoryTracking::None {
            continue;
        }
        for (variant_id, tiktok_id) in &listing.skus {
            let Some(variant) = product.variants.iter().find(|v| &v.id == variant_id) else {
                continue;
            };
            skus.push(Sku {
                tiktok_id: tiktok_id.clone(),
                seller_sku: variant.sku.clone(),
                product_id: product.id.parse()?,
                variant_id: variant.id.parse()?,
                by_variant: product.inventory_tracking == InventoryTracking::Variant,
            });
        }
    }
    anyhow::ensure!(skus.len() >= 10, "only {} live tracked SKUs", skus.len());
    Ok((shop, skus))
}

/// One thing the traffic does.
enum Act {
    /// A TikTok order of these SKUs (one unit each).
    Order(String, Vec<usize>),
    /// The store's stock of a SKU set to a level.
    SetStock(usize, i64),
    /// A storefront sale of units of a SKU.
    Sale(usize, u64),
}

/// Places the orders and makes the stock changes, interleaved and a few at a time;
/// returns the TikTok order ids.
async fn traffic(running: &Running, plan: &Plan, shop: &str, skus: &[Sku]) -> anyhow::Result<Vec<String>> {
    let mut rng = StdRng::seed_from_u64(plan.seed);
    let hot = rng.random_range(0..skus.len());
    let mut stock = Vec::new();
    while stock.len() < plan.stock_changes {
        match rng.random_range(0..10) {
            // A burst: ten levels in a row for the hot SKU.
            0 | 1 => {
                for _ in 0..10.min(plan.stock_changes - stock.len()) {
                    stock.push(Act::SetStock(hot, rng.random_range(0..40)));
                }
            }
            2 | 3 => stock.push(Act::Sale(rng.random_range(0..skus.len()), rng.random_range(1..=2))),
            _ => stock.push(Act::SetStock(rng.random_range(0..skus.len()), rng.random_range(0..300))),
        }
    }
    let orders: Vec<Act> = (0..plan.orders)
        .map(|i| {
            let lines = (0..rng.random_range(1..=2))
                .map(|_| rng.random_range(0..skus.len()))
                .collect();
            Act::Order(format!("57700{:013}", plan.seed % 1000 * 10_000_000 + i as u64), lines)
        })
        .collect();
    let ids: Vec<String> = orders
        .iter()
        .filter_map(|act| match act {
            Act::Order(id, _) => Some(id.clone()),
            _ => None,
        })
        .collect();
    // Interleave: as many stock changes per order as the plan's ratio.
    let mut acts = Vec::with_capacity(orders.len() + stock.len());
    let (mut orders, mut stock) = (orders.into_iter().peekable(), stock.into_iter().peekable());
    while orders.peek().is_some() || stock.peek().is_some() {
        let take_order = match (orders.peek(), stock.peek()) {
            (Some(_), Some(_)) => rng.random_range(0..plan.orders + plan.stock_changes) < plan.orders,
            (order, _) => order.is_some(),
        };
        acts.extend(if take_order { orders.next() } else { stock.next() });
    }
    let sandboxes = running.sandboxes.as_ref().expect("sandbox mode");
    let http = reqwest::Client::new();
    let failures = AtomicU64::new(0);
    futures_util::stream::iter(acts)
        .for_each_concurrent(8, |act| {
            let (http, failures) = (&http, &failures);
            async move {
                let request = match &act {
                    Act::Order(id, lines) => {
                        let units: Vec<(&str, &str)> = lines
                            .iter()
                            .map(|&i| (skus[i].tiktok_id.as_str(), skus[i].seller_sku.as_str()))
                            .collect();
                        http.post(format!("{}/sandbox/orders", sandboxes.tiktok))
                            .json(&tiktok_order(shop, id, &units))
                    }
                    Act::SetStock(i, level) => {
                        let sku = &skus[*i];
                        let mut body = json!({ "inventory_level": level });
                        if sku.by_variant {
                            body["variant_id"] = json!(sku.variant_id);
                        }
                        http.post(format!("{}/sandbox/products/{}/stock", sandboxes.store, sku.product_id))
                            .json(&body)
                    }
                    Act::Sale(i, quantity) => {
                        let sku = &skus[*i];
                        let line =
                            json!({"product_id": sku.product_id, "variant_id": sku.variant_id, "quantity": quantity});
                        http.post(format!("{}/sandbox/orders", sandboxes.store))
                            .json(&json!({ "products": [line] }))
                    }
                };
                let done = request.send().await.is_ok_and(|r| r.status().is_success());
                if !done {
                    failures.fetch_add(1, Ordering::Relaxed);
                }
            }
        })
        .await;
    let failures = failures.into_inner();
    anyhow::ensure!(failures == 0, "{failures} sandbox admin calls failed");
    Ok(ids)
}

/// The schedules at a faster pace than the local runner's (minutes become seconds): the
/// order poller and the retry sweep every 15 s (a failed run is the next one's work).
async fn compressed_schedules(app: Arc<App>) {
    loop {
        tokio::time::sleep(Duration::from_secs(15)).await;
        let _ = schedules::run(&app, Schedule::PollOrders).await;
        let _ = schedules::run(&app, Schedule::SweepRetries).await;
    }
}

/// Store orders by external order id, read from the BigCommerce sandbox's world.
fn store_orders_by_external_id(running: &Running) -> HashMap<String, usize> {
    let sandbox = &running.sandboxes.as_ref().expect("sandbox mode").bigcommerce_sandbox();
    let state = sandbox.lock();
    let mut counts = HashMap::new();
    for order in state.stores[STORE].orders.values() {
        if let Some(external) = order["external_order_id"].as_str().filter(|e| !e.is_empty()) {
            *counts.entry(external.to_string()).or_default() += 1;
        }
    }
    counts
}

/// A TikTok order without a store order that the connector parked (or keeps in error)
/// with its reason.
fn parked_reason(record: Option<&orders::OrderRecord>) -> Option<String> {
    record
        .filter(|r| matches!(r.state, SyncState::Parked | SyncState::Error))
        .map(|r| r.reason.clone().unwrap_or_default())
}

/// Waits until every order has a store order or a parked reason, or `until`; whether
/// they all did.
async fn orders_done(running: &Running, ids: &[String], until: Instant) -> bool {
    let table = running.app.table.as_ref();
    let mut told = Instant::now();
    loop {
        let created = store_orders_by_external_id(running);
        let missing: Vec<&String> = ids.iter().filter(|id| !created.contains_key(*id)).collect();
        if told.elapsed() > Duration::from_secs(30) {
            eprintln!(
                "chaos: {} of {} orders in the store",
                ids.len() - missing.len(),
                ids.len()
            );
            told = Instant::now();
        }
        let mut open = missing.len();
        if open <= 200 {
            open = 0;
            for id in missing {
                let record = orders::get_record(table, STORE, id).await.ok().flatten();
                if parked_reason(record.as_ref()).is_none_or(|r| r.is_empty()) {
                    open += 1;
                }
            }
        }
        if open == 0 {
            return true;
        }
        if Instant::now() >= until {
            return false;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

/// Each SKU's (TikTok units, store units less the reserve), from the sandboxes' worlds.
fn stock_pairs(running: &Running, skus: &[Sku], policy: InventoryPolicy) -> Vec<(u64, i64)> {
    let sandboxes = running.sandboxes.as_ref().expect("sandbox mode");
    let tiktok: HashMap<String, u64> = {
        let state = sandboxes.tiktok_sandbox.lock();
        state
            .products
            .values()
            .flat_map(|p| p["skus"].as_array().cloned().unwrap_or_default())
            .map(|s| {
                let units = s["inventory"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|w| w["quantity"].as_u64())
                    .sum();
                (s["id"].as_str().unwrap_or_default().to_string(), units)
            })
            .collect()
    };
    let state = sandboxes.bigcommerce_sandbox().lock();
    let products = &state.stores[STORE].products;
    skus.iter()
        .map(|sku| {
            let product = &products[&sku.product_id];
            let on_hand = if sku.by_variant {
                product
                    .variants
                    .iter()
                    .find(|v| v.id == sku.variant_id)
                    .map_or(0, |v| v.inventory)
            } else {
                product.inventory
            };
            let sellable = on_hand - product.safety_stock;
            let offered = tiktok.get(&sku.tiktok_id).copied().unwrap_or(0);
            (offered, i64::from(policy.publish(Some(sellable))))
        })
        .collect()
}

/// Runs the stock check (what the hourly schedule does) and waits until TikTok offers
/// no SKU more than the store less the reserve, or `until`; whether it settled.
async fn stock_settles(running: &Running, skus: &[Sku], policy: InventoryPolicy, until: Instant) -> bool {
    let mut checked_at: Option<Instant> = None;
    loop {
        if checked_at.is_none_or(|at| at.elapsed() > Duration::from_secs(20)) {
            let _ = schedules::run(&running.app, Schedule::ReconcileStock).await;
            checked_at = Some(Instant::now());
            // The repairs go through the coalescing window of the stock queue.
            tokio::time::sleep(Duration::from_secs(3)).await;
        }
        let pairs = stock_pairs(running, skus, policy);
        if pairs.iter().all(|(offered, allowed)| *offered as i64 <= *allowed) {
            return true;
        }
        if Instant::now() >= until {
            return false;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Counts orders, duplicates, lost and parked orders, parked jobs and oversells.
async fn count(running: &Running, ids: &[String], skus: &[Sku], policy: InventoryPolicy) -> anyhow::Result<Report> {
    let table = running.app.table.as_ref();
    let created = store_orders_by_external_id(running);
    let records: HashMap<String, orders::OrderRecord> = orders::all_records(table, STORE)
        .await?
        .into_iter()
        .map(|r| (r.tiktok_order_id.clone(), r))
        .collect();
    let mut report = Report {
        orders: ids.len(),
        skus: skus.len(),
        ..Report::default()
    };
    for id in ids {
        match created.get(id).copied().unwrap_or(0) {
            0 => match parked_reason(records.get(id)) {
                Some(reason) => report.parked_orders.push((id.clone(), reason)),
                None => report.lost.push(id.clone()),
            },
            n => {
                report.store_orders += n;
                report.duplicates += n - 1;
            }
        }
    }
    report.parked_jobs = connector::redrive::parked_jobs(table, STORE)
        .await?
        .into_iter()
        .map(|p| (format!("{:?} {}", p.job.kind, p.job.idempotency_key), p.reason))
        .collect();
    for (sku, (offered, allowed)) in skus.iter().zip(stock_pairs(running, skus, policy)) {
        if offered as i64 > allowed {
            report.oversells.push((sku.seller_sku.clone(), offered, allowed));
        } else if (offered as i64) < allowed {
            report.under += 1;
        }
    }
    Ok(report)
}
