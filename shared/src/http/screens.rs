//! The merchant's screens: the wizard, the dashboard, profiles, products and
//! activities, each a `GET` page and its forms. Thin handlers: they read the session's
//! store, call the domain, and render with [`pages`]; every id in a path or a form is
//! looked up in the session's store only, so another store's id answers 404.

use std::sync::Arc;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::http::header::LOCATION;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use maud::Markup;
use serde::Deserialize;

use super::catalog::{
    MAX_SELECTION, ProfileFile, apply_overrides, link, own_product, remove_profile, store_profile, store_profile_file,
    unlink_product,
};
use super::pages::catalog::{CategoryChoice, CategoryPicker, ProductView, ProfileEditor, ProfileRow, TikTokSide};
use super::pages::dashboard::{Dashboard, ShopHealth};
use super::pages::wizard::{ProfileStep, step_named};
use super::pages::{self, Confirmation, Frame, Section};
use super::{Failure, Route, SessionContext, own_shop};
use crate::accounts::{self, OnboardingStep, ShopRecord, ShopStatus};
use crate::app::App;
use crate::catalog::browse::{Browse, ProductFilter, Row};
use crate::catalog::reconcile;
use crate::catalog::records::{self, ListingStatus};
use crate::catalog::sync::{self, BulkAction};
use crate::orders::{self, SyncState};
use crate::redrive;
use crate::rules::catalog::{
    Adjustment, AttributeMapping, Field, InventoryPolicy, Match, Operator, Overrides, PriceRule, Profile, Rounding,
    Rule, RuleGroup, Source, StoreField, profile_for,
};
use crate::shops::with_shop;
use crate::tiktok::model::{Attribute, CategoryRules};
use crate::tiktok::types::Id;

pub(super) fn routes() -> Vec<Route> {
    vec![
        ("/settings", get(settings_page)),
        ("/settings/dashboard", get(dashboard)),
        ("/settings/profiles", get(profiles)),
        ("/settings/profiles/new", get(new_profile).post(create_profile)),
        ("/settings/profiles/preview", post(preview_profile)),
        ("/settings/profiles/{id}", get(edit_profile).post(update_profile)),
        ("/settings/profiles/{id}/delete", post(delete_profile)),
        (
            "/settings/profiles/{id}/files",
            post(profile_file).layer(axum::extract::DefaultBodyLimit::max(PROFILE_FILE_BYTES)),
        ),
        ("/settings/products", get(products)),
        ("/settings/products/actions", post(product_actions)),
        ("/settings/products/{id}", get(product)),
        ("/settings/products/{id}/{form}", post(product_form)),
        ("/settings/activities", get(activities)),
        ("/settings/activities/{id}", get(activity)),
        ("/settings/activities/{id}/progress", get(activity_progress)),
    ]
}

/// A 303 to `location` (after a form).
pub(super) fn see_other(location: &str) -> Response {
    (StatusCode::SEE_OTHER, [(LOCATION, location.to_string())]).into_response()
}

/// The query every page takes: the switcher's shop and the last form's confirmation.
#[derive(Debug, Default, Deserialize)]
pub(super) struct PageQuery {
    #[serde(default)]
    pub(super) shop: Option<String>,
    #[serde(flatten)]
    pub(super) confirmation: Confirmation,
}

/// What the frame of every page shows besides the page: the store's shops, and how
/// many after-sales requests must be answered within 24 hours.
pub(super) struct StoreShops {
    list: Vec<ShopRecord>,
    due: usize,
}

impl std::ops::Deref for StoreShops {
    type Target = [ShopRecord];

    fn deref(&self) -> &[ShopRecord] {
        &self.list
    }
}

/// The store's shops and due requests (for the frame) and the session's CSRF token.
pub(super) async fn shops_and_csrf(app: &App, context: &SessionContext) -> Result<(StoreShops, String), Failure> {
    let table = app.table.as_ref();
    let store_id = &context.store.store_id;
    let list = accounts::list_shops(table, store_id).await?;
    let due = crate::returns::due_before(table, store_id, crate::storage::unix_now() + 86_400)
        .await?
        .len();
    Ok((
        StoreShops { list, due },
        context.session.csrf_token(&app.secrets.token_cipher),
    ))
}

pub(super) fn frame<'a>(
    context: &'a SessionContext,
    shops: &'a StoreShops,
    section: Section,
    shop: Option<&'a str>,
    path: &'a str,
    confirmation: &'a Confirmation,
) -> Frame<'a> {
    Frame {
        store: &context.store,
        shops: &shops.list,
        section,
        shop,
        path,
        confirmation,
        due: shops.due,
    }
}

/// A form's fields, as posted (repeated names kept in order).
pub(super) type Fields = Vec<(String, String)>;

pub(super) fn field<'a>(fields: &'a Fields, name: &str) -> Option<&'a str> {
    fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

pub(super) fn text(fields: &Fields, name: &str) -> String {
    field(fields, name).unwrap_or_default().trim().to_string()
}

fn optional(fields: &Fields, name: &str) -> Option<String> {
    Some(text(fields, name)).filter(|v| !v.is_empty())
}

#[derive(Debug, Default, Deserialize)]
struct WizardQuery {
    step: Option<String>,
    #[serde(default)]
    category_q: String,
    #[serde(flatten)]
    page: PageQuery,
}

/// `GET /settings`: the wizard at the store's step (or a reached step named by
/// `?step=`); once onboarding is done, the dashboard.
async fn settings_page(
    State(app): State<Arc<App>>,
    context: SessionContext,
    Query(query): Query<WizardQuery>,
) -> Result<Response, Response> {
    let reached = context.store.onboarding;
    let shown = query.step.as_deref().and_then(step_named).filter(|s| *s <= reached);
    let shown = match shown {
        Some(step) => step,
        None if reached == OnboardingStep::Done => return Ok(see_other("/settings/dashboard")),
        None => reached,
    };
    wizard_page(&app, &context, shown, &query, None)
        .await
        .map_err(Failure::page)
}

async fn wizard_page(
    app: &App,
    context: &SessionContext,
    shown: OnboardingStep,
    query: &WizardQuery,
    error: Option<&str>,
) -> Result<Response, Failure> {
    let (shops, csrf) = shops_and_csrf(app, context).await?;
    let frame = frame(
        context,
        &shops,
        Section::Setup,
        query.page.shop.as_deref(),
        "/settings",
        &query.page.confirmation,
    );
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    if shown != OnboardingStep::DefaultProfile {
        return Ok((status, pages::wizard::wizard(&frame, shown, None, &csrf, error)).into_response());
    }
    let store_id = &context.store.store_id;
    let mut products = records::all_products(app.table.as_ref(), store_id).await?;
    let mut importing = latest_import(app, store_id)
        .await?
        .is_some_and(|a| a.status == "running");
    // Right after the warehouse step the import has just begun: its first page (and
    // with it a sample product to recommend a category for) takes a moment.
    let waiting_since = std::time::Instant::now();
    while products.is_empty() && importing && waiting_since.elapsed() < FIRST_PAGE_WAIT {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        products = records::all_products(app.table.as_ref(), store_id).await?;
        importing = latest_import(app, store_id)
            .await?
            .is_some_and(|a| a.status == "running");
    }
    let sample = products.first().map(|p| p.name.as_str());
    let chosen = records::all_profiles(app.table.as_ref(), store_id)
        .await?
        .into_iter()
        .find(|p| p.is_default)
        .map(|p| p.category_id)
        .unwrap_or_default();
    let mut categories = Categories::read(app, frame.current_shop(), &chosen, sample).await;
    categories.narrow(&query.category_q);
    let step = ProfileStep {
        picker: categories.picker(&query.category_q),
        products: products.len(),
        importing,
    };
    Ok((status, pages::wizard::wizard(&frame, shown, Some(&step), &csrf, error)).into_response())
}

/// How long the default-profile step waits for the import's first products.
const FIRST_PAGE_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// The newest import activity of the store, if any.
async fn latest_import(app: &App, store_id: &str) -> Result<Option<records::Activity>, Failure> {
    let (recent, _) = records::activities_page(app.table.as_ref(), store_id, 20, None).await?;
    Ok(recent.into_iter().find(|a| a.kind == "import"))
}

