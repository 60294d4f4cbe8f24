//! The catalogue jobs the product worker runs: import (full, since a date, or one
//! product from a store webhook), upload (validate, upload images once, create or
//! edit on TikTok, record the mappings), stock sync (coalesced per product) and
//! status sync from TikTok's product webhooks. TikTok's refusals end as readable
//! reasons on the listing; only temporary failures send the job back to the queue.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};
use std::time::Duration;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::records::{self, Activity, Listing, ListingStatus};
use crate::accounts::{self, ShopRecord, ShopStatus, StoreRecord};
use crate::app::App;
use crate::queue::{Job, JobError, JobKind};
use crate::rules::catalog::{
    CategorySpec, ListingContext, build_listing, check_main_image, profile_for, sellable_units, spread_stock,
};
use crate::shops::{ShopError, with_shop};
use crate::storage::idempotency::{self, Claim};
use crate::storage::unix_now;
use crate::store::{StorePlatform, Topic, Units};
use crate::tiktok::TikTokError;
use crate::tiktok::model::{Attribute, CategoryRules, ProductAction, SkuInventory, WarehouseStock};
use crate::tiktok::types::Id;

/// Payload of [`JobKind::ImportProducts`].
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ImportPayload {
    /// Activity to report progress to (full or date-range imports).
    pub activity_id: Option<String>,
    /// Only products changed since (ISO-8601).
    pub since: Option<String>,
    /// Next page.
    pub cursor: Option<String>,
    /// One product (from a store webhook) instead of pages.
    pub product_id: Option<String>,
    /// The webhook topic for one product.
    pub topic: Option<Topic>,
}

/// Payload of [`JobKind::UploadProduct`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UploadPayload {
    /// Shop.
    pub shop_id: String,
    /// Store product.
    pub product_id: String,
    /// Sent by a store change (the per-field sync rules apply), not by the merchant.
    #[serde(default)]
    pub automatic: bool,
    /// The activity that counts this upload (uploads the merchant started).
    #[serde(default)]
    pub activity_id: Option<String>,
}

/// Payload of [`JobKind::SyncStock`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StockPayload {
    /// Store product.
    pub product_id: String,
}

fn retry(error: impl std::fmt::Display) -> JobError {
    JobError::Retryable(error.to_string())
}

/// What a job or a listing says when a stored setting is out of range (one saved
/// before settings were checked): the setting, its range, and what to do.
pub(super) fn setting_reason(error: &crate::rules::catalog::SettingError) -> String {
    format!("The settings cannot be applied: {error}. Correct them, then press Retry.")
}

fn payload<T: for<'de> Deserialize<'de>>(job: &Job) -> Result<T, JobError> {
    serde_json::from_value(job.payload.clone()).map_err(|e| JobError::Malformed(e.to_string()))
}

/// Runs a catalogue job.
pub async fn handle(app: &App, job: Job) -> Result<(), JobError> {
    let Some(store) = accounts::get_store(app.table.as_ref(), &job.tenant).await? else {
        tracing::warn!(store = %job.tenant, "job for an unknown store dropped");
        return Ok(());
    };
    if store.status != accounts::StoreStatus::Installed {
        tracing::info!(store = %job.tenant, "store uninstalled; job skipped");
        return Ok(());
    }
    match job.kind {
        JobKind::ImportProducts => import(app, &store, payload(&job)?).await,
        JobKind::UploadProduct => {
            let request: UploadPayload = payload(&job)?;
            let status = upload(app, &store, &request, request.automatic).await?;
            count_upload(app, &store.store_id, &request, status).await
        }
        JobKind::SyncStock => sync_stock(app, &store, &payload::<StockPayload>(&job)?.product_id, None).await,
        JobKind::SyncPrice => sync_price(app, &store, &payload::<StockPayload>(&job)?.product_id).await,
        JobKind::ProductStatus => {
            product_status(app, &store, job.shop.as_deref().unwrap_or_default(), &job.payload).await
        }
        other => Err(JobError::NotImplemented(other)),
    }
}

/// Counts a finished upload in the activity that started it: failed when the listing
/// ended *Not ready* or refused (with its first reason), else done.
async fn count_upload(
    app: &App,
    store_id: &str,
    request: &UploadPayload,
    status: ListingStatus,
) -> Result<(), JobError> {
    let Some(activity_id) = &request.activity_id else {
        return Ok(());
    };
    let table = app.table.as_ref();
    let outcome = if matches!(status, ListingStatus::NotReady | ListingStatus::Failed) {
        let listing = records::get_listing(table, store_id, &request.shop_id, &request.product_id).await?;
        let reason = listing.reasons.join(" ");
        Err((request.product_id.clone(), reason))
    } else {
        Ok(())
    };
    records::count_in_activity(table, store_id, activity_id, outcome).await?;
    Ok(())
}

/// Starts a full (or since-a-date) import; returns its activity.
pub async fn start_import(app: &App, store_id: &str, since: Option<String>) -> Result<Activity, JobError> {
    let activity = Activity::start("import", None, None);
    records::save_activity(app.table.as_ref(), store_id, &activity).await?;
    let first = ImportPayload {
        activity_id: Some(activity.id.clone()),
        since,
        ..ImportPayload::default()
    };
    let job = Job::new(
        JobKind::ImportProducts,
        store_id,
        format!("import-{}-1", activity.id),
        serde_json::to_value(&first).expect("payload serializes"),
    );
    app.product_queue.send(&[job], Duration::ZERO).await?;
    Ok(activity)
}

async fn import(app: &App, store: &StoreRecord, request: ImportPayload) -> Result<(), JobError> {
    let platform = crate::platforms::open(app, store).map_err(retry)?;
    let platform = platform.as_ref();
    if let Some(product_id) = &request.product_id {
        return import_one(app, store, platform, product_id, request.topic).await;
    }
    let page = platform
        .products_changed_since(request.since.as_deref(), request.cursor.as_deref())
        .await?;
    for product in &page.products {
        records::save_product(app.table.as_ref(), &store.store_id, product).await?;
    }
    if let Some(activity_id) = &request.activity_id
        && let Some(mut activity) = records::get_activity(app.table.as_ref(), &store.store_id, activity_id).await?
    {
        activity.done += page.products.len() as u64;
        activity.total = page.total.or(activity.total);
        if page.next.is_none() {
            activity.finish();
            // A full import has read every product: set the counters to what is stored.
            if request.since.is_none() {
                let shops: Vec<String> = accounts::list_shops(app.table.as_ref(), &store.store_id)
                    .await?
                    .into_iter()
                    .map(|s| s.shop_id)
                    .collect();
                records::recount(app.table.as_ref(), &store.store_id, &shops).await?;
            }
        }
        records::save_activity(app.table.as_ref(), &store.store_id, &activity).await?;
    }
    // One page per job: a crash repeats one page, not the import.
    if let Some(next) = page.next {
        let following = ImportPayload {
            cursor: Some(next.clone()),
            ..request.clone()
        };
        let key = format!("import-{}-{next}", request.activity_id.as_deref().unwrap_or("adhoc"));
        let job = Job::new(
            JobKind::ImportProducts,
            &store.store_id,
            key,
            serde_json::to_value(&following).expect("payload serializes"),
        );
        app.product_queue.send(&[job], Duration::ZERO).await?;
    }
    Ok(())
}

