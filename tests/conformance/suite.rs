//! The checks, written once over [`StorePlatform`], and what they need of a platform's
//! sandbox ([`SandboxStore`]). Every check starts its own sandbox store through the
//! platform's [`Start`], drives the adapter only as `&dyn StorePlatform`, and asserts
//! what the sandbox holds afterwards (through [`SandboxStore`]), not the adapter's word.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use connector::store::{
    Address, CONNECTOR_TOPICS, ChangeFeed, NewOrder, NewOrderLine, NewRefund, OrderStatus, StockChange, StoreChange,
    StoreError, StoreEvent, StorePlatform, StoreProfile, Topic,
};
use rust_decimal::Decimal;

/// How a check wants its sandbox store.
#[derive(Debug, Clone, Copy)]
pub struct Setup {
    /// Products to seed, through the sandbox's configuration (never one API call each).
    /// The catalogue must hold products with options (several variants) and products
    /// without (one variant each).
    pub products: usize,
}

/// A started sandbox store and the platform's adapter connected to it with an
/// installed store's credentials.
pub struct Bench {
    /// The adapter under test; checks see only the trait.
    pub store: Box<dyn StorePlatform>,
    /// The sandbox behind it.
    pub sandbox: Box<dyn SandboxStore>,
}

/// Starts a fresh sandbox store on a free port and connects the adapter to it.
pub type Start = fn(Setup) -> Pin<Box<dyn Future<Output = Bench> + Send>>;

/// A variant as the sandbox holds it.
#[derive(Debug, Clone)]
pub struct HeldVariant {
    /// Store variant id.
    pub id: String,
    /// SKU.
    pub sku: String,
    /// (option name, value label) pairs that define it; empty for a product without options.
    pub options: Vec<(String, String)>,
}

/// A product as the sandbox holds it.
#[derive(Debug, Clone)]
pub struct HeldProduct {
    /// Store product id.
    pub id: String,
    /// Its variants (one for a product without options).
    pub variants: Vec<HeldVariant>,
}

/// A shipment as the sandbox holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct HeldShipment {
    /// Tracking number.
    pub tracking_number: String,
    /// Carrier, as given to [`SandboxStore::ship`].
    pub carrier: String,
}

/// An order as the sandbox holds it.
#[derive(Debug, Clone)]
pub struct HeldOrder {
    /// Store order id.
    pub id: String,
    /// Its state, read from the store's own status (not through the adapter's mapping).
    pub status: OrderStatus,
    /// Its total with tax, as the store computed it.
    pub total: Decimal,
    /// Amount refunded so far.
    pub refunded: Decimal,
    /// Its shipments.
    pub shipments: Vec<HeldShipment>,
}

/// How many requests a fault applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Times {
    /// The next `n` API requests, then requests go through again.
    Next(u32),
    /// Every API request until the fault is cleared.
    Always,
}

/// A fault the sandbox injects; each replaces the one in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// No fault: requests and webhook deliveries go through.
    Clear,
    /// API requests answered with a 5xx, without taking effect.
    ServerErrors(Times),
    /// API requests answered with the platform's 429 (its rate-limit headers saying
    /// when the window turns, within a second), without taking effect.
    RateLimited(Times),
    /// The `nth` next API request (from 1) takes effect, then its answer is lost
    /// (the connection drops): the caller does not know that the store did it.
    LoseAnswer {
        /// Which request, counted from the next.
        nth: u32,
    },
    /// Webhook deliveries are lost (webhook platforms).
    DropWebhooks,
    /// Webhook deliveries arrive twice (webhook platforms).
    DuplicateWebhooks,
}

/// API requests the sandbox refused or cut short since it started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Injected {
    /// Answered with a 5xx.
    pub server_errors: u64,
    /// Answered 429.
    pub rate_limited: u64,
    /// Done, answer lost.
    pub lost_answers: u64,
}

/// What the suite needs from a platform's sandbox: the merchant's and shoppers'
/// actions, faults, and read-backs of what the store holds.
#[async_trait]
pub trait SandboxStore: Send + Sync {
    /// Every product the store holds, by id ascending.
    async fn catalogue(&self) -> anyhow::Result<Vec<HeldProduct>>;
    /// The store's stock locations (one for a store with one level per variant).
    fn locations(&self) -> Vec<String>;
    /// The merchant sets the on-hand stock of a variant at a location.
    async fn set_stock(&self, product_id: &str, variant_id: &str, location: &str, level: i64) -> anyhow::Result<()>;
    /// The sellable stock of a variant over every location, as the store holds it.
    async fn stock(&self, product_id: &str, variant_id: &str) -> anyhow::Result<i64>;
    /// The merchant renames a product.
    async fn edit_product(&self, product_id: &str, name: &str) -> anyhow::Result<()>;
    /// The merchant deletes a product.
    async fn delete_product(&self, product_id: &str) -> anyhow::Result<()>;
    /// A shopper buys `quantity` of a variant in the storefront; returns the store's order id.
    async fn storefront_sale(&self, product_id: &str, variant_id: &str, quantity: u32) -> anyhow::Result<String>;
    /// The merchant ships every unshipped item of an order with a tracking number.
    async fn ship(&self, order_id: &str, tracking_number: &str, carrier: &str) -> anyhow::Result<()>;
    /// A carrier the store accepts for [`SandboxStore::ship`].
    fn carrier(&self) -> String;
    /// Every order the store holds with this external (marketplace) order id.
    async fn orders_by_external_id(&self, external_order_id: &str) -> anyhow::Result<Vec<HeldOrder>>;
    /// Revokes the adapter's credentials, as the merchant does by uninstalling.
    async fn revoke_access(&self) -> anyhow::Result<()>;
    /// An id of the store's form (product, variant, order) that names nothing.
    fn absent_id(&self) -> String;
    /// Puts `fault` in force; returns how long the 429s of
    /// `Fault::RateLimited(Times::Next(_))` tell the caller to wait in all (zero for
    /// other faults).
    async fn inject(&self, fault: Fault) -> anyhow::Result<Duration>;
    /// What the sandbox's faults have refused or cut short so far.
    async fn injected(&self) -> anyhow::Result<Injected>;
}

