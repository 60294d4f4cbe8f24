//! Browsing the catalogue as the merchant does on the products screen: a status tab,
//! a search, filters (profile, brand, price and stock ranges) and pages. Pure: the
//! caller hands in the store's products, one shop's listings and the profiles.

use std::collections::HashMap;

use rust_decimal::Decimal;
use serde::Deserialize;

use super::records::{Listing, ListingStatus, catalogue_key};
use crate::rules::catalog::{Profile, profile_for, total_stock};
use crate::store::Product;

/// Products per page of the products screen.
pub const PAGE_SIZE: usize = 50;

/// The tabs of the products screen, in order, with the merchant's words.
pub const TABS: [(ListingStatus, &str); 10] = [
    (ListingStatus::NotUploaded, "Not uploaded"),
    (ListingStatus::NotReady, "Not ready"),
    (ListingStatus::Queued, "Queued"),
    (ListingStatus::Uploading, "Uploading"),
    (ListingStatus::PendingReview, "In review"),
    (ListingStatus::Live, "Live"),
    (ListingStatus::Failed, "Failed review"),
    (ListingStatus::Inactive, "Inactive"),
    (ListingStatus::Scheduled, "Scheduled"),
    (ListingStatus::Deleted, "Deleted"),
];

/// The merchant's words for a listing status.
pub fn status_label(status: ListingStatus) -> &'static str {
    TABS.iter()
        .find(|(s, _)| *s == status)
        .map_or("Unknown", |(_, label)| label)
}

/// An optional number from a query string (serde `deserialize_with`): empty means none (an empty form field),
/// text is parsed (query strings carry only text, also inside flattened structs).
pub fn optional_number<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    let text: Option<String> = Option::deserialize(deserializer)?;
    match text.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(text) => text
            .parse()
            .map(Some)
            .map_err(|e| serde::de::Error::custom(format!("“{text}” is not a number: {e}"))),
    }
}

fn optional_status<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<ListingStatus>, D::Error> {
    let text: Option<String> = Option::deserialize(deserializer)?;
    match text.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(text) => serde_json::from_value(serde_json::Value::String(text.to_string()))
            .map(Some)
            .map_err(|_| serde::de::Error::custom(format!("there is no status “{text}”"))),
    }
}

/// The query of the products screen (`?status=&q=&profile=&brand=&min_price=&max_price=
/// &min_stock=&max_stock=&page=`); empty fields mean "any". `page` counts from 1.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ProductFilter {
    /// A listing status (`live`, `not_ready`, …) on the shop shown; empty means all.
    #[serde(deserialize_with = "optional_status")]
    pub status: Option<ListingStatus>,
    /// Words in the title, a SKU (product or variant), the store id or the TikTok id.
    pub q: String,
    /// A profile id: products whose profile it is.
    pub profile: String,
    /// A store brand id.
    pub brand: String,
    /// Lowest store price.
    #[serde(deserialize_with = "optional_number")]
    pub min_price: Option<Decimal>,
    /// Highest store price.
    #[serde(deserialize_with = "optional_number")]
    pub max_price: Option<Decimal>,
    /// Lowest store stock (all variants).
    #[serde(deserialize_with = "optional_number")]
    pub min_stock: Option<i64>,
    /// Highest store stock.
    #[serde(deserialize_with = "optional_number")]
    pub max_stock: Option<i64>,
    /// Page, from 1.
    #[serde(deserialize_with = "optional_number")]
    pub page: Option<usize>,
}

/// One product as the screen lists it.
pub struct Row<'a> {
    /// The store product.
    pub product: &'a Product,
    /// Its listing on the shop shown (none: never uploaded).
    pub listing: Option<&'a Listing>,
    /// The profile it falls under.
    pub profile: Option<&'a Profile>,
}

impl Row<'_> {
    /// Its status on the shop shown.
    pub fn status(&self) -> ListingStatus {
        self.listing.map_or(ListingStatus::NotUploaded, |l| l.status)
    }
}