/// The wizard's default-profile step: creates (or updates) the default profile with
/// the chosen category, starts the catalogue import unless one ran, and moves on.
pub(super) async fn create_default_profile(
    app: &App,
    context: &SessionContext,
    category_id: &str,
) -> Result<(), Failure> {
    let store_id = &context.store.store_id;
    let existing = records::all_profiles(app.table.as_ref(), store_id)
        .await?
        .into_iter()
        .find(|p| p.is_default);
    let profile = Profile {
        category_id: category_id.to_string(),
        ..existing.unwrap_or_else(|| blank_profile("Default", true))
    };
    store_profile(app, store_id, profile).await?;
    if latest_import(app, store_id).await?.is_none() {
        sync::start_import(app, store_id, None).await?;
    }
    Ok(())
}

/// A new profile with nothing chosen yet.
fn blank_profile(name: &str, is_default: bool) -> Profile {
    Profile {
        id: uuid::Uuid::new_v4().simple().to_string(),
        name: name.to_string(),
        priority: 0,
        is_default,
        matching: Match::All,
        rules: Vec::new(),
        groups: Vec::new(),
        category_id: String::new(),
        attributes: Vec::new(),
        brand_id: None,
        brand_map: Vec::new(),
        price_rule: PriceRule::default(),
        size_chart_uri: None,
        certifications: Vec::new(),
        certification_files: Vec::new(),
        inventory: None,
    }
}

/// Re-renders the wizard step after a refused form, with the error by the form.
pub(super) async fn wizard_error(app: &App, context: &SessionContext, step: OnboardingStep, error: &str) -> Response {
    let query = WizardQuery::default();
    match wizard_page(app, context, step, &query, Some(error)).await {
        Ok(page) => page,
        Err(failure) => failure.page(),
    }
}

/// The shop's TikTok leaf categories with their paths, and TikTok's recommendation
/// for a sample title; a failed read becomes the picker's error.
struct Categories {
    leaves: Vec<CategoryChoice>,
    chosen: String,
    recommended: Option<(String, String)>,
    error: Option<String>,
}

/// Most categories the picker lists at once.
const CATEGORIES_SHOWN: usize = 60;

impl Categories {
    async fn read(app: &App, shop: Option<&ShopRecord>, chosen: &str, sample: Option<&str>) -> Self {
        let mut found = Self {
            leaves: Vec::new(),
            chosen: chosen.to_string(),
            recommended: None,
            error: None,
        };
        let Some(shop) = shop else {
            found.error = Some("Connect a TikTok shop to choose its categories.".into());
            return found;
        };
        let tiktok = &app.tiktok;
        let version = sync::category_version(shop);
        match with_shop(app, shop, |auth| async move { tiktok.categories(&auth, version).await }).await {
            Ok(categories) => {
                let by_id: std::collections::HashMap<&str, &crate::tiktok::model::Category> =
                    categories.iter().map(|c| (c.id.as_str(), c)).collect();
                let path = |leaf: &crate::tiktok::model::Category| {
                    let mut names = vec![leaf.local_name.clone()];
                    let mut parent = leaf.parent_id.as_str();
                    while let Some(up) = by_id.get(parent).filter(|_| names.len() < 10) {
                        names.push(up.local_name.clone());
                        parent = up.parent_id.as_str();
                    }
                    names.reverse();
                    names.join(" > ")
                };
                found.leaves = categories
                    .iter()
                    .filter(|c| c.is_leaf)
                    .map(|c| CategoryChoice {
                        id: c.id.to_string(),
                        path: path(c),
                    })
                    .collect();
            }
            Err(error) => found.error = Some(format!("TikTok's categories could not be read: {error}")),
        }
        if let Some(title) = sample {
            let title_owned = title.to_string();
            if let Ok(recommended) = with_shop(app, shop, |auth| async move {
                tiktok.recommend_category(&auth, &title_owned).await
            })
            .await
            {
                found.recommended = Some((recommended.leaf_category_id.to_string(), title.to_string()));
            }
        }
        if found.chosen.is_empty()
            && let Some((id, _)) = &found.recommended
        {
            found.chosen = id.clone();
        }
        found
    }

    /// The picker: the chosen and the recommended first, then the leaves matching
    /// the search (all leaves when there is none), at most [`CATEGORIES_SHOWN`].
    fn picker<'a>(&'a self, query: &'a str) -> CategoryPicker<'a> {
        CategoryPicker {
            choices: &self.leaves,
            chosen: &self.chosen,
            recommended: self
                .recommended
                .as_ref()
                .map(|(id, title)| (id.as_str(), title.as_str())),
            query,
            error: self.error.as_deref(),
        }
    }

    /// Keeps the leaves matching `query` (and the chosen and recommended ones).
    fn narrow(&mut self, query: &str) {
        let words = query.trim().to_lowercase();
        let recommended = self.recommended.as_ref().map(|(id, _)| id.clone());
        let keep = |c: &CategoryChoice| {
            c.id == self.chosen
                || Some(&c.id) == recommended.as_ref()
                || (!words.is_empty() && c.path.to_lowercase().contains(&words))
        };
        let (mut first, rest): (Vec<_>, Vec<_>) = self.leaves.drain(..).partition(|c| keep(c));
        if words.is_empty() {
            first.extend(rest);
        }
        first.truncate(CATEGORIES_SHOWN);
        self.leaves = first;
    }
}

#[derive(Debug, Default, Deserialize)]
struct DashboardQuery {
    /// The sales chart's period.
    #[serde(default)]
    sales: orders::SalesPeriod,
    #[serde(flatten)]
    page: PageQuery,
}

/// `GET /settings/dashboard`.
async fn dashboard(
    State(app): State<Arc<App>>,
    context: SessionContext,
    Query(query): Query<DashboardQuery>,
) -> Result<Response, Response> {
    dashboard_page(&app, &context, &query).await.map_err(Failure::page)
}

/// How many orders the dashboard's orders card lists.
const LATEST_ORDERS: usize = 50;

/// The dashboard, from counters kept by the workers and bounded reads: no read grows
/// with the catalogue or the order history.
async fn dashboard_page(app: &App, context: &SessionContext, query: &DashboardQuery) -> Result<Response, Failure> {
    let table = app.table.as_ref();
    let store_id = &context.store.store_id;
    let (shops, csrf) = shops_and_csrf(app, context).await?;
    let latest = orders::latest_records(table, store_id, LATEST_ORDERS).await?;
    let order_counts = orders::order_counts(table, store_id).await?;
    let count = |name: &str| order_counts.get(name).copied().unwrap_or(0).max(0) as u64;
    let parked = redrive::parked_jobs(table, store_id).await?;
    let reconciliations = reconcile::latest(table, store_id).await?;
    let (activities, _) = records::activities_page(table, store_id, 5, None).await?;
    let mut health = Vec::new();
    for shop in shops.iter().filter(|s| s.status != ShopStatus::Disconnected) {
        let statuses = crate::catalog::browse::TABS.map(|(s, _)| s);
        let counts = records::status_counts(table, store_id, &shop.shop_id, &statuses).await?;
        health.push(ShopHealth {
            shop,
            listings: counts,
            last_poll: orders::last_poll(table, store_id, &shop.shop_id).await?,
            last_webhook: accounts::last_webhook(table, store_id, &shop.shop_id).await?,
            orders_waiting: count(&format!("waiting:{}", shop.shop_id)),
        });
    }
    let states = [
        SyncState::Created,
        SyncState::Error,
        SyncState::Parked,
        SyncState::Skipped,
        SyncState::Cancelled,
    ];
    let order_states: Vec<(SyncState, u64)> = states
        .iter()
        .map(|state| (*state, count(&format!("state:{}", orders::state_key(*state)))))
        .collect();
    let mut tiktok_statuses: Vec<(String, u64)> = order_counts
        .iter()
        .filter_map(|(name, n)| Some((name.strip_prefix("status:")?.to_string(), (*n).max(0) as u64)))
        .filter(|(_, n)| *n > 0)
        .collect();
    tiktok_statuses.sort();
    let sales = orders::sales(table, store_id, query.sales, crate::storage::unix_now()).await?;
    let data = Dashboard {
        shops: health,
        order_total: order_states.iter().map(|(_, n)| n).sum(),
        order_states,
        tiktok_statuses,
        activities: &activities,
        orders: &latest,
        parked: &parked,
        reconciliations: &reconciliations,
        sales_chart: pages::dashboard::sales_chart(&sales),
        sales_period: query.sales,
        returns: {
            let counts = crate::returns::stage_counts(table, store_id).await?;
            crate::returns::Stage::ALL
                .into_iter()
                .map(|stage| (stage, counts.get(&stage).copied().unwrap_or(0)))
                .filter(|(stage, count)| *count > 0 || *stage == crate::returns::Stage::NeedsAction)
                .collect()
        },
    };
    let frame = frame(
        context,
        &shops,
        Section::Dashboard,
        query.page.shop.as_deref(),
        "/settings/dashboard",
        &query.page.confirmation,
    );
    Ok(pages::dashboard::dashboard(&frame, &data, &csrf).into_response())
}