/// The secret the checks subscribe webhooks with.
const WEBHOOK_SECRET: &str = "conformance-webhook-secret";

/// Unit price (with and without tax) of the orders the checks create.
fn unit_price() -> Decimal {
    Decimal::new(850, 2)
}

/// Shipping (with and without tax) of the orders the checks create.
fn shipping() -> Decimal {
    Decimal::new(500, 2)
}

/// Units per order the checks create.
const ORDER_UNITS: u32 = 2;

/// An order as the connector creates it from a marketplace order: [`ORDER_UNITS`] of
/// one variant at [`unit_price`], plus [`shipping`].
pub fn new_order(external_order_id: &str, product_id: &str, variant_id: &str) -> NewOrder {
    let address = Address {
        first_name: "Jane".into(),
        last_name: "Doe".into(),
        street_1: "1 Main St".into(),
        city: "Austin".into(),
        state: "Texas".into(),
        zip: "78751".into(),
        country: "United States".into(),
        country_iso2: "US".into(),
        email: "buyer@example.com".into(),
        ..Address::default()
    };
    NewOrder {
        external_order_id: external_order_id.into(),
        channel_id: None,
        status: OrderStatus::AwaitingFulfillment,
        billing_address: address.clone(),
        shipping_address: address,
        shipping_method: "Marketplace shipping".into(),
        lines: vec![NewOrderLine {
            product_id: product_id.into(),
            variant_id: variant_id.into(),
            quantity: ORDER_UNITS,
            price_ex_tax: unit_price(),
            price_inc_tax: unit_price(),
        }],
        shipping_cost: (shipping(), shipping()),
        handling_cost: (Decimal::ZERO, Decimal::ZERO),
        discount_amount: Decimal::ZERO,
        payment_method: "Marketplace".into(),
        customer_message: String::new(),
        staff_notes: format!("Conformance order {external_order_id}"),
    }
}

/// The total with tax of [`new_order`].
fn order_total() -> Decimal {
    unit_price() * Decimal::from(ORDER_UNITS) + shipping()
}

/// The seeded catalogue split into products without options (one variant) and with.
pub struct Catalogue {
    simple: Vec<HeldProduct>,
    optioned: Vec<HeldProduct>,
}

impl Catalogue {
    pub async fn read(bench: &Bench) -> Self {
        let (optioned, simple) = bench
            .sandbox
            .catalogue()
            .await
            .expect("the sandbox lists its catalogue")
            .into_iter()
            .partition(|p| p.variants.len() > 1);
        let catalogue = Self { simple, optioned };
        assert!(
            catalogue.simple.len() >= 4 && !catalogue.optioned.is_empty(),
            "the seeded catalogue needs products with and without options"
        );
        catalogue
    }

    /// (product id, variant id) of the `index`th product without options.
    fn simple(&self, index: usize) -> (String, String) {
        let product = &self.simple[index];
        (product.id.clone(), product.variants[0].id.clone())
    }
}

/// The one order the store holds with `external_order_id`.
async fn held_order(bench: &Bench, external_order_id: &str) -> HeldOrder {
    let mut held = bench
        .sandbox
        .orders_by_external_id(external_order_id)
        .await
        .expect("the sandbox lists its orders");
    assert_eq!(
        held.len(),
        1,
        "the store holds exactly one order {external_order_id}: {held:?}"
    );
    held.remove(0)
}

/// The store holds no order with `external_order_id` (a refused call wrote nothing).
async fn assert_no_order(bench: &Bench, external_order_id: &str) {
    let held = bench
        .sandbox
        .orders_by_external_id(external_order_id)
        .await
        .expect("the sandbox lists its orders");
    assert!(held.is_empty(), "no order {external_order_id} was written: {held:?}");
}

/// Creates [`new_order`] for the first product without options; returns the order's
/// id and the (product, variant) ordered.
pub async fn place(bench: &Bench, catalogue: &Catalogue, external_order_id: &str) -> (String, (String, String)) {
    let line = catalogue.simple(0);
    let order = bench
        .store
        .create_order(&new_order(external_order_id, &line.0, &line.1))
        .await
        .expect("the order is created");
    (order.id, line)
}

/// Polls [`StorePlatform::changes`] from `cursor` until nothing more waits; returns the
/// changes and the cursor to poll from next.
async fn poll_to_end(store: &dyn StorePlatform, cursor: Option<String>) -> (Vec<StoreChange>, String) {
    let mut cursor = cursor;
    let mut changes = Vec::new();
    for _ in 0..1_000 {
        let page = store.changes(cursor.as_deref()).await.expect("changes are polled");
        changes.extend(page.changes);
        cursor = Some(page.cursor);
        if !page.more {
            return (changes, cursor.unwrap_or_default());
        }
    }
    panic!("changes() still had more after 1000 pages");
}

/// The changes once each, by [`StoreChange::dedupe_key`] (the first seen kept).
fn dedupe(changes: &[StoreChange]) -> Vec<StoreChange> {
    let mut keys = HashSet::new();
    changes
        .iter()
        .filter(|c| keys.insert(c.dedupe_key.clone()))
        .cloned()
        .collect()
}

/// The product a change is about, if any.
fn product_of(event: &StoreEvent) -> Option<&str> {
    match event {
        StoreEvent::Product { product_id, .. } | StoreEvent::Inventory { product_id, .. } => Some(product_id),
        _ => None,
    }
}

