//! Stored catalogue records, all in the store's partition: products (`PRODUCT#<id>`),
//! profiles (`PROFILE#<id>`), listings per shop (`LISTING#<shop>#<product>`, indexed by
//! TikTok product id), SKU mappings (`SKU#<shop>#<variant>`, indexed by TikTok SKU id),
//! uploaded images (`IMAGE#<sha256 of URL>`) and import activities (`ACTIVITY#<id>`).

use serde::{Deserialize, Serialize};

use crate::accounts::store_pk;
use crate::journal;
use crate::rules::catalog::{Overrides, Profile};
use crate::storage::{
    Condition, Item, Query, StorageError, Table, WriteOp, add_counts, counters, decode, encode, put_counted, unix_now,
};
use crate::store::Product;

/// Where a product stands on a TikTok shop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ListingStatus {
    /// Never sent.
    NotUploaded,
    /// Cannot be listed; see the reasons.
    NotReady,
    /// Waiting in the queue.
    Queued,
    /// Being sent.
    Uploading,
    /// Waiting for TikTok's review.
    PendingReview,
    /// Live on TikTok.
    Live,
    /// Rejected by TikTok; see the reasons.
    Failed,
    /// Deactivated.
    Inactive,
    /// Deleted on TikTok.
    Deleted,
    /// Held by the daily listing limit until the ETA.
    Scheduled,
}

/// A product's listing on one shop.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Listing {
    /// Store product id.
    pub product_id: String,
    /// TikTok shop id.
    pub shop_id: String,
    /// Status.
    pub status: ListingStatus,
    /// TikTok product id once created.
    pub tiktok_product_id: Option<String>,
    /// (store variant id, TikTok SKU id).
    pub skus: Vec<(String, String)>,
    /// Why it is not live, in words the merchant reads.
    pub reasons: Vec<String>,
    /// When a scheduled upload will run (Unix seconds).
    pub eta: Option<i64>,
    /// Last change (Unix seconds).
    pub updated_at: i64,
}

impl Listing {
    /// A listing that was never uploaded.
    pub fn new(product_id: &str, shop_id: &str) -> Self {
        Self {
            product_id: product_id.into(),
            shop_id: shop_id.into(),
            status: ListingStatus::NotUploaded,
            tiktok_product_id: None,
            skus: Vec::new(),
            reasons: Vec::new(),
            eta: None,
            updated_at: unix_now(),
        }
    }
}

async fn all<T: serde::de::DeserializeOwned>(
    table: &dyn Table,
    store_id: &str,
    prefix: &str,
) -> Result<Vec<T>, StorageError> {
    let mut found = Vec::new();
    let mut cursor = None;
    loop {
        let page = table
            .query(Query::table(store_pk(store_id), prefix).limit(1000).after(cursor))
            .await?;
        for item in &page.items {
            found.push(decode(item)?);
        }
        match page.cursor {
            Some(next) => cursor = Some(next),
            None => return Ok(found),
        }
    }
}

/// The store's catalogue counters: `products` (stored products).
const CATALOG_COUNTS: &str = "COUNTS#CATALOG";

/// The listing counters of a shop: one per listing status (`live`, `not_ready`, …).
fn listing_counts_sk(shop_id: &str) -> String {
    format!("COUNTS#LISTINGS#{shop_id}")
}

/// A listing status as its counter is named (`not_ready`).
pub fn status_key(status: ListingStatus) -> String {
    crate::storage::serde_name(&status)
}

/// A store id as the catalogue orders it: numeric ids zero-padded to 20 digits (so
/// "10" follows "9"), others as they are.
pub fn catalogue_key(product_id: &str) -> String {
    if !product_id.is_empty() && product_id.bytes().all(|b| b.is_ascii_digit()) {
        format!("{product_id:0>20}")
    } else {
        product_id.to_string()
    }
}

/// The catalogue index entry of a product (`BYID#<catalogue key>`): products in
/// catalogue order, without reading them.
fn by_id_sk(product_id: &str) -> String {
    format!("BYID#{}", catalogue_key(product_id))
}

