//! Configuration: every setting, grouped in sections (`#products`, `#inventory`,
//! `#price`, `#orders`, `#carriers`, `#notifications`, `#account`), each explained in a
//! line and saved on its own. A refused value shows next to its field, with every other
//! edit of the section kept as typed. Users other than the store owner see the settings
//! read-only.

use std::collections::BTreeMap;

use maud::{Markup, html};

use super::activities::time;
use super::{Frame, layout};
use crate::accounts::{ConnectionMode, Settings, ShopRecord, ShopStatus};
use crate::rules::catalog::{Adjustment, Profile, Rounding};
use crate::rules::gtin::GtinSource;
use crate::rules::orders::{CancelReason, ItemPrice};
use crate::store::{Capabilities, OrderStatus as StoreStatus, Platform};

/// The sections, in order: (anchor, title, what it is for).
pub const SECTIONS: [(&str, &str, &str); 7] = [
    (
        "products",
        "Products",
        "What store changes do on TikTok, and the profile new products use.",
    ),
    (
        "inventory",
        "Inventory",
        "Which warehouse TikTok stock sits in, and how much of your stock TikTok may sell.",
    ),
    ("price", "Price", "How store prices become TikTok prices."),
    (
        "orders",
        "Orders",
        "Which TikTok orders reach the store, in which status, and what a cancellation does.",
    ),
    (
        "carriers",
        "Carriers",
        "Which TikTok shipping provider each store carrier's tracking goes to.",
    ),
    (
        "notifications",
        "Notifications",
        "Which notices are also e-mailed to the store owner.",
    ),
    (
        "account",
        "Account",
        "The store and TikTok shops connected, and who may change settings.",
    ),
];

/// The people of the store as BigCommerce sent them on load.
pub struct Users<'a> {
    /// The owner's user id.
    pub owner_id: u64,
    /// The owner's e-mail, when BigCommerce sent it.
    pub owner_email: Option<&'a str>,
    /// Other users who opened the app.
    pub user_ids: &'a [u64],
    /// The session's user.
    pub current: u64,
}

/// What the configuration page shows.
pub struct ConfigurationView<'a> {
    /// The settings as shown: the stored ones, or the section just refused as posted.
    pub settings: &'a Settings,
    /// The connected shops (warehouse and rate as shown).
    pub shops: &'a [ShopRecord],
    /// Every shop, disconnected ones included (the account section lists them).
    pub all_shops: &'a [ShopRecord],
    /// The store's profiles (the default one marked).
    pub profiles: &'a [Profile],
    /// Products kept out of stock sync: (store product id, name).
    pub excluded: &'a [(String, String)],
    /// The shipping provider names TikTok offers, or why they could not be read.
    pub providers: &'a Result<Vec<String>, String>,
    /// What was typed in refused fields: field → text.
    pub typed: &'a BTreeMap<String, String>,
    /// Refused fields: field → message.
    pub errors: &'a BTreeMap<String, String>,
    /// The store's connection and owner.
    pub mode: ConnectionMode,
    /// When the store was connected (Unix seconds).
    pub installed_at: i64,
    /// The people who may open the app.
    pub users: Users<'a>,
    /// The store's platform and what it can do: a setting it cannot honour is left out.
    pub platform: (Platform, Capabilities),
}

impl ConfigurationView<'_> {
    fn owner(&self) -> bool {
        self.users.current == self.users.owner_id
    }

    fn refused(&self, field: &str) -> Option<&str> {
        self.errors.get(field).map(String::as_str)
    }

    /// What a text field shows: as typed when refused, else `value`.
    fn shown(&self, field: &str, value: String) -> String {
        self.typed.get(field).cloned().unwrap_or(value)
    }
}

/// A labelled checkbox with its one-line help.
fn switch(name: &str, label: &str, help: &str, on: bool) -> Markup {
    html! {
        label.switch { input type="checkbox" name=(name) value="on" checked[on]; " " (label) }
        @if !help.is_empty() { p.help { (help) } }
    }
}

/// A labelled input with its help and, when refused, the reason next to it.
fn input(view: &ConfigurationView, name: &str, label: &str, help: &str, value: String, kind: &str) -> Markup {
    let refused = view.refused(name);
    let id = format!("field-{}", name.replace(':', "-"));
    html! {
        label for=(id) { (label) }
        input id=(id) type=(kind) name=(name) value=(view.shown(name, value)) aria-invalid=[refused.map(|_| "true")]
            aria-describedby=(format!("{id}-help"));
        @if let Some(message) = refused { span.field-error role="alert" { (message) } }
        p.help id=(format!("{id}-help")) { (help) }
    }
}

