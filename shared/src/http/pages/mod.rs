//! Server-rendered pages, written with `maud` (escaping by construction, checked at
//! compile time): one layout with the navigation on every settings page, the
//! onboarding wizard, the dashboard, the catalogue screens, the activities and clear
//! error pages. Assets (the stylesheet and the vendored htmx) are files with a content
//! hash in their names, so the pages' `Content-Security-Policy` stays `'self'`.

pub mod activities;
pub mod catalog;
pub mod configuration;
pub mod dashboard;
pub mod log;
pub mod notices;
pub mod orders;
pub mod returns;
pub mod wizard;

use axum::http::StatusCode;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};
use serde::Deserialize;

use crate::accounts::{OnboardingStep, ShopRecord, ShopStatus, StoreRecord};

/// The stylesheet, `shared/assets/app.css`.
const STYLE: &str = include_str!("../../../assets/app.css");
/// htmx 2.0.4 (BSD-0 licence, `shared/assets/htmx-LICENSE`), vendored: it swaps the
/// parts of a page the server renders again (progress, match counts).
const HTMX: &str = include_str!("../../../assets/htmx-2.0.4.min.js");

/// `/assets/<stem>-<first 12 hex of the SHA-256 of body>.<extension>`.
fn hashed(stem: &str, extension: &str, body: &str) -> String {
    format!(
        "/assets/{stem}-{}.{extension}",
        &crate::crypto::sha256_hex(body.as_bytes())[..12]
    )
}

/// Where the stylesheet is served (`/assets/app-<hash>.css`); a new version gets a
/// new name, so it can be cached for a year.
pub fn stylesheet_path() -> &'static str {
    static PATH: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| hashed("app", "css", STYLE));
    &PATH
}

/// Where the vendored htmx is served (`/assets/htmx-<hash>.js`).
pub fn script_path() -> &'static str {
    static PATH: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| hashed("htmx", "js", HTMX));
    &PATH
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (CONTENT_TYPE, content_type),
            (CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ],
        body,
    )
        .into_response()
}

/// `GET` [`stylesheet_path`]: the stylesheet, cacheable for a year.
pub async fn stylesheet() -> Response {
    asset("text/css; charset=utf-8", STYLE)
}

/// `GET` [`script_path`]: htmx, cacheable for a year.
pub async fn script() -> Response {
    asset("text/javascript; charset=utf-8", HTMX)
}

/// The connector's version, shown in every footer.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The `<head>` of every page: title, stylesheet, htmx (configured by a meta tag, as
/// the CSP forbids inline scripts and styles: no indicator styles injected).
fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            title { (title) " · TikTok Shop Connector" }
            meta name="viewport" content="width=device-width,initial-scale=1";
            meta name="htmx-config" content=r#"{"includeIndicatorStyles":false,"allowEval":false,"allowScriptTags":false}"#;
            link rel="stylesheet" href=(stylesheet_path());
            script src=(script_path()) defer {}
        }
    }
}

/// A page outside the settings app (the connect form, errors before a session).
pub fn page(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body { main id="main" { (body) } (footer()) }
        }
    }
}

fn footer() -> Markup {
    html! { footer { "TikTok Shop Connector " (VERSION) } }
}

/// A page explaining what went wrong and what to do.
pub fn error_page(status: StatusCode, title: &str, message: &str) -> Response {
    let body = html! {
        h1 { (title) }
        div.card.error { p { (message) } }
        p { a href="/settings" { "Back to the connector" } }
    };
    (status, page(title, body)).into_response()
}

/// The sections of the navigation, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    /// Counts, health, activities, sales.
    Dashboard,
    /// Profiles.
    Profiles,
    /// Products.
    Products,
    /// Orders: the list, one order.
    Orders,
    /// Returns, refunds and cancellation requests.
    Returns,
    /// Activities.
    Activities,
    /// Configuration: every setting, the account and its shops.
    Configuration,
    /// The activity log.
    Log,
    /// The notices behind the bell (reached from the header, not the navigation).
    Notifications,
    /// The onboarding wizard.
    Setup,
}