/// `GET /settings/profiles`.
async fn profiles(
    State(app): State<Arc<App>>,
    context: SessionContext,
    Query(query): Query<PageQuery>,
) -> Result<Response, Response> {
    let page = async {
        let table = app.table.as_ref();
        let store_id = &context.store.store_id;
        let (shops, csrf) = shops_and_csrf(&app, &context).await?;
        let profiles = records::all_profiles(table, store_id).await?;
        let products = records::all_products(table, store_id).await?;
        let mut covered = std::collections::HashMap::<&str, usize>::new();
        for product in &products {
            if let Some(profile) = profile_for(&profiles, product) {
                *covered.entry(profile.id.as_str()).or_default() += 1;
            }
        }
        let rows: Vec<ProfileRow> = profiles
            .iter()
            .map(|profile| ProfileRow {
                profile,
                products: covered.get(profile.id.as_str()).copied().unwrap_or(0),
                category: None,
            })
            .collect();
        let frame = frame(
            &context,
            &shops,
            Section::Profiles,
            query.shop.as_deref(),
            "/settings/profiles",
            &query.confirmation,
        );
        Ok::<_, Failure>(pages::catalog::profiles(&frame, &rows, &csrf).into_response())
    };
    page.await.map_err(Failure::page)
}

#[derive(Debug, Default, Deserialize)]
struct ProfileQuery {
    #[serde(default)]
    category_q: String,
    #[serde(flatten)]
    page: PageQuery,
}

/// `GET /settings/profiles/new`.
async fn new_profile(
    State(app): State<Arc<App>>,
    context: SessionContext,
    Query(query): Query<ProfileQuery>,
) -> Result<Response, Response> {
    let profile = blank_profile("", false);
    profile_page(&app, &context, &profile, false, &query, &[])
        .await
        .map_err(Failure::page)
}

/// `GET /settings/profiles/{id}`: 404 for another store's profile.
async fn edit_profile(
    State(app): State<Arc<App>>,
    context: SessionContext,
    Path(id): Path<String>,
    Query(query): Query<ProfileQuery>,
) -> Result<Response, Response> {
    let page = async {
        let profile = own_profile(&app, &context.store.store_id, &id).await?;
        profile_page(&app, &context, &profile, true, &query, &[]).await
    };
    page.await.map_err(Failure::page)
}

async fn own_profile(app: &App, store_id: &str, id: &str) -> Result<Profile, Failure> {
    records::all_profiles(app.table.as_ref(), store_id)
        .await?
        .into_iter()
        .find(|p| p.id == id)
        .ok_or_else(|| Failure::NotFound(format!("No profile {id}.")))
}

/// Products of `products` a profile would cover (as uploads choose: the highest
/// priority wins, against the store's other profiles), and products in all. The
/// saved copy of `profile` (same id) is left out: the edited one stands in for it.
async fn coverage(
    app: &App,
    store_id: &str,
    profile: &Profile,
    products: &[crate::store::Product],
) -> Result<(usize, usize), Failure> {
    let saved = records::all_profiles(app.table.as_ref(), store_id).await?;
    Ok(covered_by(profile, saved, products))
}

/// [`coverage`] over the store's saved profiles `saved`.
fn covered_by(profile: &Profile, saved: Vec<Profile>, products: &[crate::store::Product]) -> (usize, usize) {
    let mut profiles: Vec<Profile> = saved
        .into_iter()
        .filter(|p| p.id != profile.id && !(profile.is_default && p.is_default))
        .collect();
    profiles.push(profile.clone());
    let covered = products
        .iter()
        .filter(|p| profile_for(&profiles, p).is_some_and(|f| f.id == profile.id))
        .count();
    (covered, products.len())
}

async fn profile_page(
    app: &App,
    context: &SessionContext,
    profile: &Profile,
    exists: bool,
    query: &ProfileQuery,
    errors: &[(String, String)],
) -> Result<Response, Failure> {
    let store_id = &context.store.store_id;
    let (shops, csrf) = shops_and_csrf(app, context).await?;
    // The switcher stays on this profile.
    let here = if exists {
        format!("/settings/profiles/{}", profile.id)
    } else {
        "/settings/profiles/new".to_string()
    };
    let frame = frame(
        context,
        &shops,
        Section::Profiles,
        query.page.shop.as_deref(),
        &here,
        &query.page.confirmation,
    );
    let products = records::all_products(app.table.as_ref(), store_id).await?;
    let sample = products
        .iter()
        .find(|p| profile.matches(p) || profile.is_default)
        .map(|p| p.name.as_str());
    let mut categories = Categories::read(app, frame.current_shop(), &profile.category_id, sample).await;
    categories.narrow(&query.category_q);
    let attributes = category_attributes(app, frame.current_shop(), &profile.category_id).await;
    let rules = category_rules(app, frame.current_shop(), &profile.category_id).await;
    // The catalogue is read once, for the sample and the coverage.
    let matches = coverage(app, store_id, profile, &products).await?;
    let editor = ProfileEditor {
        profile,
        exists,
        picker: categories.picker(&query.category_q),
        attributes: &attributes,
        rules: rules.as_ref(),
        store_inventory: context.store.settings.inventory,
        matches,
        errors,
    };
    let status = if !errors.is_empty() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    Ok((status, pages::catalog::profile_editor(&frame, &editor, &csrf)).into_response())
}

/// The attributes of a category on a shop (none when no category or shop, or when
/// TikTok cannot be read: the editor then shows no mapping rows).
async fn category_attributes(app: &App, shop: Option<&ShopRecord>, category_id: &str) -> Vec<Attribute> {
    let (Some(shop), false) = (shop, category_id.is_empty()) else {
        return Vec::new();
    };
    let tiktok = &app.tiktok;
    let id = Id::from(category_id);
    let version = sync::category_version(shop);
    match with_shop(app, shop, |auth| async move {
        tiktok.category_attributes(&auth, &id, version).await
    })
    .await
    {
        Ok(attributes) => attributes,
        Err(error) => {
            tracing::warn!(%error, category = category_id, "category attributes could not be read");
            Vec::new()
        }
    }
}

/// The listing rules of a category on a shop (none when no category or shop, or when
/// TikTok cannot be read).
async fn category_rules(app: &App, shop: Option<&ShopRecord>, category_id: &str) -> Option<CategoryRules> {
    let (Some(shop), false) = (shop, category_id.is_empty()) else {
        return None;
    };
    let tiktok = &app.tiktok;
    let id = Id::from(category_id);
    let version = sync::category_version(shop);
    with_shop(app, shop, |auth| async move {
        tiktok.category_rules(&auth, &id, version).await
    })
    .await
    .inspect_err(|error| tracing::warn!(%error, category = category_id, "category rules could not be read"))
    .ok()
}

/// The largest size chart or certification file the editor takes (TikTok takes images
/// up to 5 MB and documents up to 10 MB).
const PROFILE_FILE_BYTES: usize = 10 * 1024 * 1024;

