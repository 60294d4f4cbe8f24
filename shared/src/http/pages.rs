//! Server-rendered pages: the onboarding wizard, the dashboard, the manual connection
//! form and clear error pages. Every value is HTML-escaped.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use crate::accounts::{OnboardingStep, Settings, ShopRecord, ShopStatus, StoreRecord};
use crate::catalog::reconcile::Reconciliation;
use crate::orders::{CancelReason, ItemPrice, OrderRecord, SyncState};
use crate::redrive::ParkedJob;
use crate::store::OrderStatus as StoreStatus;

/// Escapes text for HTML bodies and attributes.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:760px;margin:2rem auto;padding:0 1rem;color:#1d1d1f}\
h1{font-size:1.5rem}.steps{display:flex;gap:.5rem;list-style:none;padding:0}.steps li{padding:.3rem .6rem;border-radius:1rem;background:#eee}\
.steps li.now{background:#fe2c55;color:#fff}.steps li.done{background:#25f4ee}.card{border:1px solid #ddd;border-radius:.5rem;padding:1rem;margin:1rem 0}\
.warn{background:#fff4e5;border-color:#f5a623}.error{background:#fdecea;border-color:#e53935}button,.button{background:#fe2c55;color:#fff;border:0;\
border-radius:.3rem;padding:.5rem 1rem;text-decoration:none;cursor:pointer}label{display:block;margin:.4rem 0}\
table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:.3rem;border-bottom:1px solid #eee;vertical-align:top}\
.state-error,.state-parked{color:#b71c1c;font-weight:600}.state-created{color:#1b5e20}td form,td p{margin:0}td button{padding:.2rem .6rem}";

/// Where the stylesheet is served: `/assets/app-<first 12 hex of its SHA-256>.css`, so
/// it can be cached for a year and a new version gets a new name.
pub fn stylesheet_path() -> &'static str {
    static PATH: std::sync::LazyLock<String> =
        std::sync::LazyLock::new(|| format!("/assets/app-{}.css", &crate::crypto::sha256_hex(STYLE.as_bytes())[..12]));
    &PATH
}

/// `GET` [`stylesheet_path`]: the stylesheet, cacheable for a year (its name changes
/// with its content). A file, not an inline `<style>`, so the pages' CSP is `'self'`.
pub async fn stylesheet() -> Response {
    (
        [
            (axum::http::header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (axum::http::header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ],
        STYLE,
    )
        .into_response()
}

/// A whole page.
pub fn page(title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{} · TikTok Shop Connector</title>\
<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><link rel=\"stylesheet\" href=\"{}\"></head><body>{body}</body></html>",
        escape(title),
        stylesheet_path()
    ))
}

/// A page explaining what went wrong and what to do.
pub fn error_page(status: StatusCode, title: &str, message: &str) -> Response {
    let body = format!(
        "<h1>{}</h1><div class=\"card error\"><p>{}</p></div>",
        escape(title),
        escape(message)
    );
    (status, page(title, &body)).into_response()
}

const STEPS: [(OnboardingStep, &str); 5] = [
    (OnboardingStep::ConnectShop, "Connect TikTok Shop"),
    (OnboardingStep::ChooseWarehouse, "Warehouse"),
    (OnboardingStep::DefaultProfile, "Default profile"),
    (OnboardingStep::Configuration, "Configuration"),
    (OnboardingStep::Done, "Dashboard"),
];

fn step_list(current: OnboardingStep) -> String {
    let items: String = STEPS
        .iter()
        .map(|(step, label)| {
            let class = if *step == current {
                "now"
            } else if *step < current {
                "done"
            } else {
                ""
            };
            format!("<li class=\"{class}\">{label}</li>")
        })
        .collect();
    format!("<ol class=\"steps\">{items}</ol>")
}

fn shop_cards(store: &StoreRecord, shops: &[ShopRecord]) -> String {
    shops
        .iter()
        .map(|shop| {
            let blocker = shop.sync_blocker(&store.currency).map(|b| format!("<p><strong>Syncing paused:</strong> {}</p>", escape(&b))).unwrap_or_default();
            let reauthorize = (shop.status == ShopStatus::NeedsReauthorization)
                .then(|| "<p><a class=\"button\" href=\"/tiktok/connect\" target=\"_blank\" rel=\"noopener\">Re-authorize</a></p>".to_string())
                .unwrap_or_default();
            let class = if blocker.is_empty() { "card" } else { "card warn" };
            let status = match shop.status {
                ShopStatus::Active => "Connected",
                ShopStatus::NeedsReauthorization => "Needs re-authorization",
                ShopStatus::Disconnected => "Disconnected",
            };
            format!(
                "<div class=\"{class}\" data-shop=\"{}\"><h3>{} ({})</h3><p>Status: {status} · Currency {}</p>{blocker}{reauthorize}</div>",
                escape(&shop.shop_id),
                escape(&shop.name),
                escape(&shop.region),
                escape(&shop.currency)
            )
        })
        .collect()
}

fn form(action: &str, csrf: &str, fields: &str, button: &str) -> String {
    format!(
        "<form method=\"post\" action=\"{action}\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">{fields}<p><button type=\"submit\">{button}</button></p></form>",
        escape(csrf)
    )
}

/// How many orders the dashboard lists (newest first).
const ORDERS_SHOWN: usize = 50;

fn state_label(state: SyncState) -> (&'static str, &'static str) {
    match state {
        SyncState::Created => ("created", "In the store"),
        SyncState::Error => ("error", "Error"),
        SyncState::Skipped => ("skipped", "Not imported"),
        SyncState::Cancelled => ("cancelled", "Cancelled"),
        SyncState::Parked => ("parked", "Needs attention"),
    }
}

/// The dashboard's orders: counts per state and the newest orders with their store
/// order or the reason they are not in the store, and Retry where it helps.
fn order_table(records: &[OrderRecord], csrf: &str) -> String {
    let mut newest: Vec<&OrderRecord> = records.iter().collect();
    newest.sort_by(|a, b| {
        b.updated_at
            .cmp(&a.updated_at)
            .then(b.tiktok_order_id.cmp(&a.tiktok_order_id))
    });
    let failing = records
        .iter()
        .filter(|r| matches!(r.state, SyncState::Error | SyncState::Parked))
        .count();
    let rows: String = newest
        .iter()
        .take(ORDERS_SHOWN)
        .map(|record| {
            let (class, label) = state_label(record.state);
            let action = if matches!(record.state, SyncState::Error | SyncState::Parked) {
                form("/settings/forms/retry", csrf, &format!("<input type=\"hidden\" name=\"order_id\" value=\"{}\">", escape(&record.tiktok_order_id)), "Retry")
            } else {
                String::new()
            };
            format!(
                "<tr data-order=\"{id}\"><td>{id}</td><td>{}</td><td class=\"state-{class}\">{label}</td><td>{}</td><td>{}</td><td>{action}</td></tr>",
                escape(record.store_order_id.as_deref().unwrap_or("—")),
                escape(&record.tiktok_status),
                escape(record.reason.as_deref().unwrap_or("")),
                id = escape(&record.tiktok_order_id),
            )
        })
        .collect();
    let body = if records.is_empty() {
        "<p>No TikTok orders yet. Paid orders appear here within seconds.</p>".to_string()
    } else {
        format!(
            "<p>{} order(s) · {failing} need attention</p><table><thead><tr><th>TikTok order</th><th>Store order</th><th>State</th>\
<th>TikTok status</th><th>Reason</th><th></th></tr></thead><tbody>{rows}</tbody></table>",
            records.len()
        )
    };
    format!("<div class=\"card\" id=\"orders\"><h2>Orders</h2>{body}</div>")
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

fn select(name: &str, label: &str, options: &[(String, &str)], chosen: &str) -> String {
    let options: String = options
        .iter()
        .map(|(value, text)| {
            let selected = if value == chosen { " selected" } else { "" };
            format!(
                "<option value=\"{}\"{selected}>{}</option>",
                escape(value),
                escape(text)
            )
        })
        .collect();
    format!("<label>{label} <select name=\"{name}\">{options}</select></label>")
}

fn check(name: &str, label: &str, on: bool) -> String {
    format!(
        "<label><input type=\"checkbox\" name=\"{name}\" value=\"on\"{}> {label}</label>",
        if on { " checked" } else { "" }
    )
}

/// The order settings: status mapping, cancellations both ways, what is imported.
fn order_settings_form(settings: &Settings, csrf: &str) -> String {
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
    let fields = [
        "<h3>Store order status for each TikTok status</h3>".to_string(),
        select(
            "status:awaiting_shipment",
            "Awaiting shipment (new orders)",
            &statuses(false),
            &status_key(&mapping.awaiting_shipment),
        ),
        select(
            "status:awaiting_collection",
            "Awaiting collection",
            &statuses(true),
            &optional(&mapping.awaiting_collection),
        ),
        select(
            "status:in_transit",
            "In transit",
            &statuses(true),
            &optional(&mapping.in_transit),
        ),
        select(
            "status:delivered",
            "Delivered",
            &statuses(true),
            &optional(&mapping.delivered),
        ),
        select(
            "status:completed",
            "Completed",
            &statuses(true),
            &optional(&mapping.completed),
        ),
        "<h3>Cancellations and imports</h3>".to_string(),
        check(
            "cancel_store_orders",
            "Cancel the store order when TikTok cancels it",
            settings.cancel_store_orders,
        ),
        check(
            "archive_cancelled",
            "Archive store orders that TikTok cancels",
            settings.archive_cancelled,
        ),
        select(
            "store_cancel_reason",
            "Reason sent to TikTok when you cancel in the store",
            &reasons,
            settings.store_cancel_reason.key(),
        ),
        check(
            "import_awaiting_collection",
            "Import orders awaiting collection",
            settings.import_awaiting_collection,
        ),
        check("import_sample_orders", "Import sample orders", settings.import_sample_orders),
        check("import_fbt_orders", "Import orders fulfilled by TikTok (FBT)", settings.import_fbt_orders),
        select("item_price", "Item prices on store orders", &prices, item_price),
        format!(
            "<label>Order id prefix in the store order's note <input name=\"order_prefix\" maxlength=\"10\" value=\"{}\"></label>",
            escape(&settings.order_prefix)
        ),
        format!(
            "<label>Automatic retries of a failed order <input type=\"number\" name=\"order_retries\" min=\"0\" max=\"10\" value=\"{}\"></label>",
            settings.order_retries
        ),
        "<h3>Carriers</h3>".to_string(),
        format!(
            "<label>Store carrier = TikTok shipping provider, one per line <textarea name=\"carrier_map\" rows=\"3\">{}</textarea></label>",
            escape(&carrier_lines)
        ),
        format!(
            "<label>Default TikTok shipping provider <input name=\"default_provider\" value=\"{}\"></label>",
            escape(settings.default_provider.as_deref().unwrap_or(""))
        ),
    ]
    .concat();
    format!(
        "<div class=\"card\" id=\"order-settings\"><h2>Order settings</h2>{}</div>",
        form("/settings/forms/orders", csrf, &fields, "Save order settings")
    )
}

/// The work the dashboard shows.
pub struct Work<'a> {
    /// Order records.
    pub orders: &'a [OrderRecord],
    /// Jobs set aside after every retry failed.
    pub parked: &'a [ParkedJob],
    /// The latest stock reconciliation of each shop.
    pub reconciliations: &'a [Reconciliation],
}

/// How many repaired SKUs the stock card lists per shop.
const REPAIRS_SHOWN: usize = 20;

/// The stock card: per shop, when stock was last compared with TikTok, how many SKUs,
/// and each SKU whose TikTok stock had drifted, with what TikTok showed and what it
/// was set back to (nothing before the first run).
fn reconciliation_card(shops: &[ShopRecord], reports: &[Reconciliation]) -> String {
    if reports.is_empty() {
        return String::new();
    }
    let now = crate::storage::unix_now();
    let sections: String = reports
        .iter()
        .map(|report| {
            let shop = shops
                .iter()
                .find(|s| s.shop_id == report.shop_id)
                .map_or(report.shop_id.as_str(), |s| s.name.as_str());
            let minutes = (now - report.ran_at).max(0) / 60;
            let summary = format!(
                "<p><strong>{}</strong>: checked {} minute(s) ago · {} SKU(s) compared · {} repaired</p>",
                escape(shop),
                minutes,
                report.checked,
                report.repaired.len()
            );
            let held = if report.held.is_empty() {
                String::new()
            } else {
                format!(
                    "<p>{} SKU(s) show fewer on TikTok while TikTok orders of them are open; they are left as they are until those orders reach your store.</p>",
                    report.held.len()
                )
            };
            let error = report
                .error
                .as_deref()
                .map(|e| format!("<p class=\"state-error\">{}</p>", escape(e)))
                .unwrap_or_default();
            let rows: String = report
                .repaired
                .iter()
                .take(REPAIRS_SHOWN)
                .map(|d| {
                    format!(
                        "<tr data-sku=\"{}\"><td>{}</td><td>{}</td><td>{}</td></tr>",
                        escape(&d.sku_id),
                        escape(&d.seller_sku),
                        d.tiktok_units,
                        d.expected_units
                    )
                })
                .collect();
            let table = if rows.is_empty() {
                String::new()
            } else {
                format!("<table><thead><tr><th>SKU</th><th>TikTok showed</th><th>Set to</th></tr></thead><tbody>{rows}</tbody></table>")
            };
            format!("{summary}{held}{error}{table}")
        })
        .collect();
    format!(
        "<div class=\"card\" id=\"stock-reconciliation\"><h2>Stock check</h2><p>Every hour the connector compares TikTok's stock of every live SKU with your store and corrects any difference.</p>{sections}</div>"
    )
}

/// Jobs set aside, each with its reason and a Retry (nothing when there are none).
fn parked_list(parked: &[ParkedJob], csrf: &str) -> String {
    if parked.is_empty() {
        return String::new();
    }
    let rows: String = parked
        .iter()
        .map(|p| {
            let id = escape(&p.job.id);
            let retry = form(
                "/settings/forms/retry-job",
                csrf,
                &format!("<input type=\"hidden\" name=\"job_id\" value=\"{id}\">"),
                "Retry",
            );
            format!(
                "<tr data-job=\"{id}\"><td>{}</td><td>{retry}</td></tr>",
                escape(&p.reason)
            )
        })
        .collect();
    format!("<div class=\"card error\" id=\"parked\"><h2>Set aside</h2><table><tbody>{rows}</tbody></table></div>")
}

/// The onboarding wizard at the store's current step, or the dashboard when done.
pub fn settings(store: &StoreRecord, shops: &[ShopRecord], work: &Work, csrf: &str) -> Html<String> {
    let step = store.onboarding;
    let active: Vec<&ShopRecord> = shops.iter().filter(|s| s.status != ShopStatus::Disconnected).collect();
    let content = match step {
        OnboardingStep::ConnectShop => "<div class=\"card\"><h2>Connect your TikTok Shop</h2><p>You will approve the connection in TikTok Seller Center and come back here.</p>\
<p><a class=\"button\" href=\"/tiktok/connect\" target=\"_blank\" rel=\"noopener\">Connect TikTok Shop</a></p></div>"
            .to_string(),
        OnboardingStep::ChooseWarehouse => {
            let options: String = active
                .iter()
                .flat_map(|shop| {
                    shop.warehouses.iter().map(move |w| {
                        let checked = if shop.default_warehouse_id.as_deref() == Some(w.id.as_str()) { " checked" } else { "" };
                        format!(
                            "<label><input type=\"radio\" name=\"warehouse:{}\" value=\"{}\"{checked}> {} — {}</label>",
                            escape(&shop.shop_id),
                            escape(&w.id),
                            escape(&shop.name),
                            escape(&w.name)
                        )
                    })
                })
                .collect();
            format!("<div class=\"card\"><h2>Choose the warehouse stock ships from</h2>{}</div>", form("/settings/wizard/warehouse", csrf, &options, "Continue"))
        }
        OnboardingStep::DefaultProfile => format!(
            "<div class=\"card\"><h2>Default profile</h2><p>Profiles map your store categories to TikTok categories. A default profile is created for you; you can refine it later.</p>{}</div>",
            form("/settings/wizard/profile", csrf, "", "Continue")
        ),
        OnboardingStep::Configuration => {
            let settings = &store.settings;
            let fields = [
                check("auto_create", "Create TikTok products for new store products", settings.auto_create),
                check("auto_update", "Update TikTok products when store products change", settings.auto_update),
                check("auto_delete", "Delete TikTok products when store products are deleted", settings.auto_delete),
                check("import_awaiting_collection", "Import orders awaiting collection", settings.import_awaiting_collection),
                check("archive_cancelled", "Archive store orders that TikTok cancels", settings.archive_cancelled),
            ]
            .concat();
            format!("<div class=\"card\"><h2>Default configuration</h2>{}</div>", form("/settings/wizard/configuration", csrf, &fields, "Finish"))
        }
        OnboardingStep::Done => format!(
            "<div class=\"card\"><h2>Dashboard</h2><p>{} TikTok shop(s) connected.</p><p><a class=\"button\" href=\"/tiktok/connect\" target=\"_blank\" rel=\"noopener\">Connect another shop</a></p></div>{}{}{}",
            active.len(),
            parked_list(work.parked, csrf),
            order_table(work.orders, csrf),
            order_settings_form(&store.settings, csrf)
        ),
    };
    // Products can be live before the wizard ends: the stock check shows from its first run.
    let body = format!(
        "<h1>TikTok Shop Connector</h1><p>Store <code>{}</code></p>{}{}{content}{}",
        escape(&store.store_hash),
        step_list(step),
        shop_cards(store, shops),
        reconciliation_card(shops, work.reconciliations)
    );
    page("Settings", &body)
}

/// The manual connection form (store hash + API token).
pub fn connect_form(message: Option<&str>, form_token: &str, store_hash: &str) -> Html<String> {
    let notice = message
        .map(|m| format!("<div class=\"card error\"><p>{}</p></div>", escape(m)))
        .unwrap_or_default();
    page(
        "Connect your store",
        &format!(
            "<h1>Connect your BigCommerce store</h1>{notice}<div class=\"card\"><p>Create a store-level API account in BigCommerce \
(Settings → Store-level API accounts) and paste its details.</p><form method=\"post\" action=\"/connect\">\
<input type=\"hidden\" name=\"form_token\" value=\"{}\">\
<label>Store hash <input name=\"store_hash\" value=\"{}\" required></label><label>Access token <input name=\"access_token\" type=\"password\" required></label>\
<label>Client secret (lets the connector check BigCommerce's webhook signatures) <input name=\"client_secret\" type=\"password\"></label>\
<p><button type=\"submit\">Connect</button></p></form></div>",
            escape(form_token),
            escape(store_hash)
        ),
    )
}
