//! BigCommerce, the first [`StorePlatform`]: app auth (JWT callbacks, OAuth code
//! exchange, store-level API accounts), the REST client, and the mapping between
//! BigCommerce's shapes and the store-neutral ones.

mod auth;
pub mod client;
pub mod model;

use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;
use serde::Deserialize;

pub use auth::{AuthError, LEEWAY_SECONDS, LoadClaims, verify_signed_payload, verify_signed_payload_jwt};
pub use client::{Client, ClientConfig};
use model::*;

use super::*;
use crate::crypto::SecretString;

/// Production OAuth host.
pub const PRODUCTION_LOGIN: &str = "https://login.bigcommerce.com";
/// Header carrying the per-store webhook secret on every delivery.
pub const SECRET_HEADER: &str = "X-Connector-Token";

/// The user or owner of an OAuth grant.
#[derive(Debug, Clone, Deserialize)]
pub struct GrantUser {
    /// User id.
    pub id: u64,
    /// Email.
    #[serde(default)]
    pub email: String,
}

/// The answer of the OAuth code exchange.
#[derive(Debug, Clone, Deserialize)]
pub struct OAuthGrant {
    /// The store's access token.
    pub access_token: SecretString,
    /// Granted scopes (space separated).
    #[serde(default)]
    pub scope: String,
    /// The installing user.
    pub user: GrantUser,
    /// The store owner.
    pub owner: GrantUser,
    /// `stores/{hash}`.
    pub context: String,
}

impl OAuthGrant {
    /// The store hash of `context`.
    pub fn store_hash(&self) -> &str {
        self.context.trim_start_matches("stores/")
    }
}

/// Exchanges the install callback's `code` for the store's token (`POST {login}/oauth2/token`).
pub async fn exchange_code(
    http: &reqwest::Client,
    login_base: &str,
    client_id: &str,
    client_secret: &SecretString,
    code: &str,
    scope: &str,
    context: &str,
    redirect_uri: &str,
) -> Result<OAuthGrant, StoreError> {
    let body = serde_json::json!({
        "client_id": client_id, "client_secret": client_secret.expose(), "code": code, "scope": scope,
        "context": context, "grant_type": "authorization_code", "redirect_uri": redirect_uri,
    });
    let response = http
        .post(format!("{login_base}/oauth2/token"))
        .header("accept", "application/json")
        .json(&body)
        .send()
        .await
        .map_err(|e| StoreError::Unavailable(e.without_url().to_string()))?;
    let status = response.status();
    let bytes = response
        .bytes()
        .await
        .map_err(|e| StoreError::Unavailable(e.without_url().to_string()))?;
    if !status.is_success() {
        let message = String::from_utf8_lossy(&bytes).chars().take(200).collect::<String>();
        return Err(match status.as_u16() {
            401 | 403 => StoreError::Unauthorized(message),
            500.. => StoreError::Unavailable(message),
            code => StoreError::Invalid { status: code, message },
        });
    }
    serde_json::from_slice(&bytes).map_err(|e| StoreError::Malformed(format!("token answer: {e}")))
}

/// BigCommerce scope of a topic.
pub fn scope_of(topic: Topic) -> &'static str {
    match topic {
        Topic::ProductCreated => "store/product/created",
        Topic::ProductUpdated => "store/product/updated",
        Topic::ProductDeleted => "store/product/deleted",
        Topic::ProductInventoryUpdated => "store/product/inventory/updated",
        Topic::VariantInventoryUpdated => "store/sku/inventory/updated",
        Topic::ProductInventoryOrderUpdated => "store/product/inventory/order/updated",
        Topic::VariantInventoryOrderUpdated => "store/sku/inventory/order/updated",
        Topic::OrderStatusUpdated => "store/order/statusUpdated",
        Topic::ShipmentCreated => "store/shipment/created",
        Topic::ShipmentUpdated => "store/shipment/updated",
        Topic::AppUninstalled => "store/app/uninstalled",
    }
}

fn topic_of(scope: &str) -> Option<Topic> {
    CONNECTOR_TOPICS.into_iter().find(|topic| scope_of(*topic) == scope)
}

/// Status id of a store-neutral status.
pub fn status_id(status: &OrderStatus) -> u32 {
    match status {
        OrderStatus::Pending => 1,
        OrderStatus::Shipped => 2,
        OrderStatus::PartiallyShipped => 3,
        OrderStatus::Refunded => 4,
        OrderStatus::PartiallyRefunded => 14,
        OrderStatus::Cancelled => 5,
        OrderStatus::AwaitingShipment => 9,
        OrderStatus::Completed => 10,
        OrderStatus::AwaitingFulfillment => 11,
        OrderStatus::Other(label) => label.parse().unwrap_or(1),
    }
}