/// A store webhook about one product: re-read it and apply the auto create/update/delete settings.
async fn import_one(
    app: &App,
    store: &StoreRecord,
    platform: &dyn StorePlatform,
    product_id: &str,
    topic: Option<Topic>,
) -> Result<(), JobError> {
    let table = app.table.as_ref();
    let shops = active_shops(app, &store.store_id).await?;
    let current = if topic == Some(Topic::ProductDeleted) {
        None
    } else {
        platform.product(product_id).await?
    };
    let Some(product) = current else {
        records::delete_product(table, &store.store_id, product_id).await?;
        for shop in &shops {
            let mut listing = records::get_listing(table, &store.store_id, &shop.shop_id, product_id).await?;
            if let (true, Some(tiktok_id)) = (store.settings.auto_delete, listing.tiktok_product_id.clone()) {
                let tiktok = &app.tiktok;
                tiktok_call(app, shop, |auth| async move {
                    tiktok
                        .product_action(&auth, ProductAction::Delete, &[Id::from(tiktok_id.as_str())])
                        .await
                })
                .await?
                .map_err(|e| retry(format!("TikTok delete: {e}")))?;
                listing.status = ListingStatus::Deleted;
                records::save_listing(table, &store.store_id, listing).await?;
            }
        }
        return Ok(());
    };
    let before = records::get_product(table, &store.store_id, product_id).await?;
    records::save_product(table, &store.store_id, &product).await?;
    // Only prices (or stock) changed: Update Price, not an edit that sends a live
    // product back to TikTok's review. Stock has its own webhook.
    let change = before.map(|before| ProductChange::between(&before, &product));
    let fields = store.settings.sync_fields;
    let mut uploads = Vec::new();
    for shop in &shops {
        let listing = records::get_listing(table, &store.store_id, &shop.shop_id, product_id).await?;
        let listed = listing.tiktok_product_id.is_some();
        let content_changed = change.is_none_or(|c| c.listing);
        if (listed && store.settings.auto_update && content_changed) || (!listed && store.settings.auto_create) {
            uploads.push(shop.shop_id.clone());
        }
    }
    for shop_id in uploads {
        queue_uploads(
            app,
            &store.store_id,
            &shop_id,
            std::slice::from_ref(&product.id),
            true,
            None,
        )
        .await?;
    }
    // New prices go out through Update Price unless an edit carries them (a full edit,
    // or a partial one with SKUs).
    let edit_carries_prices = change.is_some_and(|c| c.listing) && (fields.all() || fields.sends_skus());
    if change.is_some_and(|c| c.price) && store.settings.auto_update && fields.price && !edit_carries_prices {
        enqueue_price_syncs(app, &store.store_id, std::slice::from_ref(&product.id)).await?;
    }
    Ok(())
}

/// What a store product update changed, as far as TikTok is concerned (stock syncs on
/// its own webhook).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ProductChange {
    /// Anything but prices and stock: the listing is edited.
    listing: bool,
    /// Prices.
    price: bool,
}

impl ProductChange {
    fn between(before: &crate::store::Product, after: &crate::store::Product) -> Self {
        let without_stock = |product: &crate::store::Product| {
            let mut product = product.clone();
            product.inventory_level = 0;
            product.date_modified.clear();
            for variant in &mut product.variants {
                variant.inventory_level = None;
            }
            product
        };
        let without_prices = |mut product: crate::store::Product| {
            product.price = Decimal::ZERO;
            product.sale_price = None;
            for variant in &mut product.variants {
                variant.price = None;
            }
            product
        };
        let (before, after) = (without_stock(before), without_stock(after));
        Self {
            price: prices(&before) != prices(&after),
            listing: without_prices(before) != without_prices(after),
        }
    }
}

/// A product's prices (product, sale, per variant), to compare.
fn prices(product: &crate::store::Product) -> (Decimal, Option<Decimal>, Vec<Option<Decimal>>) {
    let variants = product.variants.iter().map(|v| v.price).collect();
    (product.price, product.sale_price, variants)
}

/// Queues a price sync of each product (manual single, bulk or global sync, or a
/// store price change); returns how many.
pub async fn enqueue_price_syncs(app: &App, store_id: &str, product_ids: &[String]) -> Result<usize, JobError> {
    let jobs: Vec<Job> = product_ids
        .iter()
        .map(|product_id| {
            let key = format!("price-{product_id}-{}", uuid::Uuid::new_v4().simple());
            let payload = serde_json::json!({ "product_id": product_id });
            Job::new(JobKind::SyncPrice, store_id, key, payload)
        })
        .collect();
    app.product_queue.send(&jobs, Duration::ZERO).await?;
    Ok(jobs.len())
}

/// Publishes a product's prices (price rule, conversion rate) to every shop where it
/// is live, with Update Price. A SKU whose price a TikTok promotion locks keeps its
/// price, and the listing says why; nothing is retried that cannot succeed.
async fn sync_price(app: &App, store: &StoreRecord, product_id: &str) -> Result<(), JobError> {
    let table = app.table.as_ref();
    let platform = crate::platforms::open(app, store).map_err(retry)?;
    let platform = platform.as_ref();
    let Some(product) = platform.product(product_id).await? else {
        return Ok(());
    };
    records::save_product(table, &store.store_id, &product).await?;
    let profiles = records::all_profiles(table, &store.store_id).await?;
    let Some(profile) = profile_for(&profiles, &product) else {
        return Ok(());
    };
    for shop in active_shops(app, &store.store_id).await? {
        let mut listing = records::get_listing(table, &store.store_id, &shop.shop_id, product_id).await?;
        let (Some(tiktok_id), ListingStatus::Live) = (listing.tiktok_product_id.clone(), listing.status) else {
            continue;
        };
        let rate = shop.conversion_rate.unwrap_or(Decimal::ONE);
        let prices = crate::rules::catalog::sku_prices(&product, profile, &listing.skus, &shop.currency, rate)
            .map_err(|e| {
                JobError::NeedsMerchant(format!(
                    "{e} Correct the price rule of the profile \"{}\", then press Retry.",
                    profile.name
                ))
            })?;
        if prices.is_empty() {
            continue;
        }
        let tiktok = &app.tiktok;
        let (tiktok_id, prices) = (Id::from(tiktok_id.as_str()), &prices);
        let outcome = tiktok_call(app, &shop, |auth| async move {
            tiktok.update_prices(&auth, &tiktok_id, prices).await
        })
        .await?;
        listing.reasons.retain(|r| !r.starts_with(PRICE_REASON));
        match outcome {
            Ok(()) => {}
            Err(error) if error.is_retryable() => return Err(retry(error)),
            Err(TikTokError::InvalidRequest { code: 12052038, message, .. }) => listing.reasons.push(format!(
                "{PRICE_REASON} not changed: {message}. TikTok keeps the promotion price; sync the price again after the promotion ends."
            )),
            Err(error) => listing.reasons.push(format!("{PRICE_REASON} refused by TikTok: {error}")),
        }
        records::save_listing(table, &store.store_id, listing).await?;
    }
    Ok(())
}