/// A labelled select of `(value, text)` options with its help and refusal.
fn choose(
    view: &ConfigurationView,
    name: &str,
    label: &str,
    help: &str,
    options: &[(String, String)],
    chosen: &str,
) -> Markup {
    let refused = view.refused(name);
    let chosen = view.typed.get(name).map_or(chosen, String::as_str);
    html! {
        label {
            (label) " "
            select name=(name) aria-invalid=[refused.map(|_| "true")] {
                @for (value, text) in options { option value=(value) selected[value == chosen] { (text) } }
            }
        }
        @if let Some(message) = refused { span.field-error role="alert" { (message) } }
        @if !help.is_empty() { p.help { (help) } }
    }
}

/// One section: its card, its form (posting to `/settings/configuration/<anchor>`) and
/// the save button; read-only for users other than the owner.
fn section(view: &ConfigurationView, anchor: &str, csrf: &str, fields: Markup) -> Markup {
    let (_, title, about) = SECTIONS
        .iter()
        .find(|(a, _, _)| *a == anchor)
        .copied()
        .unwrap_or((anchor, anchor, ""));
    let owner = view.owner();
    html! {
        section.card id=(anchor) aria-labelledby=(format!("{anchor}-title")) {
            h2 id=(format!("{anchor}-title")) { (title) }
            p.muted { (about) }
            form method="post" action=(format!("/settings/configuration/{anchor}")) {
                input type="hidden" name="csrf" value=(csrf);
                fieldset.plain disabled[!owner] {
                    legend.visually-hidden { (title) }
                    (fields)
                }
                @if owner { p { button type="submit" { "Save " (title.to_lowercase()) " settings" } } }
            }
        }
    }
}

fn products(view: &ConfigurationView, csrf: &str) -> Markup {
    let s = view.settings;
    let sync = &s.sync_fields;
    let default = view
        .profiles
        .iter()
        .find(|p| p.is_default)
        .map_or("", |p| p.id.as_str());
    let mut profiles: Vec<(String, String)> = vec![(String::new(), "None".to_string())];
    profiles.extend(view.profiles.iter().map(|p| (p.id.clone(), p.name.clone())));
    section(
        view,
        "products",
        csrf,
        html! {
            (switch("auto_create", "Create new store products on TikTok", "A product added to the store is uploaded with its profile once it is ready.", s.auto_create))
            (switch("auto_update", "Send store product changes to TikTok", "Edits in the store reach the TikTok listing within seconds, limited to the fields below.", s.auto_update))
            (switch("auto_delete", "Delete TikTok products deleted in the store", "Otherwise the TikTok listing stays and is marked as no longer in the store.", s.auto_delete))
            fieldset {
                legend { "What a store change may change on TikTok" }
                (switch("sync:title", "Title", "", sync.title))
                (switch("sync:description", "Description", "", sync.description))
                (switch("sync:images", "Images", "", sync.images))
                (switch("sync:weight", "Weight and dimensions", "", sync.weight))
                (switch("sync:price", "Price", "", sync.price))
                (switch("sync:barcode", "Barcodes (UPC/EAN)", "", sync.barcode))
                (switch("sync:stock", "Stock", "", sync.stock))
            }
            (choose(view, "default_profile", "Default profile", "Products no other profile matches list with this one.", &profiles, default))
        @let sources: Vec<(String, String)> = GtinSource::ALL.iter().map(|(source, words)| (crate::storage::serde_name(source), words.to_string())).collect();
        (choose(view, "gtin_source", "Barcode (GTIN) sent to TikTok", "Each SKU lists with this barcode; a code that is not a valid UPC, EAN, ISBN or GTIN leaves the product Not ready with the reason.", &sources, &crate::storage::serde_name(&s.gtin.source)))
        (switch("gtin_exempt", "My products are GTIN-exempt on TikTok", "TikTok granted the exemption (Seller Center → GTIN exemption): no barcode is sent.", s.gtin.exempt))
        },
    )
}