/// How often `changes` hold the most repeated kind of change about `product_id`: 0
/// when none is about it, 1 when each kind is there once (a feed may report a product
/// change and its stock change as two kinds of one change).
fn about(changes: &[StoreChange], product_id: &str) -> usize {
    let mut kinds: HashMap<std::mem::Discriminant<StoreEvent>, usize> = HashMap::new();
    for change in changes.iter().filter(|c| product_of(&c.event) == Some(product_id)) {
        *kinds.entry(std::mem::discriminant(&change.event)).or_default() += 1;
    }
    kinds.into_values().max().unwrap_or(0)
}

type Received = Arc<Mutex<Vec<(Vec<(String, String)>, Vec<u8>)>>>;

/// A webhook endpoint on a free port that keeps every delivery (headers lower-case).
struct Receiver {
    url: String,
    received: Received,
}

impl Receiver {
    async fn start() -> Self {
        use axum::extract::State;
        use axum::http::HeaderMap;
        let received: Received = Arc::default();
        let app = axum::Router::new()
            .route(
                "/webhooks",
                axum::routing::post(
                    |State(received): State<Received>, headers: HeaderMap, body: axum::body::Bytes| async move {
                        let headers = headers
                            .iter()
                            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or_default().to_string()))
                            .collect();
                        received.lock().expect("receiver lock").push((headers, body.to_vec()));
                        "ok"
                    },
                ),
            )
            .with_state(received.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a free port");
        let addr = listener.local_addr().expect("a bound address");
        tokio::spawn(async move { axum::serve(listener, app).await.expect("the receiver serves") });
        Self {
            url: format!("http://{addr}/webhooks"),
            received,
        }
    }

    /// Every delivery so far, verified and parsed by the adapter (each must verify).
    fn changes(&self, store: &dyn StorePlatform) -> Vec<StoreChange> {
        self.received
            .lock()
            .expect("receiver lock")
            .iter()
            .map(|(headers, body)| {
                store
                    .parse_webhook(headers, body, WEBHOOK_SECRET)
                    .unwrap_or_else(|e| panic!("a sandbox delivery verifies: {e}"))
            })
            .collect()
    }
}

/// Waits up to 10 s for `done`, checking every 50 ms.
async fn eventually(mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if done() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    done()
}

/// The listing of [`StorePlatform::products_changed_since`] from the start returns
/// every product the store holds exactly once, oldest change first, each with at
/// least one variant, and its total (when given) matches.
pub async fn paging_through_the_catalogue(start: Start, products: usize) {
    let bench = start(Setup { products }).await;
    let held: HashSet<String> = bench
        .sandbox
        .catalogue()
        .await
        .expect("the sandbox lists its catalogue")
        .into_iter()
        .map(|p| p.id)
        .collect();
    assert_eq!(held.len(), products, "the sandbox seeded the catalogue asked for");
    let started = Instant::now();
    let mut seen = HashSet::new();
    let mut previous_change: Option<jiff::Timestamp> = None;
    let (mut cursor, mut pages) = (None::<String>, 0);
    loop {
        let page = bench
            .store
            .products_changed_since(None, cursor.as_deref())
            .await
            .expect("a page of products");
        pages += 1;
        if let Some(total) = page.total {
            assert_eq!(total, products as u64, "the listing's total");
        }
        for product in page.products {
            assert!(!product.variants.is_empty(), "product {} has a variant", product.id);
            let changed = jiff::Timestamp::from_str(&product.date_modified)
                .unwrap_or_else(|_| panic!("product {} has an ISO-8601 date_modified", product.id));
            assert!(
                previous_change.is_none_or(|p| p <= changed),
                "oldest change first: product {} at {changed}",
                product.id
            );
            previous_change = Some(changed);
            assert!(seen.insert(product.id.clone()), "product {} came twice", product.id);
        }
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
        assert!(pages <= products + 1, "the listing does not end");
    }
    assert_eq!(seen.len(), products, "every product once");
    assert_eq!(seen, held, "the products the store holds");
    eprintln!(
        "paged {products} products in {pages} pages in {:.2} s",
        started.elapsed().as_secs_f64()
    );
}

/// A variant as the checks compare it: id, SKU, and its (option name, value label)
/// pairs sorted.
type VariantShape = (String, String, Vec<(String, String)>);

/// Every product reads back with the store's variants: ids, SKUs and the options
/// (name, value) that define each; variants of one product differ in their options,
/// and one option name keeps one option id.
pub async fn variants_and_options(start: Start) {
    let bench = start(Setup { products: 60 }).await;
    let held = bench
        .sandbox
        .catalogue()
        .await
        .expect("the sandbox lists its catalogue");
    assert!(held.iter().any(|p| p.variants.len() > 1), "some products have options");
    for held in &held {
        let product = bench
            .store
            .product(&held.id)
            .await
            .expect("the product reads")
            .unwrap_or_else(|| panic!("product {} is found", held.id));
        let mut read: Vec<VariantShape> = product
            .variants
            .iter()
            .map(|v| {
                let mut options: Vec<(String, String)> = v
                    .option_values
                    .iter()
                    .map(|o| (o.option_name.clone(), o.label.clone()))
                    .collect();
                options.sort();
                (v.id.clone(), v.sku.clone(), options)
            })
            .collect();
        let mut expected: Vec<VariantShape> = held
            .variants
            .iter()
            .map(|v| {
                let mut options = v.options.clone();
                options.sort();
                (v.id.clone(), v.sku.clone(), options)
            })
            .collect();
        read.sort();
        expected.sort();
        assert_eq!(read, expected, "variants of product {}", held.id);
        let combinations: HashSet<_> = read.iter().map(|(_, _, options)| options.clone()).collect();
        assert_eq!(
            combinations.len(),
            read.len(),
            "variants of product {} differ in their options",
            held.id
        );
        let mut option_ids: HashMap<&str, &str> = HashMap::new();
        for value in product.variants.iter().flat_map(|v| &v.option_values) {
            assert!(
                !value.option_id.is_empty() && !value.value_id.is_empty(),
                "option ids of product {}",
                held.id
            );
            let id = option_ids.entry(&value.option_name).or_insert(&value.option_id);
            assert_eq!(
                *id, value.option_id,
                "option {} of product {} keeps one id",
                value.option_name, held.id
            );
        }
    }
}

