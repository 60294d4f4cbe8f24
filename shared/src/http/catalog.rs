//! The catalogue part of the settings API: imports and their progress, profiles
//! (with "run query"), products with their listing status per shop, uploads and
//! manual stock syncs. Bound to the session's store like every settings call.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde::Deserialize;
use serde_json::json;

use super::{Failure, Route, SessionContext, csrf_header, own_shop};
use crate::accounts;
use crate::app::App;
use crate::catalog::records::{self, ListingStatus};
use crate::catalog::sync;
use crate::queue::JobError;
use crate::rules::catalog::{CertificationFile, Overrides, Profile, limits, profile_for};

pub(super) fn routes() -> Vec<Route> {
    vec![
        ("/settings/api/imports", post(start_import)),
        ("/settings/api/activities/{id}", get(activity)),
        ("/settings/api/profiles", get(list_profiles).post(create_profile)),
        ("/settings/api/profiles/query", post(run_query)),
        (
            "/settings/api/profiles/{id}",
            put(update_profile).delete(delete_profile),
        ),
        ("/settings/api/profiles/{id}/size-chart", put(put_size_chart)),
        (
            "/settings/api/profiles/{id}/certifications/{certification_id}",
            put(put_certification),
        ),
        ("/settings/api/products", get(products)),
        (
            "/settings/api/products/{id}/overrides",
            get(get_overrides).put(put_overrides),
        ),
        ("/settings/api/uploads", post(upload)),
        ("/settings/api/stock-sync", post(stock_sync)),
        ("/settings/api/price-sync", post(price_sync)),
        ("/settings/api/products/actions", post(bulk_action)),
        ("/settings/api/linking/auto", post(auto_link)),
        ("/settings/api/linking/manual", post(manual_link)),
        ("/settings/api/linking/unlink", post(unlink)),
        ("/settings/api/categories/recommend", post(recommend_category)),
    ]
}

impl From<JobError> for Failure {
    fn from(error: JobError) -> Self {
        match error {
            JobError::Storage(storage) => storage.into(),
            other => Failure::Upstream(other.to_string()),
        }
    }
}

#[derive(Deserialize, Default)]
struct ImportBody {
    /// Only products changed since (ISO-8601).
    since: Option<String>,
}

async fn start_import(
    State(app): State<Arc<App>>,
    context: SessionContext,
    headers: HeaderMap,
    body: Option<Json<ImportBody>>,
) -> Result<Response, Failure> {
    context.check_csrf(&app, csrf_header(&headers))?;
    let since = body.and_then(|Json(b)| b.since);
    let activity = sync::start_import(&app, &context.store.store_id, since).await?;
    Ok(Json(activity).into_response())
}

async fn activity(
    State(app): State<Arc<App>>,
    context: SessionContext,
    Path(id): Path<String>,
) -> Result<Response, Failure> {
    let found = records::get_activity(app.table.as_ref(), &context.store.store_id, &id).await?;
    found
        .map(|a| Json(a).into_response())
        .ok_or_else(|| Failure::NotFound(format!("No activity {id}.")))
}

async fn list_profiles(State(app): State<Arc<App>>, context: SessionContext) -> Result<Response, Failure> {
    Ok(Json(records::all_profiles(app.table.as_ref(), &context.store.store_id).await?).into_response())
}

/// Checks and saves a profile of the store (one default per store: saving a default
/// makes the others ordinary; a default keeps no rules).
pub(super) async fn store_profile(app: &App, store_id: &str, mut profile: Profile) -> Result<Profile, Failure> {
    if profile.category_id.trim().is_empty() {
        return Err(Failure::BadRequest("A profile needs a TikTok category.".into()));
    }
    profile.validate()?;
    let table = app.table.as_ref();
    if profile.is_default {
        for mut other in records::all_profiles(table, store_id)
            .await?
            .into_iter()
            .filter(|p| p.is_default && p.id != profile.id)
        {
            other.is_default = false;
            records::save_profile(table, store_id, &other).await?;
        }
        profile.rules.clear();
        profile.groups.clear();
    }
    records::save_profile(table, store_id, &profile).await?;
    Ok(profile)
}