/// What the screen shows: the tab counts (over the products the other filters keep),
/// how many products the filter keeps, and the page asked for.
pub struct Browse<'a> {
    /// Products per status among those matching every filter but the status.
    pub counts: Vec<(ListingStatus, usize)>,
    /// Products matching every filter but the status.
    pub searched: usize,
    /// Products matching every filter.
    pub matching: usize,
    /// The rows of the page shown, in catalogue order ([`records::catalogue_key`]).
    pub rows: Vec<Row<'a>>,
    /// The page shown, from 1.
    pub page: usize,
    /// Pages in all (at least 1).
    pub pages: usize,
}

impl ProductFilter {
    /// Whether the filter narrows by more than the status tab (words, profile, brand,
    /// price or stock): such a filter reads the whole catalogue; a plain one is served
    /// from the counters and the catalogue indexes.
    pub fn narrows(&self) -> bool {
        !self.q.trim().is_empty()
            || !self.profile.is_empty()
            || !self.brand.is_empty()
            || self.min_price.is_some()
            || self.max_price.is_some()
            || self.min_stock.is_some()
            || self.max_stock.is_some()
    }

    /// The page shown of `matching` products (a page past the end shows the last) and
    /// the number of pages.
    pub fn page_of(&self, matching: usize) -> (usize, usize) {
        let pages = matching.div_ceil(PAGE_SIZE).max(1);
        (self.page.unwrap_or(1).clamp(1, pages), pages)
    }

    fn keeps(&self, row: &Row) -> bool {
        let product = row.product;
        let q = self.q.trim().to_lowercase();
        let found = q.is_empty()
            || product.name.to_lowercase().contains(&q)
            || product.sku.to_lowercase() == q
            || product.variants.iter().any(|v| v.sku.to_lowercase() == q)
            || product.id == q
            || row.listing.and_then(|l| l.tiktok_product_id.as_deref()) == Some(q.as_str());
        let stock = total_stock(product);
        found
            && (self.profile.is_empty() || row.profile.is_some_and(|p| p.id == self.profile))
            && (self.brand.is_empty() || product.brand_id.as_deref() == Some(self.brand.as_str()))
            && self.min_price.is_none_or(|min| product.price >= min)
            && self.max_price.is_none_or(|max| product.price <= max)
            && self.min_stock.is_none_or(|min| stock >= min)
            && self.max_stock.is_none_or(|max| stock <= max)
    }