fn warehouse_options(shop: &ShopRecord) -> Vec<(String, String)> {
    shop.warehouses
        .iter()
        .map(|w| {
            let twins = shop.warehouses.iter().filter(|o| o.name == w.name).count() > 1;
            let mut label = w.name.clone();
            if twins || label.is_empty() {
                let tail: String =
                    w.id.chars()
                        .rev()
                        .take(6)
                        .collect::<Vec<_>>()
                        .into_iter()
                        .rev()
                        .collect();
                label.push_str(&format!(" (id …{tail})"));
            }
            if w.is_default {
                label.push_str(" · TikTok's default");
            }
            (w.id.clone(), label)
        })
        .collect()
}

fn inventory(view: &ConfigurationView, csrf: &str) -> Markup {
    let policy = &view.settings.inventory;
    let at_threshold = view.typed.get("at_threshold").map_or(
        if policy.deactivate_at_threshold {
            "deactivate"
        } else {
            "zero"
        },
        String::as_str,
    );
    section(
        view,
        "inventory",
        csrf,
        html! {
            @for shop in view.shops {
                @let name = format!("warehouse:{}", shop.shop_id);
                (choose(view, &name, &format!("Warehouse of {} ({})", shop.name, shop.region), "TikTok stock of this shop's products is set in this warehouse.", &warehouse_options(shop), shop.default_warehouse_id.as_deref().unwrap_or("")))
            }
            (input(view, "threshold", "Low-stock threshold (units)", "At or below this many store units, TikTok shows none (or the product is deactivated, below).", policy.threshold.to_string(), "number"))
            fieldset {
                legend { "At or below the threshold" }
                label { input type="radio" name="at_threshold" value="zero" checked[at_threshold == "zero"]; " Show 0 on TikTok" }
                label { input type="radio" name="at_threshold" value="deactivate" checked[at_threshold == "deactivate"]; " Deactivate the product (activated again when stock returns)" }
            }
            (input(view, "reserve", "Reserve (units)", "Units held back from TikTok for your other channels.", policy.reserve.to_string(), "number"))
            (input(view, "untracked_quantity", "Stock for untracked products (units)", "What TikTok shows for products whose stock the store does not track.", policy.untracked_quantity.to_string(), "number"))
            fieldset #exclusions {
                legend { "Products kept out of stock sync" }
                @if view.excluded.is_empty() {
                    p.muted { "None: every linked product's stock follows the store." }
                }
                @for (id, name) in view.excluded {
                    label { input type="checkbox" name="exclude" value=(id) checked; " " a href=(format!("/settings/products/{id}")) { (name) } " (untick to sync it again)" }
                }
                (input(view, "exclude_new", "Keep another product out (store product id)", "Its TikTok stock stays as it is until you tick it back.", String::new(), "text"))
            }
        },
    )
}

fn rule_words(profile: &Profile) -> String {
    let adjustment = match profile.price_rule.adjustment {
        Adjustment::None => "store price".to_string(),
        Adjustment::Percent(p) => format!("store price {p:+}%"),
        Adjustment::Fixed(a) => format!("store price {a:+}"),
        Adjustment::Multiply(f) => format!("store price × {f}"),
    };
    let rounding = match profile.price_rule.rounding {
        Rounding::Cents => "to the cent",
        Rounding::EndIn99 => "up to .99",
        Rounding::Whole => "up to a whole amount",
    };
    format!("{adjustment}, rounded {rounding}")
}

fn price(view: &ConfigurationView, csrf: &str) -> Markup {
    section(
        view,
        "price",
        csrf,
        html! {
            @for shop in view.shops {
                @let name = format!("rate:{}", shop.shop_id);
                @let set = shop.conversion_rate_set_at.map(|at| format!(" Set {}.", time(at))).unwrap_or_default();
                (input(view, &name, &format!("Conversion rate for {} ({})", shop.name, shop.currency),
                    &format!("1 unit of the store's currency in {}; empty when both use the same currency.{set}", shop.currency),
                    shop.conversion_rate.map(|r| r.to_string()).unwrap_or_default(), "text"))
            }
            h3 { "Price rules" }
            p.help { "Each profile has its own rule; change it on the profile." }
            ul {
                @for profile in view.profiles {
                    li { a href=(format!("/settings/profiles/{}", profile.id)) { (profile.name) } ": " (rule_words(profile)) }
                }
            }
        },
    )
}

fn status_key(status: &StoreStatus) -> String {
    crate::storage::serde_name(status)
}