/// The navigation: label, link (none for a section not built yet) and section.
const NAVIGATION: [(&str, Option<&str>, Section); 8] = [
    ("Dashboard", Some("/settings/dashboard"), Section::Dashboard),
    ("Profiles", Some("/settings/profiles"), Section::Profiles),
    ("Products", Some("/settings/products"), Section::Products),
    ("Orders", Some("/settings/orders"), Section::Orders),
    ("Returns", Some("/settings/returns"), Section::Returns),
    ("Activities", Some("/settings/activities"), Section::Activities),
    ("Configuration", Some("/settings/configuration"), Section::Configuration),
    ("Log", Some("/settings/log"), Section::Log),
];

tokio::task_local! {
    /// The session store's unread notices, set for the request rendering a page.
    static UNREAD: usize;
}

/// Runs `render` (a page request) with the session store's unread notice count, which
/// the layout's bell shows (see [`unread_notices`]).
pub async fn with_unread_notices<F: std::future::Future>(count: usize, render: F) -> F::Output {
    UNREAD.scope(count, render).await
}

/// The unread notice count of the request being rendered (0 outside
/// [`with_unread_notices`]).
pub fn unread_notices() -> usize {
    UNREAD.try_with(|count| *count).unwrap_or(0)
}

/// What a redirect after a form tells the next page (`?done=<key>&n=<count>`): only
/// these keys, so a link cannot put words in the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Done {
    /// Settings or a profile saved.
    Saved,
    /// A profile created.
    Created,
    /// A profile deleted.
    Deleted,
    /// The wizard finished.
    SetupDone,
    /// A bulk action started (its activity page says which).
    Started,
    /// Overrides saved.
    OverridesSaved,
    /// A product linked to a TikTok product.
    Linked,
    /// A product unlinked.
    Unlinked,
    /// A retry queued (`n` orders when more than one).
    Retried,
    /// An order re-read from TikTok.
    Resynced,
    /// An order cancelled on TikTok.
    Cancelled,
    /// A TikTok shop disconnected.
    Disconnected,
    /// One TikTok order is being fetched.
    Fetching,
    /// A sync of missed orders started.
    SyncStarted,
    /// An answer to a return or cancellation request TikTok took.
    Answered,
    /// An answer not sent: the request had moved on (its timeline says how).
    NotSent,
    /// Notices marked read.
    MarkedRead,
}

/// The query every settings page reads its confirmation from.
#[derive(Debug, Default, Deserialize)]
pub struct Confirmation {
    /// What was done.
    pub done: Option<Done>,
    /// How many items it covered.
    #[serde(default, deserialize_with = "crate::catalog::browse::optional_number")]
    pub n: Option<u64>,
}

impl Confirmation {
    /// The confirmation's sentence.
    fn message(&self) -> Option<String> {
        let n = self.n.unwrap_or(0);
        Some(match self.done? {
            Done::Saved => "Saved.".to_string(),
            Done::Created => "Profile created.".to_string(),
            Done::Deleted => "Profile deleted.".to_string(),
            Done::SetupDone => "Setup finished. The import's progress shows under Activities.".to_string(),
            Done::Started => format!("Started for {n} product(s). Progress shows below."),
            Done::OverridesSaved => "Overrides saved. Upload the product again to send them to TikTok.".to_string(),
            Done::Linked => "Linked.".to_string(),
            Done::Unlinked => "Unlinked.".to_string(),
            Done::Retried if n > 1 => format!("{n} orders queued again."),
            Done::Retried => "Queued again.".to_string(),
            Done::Resynced => "Re-reading the order from TikTok; the timeline below shows what follows.".to_string(),
            Done::Disconnected => "Shop disconnected. Re-authorize it to start again.".to_string(),
            Done::Fetching => "TikTok knows the order: it is on its way to the store and shows under Orders within seconds.".to_string(),
            Done::SyncStarted => "Reading the range's orders from TikTok; each one missing from the store is brought in. Progress shows below.".to_string(),
            Done::Cancelled => {
                "TikTok took the cancellation. The store order follows your cancellation settings.".to_string()
            }
            Done::Answered => "Your answer was sent to TikTok. The timeline below shows what followed.".to_string(),
            Done::NotSent => "Your answer was not sent: TikTok had moved on. The timeline below says how.".to_string(),
            Done::MarkedRead => format!("{n} notice(s) marked read."),
        })
    }
}