/// `POST /settings/profiles/{id}/files` (multipart: `csrf`, `kind` = `size_chart` or
/// `certification:<id>`, `file`): sends the file to TikTok and keeps it on the
/// profile; a refused file shows next to the uploads.
async fn profile_file(
    State(app): State<Arc<App>>,
    context: SessionContext,
    Path(id): Path<String>,
    mut multipart: axum::extract::Multipart,
) -> Result<Response, Response> {
    let uploaded = async {
        let (mut csrf, mut kind, mut bytes) = (None, None, None);
        while let Some(field) = multipart
            .next_field()
            .await
            .map_err(|e| Failure::BadRequest(format!("The upload could not be read: {e}")))?
        {
            let name = field.name().unwrap_or_default().to_string();
            let read = |e: axum::extract::multipart::MultipartError| {
                Failure::BadRequest(format!("The upload could not be read: {e}"))
            };
            match name.as_str() {
                "csrf" => csrf = Some(field.text().await.map_err(read)?),
                "kind" => kind = Some(field.text().await.map_err(read)?),
                "file" => bytes = Some(field.bytes().await.map_err(read)?),
                _ => {}
            }
        }
        context.require_owner()?;
        context.check_csrf(&app, csrf.as_deref())?;
        let base = own_profile(&app, &context.store.store_id, &id).await?;
        let file = match kind.as_deref() {
            Some("size_chart") => ProfileFile::SizeChart,
            Some(kind) if kind.starts_with("certification:") => {
                ProfileFile::Certification(kind["certification:".len()..].to_string())
            }
            _ => return Err(Failure::BadRequest("Say which file this is.".into())),
        };
        match store_profile_file(&app, &context.store.store_id, &id, file, bytes.unwrap_or_default()).await {
            Ok(_) => Ok(see_other(&format!("/settings/profiles/{id}?done=saved#files"))),
            Err(Failure::BadRequest(message)) => {
                profile_page(
                    &app,
                    &context,
                    &base,
                    true,
                    &ProfileQuery::default(),
                    &[("files".to_string(), message)],
                )
                .await
            }
            Err(other) => Err(other),
        }
    };
    uploaded.await.map_err(Failure::page)
}

/// Why a profile form cannot be saved: the field and the merchant's words.
struct FormError {
    field: String,
    message: String,
}

fn form_error(field: impl Into<String>, message: impl Into<String>) -> FormError {
    FormError {
        field: field.into(),
        message: message.into(),
    }
}

fn parse_field(key: &str) -> Option<Field> {
    Some(match key {
        "title" => Field::Title,
        "sku" => Field::Sku,
        "brand" => Field::Brand,
        "category" => Field::Category,
        "price" => Field::Price,
        "quantity" => Field::Quantity,
        _ => return None,
    })
}

fn parse_operator(key: &str) -> Operator {
    match key {
        "not_equals" => Operator::NotEquals,
        "contains" => Operator::Contains,
        "does_not_contain" => Operator::DoesNotContain,
        "greater" => Operator::Greater,
        "less" => Operator::Less,
        _ => Operator::Equals,
    }
}

/// `left = right` lines (blank lines skipped).
fn pairs(text: &str, field: &'static str) -> Result<Vec<(String, String)>, FormError> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(|line| {
            line.split_once('=')
                .map(|(a, b)| (a.trim().to_string(), b.trim().to_string()))
                .filter(|(a, b)| !a.is_empty() && !b.is_empty())
                .ok_or_else(|| form_error(field, format!("“{line}” is not of the form id = value.")))
        })
        .collect()
}

/// The profile a posted editor form describes, over `base` (its id and uploads).
/// On error, the profile as far as it was read comes back too, so the page keeps
/// every edit.
/// The profile as the form posts it over `base`, and every value refused, each with
/// its field (all of them, so each shows next to its field).
fn profile_from_form(fields: &Fields, base: &Profile) -> (Profile, Vec<FormError>) {
    let mut profile = base.clone();
    profile.name = text(fields, "name");
    profile.is_default = field(fields, "is_default") == Some("on");
    profile.category_id = text(fields, "category_id");
    let mut errors = Vec::new();
    let mut fail = |e: FormError| errors.push(e);
    match text(fields, "priority").parse::<i32>() {
        Ok(priority) => profile.priority = priority,
        Err(_) if text(fields, "priority").is_empty() => profile.priority = 0,
        Err(_) => fail(form_error("priority", "The priority must be a whole number.")),
    }
    let mut groups = Vec::new();
    for index in 0.. {
        let Some(matching) = field(fields, &format!("group{index}.matching")) else {
            break;
        };
        let matching = if matching == "any" { Match::Any } else { Match::All };
        let mut rules = Vec::new();
        for i in 0.. {
            let Some(key) = field(fields, &format!("group{index}.field{i}")) else {
                break;
            };
            let Some(rule_field) = parse_field(key) else {
                continue;
            };
            rules.push(Rule {
                field: rule_field,
                operator: parse_operator(field(fields, &format!("group{index}.operator{i}")).unwrap_or_default()),
                value: text(fields, &format!("group{index}.value{i}")),
            });
        }
        groups.push(RuleGroup { matching, rules });
    }
    let mut groups = groups.into_iter();
    let first = groups.next().unwrap_or(RuleGroup {
        matching: Match::All,
        rules: Vec::new(),
    });
    profile.matching = first.matching;
    profile.rules = first.rules;
    profile.groups = groups.filter(|g| !g.rules.is_empty()).collect();
    let mut attributes = Vec::new();
    for (name, source) in fields {
        let Some(attribute_id) = name.strip_prefix("attr_source:") else {
            continue;
        };
        let value = text(fields, &format!("attr_value:{attribute_id}"));
        let source = match source.as_str() {
            "" => continue,
            "fixed" | "custom_field" | "option" if value.is_empty() => {
                fail(form_error(
                    "attributes",
                    format!("Attribute {attribute_id}: give the value or the name it comes from."),
                ));
                continue;
            }
            "fixed" => Source::Fixed(value),
            "custom_field" => Source::CustomField(value),
            "option" => Source::Option(value),
            "brand" => Source::Brand,
            "name" => Source::StoreField(StoreField::Name),
            "sku" => Source::StoreField(StoreField::Sku),
            "upc" => Source::StoreField(StoreField::Upc),
            "weight" => Source::StoreField(StoreField::Weight),
            _ => continue,
        };
        attributes.push(AttributeMapping {
            attribute_id: attribute_id.to_string(),
            source,
        });
    }
    // Mappings of attributes the form did not show (another category's) are kept.
    profile
        .attributes
        .retain(|m| field(fields, &format!("attr_source:{}", m.attribute_id)).is_none());
    profile.attributes.extend(attributes);
    profile.brand_id = optional(fields, "brand_id");
    match pairs(field(fields, "brand_map").unwrap_or_default(), "brand_map") {
        Ok(map) => profile.brand_map = map,
        Err(e) => fail(e),
    }
    let amount = text(fields, "amount");
    let number = || amount.parse::<rust_decimal::Decimal>();
    let adjustment = match (field(fields, "adjustment").unwrap_or("none"), number()) {
        ("none", _) => Ok(Adjustment::None),
        ("percent", Ok(n)) => Ok(Adjustment::Percent(n)),
        ("fixed", Ok(n)) => Ok(Adjustment::Fixed(n)),
        ("multiply", Ok(n)) => Ok(Adjustment::Multiply(n)),
        _ => Err(form_error("price_rule", format!("“{amount}” is not a number."))),
    };
    match adjustment {
        Ok(adjustment) => profile.price_rule.adjustment = adjustment,
        Err(e) => fail(e),
    }
    profile.price_rule.rounding = match field(fields, "rounding") {
        Some("end_in_99") => Rounding::EndIn99,
        Some("whole") => Rounding::Whole,
        _ => Rounding::Cents,
    };
    profile.inventory = None;
    if field(fields, "own_inventory") == Some("on") {
        // Each number read and range-checked on its own, its error filed under its
        // own name (`inventory.reserve`), where the editor marks the input. A refused
        // form keeps the policy as typed (a value that is no number: the saved one).
        let was = base.inventory.unwrap_or_default();
        let mut number = |name: &str, was: i64| {
            let key = format!("inventory.{name}");
            let value = text(fields, &key);
            let Ok(number) = value.parse::<i64>() else {
                fail(form_error(&key, format!("{key}: “{value}” is not a whole number.")));
                return was;
            };
            let alone = |threshold, reserve, untracked_quantity| InventoryPolicy {
                threshold,
                reserve,
                untracked_quantity,
                deactivate_at_threshold: false,
            };
            let checked = match name {
                "threshold" => alone(number, 0, 0),
                "reserve" => alone(0, number, 0),
                _ => alone(0, 0, number),
            };
            if let Err(setting) = checked.validate() {
                fail(form_error(&key, setting.to_string()));
            }
            number
        };
        profile.inventory = Some(InventoryPolicy {
            threshold: number("threshold", was.threshold),
            reserve: number("reserve", was.reserve),
            untracked_quantity: number("untracked_quantity", was.untracked_quantity),
            deactivate_at_threshold: field(fields, "inventory.deactivate_at_threshold") == Some("on"),
        });
    }
    if profile.name.is_empty() {
        fail(form_error("name", "Give the profile a name."));
    }
    if profile.category_id.is_empty() {
        fail(form_error("category_id", "Choose a TikTok category."));
    }
    if let Err(setting) = profile.price_rule.validate() {
        fail(form_error("price_rule", setting.to_string()));
    }
    // The rest of the profile's own checks (rule groups), the price rule and stock
    // policy being checked above.
    let rules_only = Profile {
        price_rule: PriceRule::default(),
        inventory: None,
        ..profile.clone()
    };
    if let Err(setting) = rules_only.validate() {
        fail(form_error("rules", setting.to_string()));
    }
    (profile, errors)
}