/// The status index entry of a listing (`BYSTATUS#<shop>#<status>#<catalogue key>`).
fn by_status_sk(shop_id: &str, status: &str, product_id: &str) -> String {
    format!("BYSTATUS#{shop_id}#{status}#{}", catalogue_key(product_id))
}

/// An index entry: only the product id.
fn index_entry(pk: &str, sk: String, product_id: &str) -> WriteOp {
    WriteOp::Put {
        item: Item::new(pk, sk, serde_json::json!({"product_id": product_id})),
        condition: Condition::None,
    }
}

/// Saves a store product; a new one is then counted and entered in the catalogue
/// index (see [`put_counted`]).
pub async fn save_product(table: &dyn Table, store_id: &str, product: &Product) -> Result<(), StorageError> {
    let pk = store_pk(store_id);
    let item = Item::new(pk.clone(), format!("PRODUCT#{}", product.id), encode(product));
    put_counted(table, item, Vec::new(), |stored| match stored {
        Some(_) => Vec::new(),
        None => add_counts(&pk, CATALOG_COUNTS, [("products".to_string(), 1)])
            .into_iter()
            .chain([index_entry(&pk, by_id_sk(&product.id), &product.id)])
            .collect(),
    })
    .await
}

/// One page of a shop's catalogue in catalogue order, from the indexes: the product
/// ids at `offset..offset + limit` of every product (`status` none) or of the listings
/// with `status`. Reads `offset + limit` index entries, never a product.
pub async fn catalogue_page(
    table: &dyn Table,
    store_id: &str,
    shop_id: &str,
    status: Option<ListingStatus>,
    offset: usize,
    limit: usize,
) -> Result<Vec<String>, StorageError> {
    let prefix = match status {
        Some(status) => format!("BYSTATUS#{shop_id}#{}#", status_key(status)),
        None => "BYID#".to_string(),
    };
    let mut ids = Vec::new();
    let mut cursor = None;
    while ids.len() < offset + limit {
        let page = table
            .query(
                Query::table(store_pk(store_id), prefix.as_str())
                    .limit(1000)
                    .after(cursor),
            )
            .await?;
        ids.extend(
            page.items
                .iter()
                .filter_map(|i| i.data["product_id"].as_str().map(str::to_string)),
        );
        match page.cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    Ok(ids.into_iter().skip(offset).take(limit).collect())
}

/// How many products the store has (kept by [`save_product`] and [`delete_product`]).
pub async fn product_count(table: &dyn Table, store_id: &str) -> Result<u64, StorageError> {
    let item = table.get(&store_pk(store_id), CATALOG_COUNTS).await?;
    Ok(item.map_or(0, |i| counters(&i).get("products").copied().unwrap_or(0).max(0) as u64))
}

/// Products per listing status on a shop, from the counters, for each status of
/// `statuses` in its order: *Not uploaded* is the store's products less those with a
/// listing in another status.
pub async fn status_counts(
    table: &dyn Table,
    store_id: &str,
    shop_id: &str,
    statuses: &[ListingStatus],
) -> Result<Vec<(ListingStatus, u64)>, StorageError> {
    let counted = listing_counts(table, store_id, shop_id).await?;
    let count = |status: ListingStatus| counted.get(&status_key(status)).copied().unwrap_or(0).max(0) as u64;
    let listed: u64 = counted
        .iter()
        .filter(|(status, _)| *status != &status_key(ListingStatus::NotUploaded))
        .map(|(_, n)| (*n).max(0) as u64)
        .sum();
    let products = product_count(table, store_id).await?;
    Ok(statuses
        .iter()
        .map(|status| match status {
            ListingStatus::NotUploaded => (*status, products.saturating_sub(listed)),
            other => (*other, count(*other)),
        })
        .collect())
}

/// How many listings of a shop have each status (kept by every listing write).
pub async fn listing_counts(
    table: &dyn Table,
    store_id: &str,
    shop_id: &str,
) -> Result<std::collections::HashMap<String, i64>, StorageError> {
    let item = table.get(&store_pk(store_id), &listing_counts_sk(shop_id)).await?;
    Ok(item.as_ref().map(counters).unwrap_or_default())
}

/// One stored product.
pub async fn get_product(table: &dyn Table, store_id: &str, product_id: &str) -> Result<Option<Product>, StorageError> {
    table
        .get(&store_pk(store_id), &format!("PRODUCT#{product_id}"))
        .await?
        .map(|i| decode(&i))
        .transpose()
}

/// Removes a stored product, then its count and its catalogue index entry.
pub async fn delete_product(table: &dyn Table, store_id: &str, product_id: &str) -> Result<(), StorageError> {
    let pk = store_pk(store_id);
    match table
        .delete(&pk, &format!("PRODUCT#{product_id}"), Condition::Exists)
        .await
    {
        Ok(()) => {}
        // Already gone: nothing to count.
        Err(StorageError::ConditionFailed { .. }) => return Ok(()),
        Err(error) => return Err(error),
    }
    table
        .add(&pk, CATALOG_COUNTS, vec![("products".to_string(), -1)])
        .await?;
    table.delete(&pk, &by_id_sk(product_id), Condition::None).await
}

/// Every stored product.
pub async fn all_products(table: &dyn Table, store_id: &str) -> Result<Vec<Product>, StorageError> {
    all(table, store_id, "PRODUCT#").await
}

/// Saves a profile.
pub async fn save_profile(table: &dyn Table, store_id: &str, profile: &Profile) -> Result<(), StorageError> {
    table
        .put(
            Item::new(store_pk(store_id), format!("PROFILE#{}", profile.id), encode(profile)),
            Condition::None,
        )
        .await
}

/// Deletes a profile.
pub async fn delete_profile(table: &dyn Table, store_id: &str, profile_id: &str) -> Result<(), StorageError> {
    table
        .delete(&store_pk(store_id), &format!("PROFILE#{profile_id}"), Condition::Exists)
        .await
}

/// Every profile.
pub async fn all_profiles(table: &dyn Table, store_id: &str) -> Result<Vec<Profile>, StorageError> {
    all(table, store_id, "PROFILE#").await
}

fn listing_sk(shop_id: &str, product_id: &str) -> String {
    format!("LISTING#{shop_id}#{product_id}")
}

/// A product's listing on a shop (a fresh one if never uploaded).
pub async fn get_listing(
    table: &dyn Table,
    store_id: &str,
    shop_id: &str,
    product_id: &str,
) -> Result<Listing, StorageError> {
    let item = table.get(&store_pk(store_id), &listing_sk(shop_id, product_id)).await?;
    Ok(item
        .map(|i| decode(&i))
        .transpose()?
        .unwrap_or_else(|| Listing::new(product_id, shop_id)))
}

/// Every listing of a shop.
pub async fn shop_listings(table: &dyn Table, store_id: &str, shop_id: &str) -> Result<Vec<Listing>, StorageError> {
    all(table, store_id, &format!("LISTING#{shop_id}#")).await
}

fn listing_item(store_id: &str, listing: &Listing) -> Item {
    let item = Item::new(
        store_pk(store_id),
        listing_sk(&listing.shop_id, &listing.product_id),
        encode(listing),
    );
    match (&listing.tiktok_product_id, listing.status, listing.eta) {
        (Some(id), _, _) => item.with_index(format!("TTPRODUCT#{}#{id}", listing.shop_id), store_pk(store_id)),
        // A sparse index of held uploads, ordered by ETA, for the sweeper.
        (None, ListingStatus::Scheduled, Some(eta)) => item.with_index(
            SCHEDULED,
            format!("{eta:012}#{store_id}#{}#{}", listing.shop_id, listing.product_id),
        ),
        (None, _, _) => item,
    }
}

const SCHEDULED: &str = "SCHEDULED";

/// A held upload whose time has come: (store hash, shop id, product id).
pub type DueUpload = (String, String, String);

/// Uploads the daily listing limit held back whose ETA is at or before `now`, oldest first.
pub async fn due_uploads(table: &dyn Table, now: i64) -> Result<Vec<DueUpload>, StorageError> {
    let mut due = Vec::new();
    let mut cursor = None;
    loop {
        let page = table
            .query(Query::index(SCHEDULED, "").limit(500).after(cursor))
            .await?;
        for item in &page.items {
            let Some(key) = item.gsi1.as_ref().map(|k| k.sk.as_str()) else {
                continue;
            };
            let mut parts = key.splitn(4, '#');
            let eta: i64 = parts.next().and_then(|e| e.parse().ok()).unwrap_or(i64::MAX);
            if eta > now {
                return Ok(due);
            }
            if let (Some(store), Some(shop), Some(product)) = (parts.next(), parts.next(), parts.next()) {
                due.push((store.to_string(), shop.to_string(), product.to_string()));
            }
        }
        match page.cursor {
            Some(next) => cursor = Some(next),
            None => return Ok(due),
        }
    }
}

/// Unlinks a listing from its TikTok product: back to *Not uploaded*, its SKU
/// mappings removed, in one transaction (orders of those SKUs then need linking again).
pub async fn unlink_listing(table: &dyn Table, store_id: &str, mut listing: Listing) -> Result<(), StorageError> {
    let removals: Vec<WriteOp> = listing
        .skus
        .iter()
        .map(|(variant_id, _)| WriteOp::Delete {
            pk: store_pk(store_id),
            sk: format!("SKU#{}#{variant_id}", listing.shop_id),
            condition: Condition::None,
        })
        .collect();
    listing.tiktok_product_id = None;
    listing.skus.clear();
    listing.status = ListingStatus::NotUploaded;
    listing.reasons.clear();
    write_listing(table, store_id, listing, removals).await
}

/// Writes a listing with `extra` operations in one transaction (at most 98), moving
/// its count from its stored status to its new one.
async fn write_listing(
    table: &dyn Table,
    store_id: &str,
    mut listing: Listing,
    extra: Vec<WriteOp>,
) -> Result<(), StorageError> {
    listing.updated_at = unix_now();
    let pk = store_pk(store_id);
    let counts_sk = listing_counts_sk(&listing.shop_id);
    let status = status_key(listing.status);
    let (shop_id, product_id) = (listing.shop_id.clone(), listing.product_id.clone());
    put_counted(table, listing_item(store_id, &listing), extra, |stored| {
        let before = stored.and_then(|i| i.data["status"].as_str().map(str::to_string));
        if before.as_deref() == Some(status.as_str()) {
            return Vec::new();
        }
        let mut ops: Vec<WriteOp> = before
            .iter()
            .map(|before| WriteOp::Delete {
                pk: pk.clone(),
                sk: by_status_sk(&shop_id, before, &product_id),
                condition: Condition::None,
            })
            .collect();
        ops.push(index_entry(
            &pk,
            by_status_sk(&shop_id, &status, &product_id),
            &product_id,
        ));
        let moved = before.map(|b| (b, -1)).into_iter().chain([(status.clone(), 1)]);
        ops.extend(add_counts(&pk, &counts_sk, moved));
        ops
    })
    .await
}

/// Sets the store's counters and catalogue indexes to what its records hold now:
/// products, and listings per status on each of `shop_ids` (after a full import, and
/// for data saved before they were kept). Writes made during the recount may be
/// counted twice or not at all until the next one.
pub async fn recount(table: &dyn Table, store_id: &str, shop_ids: &[String]) -> Result<(), StorageError> {
    let pk = store_pk(store_id);
    let products = all_products(table, store_id).await?;
    let entries: Vec<WriteOp> = products
        .iter()
        .map(|p| index_entry(&pk, by_id_sk(&p.id), &p.id))
        .collect();
    for chunk in entries.chunks(100) {
        table.transact(chunk.to_vec()).await?;
    }
    let item = Item::new(
        pk.clone(),
        CATALOG_COUNTS,
        serde_json::json!({"products": products.len()}),
    );
    table.put(item, Condition::None).await?;
    for shop_id in shop_ids {
        let mut counts = serde_json::Map::new();
        let mut entries = Vec::new();
        for listing in shop_listings(table, store_id, shop_id).await? {
            let status = status_key(listing.status);
            entries.push(index_entry(
                &pk,
                by_status_sk(shop_id, &status, &listing.product_id),
                &listing.product_id,
            ));
            let entry = counts.entry(status).or_insert(0.into());
            *entry = (entry.as_i64().unwrap_or(0) + 1).into();
        }
        for chunk in entries.chunks(100) {
            table.transact(chunk.to_vec()).await?;
        }
        let item = Item::new(
            pk.clone(),
            listing_counts_sk(shop_id),
            serde_json::Value::Object(counts),
        );
        table.put(item, Condition::None).await?;
    }
    Ok(())
}

fn overrides_sk(product_id: &str) -> String {
    format!("OVERRIDE#{product_id}")
}

/// The merchant's overrides of one product (none when never set).
pub async fn get_overrides(table: &dyn Table, store_id: &str, product_id: &str) -> Result<Overrides, StorageError> {
    table
        .get(&store_pk(store_id), &overrides_sk(product_id))
        .await?
        .map(|i| decode(&i))
        .transpose()
        .map(Option::unwrap_or_default)
}

/// Saves the merchant's overrides of one product.
pub async fn save_overrides(
    table: &dyn Table,
    store_id: &str,
    product_id: &str,
    overrides: &Overrides,
) -> Result<(), StorageError> {
    let item = Item::new(store_pk(store_id), overrides_sk(product_id), encode(overrides));
    table.put(item, Condition::None).await
}

/// Saves a listing, moving its count to its status; with SKUs, also their mappings
/// (TikTok SKU → store variant), in the same transaction (beyond 98, in further ones).
pub async fn save_listing(table: &dyn Table, store_id: &str, listing: Listing) -> Result<(), StorageError> {
    let mappings: Vec<WriteOp> = listing
        .skus
        .iter()
        .map(|(variant_id, sku_id)| {
            let mapping = serde_json::json!({"variant_id": variant_id, "product_id": listing.product_id, "tiktok_sku_id": sku_id,
                                             "tiktok_product_id": listing.tiktok_product_id});
            let item = Item::new(
                store_pk(store_id),
                format!("SKU#{}#{variant_id}", listing.shop_id),
                mapping,
            )
            .with_index(format!("TTSKU#{}#{sku_id}", listing.shop_id), store_pk(store_id));
            WriteOp::Put {
                item,
                condition: Condition::None,
            }
        })
        .collect();
    // The listing, its count and the first mappings together; the rest after.
    let mut mappings = mappings.into_iter();
    let first: Vec<WriteOp> = mappings.by_ref().take(98).collect();
    write_listing(table, store_id, listing, first).await?;
    let rest: Vec<WriteOp> = mappings.collect();
    for chunk in rest.chunks(100) {
        table.transact(chunk.to_vec()).await?;
    }
    Ok(())
}

/// The items of a TikTok-side index entry (`TTPRODUCT#…`, `TTSKU#…`) that belong to
/// `store_id`. A shop may have belonged to another store before (disconnected
/// there, connected here), so the owning store is always checked.
async fn owned_index_item(table: &dyn Table, store_id: &str, index_key: String) -> Result<Option<Item>, StorageError> {
    let page = table.query(Query::index(index_key, "").limit(25)).await?;
    let owner = store_pk(store_id);
    Ok(page.items.into_iter().find(|item| item.pk == owner))
}

/// This store's listing of a TikTok product (for TikTok's product webhooks).
pub async fn listing_by_tiktok_product(
    table: &dyn Table,
    store_id: &str,
    shop_id: &str,
    tiktok_product_id: &str,
) -> Result<Option<Listing>, StorageError> {
    owned_index_item(table, store_id, format!("TTPRODUCT#{shop_id}#{tiktok_product_id}"))
        .await?
        .map(|item| decode(&item))
        .transpose()
}

/// The variant of this store a TikTok SKU is mapped to: (variant id, product id).
pub async fn variant_of_sku(
    table: &dyn Table,
    store_id: &str,
    shop_id: &str,
    sku_id: &str,
) -> Result<Option<(String, String)>, StorageError> {
    let item = owned_index_item(table, store_id, format!("TTSKU#{shop_id}#{sku_id}")).await?;
    Ok(item.map(|item| {
        let text = |key: &str| item.data[key].as_str().unwrap_or_default().to_string();
        (text("variant_id"), text("product_id"))
    }))
}

/// The TikTok uri of an already uploaded image.
pub async fn cached_image(table: &dyn Table, store_id: &str, url: &str) -> Result<Option<String>, StorageError> {
    let item = table
        .get(
            &store_pk(store_id),
            &format!("IMAGE#{}", crate::crypto::sha256_hex(url.as_bytes())),
        )
        .await?;
    Ok(item.and_then(|i| i.data["uri"].as_str().map(str::to_string)))
}

/// Remembers an uploaded image.
pub async fn cache_image(table: &dyn Table, store_id: &str, url: &str, uri: &str) -> Result<(), StorageError> {
    let item = Item::new(
        store_pk(store_id),
        format!("IMAGE#{}", crate::crypto::sha256_hex(url.as_bytes())),
        serde_json::json!({"url": url, "uri": uri}),
    );
    table.put(item, Condition::None).await
}

/// Progress of a background job the merchant started: an import, an upload, a bulk
/// action or a manual sync (`ACTIVITY#<id>`; ids sort newest first).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Activity {
    /// Id: the start time counted down from [`ID_CLOCK`], then random hex, so a
    /// query of the partition lists the newest first.
    pub id: String,
    /// What it does: `import`, `upload`, `activate`, `deactivate`, `delete`,
    /// `recover`, `sync_status`, `sync_stock`, `sync_price`, `link`, `unlink`.
    pub kind: String,
    /// `running`, `done`, or `queued` (its items handed to the queue, whose outcome
    /// shows on each item, not here: see [`Activity::queued`]).
    pub status: String,
    /// Items finished so far (products read for an import).
    pub done: u64,
    /// Items that failed, each with its reason in [`Activity::failures`].
    #[serde(default)]
    pub failed: u64,
    /// Items expected (when known).
    pub total: Option<u64>,
    /// Started (Unix seconds).
    pub started_at: i64,
    /// Finished (Unix seconds).
    pub finished_at: Option<i64>,
    /// The TikTok shop it works on (none for imports and store-side syncs).
    #[serde(default)]
    pub shop_id: Option<String>,
    /// The first [`FAILURES_KEPT`] failures: (store product id, reason).
    #[serde(default)]
    pub failures: Vec<(String, String)>,
    /// Items handed to the queue without being counted here (stock and price syncs).
    #[serde(default)]
    pub queued: u64,
}

