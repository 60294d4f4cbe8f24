//! The BigCommerce binding: the sandbox of `infra/bigcommerce-sandbox` started in
//! process, the app installed the way a merchant installs it (Install click, code
//! exchange), the adapter built on the installed store's token, and [`SandboxStore`]
//! through the sandbox's `/sandbox/` admin routes.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::{Context as _, bail};
use async_trait::async_trait;
use bigcommerce_sandbox::{Sandbox, SandboxConfig};
use connector::secrets::SecretString;
use connector::store::OrderStatus;
use connector::store::bigcommerce::{BigCommerce, Client, ClientConfig, exchange_code};
use serde_json::{Value, json};

use crate::kit::{Admin, money, text};
use crate::suite::{Bench, Fault, HeldOrder, HeldProduct, HeldShipment, HeldVariant, Injected, SandboxStore, Setup};

/// The sandbox store's hash.
const STORE: &str = "conformance";
/// The app's client id.
const CLIENT_ID: &str = "conformance-client";
/// The app's client secret (also the key of its webhooks' signatures).
const CLIENT_SECRET: &str = "conformance-secret";
/// The app's auth callback.
const CALLBACK: &str = "https://app.example.com/bigcommerce/auth";
/// BigCommerce's only location in the sandbox (the default one, id 1).
const LOCATION: &str = "1";

/// Starts a BigCommerce sandbox on a free port with `setup`'s catalogue, installs the
/// app, and connects the adapter with the installed store's token.
pub fn start(setup: Setup) -> std::pin::Pin<Box<dyn std::future::Future<Output = Bench> + Send>> {
    Box::pin(async move {
        let config = SandboxConfig {
            client_id: CLIENT_ID.into(),
            client_secret: CLIENT_SECRET.into(),
            stores: vec![STORE.into()],
            products: setup.products,
            auth_callback_url: Some(CALLBACK.into()),
            quota: 10_000,
            window: Duration::from_secs(1),
            ..SandboxConfig::default()
        };
        let addr = Sandbox::new(config)
            .serve("127.0.0.1:0".parse().expect("an address"))
            .await
            .expect("the sandbox serves");
        let base = format!("http://{addr}");
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("an HTTP client");
        let redirect = http
            .get(format!("{base}/sandbox/install?store_hash={STORE}"))
            .send()
            .await
            .expect("the merchant clicks Install");
        let location = url::Url::parse(redirect.headers()["location"].to_str().expect("a redirect location"))
            .expect("a redirect URL");
        let query: HashMap<String, String> = location.query_pairs().into_owned().collect();
        let grant = exchange_code(
            &http,
            &base,
            CLIENT_ID,
            &SecretString::new(CLIENT_SECRET.into()),
            &query["code"],
            &query["scope"],
            &query["context"],
            CALLBACK,
        )
        .await
        .expect("the code is exchanged");
        let mut client = ClientConfig::new(STORE, grant.access_token);
        client.api_base = base.clone();
        let store = BigCommerce::new(
            Client::new(client).expect("a client"),
            Some(SecretString::new(CLIENT_SECRET.into())),
            "4242".into(),
        );
        Bench {
            store: Box::new(store),
            sandbox: Box::new(BigCommerceSandbox {
                admin: Admin::new(&base, http),
            }),
        }
    })
}

/// The BigCommerce sandbox through its admin routes.
struct BigCommerceSandbox {
    admin: Admin,
}

/// The store-neutral status of a BigCommerce status id, from BigCommerce's status
/// table (kept apart from the adapter's mapping, which the checks test).
fn status_of(status_id: u64) -> OrderStatus {
    match status_id {
        1 => OrderStatus::Pending,
        2 => OrderStatus::Shipped,
        3 => OrderStatus::PartiallyShipped,
        4 => OrderStatus::Refunded,
        5 => OrderStatus::Cancelled,
        9 => OrderStatus::AwaitingShipment,
        10 => OrderStatus::Completed,
        11 => OrderStatus::AwaitingFulfillment,
        14 => OrderStatus::PartiallyRefunded,
        other => OrderStatus::Other(other.to_string()),
    }
}

impl BigCommerceSandbox {
    async fn products(&self) -> anyhow::Result<Vec<Value>> {
        let answer = self
            .admin
            .call(
                reqwest::Method::GET,
                &format!("/sandbox/products?store_hash={STORE}"),
                None,
            )
            .await?;
        serde_json::from_value(answer).context("the sandbox's products")
    }
}