/// Stock set at each location reads back as the variant's sellable total, and
/// [`StorePlatform::adjust_stock`] moves the store's level by exactly its deltas, for a
/// variant of a product with options and for a product without.
pub async fn stock_read_and_write_at_each_location(start: Start) {
    let bench = start(Setup { products: 60 }).await;
    let catalogue = Catalogue::read(&bench).await;
    let optioned = &catalogue.optioned[0];
    let targets = [
        (optioned.id.clone(), optioned.variants[1].id.clone()),
        catalogue.simple(0),
    ];
    let locations = bench.sandbox.locations();
    assert!(!locations.is_empty(), "a store has a location");
    for (product_id, variant_id) in &targets {
        let mut expected = 0;
        for (index, location) in locations.iter().enumerate() {
            let level = 7 + 3 * index as i64;
            bench
                .sandbox
                .set_stock(product_id, variant_id, location, level)
                .await
                .expect("the sandbox sets stock");
            expected += level;
        }
        let read = |expected: i64| {
            let store = &bench.store;
            let variant_id = variant_id.clone();
            let product_id = product_id.clone();
            async move {
                let stock = store
                    .variant_stock(std::slice::from_ref(&variant_id))
                    .await
                    .expect("stock reads");
                assert_eq!(stock.len(), 1, "one stock line for variant {variant_id}");
                assert_eq!(
                    (stock[0].product_id.as_str(), stock[0].available),
                    (product_id.as_str(), expected),
                    "sellable stock of variant {variant_id}"
                );
            }
        };
        read(expected).await;
        for (delta, reason) in [(3, "conformance restock"), (-2, "conformance correction")] {
            bench
                .store
                .adjust_stock(
                    &[StockChange {
                        product_id: product_id.clone(),
                        variant_id: variant_id.clone(),
                        delta,
                    }],
                    reason,
                )
                .await
                .expect("stock is adjusted");
            expected += delta;
            assert_eq!(
                bench
                    .sandbox
                    .stock(product_id, variant_id)
                    .await
                    .expect("the sandbox reads stock"),
                expected,
                "the store's level of variant {variant_id} after a change of {delta}"
            );
        }
        read(expected).await;
    }
    let all: Vec<String> = optioned.variants.iter().map(|v| v.id.clone()).collect();
    let stock = bench.store.variant_stock(&all).await.expect("stock reads");
    assert_eq!(stock.len(), all.len(), "one line per variant asked");
    for line in stock {
        assert_eq!(
            line.available,
            bench
                .sandbox
                .stock(&optioned.id, &line.variant_id)
                .await
                .expect("the sandbox reads stock"),
            "variant {}",
            line.variant_id
        );
    }
}

/// An edit, a stock change, a storefront sale and a deletion are each seen exactly
/// once after de-duplication by `dedupe_key`, through the platform's own feed:
/// verified webhook deliveries (sent twice each here, so the de-duplication is
/// exercised) on webhook platforms, [`StorePlatform::changes`] on polling ones. A
/// deleted product then reads as `None`.
pub async fn changes_are_each_seen_once(start: Start) {
    let bench = start(Setup { products: 60 }).await;
    let catalogue = Catalogue::read(&bench).await;
    let store = &*bench.store;
    let feed = store.capabilities().change_feed;
    let receiver = Receiver::start().await;
    // Polling: what the poller handled before the changes (seen again in the overlap
    // before a cursor, so not new).
    let mut handled = HashSet::new();
    let mut cursor = None;
    match feed {
        ChangeFeed::Webhooks => {
            store
                .subscribe_webhooks(&receiver.url, &CONNECTOR_TOPICS, WEBHOOK_SECRET)
                .await
                .expect("webhooks subscribe");
            bench
                .sandbox
                .inject(Fault::DuplicateWebhooks)
                .await
                .expect("the sandbox doubles deliveries");
        }
        ChangeFeed::Polling => {
            let (before, after) = poll_to_end(store, None).await;
            handled = before.into_iter().map(|c| c.dedupe_key).collect();
            cursor = Some(after);
        }
    }
    let (edited, _) = catalogue.simple(0);
    let (sold, sold_variant) = catalogue.simple(1);
    let (deleted, _) = catalogue.simple(2);
    let stocked = &catalogue.optioned[0];
    let sandbox = &bench.sandbox;
    sandbox
        .edit_product(&edited, "Renamed by the conformance suite")
        .await
        .expect("the merchant edits");
    sandbox
        .set_stock(&stocked.id, &stocked.variants[0].id, &sandbox.locations()[0], 2)
        .await
        .expect("the merchant sets stock");
    sandbox
        .storefront_sale(&sold, &sold_variant, 1)
        .await
        .expect("a shopper buys");
    sandbox.delete_product(&deleted).await.expect("the merchant deletes");
    let watched = [edited.as_str(), stocked.id.as_str(), sold.as_str(), deleted.as_str()];
    let changes = match feed {
        ChangeFeed::Webhooks => {
            let all_seen = |changes: &[StoreChange]| watched.iter().all(|id| about(changes, id) > 0);
            let arrived = eventually(|| {
                let changes = receiver.changes(store);
                all_seen(&changes) && changes.len() >= 2 * watched.len()
            })
            .await;
            assert!(arrived, "every change was delivered, twice");
            // Late copies have their time to arrive.
            tokio::time::sleep(Duration::from_millis(300)).await;
            receiver.changes(store)
        }
        ChangeFeed::Polling => poll_to_end(store, cursor).await.0,
    };
    let unique: Vec<StoreChange> = dedupe(&changes)
        .into_iter()
        .filter(|c| !handled.contains(&c.dedupe_key))
        .collect();
    for (what, id) in [
        ("the edit", &edited),
        ("the stock change", &stocked.id),
        ("the storefront sale", &sold),
        ("the deletion", &deleted),
    ] {
        assert_eq!(about(&unique, id), 1, "{what} of product {id} is seen once: {unique:?}");
    }
    assert!(
        unique.iter().any(|c| c.event
            == StoreEvent::Product {
                topic: Topic::ProductDeleted,
                product_id: deleted.clone()
            }),
        "the deletion is seen as one: {unique:?}"
    );
    if feed == ChangeFeed::Webhooks {
        assert!(
            changes.len() > unique.len(),
            "the doubled deliveries were folded by dedupe_key ({} delivered, {} unique)",
            changes.len(),
            unique.len()
        );
    }
    assert!(
        store
            .product(&deleted)
            .await
            .expect("a deleted product reads")
            .is_none(),
        "a deleted product reads as None"
    );
}

