//! The configuration's forms as the merchant posts them: one section at a time,
//! read into a [`Draft`] of the settings (and the shops, default profile and stock
//! exclusions it changes), every refused field kept with what was typed and why, then
//! checked as a whole ([`Settings::validate`]). Nothing here saves: the caller saves a
//! draft without errors. Field names are the form's (`order_prefix`, `warehouse:<shop>`,
//! `carrier_store:<row>`, …).

use std::collections::BTreeMap;
use std::str::FromStr;

use rust_decimal::Decimal;

use crate::accounts::{Settings, ShopRecord};
use crate::rules::catalog::SettingError;

/// A form's fields as posted, in order (repeated names kept).
pub type Fields = [(String, String)];

fn field<'a>(fields: &'a Fields, name: &str) -> Option<&'a str> {
    fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// The sections a draft reads, by their form's name.
pub const SECTIONS: [&str; 7] = [
    "products",
    "inventory",
    "price",
    "orders",
    "carriers",
    "notifications",
    "account",
];

/// Blank carrier rows the carriers section offers after the saved ones.
pub const BLANK_CARRIER_ROWS: usize = 3;

/// A section the configuration does not have.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("There is no settings section “{0}”.")]
pub struct UnknownSection(pub String);

/// A section as posted: the settings and shops it changes, what was typed in the
/// fields it refused, and why.
pub struct Draft {
    /// The store's settings with the section applied.
    pub settings: Settings,
    /// The connected shops with the section applied (warehouse, conversion rate).
    pub shops: Vec<ShopRecord>,
    /// The default profile chosen (products section), `Some("")` for none.
    pub default_profile: Option<String>,
    /// Store product ids kept out of stock sync, when the inventory section was posted.
    pub excluded: Option<Vec<String>>,
    /// What was typed in each field, for a section shown again.
    pub typed: BTreeMap<String, String>,
    /// Refused fields: field → the merchant's reason.
    pub errors: BTreeMap<String, String>,
}

impl Draft {
    /// A draft of the stored `settings` and connected `shops`, nothing applied yet.
    pub fn new(settings: Settings, shops: Vec<ShopRecord>) -> Self {
        Self {
            settings,
            shops,
            default_profile: None,
            excluded: None,
            typed: BTreeMap::new(),
            errors: BTreeMap::new(),
        }
    }

    /// Applies the posted `fields` of `section` (one of [`SECTIONS`]), then checks the
    /// settings as a whole. Refusals land in [`Draft::errors`] (the first one per field)
    /// with every field of the section kept as typed in [`Draft::typed`]; the draft is
    /// only to be saved when there are none. Errors: [`UnknownSection`].
    pub fn apply(&mut self, section: &str, fields: &Fields) -> Result<(), UnknownSection> {
        match section {
            "products" => apply_products(self, fields),
            "inventory" => apply_inventory(self, fields),
            "price" => apply_price(self, fields),
            "orders" => apply_orders(self, fields),
            "carriers" => apply_carriers(self, fields),
            "notifications" => apply_notifications(self, fields),
            "account" => apply_account(self, fields),
            other => return Err(UnknownSection(other.to_string())),
        }
        if self.errors.is_empty()
            && let Err(error) = self.settings.validate()
        {
            let (name, message) = refusal(&error);
            self.refuse(fields, &name, message);
        }
        Ok(())
    }

    /// Refuses field `name` of the posted `fields` with `message` (the first refusal of
    /// a field stands), keeping every posted field as typed.
    pub fn refuse(&mut self, fields: &Fields, name: &str, message: impl Into<String>) {
        self.typed
            .insert(name.to_string(), field(fields, name).unwrap_or_default().to_string());
        for (posted, value) in fields.iter().filter(|(posted, _)| posted != "csrf") {
            self.typed.entry(posted.clone()).or_insert_with(|| value.clone());
        }
        self.errors.entry(name.to_string()).or_insert_with(|| message.into());
    }

    /// A number field, or `None` (and the field refused with `rule`) when it is not one.
    fn number<T: FromStr>(&mut self, fields: &Fields, name: &str, rule: &str) -> Option<T> {
        let text = field(fields, name).unwrap_or_default().trim();
        match text.parse() {
            Ok(value) => Some(value),
            Err(_) => {
                self.refuse(fields, name, format!("“{text}” {rule}"));
                None
            }
        }
    }
}

fn on(fields: &Fields, name: &str) -> bool {
    field(fields, name) == Some("on")
}

fn trimmed(fields: &Fields, name: &str) -> String {
    field(fields, name).unwrap_or_default().trim().to_string()
}

