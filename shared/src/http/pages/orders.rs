//! The orders parts of the dashboard: the orders table with Retry, jobs set aside,
//! the stock check and the order settings form.

use maud::{Markup, html};

use super::{check, form, select};
use crate::accounts::{Settings, ShopRecord};
use crate::catalog::reconcile::Reconciliation;
use crate::orders::{CancelReason, ItemPrice, OrderRecord, SyncState};
use crate::redrive::ParkedJob;
use crate::store::OrderStatus as StoreStatus;

/// The CSS class and the merchant's words for a sync state.
pub fn state_label(state: SyncState) -> (&'static str, &'static str) {
    match state {
        SyncState::Created => ("created", "In the store"),
        SyncState::Error => ("error", "Error"),
        SyncState::Skipped => ("skipped", "Not imported"),
        SyncState::Cancelled => ("cancelled", "Cancelled"),
        SyncState::Parked => ("parked", "Needs attention"),
    }
}

/// The orders card: how many orders and how many need attention, then the latest
/// orders (`newest`, highest TikTok order number first) with their store order or the
/// reason they are not in the store, and Retry where it helps.
pub fn order_table(newest: &[OrderRecord], total: u64, failing: u64, csrf: &str) -> Markup {
    html! {
        div.card #orders {
            h2 { "Orders" }
            @if newest.is_empty() {
                p { "No TikTok orders yet. Paid orders appear here within seconds." }
            } @else {
                p { (total) " order(s) · " (failing) " need attention · the latest " (newest.len()) " below" }
                table {
                    thead { tr { th { "TikTok order" } th { "Store order" } th { "State" } th { "TikTok status" } th { "Reason" } th {} } }
                    tbody {
                        @for record in newest {
                            @let (class, label) = state_label(record.state);
                            tr data-order=(record.tiktok_order_id) {
                                td { (record.tiktok_order_id) }
                                td { (record.store_order_id.as_deref().unwrap_or("—")) }
                                td class=(format!("state-{class}")) { (label) }
                                td { (record.tiktok_status) }
                                td { (record.reason.as_deref().unwrap_or("")) }
                                td {
                                    @if matches!(record.state, SyncState::Error | SyncState::Parked) {
                                        (form("/settings/forms/retry", csrf, html! {
                                            input type="hidden" name="order_id" value=(record.tiktok_order_id);
                                        }, "Retry"))
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

const STORE_STATUSES: [(StoreStatus, &str); 6] = [
    (StoreStatus::Pending, "Pending"),
    (StoreStatus::AwaitingFulfillment, "Awaiting Fulfillment"),
    (StoreStatus::AwaitingShipment, "Awaiting Shipment"),
    (StoreStatus::PartiallyShipped, "Partially Shipped"),
    (StoreStatus::Shipped, "Shipped"),
    (StoreStatus::Completed, "Completed"),
];

fn status_key(status: &StoreStatus) -> String {
    serde_json::to_value(status)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// The order settings: status mapping, cancellations both ways, what is imported.
pub fn order_settings_form(settings: &Settings, csrf: &str) -> Markup {
    let mapping = &settings.status_mapping;
    let statuses = |keep: bool| {
        let mut options: Vec<(String, &str)> = STORE_STATUSES
            .iter()
            .map(|(s, label)| (status_key(s), *label))
            .collect();
        if keep {
            options.insert(0, (String::new(), "Leave as it is"));
        }
        options
    };
    let optional = |status: &Option<StoreStatus>| status.as_ref().map(status_key).unwrap_or_default();
    let prices = [
        ("buyer_paid".to_string(), "What the buyer paid"),
        (
            "seller_price".to_string(),
            "Seller price (before TikTok's platform discounts)",
        ),
    ];
    let item_price = match settings.item_price {
        ItemPrice::BuyerPaid => "buyer_paid",
        ItemPrice::SellerPrice => "seller_price",
    };
    let carrier_lines: String = settings
        .carrier_map
        .iter()
        .map(|(store, tiktok)| format!("{store} = {tiktok}\n"))
        .collect();
    let reasons: Vec<(String, &str)> = CancelReason::ALL
        .iter()
        .map(|(reason, label)| (reason.key().to_string(), *label))
        .collect();
    let fields = html! {
        h3 { "Store order status for each TikTok status" }
        (select("status:awaiting_shipment", "Awaiting shipment (new orders)", &statuses(false), &status_key(&mapping.awaiting_shipment)))
        (select("status:awaiting_collection", "Awaiting collection", &statuses(true), &optional(&mapping.awaiting_collection)))
        (select("status:in_transit", "In transit", &statuses(true), &optional(&mapping.in_transit)))
        (select("status:delivered", "Delivered", &statuses(true), &optional(&mapping.delivered)))
        (select("status:completed", "Completed", &statuses(true), &optional(&mapping.completed)))
        h3 { "Cancellations and imports" }
        (check("cancel_store_orders", "Cancel the store order when TikTok cancels it", settings.cancel_store_orders))
        (check("archive_cancelled", "Archive store orders that TikTok cancels", settings.archive_cancelled))
        (select("store_cancel_reason", "Reason sent to TikTok when you cancel in the store", &reasons, settings.store_cancel_reason.key()))
        (check("import_awaiting_collection", "Import orders awaiting collection", settings.import_awaiting_collection))
        (check("import_sample_orders", "Import sample orders", settings.import_sample_orders))
        (check("import_fbt_orders", "Import orders fulfilled by TikTok (FBT)", settings.import_fbt_orders))
        (select("item_price", "Item prices on store orders", &prices, item_price))
        label { "Order id prefix in the store order's note " input name="order_prefix" maxlength="10" value=(settings.order_prefix); }
        label { "Automatic retries of a failed order " input type="number" name="order_retries" min="0" max="10" value=(settings.order_retries); }
        h3 { "Carriers" }
        label { "Store carrier = TikTok shipping provider, one per line " textarea name="carrier_map" rows="3" { (carrier_lines) } }
        label { "Default TikTok shipping provider " input name="default_provider" value=(settings.default_provider.as_deref().unwrap_or("")); }
    };
    html! {
        div.card #order-settings {
            h2 { "Order settings" }
            (form("/settings/forms/orders", csrf, fields, "Save order settings"))
        }
    }
}

/// How many repaired SKUs the stock card lists per shop.
const REPAIRS_SHOWN: usize = 20;

/// The stock card: per shop, when stock was last compared with TikTok, how many SKUs,
/// and each SKU whose TikTok stock had drifted, with what TikTok showed and what it
/// was set back to (nothing before the first run).
pub fn reconciliation_card(shops: &[ShopRecord], reports: &[Reconciliation]) -> Markup {
    if reports.is_empty() {
        return html! {};
    }
    html! {
        div.card #stock-reconciliation {
            h2 { "Stock check" }
            p { "Every hour the connector compares TikTok's stock of every live SKU with your store and corrects any difference." }
            @for report in reports {
                @let shop = shops.iter().find(|s| s.shop_id == report.shop_id).map_or(report.shop_id.as_str(), |s| s.name.as_str());
                p {
                    strong { (shop) } ": checked " (super::ago(report.ran_at)) " · " (report.checked) " SKU(s) compared · "
                    (report.repaired.len()) " repaired"
                }
                @if !report.held.is_empty() {
                    p { (report.held.len()) " SKU(s) show fewer on TikTok while TikTok orders of them are open; they are left as they are until those orders reach your store." }
                }
                @if let Some(error) = &report.error {
                    p.state-error { (error) }
                }
                @if !report.repaired.is_empty() {
                    table {
                        thead { tr { th { "SKU" } th { "TikTok showed" } th { "Set to" } } }
                        tbody {
                            @for drift in report.repaired.iter().take(REPAIRS_SHOWN) {
                                tr data-sku=(drift.sku_id) { td { (drift.seller_sku) } td { (drift.tiktok_units) } td { (drift.expected_units) } }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Jobs set aside, each with its reason and a Retry (nothing when there are none).
pub fn parked_list(parked: &[ParkedJob], csrf: &str) -> Markup {
    if parked.is_empty() {
        return html! {};
    }
    html! {
        div.card.error #parked {
            h2 { "Set aside" }
            table {
                tbody {
                    @for p in parked {
                        tr data-job=(p.job.id) {
                            td { (p.reason) }
                            td { (form("/settings/forms/retry-job", csrf, html! { input type="hidden" name="job_id" value=(p.job.id); }, "Retry")) }
                        }
                    }
                }
            }
        }
    }
}
