//! Stock reconciliation: the safety net under stock webhooks.
//!
//! Webhooks get lost (BigCommerce gives up after 48 hours of failures, an order scope
//! may not be subscribed, a worker may crash between two calls), and TikTok's stock
//! drifts from the store's. A scheduled run compares, for every SKU live on every
//! active shop, the stock TikTok shows (Search Products, every warehouse summed) with
//! what the store holds through the inventory policy (threshold, reserve, untracked
//! quantity), and repairs each drifting product through the one stock path
//! ([`super::sync::request_stock_sync`]), so threshold deactivation and multi-warehouse
//! rules apply as for any change. It never raises TikTok's stock of a SKU that open
//! TikTok orders hold: TikTok takes a sale's units at once, the store only when its
//! order exists, and raising TikTok in between would sell them twice. What it found is saved per shop
//! (`RECONCILE#<shop id>`) for the dashboard.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use super::records::{self, ListingStatus};
use crate::accounts::{self, ShopStatus, StoreRecord, store_pk};
use crate::app::App;
use crate::queue::JobError;
use crate::rules::catalog::{policy_for, sellable_units};
use crate::storage::{Condition, Item, StorageError, Table, unix_now};
use crate::tiktok::model::{OrderSearch, ProductSearch};
use crate::tiktok::types::OrderStatus;

/// A SKU whose TikTok stock differed from what the store and the inventory policy give.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Drift {
    /// Store product id.
    pub product_id: String,
    /// Store variant id.
    pub variant_id: String,
    /// TikTok SKU id.
    pub sku_id: String,
    /// Seller SKU, as the merchant knows the item.
    pub seller_sku: String,
    /// Units TikTok showed (all warehouses).
    pub tiktok_units: u32,
    /// Units the store and the inventory policy give.
    pub expected_units: u32,
}

/// One shop's latest reconciliation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reconciliation {
    /// TikTok shop id.
    pub shop_id: String,
    /// When it ran (Unix seconds).
    pub ran_at: i64,
    /// Live SKUs compared.
    pub checked: usize,
    /// SKUs that differed; each product among them was sent again.
    pub repaired: Vec<Drift>,
    /// SKUs TikTok showed fewer of than the store while TikTok orders of them are still
    /// open: TikTok took those units at once, the store takes them when the connector
    /// creates (or the merchant ships) the store order, so raising TikTok now could sell
    /// them twice. Left as they are until the orders move on.
    #[serde(default)]
    pub held: Vec<Drift>,
    /// Why the run stopped early, in words the merchant reads.
    pub error: Option<String>,
}

fn reconcile_sk(shop_id: &str) -> String {
    format!("RECONCILE#{shop_id}")
}

/// The latest reconciliation of every shop of a store that had one, by shop id.
pub async fn latest(table: &dyn Table, store_id: &str) -> Result<Vec<Reconciliation>, StorageError> {
    let mut found = Vec::new();
    for shop in accounts::list_shops(table, store_id).await? {
        if let Some(item) = table.get(&store_pk(store_id), &reconcile_sk(&shop.shop_id)).await?
            && let Ok(report) = serde_json::from_value(item.data)
        {
            found.push(report);
        }
    }
    Ok(found)
}