/// What every settings page is framed with: the store, its shops, the section, the
/// shop the switcher shows and what the last form did.
pub struct Frame<'a> {
    /// The session's store.
    pub store: &'a StoreRecord,
    /// Its shops (disconnected ones included; the switcher skips them).
    pub shops: &'a [ShopRecord],
    /// Where in the navigation the page is.
    pub section: Section,
    /// The shop chosen in the switcher (`?shop=`), if any.
    pub shop: Option<&'a str>,
    /// The path the switcher submits to.
    pub path: &'a str,
    /// What the last form did.
    pub confirmation: &'a Confirmation,
    /// Return and cancellation requests to answer within 24 hours.
    pub due: usize,
}

impl Frame<'_> {
    /// The shops the switcher offers (connected ones).
    pub fn active_shops(&self) -> impl Iterator<Item = &ShopRecord> {
        self.shops.iter().filter(|s| s.status != ShopStatus::Disconnected)
    }

    /// The shop chosen in the switcher, when it is one the switcher offers: the
    /// navigation's links carry it (`?shop=`), so the choice holds from page to page.
    pub fn chosen_shop(&self) -> Option<&str> {
        self.shop.filter(|id| self.active_shops().any(|s| s.shop_id == *id))
    }

    /// `link` with the chosen shop, if any (`/settings/products?shop=…`).
    pub fn link(&self, link: &str) -> String {
        match self.chosen_shop() {
            Some(shop) => {
                let joiner = if link.contains('?') { '&' } else { '?' };
                let shop: String = url::form_urlencoded::byte_serialize(shop.as_bytes()).collect();
                format!("{link}{joiner}shop={shop}")
            }
            None => link.to_string(),
        }
    }

    /// The chosen shop, else the store's default shop, else the first connected one.
    pub fn current_shop(&self) -> Option<&ShopRecord> {
        let chosen = |id: &str| self.active_shops().find(|s| s.shop_id == id);
        self.shop
            .and_then(chosen)
            .or_else(|| self.store.settings.default_shop_id.as_deref().and_then(chosen))
            .or_else(|| self.active_shops().next())
    }
}