/// Activity ids count down from here (Unix seconds), so newer ids sort first.
pub const ID_CLOCK: i64 = 9_999_999_999;

/// How many failures an activity keeps with their reasons (the count goes on).
pub const FAILURES_KEPT: usize = 200;

impl Activity {
    /// A running activity of `kind` started now.
    pub fn start(kind: &str, shop_id: Option<&str>, total: Option<u64>) -> Self {
        let now = unix_now();
        let random = uuid::Uuid::new_v4().simple().to_string();
        Self {
            id: format!("{:010}{}", ID_CLOCK - now, &random[..12]),
            kind: kind.into(),
            status: "running".into(),
            done: 0,
            failed: 0,
            total,
            started_at: now,
            finished_at: None,
            shop_id: shop_id.map(str::to_string),
            failures: Vec::new(),
            queued: 0,
        }
    }

    /// Marks it as `count` items queued: its own work (queueing) ended now; nothing
    /// is counted done or failed, as the queued jobs do not report back to it.
    pub fn queued(&mut self, count: u64) {
        self.queued = count;
        self.status = "queued".into();
        self.finished_at.get_or_insert(unix_now());
    }

    /// Counts one item: done, or failed with its reason; finishes the activity when
    /// every expected item is counted.
    pub fn count(&mut self, outcome: Result<(), (String, String)>) {
        match outcome {
            Ok(()) => self.done += 1,
            Err(failure) => {
                self.failed += 1;
                if self.failures.len() < FAILURES_KEPT {
                    self.failures.push(failure);
                }
            }
        }
        if self.total.is_some_and(|total| self.done + self.failed >= total) {
            self.finish();
        }
    }