/// Reconciles every active shop of every store; returns the SKUs repaired. A shop that
/// fails is logged and reported on its store's dashboard, the others go on.
pub async fn reconcile_all(app: &App) -> Result<usize, JobError> {
    let table = app.table.as_ref();
    let mut repaired = 0;
    let mut cursor = None;
    loop {
        let (entries, next) = accounts::shop_directory_page(table, cursor).await?;
        for (shop_id, store_id) in entries {
            let Some(store) = accounts::get_store(table, &store_id).await? else {
                continue;
            };
            let report = match reconcile_shop(app, &store, &shop_id).await {
                Ok(report) => report,
                Err(error) => Reconciliation {
                    shop_id: shop_id.clone(),
                    ran_at: unix_now(),
                    checked: 0,
                    repaired: Vec::new(),
                    held: Vec::new(),
                    error: Some(format!("The stock check stopped: {error}")),
                },
            };
            if let Some(error) = &report.error {
                tracing::warn!(store = %store_id, shop = %shop_id, %error, "stock reconciliation stopped early");
            }
            repaired += report.repaired.len();
            let data = serde_json::to_value(&report).expect("reports serialize");
            table
                .put(
                    Item::new(store_pk(&store_id), reconcile_sk(&shop_id), data),
                    Condition::None,
                )
                .await?;
        }
        match next {
            Some(next) => cursor = Some(next),
            None => return Ok(repaired),
        }
    }
}

/// Compares one shop's live SKUs with the store and asks a stock sync for each product
/// that drifted.
pub async fn reconcile_shop(app: &App, store: &StoreRecord, shop_id: &str) -> Result<Reconciliation, JobError> {
    let table = app.table.as_ref();
    let mut report = Reconciliation {
        shop_id: shop_id.to_string(),
        ran_at: unix_now(),
        checked: 0,
        repaired: Vec::new(),
        held: Vec::new(),
        error: None,
    };
    let Some(shop) = accounts::get_shop(table, &store.store_id, shop_id).await? else {
        return Ok(report);
    };
    if shop.status != ShopStatus::Active {
        return Ok(report);
    }
    // TikTok SKU → (store product, store variant) of every live listing.
    let mut linked: HashMap<String, (String, String)> = HashMap::new();
    for listing in records::shop_listings(table, &store.store_id, shop_id).await? {
        if listing.status == ListingStatus::Live {
            for (variant_id, sku_id) in listing.skus {
                linked.insert(sku_id, (listing.product_id.clone(), variant_id));
            }
        }
    }
    if linked.is_empty() {
        return Ok(report);
    }
    if let Err(error) = store.settings.inventory.validate() {
        report.error = Some(super::sync::setting_reason(&error));
        return Ok(report);
    }
    let read = async { Ok::<_, String>((tiktok_stock(app, &shop).await?, open_order_skus(app, &shop).await?)) };
    let (tiktok_units, on_open_orders) = match read.await {
        Ok(read) => read,
        Err(reason) => {
            report.error = Some(reason);
            return Ok(report);
        }
    };
    let products: HashMap<String, crate::store::Product> = records::all_products(table, &store.store_id)
        .await?
        .into_iter()
        .map(|p| (p.id.clone(), p))
        .collect();
    let platform = crate::platforms::open(app, store).map_err(|e| JobError::Retryable(e.to_string()))?;
    let platform = platform.as_ref();
    let variant_ids: Vec<String> = linked.values().map(|(_, variant)| variant.clone()).collect();
    let store_units: HashMap<String, i64> = match platform.variant_stock(&variant_ids).await {
        Ok(stock) => stock.into_iter().map(|s| (s.variant_id, s.available)).collect(),
        Err(error) => {
            report.error = Some(format!("The store's stock could not be read: {error}"));
            return Ok(report);
        }
    };
    let profiles = records::all_profiles(table, &store.store_id).await?;
    let mut drifted_products = Vec::new();
    let mut excluded: HashMap<&str, bool> = HashMap::new();
    for (sku_id, (seller_sku, units)) in &tiktok_units {
        let Some((product_id, variant_id)) = linked.get(sku_id) else {
            continue;
        };
        if !excluded.contains_key(product_id.as_str()) {
            let overrides = records::get_overrides(table, &store.store_id, product_id).await?;
            excluded.insert(product_id, overrides.exclude_from_stock_sync);
        }
        if excluded[product_id.as_str()] {
            continue;
        }
        let Some((product, variant)) = products
            .get(product_id)
            .and_then(|p| Some((p, p.variants.iter().find(|v| &v.id == variant_id)?)))
        else {
            continue;
        };
        let available = sellable_units(product, variant, &store_units);
        report.checked += 1;
        let expected = policy_for(&profiles, product, store.settings.inventory).publish(available);
        if expected == *units {
            continue;
        }
        let drift = Drift {
            product_id: product_id.clone(),
            variant_id: variant_id.clone(),
            sku_id: sku_id.clone(),
            seller_sku: seller_sku.clone(),
            tiktok_units: *units,
            expected_units: expected,
        };
        if expected > *units && on_open_orders.contains(sku_id) {
            report.held.push(drift);
            continue;
        }
        report.repaired.push(drift);
        if !drifted_products.contains(product_id) {
            drifted_products.push(product_id.clone());
        }
    }
    for product_id in &drifted_products {
        super::sync::request_stock_sync(app, &store.store_id, product_id).await?;
    }
    if !report.repaired.is_empty() {
        tracing::info!(store = %store.store_id, shop = shop_id, skus = report.repaired.len(), "stock drift repaired");
    }
    Ok(report)
}