/// A `<select>`'s choice by its serialized name.
fn choice<T: serde::de::DeserializeOwned>(draft: &mut Draft, fields: &Fields, name: &str) -> Option<T> {
    let value = trimmed(fields, name);
    match serde_json::from_value(serde_json::Value::String(value.clone())) {
        Ok(chosen) => Some(chosen),
        Err(_) => {
            draft.refuse(fields, name, format!("“{value}” is not one of the choices."));
            None
        }
    }
}

/// The form field a setting's path names (`inventory.reserve` → `reserve`).
fn form_field(path: &str) -> String {
    if let Some(rest) = path.strip_prefix("carrier_map[")
        && let Some((row, side)) = rest.split_once("].")
    {
        let side = if side == "store_carrier" {
            "carrier_store"
        } else {
            "carrier_tiktok"
        };
        return format!("{side}:{row}");
    }
    path.strip_prefix("inventory.").unwrap_or(path).to_string()
}

/// The merchant's words for a refused setting, without its path.
fn refusal(error: &SettingError) -> (String, String) {
    match error {
        SettingError::OutOfRange { field, min, max, unit } => {
            (form_field(field), format!("Must be between {min} and {max}{unit}."))
        }
        SettingError::Invalid { field, rule } => {
            let mut rule = rule.clone();
            if let Some(first) = rule.get(..1) {
                rule = first.to_uppercase() + &rule[1..];
            }
            (form_field(field), format!("{rule}."))
        }
    }
}

fn apply_products(draft: &mut Draft, fields: &Fields) {
    let s = &mut draft.settings;
    s.auto_create = on(fields, "auto_create");
    s.auto_update = on(fields, "auto_update");
    s.auto_delete = on(fields, "auto_delete");
    let sync = &mut s.sync_fields;
    sync.title = on(fields, "sync:title");
    sync.description = on(fields, "sync:description");
    sync.images = on(fields, "sync:images");
    sync.weight = on(fields, "sync:weight");
    sync.price = on(fields, "sync:price");
    sync.barcode = on(fields, "sync:barcode");
    sync.stock = on(fields, "sync:stock");
    draft.default_profile = Some(trimmed(fields, "default_profile"));
    if field(fields, "gtin_source").is_some()
        && let Some(source) = choice(draft, fields, "gtin_source")
    {
        draft.settings.gtin.source = source;
    }
    draft.settings.gtin.exempt = on(fields, "gtin_exempt");
}

fn apply_inventory(draft: &mut Draft, fields: &Fields) {
    let rule = "is not a whole number of units.";
    if let Some(threshold) = draft.number(fields, "threshold", rule) {
        draft.settings.inventory.threshold = threshold;
    }
    if let Some(reserve) = draft.number(fields, "reserve", rule) {
        draft.settings.inventory.reserve = reserve;
    }
    if let Some(untracked) = draft.number(fields, "untracked_quantity", rule) {
        draft.settings.inventory.untracked_quantity = untracked;
    }
    draft.settings.inventory.deactivate_at_threshold = field(fields, "at_threshold") == Some("deactivate");
    let mut refused = Vec::new();
    for shop in &mut draft.shops {
        let name = format!("warehouse:{}", shop.shop_id);
        let chosen = trimmed(fields, &name);
        if chosen.is_empty() {
            continue;
        }
        if let Err(message) = shop.choose_warehouse(&chosen) {
            refused.push((name, message));
        }
    }
    for (name, message) in refused {
        draft.refuse(fields, &name, message);
    }
    let mut excluded: Vec<String> = fields
        .iter()
        .filter(|(name, _)| name == "exclude")
        .map(|(_, id)| id.trim().to_string())
        .collect();
    let new = trimmed(fields, "exclude_new");
    if !new.is_empty() {
        excluded.push(new);
    }
    draft.excluded = Some(excluded);
}

fn apply_price(draft: &mut Draft, fields: &Fields) {
    let mut refused = Vec::new();
    for shop in &mut draft.shops {
        let name = format!("rate:{}", shop.shop_id);
        let text = trimmed(fields, &name);
        let rate = match text.as_str() {
            "" => Ok(None),
            typed => Decimal::from_str(typed)
                .map(Some)
                .map_err(|_| format!("“{typed}” is not a number such as 0.79.")),
        };
        if let Err(message) = rate.and_then(|rate| shop.set_conversion_rate(rate)) {
            refused.push((name, message));
        }
    }
    for (name, message) in refused {
        draft.refuse(fields, &name, message);
    }
}

