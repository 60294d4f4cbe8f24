//! The configuration screen: every setting in sections, each saved on its own by the
//! store owner (other users: 403, nothing changes), with a confirmation and an entry in
//! the activity log naming who changed what. A refused value comes back next to its
//! field with the section's other edits kept as typed; nothing of the section is saved.

use std::collections::BTreeMap;
use std::str::FromStr;
use std::sync::Arc;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use rust_decimal::Decimal;

use super::pages::configuration::{ConfigurationView, Users};
use super::pages::{self, Section};
use super::screens::{Fields, PageQuery, field, frame, see_other, shops_and_csrf};
use super::{Failure, Route, SessionContext};
use crate::accounts::{self, Settings, ShopRecord, ShopStatus};
use crate::app::App;
use crate::catalog::records;
use crate::catalog::rules::{Profile, SettingError};
use crate::journal::{self, Entry, LogKind};
use crate::storage::{Query as TableQuery, unix_now};

pub(super) fn routes() -> Vec<Route> {
    vec![
        ("/settings/configuration", get(page)),
        ("/settings/configuration/{form}", axum::routing::post(save)),
        (
            "/settings/configuration/shops/{shop_id}/disconnect",
            get(confirm_disconnect).post(disconnect),
        ),
    ]
}

/// What the page shows besides the settings.
struct Loaded {
    all_shops: Vec<ShopRecord>,
    profiles: Vec<Profile>,
    excluded: Vec<(String, String)>,
    providers: Result<Vec<String>, String>,
}

/// Products the merchant kept out of stock sync: (store product id, name).
async fn excluded_products(app: &App, store_hash: &str) -> Result<Vec<(String, String)>, Failure> {
    let table = app.table.as_ref();
    let mut excluded = Vec::new();
    let mut query = TableQuery::table(accounts::store_pk(store_hash), "OVERRIDE#").limit(1000);
    loop {
        let page = table.query(query.clone()).await?;
        for item in &page.items {
            if item.data["exclude_from_stock_sync"].as_bool() == Some(true) {
                let id = item.sk.trim_start_matches("OVERRIDE#").to_string();
                let name = records::get_product(table, store_hash, &id)
                    .await?
                    .map_or_else(|| format!("Product {id}"), |p| p.name);
                excluded.push((id, name));
            }
        }
        match page.cursor {
            Some(next) => query = query.after(Some(next)),
            None => return Ok(excluded),
        }
    }
}

async fn load(app: &App, store_hash: &str) -> Result<Loaded, Failure> {
    let table = app.table.as_ref();
    let all_shops = accounts::list_shops(table, store_hash).await?;
    let mut providers: Result<Vec<String>, String> = Ok(Vec::new());
    for shop in all_shops.iter().filter(|s| s.status == ShopStatus::Active) {
        match crate::orders::actions::provider_names(app, shop).await {
            Ok(names) => {
                if let Ok(all) = &mut providers {
                    all.extend(names);
                }
            }
            Err(error) => providers = Err(format!("{}: {error}", shop.name)),
        }
    }
    if let Ok(names) = &mut providers {
        names.sort();
        names.dedup();
    }
    Ok(Loaded {
        profiles: records::all_profiles(table, store_hash).await?,
        excluded: excluded_products(app, store_hash).await?,
        all_shops,
        providers,
    })
}

/// A section as posted: the settings and shops it changes, what was typed in the
/// fields it refused, and why.
struct Draft {
    settings: Settings,
    shops: Vec<ShopRecord>,
    default_profile: Option<String>,
    excluded: Vec<String>,
    typed: BTreeMap<String, String>,
    errors: BTreeMap<String, String>,
}

impl Draft {
    fn refuse(&mut self, fields: &Fields, name: &str, message: impl Into<String>) {
        self.typed
            .insert(name.to_string(), field(fields, name).unwrap_or_default().to_string());
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
        if shop.warehouses.iter().any(|w| w.id == chosen) {
            shop.default_warehouse_id = Some(chosen);
        } else {
            refused.push((
                name,
                format!("Warehouse {chosen} is not a sales warehouse of {}.", shop.name),
            ));
        }
    }
    for (name, message) in refused {
        draft.refuse(fields, &name, message);
    }
    draft.excluded = fields
        .iter()
        .filter(|(name, _)| name == "exclude")
        .map(|(_, id)| id.trim().to_string())
        .collect();
    let new = trimmed(fields, "exclude_new");
    if !new.is_empty() {
        draft.excluded.push(new);
    }
}

