//! The Magento 2 binding: the sandbox of `infra/magento2-sandbox` started in process
//! with its default integration (every ACL resource), the adapter signing with that
//! integration's four credentials, and [`SandboxStore`] through the sandbox's
//! `/sandbox/` admin routes.
//!
//! A variant the suite names is the adapter's `{configurable id}:{child id}` for a
//! configurable product's child and the product's own id for a simple product: how
//! this store addresses the simple product sold within a product.

use std::time::Duration;

use anyhow::Context as _;
use async_trait::async_trait;
use connector::secrets::SecretString;
use connector::store::OrderStatus;
use connector::store::magento2::{Client, ClientConfig, Credentials, Magento2};
use magento2_sandbox::{Sandbox, SandboxConfig};
use serde_json::{Value, json};

use crate::kit::{Admin, money, text};
use crate::suite::{Bench, Fault, HeldOrder, HeldProduct, HeldShipment, Injected, SandboxStore, Setup};

/// The store's MSI sources, in the order the sandbox seeds them.
const SOURCES: [&str; 2] = ["default", "warehouse_2"];

/// Starts a Magento 2 sandbox with multi-source inventory on a free port with
/// `setup`'s catalogue and connects the adapter with its integration's credentials.
pub fn start(setup: Setup) -> std::pin::Pin<Box<dyn std::future::Future<Output = Bench> + Send>> {
    start_with(setup, true)
}

/// [`start`] for a store on the legacy single-source stock (no MSI modules).
pub fn start_legacy(setup: Setup) -> std::pin::Pin<Box<dyn std::future::Future<Output = Bench> + Send>> {
    start_with(setup, false)
}

fn start_with(setup: Setup, msi: bool) -> std::pin::Pin<Box<dyn std::future::Future<Output = Bench> + Send>> {
    Box::pin(async move {
        let integration = SandboxConfig::default_integration();
        let config = SandboxConfig {
            products: setup.products,
            msi,
            ..SandboxConfig::default()
        };
        let addr = Sandbox::new(config)
            .serve("127.0.0.1:0".parse().expect("an address"))
            .await
            .expect("the sandbox serves");
        let base = format!("http://{addr}");
        let credentials = Credentials {
            consumer_key: integration.consumer_key.clone(),
            consumer_secret: SecretString::new(integration.consumer_secret.clone()),
            access_token: integration.access_token.clone(),
            access_token_secret: SecretString::new(integration.access_token_secret.clone()),
        };
        let client = Client::new(ClientConfig::new(&base, "default", credentials)).expect("a client");
        Bench {
            store: Box::new(Magento2::new(client)),
            sandbox: Box::new(MagentoSandbox {
                admin: Admin::new(&base, reqwest::Client::new()),
                consumer_key: integration.consumer_key,
                sources: if msi { &SOURCES } else { &SOURCES[..1] },
            }),
        }
    })
}

/// The Magento 2 sandbox through its admin routes.
struct MagentoSandbox {
    admin: Admin,
    consumer_key: String,
    /// The sources in use (`default` alone standing for the legacy stock item).
    sources: &'static [&'static str],
}

/// The store-neutral status of an order from its Magento status code: Magento's own
/// (`pending`, `processing`, `complete` = shipped and invoiced, `closed` = refunded,
/// `canceled`) and the codes this store is set up with for the rest (kept apart from
/// the adapter's mapping, which the checks test).
fn status_of(status: &str) -> OrderStatus {
    match status {
        "pending" => OrderStatus::Pending,
        "processing" => OrderStatus::AwaitingFulfillment,
        "awaiting_shipment" => OrderStatus::AwaitingShipment,
        "complete" => OrderStatus::Shipped,
        "completed" => OrderStatus::Completed,
        "closed" => OrderStatus::Refunded,
        "canceled" => OrderStatus::Cancelled,
        other => OrderStatus::Other(other.to_string()),
    }
}

impl MagentoSandbox {
    /// The SKU of the simple product a suite variant names.
    async fn sku(&self, product_id: &str, variant_id: &str) -> anyhow::Result<String> {
        self.catalogue()
            .await?
            .into_iter()
            .find(|p| p.id == product_id)
            .and_then(|p| p.variants.into_iter().find(|v| v.id == variant_id))
            .map(|v| v.sku)
            .with_context(|| format!("no variant {variant_id} of product {product_id}"))
    }
}