fn orders(view: &ConfigurationView, csrf: &str) -> Markup {
    let s = view.settings;
    let mapping = &s.status_mapping;
    let statuses = |keep: bool| {
        let mut options: Vec<(String, String)> = super::orders::STORE_STATUSES
            .iter()
            .map(|(status, label)| (status_key(status), label.to_string()))
            .collect();
        if keep {
            options.insert(0, (String::new(), "Leave as it is".to_string()));
        }
        options
    };
    let optional = |status: &Option<StoreStatus>| status.as_ref().map(status_key).unwrap_or_default();
    let reasons: Vec<(String, String)> = CancelReason::ALL
        .iter()
        .map(|(reason, label)| (reason.key().to_string(), label.to_string()))
        .collect();
    let prices = [
        ("buyer_paid".to_string(), "What the buyer paid".to_string()),
        (
            "seller_price".to_string(),
            "Seller price (before TikTok's platform discounts)".to_string(),
        ),
    ];
    let item_price = match s.item_price {
        ItemPrice::BuyerPaid => "buyer_paid",
        ItemPrice::SellerPrice => "seller_price",
    };
    section(
        view,
        "orders",
        csrf,
        html! {
            fieldset {
                legend { "Which orders reach the store" }
                p.help { "Paid orders awaiting shipment always do." }
                (switch("import_awaiting_collection", "Orders awaiting collection", "Orders whose shipment was arranged on TikTok before the connector saw them.", s.import_awaiting_collection))
                (switch("import_sample_orders", "Sample orders", "Free samples TikTok sends to creators.", s.import_sample_orders))
                (switch("import_fbt_orders", "Orders fulfilled by TikTok (FBT)", "For your records; TikTok ships them.", s.import_fbt_orders))
            }
            fieldset {
                legend { "Store order status for each TikTok status" }
                (choose(view, "status:awaiting_shipment", "Awaiting shipment (new orders)", "", &statuses(false), &status_key(&mapping.awaiting_shipment)))
                (choose(view, "status:awaiting_collection", "Awaiting collection", "", &statuses(true), &optional(&mapping.awaiting_collection)))
                (choose(view, "status:in_transit", "In transit", "", &statuses(true), &optional(&mapping.in_transit)))
                (choose(view, "status:delivered", "Delivered", "", &statuses(true), &optional(&mapping.delivered)))
                (choose(view, "status:completed", "Completed", "", &statuses(true), &optional(&mapping.completed)))
                @if let Some(message) = view.refused("status_mapping") { span.field-error role="alert" { (message) } }
            }
            fieldset {
                legend { "Cancellations" }
                (switch("cancel_store_orders", "Cancel the store order when TikTok cancels the order", "", s.cancel_store_orders))
                @if view.platform.1.order_archive {
                    (switch("archive_cancelled", "Archive store orders TikTok cancels", "They leave the store's order list; nothing is deleted.", s.archive_cancelled))
                }
                (choose(view, "store_cancel_reason", "Reason TikTok is given when you cancel in the store", "Cancelling a TikTok order in the store cancels it on TikTok with this reason.", &reasons, s.store_cancel_reason.key()))
            }
            (choose(view, "item_price", "Item prices on store orders", "", &prices, item_price))
            (input(view, "order_prefix", "Order id prefix", "Put before the TikTok order id in the store order's staff note, e.g. TT-. Up to 10 letters, digits, - or _.", s.order_prefix.clone(), "text"))
            (input(view, "order_retries", "Automatic retries of a failed order", "From 0 to 10; then the order waits for you under Orders → Needs attention.", s.order_retries.to_string(), "number"))
            (input(view, "default_buyer_email", "Buyer e-mail when TikTok hides it", "Store orders need an e-mail for your records; TikTok hides the buyer's. Empty leaves it blank.", s.default_buyer_email.clone().unwrap_or_default(), "email"))
        },
    )
}

