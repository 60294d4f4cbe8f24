//! The dashboard: product counts by listing status per shop, order counts by sync
//! state and TikTok status, activities with progress, connection health per shop,
//! the stock check, jobs set aside, the orders and the gross sales chart.

use maud::{Markup, PreEscaped, html};

use super::activities::{kind_label, progress};
use super::orders::{order_table, parked_list, reconciliation_card, state_label};
use super::{Frame, Section, ago, layout};
use crate::accounts::{ShopRecord, ShopStatus};
use crate::catalog::browse::TABS;
use crate::catalog::reconcile::Reconciliation;
use crate::catalog::records::{Activity, ListingStatus};
use crate::orders::{OrderRecord, SalesPeriod, SyncState};
use crate::redrive::ParkedJob;

/// Seconds before a token's or authorization's end from which the dashboard warns.
pub const EXPIRY_WARNING: i64 = 7 * 86_400;

/// One shop's health as the dashboard shows it.
pub struct ShopHealth<'a> {
    /// The shop.
    pub shop: &'a ShopRecord,
    /// Products per listing status on it.
    pub listings: Vec<(ListingStatus, u64)>,
    /// When the order poller last read it (Unix seconds).
    pub last_poll: Option<i64>,
    /// When its last TikTok webhook arrived (Unix seconds).
    pub last_webhook: Option<i64>,
    /// Its orders not in the store yet (errors, needing attention).
    pub orders_waiting: u64,
}

/// Everything the dashboard shows.
pub struct Dashboard<'a> {
    /// Per connected shop.
    pub shops: Vec<ShopHealth<'a>>,
    /// Orders per sync state.
    pub order_states: Vec<(SyncState, u64)>,
    /// Orders per TikTok status (as TikTok spells it).
    pub tiktok_statuses: Vec<(String, u64)>,
    /// The newest activities.
    pub activities: &'a [Activity],
    /// The latest orders (the orders card).
    pub orders: &'a [OrderRecord],
    /// Orders in all.
    pub order_total: u64,
    /// Jobs set aside.
    pub parked: &'a [ParkedJob],
    /// The latest stock check per shop.
    pub reconciliations: &'a [Reconciliation],
    /// Gross sales chart (SVG), when there are sales.
    pub sales_chart: Option<String>,
    /// The period the chart counts by.
    pub sales_period: SalesPeriod,
    /// Return and cancellation requests per stage (from the counters).
    pub returns: Vec<(crate::returns::Stage, i64)>,
}

fn expiry(label: &str, at: Option<i64>) -> Markup {
    let now = crate::storage::unix_now();
    html! {
        @if let Some(at) = at.filter(|at| *at > 0) {
            dt { (label) }
            @if at <= now {
                dd.state-error { "expired " (ago(at)) }
            } @else if at - now < EXPIRY_WARNING {
                // Whole days left, counted up: 2 days and 23 hours is "3 day(s)".
                dd.state-error { "ends in " ((at - now + 86_399) / 86_400) " day(s): re-authorize now" }
            } @else {
                dd { "in " ((at - now + 86_399) / 86_400) " days" }
            }
        }
    }
}

fn shop_card(health: &ShopHealth, store_currency: &str) -> Markup {
    let shop = health.shop;
    let blocker = shop.sync_blocker(store_currency);
    let status = match shop.status {
        ShopStatus::Active => "Connected",
        ShopStatus::NeedsReauthorization => "Needs re-authorization",
        ShopStatus::Disconnected => "Disconnected",
    };
    html! {
        div.card.warn[blocker.is_some() || shop.status == ShopStatus::NeedsReauthorization] data-shop=(shop.shop_id) {
            h3 { (shop.name) " (" (shop.region) ")" }
            p { "Status: " (status) " · Currency " (shop.currency) }
            @if let Some(blocker) = &blocker { p { strong { "Syncing paused: " } (blocker) } }
            @if shop.status == ShopStatus::NeedsReauthorization {
                p { a.button href="/tiktok/connect" target="_blank" rel="noopener" { "Re-authorize" } }
            }
            dl.pairs {
                dt { "Access token" } dd { "renewed automatically" }
                (expiry("Refresh token", Some(shop.refresh_expires_at)))
                (expiry("Authorization", shop.authorization_expires_at))
                dt { "Last webhook" } dd { (health.last_webhook.map(ago).unwrap_or_else(|| "none yet".into())) }
                dt { "Last order poll" } dd { (health.last_poll.map(ago).unwrap_or_else(|| "none yet".into())) }
                dt { "Orders waiting" } dd { (health.orders_waiting) }
            }
            table.listing-counts {
                tbody {
                    // Statuses no product has are left out, but for the two a merchant looks for.
                    @for (status, count) in health.listings.iter().filter(|(s, n)| *n > 0 || matches!(s, ListingStatus::NotUploaded | ListingStatus::Live)) {
                        @let label = TABS.iter().find(|(s, _)| s == status).map_or("", |(_, l)| l);
                        @let key = crate::catalog::records::status_key(*status);
                        tr data-status=(key) { td { a href=(format!("/settings/products?shop={}&status={key}", shop.shop_id)) { (label) } } td.num { (count) } }
                    }
                }
            }
        }
    }
}