/// A whole settings page: header (store, shop switcher), navigation, the flash area,
/// the content and the footer. `error` shows in the flash area as an error.
pub fn layout(frame: &Frame, title: &str, error: Option<&str>, content: Markup) -> Markup {
    let current = frame.current_shop().map(|s| s.shop_id.as_str());
    let setup = frame.store.onboarding < OnboardingStep::Done;
    let unread = unread_notices();
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body {
                a.skip href="#main" { "Skip to content" }
                header.top {
                    span.brand { "TikTok Shop Connector" }
                    span.store {
                        (frame.store.platform.label()) " store "
                        // A BigCommerce store whose name is not known yet goes by its hash.
                        @if frame.store.endpoint.is_none() && frame.store.name.trim().is_empty() {
                            code { (frame.store.display_name()) }
                        } @else {
                            strong { (frame.store.display_name()) }
                        }
                    }
                    @if frame.active_shops().count() > 1 {
                        form method="get" action=(frame.path) {
                            label for="shop-switcher" { "Shop" }
                            select id="shop-switcher" name="shop" {
                                @for shop in frame.active_shops() {
                                    option value=(shop.shop_id) selected[Some(shop.shop_id.as_str()) == current] {
                                        (shop.name) " (" (shop.region) ")"
                                    }
                                }
                            }
                            button.secondary type="submit" { "Switch" }
                        }
                    } @else if let Some(shop) = frame.current_shop() {
                        span.store { "Shop " (shop.name) " (" (shop.region) ")" }
                    }
                    a.bell.unread[unread > 0] #bell href=(frame.link("/settings/notifications"))
                        aria-label=(format!("Notifications: {unread} unread")) {
                        // A bell (Material Icons' "notifications", Apache-2.0): no emoji font needed.
                        svg.icon width="16" height="16" viewBox="0 0 24 24" aria-hidden="true" {
                            path fill="currentColor" d="M12 22c1.1 0 2-.9 2-2h-4c0 1.1.9 2 2 2zm6-6v-5c0-3.07-1.64-5.64-4.5-6.32V4c0-.83-.67-1.5-1.5-1.5s-1.5.67-1.5 1.5v.68C7.63 5.36 6 7.92 6 11v5l-2 2v1h16v-1l-2-2z" {}
                        }
                        " " (unread)
                    }
                }
                nav.main aria-label="Sections" {
                    ul {
                        @if setup {
                            li { a href=(frame.link("/settings")) aria-current=[(frame.section == Section::Setup).then_some("page")] { "Setup" } }
                        }
                        @for (label, link, section) in NAVIGATION {
                            li {
                                @match link {
                                    Some(link) => a href=(frame.link(link)) aria-current=[(frame.section == section).then_some("page")] { (label) },
                                    None => span title="Coming soon" { (label) },
                                }
                            }
                        }
                    }
                }
                main id="main" {
                    div #flash role="status" aria-live="polite" {
                        @if let Some(message) = frame.confirmation.message() {
                            div.flash { (message) }
                        }
                        @if let Some(error) = error {
                            div.flash.error role="alert" { (error) }
                        }
                        @if frame.due > 0 {
                            div.flash.error #due-requests {
                                strong { (frame.due) " return or cancellation request(s)" } " need your answer within 24 hours. "
                                a href="/settings/returns?status=needs_action" { "Answer them" }
                            }
                        }
                        @for shop in frame.shops.iter().filter(|s| s.status == ShopStatus::NeedsReauthorization) {
                            div.flash.error data-shop=(shop.shop_id) {
                                strong { (shop.name) ": Needs re-authorization. " }
                                (shop.attention.as_deref().unwrap_or("TikTok no longer accepts the connector's access."))
                                " " a href="/tiktok/connect" target="_blank" rel="noopener" { "Re-authorize" }
                            }
                        }
                    }
                    h1 { (title) }
                    (content)
                }
                (footer())
            }
        }
    }
}

/// A form posting to `action` with the session's CSRF token and a submit button.
pub fn form(action: &str, csrf: &str, fields: Markup, button: &str) -> Markup {
    html! {
        form method="post" action=(action) {
            input type="hidden" name="csrf" value=(csrf);
            (fields)
            p { button type="submit" { (button) } }
        }
    }
}

/// A labelled checkbox sending `on` when ticked.
pub fn check(name: &str, label: &str, on: bool) -> Markup {
    html! { label { input type="checkbox" name=(name) value="on" checked[on]; " " (label) } }
}

/// "n minute(s) ago" style age of a Unix time, in words.
pub fn ago(then: i64) -> String {
    let seconds = (crate::storage::unix_now() - then).max(0);
    match seconds {
        0..60 => "just now".into(),
        60..3600 => format!("{} min ago", seconds / 60),
        3600..86_400 => format!("{} h ago", seconds / 3600),
        _ => format!("{} days ago", seconds / 86_400),
    }
}

/// What the Magento 2 connection form keeps between attempts (never the secrets).
#[derive(Debug, Clone, Default)]
pub struct MagentoFormValues {
    /// Store base URL.
    pub store_url: String,
    /// Store view code.
    pub store_code: String,
    /// The integration's consumer key.
    pub consumer_key: String,
    /// The integration's access token.
    pub access_token: String,
    /// Send the access token as a Bearer token instead of signing requests.
    pub bearer: bool,
}