fn apply_orders(draft: &mut Draft, fields: &Fields) {
    let status = |draft: &mut Draft, key: &str| -> Option<Option<crate::store::OrderStatus>> {
        let name = format!("status:{key}");
        if trimmed(fields, &name).is_empty() {
            return Some(None);
        }
        choice(draft, fields, &name).map(Some)
    };
    let mapping = draft.settings.status_mapping.clone();
    let awaiting_shipment = status(draft, "awaiting_shipment");
    let awaiting_collection = status(draft, "awaiting_collection");
    let in_transit = status(draft, "in_transit");
    let delivered = status(draft, "delivered");
    let completed = status(draft, "completed");
    draft.settings.status_mapping = crate::rules::orders::StatusMapping {
        awaiting_shipment: match awaiting_shipment {
            Some(Some(chosen)) => chosen,
            Some(None) => {
                draft.refuse(
                    fields,
                    "status:awaiting_shipment",
                    "Choose the status new orders are created in.",
                );
                mapping.awaiting_shipment
            }
            None => mapping.awaiting_shipment,
        },
        awaiting_collection: awaiting_collection.unwrap_or(mapping.awaiting_collection),
        in_transit: in_transit.unwrap_or(mapping.in_transit),
        delivered: delivered.unwrap_or(mapping.delivered),
        completed: completed.unwrap_or(mapping.completed),
    };
    if let Some(reason) = choice(draft, fields, "store_cancel_reason") {
        draft.settings.store_cancel_reason = reason;
    }
    if field(fields, "item_price").is_some()
        && let Some(price) = choice(draft, fields, "item_price")
    {
        draft.settings.item_price = price;
    }
    if field(fields, "order_retries").is_some()
        && let Some(retries) = draft.number(fields, "order_retries", "is not a number from 0 to 10.")
    {
        draft.settings.order_retries = retries;
    }
    if field(fields, "order_prefix").is_some() {
        draft.settings.order_prefix = trimmed(fields, "order_prefix");
    }
    if field(fields, "default_buyer_email").is_some() {
        draft.settings.default_buyer_email = Some(trimmed(fields, "default_buyer_email")).filter(|e| !e.is_empty());
    }
    let s = &mut draft.settings;
    s.import_awaiting_collection = on(fields, "import_awaiting_collection");
    s.import_sample_orders = on(fields, "import_sample_orders");
    s.import_fbt_orders = on(fields, "import_fbt_orders");
    s.cancel_store_orders = on(fields, "cancel_store_orders");
    s.archive_cancelled = on(fields, "archive_cancelled");
}

fn apply_carriers(draft: &mut Draft, fields: &Fields) {
    // The rows posted, in order, each once; no more than the map may hold (and the
    // blank rows the page adds).
    let mut rows: Vec<usize> = fields
        .iter()
        .filter_map(|(name, _)| name.strip_prefix("carrier_store:")?.parse::<usize>().ok())
        .collect();
    rows.sort_unstable();
    rows.dedup();
    rows.truncate(crate::accounts::MAX_CARRIERS + BLANK_CARRIER_ROWS);
    let mut map = Vec::new();
    for row in rows {
        let (store_name, tiktok_name) = (format!("carrier_store:{row}"), format!("carrier_tiktok:{row}"));
        let (store, tiktok) = (trimmed(fields, &store_name), trimmed(fields, &tiktok_name));
        match (store.is_empty(), tiktok.is_empty()) {
            (true, true) => {}
            (false, false) => map.push((store, tiktok)),
            (false, true) => draft.refuse(fields, &tiktok_name, "Choose the TikTok provider for this carrier."),
            (true, false) => draft.refuse(fields, &store_name, "Name the store carrier, or clear the provider."),
        }
    }
    draft.settings.carrier_map = map;
    draft.settings.default_provider = Some(trimmed(fields, "default_provider")).filter(|p| !p.is_empty());
}

fn apply_notifications(draft: &mut Draft, fields: &Fields) {
    let n = &mut draft.settings.notifications;
    n.email_orders_need_attention = on(fields, "email_orders_need_attention");
    n.email_authorization_expiring = on(fields, "email_authorization_expiring");
}

fn apply_account(draft: &mut Draft, fields: &Fields) {
    let chosen = trimmed(fields, "default_shop_id");
    if chosen.is_empty() {
        draft.settings.default_shop_id = None;
    } else if draft.shops.iter().any(|s| s.shop_id == chosen) {
        draft.settings.default_shop_id = Some(chosen);
    } else {
        draft.refuse(fields, "default_shop_id", "Choose one of the connected shops.");
    }
}