/// Changes made while the feed is missed (webhooks lost, or the poller down) are found
/// by [`StorePlatform::changes`] from a cursor taken before them; polls that overlap
/// return changes again with the same `dedupe_key`, so after de-duplication each change
/// is seen exactly once.
pub async fn a_missed_window_is_recovered(start: Start) {
    let bench = start(Setup { products: 60 }).await;
    let catalogue = Catalogue::read(&bench).await;
    let store = &*bench.store;
    let sandbox = &bench.sandbox;
    let receiver = Receiver::start().await;
    let webhooks = store.capabilities().change_feed == ChangeFeed::Webhooks;
    if webhooks {
        store
            .subscribe_webhooks(&receiver.url, &CONNECTOR_TOPICS, WEBHOOK_SECRET)
            .await
            .expect("webhooks subscribe");
        sandbox
            .inject(Fault::DropWebhooks)
            .await
            .expect("the sandbox drops deliveries");
    }
    // What the poller had handled before the window: changes seen again later with
    // these keys (the overlap before a cursor) are not new.
    let (handled, before) = poll_to_end(store, None).await;
    let handled: HashSet<String> = handled.into_iter().map(|c| c.dedupe_key).collect();
    let new = |changes: &[StoreChange]| -> Vec<StoreChange> {
        dedupe(changes)
            .into_iter()
            .filter(|c| !handled.contains(&c.dedupe_key))
            .collect()
    };
    let (edited, _) = catalogue.simple(0);
    let (sold, sold_variant) = catalogue.simple(1);
    let (later, _) = catalogue.simple(2);
    let stocked = &catalogue.optioned[0];
    sandbox
        .edit_product(&edited, "Edited while the feed was missed")
        .await
        .expect("the merchant edits");
    sandbox
        .set_stock(&stocked.id, &stocked.variants[0].id, &sandbox.locations()[0], 1)
        .await
        .expect("the merchant sets stock");
    sandbox
        .storefront_sale(&sold, &sold_variant, 1)
        .await
        .expect("a shopper buys");
    let (first, after) = poll_to_end(store, Some(before.clone())).await;
    let recovered = new(&first);
    let touched = [&edited, &stocked.id, &sold];
    let stale: Vec<&StoreChange> = recovered
        .iter()
        .filter(|c| product_of(&c.event).is_some_and(|id| !touched.iter().any(|t| *t == id)))
        .collect();
    assert!(
        stale.is_empty(),
        "the recovery returns the window's changes, not older ones the poller never had: {stale:?}"
    );
    for (what, id) in [
        ("the edit", &edited),
        ("the stock change", &stocked.id),
        ("the storefront sale", &sold),
    ] {
        assert_eq!(
            about(&recovered, id),
            1,
            "{what} of product {id} is recovered once: {recovered:?}"
        );
    }
    sandbox
        .edit_product(&later, "Edited after the recovery")
        .await
        .expect("the merchant edits");
    let (next, _) = poll_to_end(store, Some(after)).await;
    assert_eq!(
        about(&new(&next), &later),
        1,
        "a change after the recovery is found from its cursor: {next:?}"
    );
    // A poll over both windows again: it overlaps the two before it, and returns the
    // recovered changes again under the same keys.
    let (overlapping, _) = poll_to_end(store, Some(before)).await;
    let again: HashSet<&str> = overlapping.iter().map(|c| c.dedupe_key.as_str()).collect();
    assert!(
        recovered.iter().all(|c| again.contains(c.dedupe_key.as_str())),
        "the overlapping poll returns the recovered changes with the same keys: {overlapping:?}"
    );
    let all: Vec<StoreChange> = [first, next, overlapping].concat();
    let unique = new(&all);
    assert!(all.len() > unique.len(), "the polls overlap");
    for id in [&edited, &stocked.id, &sold, &later] {
        assert_eq!(
            about(&unique, id),
            1,
            "product {id} is seen once over overlapping polls after de-duplication: {unique:?}"
        );
    }
    if webhooks {
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(
            receiver.changes(store).is_empty(),
            "no delivery arrived: the window was really missed"
        );
    }
}

