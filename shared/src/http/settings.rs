//! The settings page (onboarding wizard and dashboard) and its JSON API. Every route
//! takes the store from the session, never from the request, so a session for one
//! store cannot read or change another; state changes need the session's CSRF token.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::header::LOCATION;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Form, Json};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::json;

use super::{Failure, Route, SessionContext, csrf_header, own_shop};
use crate::accounts::{self, OnboardingStep, ShopRecord, WarehouseChoice};
use crate::app::App;
use crate::catalog::{reconcile, records, sync};
use crate::rules::catalog::SettingError;
use crate::shops;
use crate::{orders, redrive};

pub(super) fn routes() -> Vec<Route> {
    vec![
        ("/settings/wizard/{step}", post(submit_form)),
        ("/settings/forms/{form}", post(submit_form)),
        ("/settings/api/session", get(session_view)),
        ("/settings/api/store", get(store_view)),
        ("/settings/api/parked-jobs", get(parked_jobs)),
        ("/settings/api/reconciliation", get(reconciliation)),
        ("/settings/api/settings", put(update_settings)),
        ("/settings/api/shops", get(shops_view)),
        ("/settings/api/shops/{shop_id}/warehouse", post(choose_warehouse)),
        (
            "/settings/api/shops/{shop_id}/conversion-rate",
            post(set_conversion_rate),
        ),
        (
            "/settings/api/shops/{shop_id}/warehouses/refresh",
            post(refresh_warehouses),
        ),
        ("/settings/api/shops/{shop_id}/disconnect", post(disconnect)),
    ]
}

/// A settings-page form (a wizard step, the dashboard's order settings, an order's
/// Retry): saves the choices and returns to the page.
async fn submit_form(
    State(app): State<Arc<App>>,
    context: SessionContext,
    Path(step): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let field = |name: &str| fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    if step == "orders" {
        // The dashboard's former order settings form: now the configuration's section.
        return super::configuration::save_section(&app, &context, "orders", &fields)
            .await
            .unwrap_or_else(Failure::page);
    }
    if let Err(failure) = context.check_csrf(&app, field("csrf")) {
        return failure.page();
    }
    let owner_only = !matches!(step.as_str(), "retry" | "retry-job");
    if owner_only && let Err(failure) = context.require_owner() {
        return failure.page();
    }
    let mut done = "saved";
    let outcome = async {
        let mut store = context.store.clone();
        match step.as_str() {
            "warehouse" => {
                for (name, warehouse_id) in &fields {
                    let Some(shop_id) = name.strip_prefix("warehouse:") else {
                        continue;
                    };
                    set_warehouse(&app, &context, shop_id, warehouse_id).await?;
                }
                for (name, rate) in &fields {
                    let Some(shop_id) = name.strip_prefix("rate:") else {
                        continue;
                    };
                    set_rate(&app, &context, shop_id, rate.trim().parse().ok()).await?;
                }
                // The products arrive while the merchant picks the default profile's category.
                if records::activities_page(app.table.as_ref(), &store.store_id, 1, None)
                    .await?
                    .0
                    .is_empty()
                {
                    sync::start_import(&app, &store.store_id, None).await?;
                }
                store.onboarding = store.onboarding.max(OnboardingStep::DefaultProfile);
            }
            "profile" => {
                let category_id = field("category_id").unwrap_or_default().trim();
                if category_id.is_empty() {
                    return Err(Failure::BadRequest(
                        "Choose a TikTok category for the default profile.".into(),
                    ));
                }
                super::screens::create_default_profile(&app, &context, category_id).await?;
                store.onboarding = store.onboarding.max(OnboardingStep::Configuration);
            }
            "configuration" => {
                let on = |name: &str| field(name) == Some("on");
                store.settings.auto_create = on("auto_create");
                store.settings.auto_update = on("auto_update");
                store.settings.auto_delete = on("auto_delete");
                store.settings.import_awaiting_collection = on("import_awaiting_collection");
                store.settings.archive_cancelled = on("archive_cancelled");
                store.onboarding = OnboardingStep::Done;
                done = "setup_done";
            }
            "retry-job" => {
                done = "retried";
                let job_id = field("job_id").unwrap_or_default();
                if !redrive::retry_parked(&app, &store.store_id, job_id).await? {
                    return Err(Failure::NotFound(format!("No parked job {job_id} for this store.")));
                }
                return Ok(());
            }
            "retry" => {
                done = "retried";
                let order_id = field("order_id").unwrap_or_default();
                if !orders::retry_now(&app, &store.store_id, order_id).await? {
                    return Err(Failure::NotFound(format!("No TikTok order {order_id} for this store.")));
                }
                return Ok(());
            }
            other => return Err(Failure::NotFound(format!("There is no wizard step {other:?}."))),
        }
        store.settings.validate()?;
        accounts::save_store(app.table.as_ref(), &store).await?;
        let author = crate::journal::author(context.session.user_id, store.owner_id);
        crate::journal::settings_changed(
            app.table.as_ref(),
            &store.store_id,
            &author,
            &context.store.settings,
            &store.settings,
        )
        .await?;
        Ok::<_, Failure>(())
    };
    let wizard_step = super::pages::wizard::step_named(&step);
    match outcome.await {
        Ok(()) if wizard_step.is_some() && step != "configuration" => {
            (StatusCode::SEE_OTHER, [(LOCATION, "/settings".to_string())]).into_response()
        }
        Ok(()) => (
            StatusCode::SEE_OTHER,
            [(LOCATION, format!("/settings/dashboard?done={done}"))],
        )
            .into_response(),
        Err(Failure::BadRequest(message)) if let Some(shown) = wizard_step => {
            super::screens::wizard_error(&app, &context, shown, &message).await
        }
        Err(failure) => failure.page(),
    }
}