/// How reasons about prices start (a new sync replaces them).
const PRICE_REASON: &str = "Price";

async fn active_shops(app: &App, store_id: &str) -> Result<Vec<ShopRecord>, JobError> {
    Ok(accounts::list_shops(app.table.as_ref(), store_id)
        .await?
        .into_iter()
        .filter(|s| s.status == ShopStatus::Active)
        .collect())
}

/// Marks products Queued on a shop and sends one upload job each (no activity: the
/// uploads TikTok's daily limit held back).
pub async fn enqueue_uploads(
    app: &App,
    store_id: &str,
    shop_id: &str,
    product_ids: &[String],
) -> Result<usize, JobError> {
    queue_uploads(app, store_id, shop_id, product_ids, false, None).await
}

/// Starts the merchant's upload of `product_ids` to a shop: an `upload` activity that
/// counts each product as the workers finish it (failed with its reasons when it
/// ends *Not ready* or refused), and one queued job per product.
pub async fn start_upload(
    app: &App,
    store_id: &str,
    shop_id: &str,
    product_ids: &[String],
) -> Result<Activity, JobError> {
    let mut activity = Activity::start("upload", Some(shop_id), Some(product_ids.len() as u64));
    if product_ids.is_empty() {
        activity.finish();
    }
    records::save_activity(app.table.as_ref(), store_id, &activity).await?;
    queue_uploads(app, store_id, shop_id, product_ids, false, Some(&activity.id)).await?;
    Ok(activity)
}

async fn queue_uploads(
    app: &App,
    store_id: &str,
    shop_id: &str,
    product_ids: &[String],
    automatic: bool,
    activity_id: Option<&str>,
) -> Result<usize, JobError> {
    let mut jobs = Vec::new();
    for product_id in product_ids {
        let mut listing = records::get_listing(app.table.as_ref(), store_id, shop_id, product_id).await?;
        listing.status = ListingStatus::Queued;
        listing.eta = None;
        records::save_listing(app.table.as_ref(), store_id, listing).await?;
        let payload = UploadPayload {
            shop_id: shop_id.to_string(),
            product_id: product_id.clone(),
            automatic,
            activity_id: activity_id.map(str::to_string),
        };
        let key = format!("upload-{shop_id}-{product_id}-{}", uuid::Uuid::new_v4().simple());
        jobs.push(
            Job::new(
                JobKind::UploadProduct,
                store_id,
                key,
                serde_json::to_value(&payload).expect("payload serializes"),
            )
            .for_shop(shop_id),
        );
    }
    app.product_queue.send(&jobs, Duration::ZERO).await?;
    Ok(jobs.len())
}

/// Queues again the uploads TikTok's daily listing limit held back, once their ETA
/// (the next day) has come; returns how many. A refusal on the new day schedules the
/// upload for the day after, so no upload is ever dropped.
pub async fn release_scheduled(app: &App, now: i64) -> Result<usize, JobError> {
    let due = records::due_uploads(app.table.as_ref(), now).await?;
    for (store_id, shop_id, product_id) in &due {
        enqueue_uploads(app, store_id, shop_id, std::slice::from_ref(product_id)).await?;
    }
    Ok(due.len())
}

/// Runs a TikTok call for a shop; the outer error is ours (retry), the inner TikTok's.
async fn tiktok_call<T, F, Fut>(app: &App, shop: &ShopRecord, call: F) -> Result<Result<T, TikTokError>, JobError>
where
    F: FnOnce(crate::tiktok::ShopAuth) -> Fut,
    Fut: Future<Output = Result<T, TikTokError>>,
{
    match with_shop(app, shop, call).await {
        Ok(value) => Ok(Ok(value)),
        Err(ShopError::TikTok(error)) => Ok(Err(error)),
        Err(ShopError::Storage(error)) => Err(error.into()),
        Err(ShopError::NoTokens(shop)) => Err(retry(format!("shop {shop} has no tokens"))),
    }
}

/// Category attributes and rules, fetched once per process and category.
static CATEGORIES: LazyLock<Mutex<HashMap<(String, String), (Vec<Attribute>, CategoryRules)>>> =
    LazyLock::new(Mutex::default);

/// The category tree version of a shop: `v2` for US shops, `v1` elsewhere.
pub fn category_version(shop: &ShopRecord) -> &'static str {
    if shop.region == "US" { "v2" } else { "v1" }
}

async fn category(
    app: &App,
    shop: &ShopRecord,
    category_id: &str,
) -> Result<Result<(Vec<Attribute>, CategoryRules), TikTokError>, JobError> {
    let key = (shop.shop_id.clone(), category_id.to_string());
    if let Some(found) = CATEGORIES.lock().expect("category cache").get(&key) {
        return Ok(Ok(found.clone()));
    }
    let tiktok = &app.tiktok;
    let version = category_version(shop);
    let id = Id::from(category_id);
    let fetched = tiktok_call(app, shop, |auth| async move {
        let attributes = tiktok.category_attributes(&auth, &id, version).await?;
        let rules = tiktok.category_rules(&auth, &id, version).await?;
        Ok((attributes, rules))
    })
    .await?;
    if let Ok(found) = &fetched {
        CATEGORIES.lock().expect("category cache").insert(key, found.clone());
    }
    Ok(fetched)
}

/// What a TikTok refusal means for the listing.
fn refusal(listing: &mut Listing, error: TikTokError) -> Result<(), JobError> {
    match error {
        error if error.is_retryable() => return Err(retry(error)),
        TikTokError::TokenExpired { .. } => return Err(retry(error)),
        TikTokError::InvalidRequest { code: 12052093, .. } => {
            // The daily listing limit: try again after midnight UTC.
            let eta = (unix_now() / 86_400 + 1) * 86_400;
            listing.status = ListingStatus::Scheduled;
            listing.eta = Some(eta);
            listing.reasons =
                vec!["TikTok's daily listing limit was reached; the upload is scheduled for tomorrow.".into()];
        }
        TikTokError::InvalidRequest { code, message, .. } => {
            listing.status = ListingStatus::Failed;
            listing.reasons = vec![format!("TikTok refused the product: {message} (code {code}).")];
        }
        other => {
            listing.status = ListingStatus::Failed;
            listing.reasons = vec![format!("TikTok refused the request: {other}")];
        }
    }
    Ok(())
}

