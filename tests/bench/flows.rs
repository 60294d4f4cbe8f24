//! Order intake and stock sync, end to end on the local stack with both sandboxes:
//! TikTok webhook sent → store order created, store stock change → TikTok inventory
//! updated (single changes, bursts on one SKU, storefront sales), and the recovery of
//! orders whose webhook was dropped. Traffic is open-loop (sent at a fixed rate, not
//! one after the other), and arrivals are read from the sandboxes' state every 2 ms.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use connector::metrics::Metric;
use connector_e2e::chaos::{Sku, live_skus};
use connector_local::{Running, StoreSandbox, onboard_sandbox, start};
use serde_json::{Value, json};

use crate::report::{Figure, Section};

/// Round trips of a run: the sandboxes' added latency per API call and the queue hop.
#[derive(Clone, Copy)]
pub struct Mode {
    /// The key of its section in `docs/benchmarks.md`.
    pub key: &'static str,
    /// How the run is named in the figures.
    pub name: &'static str,
    /// Milliseconds added to every TikTok API call.
    pub tiktok_ms: u64,
    /// Milliseconds added to every store API call.
    pub store_ms: u64,
    /// Milliseconds each queue send takes.
    pub queue_hop_ms: u64,
    /// Workers per queue (Lambda instances).
    pub consumers_per_queue: u16,
    /// The p99 goal of the order and stock latencies.
    pub goal: Duration,
}

/// The sandboxes on loopback as they are.
pub const LOOPBACK: Mode = Mode {
    key: "flows-loopback",
    name: "loopback",
    tiktok_ms: 0,
    store_ms: 0,
    queue_hop_ms: 0,
    consumers_per_queue: 4,
    goal: Duration::from_millis(300),
};

/// Round trips as in production: TikTok 150 ms, BigCommerce 300 ms, 20 ms per queue
/// hop, and 10 workers per queue (the template's `MaximumConcurrency`).
pub const REALISTIC: Mode = Mode {
    key: "flows-realistic",
    name: "realistic round trips",
    tiktok_ms: 150,
    store_ms: 300,
    queue_hop_ms: 20,
    consumers_per_queue: 10,
    goal: Duration::from_secs(2),
};

/// How much traffic a flow run sends.
pub struct Load {
    /// TikTok orders placed.
    pub orders: usize,
    /// Orders placed per second.
    pub order_rate: f64,
    /// Store stock changes (a burst's ten count ten).
    pub stock_changes: usize,
    /// Stock changes per second.
    pub stock_rate: f64,
    /// Storefront sales.
    pub sales: usize,
    /// Orders whose webhook is dropped.
    pub dropped: usize,
}

/// The local stack with its sandboxes, onboarded, and the live SKUs to trade.
struct Stack {
    running: Running,
    _data: tempfile::TempDir,
    http: reqwest::Client,
    shop: String,
    skus: Vec<Sku>,
    mode: Mode,
}

impl Stack {
    async fn start(mode: Mode) -> anyhow::Result<Self> {
        let data = tempfile::tempdir()?;
        let mut args = connector_e2e::stack_args(data.path(), false, true, 60);
        args.queue_hop_ms = mode.queue_hop_ms;
        args.consumers_per_queue = mode.consumers_per_queue;
        let running = start(&args).await?;
        onboard_sandbox(&running).await?;
        let (shop, skus) = live_skus(&running).await?;
        let stack = Self {
            running,
            _data: data,
            http: reqwest::Client::new(),
            shop,
            skus,
            mode,
        };
        // Plenty of stock for a thousand orders (under TikTok's cap of 99,999, so a
        // sale shows), then a quiet start.
        for sku in &stack.skus {
            stack.set_stock(sku, 10_000).await?;
        }
        stack
            .running
            .settle(Duration::from_secs(3), Duration::from_secs(120))
            .await;
        stack.faults(json!({}), json!({})).await?;
        Ok(stack)
    }

    fn sandboxes(&self) -> &connector_local::Sandboxes {
        self.running.sandboxes.as_ref().expect("sandbox mode")
    }

    /// Sets the mode's latency plus `tiktok` and `store` faults on each sandbox.
    async fn faults(&self, mut tiktok: Value, mut store: Value) -> anyhow::Result<()> {
        tiktok["latency_ms"] = json!(self.mode.tiktok_ms);
        store["latency_ms"] = json!(self.mode.store_ms);
        let sandboxes = self.sandboxes();
        for (base, faults) in [(&sandboxes.tiktok, tiktok), (&sandboxes.store, store)] {
            self.admin(format!("{base}/sandbox/faults"), &faults, "setting faults")
                .await?;
        }
        Ok(())
    }