/// The Magento 2 connection form (store URL, store view code and the integration's
/// four credentials), with `message` when the last attempt was refused and the
/// non-secret fields kept.
pub fn magento2_connect_form(message: Option<&str>, form_token: &str, values: &MagentoFormValues) -> Markup {
    let code = if values.store_code.is_empty() {
        "default"
    } else {
        values.store_code.as_str()
    };
    page(
        "Connect your Magento 2 store",
        html! {
            h1 { "Connect your Magento 2 store" }
            @if let Some(message) = message { div.card.error role="alert" { p { (message) } } }
            div.card {
                p { "In the Magento admin, open System → Extensions → Integrations → Add New Integration. Give it a name, and under API grant the resources: Catalog (Products, Categories, Attributes), Inventory (Sources, Stocks), Sales (Operations: Orders with Actions View, Comment, Invoice, Ship, Cancel, Credit Memos), Carts (Manage carts) and Stores (Settings). Save, click Activate, then Allow, and copy the four values shown here." }
                form method="post" action="/connect/magento2" {
                    input type="hidden" name="form_token" value=(form_token);
                    label { "Store URL " input name="store_url" type="url" placeholder="https://shop.example.com" value=(values.store_url) required; }
                    label { "Store view code " input name="store_code" value=(code) required; }
                    label { "Consumer key " input name="consumer_key" value=(values.consumer_key) autocomplete="off" required; }
                    label { "Consumer secret " input name="consumer_secret" type="password" autocomplete="off" required; }
                    label { "Access token " input name="access_token" value=(values.access_token) autocomplete="off" required; }
                    label { "Access token secret " input name="access_token_secret" type="password" autocomplete="off" required; }
                    (check("bearer", "Send the access token as a Bearer token instead of signing requests (only if your store allows it: Stores → Configuration → Services → OAuth → Consumer Settings → Allow OAuth Access Tokens to be used as standalone Bearer tokens)", values.bearer))
                    p { button type="submit" { "Connect" } }
                }
            }
        },
    )
}

/// What the PrestaShop connection form keeps between attempts (never the key).
#[derive(Debug, Clone, Default)]
pub struct PrestaShopFormValues {
    /// The shop's address.
    pub store_url: String,
    /// The shop of a multishop install (empty: 1).
    pub id_shop: String,
    /// File every TikTok order under one customer.
    pub shared_customer: bool,
}

/// The PrestaShop connection form (the shop's address, its shop id and a webservice
/// key), with `message` when the last attempt was refused and the other fields kept.
pub fn prestashop_connect_form(message: Option<&str>, form_token: &str, values: &PrestaShopFormValues) -> Markup {
    let id_shop = if values.id_shop.is_empty() {
        "1"
    } else {
        values.id_shop.as_str()
    };
    page(
        "Connect your PrestaShop store",
        html! {
            h1 { "Connect your PrestaShop store" }
            @if let Some(message) = message { div.card.error role="alert" { p { (message) } } }
            div.card {
                p { "For PrestaShop 8.1 or later. In the back office, open Advanced Parameters → Webservice, enable the webservice, and add a key. Give it these permissions, then save and paste the key here:" }
                ul {
                    @for (resource, methods, why) in crate::store::prestashop::NEEDED {
                        li { code { (resource) } ": " (methods.join(", ")) " (to " (why) ")" }
                    }
                }
                form method="post" action="/connect/prestashop" {
                    input type="hidden" name="form_token" value=(form_token);
                    label { "Shop address " input name="store_url" type="url" placeholder="https://shop.example.com" value=(values.store_url) required; }
                    label { "Shop id " input name="id_shop" inputmode="numeric" value=(id_shop) required; }
                    label { "Webservice key " input name="key" type="password" autocomplete="off" minlength="32" maxlength="32" required; }
                    (check("shared_customer", "File every TikTok order under one customer (\"TikTok Shop\") instead of one customer per buyer", values.shared_customer))
                    p { button type="submit" { "Connect" } }
                }
            }
        },
    )
}

/// The manual connection form (store hash + API token), with `message` when the last
/// attempt was refused.
pub fn connect_form(message: Option<&str>, form_token: &str, store_id: &str) -> Markup {
    page(
        "Connect your store",
        html! {
            h1 { "Connect your BigCommerce store" }
            @if let Some(message) = message { div.card.error role="alert" { p { (message) } } }
            div.card {
                p { "Create a store-level API account in BigCommerce (Settings → Store-level API accounts) and paste its details." }
                form method="post" action="/connect" {
                    input type="hidden" name="form_token" value=(form_token);
                    label { "Store hash " input name="store_hash" value=(store_id) required; }
                    label { "Access token " input name="access_token" type="password" required; }
                    label { "Client secret (lets the connector check BigCommerce's webhook signatures) " input name="client_secret" type="password"; }
                    p { button type="submit" { "Connect" } }
                }
            }
        },
    )
}