/// The store-neutral status of a BigCommerce status id (unknown ids as [`OrderStatus::Other`]).
pub(crate) fn status_of(status_id: u32) -> OrderStatus {
    match status_id {
        1 => OrderStatus::Pending,
        2 => OrderStatus::Shipped,
        3 => OrderStatus::PartiallyShipped,
        4 => OrderStatus::Refunded,
        14 => OrderStatus::PartiallyRefunded,
        5 => OrderStatus::Cancelled,
        9 => OrderStatus::AwaitingShipment,
        10 => OrderStatus::Completed,
        11 => OrderStatus::AwaitingFulfillment,
        other => OrderStatus::Other(other.to_string()),
    }
}

/// BigCommerce's default inventory location (every store has it; multi-location
/// stores put returns back there too).
const DEFAULT_LOCATION: u64 = 1;

/// A v3 refund (`id`, `total_amount` as a JSON number) in store-neutral terms.
fn refund_from(refund: &serde_json::Value) -> Option<Refund> {
    let id = refund["id"].as_u64()?;
    let amount = match &refund["total_amount"] {
        serde_json::Value::Number(n) => n.to_string().parse().ok()?,
        serde_json::Value::String(s) => s.parse().ok()?,
        _ => Decimal::ZERO,
    };
    Some(Refund {
        id: id.to_string(),
        amount,
    })
}

fn numeric(id: &str, what: &str) -> Result<u64, StoreError> {
    id.parse().map_err(|_| StoreError::Invalid {
        status: 422,
        message: format!("{what} {id:?} is not a BigCommerce id"),
    })
}

fn product_from(bc: BcProduct) -> Product {
    let mut images: Vec<Image> = bc
        .images
        .iter()
        .map(|i| Image {
            url: if i.url_zoom.is_empty() {
                i.url_standard.clone()
            } else {
                i.url_zoom.clone()
            },
            is_primary: i.is_thumbnail,
            sort_order: i.sort_order,
        })
        .collect();
    images.sort_by_key(|i| (!i.is_primary, i.sort_order));
    let tracking = match bc.inventory_tracking.as_str() {
        "product" => InventoryTracking::Product,
        "variant" => InventoryTracking::Variant,
        _ => InventoryTracking::None,
    };
    let dimensions = match (bc.width, bc.height, bc.depth) {
        (Some(w), Some(h), Some(d)) if !(w.is_zero() && h.is_zero() && d.is_zero()) => Some([w, h, d]),
        _ => None,
    };
    Product {
        id: bc.id.to_string(),
        name: bc.name,
        sku: bc.sku,
        description: bc.description,
        price: bc.price,
        sale_price: bc.sale_price.filter(|p| !p.is_zero()),
        brand_id: (bc.brand_id != 0).then(|| bc.brand_id.to_string()),
        categories: bc.categories.iter().map(u64::to_string).collect(),
        weight: bc.weight,
        dimensions,
        inventory_tracking: tracking,
        inventory_level: bc.inventory_level,
        is_visible: bc.is_visible,
        upc: bc.upc.filter(|u| !u.is_empty()),
        gtin: bc.gtin.filter(|g| !g.is_empty()),
        images,
        custom_fields: bc.custom_fields.into_iter().map(|f| (f.name, f.value)).collect(),
        variants: bc
            .variants
            .into_iter()
            .map(|v| Variant {
                id: v.id.to_string(),
                sku: v.sku,
                price: v.price,
                inventory_level: (tracking == InventoryTracking::Variant).then_some(v.inventory_level),
                upc: v.upc.filter(|u| !u.is_empty()),
                gtin: v.gtin.filter(|g| !g.is_empty()),
                option_values: v
                    .option_values
                    .into_iter()
                    .map(|o| OptionValue {
                        option_id: o.option_id.to_string(),
                        option_name: o.option_display_name,
                        value_id: o.id.to_string(),
                        label: o.label,
                    })
                    .collect(),
                image_url: v.image_url.filter(|u| !u.is_empty()),
                purchasing_disabled: v.purchasing_disabled,
            })
            .collect(),
        date_modified: bc.date_modified,
    }
}

fn order_from(bc: BcOrder) -> Order {
    Order {
        id: bc.id.to_string(),
        status: status_of(bc.status_id),
        external_order_id: bc.external_order_id.filter(|e| !e.is_empty()),
        total_inc_tax: bc.total_inc_tax,
    }
}

fn address_to(address: &Address, shipping_method: Option<&str>) -> BcAddress {
    BcAddress {
        first_name: address.first_name.clone(),
        last_name: address.last_name.clone(),
        street_1: address.street_1.clone(),
        street_2: address.street_2.clone(),
        city: address.city.clone(),
        state: address.state.clone(),
        zip: address.zip.clone(),
        country: address.country.clone(),
        country_iso2: address.country_iso2.clone(),
        phone: address.phone.clone(),
        email: address.email.clone(),
        shipping_method: shipping_method.map(str::to_string),
    }
}