impl From<SettingError> for Failure {
    fn from(error: SettingError) -> Self {
        Failure::BadRequest(error.to_string())
    }
}

/// The session's store and user, and the CSRF token the page's scripts send back.
async fn session_view(State(app): State<Arc<App>>, context: SessionContext) -> Response {
    let session = &context.session;
    Json(
        json!({"store_hash": session.store_id, "user_id": session.user_id, "expires_at": session.expires_at,
                "csrf_token": session.csrf_token(&app.secrets.token_cipher)}),
    )
    .into_response()
}

/// Changes settings: each given field replaces the current one, and the result is
/// checked as a whole ([`accounts::Settings::validate`]) before it is saved; a
/// setting out of range answers 400 naming it, and nothing is saved.
async fn update_settings(
    State(app): State<Arc<App>>,
    context: SessionContext,
    headers: HeaderMap,
    Json(changes): Json<serde_json::Map<String, serde_json::Value>>,
) -> Result<Response, Failure> {
    context.require_owner()?;
    context.check_csrf(&app, csrf_header(&headers))?;
    let mut store = context.store.clone();
    let mut merged = serde_json::to_value(&store.settings).expect("settings serialize");
    for (name, value) in changes {
        if merged.get(&name).is_none() {
            return Err(Failure::BadRequest(format!("There is no setting {name:?}.")));
        }
        merged[name] = value;
    }
    let settings: accounts::Settings =
        serde_json::from_value(merged).map_err(|e| Failure::BadRequest(format!("The settings are not valid: {e}")))?;
    settings.validate()?;
    let before = std::mem::replace(&mut store.settings, settings);
    accounts::save_store(app.table.as_ref(), &store).await?;
    let author = crate::journal::author(context.session.user_id, store.owner_id);
    crate::journal::settings_changed(app.table.as_ref(), &store.store_id, &author, &before, &store.settings).await?;
    Ok(Json(&store.settings).into_response())
}

/// Jobs set aside after every retry failed, with their reasons.
async fn parked_jobs(State(app): State<Arc<App>>, context: SessionContext) -> Result<Response, Failure> {
    Ok(Json(redrive::parked_jobs(app.table.as_ref(), &context.store.store_id).await?).into_response())
}

/// The latest stock reconciliation of each of the session store's shops.
async fn reconciliation(State(app): State<Arc<App>>, context: SessionContext) -> Result<Response, Failure> {
    Ok(Json(reconcile::latest(app.table.as_ref(), &context.store.store_id).await?).into_response())
}

async fn store_view(context: SessionContext) -> Response {
    let store = &context.store;
    Json(json!({"store_hash": store.store_id, "mode": store.mode, "currency": store.currency, "weight_units": store.weight_units,
                "dimension_units": store.dimension_units, "onboarding": store.onboarding, "settings": store.settings}))
    .into_response()
}

/// What the page shows of a shop: never its tokens.
fn shop_json(shop: &ShopRecord, store_currency: &str) -> serde_json::Value {
    json!({"shop_id": shop.shop_id, "name": shop.name, "region": shop.region, "currency": shop.currency, "status": shop.status,
           "attention": shop.attention, "sync_blocked": shop.sync_blocker(store_currency), "warehouses": shop.warehouses,
           "default_warehouse_id": shop.default_warehouse_id, "conversion_rate": shop.conversion_rate,
           "webhooks_subscribed": shop.webhooks_subscribed, "access_expires_at": shop.access_expires_at,
           "authorization_expires_at": shop.authorization_expires_at})
}

async fn shops_view(State(app): State<Arc<App>>, context: SessionContext) -> Result<Response, Failure> {
    let shops = accounts::list_shops(app.table.as_ref(), &context.store.store_id).await?;
    let views: Vec<_> = shops.iter().map(|s| shop_json(s, &context.store.currency)).collect();
    Ok(Json(views).into_response())
}

