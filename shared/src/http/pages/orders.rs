//! The orders screens (the list with its tabs, search and paging; one order with its
//! lines, totals, packages, timeline and actions) and the orders parts of the
//! dashboard: the latest orders, jobs set aside, the stock check, the order settings.

use std::collections::HashMap;

use maud::{Markup, html};

use super::{Frame, form, layout};
use crate::accounts::ShopRecord;
use crate::catalog::reconcile::Reconciliation;
use crate::orders::actions::PackageSummary;
use crate::orders::browse::{OrderFilter, OrderPage, STATE_TABS, STATUS_TABS, status_words};
use crate::orders::timeline::Event;
use crate::orders::{OrderRecord, SyncState};
use crate::redrive::ParkedJob;
use crate::store::OrderStatus as StoreStatus;
use crate::tiktok::model::Order;

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
                p { a href="/settings/orders" { "All orders, with search and filters →" } }
                table {
                    thead { tr { th { "TikTok order" } th { "Store order" } th { "State" } th { "TikTok status" } th { "Reason" } th {} } }
                    tbody {
                        @for record in newest {
                            @let (class, label) = state_label(record.state);
                            tr data-order=(record.tiktok_order_id) {
                                td { a href=(format!("/settings/orders/{}", record.tiktok_order_id)) { (record.tiktok_order_id) } }
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

/// The store statuses a TikTok status may map to, with the merchant's words.
pub(crate) const STORE_STATUSES: [(StoreStatus, &str); 6] = [
    (StoreStatus::Pending, "Pending"),
    (StoreStatus::AwaitingFulfillment, "Awaiting Fulfillment"),
    (StoreStatus::AwaitingShipment, "Awaiting Shipment"),
    (StoreStatus::PartiallyShipped, "Partially Shipped"),
    (StoreStatus::Shipped, "Shipped"),
    (StoreStatus::Completed, "Completed"),
];

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

/// A link to the orders list with `filter`'s search, dates and shop, the tab
/// (`state` or `status`) and the page.
fn list_link(filter: &OrderFilter, tab: Tab, page: Option<usize>) -> String {
    list_link_after(filter, tab, page, "")
}

/// [`list_link`] continuing after the position `after` (the "Older" link).
fn list_link_after(filter: &OrderFilter, tab: Tab, page: Option<usize>, after: &str) -> String {
    let mut pairs = url::form_urlencoded::Serializer::new(String::new());
    match tab {
        Tab::All => {}
        Tab::State(state) => {
            pairs.append_pair("state", &crate::orders::state_key(state));
        }
        Tab::Status(status) => {
            pairs.append_pair("status", status);
        }
    }
    for (name, value) in [
        ("q", &filter.q),
        ("from", &filter.from),
        ("to", &filter.to),
        ("shop", &filter.shop),
    ] {
        if !value.trim().is_empty() {
            pairs.append_pair(name, value.trim());
        }
    }
    if let Some(page) = page {
        pairs.append_pair("page", &page.to_string());
    }
    if !after.is_empty() {
        pairs.append_pair("after", after);
    }
    format!("/settings/orders?{}", pairs.finish())
}

/// A tab of the orders screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tab<'a> {
    All,
    State(SyncState),
    Status(&'a str),
}

/// What the orders screen shows.
pub struct OrdersView<'a> {
    /// The page of orders.
    pub page: &'a OrderPage,
    /// The store's order counters (`state:<key>`, `status:<status>`).
    pub counts: &'a HashMap<String, i64>,
    /// The filter as asked.
    pub filter: &'a OrderFilter,
    /// A filter field the screen could not apply: (field, message).
    pub error: Option<(&'a str, String)>,
    /// The store's control-panel page of a store order.
    pub admin_url: &'a dyn Fn(&str) -> String,
}

fn shop_name<'a>(frame: &'a Frame, shop_id: &'a str) -> &'a str {
    frame
        .shops
        .iter()
        .find(|s| s.shop_id == shop_id)
        .map_or(shop_id, |s| s.name.as_str())
}

fn total_words(record: &OrderRecord) -> String {
    record
        .sale
        .as_ref()
        .map_or_else(|| "—".to_string(), |s| format!("{:.2} {}", s.total, s.currency))
}

fn items_words(record: &OrderRecord) -> String {
    match &record.sale {
        Some(sale) if sale.units == 1 => format!("1 unit: {}", sale.skus.join(", ")),
        Some(sale) if sale.units > 0 => format!("{} units: {}", sale.units, sale.skus.join(", ")),
        _ => "—".to_string(),
    }
}

/// A store order's number, linked to its page in the store's control panel.
fn store_order_link(store_order_id: Option<&str>, admin_url: &dyn Fn(&str) -> String) -> Markup {
    html! {
        @match store_order_id {
            Some(id) => a href=(admin_url(id)) target="_top" rel="noopener" title="Open in the store's control panel" { "#" (id) },
            None => span.muted { "—" },
        }
    }
}

/// `GET /settings/orders`: tabs by TikTok status and by sync state with counts, search,
/// date range and shop, a page of orders (bulk Retry of the ones in error), fetch one
/// order by id and sync the missed orders of a date range.
pub fn orders_page(frame: &Frame, view: &OrdersView, csrf: &str) -> Markup {
    let filter = view.filter;
    let state = filter.state().ok().flatten();
    let status = filter.status.trim();
    let chosen = match (state, status) {
        (Some(state), _) => Tab::State(state),
        (None, "") => Tab::All,
        (None, status) => Tab::Status(status),
    };
    let count = |key: String| -> i64 {
        match &view.page.matched {
            Some(matched) => matched.get(&key).copied().unwrap_or(0) as i64,
            None => view.counts.get(&key).copied().unwrap_or(0),
        }
    };
    let all = match &view.page.matched {
        Some(matched) => matched.get("all").copied().unwrap_or(0) as i64,
        None => view
            .counts
            .iter()
            .filter(|(k, _)| k.starts_with("state:"))
            .map(|(_, n)| n)
            .sum(),
    };
    let refused = |field: &str| {
        view.error
            .as_ref()
            .filter(|(f, _)| *f == field)
            .map(|(_, m)| m.as_str())
    };
    let shops: Vec<_> = frame.active_shops().collect();
    let retryable = view
        .page
        .records
        .iter()
        .any(|r| matches!(r.state, SyncState::Error | SyncState::Parked));
    let body = html! {
        ul.tabs aria-label="TikTok status" {
            li { a href=(list_link(filter, Tab::All, None)) aria-current=[(chosen == Tab::All).then_some("page")] { "All (" (all) ")" } }
            @for (key, words) in STATUS_TABS {
                li { a href=(list_link(filter, Tab::Status(key), None)) aria-current=[(chosen == Tab::Status(key)).then_some("page")] data-status=(key) { (words) " (" (count(format!("status:{key}"))) ")" } }
            }
        }
        ul.tabs aria-label="Sync state" {
            @for (state, words) in STATE_TABS {
                li { a href=(list_link(filter, Tab::State(state), None)) aria-current=[(chosen == Tab::State(state)).then_some("page")] data-state=(crate::orders::state_key(state)) { (words) " (" (count(format!("state:{}", crate::orders::state_key(state)))) ")" } }
            }
        }
        form.filters method="get" action="/settings/orders" role="search" {
            @match chosen {
                Tab::State(state) => input type="hidden" name="state" value=(crate::orders::state_key(state));,
                Tab::Status(status) => input type="hidden" name="status" value=(status);,
                Tab::All => {},
            }
            label { "Search " input #order-search type="search" name="q" value=(filter.q) placeholder="TikTok order, store order or SKU"; }
            label { "From " input type="date" name="from" value=(filter.from) aria-invalid=[refused("from").map(|_| "true")];
                @if let Some(message) = refused("from") { span.field-error { (message) } } }
            label { "To " input type="date" name="to" value=(filter.to) aria-invalid=[refused("to").map(|_| "true")];
                @if let Some(message) = refused("to") { span.field-error { (message) } } }
            @if shops.len() > 1 {
                label { "Shop "
                    select name="shop" {
                        option value="" { "All shops" }
                        @for shop in &shops { option value=(shop.shop_id) selected[shop.shop_id == filter.shop] { (shop.name) } }
                    }
                }
            }
            button.secondary type="submit" { "Filter" }
        }
        @if view.page.indexing {
            p.muted #indexing { "Orders from before this screen existed are still being indexed; some may be missing for a few minutes." }
        }
        @if view.page.truncated {
            p.muted { "More than " (crate::orders::browse::MAX_MATCHES) " orders match; the newest are shown. Narrow the search." }
        }
        @if view.page.records.is_empty() {
            div.card { p.muted { "No orders here. Paid TikTok orders appear within seconds; use “Fetch an order” below for one you miss." } }
        } @else {
            form #order-rows method="post" action="/settings/orders/retry" {
                input type="hidden" name="csrf" value=(csrf);
                table #orders-table {
                    thead { tr {
                        th { span.visually-hidden { "Select" } }
                        th { "TikTok order" } th { "Store order" } th { "Shop" } th { "Placed" }
                        th { "Items" } th.num { "Total" } th { "TikTok status" } th { "Sync" }
                    } }
                    tbody {
                        @for record in &view.page.records {
                            @let (class, label) = state_label(record.state);
                            tr data-order=(record.tiktok_order_id) {
                                td {
                                    @if matches!(record.state, SyncState::Error | SyncState::Parked) {
                                        input type="checkbox" name="order_id" value=(record.tiktok_order_id) aria-label=(format!("Select order {}", record.tiktok_order_id));
                                    }
                                }
                                td { a href=(format!("/settings/orders/{}", record.tiktok_order_id)) { (record.tiktok_order_id) } }
                                td { (store_order_link(record.store_order_id.as_deref(), view.admin_url)) }
                                td { (shop_name(frame, &record.shop_id)) }
                                td { @if let Some(sale) = &record.sale { (super::activities::time(sale.placed_at)) } @else { span.muted { "—" } } }
                                td { (items_words(record)) }
                                td.num { (total_words(record)) }
                                td { (status_words(&record.tiktok_status)) }
                                td class=(format!("state-{class}")) {
                                    (label)
                                    @if let Some(reason) = &record.reason { br; span.muted { (reason) } }
                                }
                            }
                        }
                    }
                }
                @if retryable { p { button type="submit" { "Retry selected orders" } } }
            }
            div.pager {
                @if view.page.page > 1 { a href=(list_link(filter, chosen, Some(view.page.page - 1))) { "← Newer" } }
                span { "Page " (view.page.page) }
                @if let Some(after) = &view.page.next { a href=(list_link_after(filter, chosen, Some(view.page.page + 1), after)) { "Older →" } }
            }
        }
        div.grid {
            div.card #fetch-order {
                h2 { "Fetch an order" }
                p.muted { "Brings one TikTok order in by its id, as its webhook would." }
                form method="post" action="/settings/orders/fetch" {
                    input type="hidden" name="csrf" value=(csrf);
                    (shop_choice(&shops))
                    label { "TikTok order id " input name="order_id" inputmode="numeric" required; }
                    p { button type="submit" { "Fetch" } }
                }
            }
            div.card #sync-range {
                h2 { "Sync missed orders" }
                p.muted { "Reads every order placed in a date range (up to 90 days) and brings in the ones missing from the store." }
                form method="post" action="/settings/orders/sync-range" {
                    input type="hidden" name="csrf" value=(csrf);
                    (shop_choice(&shops))
                    label { "From " input type="date" name="from" required; }
                    label { "To " input type="date" name="to" required; }
                    p { button type="submit" { "Sync" } }
                }
            }
        }
    };
    layout(frame, "Orders", view.error.as_ref().map(|(_, m)| m.as_str()), body)
}

fn shop_choice(shops: &[&ShopRecord]) -> Markup {
    html! {
        @if shops.len() > 1 {
            label { "Shop "
                select name="shop_id" {
                    @for shop in shops { option value=(shop.shop_id) { (shop.name) " (" (shop.region) ")" } }
                }
            }
        } @else if let Some(shop) = shops.first() {
            input type="hidden" name="shop_id" value=(shop.shop_id);
        }
    }
}

/// What the order detail screen shows.
pub struct OrderDetail<'a> {
    /// The connector's record.
    pub record: &'a OrderRecord,
    /// The order as TikTok has it now, or why it could not be read.
    pub order: Result<&'a Order, String>,
    /// Store (product id, variant id) per TikTok SKU id, where linked.
    pub store_variants: &'a HashMap<String, (String, String)>,
    /// Its packages, or why TikTok's could not be read.
    pub packages: Result<&'a [PackageSummary], &'a str>,
    /// Its timeline, oldest first.
    pub events: &'a [Event],
    /// The store order's control-panel page.
    pub admin_url: Option<String>,
    /// A refused action: its message.
    pub error: Option<&'a str>,
}