/// An order create whose answer is lost after the store made the order (at each of the
/// first requests of the call in turn) still leaves exactly one order with that
/// external id; the adapter returns it, finds it, and a second create returns it again.
pub async fn an_order_is_created_once_under_a_retried_request(start: Start) {
    let bench = start(Setup { products: 60 }).await;
    let catalogue = Catalogue::read(&bench).await;
    let (product_id, variant_id) = catalogue.simple(0);
    let lost_before = bench.sandbox.injected().await.expect("fault counts").lost_answers;
    for nth in 1..=3 {
        let external_id = format!("57646141300000010{nth}");
        let order = new_order(&external_id, &product_id, &variant_id);
        bench
            .sandbox
            .inject(Fault::LoseAnswer { nth })
            .await
            .expect("the sandbox loses an answer");
        let created = bench.store.create_order(&order).await;
        bench.sandbox.inject(Fault::Clear).await.expect("faults clear");
        let created = created.unwrap_or_else(|e| panic!("the create survives losing answer {nth}: {e}"));
        let held = held_order(&bench, &external_id).await;
        assert_eq!(created.id, held.id, "the adapter returns the store's one order");
        let found = bench
            .store
            .find_order_by_external_id(&external_id)
            .await
            .expect("the order is looked up")
            .expect("the order is found");
        assert_eq!(
            (found.id.as_str(), found.external_order_id.as_deref()),
            (held.id.as_str(), Some(external_id.as_str()))
        );
        let again = bench.store.create_order(&order).await.expect("the create is repeated");
        assert_eq!(again.id, held.id, "a repeated create returns the same order");
        held_order(&bench, &external_id).await;
    }
    let lost = bench.sandbox.injected().await.expect("fault counts").lost_answers - lost_before;
    assert!(lost >= 1, "an answer was really lost ({lost})");
}

/// An order is found by its external id, exactly (not by a prefix), with its state and
/// total; an unknown external id finds nothing.
pub async fn an_order_is_found_by_external_id(start: Start) {
    let bench = start(Setup { products: 60 }).await;
    let catalogue = Catalogue::read(&bench).await;
    let external_id = "576461413000000201";
    assert!(
        bench
            .store
            .find_order_by_external_id(external_id)
            .await
            .expect("a look-up")
            .is_none(),
        "nothing before the create"
    );
    let (id, _) = place(&bench, &catalogue, external_id).await;
    let found = bench
        .store
        .find_order_by_external_id(external_id)
        .await
        .expect("a look-up")
        .expect("the order is found");
    assert_eq!(found.id, id);
    assert_eq!(found.external_order_id.as_deref(), Some(external_id));
    assert_eq!(found.status, OrderStatus::AwaitingFulfillment);
    let held = held_order(&bench, external_id).await;
    assert_eq!(found.total_inc_tax, held.total, "the store's total, read back");
    if bench.store.capabilities().marketplace_prices {
        assert_eq!(held.total, order_total(), "the marketplace's prices");
    }
    assert_eq!(
        held_order(&bench, external_id).await.status,
        OrderStatus::AwaitingFulfillment
    );
    for near in ["57646141300000020", "5764614130000002011"] {
        assert!(
            bench
                .store
                .find_order_by_external_id(near)
                .await
                .expect("a look-up")
                .is_none(),
            "{near} is another external id"
        );
    }
}

/// Status changes reach the store and read back.
pub async fn order_status_changes(start: Start) {
    let bench = start(Setup { products: 60 }).await;
    let catalogue = Catalogue::read(&bench).await;
    let external_id = "576461413000000301";
    let (id, _) = place(&bench, &catalogue, external_id).await;
    for status in [OrderStatus::AwaitingShipment, OrderStatus::Completed] {
        bench
            .store
            .update_order_status(&id, &status)
            .await
            .expect("the status changes");
        assert_eq!(
            held_order(&bench, external_id).await.status,
            status,
            "the store's status"
        );
        let found = bench
            .store
            .find_order_by_external_id(external_id)
            .await
            .expect("a look-up")
            .expect("the order is found");
        assert_eq!(found.status, status, "read back");
    }
}

/// A shipment the merchant makes reads back with its tracking number, carrier and
/// items, and the order reads as shipped.
pub async fn shipments_with_tracking(start: Start) {
    let bench = start(Setup { products: 60 }).await;
    let catalogue = Catalogue::read(&bench).await;
    let external_id = "576461413000000401";
    let (id, (_, variant_id)) = place(&bench, &catalogue, external_id).await;
    assert!(
        bench.store.shipments(&id).await.expect("shipments read").is_empty(),
        "no shipment yet"
    );
    let carrier = bench.sandbox.carrier();
    let tracking = "1Z999AA10123456784";
    bench
        .sandbox
        .ship(&id, tracking, &carrier)
        .await
        .expect("the merchant ships");
    let held = held_order(&bench, external_id).await;
    assert_eq!(
        held.shipments,
        [HeldShipment {
            tracking_number: tracking.into(),
            carrier: carrier.clone()
        }]
    );
    let shipments = bench.store.shipments(&id).await.expect("shipments read");
    assert_eq!(shipments.len(), 1, "{shipments:?}");
    let shipment = &shipments[0];
    assert_eq!(shipment.order_id, id);
    assert_eq!(shipment.tracking_number, tracking);
    assert_eq!(shipment.carrier, carrier);
    assert_eq!(shipment.items, [(variant_id, ORDER_UNITS)]);
    let found = bench
        .store
        .find_order_by_external_id(external_id)
        .await
        .expect("a look-up")
        .expect("the order is found");
    assert_eq!(found.status, OrderStatus::Shipped);
}

/// A cancelled order reads as cancelled in the store, and its units are back in stock
/// exactly when the store says it restocks cancelled orders.
pub async fn cancellation(start: Start) {
    let bench = start(Setup { products: 60 }).await;
    let catalogue = Catalogue::read(&bench).await;
    let (product_id, variant_id) = catalogue.simple(0);
    let stock = || bench.sandbox.stock(&product_id, &variant_id);
    let before = stock().await.expect("the sandbox reads stock");
    let external_id = "576461413000000501";
    let (id, _) = place(&bench, &catalogue, external_id).await;
    let placed = stock().await.expect("the sandbox reads stock");
    let restocks = bench.store.restocks_on_cancel().await.expect("the setting reads");
    bench.store.cancel_order(&id).await.expect("the order cancels");
    assert_eq!(held_order(&bench, external_id).await.status, OrderStatus::Cancelled);
    let found = bench
        .store
        .find_order_by_external_id(external_id)
        .await
        .expect("a look-up")
        .expect("the order is found");
    assert_eq!(found.status, OrderStatus::Cancelled);
    let after = stock().await.expect("the sandbox reads stock");
    if restocks {
        assert_eq!(after, before, "the store restocks a cancelled order");
    } else {
        assert_eq!(after, placed, "the store does not restock a cancelled order");
    }
}