/// Uploads one product to one shop; returns the listing's new status.
pub async fn upload(
    app: &App,
    store: &StoreRecord,
    request: &UploadPayload,
    automatic: bool,
) -> Result<ListingStatus, JobError> {
    let (shop_id, product_id) = (request.shop_id.as_str(), request.product_id.as_str());
    let table = app.table.as_ref();
    let store_id = &store.store_id;
    let mut listing = records::get_listing(table, store_id, shop_id, product_id).await?;
    let not_ready = |mut listing: Listing, reasons: Vec<String>| async move {
        listing.status = ListingStatus::NotReady;
        listing.reasons = reasons;
        records::save_listing(table, store_id, listing).await?;
        Ok::<_, JobError>(ListingStatus::NotReady)
    };
    let Some(shop) = accounts::get_shop(table, store_id, shop_id).await? else {
        // Not a shop of this store (never connected here): nothing is written for it.
        tracing::warn!(store = %store_id, shop = shop_id, "upload for a shop this store never connected; dropped");
        return Ok(ListingStatus::NotReady);
    };
    if let Some(blocker) = shop.sync_blocker(&store.currency) {
        return not_ready(listing, vec![blocker]).await;
    }
    let Some(product) = records::get_product(table, store_id, product_id).await? else {
        return not_ready(listing, vec!["The product is not in the store anymore.".into()]).await;
    };
    let profiles = records::all_profiles(table, store_id).await?;
    let Some(profile) = profile_for(&profiles, &product) else {
        return not_ready(
            listing,
            vec!["No profile covers this product; create a default profile.".into()],
        )
        .await;
    };
    let overrides = records::get_overrides(table, store_id, product_id).await?;
    let (product, profile) = overrides.apply(&product, profile);
    let profile = &profile;
    if let Err(error) = profile.validate().and(store.settings.inventory.validate()) {
        return not_ready(listing, vec![setting_reason(&error)]).await;
    }
    listing.status = ListingStatus::Uploading;
    records::save_listing(table, store_id, listing.clone()).await?;

    let (attributes, rules) = match category(app, &shop, &profile.category_id).await? {
        Ok(spec) => spec,
        Err(error) => {
            refusal(&mut listing, error)?;
            records::save_listing(table, store_id, listing.clone()).await?;
            return Ok(listing.status);
        }
    };
    let mut uris = Vec::new();
    for image in product.images.iter().take(crate::rules::catalog::limits::IMAGES) {
        match upload_image(app, store_id, &shop, &image.url).await? {
            Ok(uri) => uris.push(uri),
            Err(reason) => return not_ready(listing, vec![reason]).await,
        }
    }
    let units = Units {
        weight: store.weight_units.clone(),
        dimension: store.dimension_units.clone(),
    };
    let spec = CategorySpec {
        attributes: &attributes,
        rules: &rules,
        category_version: category_version(&shop),
    };
    let warehouse = shop.default_warehouse_id.clone().unwrap_or_default();
    let context = ListingContext {
        currency: &shop.currency,
        rate: shop.conversion_rate.unwrap_or(Decimal::ONE),
        warehouse_id: &warehouse,
        units: &units,
        region: &shop.region,
        inventory: profile.inventory.unwrap_or(store.settings.inventory),
        image_uris: &uris,
        known_skus: &listing.skus,
        gtin: store.settings.gtin,
    };
    let mut request = match build_listing(&product, profile, &spec, &context) {
        Ok(request) => request,
        Err(reasons) => return not_ready(listing, reasons).await,
    };
    let tiktok = &app.tiktok;
    let existing = listing.tiktok_product_id.clone().map(|id| Id::from(id.as_str()));
    let fields = store.settings.sync_fields;
    // A store change may only touch the fields the merchant lets it: a partial edit.
    let partial = automatic && existing.is_some() && !fields.all();
    if partial {
        request = fields.restrict(request);
    }
    let written = match existing {
        // An edit goes back to review only when content changed: read where it stands.
        Some(tiktok_id) => {
            tiktok_call(app, &shop, |auth| async move {
                let written = if partial {
                    tiktok.partial_edit_product(&auth, &tiktok_id, &request).await?
                } else {
                    tiktok.edit_product(&auth, &tiktok_id, &request).await?
                };
                let product = tiktok.get_product(&auth, &tiktok_id).await?;
                Ok((written, listing_state(&product)))
            })
            .await?
        }
        None => {
            // A retried create returns the product the first attempt made.
            request.idempotency_key = Some(format!("{store_id}-{shop_id}-{product_id}"));
            let created = tiktok_call(app, &shop, |auth| async move {
                tiktok.create_product(&auth, &request).await
            })
            .await?;
            created.map(|written| (written, (ListingStatus::PendingReview, Vec::new())))
        }
    };
    match written {
        Ok((result, (status, state_reasons))) => {
            listing.tiktok_product_id = Some(result.product_id.to_string());
            listing.skus = result
                .skus
                .iter()
                .filter(|s| !s.external_sku_id.is_empty())
                .map(|s| (s.external_sku_id.clone(), s.id.to_string()))
                .collect();
            listing.status = status;
            listing.reasons = state_reasons;
            listing
                .reasons
                .extend(result.warnings.iter().map(|w| w.message.clone()));
            listing.eta = None;
        }
        Err(error) => refusal(&mut listing, error)?,
    }
    let status = listing.status;
    records::save_listing(table, store_id, listing).await?;
    if status == ListingStatus::Scheduled {
        crate::notices::listing_limit(table, store_id, shop_id).await?;
    }
    // Stock and price syncs skip a listing while it is queued and uploading.
    if status == ListingStatus::Live {
        publish_offer(app, store, product_id, None).await?;
    }
    Ok(status)
}

/// The TikTok uri of a store image, uploading it the first time only.
async fn upload_image(
    app: &App,
    store_id: &str,
    shop: &ShopRecord,
    url: &str,
) -> Result<Result<String, String>, JobError> {
    if let Some(uri) = records::cached_image(app.table.as_ref(), store_id, url).await? {
        return Ok(Ok(uri));
    }
    let downloaded = async { app.http.get(url).send().await?.error_for_status()?.bytes().await };
    let bytes = match downloaded.await {
        Ok(bytes) => bytes.to_vec(),
        Err(error) => {
            return Ok(Err(format!(
                "The image {url} could not be downloaded: {}.",
                error.without_url()
            )));
        }
    };
    if let Err(problem) = check_main_image(&bytes) {
        return Ok(Err(format!("{problem} Image: {url}")));
    }
    let name = url.rsplit('/').next().unwrap_or("image.jpg");
    match upload_image_bytes(app, shop, bytes, name, "MAIN_IMAGE").await? {
        Ok(uri) => {
            records::cache_image(app.table.as_ref(), store_id, url, &uri).await?;
            Ok(Ok(uri))
        }
        Err(error) => Ok(Err(format!("TikTok refused the image {url}: {error}"))),
    }
}