/// `GET /settings/dashboard`.
pub fn dashboard(frame: &Frame, data: &Dashboard, csrf: &str) -> Markup {
    let store = frame.store;
    let connected = frame.active_shops().count();
    let body = html! {
        p { (connected) " TikTok shop(s) connected. " a href="/tiktok/connect" target="_blank" rel="noopener" { "Connect another shop" } }
        (parked_list(data.parked, csrf))
        h2 { "Shops and products" }
        div.grid { @for health in &data.shops { (shop_card(health, &store.currency)) } }
        div.grid {
            div.card #order-counts {
                h2 { "Orders by sync state" }
                table { tbody { @for (state, count) in &data.order_states {
                    @let (class, label) = state_label(*state);
                    tr { td class=(format!("state-{class}")) { (label) } td.num { (count) } }
                } } }
            }
            div.card #return-counts {
                h2 { "Returns and cancellations" }
                table { tbody { @for (stage, count) in &data.returns {
                    tr { td { a href=(format!("/settings/returns?status={}", stage.key())) { (stage.label()) } } td.num { (count) } }
                } } }
                p { a href="/settings/returns" { "All requests" } }
            }
            div.card #tiktok-statuses {
                h2 { "Orders by TikTok status" }
                @if data.tiktok_statuses.is_empty() { p.muted { "No orders yet." } }
                table { tbody { @for (status, count) in &data.tiktok_statuses { tr { td { (status) } td.num { (count) } } } } }
            }
        }
        div.card #recent-activities {
            h2 { "Activities" }
            @if data.activities.is_empty() { p.muted { "No import or upload yet." } }
            table { tbody { @for activity in data.activities {
                tr { td { a href=(format!("/settings/activities/{}", activity.id)) { (kind_label(&activity.kind)) } } td { (progress(activity, true)) } }
            } } }
            p { a href="/settings/activities" { "All activities" } }
        }
        div.card.chart #sales {
            h2 { "Gross sales of TikTok orders" }
            ul.tabs aria-label="Period" {
                @for (period, label) in [(SalesPeriod::Day, "Last 30 days"), (SalesPeriod::Week, "Last 12 weeks"), (SalesPeriod::Month, "Last 12 months")] {
                    li { a href=(format!("/settings/dashboard?sales={}#sales", crate::storage::serde_name(&period)))
                        aria-current=[(data.sales_period == period).then_some("page")] { (label) } }
                }
            }
            @match &data.sales_chart {
                // The SVG is plotters' own output: numbers and the currency codes of TikTok orders.
                Some(chart) => (PreEscaped(chart)),
                None => p.muted { "No sales in this period yet." },
            }
        }
        (reconciliation_card(frame.shops, data.reconciliations))
        (order_table(data.orders, data.order_total, data.order_states.iter().filter(|(s, _)| matches!(s, SyncState::Error | SyncState::Parked)).map(|(_, n)| n).sum(), csrf))
    };
    layout(
        &Frame {
            section: Section::Dashboard,
            ..*frame
        },
        "Dashboard",
        None,
        body,
    )
}

/// The gross sales chart: TikTok order totals per period (`periods`: label and each
/// currency's total in hundredths, oldest first), one line per currency, drawn by
/// plotters' SVG backend. None without sales.
pub fn sales_chart(periods: &[(String, std::collections::HashMap<String, i64>)]) -> Option<String> {
    use plotters::prelude::*;

    let mut per_currency: std::collections::BTreeMap<&str, Vec<f64>> = Default::default();
    for (i, (_, totals)) in periods.iter().enumerate() {
        for (currency, hundredths) in totals.iter().filter(|(name, _)| name.as_str() != "orders") {
            per_currency
                .entry(currency.as_str())
                .or_insert_with(|| vec![0.0; periods.len()])[i] = *hundredths as f64 / 100.0;
        }
    }
    if per_currency.is_empty() {
        return None;
    }
    let top = per_currency
        .values()
        .flatten()
        .copied()
        .fold(0.0_f64, f64::max)
        .max(1.0)
        * 1.1;
    let colours = [RGBColor(254, 44, 85), RGBColor(37, 200, 190), RGBColor(30, 30, 30)];
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (960, 280)).into_drawing_area();
        root.fill(&WHITE).ok()?;
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .x_label_area_size(28)
            .y_label_area_size(60)
            .build_cartesian_2d(0..(periods.len() as i32 - 1).max(1), 0.0..top)
            .ok()?;
        chart
            .configure_mesh()
            .x_labels(10)
            .x_label_formatter(&|i| {
                periods
                    .get(*i as usize)
                    .map(|(label, _)| label.clone())
                    .unwrap_or_default()
            })
            .y_desc("Gross sales")
            .draw()
            .ok()?;
        for ((currency, values), colour) in per_currency.iter().zip(colours.iter().cycle()) {
            chart
                .draw_series(LineSeries::new(
                    values.iter().enumerate().map(|(i, v)| (i as i32, *v)),
                    colour.stroke_width(2),
                ))
                .ok()?
                .label(*currency)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], colour.stroke_width(2)));
        }
        chart
            .configure_series_labels()
            .background_style(WHITE)
            .border_style(BLACK)
            .draw()
            .ok()?;
        root.present().ok()?;
    }
    Some(svg)
}