async fn save(app: &App, context: &SessionContext, profile: Profile) -> Result<Response, Failure> {
    Ok(Json(store_profile(app, &context.store.store_id, profile).await?).into_response())
}

async fn create_profile(
    State(app): State<Arc<App>>,
    context: SessionContext,
    headers: HeaderMap,
    Json(mut profile): Json<Profile>,
) -> Result<Response, Failure> {
    context.require_owner()?;
    context.check_csrf(&app, csrf_header(&headers))?;
    profile.id = uuid::Uuid::new_v4().simple().to_string();
    save(&app, &context, profile).await
}

async fn update_profile(
    State(app): State<Arc<App>>,
    context: SessionContext,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(mut profile): Json<Profile>,
) -> Result<Response, Failure> {
    context.require_owner()?;
    context.check_csrf(&app, csrf_header(&headers))?;
    let profiles = records::all_profiles(app.table.as_ref(), &context.store.store_id).await?;
    if !profiles.iter().any(|p| p.id == id) {
        return Err(Failure::NotFound(format!("No profile {id}.")));
    }
    profile.id = id;
    save(&app, &context, profile).await
}

async fn delete_profile(
    State(app): State<Arc<App>>,
    context: SessionContext,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, Failure> {
    context.require_owner()?;
    context.check_csrf(&app, csrf_header(&headers))?;
    remove_profile(&app, &context.store.store_id, &id).await?;
    Ok(Json(json!({"deleted": id})).into_response())
}

/// Deletes a profile of the store, or 404.
pub(super) async fn remove_profile(app: &App, store_id: &str, id: &str) -> Result<(), Failure> {
    match records::delete_profile(app.table.as_ref(), store_id, id).await {
        Ok(()) => Ok(()),
        Err(crate::storage::StorageError::ConditionFailed { .. }) => {
            Err(Failure::NotFound(format!("No profile {id}.")))
        }
        Err(error) => Err(error.into()),
    }
}

/// "Run query": how many stored products a profile would cover.
async fn run_query(
    State(app): State<Arc<App>>,
    context: SessionContext,
    Json(profile): Json<Profile>,
) -> Result<Response, Failure> {
    let products = records::all_products(app.table.as_ref(), &context.store.store_id).await?;
    let count = products.iter().filter(|p| profile.matches(p)).count();
    Ok(Json(json!({"count": count, "of": products.len()})).into_response())
}

/// The most products one call may name (uploads, syncs, bulk actions); a larger
/// selection is sent in parts or as `all`.
pub const MAX_SELECTION: usize = 1000;
/// The most product rows one page of `GET /settings/api/products` holds.
pub const MAX_PAGE: usize = 250;

/// Refuses a selection longer than [`MAX_SELECTION`] with a readable error.
fn bounded(product_ids: &[String]) -> Result<(), Failure> {
    if product_ids.len() > MAX_SELECTION {
        return Err(Failure::BadRequest(format!(
            "{} products were chosen; choose at most {MAX_SELECTION} at a time, or all.",
            product_ids.len()
        )));
    }
    Ok(())
}

/// `?offset=&limit=` of the product list (limit 1 to [`MAX_PAGE`], default [`MAX_PAGE`]).
#[derive(Deserialize)]
struct PageQuery {
    #[serde(default)]
    offset: usize,
    limit: Option<usize>,
}

/// One page of the catalogue with each product's state per shop; the whole count is
/// in `X-Total-Count`.
async fn products(
    State(app): State<Arc<App>>,
    context: SessionContext,
    Query(page): Query<PageQuery>,
) -> Result<Response, Failure> {
    let limit = page.limit.unwrap_or(MAX_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(Failure::BadRequest(format!("limit must be between 1 and {MAX_PAGE}.")));
    }
    let table = app.table.as_ref();
    let store_id = &context.store.store_id;
    let all = records::all_products(table, store_id).await?;
    let total = all.len();
    let products: Vec<_> = all.into_iter().skip(page.offset).take(limit).collect();
    let profiles = records::all_profiles(table, store_id).await?;
    let shops = accounts::list_shops(table, store_id).await?;
    let mut listings = std::collections::HashMap::new();
    for shop in &shops {
        for listing in records::shop_listings(table, store_id, &shop.shop_id).await? {
            listings.insert((shop.shop_id.clone(), listing.product_id.clone()), listing);
        }
    }
    let rows: Vec<_> = products
        .iter()
        .map(|product| {
            let per_shop: Vec<_> = shops
                .iter()
                .map(|shop| {
                    let listing = listings.get(&(shop.shop_id.clone(), product.id.clone()));
                    json!({"shop_id": shop.shop_id, "status": listing.map_or(ListingStatus::NotUploaded, |l| l.status),
                           "tiktok_product_id": listing.and_then(|l| l.tiktok_product_id.clone()),
                           "reasons": listing.map(|l| l.reasons.clone()).unwrap_or_default(), "eta": listing.and_then(|l| l.eta)})
                })
                .collect();
            json!({"id": product.id, "name": product.name, "sku": product.sku, "variants": product.variants.len(),
                   "profile": profile_for(&profiles, product).map(|p| p.name.clone()), "listings": per_shop})
        })
        .collect();
    Ok(([("x-total-count", total.to_string())], Json(rows)).into_response())
}

#[derive(Deserialize)]
struct UploadBody {
    /// Shop to upload to.
    shop_id: String,
    /// These products…
    #[serde(default)]
    product_ids: Vec<String>,
    /// …or every product of this profile…
    profile_id: Option<String>,
    /// …or every product not uploaded yet (and not known to be invalid).
    #[serde(default)]
    all_ready: bool,
}

async fn upload(
    State(app): State<Arc<App>>,
    context: SessionContext,
    headers: HeaderMap,
    Json(body): Json<UploadBody>,
) -> Result<Response, Failure> {
    context.check_csrf(&app, csrf_header(&headers))?;
    bounded(&body.product_ids)?;
    let table = app.table.as_ref();
    let store_id = &context.store.store_id;
    if accounts::get_shop(table, store_id, &body.shop_id).await?.is_none() {
        return Err(Failure::NotFound(format!(
            "No TikTok shop {} is connected to this store.",
            body.shop_id
        )));
    }
    let products = records::all_products(table, store_id).await?;
    let profiles = records::all_profiles(table, store_id).await?;
    let mut chosen: Vec<String> = body
        .product_ids
        .iter()
        .filter(|id| products.iter().any(|p| &p.id == *id))
        .cloned()
        .collect();
    if let Some(profile_id) = &body.profile_id {
        chosen.extend(
            products
                .iter()
                .filter(|p| profile_for(&profiles, p).is_some_and(|f| &f.id == profile_id))
                .map(|p| p.id.clone()),
        );
    }
    if body.all_ready {
        let listings = records::shop_listings(table, store_id, &body.shop_id).await?;
        let settled = |id: &str| {
            listings
                .iter()
                .any(|l| l.product_id == id && l.status != ListingStatus::NotUploaded)
        };
        chosen.extend(products.iter().filter(|p| !settled(&p.id)).map(|p| p.id.clone()));
    }
    chosen.sort();
    chosen.dedup();
    let activity = sync::start_upload(&app, store_id, &body.shop_id, &chosen).await?;
    Ok(Json(json!({"queued": chosen.len(), "activity": activity})).into_response())
}

/// Which products a manual sync covers: a selection, or the whole catalogue.
#[derive(Deserialize)]
struct SyncBody {
    #[serde(default)]
    product_ids: Vec<String>,
    #[serde(default)]
    all: bool,
}

impl SyncBody {
    async fn products(self, app: &App, store_id: &str) -> Result<Vec<String>, Failure> {
        bounded(&self.product_ids)?;
        if !self.all {
            return Ok(self.product_ids);
        }
        let products = records::all_products(app.table.as_ref(), store_id).await?;
        Ok(products.into_iter().map(|p| p.id).collect())
    }
}

/// Manual price sync (single, bulk or global): Update Price for every live SKU.
async fn price_sync(
    State(app): State<Arc<App>>,
    context: SessionContext,
    headers: HeaderMap,
    Json(body): Json<SyncBody>,
) -> Result<Response, Failure> {
    context.check_csrf(&app, csrf_header(&headers))?;
    let store_id = &context.store.store_id;
    let products = body.products(&app, store_id).await?;
    let queued = sync::enqueue_price_syncs(&app, store_id, &products).await?;
    Ok(Json(json!({"queued": queued})).into_response())
}

/// Manual stock sync (single, bulk or global), coalesced like store stock webhooks.
async fn stock_sync(
    State(app): State<Arc<App>>,
    context: SessionContext,
    headers: HeaderMap,
    Json(body): Json<SyncBody>,
) -> Result<Response, Failure> {
    context.check_csrf(&app, csrf_header(&headers))?;
    let mut requested = 0;
    for product_id in &body.products(&app, &context.store.store_id).await? {
        if sync::request_stock_sync(&app, &context.store.store_id, product_id).await? {
            requested += 1;
        }
    }
    Ok(Json(json!({"requested": requested})).into_response())
}

#[derive(Deserialize)]
struct ActionBody {
    shop_id: String,
    action: sync::BulkAction,
    product_ids: Vec<String>,
}

async fn bulk_action(
    State(app): State<Arc<App>>,
    context: SessionContext,
    headers: HeaderMap,
    Json(body): Json<ActionBody>,
) -> Result<Response, Failure> {
    context.check_csrf(&app, csrf_header(&headers))?;
    bounded(&body.product_ids)?;
    let shop = own_shop(&app, &context.store.store_id, &body.shop_id).await?;
    let activity = sync::bulk_action(&app, &context.store, &shop, body.action, &body.product_ids).await?;
    Ok(Json(json!({"accepted": activity.done, "activity": activity})).into_response())
}

#[derive(Deserialize)]
struct ShopBody {
    shop_id: String,
}

/// Links the shop's existing TikTok products to store products by seller SKU.
async fn auto_link(
    State(app): State<Arc<App>>,
    context: SessionContext,
    headers: HeaderMap,
    Json(body): Json<ShopBody>,
) -> Result<Response, Failure> {
    context.check_csrf(&app, csrf_header(&headers))?;
    let shop = own_shop(&app, &context.store.store_id, &body.shop_id).await?;
    Ok(Json(sync::auto_link(&app, &context.store, &shop).await?).into_response())
}

/// Which profile file an upload is.
pub(super) enum ProfileFile {
    SizeChart,
    Certification(String),
}

/// Uploads a profile's size chart or certification image (the request body, an
/// image) to TikTok and keeps its uri on the profile.
async fn upload_profile_file(
    app: &App,
    context: &SessionContext,
    headers: &HeaderMap,
    profile_id: &str,
    file: ProfileFile,
    bytes: axum::body::Bytes,
) -> Result<Response, Failure> {
    context.require_owner()?;
    context.check_csrf(app, csrf_header(headers))?;
    let profile = store_profile_file(app, &context.store.store_id, profile_id, file, bytes).await?;
    Ok(Json(profile).into_response())
}

/// Sends a profile's size chart or certification (an image, or a PDF for
/// certifications) to TikTok and keeps its uri or file id on the profile; 404 for
/// another store's profile, 400 when the file is empty or TikTok refuses it.
pub(super) async fn store_profile_file(
    app: &App,
    store_id: &str,
    profile_id: &str,
    file: ProfileFile,
    bytes: axum::body::Bytes,
) -> Result<Profile, Failure> {
    let table = app.table.as_ref();
    let mut profile = records::all_profiles(table, store_id)
        .await?
        .into_iter()
        .find(|p| p.id == profile_id)
        .ok_or_else(|| Failure::NotFound(format!("No profile {profile_id}.")))?;
    if bytes.is_empty() {
        return Err(Failure::BadRequest(
            "The file is empty: choose an image (or a PDF for a certification).".into(),
        ));
    }
    // Media belong to the seller: any connected shop of the store can upload them.
    let shop = accounts::list_shops(table, store_id)
        .await?
        .into_iter()
        .find(|s| s.status == accounts::ShopStatus::Active)
        .ok_or_else(|| Failure::BadRequest("Connect a TikTok shop first.".into()))?;
    let refused = |e: crate::tiktok::TikTokError| Failure::BadRequest(format!("TikTok refused the file: {e}"));
    match file {
        // Certification documents are PDFs (Upload File); everything else is an image.
        ProfileFile::Certification(certification_id) if bytes.starts_with(b"%PDF") => {
            let name = format!("certification-{certification_id}.pdf");
            let uploaded = sync::upload_document(app, &shop, bytes.to_vec(), &name)
                .await?
                .map_err(refused)?;
            profile.certification_files.push(CertificationFile {
                certification_id,
                id: uploaded.id.to_string(),
                name,
            });
        }
        ProfileFile::Certification(certification_id) => {
            let uri = sync::upload_image_bytes(app, &shop, bytes.to_vec(), "certification", "CERTIFICATION_IMAGE")
                .await?
                .map_err(refused)?;
            match profile.certifications.iter_mut().find(|(c, _)| *c == certification_id) {
                Some((_, uris)) => uris.push(uri),
                None => profile.certifications.push((certification_id, vec![uri])),
            }
        }
        ProfileFile::SizeChart => {
            let uri = sync::upload_image_bytes(app, &shop, bytes.to_vec(), "size-chart", "SIZE_CHART_IMAGE")
                .await?
                .map_err(refused)?;
            profile.size_chart_uri = Some(uri);
        }
    }
    records::save_profile(table, store_id, &profile).await?;
    Ok(profile)
}

async fn put_size_chart(
    State(app): State<Arc<App>>,
    context: SessionContext,
    headers: HeaderMap,
    Path(id): Path<String>,
    bytes: axum::body::Bytes,
) -> Result<Response, Failure> {
    upload_profile_file(&app, &context, &headers, &id, ProfileFile::SizeChart, bytes).await
}

async fn put_certification(
    State(app): State<Arc<App>>,
    context: SessionContext,
    headers: HeaderMap,
    Path((id, certification_id)): Path<(String, String)>,
    bytes: axum::body::Bytes,
) -> Result<Response, Failure> {
    let file = ProfileFile::Certification(certification_id);
    upload_profile_file(&app, &context, &headers, &id, file, bytes).await
}

async fn get_overrides(
    State(app): State<Arc<App>>,
    context: SessionContext,
    Path(id): Path<String>,
) -> Result<Response, Failure> {
    let (table, store_id) = (app.table.as_ref(), &context.store.store_id);
    own_product(table, store_id, &id).await?;
    Ok(Json(records::get_overrides(table, store_id, &id).await?).into_response())
}

/// The session store's product, or 404 (also for another store's product).
pub(super) async fn own_product(
    table: &dyn crate::storage::Table,
    store_id: &str,
    id: &str,
) -> Result<crate::store::Product, Failure> {
    records::get_product(table, store_id, id)
        .await?
        .ok_or_else(|| Failure::NotFound(format!("No store product {id}.")))
}

/// Saves one product's overrides and re-lists it on every shop it is listed on.
async fn put_overrides(
    State(app): State<Arc<App>>,
    context: SessionContext,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(overrides): Json<Overrides>,
) -> Result<Response, Failure> {
    context.require_owner()?;
    context.check_csrf(&app, csrf_header(&headers))?;
    let queued = apply_overrides(&app, &context.store.store_id, &id, &overrides).await?;
    Ok(Json(json!({"overrides": overrides, "queued": queued})).into_response())
}

/// Checks and saves one product's overrides, then re-lists it on every shop it is
/// listed on; returns how many uploads were queued. 404 for another store's product.
pub(super) async fn apply_overrides(
    app: &App,
    store_id: &str,
    id: &str,
    overrides: &Overrides,
) -> Result<usize, Failure> {
    let table = app.table.as_ref();
    own_product(table, store_id, id).await?;
    if let Some(title) = &overrides.title
        && (title.trim().is_empty() || title.chars().count() > limits::TITLE)
    {
        return Err(Failure::BadRequest(format!(
            "The title must have 1 to {} characters.",
            limits::TITLE
        )));
    }
    records::save_overrides(table, store_id, id, overrides).await?;
    let mut queued = 0;
    for shop in accounts::list_shops(table, store_id).await? {
        let listing = records::get_listing(table, store_id, &shop.shop_id, id).await?;
        if listing.tiktok_product_id.is_some() {
            queued += sync::enqueue_uploads(app, store_id, &shop.shop_id, &[id.to_string()]).await?;
        }
    }
    Ok(queued)
}

#[derive(Deserialize)]
struct LinkBody {
    shop_id: String,
    product_id: String,
    tiktok_product_id: String,
    /// (store variant id, TikTok SKU id); matched by seller SKU when absent.
    skus: Option<Vec<(String, String)>>,
}

/// Links a store product to an existing TikTok product by hand (the *linking required* list).
async fn manual_link(
    State(app): State<Arc<App>>,
    context: SessionContext,
    headers: HeaderMap,
    Json(body): Json<LinkBody>,
) -> Result<Response, Failure> {
    context.check_csrf(&app, csrf_header(&headers))?;
    let listing = link(
        &app,
        &context,
        &body.shop_id,
        &body.product_id,
        &body.tiktok_product_id,
        body.skus,
    )
    .await?;
    Ok(Json(listing).into_response())
}

/// Links a store product to a TikTok product of one of the store's shops; refusals
/// (unknown product, already linked, SKUs that do not match) are 400 with the reason.
pub(super) async fn link(
    app: &App,
    context: &SessionContext,
    shop_id: &str,
    product_id: &str,
    tiktok_product_id: &str,
    skus: Option<Vec<(String, String)>>,
) -> Result<records::Listing, Failure> {
    let shop = own_shop(app, &context.store.store_id, shop_id).await?;
    match sync::link_manually(app, &context.store, &shop, product_id, tiktok_product_id, skus).await {
        Ok(listing) => Ok(listing),
        Err(sync::LinkError::Job(error)) => Err(error.into()),
        Err(refused) => Err(Failure::BadRequest(refused.to_string())),
    }
}

#[derive(Deserialize)]
struct UnlinkBody {
    shop_id: String,
    product_id: String,
}

/// Unlinks a store product from its TikTok product (TikTok's product is left as it is).
async fn unlink(
    State(app): State<Arc<App>>,
    context: SessionContext,
    headers: HeaderMap,
    Json(body): Json<UnlinkBody>,
) -> Result<Response, Failure> {
    context.check_csrf(&app, csrf_header(&headers))?;
    unlink_product(&app, &context.store.store_id, &body.shop_id, &body.product_id).await?;
    Ok(Json(json!({"unlinked": body.product_id})).into_response())
}

/// Unlinks a store product from its TikTok product on one of the store's shops
/// (TikTok's product is left as it is); 400 when it is not linked.
pub(super) async fn unlink_product(app: &App, store_id: &str, shop_id: &str, product_id: &str) -> Result<(), Failure> {
    let shop = own_shop(app, store_id, shop_id).await?;
    let listing = records::get_listing(app.table.as_ref(), store_id, &shop.shop_id, product_id).await?;
    if listing.tiktok_product_id.is_none() {
        return Err(Failure::BadRequest(format!(
            "Store product {product_id} is not linked on this shop."
        )));
    }
    records::unlink_listing(app.table.as_ref(), store_id, listing).await?;
    Ok(())
}

#[derive(Deserialize)]
struct RecommendBody {
    shop_id: String,
    title: String,
}

/// The TikTok category TikTok recommends for a product title (profile helper).
async fn recommend_category(
    State(app): State<Arc<App>>,
    context: SessionContext,
    Json(body): Json<RecommendBody>,
) -> Result<Response, Failure> {
    let shop = own_shop(&app, &context.store.store_id, &body.shop_id).await?;
    let tiktok = &app.tiktok;
    let title = body.title.clone();
    let recommended = crate::shops::with_shop(&app, &shop, |auth| async move {
        tiktok.recommend_category(&auth, &title).await
    })
    .await?;
    Ok(Json(recommended).into_response())
}