/// Uploads a document (a certification PDF) to TikTok; the inner error is TikTok's refusal.
pub async fn upload_document(
    app: &App,
    shop: &ShopRecord,
    bytes: Vec<u8>,
    name: &str,
) -> Result<Result<crate::tiktok::model::UploadedFile, TikTokError>, JobError> {
    let tiktok = &app.tiktok;
    let grant_auth = |auth: crate::tiktok::ShopAuth| async move { tiktok.upload_file(&auth.grant, bytes, name).await };
    match tiktok_call(app, shop, grant_auth).await? {
        Err(error) if error.is_retryable() => Err(retry(error)),
        outcome => Ok(outcome),
    }
}

/// Uploads image bytes to TikTok for `use_case` (`MAIN_IMAGE`, `SIZE_CHART_IMAGE`,
/// `CERTIFICATION_IMAGE`, …); the inner error is TikTok's refusal.
pub async fn upload_image_bytes(
    app: &App,
    shop: &ShopRecord,
    bytes: Vec<u8>,
    name: &str,
    use_case: &str,
) -> Result<Result<String, TikTokError>, JobError> {
    let tiktok = &app.tiktok;
    let grant_auth =
        |auth: crate::tiktok::ShopAuth| async move { tiktok.upload_image(&auth.grant, bytes, name, use_case).await };
    match tiktok_call(app, shop, grant_auth).await? {
        Ok(image) => Ok(Ok(image.uri)),
        Err(error) if error.is_retryable() => Err(retry(error)),
        Err(error) => Ok(Err(error)),
    }
}

/// How long a burst's later stock changes gather before their sync: a change within
/// this long of the product's previous change is part of a burst.
const BURST_WINDOW: Duration = Duration::from_secs(1);

/// Asks for a stock sync of a product; changes arriving while one is pending
/// coalesce into it (one TikTok call for many store changes). The window is sized to
/// the burst: a change to a product whose stock was quiet for [`BURST_WINDOW`] syncs
/// at once (a sale reaches TikTok in one round trip); a change within the window of
/// the previous one waits for it, so a burst costs a sync for its first change and
/// one per window while it lasts. Every change marks the product (one table write).
pub async fn request_stock_sync(app: &App, store_id: &str, product_id: &str) -> Result<bool, JobError> {
    let key = format!("{store_id}/{product_id}");
    let burst = changed_within_window(app.table.as_ref(), &key).await?;
    let claim = idempotency::claim(
        app.table.as_ref(),
        "stock-pending",
        &key,
        Duration::from_secs(30),
        Duration::from_secs(300),
    )
    .await?;
    if claim != Claim::Acquired {
        return Ok(false);
    }
    let payload = serde_json::to_value(StockPayload {
        product_id: product_id.to_string(),
    })
    .expect("payload serializes");
    let job = Job::new(
        JobKind::SyncStock,
        store_id,
        format!("stock-{key}-{}", uuid::Uuid::new_v4().simple()),
        payload,
    );
    let delay = if burst { BURST_WINDOW } else { Duration::ZERO };
    app.product_queue.send(&[job], delay).await?;
    Ok(true)
}

/// Notes a stock change of `key` (`<store>/<product>`) now and says whether the
/// product's previous change was within [`BURST_WINDOW`]. Errors: the table's.
async fn changed_within_window(table: &dyn crate::storage::Table, key: &str) -> Result<bool, JobError> {
    let now_ms = jiff::Timestamp::now().as_millisecond();
    let mark = crate::storage::Item::new(
        format!("STOCKCHANGE#{key}"),
        "LAST",
        serde_json::json!({"at_ms": now_ms}),
    )
    .with_expiry(now_ms / 1000 + 60);
    let previous = table.replace(mark).await?;
    let previous_ms = previous.and_then(|item| item.data["at_ms"].as_i64());
    Ok(previous_ms.is_some_and(|at| now_ms - at < BURST_WINDOW.as_millis() as i64))
}

/// Publishes a product's current store stock to every shop where it is live, to
/// every warehouse of each SKU. `read` is the TikTok product when Get Product was just
/// called for it (its SKUs' warehouses are not read again).
async fn sync_stock(
    app: &App,
    store: &StoreRecord,
    product_id: &str,
    read: Option<&crate::tiktok::model::Product>,
) -> Result<(), JobError> {
    let table = app.table.as_ref();
    // Released first: a change after the read below asks for a new sync.
    idempotency::release(table, "stock-pending", &format!("{}/{product_id}", store.store_id)).await?;
    let platform = crate::platforms::open(app, store).map_err(retry)?;
    let platform = platform.as_ref();
    let Some(product) = platform.product(product_id).await? else {
        return Ok(());
    };
    records::save_product(table, &store.store_id, &product).await?;
    let profiles = records::all_profiles(table, &store.store_id).await?;
    let policy = crate::rules::catalog::policy_for(&profiles, &product, store.settings.inventory);
    policy
        .validate()
        .map_err(|e| JobError::NeedsMerchant(setting_reason(&e)))?;
    if records::get_overrides(table, &store.store_id, product_id)
        .await?
        .exclude_from_stock_sync
    {
        tracing::info!(
            product = product_id,
            "stock not synced: the merchant excluded this product"
        );
        return Ok(());
    }
    let variant_ids: Vec<String> = product.variants.iter().map(|v| v.id.clone()).collect();
    let sellable: HashMap<String, i64> = platform
        .variant_stock(&variant_ids)
        .await?
        .into_iter()
        .map(|s| (s.variant_id, s.available))
        .collect();
    for shop in active_shops(app, &store.store_id).await? {
        let mut listing = records::get_listing(table, &store.store_id, &shop.shop_id, product_id).await?;
        let Some(tiktok_id) = listing.tiktok_product_id.clone() else {
            continue;
        };
        let available: Vec<Option<i64>> = listing
            .skus
            .iter()
            .filter_map(|(variant_id, _)| product.variants.iter().find(|v| &v.id == variant_id))
            .map(|variant| sellable_units(&product, variant, &sellable))
            .collect();
        let deactivates = policy.deactivates(&available);
        let held = listing.reasons.iter().any(|r| r.starts_with(THRESHOLD_REASON));
        match listing.status {
            ListingStatus::Live if deactivates => {
                threshold_action(app, store, &shop, listing, true, policy.threshold).await?;
                continue;
            }
            ListingStatus::Inactive if held && !deactivates => {
                threshold_action(app, store, &shop, listing, false, policy.threshold).await?;
                continue;
            }
            ListingStatus::Live => {}
            _ => continue,
        }
        let tiktok = &app.tiktok;
        let tiktok_id = Id::from(tiktok_id.as_str());
        let stocked = match warehouses_of_skus(app, &shop, &tiktok_id, read).await? {
            Ok(stocked) => stocked,
            Err(error) => return Err(retry(error)),
        };
        let target = Id::from(shop.default_warehouse_id.as_deref().unwrap_or_default());
        let skus: Vec<SkuInventory> = listing
            .skus
            .iter()
            .filter_map(|(variant_id, sku_id)| {
                let variant = product.variants.iter().find(|v| &v.id == variant_id)?;
                let total = policy.publish(sellable_units(&product, variant, &sellable));
                let held = stocked.get(sku_id).map_or(&[][..], Vec::as_slice);
                Some(SkuInventory {
                    id: Id::from(sku_id.as_str()),
                    inventory: spread_stock(total, held, &target),
                })
            })
            .collect();
        if skus.is_empty() {
            continue;
        }
        let tiktok_id = &tiktok_id;
        let refusals: Vec<String> = match tiktok_call(app, &shop, |auth| async move {
            tiktok.update_inventory(&auth, tiktok_id, &skus).await
        })
        .await?
        {
            Ok(errors) => errors
                .iter()
                .map(|e| {
                    format!(
                        "{STOCK_REASON} of SKU {} was refused: {} (code {}).",
                        e.detail["sku_id"].as_str().unwrap_or("?"),
                        e.message,
                        e.code
                    )
                })
                .collect(),
            Err(error) if error.is_retryable() => return Err(retry(error)),
            Err(error) => vec![format!("{STOCK_REASON} update refused by TikTok: {error}")],
        };
        // A new sync replaces the stock reasons and keeps the others (an edit's review, prices).
        let before = listing.reasons.clone();
        listing.reasons.retain(|r| !r.starts_with(STOCK_REASON));
        listing.reasons.extend(refusals);
        if listing.reasons != before {
            records::save_listing(table, &store.store_id, listing).await?;
        }
    }
    Ok(())
}