/// Refunds are recorded in the store and read back. With `partial_refunds` a part and
/// then the rest are refunded, and an amount above what is left is refused as
/// `Invalid` with the store's words; without, a partial refund is refused as `Invalid`
/// (never skipped silently) and a whole-order refund goes through.
pub async fn refunds(start: Start) {
    let bench = start(Setup { products: 60 }).await;
    let catalogue = Catalogue::read(&bench).await;
    let external_id = "576461413000000601";
    let (id, _) = place(&bench, &catalogue, external_id).await;
    // What the store charged (the marketplace's total where it takes its prices).
    let total = held_order(&bench, external_id).await.total;
    let refund = |amount: Decimal| {
        let store = &bench.store;
        let id = id.clone();
        async move {
            store
                .refund_order(
                    &id,
                    &NewRefund {
                        amount,
                        reason: "Conformance refund".into(),
                    },
                )
                .await
        }
    };
    let refunded = || async { held_order(&bench, external_id).await.refunded };
    let part = Decimal::new(500, 2);
    let refused = |error: StoreError, what: &str| match error {
        StoreError::Invalid { message, .. } => assert!(!message.trim().is_empty(), "{what}: the store's words"),
        other => panic!("{what} is refused as Invalid, not {other:?}"),
    };
    if bench.store.capabilities().partial_refunds {
        let first = refund(part).await.expect("a partial refund");
        assert_eq!(first.amount, part);
        assert_eq!(refunded().await, part, "the store recorded the part");
        let too_much = refund(total).await.expect_err("more than is left");
        refused(too_much, "a refund above what is left");
        assert_eq!(refunded().await, part, "nothing more was refunded");
        let rest = refund(total - part).await.expect("the rest is refunded");
        assert_eq!(refunded().await, total);
        let listed = bench.store.refunds(&id).await.expect("refunds read");
        assert_eq!(listed, [first, rest], "both refunds, oldest first");
    } else {
        let partial = refund(part)
            .await
            .expect_err("a partial refund without partial_refunds");
        refused(partial, "a partial refund");
        assert_eq!(refunded().await, Decimal::ZERO, "nothing was refunded");
        let whole = refund(total).await.expect("a whole-order refund");
        assert_eq!(refunded().await, total);
        assert_eq!(bench.store.refunds(&id).await.expect("refunds read"), [whole]);
    }
}

/// Revoked credentials are `Unauthorized` on reads and writes, and nothing is written.
pub async fn errors_revoked_credentials_are_unauthorized(start: Start) {
    let bench = start(Setup { products: 60 }).await;
    let catalogue = Catalogue::read(&bench).await;
    let (product_id, variant_id) = catalogue.simple(0);
    bench.store.profile().await.expect("the credentials work before");
    bench
        .sandbox
        .revoke_access()
        .await
        .expect("the merchant revokes access");
    let unauthorized = |result: Result<(), StoreError>, call: &str| {
        assert!(
            matches!(result, Err(StoreError::Unauthorized(_))),
            "{call} with revoked credentials: {result:?}"
        );
    };
    unauthorized(bench.store.profile().await.map(drop), "profile");
    unauthorized(
        bench.store.products_changed_since(None, None).await.map(drop),
        "products_changed_since",
    );
    let external_id = "576461413000000701";
    unauthorized(
        bench
            .store
            .create_order(&new_order(external_id, &product_id, &variant_id))
            .await
            .map(drop),
        "create_order",
    );
    assert_no_order(&bench, external_id).await;
}

/// Unknown ids: a product is `Ok(None)`, an external order id finds nothing, and calls
/// on an order that does not exist are `NotFound`.
pub async fn errors_unknown_ids_are_not_found(start: Start) {
    let bench = start(Setup { products: 60 }).await;
    let absent = bench.sandbox.absent_id();
    let store = &bench.store;
    assert!(store.product(&absent).await.expect("a product look-up").is_none());
    assert!(
        store
            .find_order_by_external_id("576461413099999999")
            .await
            .expect("an order look-up")
            .is_none()
    );
    let not_found = |result: Result<(), StoreError>, call: &str| {
        assert!(
            matches!(result, Err(StoreError::NotFound(_))),
            "{call} on order {absent}: {result:?}"
        );
    };
    not_found(
        store.update_order_status(&absent, &OrderStatus::Completed).await,
        "update_order_status",
    );
    not_found(store.cancel_order(&absent).await, "cancel_order");
    not_found(store.shipments(&absent).await.map(drop), "shipments");
    not_found(store.refunds(&absent).await.map(drop), "refunds");
}

/// An order the store refuses (a line naming a product it does not hold) is `Invalid`
/// with the store's words, which name the product, and no order is made.
pub async fn errors_a_refused_write_is_invalid_with_the_stores_words(start: Start) {
    let bench = start(Setup { products: 60 }).await;
    let absent = bench.sandbox.absent_id();
    let external_id = "576461413000000801";
    let error = bench
        .store
        .create_order(&new_order(external_id, &absent, &absent))
        .await
        .expect_err("an order for a product the store does not hold");
    assert!(
        matches!(&error, StoreError::Invalid { message, .. } if message.contains(&absent)),
        "Invalid, naming product {absent}: {error:?}"
    );
    assert_no_order(&bench, external_id).await;
}

/// What one `profile()` call met with `fault` in force: the call's result, how long
/// it took, how long the fault's 429s said to wait, and the faults the sandbox injected
/// meanwhile. The faults are cleared afterwards.
struct UnderFault {
    profile: Result<StoreProfile, StoreError>,
    took: Duration,
    announced_wait: Duration,
    met: Injected,
}