/// Standard Webhooks check (reference §1.8.1): `webhook-signature` holds space-separated
/// `v1,<base64>` entries of HMAC-SHA256(`key`, `{id}.{timestamp}.{body}`); true when any
/// matches (compared in constant time) and `timestamp` (Unix seconds) is within 5
/// minutes of `now`. For BigCommerce `key` is the raw bytes of the client secret of the
/// account that created the hook.
pub fn verify_standard_webhook(key: &[u8], id: &str, timestamp: &str, body: &[u8], signatures: &str, now: i64) -> bool {
    use base64::Engine as _;
    use hmac::{Hmac, KeyInit, Mac};
    let Ok(sent_at) = timestamp.parse::<i64>() else {
        return false;
    };
    // abs_diff: a timestamp near the ends of i64 must not overflow (found by fuzzing).
    if now.abs_diff(sent_at) > 300 {
        return false;
    }
    signatures
        .split(' ')
        .filter_map(|entry| entry.strip_prefix("v1,"))
        .any(|encoded| {
            let Ok(signature) = base64::engine::general_purpose::STANDARD.decode(encoded) else {
                return false;
            };
            let mut mac = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(key).expect("HMAC takes any key length");
            mac.update(format!("{id}.{timestamp}.").as_bytes());
            mac.update(body);
            mac.verify_slice(&signature).is_ok()
        })
}

/// A delivery's JSON (reference §1.8).
#[derive(Debug, Deserialize)]
struct DeliveryBody {
    scope: String,
    #[serde(default)]
    data: serde_json::Value,
    #[serde(default)]
    hash: Option<String>,
    #[serde(default)]
    created_at: i64,
    #[serde(default)]
    producer: String,
}

fn id_text(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::Number(n) => n.as_u64().map(|n| n.to_string()),
        serde_json::Value::String(s) if !s.is_empty() => Some(s.clone()),
        _ => None,
    }
}

/// One installed (or API-account) BigCommerce store.
pub struct BigCommerce {
    client: Client,
    /// Client secret of the account that created the store's webhooks, which keys
    /// their Standard Webhooks signatures; `None` when the connector does not hold it.
    webhook_key: Option<SecretString>,
    /// The app's id, written to `external_source` of created orders.
    app_id: String,
}

impl BigCommerce {
    /// A store reached through `client`. `webhook_key` is the client secret of the
    /// account whose token `client` carries (the app's for app installs, the
    /// store-level API account's own when the merchant gave it; §1.8: webhooks are
    /// signed with the creating account's secret); `app_id` is the app's BigCommerce
    /// app id (§1.11 `external_source`).
    pub fn new(client: Client, webhook_key: Option<SecretString>, app_id: String) -> Self {
        Self {
            client,
            webhook_key,
            app_id,
        }
    }

    /// The underlying REST client.
    pub fn client(&self) -> &Client {
        &self.client
    }
}

impl BigCommerce {
    /// What the BigCommerce adapter does (reference §1): webhooks for changes; refunds
    /// of any amount up to the refund quote; orders archived (deleted to the archive)
    /// and their shipping address edited; a TikTok Shop sales channel. Stock is one
    /// level per variant here (the sum over locations), not per location.
    pub const CAPABILITIES: Capabilities = Capabilities {
        change_feed: ChangeFeed::Webhooks,
        partial_refunds: true,
        multi_location_stock: false,
        order_archive: true,
        shipping_address_edit: true,
        sales_channels: true,
        marketplace_prices: true,
    };
}

#[async_trait]
impl StorePlatform for BigCommerce {
    fn platform(&self) -> Platform {
        Platform::BigCommerce
    }

    fn capabilities(&self) -> Capabilities {
        Self::CAPABILITIES
    }

    async fn profile(&self) -> Result<StoreProfile, StoreError> {
        let info = self.client.store_info().await?;
        Ok(StoreProfile {
            name: info.name,
            currency: info.currency,
            units: Units {
                weight: info.weight_units,
                dimension: info.dimension_units,
            },
        })
    }

    async fn products_changed_since(
        &self,
        since: Option<&str>,
        cursor: Option<&str>,
    ) -> Result<ProductPage, StoreError> {
        let page: u32 = match cursor {
            None => 1,
            Some(c) => c.parse().map_err(|_| StoreError::Invalid {
                status: 400,
                message: format!("bad page cursor {c:?}"),
            })?,
        };
        let mut filters = vec![("sort", "date_modified".to_string()), ("direction", "asc".to_string())];
        if let Some(since) = since {
            filters.push(("date_modified:min", since.to_string()));
        }
        let collection = self.client.products(&filters, page, 250).await?;
        let pagination = &collection.meta.pagination;
        let next = (pagination.current_page < pagination.total_pages).then(|| (page + 1).to_string());
        let total = Some(pagination.total);
        Ok(ProductPage {
            products: collection.data.into_iter().map(product_from).collect(),
            next,
            total,
        })
    }

    async fn product(&self, product_id: &str) -> Result<Option<Product>, StoreError> {
        numeric(product_id, "product id")?;
        Ok(self.client.product(product_id).await?.map(product_from))
    }