/// How reasons about stock start (a new sync replaces them).
const STOCK_REASON: &str = "Stock";

/// Every warehouse each SKU of a TikTok product is stocked in, with the quantities
/// TikTok holds (Get Product's `skus[].inventory`), by SKU id: from `read` when it is
/// that product, else read. A shop with one sales warehouse needs no read: its SKUs
/// can only be there (empty map).
async fn warehouses_of_skus(
    app: &App,
    shop: &ShopRecord,
    tiktok_id: &Id,
    read: Option<&crate::tiktok::model::Product>,
) -> Result<Result<HashMap<String, Vec<WarehouseStock>>, TikTokError>, JobError> {
    let by_sku = |product: &crate::tiktok::model::Product| {
        product
            .skus
            .iter()
            .map(|sku| (sku.id.to_string(), sku.inventory.clone()))
            .collect()
    };
    if shop.warehouses.len() <= 1 {
        return Ok(Ok(HashMap::new()));
    }
    if let Some(product) = read.filter(|p| p.id == *tiktok_id) {
        return Ok(Ok(by_sku(product)));
    }
    let tiktok = &app.tiktok;
    let product = tiktok_call(
        app,
        shop,
        |auth| async move { tiktok.get_product(&auth, tiktok_id).await },
    )
    .await?;
    Ok(product.map(|product| by_sku(&product)))
}

/// How the reason of a threshold deactivation starts (to know it when stock returns).
const THRESHOLD_REASON: &str = "Deactivated on TikTok: stock is at or below";

/// Deactivates a live product whose stock fell to the threshold, or activates again
/// one the threshold deactivated (it goes through TikTok's review again).
async fn threshold_action(
    app: &App,
    store: &StoreRecord,
    shop: &ShopRecord,
    mut listing: Listing,
    deactivate: bool,
    threshold: i64,
) -> Result<(), JobError> {
    let tiktok = &app.tiktok;
    let ids = [Id::from(listing.tiktok_product_id.as_deref().unwrap_or_default())];
    let action = if deactivate {
        ProductAction::Deactivate
    } else {
        ProductAction::Activate
    };
    let ids = &ids;
    let errors = tiktok_call(app, shop, |auth| async move {
        tiktok.product_action(&auth, action, ids).await
    })
    .await?
    .map_err(retry)?;
    match errors.first() {
        Some(error) => listing.reasons.push(format!(
            "TikTok refused to {} the product: {} (code {}).",
            if deactivate { "deactivate" } else { "activate" },
            error.message,
            error.code
        )),
        None if deactivate => {
            listing.status = ListingStatus::Inactive;
            listing.reasons = vec![format!(
                "{THRESHOLD_REASON} the threshold ({threshold}); it is activated again when stock returns."
            )];
        }
        None => {
            listing.status = ListingStatus::PendingReview;
            listing.reasons.clear();
        }
    }
    records::save_listing(app.table.as_ref(), &store.store_id, listing).await?;
    Ok(())
}

/// Listing status of a TikTok product status.
pub fn status_of(tiktok_status: &str) -> ListingStatus {
    match tiktok_status {
        "ACTIVATE" => ListingStatus::Live,
        "FAILED" => ListingStatus::Failed,
        "SELLER_DEACTIVATED" | "PLATFORM_DEACTIVATED" | "FREEZE" => ListingStatus::Inactive,
        "DELETED" => ListingStatus::Deleted,
        _ => ListingStatus::PendingReview,
    }
}

/// TikTok says a product changed status: re-read it and update the listing; a product
/// that just went live gets its current stock.
async fn product_status(
    app: &App,
    store: &StoreRecord,
    shop_id: &str,
    payload: &serde_json::Value,
) -> Result<(), JobError> {
    let table = app.table.as_ref();
    let data = &payload["data"];
    let tiktok_id = match &data["product_id"] {
        serde_json::Value::Number(n) => n.to_string(),
        serde_json::Value::String(s) => s.clone(),
        _ => return Err(JobError::Malformed("product status without product_id".into())),
    };
    let Some(mut listing) = records::listing_by_tiktok_product(table, &store.store_id, shop_id, &tiktok_id).await?
    else {
        tracing::info!(shop = shop_id, product = %tiktok_id, "status of a product the connector did not upload; ignored");
        return Ok(());
    };
    let Some(shop) = accounts::get_shop(table, &store.store_id, shop_id).await? else {
        return Ok(());
    };
    let tiktok = &app.tiktok;
    let id = Id::from(tiktok_id.as_str());
    let product = match tiktok_call(app, &shop, |auth| async move { tiktok.get_product(&auth, &id).await }).await? {
        Ok(product) => product,
        Err(error) if error.is_retryable() => return Err(retry(error)),
        Err(error) => return Err(JobError::Retryable(format!("product status read failed: {error}"))),
    };
    let was_live = listing.status == ListingStatus::Live;
    (listing.status, listing.reasons) = listing_state(&product);
    let now_live = listing.status == ListingStatus::Live;
    // PRODUCT_AUDIT_STATUS_CHANGE (type 37) with the review over: an edit's review ended.
    let review_ended = payload["topic"] == 37 && product.audit.status != "AUDITING";
    let product_id = listing.product_id.clone();
    records::save_listing(table, &store.store_id, listing).await?;
    if now_live && (!was_live || review_ended) {
        publish_offer(app, store, &product_id, Some(&product)).await?;
    }
    Ok(())
}