    /// Marks it done now.
    pub fn finish(&mut self) {
        self.status = "done".into();
        self.finished_at.get_or_insert(unix_now());
    }
}

fn activity_item(store_id: &str, activity: &Activity) -> Item {
    Item::new(
        store_pk(store_id),
        format!("ACTIVITY#{}", activity.id),
        encode(activity),
    )
}

/// Saves an activity (its start and its end go to the activity log, once each).
pub async fn save_activity(table: &dyn Table, store_id: &str, activity: &Activity) -> Result<(), StorageError> {
    table.put(activity_item(store_id, activity), Condition::None).await?;
    log_activity(table, store_id, activity).await;
    Ok(())
}

/// One activity.
pub async fn get_activity(table: &dyn Table, store_id: &str, id: &str) -> Result<Option<Activity>, StorageError> {
    table
        .get(&store_pk(store_id), &format!("ACTIVITY#{id}"))
        .await?
        .map(|i| decode(&i))
        .transpose()
}

/// Counts one item of activity `id` (see [`Activity::count`]) with an optimistic
/// update, so workers finishing items at once lose no count. Nothing happens for an
/// activity that does not exist (anymore).
pub async fn count_in_activity(
    table: &dyn Table,
    store_id: &str,
    id: &str,
    outcome: Result<(), (String, String)>,
) -> Result<(), StorageError> {
    loop {
        let Some(item) = table.get(&store_pk(store_id), &format!("ACTIVITY#{id}")).await? else {
            return Ok(());
        };
        let mut activity: Activity = decode(&item)?;
        activity.count(outcome.clone());
        let mut updated = activity_item(store_id, &activity);
        updated.version = item.version;
        match table.put_versioned(updated).await {
            Err(StorageError::ConditionFailed { .. }) => continue,
            Ok(_) if activity.status == "done" => {
                log_activity(table, store_id, &activity).await;
                return Ok(());
            }
            other => return other.map(drop),
        }
    }
}