/// Saves a posted profile form; on a refused value, the editor again with the edits
/// and the error next to its field.
async fn save_profile_form(
    app: &App,
    context: &SessionContext,
    base: Profile,
    exists: bool,
    fields: &Fields,
) -> Result<Response, Failure> {
    context.require_owner()?;
    context.check_csrf(app, field(fields, "csrf"))?;
    let (profile, errors) = profile_from_form(fields, &base);
    let saved = match errors.is_empty() {
        false => Err(errors),
        true => store_profile(app, &context.store.store_id, profile.clone())
            .await
            .map_err(|failure| match failure {
                Failure::BadRequest(message) => vec![form_error("rules", message)],
                other => vec![form_error("rules", other.to_string())],
            }),
    };
    match saved {
        Ok(saved) => {
            let done = if exists { "saved" } else { "created" };
            Ok(see_other(&format!("/settings/profiles/{}?done={done}", saved.id)))
        }
        Err(errors) => {
            let query = ProfileQuery::default();
            let errors: Vec<(String, String)> = errors.into_iter().map(|e| (e.field, e.message)).collect();
            profile_page(app, context, &profile, exists, &query, &errors).await
        }
    }
}

/// `POST /settings/profiles/new`.
async fn create_profile(
    State(app): State<Arc<App>>,
    context: SessionContext,
    Form(fields): Form<Fields>,
) -> Result<Response, Response> {
    save_profile_form(&app, &context, blank_profile("", false), false, &fields)
        .await
        .map_err(Failure::page)
}

/// `POST /settings/profiles/{id}`.
async fn update_profile(
    State(app): State<Arc<App>>,
    context: SessionContext,
    Path(id): Path<String>,
    Form(fields): Form<Fields>,
) -> Result<Response, Response> {
    let saved = async {
        let base = own_profile(&app, &context.store.store_id, &id).await?;
        save_profile_form(&app, &context, base, true, &fields).await
    };
    saved.await.map_err(Failure::page)
}

/// `POST /settings/profiles/{id}/delete`.
async fn delete_profile(
    State(app): State<Arc<App>>,
    context: SessionContext,
    Path(id): Path<String>,
    Form(fields): Form<Fields>,
) -> Result<Response, Response> {
    let deleted = async {
        context.require_owner()?;
        context.check_csrf(&app, field(&fields, "csrf"))?;
        remove_profile(&app, &context.store.store_id, &id).await?;
        Ok::<_, Failure>(see_other("/settings/profiles?done=deleted"))
    };
    deleted.await.map_err(Failure::page)
}

/// `POST /settings/profiles/preview` (htmx, from the editor): the "matches N
/// products" line for the form as it is now.
async fn preview_profile(
    State(app): State<Arc<App>>,
    context: SessionContext,
    Form(fields): Form<Fields>,
) -> Result<Markup, Response> {
    let preview = async {
        context.check_csrf(&app, field(&fields, "csrf"))?;
        let store_id = &context.store.store_id;
        let table = app.table.as_ref();
        let saved = records::all_profiles(table, store_id).await?;
        // Editing a saved profile (the editor posts its id): the edits stand in for
        // the saved copy, which must not compete with them. Another store's id is 404.
        let base = match optional(&fields, "profile_id") {
            Some(id) => saved
                .iter()
                .find(|p| p.id == id)
                .cloned()
                .ok_or_else(|| Failure::NotFound(format!("No profile {id}.")))?,
            None => blank_profile("", false),
        };
        let (profile, _) = profile_from_form(&fields, &base);
        let products = records::all_products(table, store_id).await?;
        Ok::<_, Failure>(pages::catalog::match_count(covered_by(&profile, saved, &products)))
    };
    preview.await.map_err(|failure: Failure| failure.into_response())
}

#[derive(Debug, Default, Deserialize)]
struct ProductsQuery {
    #[serde(default)]
    shop: Option<String>,
    #[serde(flatten)]
    confirmation: Confirmation,
    #[serde(flatten)]
    filter: ProductFilter,
}