/// Sends a product's stock, and its price unless the merchant keeps store prices off
/// TikTok (sync rules), as the store holds them now (inventory policy, price rule) to
/// every shop where it is live. Called when a listing becomes live or an edit's
/// review ends: changes made meanwhile were not sent (TikTok takes neither before
/// the product is live, the connector none while it uploads) or were overwritten by
/// the approved version. `read` is the TikTok product when Get Product was just called.
async fn publish_offer(
    app: &App,
    store: &StoreRecord,
    product_id: &str,
    read: Option<&crate::tiktok::model::Product>,
) -> Result<(), JobError> {
    sync_stock(app, store, product_id, read).await?;
    if store.settings.sync_fields.price {
        sync_price(app, store, product_id).await?;
    }
    Ok(())
}

/// The reason of a live listing whose edit is in TikTok's review.
const EDIT_IN_REVIEW: &str = "An edit is in TikTok's review; the previous version stays live until it passes.";

/// How the reason of a live listing whose last edit TikTok rejected starts.
const EDIT_REJECTED: &str = "TikTok rejected the last edit; the previous version stays live.";

/// The listing status and reasons of a product as Get Product shows it. A live
/// product whose edit is in review, or whose edit TikTok rejected, stays live
/// (buyers see the previous version); the reason says so, with TikTok's audit reasons.
fn listing_state(product: &crate::tiktok::model::Product) -> (ListingStatus, Vec<String>) {
    let status = status_of(&product.status);
    let audit_reasons: Vec<String> = product
        .audit_failed_reasons
        .iter()
        .flat_map(|r| r.reasons.iter().map(move |reason| format!("{}: {reason}", r.position)))
        .collect();
    let reasons = match (status, product.audit.status.as_str()) {
        (ListingStatus::Live, "AUDITING") => vec![EDIT_IN_REVIEW.to_string()],
        (ListingStatus::Live, "FAILED") => {
            vec![
                format!("{EDIT_REJECTED} {}", audit_reasons.join("; "))
                    .trim_end()
                    .to_string(),
            ]
        }
        _ => audit_reasons,
    };
    (status, reasons)
}

/// Queues a status read of each listed product (the same job a product webhook makes).
async fn enqueue_status_syncs(
    app: &App,
    store_id: &str,
    shop_id: &str,
    listings: &[Listing],
) -> Result<usize, JobError> {
    let jobs: Vec<Job> = listings
        .iter()
        .filter_map(|l| l.tiktok_product_id.as_deref())
        .map(|tiktok_id| {
            let payload = serde_json::json!({"type": "status_sync", "data": {"product_id": tiktok_id}});
            let key = format!("status-{shop_id}-{tiktok_id}-{}", uuid::Uuid::new_v4().simple());
            Job::new(JobKind::ProductStatus, store_id, key, payload).for_shop(shop_id)
        })
        .collect();
    app.product_queue.send(&jobs, Duration::ZERO).await?;
    Ok(jobs.len())
}

/// Why a manual link cannot be made, in words for the merchant.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// TikTok does not know the product in this shop.
    #[error("TikTok product {0} does not exist in this shop.")]
    UnknownTikTokProduct(String),
    /// The store product is not imported.
    #[error("Store product {0} is not imported.")]
    UnknownStoreProduct(String),
    /// Another store product is linked to it already.
    #[error("TikTok product {tiktok} is already linked to store product {linked}; unlink it first.")]
    AlreadyLinked { tiktok: String, linked: String },
    /// No variant matches a TikTok SKU.
    #[error("No TikTok SKU matches the seller SKU of store variant {0}; give the pairs by hand.")]
    UnmatchedVariant(String),
    /// A given SKU is not one of the TikTok product's.
    #[error("SKU {0} is not a SKU of that TikTok product.")]
    UnknownSku(String),
    /// The job-level failure underneath.
    #[error(transparent)]
    Job(#[from] JobError),
}

/// Links a store product to an existing TikTok product by hand. Without `pairs`
/// ((store variant id, TikTok SKU id)), variants are matched by seller SKU, and every
/// variant must match.
pub async fn link_manually(
    app: &App,
    store: &StoreRecord,
    shop: &ShopRecord,
    product_id: &str,
    tiktok_product_id: &str,
    pairs: Option<Vec<(String, String)>>,
) -> Result<Listing, LinkError> {
    let table = app.table.as_ref();
    let product = records::get_product(table, &store.store_id, product_id)
        .await
        .map_err(JobError::from)?
        .ok_or_else(|| LinkError::UnknownStoreProduct(product_id.to_string()))?;
    let linked_elsewhere = records::listing_by_tiktok_product(table, &store.store_id, &shop.shop_id, tiktok_product_id)
        .await
        .map_err(JobError::from)?
        .map(|listing| listing.product_id)
        .filter(|linked| linked != product_id);
    if let Some(linked) = linked_elsewhere {
        return Err(LinkError::AlreadyLinked {
            tiktok: tiktok_product_id.to_string(),
            linked,
        });
    }
    let tiktok = &app.tiktok;
    let id = Id::from(tiktok_product_id);
    let tiktok_product =
        match tiktok_call(app, shop, |auth| async move { tiktok.get_product(&auth, &id).await }).await? {
            Ok(found) => found,
            Err(error) if error.is_retryable() => return Err(retry(error).into()),
            Err(_) => return Err(LinkError::UnknownTikTokProduct(tiktok_product_id.to_string())),
        };
    let skus = match pairs {
        Some(pairs) => {
            if let Some((_, unknown)) = pairs
                .iter()
                .find(|(_, sku)| !tiktok_product.skus.iter().any(|s| s.id.as_str() == sku))
            {
                return Err(LinkError::UnknownSku(unknown.clone()));
            }
            pairs
        }
        None => product
            .variants
            .iter()
            .map(|variant| {
                let seller_sku = crate::rules::catalog::seller_sku(&product, variant);
                tiktok_product
                    .skus
                    .iter()
                    .find(|s| s.seller_sku == seller_sku)
                    .map(|s| (variant.id.clone(), s.id.to_string()))
                    .ok_or_else(|| LinkError::UnmatchedVariant(variant.id.clone()))
            })
            .collect::<Result<_, _>>()?,
    };
    let mut listing = records::get_listing(table, &store.store_id, &shop.shop_id, product_id)
        .await
        .map_err(JobError::from)?;
    listing.tiktok_product_id = Some(tiktok_product_id.to_string());
    listing.skus = skus;
    listing.status = status_of(&tiktok_product.status);
    listing.reasons.clear();
    records::save_listing(table, &store.store_id, listing.clone())
        .await
        .map_err(JobError::from)?;
    Ok(listing)
}