/// How far back open orders are looked for (pre-orders stay ON_HOLD longest).
const OPEN_ORDER_DAYS: i64 = 30;

/// The SKUs of the shop's open TikTok orders (unpaid, on hold, awaiting shipment or
/// collection, partly shipped) created in the last [`OPEN_ORDER_DAYS`] days; the error in
/// words on failure.
async fn open_order_skus(app: &App, shop: &accounts::ShopRecord) -> Result<HashSet<String>, String> {
    let mut skus = HashSet::new();
    let open = [
        OrderStatus::Unpaid,
        OrderStatus::OnHold,
        OrderStatus::AwaitingShipment,
        OrderStatus::PartiallyShipping,
        OrderStatus::AwaitingCollection,
    ];
    for status in open {
        let filter = OrderSearch {
            order_status: Some(status),
            create_time_ge: Some(unix_now() - OPEN_ORDER_DAYS * 86_400),
            ..OrderSearch::default()
        };
        let mut page_token: Option<String> = None;
        loop {
            let tiktok = &app.tiktok;
            let (filter, token) = (&filter, page_token.as_deref());
            let page = crate::shops::with_shop(app, shop, |auth| async move {
                tiktok.search_orders(&auth, filter, 50, token).await
            })
            .await
            .map_err(|e| format!("TikTok's open orders could not be read: {e}"))?;
            skus.extend(
                page.items
                    .iter()
                    .flat_map(|o| o.line_items.iter().map(|l| l.sku_id.to_string())),
            );
            match page.next_page_token.filter(|t| !t.is_empty()) {
                Some(next) => page_token = Some(next),
                None => break,
            }
        }
    }
    Ok(skus)
}

/// Every live SKU's (seller SKU, units summed over its warehouses) on TikTok, by SKU
/// id, paging Search Products 100 at a time; the error in words on failure.
async fn tiktok_stock(app: &App, shop: &accounts::ShopRecord) -> Result<HashMap<String, (String, u32)>, String> {
    let mut units = HashMap::new();
    let mut page_token: Option<String> = None;
    let filter = ProductSearch {
        status: Some("ACTIVATE".into()),
        ..ProductSearch::default()
    };
    loop {
        let tiktok = &app.tiktok;
        let (filter, token) = (&filter, page_token.as_deref());
        let page = crate::shops::with_shop(app, shop, |auth| async move {
            tiktok.search_products(&auth, filter, 100, token).await
        })
        .await
        .map_err(|e| format!("TikTok's stock could not be read: {e}"))?;
        for product in page.items {
            for sku in product.skus {
                let total = sku.inventory.iter().map(|w| w.quantity).sum();
                units.insert(sku.id.to_string(), (sku.seller_sku, total));
            }
        }
        match page.next_page_token.filter(|t| !t.is_empty()) {
            Some(next) => page_token = Some(next),
            None => return Ok(units),
        }
    }
}