fn carriers(view: &ConfigurationView, csrf: &str) -> Markup {
    let s = view.settings;
    let names: Vec<String> = match view.providers {
        Ok(names) => names.clone(),
        Err(_) => Vec::new(),
    };
    let options = |current: &str| {
        let mut options = vec![(String::new(), "Choose a provider".to_string())];
        if !current.is_empty() && !names.iter().any(|n| n == current) {
            options.push((current.to_string(), format!("{current} (not offered by TikTok now)")));
        }
        options.extend(names.iter().map(|n| (n.clone(), n.clone())));
        options
    };
    let rows = s.carrier_map.len() + crate::configuration::BLANK_CARRIER_ROWS;
    section(
        view,
        "carriers",
        csrf,
        html! {
            @if let Err(why) = view.providers {
                p.state-error { "TikTok's shipping providers could not be read: " (why) }
            }
            p.help { "Tracking from a store carrier goes to TikTok with the provider chosen here; carriers not listed are matched by name." }
            table #carrier-map {
                thead { tr { th { "Store carrier" } th { "TikTok shipping provider" } } }
                tbody {
                    @for row in 0..rows {
                        @let (store, tiktok) = s.carrier_map.get(row).cloned().unwrap_or_default();
                        @let store_name = format!("carrier_store:{row}");
                        @let tiktok_name = format!("carrier_tiktok:{row}");
                        tr {
                            td {
                                input type="text" name=(store_name) value=(view.shown(&store_name, store)) aria-label=(format!("Store carrier {}", row + 1)) placeholder="e.g. usps, royalmail";
                                @if let Some(message) = view.refused(&store_name) { span.field-error role="alert" { (message) } }
                            }
                            td {
                                @let current = view.typed.get(&tiktok_name).cloned().unwrap_or(tiktok);
                                select name=(tiktok_name) aria-label=(format!("TikTok provider {}", row + 1)) {
                                    @for (value, text) in options(&current) { option value=(value) selected[*value == current] { (text) } }
                                }
                                @if let Some(message) = view.refused(&tiktok_name) { span.field-error role="alert" { (message) } }
                            }
                        }
                    }
                }
            }
            @let default = s.default_provider.clone().unwrap_or_default();
            (choose(view, "default_provider", "Default provider", "Used for carriers neither the map nor TikTok's names match.", &options(&default), &default))
        },
    )
}

fn notifications(view: &ConfigurationView, csrf: &str) -> Markup {
    let n = &view.settings.notifications;
    let to = match view.users.owner_email {
        Some(email) if view.owner() => email,
        _ => "the owner's address",
    };
    section(
        view,
        "notifications",
        csrf,
        html! {
            p.help { "Every notice shows under the bell at the top; these are also e-mailed to " (to) ", at most once a day per shop." }
            (switch("email_orders_need_attention", "Orders that need attention", "An order could not be created in the store.", n.email_orders_need_attention))
            (switch("email_authorization_expiring", "A shop's authorization expires or was revoked", "Sent 7 days before, so you can re-authorize in time.", n.email_authorization_expiring))
        },
    )
}

fn shop_status(shop: &ShopRecord) -> &'static str {
    match shop.status {
        ShopStatus::Active => "Connected",
        ShopStatus::NeedsReauthorization => "Needs re-authorization",
        ShopStatus::Disconnected => "Disconnected",
    }
}