/// What auto-linking found.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct LinkReport {
    /// Store products now linked to a TikTok product.
    pub linked: usize,
    /// TikTok products no store SKU matches: they need manual linking.
    pub linking_required: Vec<(String, String)>,
}

/// Links the shop's existing TikTok products to store products by seller SKU.
pub async fn auto_link(app: &App, store: &StoreRecord, shop: &ShopRecord) -> Result<LinkReport, JobError> {
    let table = app.table.as_ref();
    let products = records::all_products(table, &store.store_id).await?;
    let by_sku: HashMap<&str, (&str, &str)> = products
        .iter()
        .flat_map(|p| {
            p.variants
                .iter()
                .filter(|v| !v.sku.is_empty())
                .map(move |v| (v.sku.as_str(), (p.id.as_str(), v.id.as_str())))
        })
        .collect();
    let tiktok = &app.tiktok;
    let mut report = LinkReport::default();
    let mut token: Option<String> = None;
    loop {
        let page_token = token.clone();
        let filter = crate::tiktok::model::ProductSearch::default();
        let page = tiktok_call(app, shop, |auth| async move {
            tiktok.search_products(&auth, &filter, 100, page_token.as_deref()).await
        })
        .await?
        .map_err(retry)?;
        for product in page.items {
            let matched: Vec<(&str, String, &str)> = product
                .skus
                .iter()
                .filter_map(|sku| {
                    by_sku
                        .get(sku.seller_sku.as_str())
                        .map(|(product_id, variant_id)| (*product_id, sku.id.to_string(), *variant_id))
                })
                .collect();
            let Some((product_id, ..)) = matched.first() else {
                report
                    .linking_required
                    .push((product.id.to_string(), product.title.clone()));
                continue;
            };
            let mut listing = records::get_listing(table, &store.store_id, &shop.shop_id, product_id).await?;
            if listing
                .tiktok_product_id
                .as_deref()
                .is_some_and(|id| id != product.id.as_str())
            {
                report
                    .linking_required
                    .push((product.id.to_string(), product.title.clone()));
                continue;
            }
            listing.tiktok_product_id = Some(product.id.to_string());
            listing.skus = matched
                .iter()
                .filter(|(p, ..)| p == product_id)
                .map(|(_, sku, variant)| (variant.to_string(), sku.clone()))
                .collect();
            listing.status = status_of(&product.status);
            listing.reasons.clear();
            records::save_listing(table, &store.store_id, listing).await?;
            report.linked += 1;
        }
        match page.next_page_token {
            Some(next) => token = Some(next),
            None => return Ok(report),
        }
    }
}

/// A bulk status action on TikTok products.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BulkAction {
    /// Activate (back to review, then live).
    Activate,
    /// Deactivate (hidden).
    Deactivate,
    /// Delete.
    Delete,
    /// Recover deleted products (as inactive).
    Recover,
    /// Re-read the products' status and audit reasons from TikTok.
    SyncStatus,
}

impl BulkAction {
    /// The activity kind it starts (`activate`, `sync_status`, …).
    pub fn key(self) -> &'static str {
        match self {
            BulkAction::Activate => "activate",
            BulkAction::Deactivate => "deactivate",
            BulkAction::Delete => "delete",
            BulkAction::Recover => "recover",
            BulkAction::SyncStatus => "sync_status",
        }
    }
}

/// Applies `action` to products of a shop (20 per TikTok call) as a finished
/// activity: each product TikTok accepted counts done; each it refused, or that is
/// not on TikTok, counts failed with the reason (refusals also end as reasons on the
/// listings). Status syncs are queued and count done once queued.
pub async fn bulk_action(
    app: &App,
    store: &StoreRecord,
    shop: &ShopRecord,
    action: BulkAction,
    product_ids: &[String],
) -> Result<Activity, JobError> {
    let table = app.table.as_ref();
    let mut activity = Activity::start(action.key(), Some(&shop.shop_id), Some(product_ids.len() as u64));
    let mut listings = Vec::new();
    for product_id in product_ids {
        let listing = records::get_listing(table, &store.store_id, &shop.shop_id, product_id).await?;
        if listing.tiktok_product_id.is_some() {
            listings.push(listing);
        } else {
            activity.count(Err((
                product_id.clone(),
                "The product is not on TikTok; upload it first.".into(),
            )));
        }
    }
    let (tiktok_action, status) = match action {
        BulkAction::SyncStatus => {
            enqueue_status_syncs(app, &store.store_id, &shop.shop_id, &listings).await?;
            listings.iter().for_each(|_| activity.count(Ok(())));
            records::save_activity(table, &store.store_id, &activity).await?;
            return Ok(activity);
        }
        BulkAction::Activate => (ProductAction::Activate, ListingStatus::PendingReview),
        BulkAction::Deactivate => (ProductAction::Deactivate, ListingStatus::Inactive),
        BulkAction::Delete => (ProductAction::Delete, ListingStatus::Deleted),
        BulkAction::Recover => (ProductAction::Recover, ListingStatus::Inactive),
    };
    let tiktok = &app.tiktok;
    for chunk in listings.chunks(20) {
        let ids: Vec<Id> = chunk
            .iter()
            .filter_map(|l| l.tiktok_product_id.as_deref().map(Id::from))
            .collect();
        let errors = tiktok_call(app, shop, |auth| async move {
            tiktok.product_action(&auth, tiktok_action, &ids).await
        })
        .await?
        .map_err(retry)?;
        for listing in chunk {
            let mut listing = listing.clone();
            let refused = errors
                .iter()
                .find(|e| e.detail["product_id"].as_str() == listing.tiktok_product_id.as_deref());
            match refused {
                Some(error) => {
                    let reason = format!(
                        "TikTok refused the {action:?} action: {} (code {}).",
                        error.message, error.code
                    );
                    activity.count(Err((listing.product_id.clone(), reason.clone())));
                    listing.reasons = vec![reason];
                }
                None => {
                    listing.status = status;
                    listing.reasons.clear();
                    activity.count(Ok(()));
                }
            }
            records::save_listing(table, &store.store_id, listing).await?;
        }
    }
    activity.finish();
    records::save_activity(table, &store.store_id, &activity).await?;
    Ok(activity)
}