    /// Posts `body` to a sandbox admin route; an answer other than 2xx fails `what`.
    async fn admin(&self, url: String, body: &Value, what: &str) -> anyhow::Result<()> {
        let answer = self.http.post(url).json(body).send().await?;
        anyhow::ensure!(answer.status().is_success(), "{what} answered {}", answer.status());
        Ok(())
    }

    async fn set_stock(&self, sku: &Sku, level: u64) -> anyhow::Result<()> {
        let mut body = json!({ "inventory_level": level });
        if sku.by_variant {
            body["variant_id"] = json!(sku.variant_id);
        }
        let url = format!("{}/sandbox/products/{}/stock", self.sandboxes().store, sku.product_id);
        self.admin(url, &body, "setting stock").await
    }

    /// The quantity TikTok holds for each SKU (first warehouse), by TikTok SKU id.
    fn tiktok_quantities(&self) -> HashMap<String, u64> {
        let state = self.sandboxes().tiktok_sandbox.lock();
        let mut quantities = HashMap::new();
        for product in state.products.values() {
            for sku in product["skus"].as_array().into_iter().flatten() {
                if let (Some(id), Some(quantity)) = (sku["id"].as_str(), sku["inventory"][0]["quantity"].as_u64()) {
                    quantities.insert(id.to_string(), quantity);
                }
            }
        }
        quantities
    }

    /// The external ids of the store orders created so far.
    fn store_order_ids(&self) -> Vec<String> {
        let StoreSandbox::BigCommerce(sandbox) = &self.sandboxes().store_sandbox else {
            return Vec::new();
        };
        let state = sandbox.lock();
        state
            .stores
            .values()
            .flat_map(|store| store.orders.values())
            .filter_map(|order| order["external_order_id"].as_str().map(str::to_string))
            .collect()
    }
}

/// What is still awaited, by key (an order id, or a SKU index), with what must show
/// and when it was sent; and the latencies of what arrived.
#[derive(Default)]
struct Awaited {
    pending: Mutex<HashMap<String, (u64, Instant)>>,
    arrived: Mutex<Vec<Duration>>,
}

impl Awaited {
    fn expect(&self, key: String, value: u64) {
        self.pending.lock().expect("lock").insert(key, (value, Instant::now()));
    }

    fn is_pending(&self, key: &str) -> bool {
        self.pending.lock().expect("lock").contains_key(key)
    }

    /// Resolves every pending key whose value `seen` now shows.
    fn resolve(&self, seen: impl Fn(&str, u64) -> bool) {
        let now = Instant::now();
        let mut pending = self.pending.lock().expect("lock");
        let mut arrived = self.arrived.lock().expect("lock");
        pending.retain(|key, (value, sent)| {
            let shown = seen(key, *value);
            if shown {
                arrived.push(now - *sent);
            }
            !shown
        });
    }