fn apply_price(draft: &mut Draft, fields: &Fields) {
    let mut refused = Vec::new();
    for shop in &mut draft.shops {
        let name = format!("rate:{}", shop.shop_id);
        let text = trimmed(fields, &name);
        if text.is_empty() {
            shop.conversion_rate = None;
            continue;
        }
        match Decimal::from_str(&text) {
            Ok(rate) if rate > Decimal::ZERO && rate <= Decimal::from(100_000) => {
                if shop.conversion_rate != Some(rate) {
                    shop.conversion_rate_set_at = Some(unix_now());
                }
                shop.conversion_rate = Some(rate);
            }
            _ => refused.push((
                name,
                format!("“{text}” is not a rate: a number above 0, at most 100000."),
            )),
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
    draft.settings.status_mapping = crate::orders::StatusMapping {
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
    let rows = fields
        .iter()
        .filter_map(|(name, _)| name.strip_prefix("carrier_store:")?.parse::<usize>().ok())
        .max()
        .map_or(0, |last| last + 1);
    let mut map = Vec::new();
    for row in 0..rows {
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

/// The store's connected shops.
fn active(shops: &[ShopRecord]) -> Vec<ShopRecord> {
    shops
        .iter()
        .filter(|s| s.status != ShopStatus::Disconnected)
        .cloned()
        .collect()
}

async fn render(
    app: &App,
    context: &SessionContext,
    draft: &Draft,
    loaded: &Loaded,
    confirmation: &pages::Confirmation,
) -> Result<Response, Failure> {
    let (shops, csrf) = shops_and_csrf(app, context).await?;
    let frame = frame(
        context,
        &shops,
        Section::Configuration,
        None,
        "/settings/configuration",
        confirmation,
    );
    let mut profiles = loaded.profiles.clone();
    if let Some(chosen) = &draft.default_profile {
        for profile in &mut profiles {
            profile.is_default = &profile.id == chosen;
        }
    }
    let excluded: Vec<(String, String)> = loaded
        .excluded
        .iter()
        .filter(|(id, _)| draft.errors.is_empty() || draft.excluded.contains(id))
        .cloned()
        .collect();
    let store = &context.store;
    let view = ConfigurationView {
        settings: &draft.settings,
        shops: &draft.shops,
        all_shops: &loaded.all_shops,
        profiles: &profiles,
        excluded: &excluded,
        providers: &loaded.providers,
        typed: &draft.typed,
        errors: &draft.errors,
        mode: store.mode,
        installed_at: store.installed_at,
        users: Users {
            owner_id: store.owner_id,
            owner_email: store.owner_email.as_deref(),
            user_ids: &store.user_ids,
            current: context.session.user_id,
        },
    };
    let status = if draft.errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    Ok((status, pages::configuration::configuration_page(&frame, &view, &csrf)).into_response())
}

fn stored_draft(context: &SessionContext, loaded: &Loaded) -> Draft {
    Draft {
        settings: context.store.settings.clone(),
        shops: active(&loaded.all_shops),
        default_profile: None,
        excluded: Vec::new(),
        typed: BTreeMap::new(),
        errors: BTreeMap::new(),
    }
}

/// `GET /settings/configuration`.
async fn page(
    State(app): State<Arc<App>>,
    context: SessionContext,
    Query(query): Query<PageQuery>,
) -> Result<Response, Response> {
    let page = async {
        let loaded = load(&app, &context.store.store_hash).await?;
        render(
            &app,
            &context,
            &stored_draft(&context, &loaded),
            &loaded,
            &query.confirmation,
        )
        .await
    };
    page.await.map_err(Failure::page)
}

/// `POST /settings/configuration/{section}` (also the dashboard's old
/// `/settings/forms/orders`): the owner saves one section.
pub(super) async fn save_section(
    app: &App,
    context: &SessionContext,
    section: &str,
    fields: &Fields,
) -> Result<Response, Failure> {
    context.require_owner()?;
    context.check_csrf(app, field(fields, "csrf"))?;
    let table = app.table.as_ref();
    let store_hash = &context.store.store_hash;
    let loaded = load(app, store_hash).await?;
    let mut draft = stored_draft(context, &loaded);
    match section {
        "products" => apply_products(&mut draft, fields),
        "inventory" => apply_inventory(&mut draft, fields),
        "price" => apply_price(&mut draft, fields),
        "orders" => apply_orders(&mut draft, fields),
        "carriers" => apply_carriers(&mut draft, fields),
        "notifications" => apply_notifications(&mut draft, fields),
        "account" => apply_account(&mut draft, fields),
        other => return Err(Failure::NotFound(format!("There is no settings section {other:?}."))),
    }
    if draft.errors.is_empty()
        && let Err(error) = draft.settings.validate()
    {
        let (name, message) = refusal(&error);
        draft.refuse(fields, &name, message);
    }
    if !draft.errors.is_empty() {
        let mut carried = draft;
        // Every other field of the section shows as typed.
        for (name, value) in fields.iter().filter(|(name, _)| name != "csrf") {
            carried.typed.entry(name.clone()).or_insert_with(|| value.clone());
        }
        return render(app, context, &carried, &loaded, &pages::Confirmation::default()).await;
    }
    let author = journal::author(context.session.user_id, context.store.owner_id);
    let mut changes = Vec::new();
    if draft.settings != context.store.settings {
        let mut store = context.store.clone();
        store.settings = draft.settings.clone();
        accounts::save_store(table, &store).await?;
        journal::settings_changed(table, store_hash, &author, &context.store.settings, &store.settings).await?;
    }
    for shop in &draft.shops {
        let Some(before) = loaded.all_shops.iter().find(|s| s.shop_id == shop.shop_id) else {
            continue;
        };
        if before.default_warehouse_id != shop.default_warehouse_id || before.conversion_rate != shop.conversion_rate {
            // Re-read: a token refresh may have saved the shop since the page loaded.
            if let Some(mut current) = accounts::get_shop(table, store_hash, &shop.shop_id).await? {
                current.default_warehouse_id = shop.default_warehouse_id.clone();
                current.conversion_rate = shop.conversion_rate;
                current.conversion_rate_set_at = shop.conversion_rate_set_at;
                accounts::save_shop(table, &current).await?;
            }
            if before.default_warehouse_id != shop.default_warehouse_id {
                changes.push(format!(
                    "warehouse of {}: {} → {}",
                    shop.name,
                    before.default_warehouse_id.as_deref().unwrap_or("none"),
                    shop.default_warehouse_id.as_deref().unwrap_or("none")
                ));
            }
            if before.conversion_rate != shop.conversion_rate {
                let rate = |r: Option<Decimal>| r.map_or_else(|| "none".to_string(), |r| r.to_string());
                changes.push(format!(
                    "conversion rate of {}: {} → {}",
                    shop.name,
                    rate(before.conversion_rate),
                    rate(shop.conversion_rate)
                ));
            }
        }
    }
    if let Some(chosen) = &draft.default_profile {
        for mut profile in loaded.profiles.clone() {
            let is_default = &profile.id == chosen;
            if profile.is_default != is_default {
                profile.is_default = is_default;
                records::save_profile(table, store_hash, &profile).await?;
                if is_default {
                    changes.push(format!("default profile → {}", profile.name));
                }
            }
        }
    }
    if section == "inventory" {
        let was: Vec<&String> = loaded.excluded.iter().map(|(id, _)| id).collect();
        for id in draft.excluded.iter().filter(|id| !was.contains(id)) {
            let Some(_) = records::get_product(table, store_hash, id).await? else {
                continue;
            };
            let mut overrides = records::get_overrides(table, store_hash, id).await?;
            overrides.exclude_from_stock_sync = true;
            records::save_overrides(table, store_hash, id, &overrides).await?;
            changes.push(format!("product {id} kept out of stock sync"));
        }
        for id in was.into_iter().filter(|id| !draft.excluded.contains(id)) {
            let mut overrides = records::get_overrides(table, store_hash, id).await?;
            overrides.exclude_from_stock_sync = false;
            records::save_overrides(table, store_hash, id, &overrides).await?;
            changes.push(format!("product {id} back in stock sync"));
        }
    }
    if !changes.is_empty() {
        let summary = format!("Settings changed: {}", changes.join("; "));
        journal::record(table, store_hash, &Entry::now(LogKind::Settings, summary).by(author)).await?;
    }
    Ok(see_other(&format!("/settings/configuration?done=saved#{section}")))
}

async fn save(
    State(app): State<Arc<App>>,
    context: SessionContext,
    Path(section): Path<String>,
    Form(fields): Form<Fields>,
) -> Result<Response, Response> {
    save_section(&app, &context, &section, &fields)
        .await
        .map_err(Failure::page)
}

/// A connected shop of the session's store (404 for another store's).
async fn connected_shop(app: &App, context: &SessionContext, shop_id: &str) -> Result<ShopRecord, Failure> {
    accounts::get_shop(app.table.as_ref(), &context.store.store_hash, shop_id)
        .await?
        .filter(|s| s.status != ShopStatus::Disconnected)
        .ok_or_else(|| Failure::NotFound(format!("No connected TikTok shop {shop_id} for this store.")))
}

/// `GET /settings/configuration/shops/{id}/disconnect`: what disconnecting stops.
async fn confirm_disconnect(
    State(app): State<Arc<App>>,
    context: SessionContext,
    Path(shop_id): Path<String>,
) -> Result<Response, Response> {
    let page = async {
        context.require_owner()?;
        let shop = connected_shop(&app, &context, &shop_id).await?;
        let (shops, csrf) = shops_and_csrf(&app, &context).await?;
        let confirmation = pages::Confirmation::default();
        let frame = frame(
            &context,
            &shops,
            Section::Configuration,
            None,
            "/settings/configuration",
            &confirmation,
        );
        Ok::<_, Failure>(pages::configuration::disconnect_page(&frame, &shop, &csrf).into_response())
    };
    page.await.map_err(Failure::page)
}

/// `POST /settings/configuration/shops/{id}/disconnect`.
async fn disconnect(
    State(app): State<Arc<App>>,
    context: SessionContext,
    Path(shop_id): Path<String>,
    Form(fields): Form<Fields>,
) -> Result<Response, Response> {
    let outcome = async {
        context.require_owner()?;
        context.check_csrf(&app, field(&fields, "csrf"))?;
        connected_shop(&app, &context, &shop_id).await?;
        let author = journal::author(context.session.user_id, context.store.owner_id);
        crate::shops::disconnect(&app, &context.store.store_hash, &shop_id, &author).await?;
        Ok::<_, Failure>(see_other("/settings/configuration?done=disconnected#account"))
    };
    outcome.await.map_err(Failure::page)
}