async fn profile_under(bench: &Bench, fault: Fault) -> UnderFault {
    let before = bench.sandbox.injected().await.expect("fault counts");
    let announced_wait = bench
        .sandbox
        .inject(fault)
        .await
        .expect("the sandbox injects the fault");
    let started = Instant::now();
    let profile = bench.store.profile().await;
    let took = started.elapsed();
    bench.sandbox.inject(Fault::Clear).await.expect("faults clear");
    let after = bench.sandbox.injected().await.expect("fault counts");
    UnderFault {
        profile,
        took,
        announced_wait,
        met: Injected {
            server_errors: after.server_errors - before.server_errors,
            rate_limited: after.rate_limited - before.rate_limited,
            lost_answers: after.lost_answers - before.lost_answers,
        },
    }
}

/// A 429 is waited out (as long as the store says) and the call retried: it succeeds
/// once the window turns.
pub async fn errors_a_429_is_waited_out(start: Start) {
    let bench = start(Setup { products: 60 }).await;
    let call = profile_under(&bench, Fault::RateLimited(Times::Next(2))).await;
    call.profile.expect("the call succeeds after the window turns");
    assert_eq!(call.met.rate_limited, 2, "two 429s were met");
    assert!(
        call.took >= call.announced_wait,
        "the adapter waited as long as the 429s said ({:?}), not {:?}",
        call.announced_wait,
        call.took
    );
}

/// A 429 that lasts past the adapter's attempts is `RateLimited`, after retrying.
pub async fn errors_a_lasting_429_is_rate_limited(start: Start) {
    let bench = start(Setup { products: 60 }).await;
    let call = profile_under(&bench, Fault::RateLimited(Times::Always)).await;
    assert!(
        matches!(call.profile, Err(StoreError::RateLimited)),
        "{:?}",
        call.profile
    );
    assert!(call.met.rate_limited >= 2, "the adapter retried before giving up");
    bench.store.profile().await.expect("the store answers again");
}

/// 5xx answers are retried: the call succeeds when they stop.
pub async fn errors_5xx_are_retried(start: Start) {
    let bench = start(Setup { products: 60 }).await;
    let call = profile_under(&bench, Fault::ServerErrors(Times::Next(2))).await;
    call.profile.expect("the call succeeds after two 5xx");
    assert_eq!(call.met.server_errors, 2, "two 5xx were met");
}

/// 5xx answers past the adapter's attempts are `Unavailable`, after retrying.
pub async fn errors_lasting_5xx_are_unavailable(start: Start) {
    let bench = start(Setup { products: 60 }).await;
    let call = profile_under(&bench, Fault::ServerErrors(Times::Always)).await;
    assert!(
        matches!(call.profile, Err(StoreError::Unavailable(_))),
        "{:?}",
        call.profile
    );
    assert!(call.met.server_errors >= 2, "the adapter retried before giving up");
}

/// One `#[tokio::test]` per check for a platform whose [`Start`] is `$start`: a
/// platform's binding module invokes it once.
macro_rules! conformance_tests {
    ($start:path) => {
        #[tokio::test]
        async fn paging_through_10000_products() {
            $crate::suite::paging_through_the_catalogue($start, 10_000).await
        }

        #[tokio::test]
        async fn variants_and_options() {
            $crate::suite::variants_and_options($start).await
        }

        #[tokio::test]
        async fn stock_read_and_write_at_each_location() {
            $crate::suite::stock_read_and_write_at_each_location($start).await
        }

        #[tokio::test]
        async fn changes_are_each_seen_once() {
            $crate::suite::changes_are_each_seen_once($start).await
        }

        #[tokio::test]
        async fn a_missed_window_is_recovered() {
            $crate::suite::a_missed_window_is_recovered($start).await
        }

        #[tokio::test]
        async fn an_order_is_created_once_under_a_retried_request() {
            $crate::suite::an_order_is_created_once_under_a_retried_request($start).await
        }

        #[tokio::test]
        async fn an_order_is_found_by_external_id() {
            $crate::suite::an_order_is_found_by_external_id($start).await
        }

        #[tokio::test]
        async fn order_status_changes() {
            $crate::suite::order_status_changes($start).await
        }

        #[tokio::test]
        async fn shipments_with_tracking() {
            $crate::suite::shipments_with_tracking($start).await
        }

        #[tokio::test]
        async fn cancellation() {
            $crate::suite::cancellation($start).await
        }

        #[tokio::test]
        async fn refunds() {
            $crate::suite::refunds($start).await
        }

        #[tokio::test]
        async fn errors_revoked_credentials_are_unauthorized() {
            $crate::suite::errors_revoked_credentials_are_unauthorized($start).await
        }

        #[tokio::test]
        async fn errors_unknown_ids_are_not_found() {
            $crate::suite::errors_unknown_ids_are_not_found($start).await
        }

        #[tokio::test]
        async fn errors_a_refused_write_is_invalid_with_the_stores_words() {
            $crate::suite::errors_a_refused_write_is_invalid_with_the_stores_words($start).await
        }

        #[tokio::test]
        async fn errors_a_429_is_waited_out() {
            $crate::suite::errors_a_429_is_waited_out($start).await
        }

        #[tokio::test]
        async fn errors_a_lasting_429_is_rate_limited() {
            $crate::suite::errors_a_lasting_429_is_rate_limited($start).await
        }

        #[tokio::test]
        async fn errors_5xx_are_retried() {
            $crate::suite::errors_5xx_are_retried($start).await
        }

        #[tokio::test]
        async fn errors_lasting_5xx_are_unavailable() {
            $crate::suite::errors_lasting_5xx_are_unavailable($start).await
        }
    };
}

pub(crate) use conformance_tests;