#[async_trait]
impl SandboxStore for MagentoSandbox {
    async fn catalogue(&self) -> anyhow::Result<Vec<HeldProduct>> {
        let products: Vec<Value> = serde_json::from_value(
            self.admin
                .call(reqwest::Method::GET, "/sandbox/catalogue", None)
                .await?,
        )?;
        Ok(crate::kit::held_products(&products, "children", "sku"))
    }

    fn locations(&self) -> Vec<String> {
        self.sources.iter().map(|s| s.to_string()).collect()
    }

    async fn set_stock(&self, product_id: &str, variant_id: &str, location: &str, level: i64) -> anyhow::Result<()> {
        let sku = self.sku(product_id, variant_id).await?;
        self.admin
            .post(
                "/sandbox/stock",
                json!({"sku": sku, "source_code": location, "quantity": level}),
            )
            .await
    }

    async fn stock(&self, product_id: &str, variant_id: &str) -> anyhow::Result<i64> {
        let sku = self.sku(product_id, variant_id).await?;
        let answer = self
            .admin
            .call(reqwest::Method::GET, &format!("/sandbox/salable/{sku}"), None)
            .await?;
        answer["salable"]
            .as_f64()
            .map(|salable| salable as i64)
            .with_context(|| format!("no salable quantity of {sku}: {answer}"))
    }

    async fn edit_product(&self, product_id: &str, name: &str) -> anyhow::Result<()> {
        self.admin
            .post(&format!("/sandbox/products/{product_id}"), json!({ "name": name }))
            .await
    }

    async fn delete_product(&self, product_id: &str) -> anyhow::Result<()> {
        self.admin.delete(&format!("/sandbox/products/{product_id}")).await
    }

    async fn storefront_sale(&self, product_id: &str, variant_id: &str, quantity: u32) -> anyhow::Result<String> {
        let sku = self.sku(product_id, variant_id).await?;
        let order = self
            .admin
            .call(
                reqwest::Method::POST,
                "/sandbox/storefront-sale",
                Some(json!({"sku": sku, "qty": quantity})),
            )
            .await?;
        Ok(text(&order["order_id"]))
    }

    async fn ship(&self, order_id: &str, tracking_number: &str, carrier: &str) -> anyhow::Result<()> {
        self.admin
            .call(
                reqwest::Method::POST,
                &format!("/sandbox/orders/{order_id}/ship"),
                Some(
                    json!({"track_number": tracking_number, "carrier_code": carrier, "title": "United Parcel Service"}),
                ),
            )
            .await
            .map(drop)
    }

    fn carrier(&self) -> String {
        "ups".into()
    }