    async fn variant_stock(&self, variant_ids: &[String]) -> Result<Vec<VariantStock>, StoreError> {
        let mut stock = Vec::new();
        for chunk in variant_ids.chunks(100) {
            for item in self.client.inventory_items(chunk).await?.data {
                stock.push(VariantStock {
                    variant_id: item.identity.variant_id.to_string(),
                    product_id: item.identity.product_id.to_string(),
                    available: item.locations.iter().map(|l| l.available_to_sell).sum(),
                });
            }
        }
        Ok(stock)
    }

    async fn brands(&self) -> Result<Vec<Named>, StoreError> {
        let mut brands = Vec::new();
        for page in 1.. {
            let collection = self.client.brands(page).await?;
            brands.extend(collection.data.into_iter().map(|b| Named {
                id: b.id.to_string(),
                name: b.name,
            }));
            if u64::from(page) >= collection.meta.pagination.total_pages {
                break;
            }
        }
        Ok(brands)
    }

    async fn categories(&self) -> Result<Vec<Category>, StoreError> {
        let mut categories = Vec::new();
        for page in 1.. {
            let collection = self.client.categories(page).await?;
            categories.extend(collection.data.into_iter().map(|c| Category {
                id: c.category_id.to_string(),
                parent_id: (c.parent_id != 0).then(|| c.parent_id.to_string()),
                name: c.name,
            }));
            if u64::from(page) >= collection.meta.pagination.total_pages {
                break;
            }
        }
        Ok(categories)
    }

    async fn units(&self) -> Result<Units, StoreError> {
        let info = self.client.store_info().await?;
        Ok(Units {
            weight: info.weight_units,
            dimension: info.dimension_units,
        })
    }