    /// Waits (checking every 2 ms with `check`) until nothing is pending or `limit`
    /// passes; returns the latencies and how many never arrived.
    async fn drain(&self, limit: Duration, check: impl Fn(&Self)) -> (Vec<Duration>, usize) {
        let deadline = Instant::now() + limit;
        loop {
            check(self);
            if self.pending.lock().expect("lock").is_empty() || Instant::now() > deadline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let lost = self.pending.lock().expect("lock").len();
        (std::mem::take(&mut *self.arrived.lock().expect("lock")), lost)
    }
}

/// Runs both flows in `mode` and adds their figures to `section`.
pub async fn run(section: &mut Section, mode: Mode, load: &Load) -> anyhow::Result<()> {
    let stack = Stack::start(mode).await?;
    println!("{}: {} live SKUs on shop {}", mode.name, stack.skus.len(), stack.shop);
    connector::metrics::take_totals();
    orders(section, &stack, load).await?;
    let calls = connector::metrics::take_totals();
    section.push(per_unit(
        mode,
        "BigCommerce calls per order",
        &calls,
        Metric::StoreApiCalls,
        load.orders,
    ));
    section.push(per_unit(
        mode,
        "TikTok calls per order",
        &calls,
        Metric::TikTokApiCalls,
        load.orders,
    ));
    dropped(section, &stack, load.dropped).await?;
    stack
        .running
        .settle(Duration::from_secs(3), Duration::from_secs(120))
        .await;
    connector::metrics::take_totals();
    stock(section, &stack, load).await?;
    let calls = connector::metrics::take_totals();
    section.push(per_unit(
        mode,
        "BigCommerce calls per stock change",
        &calls,
        Metric::StoreApiCalls,
        load.stock_changes + load.sales,
    ));
    section.push(per_unit(
        mode,
        "TikTok calls per stock change",
        &calls,
        Metric::TikTokApiCalls,
        load.stock_changes + load.sales,
    ));
    Ok(())
}

/// Calls of `metric` per unit of work, with the share of a BigCommerce Standard
/// plan's quota (150 requests per 30 s) that one unit per second would use.
fn per_unit(
    mode: Mode,
    what: &str,
    totals: &std::collections::BTreeMap<Metric, f64>,
    metric: Metric,
    units: usize,
) -> Figure {
    let per = totals.get(&metric).copied().unwrap_or(0.0) / units.max(1) as f64;
    let words = if metric == Metric::StoreApiCalls {
        format!(
            "{per:.2} ({:.0} per 30 s of the Standard plan's 150 at one a second)",
            per * 30.0
        )
    } else {
        format!("{per:.2}")
    };
    Figure::value(format!("{what} ({})", mode.name), words, None)
}

/// Runs `sender` while calling `check` every 2 ms, so arrivals are timed while the
/// traffic is still being sent.
async fn watching<T>(check: impl Fn(), sender: impl Future<Output = T>) -> T {
    tokio::pin!(sender);
    loop {
        tokio::select! {
            done = &mut sender => return done,
            () = tokio::time::sleep(Duration::from_millis(2)) => check(),
        }
    }
}

/// Orders placed in TikTok at `load.order_rate` (each TikTok sends its webhook at
/// once) until each store order exists.
async fn orders(section: &mut Section, stack: &Stack, load: &Load) -> anyhow::Result<()> {
    let awaited = Awaited::default();
    let started = Instant::now();
    let mut ticks = tokio::time::interval(Duration::from_secs_f64(1.0 / load.order_rate));
    let sender = async {
        for i in 0..load.orders {
            ticks.tick().await;
            let sku = &stack.skus[i % stack.skus.len()];
            place_order(stack, &awaited, &format!("576461{i:012}"), sku).await?;
        }
        anyhow::Ok(())
    };
    watching(|| resolve_orders(stack, &awaited), sender).await?;
    let (latencies, lost) = awaited
        .drain(Duration::from_secs(60), |a| resolve_orders(stack, a))
        .await;
    let what = format!("Order intake, webhook → store order ({})", stack.mode.name);
    section.push(Figure::latency(what, latencies, Some(stack.mode.goal)));
    section.note(format!(
        "{}: {} orders sent at {}/s over {:.0} s; {lost} did not arrive within 60 s of the last.",
        stack.mode.name,
        load.orders,
        load.order_rate,
        started.elapsed().as_secs_f64()
    ));
    Ok(())
}

async fn place_order(stack: &Stack, awaited: &Awaited, id: &str, sku: &Sku) -> anyhow::Result<()> {
    let order = connector_e2e::tiktok_order(&stack.shop, id, &[(&sku.tiktok_id, &sku.seller_sku)]);
    awaited.expect(id.to_string(), 0);
    let url = format!("{}/sandbox/orders", stack.sandboxes().tiktok);
    stack.admin(url, &order, &format!("placing {id}")).await
}

fn resolve_orders(stack: &Stack, awaited: &Awaited) {
    let created: std::collections::HashSet<String> = stack.store_order_ids().into_iter().collect();
    awaited.resolve(|id, _| created.contains(id));
}

/// Orders whose webhook TikTok drops: the order poller must find them.
async fn dropped(section: &mut Section, stack: &Stack, count: usize) -> anyhow::Result<()> {
    if count == 0 {
        return Ok(());
    }
    stack.faults(json!({"drop_webhook_share": 1.0}), json!({})).await?;
    let awaited = Awaited::default();
    for i in 0..count {
        let sku = &stack.skus[i % stack.skus.len()];
        place_order(stack, &awaited, &format!("576462{i:012}"), sku).await?;
    }
    let (latencies, lost) = awaited
        .drain(Duration::from_secs(180), |a| resolve_orders(stack, a))
        .await;
    stack.faults(json!({}), json!({})).await?;
    let what = format!("Order recovery, webhook dropped → store order ({})", stack.mode.name);
    section.push(Figure::latency(what, latencies, None));
    section.note(format!(
        "{}: {count} orders placed with their webhook dropped were found by the order poller (every {} s); {lost} were not within 180 s.",
        stack.mode.name,
        connector::schedules::Schedule::ALL
            .iter()
            .find(|(s, _)| *s == connector::schedules::Schedule::PollOrders)
            .map_or(0, |(_, period)| *period)
    ));
    Ok(())
}

/// How long a product's stock stays unchanged before the next single change to it:
/// longer than the connector's burst window (one second, whole seconds in the table).
const QUIET: Duration = Duration::from_secs(2);

/// Stock changes at `load.stock_rate` (one in 25 a burst of ten on one SKU), then
/// storefront sales, each until TikTok holds the new quantity.
async fn stock(section: &mut Section, stack: &Stack, load: &Load) -> anyhow::Result<()> {
    let (single, burst, sales) = (Awaited::default(), Awaited::default(), Awaited::default());
    let resolve = |awaited: &Awaited| {
        let quantities = stack.tiktok_quantities();
        awaited.resolve(|key, value| {
            let sku = &stack.skus[key.parse::<usize>().expect("SKU index")];
            quantities.get(&sku.tiktok_id) == Some(&value)
        });
    };
    // The next SKU after `next` with nothing in flight, of a product whose stock was
    // quiet for a while: changes to one product within a second are a burst, which
    // the burst figure measures.
    let last_change: Mutex<HashMap<u64, Instant>> = Mutex::default();
    let free = |next: usize| {
        let mut last_change = last_change.lock().expect("lock");
        let index = (0..stack.skus.len()).map(|k| (next + k) % stack.skus.len()).find(|i| {
            let quiet = last_change
                .get(&stack.skus[*i].product_id)
                .is_none_or(|at| at.elapsed() > QUIET);
            quiet && [&single, &burst, &sales].iter().all(|a| !a.is_pending(&i.to_string()))
        })?;
        last_change.insert(stack.skus[index].product_id, Instant::now());
        Some(index)
    };
    let pause = Duration::from_secs_f64(1.0 / load.stock_rate);
    let changes = async {
        let mut ticks = tokio::time::interval(pause);
        let (mut sent, mut level, mut next) = (0, 1_000u64, 0usize);
        while sent < load.stock_changes {
            ticks.tick().await;
            let Some(index) = free(next) else { continue };
            next = index + 1;
            let sku = &stack.skus[index];
            if sent % 25 == 0 && load.stock_changes - sent >= 10 {
                for _ in 0..9 {
                    level += 1;
                    stack.set_stock(sku, level).await?;
                }
                level += 1;
                burst.expect(index.to_string(), level);
                stack.set_stock(sku, level).await?;
                sent += 10;
            } else {
                level += 1;
                single.expect(index.to_string(), level);
                stack.set_stock(sku, level).await?;
                sent += 1;
            }
        }
        anyhow::Ok(sent)
    };
    let sent = watching(|| [&single, &burst].into_iter().for_each(resolve), changes).await?;
    let (latencies, lost) = single.drain(Duration::from_secs(60), resolve).await;
    let name = stack.mode.name;
    section.push(Figure::latency(
        format!("Stock change → TikTok inventory, product quiet for 2 s ({name})"),
        latencies,
        Some(stack.mode.goal),
    ));
    let (bursts, lost_bursts) = burst.drain(Duration::from_secs(60), resolve).await;
    section.push(Figure::latency(
        format!("Burst of 10 on one SKU, last change → TikTok ({name})"),
        bursts,
        Some(stack.mode.goal),
    ));
    section.note(format!(
        "{name}: {sent} stock changes at {}/s; {lost} single changes and {lost_bursts} bursts did not show within 60 s.",
        load.stock_rate
    ));
    let storefront = async {
        let mut ticks = tokio::time::interval(pause);
        let (mut sold, mut next) = (0, 0usize);
        while sold < load.sales {
            ticks.tick().await;
            let Some(index) = free(next) else { continue };
            next = index + 1;
            let sku = &stack.skus[index];
            let shown = stack.tiktok_quantities().get(&sku.tiktok_id).copied().unwrap_or(0);
            sales.expect(index.to_string(), shown.saturating_sub(1));
            let line = json!({"product_id": sku.product_id, "variant_id": sku.variant_id, "quantity": 1});
            let url = format!("{}/sandbox/orders", stack.sandboxes().store);
            stack
                .admin(url, &json!({ "products": [line] }), "a storefront sale")
                .await?;
            sold += 1;
        }
        anyhow::Ok(())
    };
    watching(|| resolve(&sales), storefront).await?;
    let (latencies, lost) = sales.drain(Duration::from_secs(60), resolve).await;
    section.push(Figure::latency(
        format!("Storefront sale → TikTok stock lowered ({name})"),
        latencies,
        Some(stack.mode.goal),
    ));
    if lost > 0 {
        section.note(format!(
            "{name}: {lost} storefront sales did not show on TikTok within 60 s."
        ));
    }
    Ok(())
}