fn account(view: &ConfigurationView, csrf: &str) -> Markup {
    let owner = view.owner();
    let users = &view.users;
    let mut shops: Vec<(String, String)> = vec![(String::new(), "The first connected shop".to_string())];
    shops.extend(
        view.shops
            .iter()
            .map(|s| (s.shop_id.clone(), format!("{} ({})", s.name, s.region))),
    );
    let default_shop = view.settings.default_shop_id.clone().unwrap_or_default();
    html! {
        section.card #account aria-labelledby="account-title" {
            h2 #account-title { "Account" }
            p.muted { (SECTIONS[6].2) }
            dl.pairs {
                dt { "Store connection" }
                dd { (match view.mode { ConnectionMode::App => format!("{} app", view.platform.0.label()), ConnectionMode::ApiAccount => "Store-level API account".to_string() }) " since " (time(view.installed_at)) }
            }
            h3 { "TikTok shops" }
            table #shops {
                thead { tr { th { "Shop" } th { "Region" } th { "Currency" } th { "Status" } th { "Access renews" } th { "Authorization until" } th {} } }
                tbody {
                    @for shop in view.all_shops {
                        tr data-shop=(shop.shop_id) {
                            td { (shop.name) }
                            td { (shop.region) }
                            td { (shop.currency) }
                            td class=(if shop.status == ShopStatus::Active { "state-created" } else { "state-error" }) {
                                (shop_status(shop))
                                @if let Some(why) = &shop.attention { br; span.muted { (why) } }
                            }
                            td { @if shop.status == ShopStatus::Active { (time(shop.access_expires_at)) } @else { "—" } }
                            td { (shop.authorization_expires_at.map(time).unwrap_or_else(|| "—".into())) }
                            td {
                                @if owner {
                                    a.button.secondary href="/tiktok/connect" { "Re-authorize" }
                                    @if shop.status != ShopStatus::Disconnected {
                                        " " a.button.danger href=(format!("/settings/configuration/shops/{}/disconnect", shop.shop_id)) { "Disconnect" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @if owner { p { a.button #connect-shop href="/tiktok/connect" { "Connect another shop" } } }
            form method="post" action="/settings/configuration/account" {
                input type="hidden" name="csrf" value=(csrf);
                fieldset.plain disabled[!owner] {
                    (choose(view, "default_shop_id", "Default shop", "The shop the pages show first.", &shops, &default_shop))
                }
                @if owner { p { button type="submit" { "Save account settings" } } }
            }
            h3 { "Users" }
            table #users {
                thead { tr { th { "User" } th { "Can" } } }
                tbody {
                    tr { td { "User " (users.owner_id) @if let (true, Some(email)) = (owner, users.owner_email) { " · " (email) } " (owner)" @if owner { " · you" } } td { "Change settings" } }
                    @for id in users.user_ids.iter().filter(|id| **id != users.owner_id) {
                        tr { td { "User " (id) @if users.current == *id { " · you" } } td { "See settings; act on orders, products and returns" } }
                    }
                }
            }
        }
    }
}

/// `GET /settings/configuration`: every section, with a table of contents.
pub fn configuration_page(frame: &Frame, view: &ConfigurationView, csrf: &str) -> Markup {
    let error = (!view.errors.is_empty()).then(|| {
        let first = view.errors.values().next().map_or("", String::as_str);
        format!("Not saved: {first} The field is marked below; your other edits are kept.")
    });
    let body = html! {
        @if !view.owner() {
            div.card.notice #read-only {
                p { "You can see these settings; only the store owner can change them." }
            }
        }
        nav.toc aria-label="Sections" {
            ul.tabs { @for (anchor, title, _) in SECTIONS { li { a href=(format!("#{anchor}")) { (title) } } } }
        }
        (products(view, csrf))
        (inventory(view, csrf))
        (price(view, csrf))
        (orders(view, csrf))
        (carriers(view, csrf))
        (notifications(view, csrf))
        (account(view, csrf))
    };
    layout(frame, "Configuration", error.as_deref(), body)
}

/// `GET /settings/configuration/shops/{id}/disconnect`: what disconnecting stops, and
/// the button that does it.
pub fn disconnect_page(frame: &Frame, shop: &ShopRecord, csrf: &str) -> Markup {
    let body = html! {
        div.card.error #confirm-disconnect {
            p { "Disconnecting " strong { (shop.name) " (" (shop.region) ")" } " stops, at once:" }
            ul {
                li { "new TikTok orders reaching the store (orders already in the store stay);" }
                li { "stock and price updates to its TikTok listings (they keep their last stock: set it to 0 in TikTok Seller Center if you stop selling);" }
                li { "uploads, returns and tracking sent to TikTok." }
            }
            p { "The connector forgets the shop's tokens. Re-authorize the shop to start again; its products stay linked." }
            form method="post" action=(format!("/settings/configuration/shops/{}/disconnect", shop.shop_id)) {
                input type="hidden" name="csrf" value=(csrf);
                p {
                    button.danger type="submit" { "Disconnect " (shop.name) }
                    " " a href="/settings/configuration#account" { "Keep it connected" }
                }
            }
        }
    };
    layout(frame, &format!("Disconnect {}?", shop.name), None, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The orders section as a store on a platform with `capabilities` sees it.
    fn orders_section(capabilities: Capabilities) -> String {
        let settings = Settings::default();
        let providers = Ok(Vec::new());
        let view = ConfigurationView {
            settings: &settings,
            shops: &[],
            all_shops: &[],
            profiles: &[],
            excluded: &[],
            providers: &providers,
            typed: &BTreeMap::new(),
            errors: &BTreeMap::new(),
            mode: ConnectionMode::App,
            installed_at: 0,
            users: Users {
                owner_id: 1,
                owner_email: None,
                user_ids: &[],
                current: 1,
            },
            platform: (Platform::BigCommerce, capabilities),
        };
        orders(&view, "csrf").into_string()
    }

    #[test]
    fn a_setting_the_platform_cannot_honour_is_left_out() {
        let bigcommerce = crate::platforms::capabilities(Platform::BigCommerce);
        assert!(orders_section(bigcommerce).contains("name=\"archive_cancelled\""));
        let without_archive = Capabilities {
            order_archive: false,
            ..bigcommerce
        };
        let page = orders_section(without_archive);
        assert!(!page.contains("archive_cancelled"), "{page}");
        assert!(page.contains("name=\"cancel_store_orders\""), "the rest stays");
    }
}