fn amount(value: &crate::tiktok::types::Amount, currency: &str) -> String {
    format!("{:.2} {currency}", value.0)
}

/// `GET /settings/orders/{id}`: the order's lines, address, totals, packages and
/// timeline, with Retry, Re-sync and Cancel on TikTok (with the reasons TikTok takes
/// at the order's status).
pub fn order_page(frame: &Frame, detail: &OrderDetail, csrf: &str) -> Markup {
    let record = detail.record;
    let id = &record.tiktok_order_id;
    let (class, label) = state_label(record.state);
    let reasons = detail
        .order
        .as_ref()
        .map_or(&[][..], |order| crate::orders::actions::cancel_reasons(&order.status));
    let body = html! {
        p { a href="/settings/orders" { "← All orders" } }
        div.card #order-summary {
            dl.pairs {
                dt { "Shop" } dd { (shop_name(frame, &record.shop_id)) }
                dt { "Placed" } dd { @if let Some(sale) = &record.sale { (super::activities::time(sale.placed_at)) } @else { "—" } }
                dt { "TikTok status" } dd #tiktok-status { (status_words(&record.tiktok_status)) }
                dt { "Sync" } dd #sync-state class=(format!("state-{class}")) { (label) @if let Some(reason) = &record.reason { br; span.muted #sync-reason { (reason) } } }
                dt { "Store order" } dd {
                    @match (&record.store_order_id, &detail.admin_url) {
                        (Some(store_id), Some(url)) => a #store-order href=(url) target="_top" rel="noopener" { "#" (store_id) " in the store's control panel" },
                        _ => span.muted { "Not in the store" },
                    }
                }
            }
            div.answers {
                @if matches!(record.state, SyncState::Error | SyncState::Parked) {
                    form.quick method="post" action=(format!("/settings/orders/{id}/retry")) {
                        input type="hidden" name="csrf" value=(csrf);
                        button type="submit" { "Retry" }
                    }
                }
                form.quick method="post" action=(format!("/settings/orders/{id}/resync")) {
                    input type="hidden" name="csrf" value=(csrf);
                    button.secondary type="submit" { "Re-sync from TikTok" }
                }
            }
        }
        @match &detail.order {
            Err(why) => div.card.error { p { "TikTok's copy of the order could not be read: " (why) } },
            Ok(order) => {
                @let currency = order.payment.currency.as_str();
                div.card #order-lines {
                    h2 { "Items" }
                    table {
                        thead { tr { th { "Product" } th { "SKU" } th { "Store product" } th.num { "Price" } th.num { "Buyer paid" } th { "Package" } } }
                        tbody {
                            @for line in &order.line_items {
                                tr {
                                    td { (line.product_name) @if !line.sku_name.is_empty() { br; span.muted { (line.sku_name) } } }
                                    td { (line.seller_sku) }
                                    td {
                                        @match detail.store_variants.get(line.sku_id.as_str()) {
                                            Some((product, variant)) => a href=(format!("/settings/products/{product}?shop={}", record.shop_id)) { "Product " (product) " · variant " (variant) },
                                            None => span.state-error { "Not linked" },
                                        }
                                    }
                                    td.num { (amount(&line.original_price, currency)) }
                                    td.num { (amount(&line.sale_price, currency)) }
                                    td { (line.package_id.as_ref().map_or("—", |p| p.as_str())) }
                                }
                            }
                        }
                    }
                }
                div.grid {
                    div.card #order-totals {
                        h2 { "Totals" }
                        dl.pairs {
                            dt { "Items before discounts" } dd.num { (amount(&order.payment.original_total_product_price, currency)) }
                            dt { "Seller discounts" } dd.num { "−" (amount(&order.payment.seller_discount, currency)) }
                            dt { "Platform discounts" } dd.num { "−" (amount(&order.payment.platform_discount, currency)) }
                            dt { "Subtotal" } dd.num { (amount(&order.payment.sub_total, currency)) }
                            dt { "Shipping" } dd.num { (amount(&order.payment.shipping_fee, currency)) }
                            dt { "Tax" } dd.num { (amount(&order.payment.tax, currency)) }
                            dt { strong { "Total" } } dd.num { strong { (amount(&order.payment.total_amount, currency)) } }
                        }
                    }
                    div.card #shipping-address {
                        h2 { "Ship to" }
                        @let address = &order.recipient_address;
                        p {
                            (address.name) br;
                            @if !address.address_line1.is_empty() { (address.address_line1) br; }
                            @if !address.address_line2.is_empty() { (address.address_line2) br; }
                            @for district in address.district_info.iter().rev().take(3) { (district.address_name) " " }
                            (address.postal_code) br;
                            (address.region_code)
                        }
                    }
                }
            }
        }
        div.card #packages {
            h2 { "Packages" }
            @match detail.packages {
                Err(why) => p.state-error { "TikTok's packages could not be read: " (why) },
                Ok([]) => p.muted { "No package yet." },
                Ok(packages) => table {
                    thead { tr { th { "Package" } th { "Status" } th { "Carrier" } th { "Tracking" } th.num { "Units" } } }
                    tbody {
                        @for package in packages {
                            tr { td { (package.id) } td { (package.status) } td { (package.carrier) } td { (package.tracking_number) } td.num { (package.units) } }
                        }
                    }
                },
            }
        }
        @if !reasons.is_empty() {
            div.card #cancel-order {
                h2 { "Cancel on TikTok" }
                p.muted { "TikTok cancels the order and refunds the buyer; the store order follows your cancellation settings." }
                form method="post" action=(format!("/settings/orders/{id}/cancel")) {
                    input type="hidden" name="csrf" value=(csrf);
                    label { "Reason "
                        select name="reason" required {
                            option value="" { "Choose a reason" }
                            @for (key, words) in reasons { option value=(key) { (words) } }
                        }
                    }
                    p { button.danger type="submit" { "Cancel this order on TikTok" } }
                }
            }
        }
        div.card #timeline {
            h2 { "Timeline" }
            @if detail.events.is_empty() {
                p.muted { "Nothing recorded yet." }
            } @else {
                ol.timeline {
                    @for event in detail.events {
                        li class=(if event.ok { "ok" } else { "state-error" }) {
                            span.muted { (super::activities::time(event.at)) } " · " strong { (event.kind.words()) } " · " (event.text)
                        }
                    }
                }
            }
        }
    };
    layout(frame, &format!("TikTok order {id}"), detail.error, body)
}