#[async_trait]
impl SandboxStore for BigCommerceSandbox {
    async fn catalogue(&self) -> anyhow::Result<Vec<HeldProduct>> {
        let mut products: Vec<HeldProduct> = self
            .products()
            .await?
            .iter()
            .map(|p| HeldProduct {
                id: text(&p["id"]),
                variants: p["variants"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|v| HeldVariant {
                        id: text(&v["id"]),
                        sku: text(&v["sku"]),
                        options: v["option_values"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .map(|o| (text(&o["option_display_name"]), text(&o["label"])))
                            .collect(),
                    })
                    .collect(),
            })
            .collect();
        products.sort_by_key(|p| p.id.parse::<u64>().unwrap_or_default());
        Ok(products)
    }

    fn locations(&self) -> Vec<String> {
        vec![LOCATION.into()]
    }

    async fn set_stock(&self, product_id: &str, variant_id: &str, location: &str, level: i64) -> anyhow::Result<()> {
        if location != LOCATION {
            bail!("the BigCommerce sandbox has only location {LOCATION}, not {location}");
        }
        let variant_id: u64 = variant_id.parse()?;
        self.admin
            .post(
                &format!("/sandbox/products/{product_id}/stock?store_hash={STORE}"),
                json!({"variant_id": variant_id, "inventory_level": level}),
            )
            .await
    }

    async fn stock(&self, product_id: &str, variant_id: &str) -> anyhow::Result<i64> {
        let products = self.products().await?;
        let product = products
            .iter()
            .find(|p| text(&p["id"]) == product_id)
            .with_context(|| format!("no product {product_id}"))?;
        product["variants"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|v| text(&v["id"]) == variant_id)
            .and_then(|v| v["inventory_level"].as_i64())
            .with_context(|| format!("no variant {variant_id} of product {product_id}"))
    }

    async fn edit_product(&self, product_id: &str, name: &str) -> anyhow::Result<()> {
        self.admin
            .post(
                &format!("/sandbox/products/{product_id}?store_hash={STORE}"),
                json!({ "name": name }),
            )
            .await
    }

    async fn delete_product(&self, product_id: &str) -> anyhow::Result<()> {
        self.admin
            .delete(&format!("/sandbox/products/{product_id}?store_hash={STORE}"))
            .await
    }

    async fn storefront_sale(&self, product_id: &str, variant_id: &str, quantity: u32) -> anyhow::Result<String> {
        let line = json!({"product_id": product_id.parse::<u64>()?, "variant_id": variant_id.parse::<u64>()?,
                          "quantity": quantity});
        let order = self
            .admin
            .call(
                reqwest::Method::POST,
                &format!("/sandbox/orders?store_hash={STORE}"),
                Some(json!({ "products": [line] })),
            )
            .await?;
        Ok(text(&order["id"]))
    }

    async fn ship(&self, order_id: &str, tracking_number: &str, carrier: &str) -> anyhow::Result<()> {
        self.admin
            .post(
                &format!("/sandbox/orders/{order_id}/shipments"),
                json!({"tracking_number": tracking_number, "shipping_provider": carrier}),
            )
            .await
    }

    fn carrier(&self) -> String {
        "ups".into()
    }

    async fn orders_by_external_id(&self, external_order_id: &str) -> anyhow::Result<Vec<HeldOrder>> {
        let orders: Vec<Value> =
            serde_json::from_value(self.admin.call(reqwest::Method::GET, "/sandbox/orders", None).await?)?;
        Ok(orders
            .iter()
            .filter(|o| o["store_hash"] == STORE && o["external_order_id"] == external_order_id)
            .map(|o| HeldOrder {
                id: text(&o["id"]),
                status: status_of(o["status_id"].as_u64().unwrap_or_default()),
                total: money(&o["total_inc_tax"]),
                refunded: money(&o["refunded_amount"]),
                shipments: o["shipments"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|s| HeldShipment {
                        tracking_number: text(&s["tracking_number"]),
                        carrier: text(&s["shipping_provider"]),
                    })
                    .collect(),
            })
            .collect())
    }

    async fn revoke_access(&self) -> anyhow::Result<()> {
        self.admin
            .call(
                reqwest::Method::POST,
                &format!("/sandbox/uninstall?store_hash={STORE}"),
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