    async fn orders_by_external_id(&self, external_order_id: &str) -> anyhow::Result<Vec<HeldOrder>> {
        let orders: Vec<Value> = serde_json::from_value(
            self.admin
                .call(
                    reqwest::Method::GET,
                    &format!("/sandbox/orders?ext_order_id={external_order_id}"),
                    None,
                )
                .await?,
        )?;
        Ok(orders
            .iter()
            .filter(|o| o["ext_order_id"] == external_order_id)
            .map(|o| HeldOrder {
                id: text(&o["id"]),
                status: status_of(o["status"].as_str().unwrap_or_default()),
                total: money(&o["grand_total"]),
                refunded: money(&o["total_refunded"]),
                shipments: o["shipments"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .flat_map(|s| s["tracks"].as_array().cloned().unwrap_or_default())
                    .map(|t| HeldShipment {
                        tracking_number: text(&t["track_number"]),
                        carrier: text(&t["carrier_code"]),
                    })
                    .collect(),
            })
            .collect())
    }

    async fn revoke_access(&self) -> anyhow::Result<()> {
        self.admin
            .call(
                reqwest::Method::POST,
                &format!("/sandbox/integrations/{}/revoke", self.consumer_key),
                None,
            )
            .await
            .map(drop)
    }

    fn absent_id(&self) -> String {
        "987654321".into()
    }

    async fn inject(&self, fault: Fault) -> anyhow::Result<Duration> {
        self.admin.inject(fault).await
    }

    async fn injected(&self) -> anyhow::Result<Injected> {
        self.admin.injected().await
    }
}

crate::suite::conformance_tests!(start);

/// The suite again against a store on the legacy single-source stock.
mod legacy_stock {
    crate::suite::conformance_tests!(super::start_legacy);
}

/// The access token alone, as a Bearer token, is accepted by a store that allows it and
/// refused (as `Unauthorized`, naming the resource) by one that does not, which is every
/// store by default since Magento 2.4.4.
#[tokio::test]
async fn a_bearer_token_works_only_where_the_store_allows_it() {
    use connector::store::{StoreError, StorePlatform as _};
    for allowed in [true, false] {
        let addr = Sandbox::new(SandboxConfig {
            bearer_enabled: allowed,
            ..SandboxConfig::default()
        })
        .serve("127.0.0.1:0".parse().expect("an address"))
        .await
        .expect("the sandbox serves");
        let integration = SandboxConfig::default_integration();
        let credentials = Credentials {
            consumer_key: integration.consumer_key,
            consumer_secret: SecretString::new(integration.consumer_secret),
            access_token: integration.access_token,
            access_token_secret: SecretString::new(integration.access_token_secret),
        };
        let config = ClientConfig::authorized(&format!("http://{addr}"), "default", credentials, true);
        let store = Magento2::new(Client::new(config).expect("a client"));
        let profile = store.profile().await;
        if allowed {
            assert_eq!(profile.expect("a Bearer token where allowed").currency, "USD");
        } else {
            assert!(
                matches!(&profile, Err(StoreError::Unauthorized(words)) if words.contains("Magento_Backend::store")),
                "a Bearer token where not allowed: {profile:?}"
            );
        }
    }
}

/// Holding an order uses Magento's hold action (state `holded`), and a later status
/// releases it first; the sandbox's own state says so.
#[tokio::test]
async fn an_order_is_held_and_released_through_magentos_actions() {
    let bench = start(Setup { products: 10 }).await;
    let catalogue = crate::suite::Catalogue::read(&bench).await;
    let external_id = "576461413000000901";
    let (id, _) = crate::suite::place(&bench, &catalogue, external_id).await;
    let state = || async {
        let orders = bench
            .sandbox
            .orders_by_external_id(external_id)
            .await
            .expect("the sandbox lists its orders");
        assert_eq!(orders.len(), 1);
        orders[0].status.clone()
    };
    bench
        .store
        .update_order_status(&id, &OrderStatus::Other("holded".into()))
        .await
        .expect("the order is held");
    assert_eq!(state().await, OrderStatus::Other("holded".into()));
    bench
        .store
        .update_order_status(&id, &OrderStatus::AwaitingShipment)
        .await
        .expect("the order is released and moved on");
    assert_eq!(state().await, OrderStatus::AwaitingShipment);
}

/// Where OAuth 1.0a signing goes wrong: secrets and keys with reserved characters, and
/// query values with spaces, `%`, `+`, commas and non-ASCII letters inside Magento's
/// bracketed `searchCriteria[…]` names. The sandbox verifies each with its own signer.
#[tokio::test]
async fn signatures_hold_for_reserved_characters_in_secrets_and_query_values() {
    use connector::store::magento2::client::{SearchCriteria, SearchResults};
    let integration = magento2_sandbox::Integration {
        consumer_key: "key with space+plus".into(),
        consumer_secret: "s&cr=t/+%20 é".into(),
        access_token: "tok~en.-_".into(),
        access_token_secret: "t&s=/+% ü".into(),
        ..SandboxConfig::default_integration()
    };
    let addr = Sandbox::new(SandboxConfig {
        products: 12,
        integrations: vec![integration.clone()],
        ..SandboxConfig::default()
    })
    .serve("127.0.0.1:0".parse().expect("an address"))
    .await
    .expect("the sandbox serves");
    let credentials = Credentials {
        consumer_key: integration.consumer_key,
        consumer_secret: SecretString::new(integration.consumer_secret),
        access_token: integration.access_token,
        access_token_secret: SecretString::new(integration.access_token_secret),
    };
    let client = Client::new(ClientConfig::new(&format!("http://{addr}"), "default", credentials)).expect("a client");
    let criteria = SearchCriteria::new(50)
        .filter("name", "like", "%Product 1%")
        .any_of(&[
            ("sku", "in", "SKU-00001,SKU-00011".to_string()),
            ("name", "eq", "Ärmel + 100% Wolle".to_string()),
        ])
        .sort("entity_id", "ASC");
    let found: SearchResults<Value> = client
        .search("/products", &criteria)
        .await
        .expect("a signed search with reserved characters is accepted");
    let skus: Vec<String> = found.items.iter().map(|p| text(&p["sku"])).collect();
    assert_eq!(skus, ["SKU-00001", "SKU-00011"]);
}