/// `GET /settings/products`: a filter that cannot be read shows as an error over the
/// whole catalogue.
async fn products(
    State(app): State<Arc<App>>,
    context: SessionContext,
    query: Result<Query<ProductsQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, Response> {
    let (query, error) = match query {
        Ok(Query(query)) => (query, None),
        Err(e) => (
            ProductsQuery::default(),
            Some(format!("The filter is not valid: {}", e.body_text())),
        ),
    };
    products_page(&app, &context, &query, error.as_deref())
        .await
        .map_err(Failure::page)
}

async fn products_page(
    app: &App,
    context: &SessionContext,
    query: &ProductsQuery,
    error: Option<&str>,
) -> Result<Response, Failure> {
    let table = app.table.as_ref();
    let store_id = &context.store.store_id;
    let (shops, csrf) = shops_and_csrf(app, context).await?;
    let frame = frame(
        context,
        &shops,
        Section::Products,
        query.shop.as_deref(),
        "/settings/products",
        &query.confirmation,
    );
    let profiles = records::all_profiles(table, store_id).await?;
    let filter = &query.filter;
    let indexed = !filter.narrows() && filter.status != Some(ListingStatus::NotUploaded);
    let (products, listings, browse_of_index) = match frame.current_shop() {
        // A plain tab: counts from the counters, the page from the catalogue indexes.
        Some(shop) if indexed => {
            let statuses = crate::catalog::browse::TABS.map(|(s, _)| s);
            let counts: Vec<(ListingStatus, usize)> = records::status_counts(table, store_id, &shop.shop_id, &statuses)
                .await?
                .into_iter()
                .map(|(status, n)| (status, n as usize))
                .collect();
            let total = records::product_count(table, store_id).await? as usize;
            let matching = filter
                .status
                .map_or(total, |s| counts.iter().find(|(c, _)| *c == s).map_or(0, |(_, n)| *n));
            let (page, pages) = filter.page_of(matching);
            let size = crate::catalog::browse::PAGE_SIZE;
            let ids =
                records::catalogue_page(table, store_id, &shop.shop_id, filter.status, (page - 1) * size, size).await?;
            let reads = ids.iter().map(|id| async move {
                let product = records::get_product(table, store_id, id).await?;
                let listing = records::get_listing(table, store_id, &shop.shop_id, id).await?;
                Ok::<_, crate::storage::StorageError>(product.map(|p| (p, listing)))
            });
            let found: Vec<_> = futures_util::future::try_join_all(reads)
                .await?
                .into_iter()
                .flatten()
                .collect();
            let (products, listings): (Vec<_>, Vec<_>) = found.into_iter().unzip();
            (products, listings, Some((counts, total, matching, page, pages)))
        }
        Some(shop) => (
            records::all_products(table, store_id).await?,
            records::shop_listings(table, store_id, &shop.shop_id).await?,
            None,
        ),
        None => (records::all_products(table, store_id).await?, Vec::new(), None),
    };
    let browse = match browse_of_index {
        Some((counts, searched, matching, page, pages)) => Browse {
            counts,
            searched,
            matching,
            rows: products
                .iter()
                .zip(&listings)
                .map(|(product, listing)| Row {
                    product,
                    listing: Some(listing),
                    profile: profile_for(&profiles, product),
                })
                .collect(),
            page,
            pages,
        },
        None => filter.browse(&products, &listings, &profiles),
    };
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let page = pages::catalog::products(&frame, &browse, &query.filter, &profiles, &csrf, error);
    Ok((status, page).into_response())
}

/// The products a bulk form names: those ticked, or every product its filter keeps.
/// The products a bulk form chose, only this store's: the ticked ones (each read on
/// its own: a few of a large catalogue), or all matching the filter.
async fn selection(app: &App, store_id: &str, shop_id: &str, fields: &Fields) -> Result<Vec<String>, Failure> {
    if field(fields, "all_matching") != Some("on") {
        return ticked_products(app.table.as_ref(), store_id, fields).await;
    }
    let filter = filter_of(fields)?;
    let table = app.table.as_ref();
    let products = records::all_products(table, store_id).await?;
    let profiles = records::all_profiles(table, store_id).await?;
    let listings = records::shop_listings(table, store_id, shop_id).await?;
    Ok(filter.chosen(&products, &listings, &profiles))
}

/// The ticked products of a bulk form that are this store's, each read on its own
/// (never the whole catalogue), at most [`MAX_SELECTION`].
async fn ticked_products(
    table: &dyn crate::storage::Table,
    store_id: &str,
    fields: &Fields,
) -> Result<Vec<String>, Failure> {
    let mut ticked: Vec<String> = Vec::new();
    for (_, id) in fields.iter().filter(|(k, _)| k == "product") {
        if !ticked.contains(id) {
            ticked.push(id.clone());
        }
    }
    if ticked.len() > MAX_SELECTION {
        return Err(Failure::BadRequest(format!(
            "{} products were ticked; tick at most {MAX_SELECTION}, or choose all matching.",
            ticked.len()
        )));
    }
    let mut own = Vec::with_capacity(ticked.len());
    for id in ticked {
        if records::get_product(table, store_id, &id).await?.is_some() {
            own.push(id);
        }
    }
    Ok(own)
}

/// The filter a bulk form was posted under (its `filter` field: the products link).
fn filter_of(fields: &Fields) -> Result<ProductFilter, Failure> {
    let link = field(fields, "filter").unwrap_or("/settings/products");
    serde_urlencoded_filter(link.split_once('?').map_or("", |(_, q)| q))
}

fn serde_urlencoded_filter(query: &str) -> Result<ProductFilter, Failure> {
    Query::<ProductFilter>::try_from_uri(
        &format!("/?{query}")
            .parse()
            .map_err(|_| Failure::BadRequest("The filter is not valid.".into()))?,
    )
    .map(|Query(filter)| filter)
    .map_err(|e| Failure::BadRequest(format!("The filter is not valid: {}", e.body_text())))
}

/// `POST /settings/products/actions`: a bulk action on the ticked products (or all
/// matching the filter) of the shop shown. Each starts an activity; the merchant
/// lands on it.
async fn product_actions(
    State(app): State<Arc<App>>,
    context: SessionContext,
    Form(fields): Form<Fields>,
) -> Result<Response, Response> {
    let acted = async {
        context.check_csrf(&app, field(&fields, "csrf"))?;
        let shown = ProductsQuery {
            shop: optional(&fields, "shop"),
            confirmation: Confirmation::default(),
            filter: filter_of(&fields).unwrap_or_default(),
        };
        let store_id = &context.store.store_id;
        let shop = own_shop(&app, store_id, field(&fields, "shop").unwrap_or_default()).await?;
        let action = field(&fields, "action").unwrap_or_default();
        let chosen = match selection(&app, store_id, &shop.shop_id, &fields).await {
            Ok(chosen) => chosen,
            Err(Failure::BadRequest(message)) => return products_page(&app, &context, &shown, Some(&message)).await,
            Err(other) => return Err(other),
        };
        if chosen.is_empty() && action != "link" {
            let message = "Tick the products to act on, or choose all matching.";
            return products_page(&app, &context, &shown, Some(message)).await;
        }
        let activity = match run_action(&app, &context, &shop, action, &chosen).await {
            Ok(activity) => activity,
            Err(Failure::BadRequest(message)) => return products_page(&app, &context, &shown, Some(&message)).await,
            Err(other) => return Err(other),
        };
        Ok::<_, Failure>(see_other(&format!(
            "/settings/activities/{}?done=started&n={}",
            activity.id,
            activity.total.unwrap_or(chosen.len() as u64)
        )))
    };
    acted.await.map_err(Failure::page)
}

/// Runs one bulk action as an activity.
async fn run_action(
    app: &App,
    context: &SessionContext,
    shop: &ShopRecord,
    action: &str,
    chosen: &[String],
) -> Result<records::Activity, Failure> {
    let store_id = &context.store.store_id;
    let table = app.table.as_ref();
    // Actions done while the merchant waits take a bounded number of products (the
    // products screen says so when more match); upload and the syncs are queued.
    let capped = || {
        if chosen.len() > MAX_SELECTION {
            return Err(Failure::BadRequest(format!(
                "{} products were chosen; this action takes at most {MAX_SELECTION} at a time: narrow the filter.",
                chosen.len()
            )));
        }
        Ok(())
    };
    let bulk = |action| async move {
        capped()?;
        Ok::<_, Failure>(sync::bulk_action(app, &context.store, shop, action, chosen).await?)
    };
    let finished = |kind: &str, total: usize| {
        let mut activity = records::Activity::start(kind, Some(&shop.shop_id), Some(total as u64));
        activity.finish();
        activity
    };
    // The syncs are queued, one job a product, and their outcome shows on each
    // product: the activity says how many were queued, never that they are done.
    let queued = |kind: &str, count: usize| {
        let mut activity = records::Activity::start(kind, Some(&shop.shop_id), Some(count as u64));
        activity.queued(count as u64);
        activity
    };
    let activity = match action {
        "upload" => sync::start_upload(app, store_id, &shop.shop_id, chosen).await?,
        "activate" => bulk(BulkAction::Activate).await?,
        "deactivate" => bulk(BulkAction::Deactivate).await?,
        "delete" => bulk(BulkAction::Delete).await?,
        "recover" => bulk(BulkAction::Recover).await?,
        "sync_status" => bulk(BulkAction::SyncStatus).await?,
        "sync_stock" => {
            // A product whose sync is pending already is covered by that one.
            for product_id in chosen {
                sync::request_stock_sync(app, store_id, product_id).await?;
            }
            let activity = queued("sync_stock", chosen.len());
            records::save_activity(table, store_id, &activity).await?;
            activity
        }
        "sync_price" => {
            let count = sync::enqueue_price_syncs(app, store_id, chosen).await?;
            let activity = queued("sync_price", count);
            records::save_activity(table, store_id, &activity).await?;
            activity
        }
        "link" => {
            let report = sync::auto_link(app, &context.store, shop).await?;
            let mut activity = finished("link", report.linked + report.linking_required.len());
            activity.done = report.linked as u64;
            activity.failed = report.linking_required.len() as u64;
            activity.failures = report
                .linking_required
                .iter()
                .take(records::FAILURES_KEPT)
                .map(|(tiktok_id, title)| {
                    (String::new(), format!("TikTok product {tiktok_id} “{title}” matches no store SKU: link it from the store product's page."))
                })
                .collect();
            records::save_activity(table, store_id, &activity).await?;
            activity
        }
        "unlink" => {
            capped()?;
            let mut activity = records::Activity::start("unlink", Some(&shop.shop_id), Some(chosen.len() as u64));
            for product_id in chosen {
                let outcome = unlink_product(app, store_id, &shop.shop_id, product_id)
                    .await
                    .map_err(|failure| (product_id.clone(), failure.to_string()));
                activity.count(outcome);
            }
            activity.finish();
            records::save_activity(table, store_id, &activity).await?;
            activity
        }
        other => return Err(Failure::BadRequest(format!("There is no bulk action {other:?}."))),
    };
    Ok(activity)
}

/// `GET /settings/products/{id}`: 404 for another store's product.
async fn product(
    State(app): State<Arc<App>>,
    context: SessionContext,
    Path(id): Path<String>,
    Query(query): Query<PageQuery>,
) -> Result<Response, Response> {
    product_page(&app, &context, &id, &query, None)
        .await
        .map_err(Failure::page)
}

async fn product_page(
    app: &App,
    context: &SessionContext,
    id: &str,
    query: &PageQuery,
    error: Option<(&str, &str)>,
) -> Result<Response, Failure> {
    let table = app.table.as_ref();
    let store_id = &context.store.store_id;
    let product = own_product(table, store_id, id).await?;
    let (shops, csrf) = shops_and_csrf(app, context).await?;
    // The switcher stays on this product.
    let here = format!("/settings/products/{id}");
    let frame = frame(
        context,
        &shops,
        Section::Products,
        query.shop.as_deref(),
        &here,
        &query.confirmation,
    );
    let listing = match frame.current_shop() {
        Some(shop) => records::get_listing(table, store_id, &shop.shop_id, id).await?,
        None => records::Listing::new(id, ""),
    };
    let profiles = records::all_profiles(table, store_id).await?;
    let overrides = records::get_overrides(table, store_id, id).await?;
    let tiktok = match (frame.current_shop(), &listing.tiktok_product_id) {
        (Some(shop), Some(tiktok_id)) => Some(tiktok_side(app, shop, tiktok_id).await),
        _ => None,
    };
    let view = ProductView {
        product: &product,
        listing: &listing,
        profile: profile_for(&profiles, &product),
        overrides: &overrides,
        tiktok,
        error,
    };
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    Ok((status, pages::catalog::product(&frame, &view, &csrf)).into_response())
}

/// What TikTok has of a product now, or why it could not be read.
async fn tiktok_side(app: &App, shop: &ShopRecord, tiktok_id: &str) -> Result<TikTokSide, String> {
    let tiktok = &app.tiktok;
    let id = Id::from(tiktok_id);
    let found = with_shop(app, shop, |auth| async move { tiktok.get_product(&auth, &id).await })
        .await
        .map_err(|e| format!("TikTok could not be read: {e}"))?;
    let skus = found
        .skus
        .iter()
        .map(|sku| {
            let price = &sku.price;
            let amount = price["sale_price"]
                .as_str()
                .or(price["tax_exclusive_price"].as_str())
                .unwrap_or("—");
            let currency = price["currency"].as_str().unwrap_or("");
            let units = sku.inventory.iter().map(|w| i64::from(w.quantity)).sum();
            (sku.seller_sku.clone(), format!("{amount} {currency}"), units)
        })
        .collect();
    Ok(TikTokSide {
        title: found.title,
        status: found.status,
        skus,
    })
}

/// `POST /settings/products/{id}/{form}`: `overrides`, `upload`, `link`, `unlink`.
async fn product_form(
    State(app): State<Arc<App>>,
    context: SessionContext,
    Path((id, form)): Path<(String, String)>,
    Form(fields): Form<Fields>,
) -> Result<Response, Response> {
    let outcome = async {
        context.check_csrf(&app, field(&fields, "csrf"))?;
        let store_id = &context.store.store_id;
        own_product(app.table.as_ref(), store_id, &id).await?;
        let shop_id = text(&fields, "shop");
        let back = |done: &str| see_other(&format!("/settings/products/{id}?shop={shop_id}&done={done}"));
        let query = PageQuery {
            shop: Some(shop_id.clone()),
            confirmation: Confirmation::default(),
        };
        match form.as_str() {
            "overrides" => {
                context.require_owner()?;
                let overrides = match overrides_from_form(&fields) {
                    Ok(overrides) => overrides,
                    Err(e) => return product_page(&app, &context, &id, &query, Some((&e.field, &e.message))).await,
                };
                match apply_overrides(&app, store_id, &id, &overrides).await {
                    Ok(_) => Ok(back("overrides_saved")),
                    Err(Failure::BadRequest(message)) => {
                        product_page(&app, &context, &id, &query, Some(("title", &message))).await
                    }
                    Err(other) => Err(other),
                }
            }
            "upload" => {
                let shop = own_shop(&app, store_id, &shop_id).await?;
                let activity = sync::start_upload(&app, store_id, &shop.shop_id, std::slice::from_ref(&id)).await?;
                Ok(see_other(&format!(
                    "/settings/activities/{}?done=started&n=1",
                    activity.id
                )))
            }
            "link" => {
                let tiktok_id = text(&fields, "tiktok_product_id");
                match link(&app, &context, &shop_id, &id, &tiktok_id, None).await {
                    Ok(_) => Ok(back("linked")),
                    Err(Failure::BadRequest(message)) => {
                        product_page(&app, &context, &id, &query, Some(("tiktok_product_id", &message))).await
                    }
                    Err(other) => Err(other),
                }
            }
            "unlink" => {
                unlink_product(&app, store_id, &shop_id, &id).await?;
                Ok(back("unlinked"))
            }
            other => Err(Failure::NotFound(format!("There is no product form {other:?}."))),
        }
    };
    outcome.await.map_err(Failure::page)
}

/// The overrides a product form describes (empty fields: no override).
fn overrides_from_form(fields: &Fields) -> Result<Overrides, FormError> {
    let attributes = pairs(field(fields, "attributes").unwrap_or_default(), "attributes")?
        .into_iter()
        .map(|(attribute_id, value)| AttributeMapping {
            attribute_id,
            source: Source::Fixed(value),
        })
        .collect();
    Ok(Overrides {
        title: optional(fields, "title"),
        description: optional(fields, "description"),
        brand_id: optional(fields, "brand_id"),
        category_id: optional(fields, "category_id"),
        attributes,
        exclude_from_stock_sync: field(fields, "exclude_from_stock_sync") == Some("on"),
    })
}

#[derive(Debug, Default, Deserialize)]
struct ActivitiesQuery {
    after: Option<String>,
    #[serde(flatten)]
    page: PageQuery,
}

/// Activities per page of the activities screen.
const ACTIVITIES_PER_PAGE: usize = 50;

/// `GET /settings/activities`.
async fn activities(
    State(app): State<Arc<App>>,
    context: SessionContext,
    Query(query): Query<ActivitiesQuery>,
) -> Result<Response, Response> {
    let page = async {
        let (shops, _) = shops_and_csrf(&app, &context).await?;
        let (activities, next) = records::activities_page(
            app.table.as_ref(),
            &context.store.store_id,
            ACTIVITIES_PER_PAGE,
            query.after.clone(),
        )
        .await
        .map_err(|e| match e {
            crate::storage::StorageError::InvalidRequest(_) => Failure::NotFound("No such page of activities.".into()),
            other => other.into(),
        })?;
        let frame = frame(
            &context,
            &shops,
            Section::Activities,
            query.page.shop.as_deref(),
            "/settings/activities",
            &query.page.confirmation,
        );
        Ok::<_, Failure>(pages::activities::activities(&frame, &activities, next.as_deref()).into_response())
    };
    page.await.map_err(Failure::page)
}

async fn own_activity(app: &App, store_id: &str, id: &str) -> Result<records::Activity, Failure> {
    records::get_activity(app.table.as_ref(), store_id, id)
        .await?
        .ok_or_else(|| Failure::NotFound(format!("No activity {id}.")))
}

/// `GET /settings/activities/{id}`: 404 for another store's activity.
async fn activity(
    State(app): State<Arc<App>>,
    context: SessionContext,
    Path(id): Path<String>,
    Query(query): Query<PageQuery>,
) -> Result<Response, Response> {
    let page = async {
        let activity = own_activity(&app, &context.store.store_id, &id).await?;
        let (shops, _) = shops_and_csrf(&app, &context).await?;
        let shop_name = activity
            .shop_id
            .as_deref()
            .and_then(|id| shops.iter().find(|s| s.shop_id == id))
            .map(|s| s.name.clone());
        let here = format!("/settings/activities/{id}");
        let frame = frame(
            &context,
            &shops,
            Section::Activities,
            query.shop.as_deref(),
            &here,
            &query.confirmation,
        );
        Ok::<_, Failure>(pages::activities::activity(&frame, &activity, shop_name.as_deref()).into_response())
    };
    page.await.map_err(Failure::page)
}

/// `GET /settings/activities/{id}/progress` (htmx): the progress fragment alone.
async fn activity_progress(
    State(app): State<Arc<App>>,
    context: SessionContext,
    Path(id): Path<String>,
) -> Result<Markup, Response> {
    own_activity(&app, &context.store.store_id, &id)
        .await
        .map(|activity| pages::activities::progress(&activity, true))
        .map_err(Failure::page)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::{ConnectionMode, StoreRecord};
    use crate::rules::catalog::Rule;
    use crate::store::Platform;

    fn product(id: &str, name: &str) -> crate::store::Product {
        serde_json::from_value(serde_json::json!({
            "id": id, "name": name, "sku": format!("SKU-{id}"), "description": "", "price": "10",
            "sale_price": null, "brand_id": null, "categories": [], "weight": null, "dimensions": null,
            "inventory_tracking": "product", "inventory_level": 5, "is_visible": true, "upc": null,
            "images": [], "custom_fields": [], "variants": [], "date_modified": ""
        }))
        .unwrap()
    }

    fn titled(name: &str, priority: i32, contains: &str) -> Profile {
        Profile {
            priority,
            category_id: "1".into(),
            rules: vec![Rule {
                field: Field::Title,
                operator: Operator::Contains,
                value: contains.into(),
            }],
            ..blank_profile(name, false)
        }
    }

    fn fields(pairs: &[(&str, &str)]) -> Fields {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn the_live_count_of_an_edited_profile_puts_the_edits_in_place_of_its_saved_copy() {
        // GIVEN mugs (priority 10, saved) and a "blue" profile (priority 5); the blue mug
        // is the mugs profile's while its priority is higher
        let products = [
            product("1", "Blue mug"),
            product("2", "Red mug"),
            product("3", "Blue hat"),
        ];
        let mugs = titled("Mugs", 10, "mug");
        let blue = titled("Blue", 5, "blue");
        let saved = vec![mugs.clone(), blue];
        assert_eq!(covered_by(&mugs, saved.clone(), &products), (2, 3));
        // WHEN the editor lowers the mugs profile's priority below the blue one's
        let (edited, errors) = profile_from_form(
            &fields(&[
                ("name", "Mugs"),
                ("priority", "1"),
                ("category_id", "1"),
                ("group0.matching", "all"),
                ("group0.field0", "title"),
                ("group0.operator0", "contains"),
                ("group0.value0", "mug"),
            ]),
            &mugs,
        );
        assert!(errors.is_empty());
        // THEN the blue mug goes to the blue profile: the saved copy (priority 10) is
        // not counted against the edits
        assert_eq!(edited.id, mugs.id, "the edits keep the saved profile's id");
        assert_eq!(covered_by(&edited, saved, &products), (1, 3));
    }

    #[test]
    fn every_refused_value_of_the_profile_form_shows_next_to_its_field_and_the_edits_stay() {
        // GIVEN a form with a priority that is no number, no name, two stock values out
        // of range and a price rule that is no number
        let (profile, errors) = profile_from_form(
            &fields(&[
                ("name", ""),
                ("priority", "high"),
                ("category_id", "1"),
                ("own_inventory", "on"),
                ("inventory.threshold", "200000"),
                ("inventory.reserve", "-1"),
                ("inventory.untracked_quantity", "7"),
                ("adjustment", "percent"),
                ("amount", "lots"),
                ("brand_id", "42"),
            ]),
            &blank_profile("", false),
        );
        // THEN each is filed under its own field
        let names: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        for field in [
            "priority",
            "name",
            "inventory.threshold",
            "inventory.reserve",
            "price_rule",
        ] {
            assert!(names.contains(&field), "{field} in {names:?}");
        }
        assert!(!names.contains(&"inventory.untracked_quantity"), "{names:?}");
        let policy = profile.inventory.expect("the stock policy as typed");
        assert_eq!(
            (policy.threshold, policy.reserve, policy.untracked_quantity),
            (200_000, -1, 7)
        );
        assert_eq!(profile.brand_id.as_deref(), Some("42"), "the other edits stay");

        // AND the editor shows every message, each by its field, the inputs marked
        let store = StoreRecord::new("abc123", Platform::BigCommerce, ConnectionMode::App, 7);
        let confirmation = Confirmation::default();
        let frame = Frame {
            store: &store,
            shops: &[],
            section: Section::Profiles,
            shop: None,
            path: "/settings/profiles/new",
            confirmation: &confirmation,
            due: 0,
        };
        let errors: Vec<(String, String)> = errors.into_iter().map(|e| (e.field, e.message)).collect();
        let editor = ProfileEditor {
            profile: &profile,
            exists: false,
            picker: CategoryPicker {
                choices: &[],
                chosen: "1",
                recommended: None,
                query: "",
                error: None,
            },
            attributes: &[],
            rules: None,
            store_inventory: InventoryPolicy::default(),
            matches: (0, 0),
            errors: &errors,
        };
        let page = pages::catalog::profile_editor(&frame, &editor, "csrf").into_string();
        for (field, message) in &errors {
            let shown = format!("data-field=\"{field}\">{}", maud::html! { (message) }.into_string());
            assert!(page.contains(&shown), "{field}: {message} by its field in {page}");
        }
        // The rest of the input tag named `name`.
        let input = |name: &str| {
            let after = page.split(&format!("name=\"{name}\"")).nth(1).expect("the input");
            after.split('>').next().unwrap().to_string()
        };
        for name in ["priority", "inventory.threshold", "inventory.reserve", "name"] {
            assert!(input(name).contains("aria-invalid=\"true\""), "{name} marked invalid");
        }
        assert!(!input("inventory.untracked_quantity").contains("aria-invalid"));
    }

    /// A table that counts the partition reads (queries) and single-item reads made
    /// through it.
    struct Counting {
        inner: crate::storage::embedded::EmbeddedTable,
        queries: std::sync::atomic::AtomicUsize,
        gets: std::sync::atomic::AtomicUsize,
    }

    #[async_trait::async_trait]
    impl crate::storage::Table for Counting {
        async fn get(&self, pk: &str, sk: &str) -> Result<Option<crate::storage::Item>, crate::storage::StorageError> {
            self.gets.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            self.inner.get(pk, sk).await
        }
        async fn put(
            &self,
            item: crate::storage::Item,
            condition: crate::storage::Condition,
        ) -> Result<(), crate::storage::StorageError> {
            self.inner.put(item, condition).await
        }
        async fn delete(
            &self,
            pk: &str,
            sk: &str,
            condition: crate::storage::Condition,
        ) -> Result<(), crate::storage::StorageError> {
            self.inner.delete(pk, sk, condition).await
        }
        async fn query(
            &self,
            query: crate::storage::Query,
        ) -> Result<crate::storage::Page, crate::storage::StorageError> {
            self.queries.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            self.inner.query(query).await
        }
        async fn transact(&self, ops: Vec<crate::storage::WriteOp>) -> Result<(), crate::storage::StorageError> {
            self.inner.transact(ops).await
        }
        async fn replace(
            &self,
            item: crate::storage::Item,
        ) -> Result<Option<crate::storage::Item>, crate::storage::StorageError> {
            self.inner.replace(item).await
        }
    }

    #[tokio::test]
    async fn a_bulk_action_on_ticked_products_reads_only_those() {
        use std::sync::atomic::Ordering::SeqCst;
        // GIVEN a store of 30 products and another store's product 99
        let dir = tempfile::tempdir().unwrap();
        let table = Counting {
            inner: crate::storage::embedded::EmbeddedTable::open(dir.path()).unwrap(),
            queries: 0.into(),
            gets: 0.into(),
        };
        for id in 1..=30 {
            records::save_product(&table, "s1", &product(&id.to_string(), "Mug"))
                .await
                .unwrap();
        }
        records::save_product(&table, "s2", &product("99", "Hat"))
            .await
            .unwrap();
        let (queries, gets) = (table.queries.load(SeqCst), table.gets.load(SeqCst));
        // WHEN two of its products, one twice, and the other store's are ticked
        let ticked = fields(&[("product", "3"), ("product", "7"), ("product", "3"), ("product", "99")]);
        let chosen = ticked_products(&table, "s1", &ticked).await.unwrap();
        // THEN only those are read, one by one, and only the store's own are chosen
        assert_eq!(chosen, ["3", "7"]);
        assert_eq!(table.queries.load(SeqCst) - queries, 0, "no partition read");
        assert_eq!(table.gets.load(SeqCst) - gets, 3);
    }

    #[test]
    fn the_products_screen_says_the_bulk_cap_when_more_products_match() {
        let store = StoreRecord::new("abc123", Platform::BigCommerce, ConnectionMode::App, 7);
        let confirmation = Confirmation::default();
        let frame = Frame {
            store: &store,
            shops: &[],
            section: Section::Products,
            shop: None,
            path: "/settings/products",
            confirmation: &confirmation,
            due: 0,
        };
        let page = |matching: usize| {
            let browse = Browse {
                counts: Vec::new(),
                searched: matching,
                matching,
                rows: Vec::new(),
                page: 1,
                pages: 1,
            };
            pages::catalog::products(&frame, &browse, &ProductFilter::default(), &[], "csrf", None).into_string()
        };
        assert!(!page(MAX_SELECTION).contains("selection-cap"), "no note while all fit");
        let over = page(MAX_SELECTION + 500);
        let note = over.split("id=\"selection-cap\"").nth(1).expect("the cap is said");
        assert!(note.contains("at most 1000 products at a time"), "{note}");
        assert!(note.contains("act on all 1500"), "{note}");
    }
}