    async fn create_order(&self, order: &NewOrder) -> Result<Order, StoreError> {
        if let Some(existing) = self.find_order_by_external_id(&order.external_order_id).await? {
            return Ok(existing);
        }
        let products = order
            .lines
            .iter()
            .map(|line| {
                Ok(BcOrderLinePost {
                    product_id: numeric(&line.product_id, "product id")?,
                    variant_id: numeric(&line.variant_id, "variant id")?,
                    quantity: line.quantity,
                    price_ex_tax: line.price_ex_tax,
                    price_inc_tax: line.price_inc_tax,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let body = BcOrderPost {
            customer_id: 0,
            status_id: status_id(&order.status),
            channel_id: order
                .channel_id
                .as_deref()
                .map(|c| numeric(c, "channel id"))
                .transpose()?,
            external_source: self.app_id.clone(),
            external_order_id: order.external_order_id.clone(),
            billing_address: address_to(&order.billing_address, None),
            shipping_addresses: vec![address_to(&order.shipping_address, Some(&order.shipping_method))],
            products,
            shipping_cost_ex_tax: order.shipping_cost.0,
            shipping_cost_inc_tax: order.shipping_cost.1,
            handling_cost_ex_tax: order.handling_cost.0,
            handling_cost_inc_tax: order.handling_cost.1,
            discount_amount: order.discount_amount,
            payment_method: order.payment_method.clone(),
            customer_message: order.customer_message.clone(),
            staff_notes: order.staff_notes.clone(),
        };
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.client.create_order(&body).await {
                Ok(created) => return Ok(order_from(created)),
                Err(error) if error.is_retryable() && attempt < self.client.max_attempts() => {
                    tracing::warn!(order = %order.external_order_id, attempt, %error, "order create failed; looking for it before retrying");
                    tokio::time::sleep(crate::store::retry_delay(attempt)).await;
                    // The lost answer may belong to an order the store did create.
                    if let Some(existing) = self.find_order_by_external_id(&order.external_order_id).await? {
                        return Ok(existing);
                    }
                }
                Err(error) => return Err(error),
            }
        }
    }

    async fn find_order_by_external_id(&self, external_order_id: &str) -> Result<Option<Order>, StoreError> {
        let found = self.client.orders_by_external_id(external_order_id).await?;
        // Filter again: the id must match exactly, whatever the filter semantics.
        Ok(found
            .into_iter()
            .find(|o| o.external_order_id.as_deref() == Some(external_order_id))
            .map(order_from))
    }

    async fn update_order_status(&self, order_id: &str, status: &OrderStatus) -> Result<(), StoreError> {
        numeric(order_id, "order id")?;
        self.client
            .set_order_status(order_id, status_id(status))
            .await
            .map(drop)
    }

    async fn cancel_order(&self, order_id: &str) -> Result<(), StoreError> {
        self.update_order_status(order_id, &OrderStatus::Cancelled).await
    }

    async fn refund_order(&self, order_id: &str, refund: &NewRefund) -> Result<Refund, StoreError> {
        let id = numeric(order_id, "order id")?;
        // v3 amounts are JSON numbers; a 2-decimal string reads back as exactly that number.
        let amount: serde_json::Value = serde_json::from_str(&refund.amount.round_dp(2).to_string())
            .map_err(|e| StoreError::Malformed(format!("refund amount: {e}")))?;
        let items = serde_json::json!([{ "item_type": "ORDER", "item_id": id, "amount": amount }]);
        let quote = self.client.refund_quote(order_id, &items).await?;
        // Marketplace orders are paid outside BigCommerce: the money went back on the
        // marketplace, so the refund is recorded offline, never paid again (store
        // credit or a card refund would pay the buyer twice).
        let method = quote["refund_methods"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|methods| methods.as_array())
            .filter(|methods| methods.len() == 1)
            .flatten()
            .find(|method| method["offline"].as_bool() == Some(true))
            .cloned()
            .ok_or_else(|| StoreError::Invalid {
                status: 422,
                message: "the store offers no offline refund method for this order, so the refund cannot be recorded without paying the buyer again".into(),
            })?;
        let body = serde_json::json!({
            "items": items,
            "payments": [{
                "provider_id": method["provider_id"],
                "amount": quote["total_refund_amount"],
                "offline": method["offline"].as_bool().unwrap_or(true),
            }],
        });
        let created = self.client.create_refund(order_id, &body).await?;
        refund_from(&created).ok_or_else(|| StoreError::Malformed("the refund answer has no id".into()))
    }

    async fn refunds(&self, order_id: &str) -> Result<Vec<Refund>, StoreError> {
        numeric(order_id, "order id")?;
        Ok(self
            .client
            .refunds(order_id)
            .await?
            .iter()
            .filter_map(refund_from)
            .collect())
    }

    async fn adjust_stock(&self, changes: &[StockChange], reason: &str) -> Result<(), StoreError> {
        // A product tracked by product takes its stock by product id, whichever variant moved.
        let mut by_product: BTreeMap<u64, bool> = BTreeMap::new();
        let mut items: Vec<InventoryAdjustment> = Vec::new();
        for change in changes {
            let product_id = numeric(&change.product_id, "product id")?;
            let tracked_by_product = match by_product.get(&product_id) {
                Some(known) => *known,
                None => {
                    let product = self.client.product(&change.product_id).await?;
                    let known = product.is_some_and(|p| p.inventory_tracking == "product");
                    by_product.insert(product_id, known);
                    known
                }
            };
            let (variant_id, product_id) = if tracked_by_product {
                (None, Some(product_id))
            } else {
                (Some(numeric(&change.variant_id, "variant id")?), None)
            };
            match items
                .iter_mut()
                .find(|i| i.variant_id == variant_id && i.product_id == product_id)
            {
                Some(item) => item.quantity += change.delta,
                None => items.push(InventoryAdjustment {
                    location_id: DEFAULT_LOCATION,
                    variant_id,
                    product_id,
                    quantity: change.delta,
                }),
            }
        }
        items.retain(|i| i.quantity != 0);
        if items.is_empty() {
            return Ok(());
        }
        self.client.adjust_inventory(reason, &items).await
    }

    async fn restocks_on_refund(&self) -> Result<bool, StoreError> {
        let settings = self.client.inventory_settings().await?;
        // BigCommerce's default is on.
        Ok(settings["refund_order_stock_adjustment"].as_bool().unwrap_or(true))
    }

    async fn archive_order(&self, order_id: &str) -> Result<(), StoreError> {
        numeric(order_id, "order id")?;
        self.client.archive_order(order_id).await
    }

    async fn update_shipping_address(&self, order_id: &str, address: &Address) -> Result<(), StoreError> {
        numeric(order_id, "order id")?;
        let current = self.client.shipping_addresses(order_id).await?;
        let Some(first) = current.first() else {
            return Err(StoreError::NotFound(format!(
                "order {order_id} has no shipping address"
            )));
        };
        let shipping_method = first.address.shipping_method.as_deref();
        self.client
            .update_shipping_address(order_id, first.id, &address_to(address, shipping_method))
            .await
            .map(drop)
    }

    async fn shipments(&self, order_id: &str) -> Result<Vec<Shipment>, StoreError> {
        numeric(order_id, "order id")?;
        let shipments = self.client.shipments(order_id).await?;
        if shipments.is_empty() {
            return Ok(Vec::new());
        }
        let lines: HashMap<u64, u64> = self
            .client
            .order_products(order_id)
            .await?
            .into_iter()
            .map(|p| (p.id, p.variant_id))
            .collect();
        Ok(shipments
            .into_iter()
            .map(|s| Shipment {
                id: s.id.to_string(),
                order_id: s.order_id.to_string(),
                tracking_number: s.tracking_number,
                carrier: if s.tracking_carrier.is_empty() {
                    s.shipping_provider
                } else {
                    s.tracking_carrier
                },
                shipping_method: s.shipping_method,
                items: s
                    .items
                    .iter()
                    .map(|i| {
                        (
                            lines.get(&i.order_product_id).copied().unwrap_or_default().to_string(),
                            i.quantity,
                        )
                    })
                    .collect(),
            })
            .collect())
    }

    async fn subscribe_webhooks(
        &self,
        destination: &str,
        topics: &[Topic],
        secret: &str,
    ) -> Result<Vec<Subscription>, StoreError> {
        let existing = self.client.hooks().await?.data;
        let mut subscriptions = Vec::new();
        for topic in topics {
            let hook = BcHookPost {
                scope: scope_of(*topic).to_string(),
                destination: destination.to_string(),
                is_active: true,
                headers: BTreeMap::from([(SECRET_HEADER.to_string(), secret.to_string())]),
            };
            // One hook per (scope, destination): update the existing one instead of duplicating it.
            let saved = match existing
                .iter()
                .find(|h| h.scope == hook.scope && h.destination == destination)
            {
                Some(found) => self.client.update_hook(found.id, &hook).await?,
                None => self.client.create_hook(&hook).await?,
            };
            subscriptions.push(Subscription {
                id: saved.id.to_string(),
                topic: Some(*topic),
                destination: saved.destination,
                is_active: saved.is_active,
            });
        }
        Ok(subscriptions)
    }

    async fn unsubscribe_webhooks(&self) -> Result<(), StoreError> {
        for hook in self.client.hooks().await?.data {
            self.client.delete_hook(hook.id).await?;
        }
        Ok(())
    }

    /// Checks, in order: the per-store secret header (always; constant time), then the
    /// Standard Webhooks signature when the delivery carries one, with the key of the
    /// account that created the hook. A store connected by a store-level API account
    /// whose client secret the merchant did not give has no key: its signatures cannot
    /// be checked, and refusing them would refuse every delivery (BigCommerce then
    /// retries for 48 hours and deactivates the hooks), so such deliveries rest on the
    /// per-store secret header alone, which only BigCommerce and the connector know.
    /// `https://store-<hash>.mybigcommerce.com/manage/orders/<id>`: the control panel's
    /// order page.
    fn order_admin_url(&self, order_id: &str) -> String {
        format!(
            "https://store-{}.mybigcommerce.com/manage/orders/{order_id}",
            self.client.store_hash()
        )
    }

    fn parse_webhook(
        &self,
        headers: &[(String, String)],
        body: &[u8],
        secret: &str,
    ) -> Result<StoreChange, StoreError> {
        let header = |name: &str| {
            headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
        };
        let token_ok = header(SECRET_HEADER)
            .is_some_and(|sent| crate::crypto::constant_time_eq(sent.as_bytes(), secret.as_bytes()));
        if !token_ok {
            return Err(StoreError::WebhookRejected("missing or wrong secret header".into()));
        }
        if let (Some(id), Some(timestamp), Some(signatures), Some(key)) = (
            header("webhook-id"),
            header("webhook-timestamp"),
            header("webhook-signature"),
            &self.webhook_key,
        ) && !verify_standard_webhook(
            key.expose().as_bytes(),
            id,
            timestamp,
            body,
            signatures,
            crate::storage::unix_now(),
        ) {
            return Err(StoreError::WebhookRejected("webhook-signature does not match".into()));
        }
        let delivery: DeliveryBody =
            serde_json::from_slice(body).map_err(|e| StoreError::WebhookRejected(format!("malformed body: {e}")))?;
        let store = delivery.producer.strip_prefix("stores/").unwrap_or_default();
        if store != self.client.store_hash() {
            return Err(StoreError::WebhookRejected(format!(
                "delivery for store {store:?}, not this store"
            )));
        }
        let id = id_text(&delivery.data["id"]);
        let missing = || StoreError::WebhookRejected(format!("{} without an id", delivery.scope));
        let event = match topic_of(&delivery.scope) {
            Some(topic @ (Topic::ProductCreated | Topic::ProductUpdated | Topic::ProductDeleted)) => {
                StoreEvent::Product {
                    topic,
                    product_id: id.ok_or_else(missing)?,
                }
            }
            Some(Topic::ProductInventoryUpdated | Topic::ProductInventoryOrderUpdated) => StoreEvent::Inventory {
                product_id: id.ok_or_else(missing)?,
                variant_id: None,
            },
            Some(Topic::VariantInventoryUpdated | Topic::VariantInventoryOrderUpdated) => StoreEvent::Inventory {
                product_id: id_text(&delivery.data["inventory"]["product_id"]).ok_or_else(missing)?,
                variant_id: id_text(&delivery.data["inventory"]["variant_id"]),
            },
            Some(Topic::OrderStatusUpdated) => StoreEvent::OrderStatus {
                order_id: id.ok_or_else(missing)?,
                new_status: id_text(&delivery.data["status"]["new_status_id"])
                    .and_then(|id| id.parse().ok())
                    .map(status_of),
            },
            Some(Topic::ShipmentCreated | Topic::ShipmentUpdated) => StoreEvent::Shipment {
                order_id: id_text(&delivery.data["orderId"]).ok_or_else(missing)?,
                shipment_id: id.ok_or_else(missing)?,
            },
            Some(Topic::AppUninstalled) => StoreEvent::AppUninstalled,
            None => StoreEvent::Other {
                scope: delivery.scope.clone(),
            },
        };
        // One event, the same across its re-deliveries. `hash` may be the SHA-1 of `data`
        // alone (§1.8): equal for two edits of one product, and for the created and
        // updated events of one shipment. So the scope and `created_at` go with it, and
        // the Standard Webhooks `webhook-id` (stable across retries) when the delivery
        // carries one, which also parts two events of one product in one second. The
        // store leads the key: one store's deliveries can never claim another's.
        let event_hash = delivery
            .hash
            .clone()
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| delivery.data.to_string());
        let dedupe_key = crate::crypto::sha256_hex(
            format!(
                "{store}|{}|{event_hash}|{}|{}",
                delivery.scope,
                delivery.created_at,
                header("webhook-id").unwrap_or_default()
            )
            .as_bytes(),
        );
        Ok(StoreChange {
            store: store.to_string(),
            event,
            dedupe_key,
            created_at: delivery.created_at,
        })
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;

    use super::*;

    /// The published Standard Webhooks vectors (reference §1.8.1; the spec repository's
    /// library tests), the same the BigCommerce sandbox's signer is checked against.
    #[test]
    fn standard_webhooks_reference_vector() {
        let key = base64::engine::general_purpose::STANDARD
            .decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
            .unwrap();
        let (id, ts, body) = ("msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", br#"{"test": 2432232314}"#);
        let signature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
        assert!(verify_standard_webhook(&key, id, ts, body, signature, 1_614_265_330));
        assert!(
            verify_standard_webhook(&key, id, ts, body, &format!("v1,AAAA {signature}"), 1_614_265_400),
            "any v1 entry"
        );
        assert!(
            !verify_standard_webhook(&key, id, ts, body, signature, 1_614_265_330 + 301),
            "stale"
        );
        assert!(!verify_standard_webhook(
            &key,
            id,
            ts,
            br#"{"test": 2432232315}"#,
            signature,
            1_614_265_330
        ));
        assert!(!verify_standard_webhook(&key, id, ts, body, "v1a,abc", 1_614_265_330));
        // The input `cargo fuzz run bigcommerce_webhook` found, and the unauthenticated
        // header that overflowed at any real `now`: refused as stale.
        assert!(!verify_standard_webhook(
            &key,
            "88",
            "8987777777777777777",
            body,
            "",
            -3_689_348_814_741_910_273
        ));
        assert!(!verify_standard_webhook(
            &key,
            id,
            "-9223372036854775808",
            body,
            signature,
            1_614_265_330
        ));
        // The vector of the Standard Webhooks Rust library's own tests.
        let key = base64::engine::general_purpose::STANDARD
            .decode("C2FVsBQIhrscChlQIMV+b5sSYspob7oD")
            .unwrap();
        let body = br#"{"email":"test@example.com","username":"test_user"}"#;
        let (id, ts) = ("msg_27UH4WbU6Z5A5EzD8u03UvzRbpk", "1649367553");
        let signature = "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=";
        assert!(verify_standard_webhook(&key, id, ts, body, signature, 1_649_367_553));
        assert!(!verify_standard_webhook(
            b"another key",
            id,
            ts,
            body,
            signature,
            1_649_367_553
        ));
    }

    fn store(webhook_key: Option<&str>) -> BigCommerce {
        store_of("abc123", webhook_key)
    }

    fn store_of(store_hash: &str, webhook_key: Option<&str>) -> BigCommerce {
        let config = ClientConfig::new(store_hash, SecretString::new("token".into()));
        BigCommerce::new(
            Client::new(config).unwrap(),
            webhook_key.map(|k| SecretString::new(k.into())),
            "4242".into(),
        )
    }

    /// A delivery whose `hash` depends on `data` alone (the stricter reading of §1.8).
    fn delivery(scope: &str, data: serde_json::Value, created_at: i64) -> Vec<u8> {
        let hash = crate::crypto::sha256_hex(data.to_string().as_bytes())[..40].to_string();
        serde_json::json!({"scope": scope, "store_id": "1", "data": data, "hash": hash, "created_at": created_at,
                           "producer": "stores/abc123"})
        .to_string()
        .into_bytes()
    }

    #[test]
    fn one_stores_delivery_never_shares_a_key_with_anothers() {
        let body = |store_hash: &str| {
            let mut body: serde_json::Value = serde_json::from_slice(&delivery(
                "store/product/updated",
                serde_json::json!({"type": "product", "id": 7}),
                1,
            ))
            .unwrap();
            body["producer"] = format!("stores/{store_hash}").into();
            body.to_string().into_bytes()
        };
        let headers = vec![
            (SECRET_HEADER.to_lowercase(), "s".to_string()),
            ("webhook-id".to_string(), "msg_a".to_string()),
        ];
        let key = |store_hash: &str| {
            store_of(store_hash, None)
                .parse_webhook(&headers, &body(store_hash), "s")
                .unwrap()
                .dedupe_key
        };
        assert_ne!(
            key("abc123"),
            key("xyz789"),
            "same hash, webhook-id and second, two stores"
        );
    }

    #[test]
    fn two_events_with_one_hash_are_told_apart_by_scope_and_created_at_and_order_stock_is_inventory() {
        let store = store(None);
        let headers = vec![(SECRET_HEADER.to_lowercase(), "s".to_string())];
        let data = serde_json::json!({"type": "product", "id": 7});
        let parse = |body: Vec<u8>| store.parse_webhook(&headers, &body, "s").unwrap();
        let first = parse(delivery("store/product/updated", data.clone(), 1_700_000_000));
        let again = parse(delivery("store/product/updated", data.clone(), 1_700_000_000));
        let later = parse(delivery("store/product/updated", data.clone(), 1_700_003_600));
        let created = parse(delivery("store/product/created", data, 1_700_000_000));
        assert_eq!(first.dedupe_key, again.dedupe_key, "a re-delivery is a duplicate");
        assert_ne!(first.dedupe_key, later.dedupe_key, "a later edit is not");
        assert_ne!(first.dedupe_key, created.dedupe_key, "nor another event of that second");
        let with_id = |id: &str| {
            let headers = vec![
                (SECRET_HEADER.to_lowercase(), "s".to_string()),
                ("webhook-id".to_string(), id.to_string()),
            ];
            let body = delivery(
                "store/product/updated",
                serde_json::json!({"type": "product", "id": 7}),
                1,
            );
            store.parse_webhook(&headers, &body, "s").unwrap().dedupe_key
        };
        assert_eq!(with_id("msg_a"), with_id("msg_a"), "retries keep their webhook-id");
        assert_ne!(with_id("msg_a"), with_id("msg_b"), "two events of one second");

        let product = parse(delivery(
            "store/product/inventory/order/updated",
            serde_json::json!({"type": "product", "id": 7, "inventory": {"product_id": 7, "method": "relative", "value": -2}}),
            1,
        ));
        assert_eq!(
            product.event,
            StoreEvent::Inventory {
                product_id: "7".into(),
                variant_id: None
            }
        );
        let sku = parse(delivery(
            "store/sku/inventory/order/updated",
            serde_json::json!({"type": "sku", "id": 461, "inventory": {"product_id": 7, "variant_id": 509, "method": "relative", "value": -1}}),
            1,
        ));
        assert_eq!(
            sku.event,
            StoreEvent::Inventory {
                product_id: "7".into(),
                variant_id: Some("509".into())
            }
        );
    }

    #[test]
    fn signatures_are_checked_with_the_creating_accounts_key_when_the_connector_holds_it() {
        use base64::engine::general_purpose::STANDARD;
        use hmac::{Hmac, KeyInit, Mac};
        let body = delivery(
            "store/product/updated",
            serde_json::json!({"type": "product", "id": 7}),
            1,
        );
        let now = crate::storage::unix_now();
        let signed = |key: &[u8], sent_at: i64| {
            let mut mac = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(key).unwrap();
            mac.update(format!("msg_1.{sent_at}.").as_bytes());
            mac.update(&body);
            vec![
                (SECRET_HEADER.to_lowercase(), "s".to_string()),
                ("webhook-id".to_string(), "msg_1".to_string()),
                ("webhook-timestamp".to_string(), sent_at.to_string()),
                (
                    "webhook-signature".to_string(),
                    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes())),
                ),
            ]
        };
        let keyed = store(Some("account-secret"));
        assert!(keyed.parse_webhook(&signed(b"account-secret", now), &body, "s").is_ok());
        for (headers, case) in [
            (signed(b"app-secret", now), "another account's key"),
            (signed(b"account-secret", now - 301), "stale"),
        ] {
            assert!(
                matches!(
                    keyed.parse_webhook(&headers, &body, "s"),
                    Err(StoreError::WebhookRejected(_))
                ),
                "{case}"
            );
        }
        let keyless = store(None);
        assert!(
            keyless.parse_webhook(&signed(b"unknown", now), &body, "s").is_ok(),
            "no key: the header secret alone"
        );
        assert!(keyless.parse_webhook(&signed(b"unknown", now), &body, "other").is_err());
    }

    #[test]
    fn status_ids_round_trip() {
        for status in [
            OrderStatus::Pending,
            OrderStatus::Shipped,
            OrderStatus::Cancelled,
            OrderStatus::AwaitingFulfillment,
        ] {
            assert_eq!(status_of(status_id(&status)), status);
        }
        assert_eq!(status_of(13), OrderStatus::Other("13".into()));
    }
}