    /// The products every filter but the status keeps, in catalogue order, with the
    /// count per status.
    fn searched<'a>(
        &self,
        products: &'a [Product],
        listings: &'a [Listing],
        profiles: &'a [Profile],
    ) -> (Vec<Row<'a>>, Vec<(ListingStatus, usize)>) {
        let by_product: HashMap<&str, &Listing> = listings.iter().map(|l| (l.product_id.as_str(), l)).collect();
        let mut searched: Vec<Row> = products
            .iter()
            .map(|product| Row {
                product,
                listing: by_product.get(product.id.as_str()).copied(),
                profile: profile_for(profiles, product),
            })
            .filter(|row| self.keeps(row))
            .collect();
        searched.sort_by_cached_key(|row| catalogue_key(&row.product.id));
        let counts = TABS
            .iter()
            .map(|(status, _)| (*status, searched.iter().filter(|r| r.status() == *status).count()))
            .collect();
        (searched, counts)
    }

    /// Applies the filter to the store's `products` with one shop's `listings`.
    pub fn browse<'a>(&self, products: &'a [Product], listings: &'a [Listing], profiles: &'a [Profile]) -> Browse<'a> {
        let (searched, counts) = self.searched(products, listings, profiles);
        let total = searched.len();
        let matching: Vec<Row> = searched
            .into_iter()
            .filter(|r| self.status.is_none_or(|s| r.status() == s))
            .collect();
        let (page, pages) = self.page_of(matching.len());
        let count = matching.len();
        let rows = matching
            .into_iter()
            .skip((page - 1) * PAGE_SIZE)
            .take(PAGE_SIZE)
            .collect();
        Browse {
            counts,
            searched: total,
            matching: count,
            rows,
            page,
            pages,
        }
    }

    /// The ids of every product the filter keeps, in catalogue order.
    pub fn chosen(&self, products: &[Product], listings: &[Listing], profiles: &[Profile]) -> Vec<String> {
        let (searched, _) = self.searched(products, listings, profiles);
        searched
            .into_iter()
            .filter(|r| self.status.is_none_or(|s| r.status() == s))
            .map(|r| r.product.id.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn product(id: &str, name: &str, price: i64, stock: i64) -> Product {
        let mut product: Product = serde_json::from_value(serde_json::json!({
            "id": id, "name": name, "sku": format!("SKU-{id}"), "description": "", "price": price.to_string(),
            "sale_price": null, "brand_id": if id == "2" { Some("7") } else { None }, "categories": [], "weight": null,
            "dimensions": null, "inventory_tracking": "product", "inventory_level": stock, "is_visible": true, "upc": null,
            "images": [], "custom_fields": [], "variants": [], "date_modified": ""
        }))
        .unwrap();
        product.inventory_level = stock;
        product
    }

    #[test]
    fn the_filter_form_as_submitted_reads_empty_fields_as_any() {
        let read = |query: &str| {
            axum::extract::Query::<ProductFilter>::try_from_uri(&format!("/?{query}").parse().unwrap()).map(|q| q.0)
        };
        let filter =
            read("status=&q=mug&profile=&brand=&min_price=&max_price=20.5&min_stock=3&max_stock=&page=2").unwrap();
        assert_eq!(filter.status, None);
        assert_eq!(
            (filter.max_price, filter.min_stock, filter.page),
            (Some(Decimal::new(205, 1)), Some(3), Some(2))
        );
        assert_eq!(read("status=live").unwrap().status, Some(ListingStatus::Live));
        assert!(read("min_stock=lots").is_err(), "a word is not a number");
        assert!(read("status=sold_out").is_err());
    }

    #[test]
    fn tabs_count_what_the_search_keeps_and_pages_cut_the_status_shown() {
        let mut products: Vec<Product> = (1..=120)
            .map(|i| product(&i.to_string(), &format!("Mug {i}"), i, i))
            .collect();
        products.push(product("500", "Teapot", 30, 0));
        let mut live = Listing::new("3", "shop");
        live.status = ListingStatus::Live;
        live.tiktok_product_id = Some("1729".into());
        let listings = vec![live];
        let all = ProductFilter::default().browse(&products, &listings, &[]);
        assert_eq!(all.searched, 121);
        assert_eq!(all.pages, 3);
        assert_eq!(all.counts[0], (ListingStatus::NotUploaded, 120));
        assert_eq!(all.counts[5], (ListingStatus::Live, 1));
        let mugs = ProductFilter {
            q: "mug".into(),
            status: Some(ListingStatus::NotUploaded),
            page: Some(3),
            ..Default::default()
        };
        let browse = mugs.browse(&products, &listings, &[]);
        assert_eq!((browse.searched, browse.matching, browse.page), (120, 119, 3));
        assert_eq!(browse.rows.len(), 19);
        assert_eq!(
            browse.rows[0].product.id, "102",
            "numeric ids in numeric order, 3 (live) left out"
        );
        let by_tiktok_id = ProductFilter {
            q: "1729".into(),
            ..Default::default()
        }
        .browse(&products, &listings, &[]);
        assert_eq!(by_tiktok_id.rows[0].product.id, "3");
        let cheap_in_stock = ProductFilter {
            max_price: Some(Decimal::from(31)),
            min_stock: Some(30),
            ..Default::default()
        };
        assert_eq!(
            cheap_in_stock.chosen(&products, &listings, &[]),
            ["30", "31"],
            "the teapot has no stock"
        );
        let brand = ProductFilter {
            brand: "7".into(),
            ..Default::default()
        }
        .browse(&products, &listings, &[]);
        assert_eq!(brand.matching, 1);
        let beyond = ProductFilter {
            page: Some(99),
            ..Default::default()
        }
        .browse(&products, &listings, &[]);
        assert_eq!(beyond.page, 3, "a page past the end shows the last");
    }
}