/// Sets a shop's warehouse; logged with its author. Errors: 404 for another store's
/// shop, 400 for a warehouse the shop does not have.
async fn set_warehouse(
    app: &App,
    context: &SessionContext,
    shop_id: &str,
    warehouse_id: &str,
) -> Result<ShopRecord, Failure> {
    let mut shop = own_shop(app, &context.store.store_id, shop_id).await?;
    let before = shop.default_warehouse_id.clone();
    shop.choose_warehouse(warehouse_id).map_err(Failure::BadRequest)?;
    accounts::save_shop(app.table.as_ref(), &shop).await?;
    if before != shop.default_warehouse_id {
        log_shop_change(app, context, &format!("warehouse of {} → {warehouse_id}", shop.name)).await?;
    }
    Ok(shop)
}

/// Logs a change to a shop's settings with the session's user as its author.
async fn log_shop_change(app: &App, context: &SessionContext, change: &str) -> Result<(), Failure> {
    let author = crate::journal::author(context.session.user_id, context.store.owner_id);
    let entry =
        crate::journal::Entry::now(crate::journal::LogKind::Settings, format!("Settings changed: {change}")).by(author);
    crate::journal::record(app.table.as_ref(), &context.store.store_id, &entry).await?;
    Ok(())
}

#[derive(Deserialize)]
struct WarehouseBody {
    warehouse_id: String,
}

async fn choose_warehouse(
    State(app): State<Arc<App>>,
    context: SessionContext,
    headers: HeaderMap,
    Path(shop_id): Path<String>,
    Json(body): Json<WarehouseBody>,
) -> Result<Response, Failure> {
    context.require_owner()?;
    context.check_csrf(&app, csrf_header(&headers))?;
    let shop = set_warehouse(&app, &context, &shop_id, &body.warehouse_id).await?;
    Ok(Json(shop_json(&shop, &context.store.currency)).into_response())
}

#[derive(Deserialize)]
struct RateBody {
    rate: Decimal,
}

async fn set_conversion_rate(
    State(app): State<Arc<App>>,
    context: SessionContext,
    headers: HeaderMap,
    Path(shop_id): Path<String>,
    Json(body): Json<RateBody>,
) -> Result<Response, Failure> {
    context.require_owner()?;
    context.check_csrf(&app, csrf_header(&headers))?;
    let shop = set_rate(&app, &context, &shop_id, Some(body.rate)).await?;
    Ok(Json(shop_json(&shop, &context.store.currency)).into_response())
}

/// Sets a shop's conversion rate ([`ShopRecord::set_conversion_rate`]); logged with
/// its author. Errors: 404 for another store's shop, 400 for a rate out of range.
async fn set_rate(
    app: &App,
    context: &SessionContext,
    shop_id: &str,
    rate: Option<Decimal>,
) -> Result<ShopRecord, Failure> {
    let mut shop = own_shop(app, &context.store.store_id, shop_id).await?;
    let before = shop.conversion_rate;
    if rate.is_none() {
        return Err(Failure::BadRequest(format!(
            "The conversion rate of {} must be a number above 0.",
            shop.name
        )));
    }
    shop.set_conversion_rate(rate).map_err(Failure::BadRequest)?;
    accounts::save_shop(app.table.as_ref(), &shop).await?;
    if before != shop.conversion_rate {
        let change = format!("conversion rate of {} → {}", shop.name, rate.unwrap_or_default());
        log_shop_change(app, context, &change).await?;
    }
    Ok(shop)
}

async fn refresh_warehouses(
    State(app): State<Arc<App>>,
    context: SessionContext,
    headers: HeaderMap,
    Path(shop_id): Path<String>,
) -> Result<Response, Failure> {
    context.require_owner()?;
    context.check_csrf(&app, csrf_header(&headers))?;
    let shop = own_shop(&app, &context.store.store_id, &shop_id).await?;
    let tiktok = &app.tiktok;
    let warehouses = shops::with_shop(&app, &shop, |auth| async move { tiktok.warehouses(&auth).await }).await?;
    // Re-read: the call may have refreshed and saved the shop's tokens.
    let mut shop = own_shop(&app, &context.store.store_id, &shop_id).await?;
    shop.warehouses = WarehouseChoice::sales(warehouses);
    accounts::save_shop(app.table.as_ref(), &shop).await?;
    Ok(Json(shop_json(&shop, &context.store.currency)).into_response())
}

async fn disconnect(
    State(app): State<Arc<App>>,
    context: SessionContext,
    headers: HeaderMap,
    Path(shop_id): Path<String>,
) -> Result<Response, Failure> {
    context.require_owner()?;
    context.check_csrf(&app, csrf_header(&headers))?;
    own_shop(&app, &context.store.store_id, &shop_id).await?;
    let author = crate::journal::author(context.session.user_id, context.store.owner_id);
    let shop = shops::disconnect(&app, &context.store.store_id, &shop_id, &author)
        .await?
        .ok_or_else(|| Failure::NotFound(format!("No TikTok shop {shop_id} is connected to this store.")))?;
    Ok(Json(shop_json(&shop, &context.store.currency)).into_response())
}
