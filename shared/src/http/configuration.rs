//! The configuration screen: every setting in sections, each saved on its own by the
//! store owner (other users: 403, nothing changes), with a confirmation and an entry in
//! the activity log naming who changed what. A refused value comes back next to its
//! field with the section's other edits kept as typed; nothing of the section is saved.

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
use crate::accounts::{self, ShopRecord, ShopStatus};
use crate::app::App;
use crate::catalog::records;
use crate::configuration::Draft;
use crate::journal::{self, Entry, LogKind};
use crate::rules::catalog::Profile;
use crate::storage::Query as TableQuery;

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
}

/// Products the merchant kept out of stock sync: (store product id, name).
async fn excluded_products(app: &App, store_id: &str) -> Result<Vec<(String, String)>, Failure> {
    let table = app.table.as_ref();
    let mut excluded = Vec::new();
    let mut query = TableQuery::table(accounts::store_pk(store_id), "OVERRIDE#").limit(1000);
    loop {
        let page = table.query(query.clone()).await?;
        for item in &page.items {
            if item.data["exclude_from_stock_sync"].as_bool() == Some(true) {
                let id = item.sk.trim_start_matches("OVERRIDE#").to_string();
                let name = records::get_product(table, store_id, &id)
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

/// The shipping provider names TikTok offers the store's active shops, each once, or
/// why they could not be read (read for the page only, never for a save).
async fn provider_names(app: &App, all_shops: &[ShopRecord]) -> Result<Vec<String>, String> {
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
    providers
}

async fn load(app: &App, store_id: &str) -> Result<Loaded, Failure> {
    let table = app.table.as_ref();
    Ok(Loaded {
        all_shops: accounts::list_shops(table, store_id).await?,
        profiles: records::all_profiles(table, store_id).await?,
        excluded: excluded_products(app, store_id).await?,
    })
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
        .filter(|(id, _)| draft.excluded.as_ref().is_none_or(|kept| kept.contains(id)))
        .cloned()
        .collect();
    let providers = provider_names(app, &loaded.all_shops).await;
    let store = &context.store;
    let view = ConfigurationView {
        settings: &draft.settings,
        shops: &draft.shops,
        all_shops: &loaded.all_shops,
        profiles: &profiles,
        excluded: &excluded,
        providers: &providers,
        typed: &draft.typed,
        errors: &draft.errors,
        mode: store.mode,
        platform: (store.platform, crate::platforms::capabilities(store.platform)),
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
    Draft::new(context.store.settings.clone(), active(&loaded.all_shops))
}

/// `GET /settings/configuration`.
async fn page(
    State(app): State<Arc<App>>,
    context: SessionContext,
    Query(query): Query<PageQuery>,
) -> Result<Response, Response> {
    let page = async {
        let loaded = load(&app, &context.store.store_id).await?;
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
    let store_id = &context.store.store_id;
    let loaded = load(app, store_id).await?;
    let mut draft = stored_draft(context, &loaded);
    draft
        .apply(section, fields)
        .map_err(|unknown| Failure::NotFound(unknown.to_string()))?;
    // A product kept out must be one of the store's.
    let new_exclusion = draft.excluded.as_ref().and_then(|ids| {
        ids.iter()
            .find(|id| loaded.excluded.iter().all(|(known, _)| known != *id))
            .cloned()
    });
    if let Some(id) = new_exclusion
        && records::get_product(table, store_id, &id).await?.is_none()
    {
        let message = format!("There is no store product {id}.");
        draft.refuse(fields, "exclude_new", message);
    }
    if !draft.errors.is_empty() {
        return render(app, context, &draft, &loaded, &pages::Confirmation::default()).await;
    }
    let author = journal::author(context.session.user_id, context.store.owner_id);
    let mut changes = Vec::new();
    if draft.settings != context.store.settings {
        let mut store = context.store.clone();
        store.settings = draft.settings.clone();
        accounts::save_store(table, &store).await?;
        journal::settings_changed(table, store_id, &author, &context.store.settings, &store.settings).await?;
    }
    for shop in &draft.shops {
        let Some(before) = loaded.all_shops.iter().find(|s| s.shop_id == shop.shop_id) else {
            continue;
        };
        if before.default_warehouse_id != shop.default_warehouse_id || before.conversion_rate != shop.conversion_rate {
            // Re-read: a token refresh may have saved the shop since the page loaded.
            if let Some(mut current) = accounts::get_shop(table, store_id, &shop.shop_id).await? {
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
                records::save_profile(table, store_id, &profile).await?;
                if is_default {
                    changes.push(format!("default profile → {}", profile.name));
                }
            }
        }
    }
    if let Some(excluded) = &draft.excluded {
        let was: Vec<&String> = loaded.excluded.iter().map(|(id, _)| id).collect();
        for id in excluded.iter().filter(|id| !was.contains(id)) {
            let mut overrides = records::get_overrides(table, store_id, id).await?;
            overrides.exclude_from_stock_sync = true;
            records::save_overrides(table, store_id, id, &overrides).await?;
            changes.push(format!("product {id} kept out of stock sync"));
        }
        for id in was.into_iter().filter(|id| !excluded.contains(id)) {
            let mut overrides = records::get_overrides(table, store_id, id).await?;
            overrides.exclude_from_stock_sync = false;
            records::save_overrides(table, store_id, id, &overrides).await?;
            changes.push(format!("product {id} back in stock sync"));
        }
    }
    if !changes.is_empty() {
        let summary = format!("Settings changed: {}", changes.join("; "));
        journal::record(table, store_id, &Entry::now(LogKind::Settings, summary).by(author)).await?;
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
    accounts::get_shop(app.table.as_ref(), &context.store.store_id, shop_id)
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
        crate::shops::disconnect(&app, &context.store.store_id, &shop_id, &author).await?;
        Ok::<_, Failure>(see_other("/settings/configuration?done=disconnected#account"))
    };
    outcome.await.map_err(Failure::page)
}