/// One page of the store's activities, newest first, and the cursor of the next.
pub async fn activities_page(
    table: &dyn Table,
    store_id: &str,
    limit: usize,
    cursor: Option<String>,
) -> Result<(Vec<Activity>, Option<String>), StorageError> {
    let page = table
        .query(Query::table(store_pk(store_id), "ACTIVITY#").limit(limit).after(cursor))
        .await?;
    let activities = page.items.iter().map(decode).collect::<Result<_, _>>()?;
    Ok((activities, page.cursor))
}

/// Logs a catalogue activity's start (when nothing is counted yet) or its end, once
/// each however often the activity is saved.
async fn log_activity(table: &dyn Table, store_id: &str, activity: &Activity) {
    let kind = journal::LogKind::of_activity(&activity.kind);
    let what = activity.kind.replace('_', " ");
    let shop = activity
        .shop_id
        .as_deref()
        .map(|shop| format!(" on shop {shop}"))
        .unwrap_or_default();
    if activity.status == "queued" {
        let summary = format!(
            "{}{shop}: {} product(s) queued",
            journal::capitalised(&what),
            activity.queued
        );
        let entry = journal::Entry {
            at: activity.started_at,
            ..journal::Entry::now(kind, summary)
        };
        journal::note(
            table,
            store_id,
            entry,
            Some(&format!("activity-{}-queued", activity.id)),
        )
        .await;
    } else if let Some(finished) = activity.finished_at.filter(|_| activity.status == "done") {
        let summary = format!(
            "{}{shop} finished: {} done, {} failed",
            journal::capitalised(&what),
            activity.done,
            activity.failed
        );
        let entry = journal::Entry {
            at: finished,
            ..journal::Entry::now(kind, summary)
        };
        journal::note(table, store_id, entry, Some(&format!("activity-{}-done", activity.id))).await;
    } else if activity.done == 0 && activity.failed == 0 {
        let total = activity
            .total
            .map(|total| format!(" ({total} item(s))"))
            .unwrap_or_default();
        let entry = journal::Entry {
            at: activity.started_at,
            ..journal::Entry::now(kind, format!("{}{shop} started{total}", journal::capitalised(&what)))
        };
        journal::note(table, store_id, entry, Some(&format!("activity-{}-start", activity.id))).await;
    }
}
