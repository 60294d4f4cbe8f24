//! The PrestaShop binding: the sandbox of `infra/prestashop-sandbox` started in process
//! with its default webservice key (every resource) and order state ids shifted away
//! from PrestaShop's defaults (they vary per install: the adapter must read them), the
//! adapter with that key, and [`SandboxStore`] through the sandbox's `/sandbox/` admin
//! routes.
//!
//! A variant the suite names is the adapter's `{product id}:{combination id}` for a
//! combination and the product's own id for a product without combinations.

use std::time::Duration;

use anyhow::Context as _;
use async_trait::async_trait;
use connector::secrets::SecretString;
use connector::store::OrderStatus;
use connector::store::prestashop::{Client, ClientConfig, PrestaShop};
use prestashop_sandbox::{Sandbox, SandboxConfig};
use serde_json::{Value, json};

use crate::kit::{Admin, money, text};
use crate::suite::{Bench, Fault, HeldOrder, HeldProduct, HeldShipment, Injected, SandboxStore, Setup};

/// How far the sandbox's order state ids are moved from PrestaShop's defaults.
const STATE_ID_OFFSET: u32 = 40;

/// The carrier the merchant ships with in the checks (the sandbox's second carrier).
const CARRIER: (u64, &str) = (2, "My carrier");

/// Starts a PrestaShop sandbox on a free port with `setup`'s catalogue and connects the
/// adapter with its default key.
pub fn start(setup: Setup) -> std::pin::Pin<Box<dyn std::future::Future<Output = Bench> + Send>> {
    Box::pin(async move {
        let key = SandboxConfig::default_key();
        let config = SandboxConfig {
            products: setup.products,
            state_id_offset: STATE_ID_OFFSET,
            ..SandboxConfig::default()
        };
        let addr = Sandbox::new(config)
            .serve("127.0.0.1:0".parse().expect("an address"))
            .await
            .expect("the sandbox serves");
        let base = format!("http://{addr}");
        let client = Client::new(ClientConfig::new(&base, SecretString::new(key.key.clone()), 1)).expect("a client");
        Bench {
            store: Box::new(PrestaShop::new(client, false)),
            sandbox: Box::new(PrestaShopSandbox {
                admin: Admin::new(&base, reqwest::Client::new()),
                key: key.key,
            }),
        }
    })
}

/// The PrestaShop sandbox through its admin routes.
struct PrestaShopSandbox {
    admin: Admin,
    key: String,
}

/// The store-neutral status of an order from its state's name in the shop (kept apart
/// from the adapter's mapping by configuration ids, which the checks test).
fn status_of(state_name: &str) -> OrderStatus {
    match state_name {
        "Payment accepted" | "Remote payment accepted" => OrderStatus::AwaitingFulfillment,
        "Processing in progress" => OrderStatus::AwaitingShipment,
        "Shipped" => OrderStatus::Shipped,
        "Delivered" => OrderStatus::Completed,
        "Canceled" => OrderStatus::Cancelled,
        "Refunded" => OrderStatus::Refunded,
        other => OrderStatus::Other(other.to_string()),
    }
}

/// `(id_product, id_product_attribute)` of a suite variant id.
fn ids_of(variant_id: &str) -> anyhow::Result<(u64, u64)> {
    let (product, combination) = variant_id.split_once(':').unwrap_or((variant_id, "0"));
    Ok((product.parse()?, combination.parse()?))
}

#[async_trait]
impl SandboxStore for PrestaShopSandbox {
    async fn catalogue(&self) -> anyhow::Result<Vec<HeldProduct>> {
        let products: Vec<Value> = serde_json::from_value(
            self.admin
                .call(reqwest::Method::GET, "/sandbox/catalogue", None)
                .await?,
        )?;
        Ok(crate::kit::held_products(&products, "combinations", "reference"))
    }

    fn locations(&self) -> Vec<String> {
        vec!["shop 1".into()]
    }

    async fn set_stock(&self, _product_id: &str, variant_id: &str, _location: &str, level: i64) -> anyhow::Result<()> {
        let (product, combination) = ids_of(variant_id)?;
        self.admin
            .post(
                "/sandbox/stock",
                json!({"id_product": product, "id_product_attribute": combination, "quantity": level}),
            )
            .await
    }

    async fn stock(&self, _product_id: &str, variant_id: &str) -> anyhow::Result<i64> {
        let (product, combination) = ids_of(variant_id)?;
        let answer = self
            .admin
            .call(
                reqwest::Method::GET,
                &format!("/sandbox/stock?id_product={product}&id_product_attribute={combination}"),
                None,
            )
            .await?;
        answer["quantity"]
            .as_i64()
            .with_context(|| format!("no stock of {variant_id}: {answer}"))
    }

    async fn edit_product(&self, product_id: &str, name: &str) -> anyhow::Result<()> {
        self.admin
            .post(&format!("/sandbox/products/{product_id}"), json!({ "name": name }))
            .await
    }

    async fn delete_product(&self, product_id: &str) -> anyhow::Result<()> {
        self.admin.delete(&format!("/sandbox/products/{product_id}")).await
    }

    async fn storefront_sale(&self, _product_id: &str, variant_id: &str, quantity: u32) -> anyhow::Result<String> {
        let (product, combination) = ids_of(variant_id)?;
        let order = self
            .admin
            .call(
                reqwest::Method::POST,
                "/sandbox/storefront-sale",
                Some(json!({"id_product": product, "id_product_attribute": combination, "quantity": quantity})),
            )
            .await?;
        Ok(text(&order["id_order"]))
    }

    async fn ship(&self, order_id: &str, tracking_number: &str, _carrier: &str) -> anyhow::Result<()> {
        self.admin
            .post(
                &format!("/sandbox/orders/{order_id}/ship"),
                json!({"tracking_number": tracking_number, "id_carrier": CARRIER.0}),
            )
            .await
    }

    fn carrier(&self) -> String {
        CARRIER.1.into()
    }

    async fn orders_by_external_id(&self, external_order_id: &str) -> anyhow::Result<Vec<HeldOrder>> {
        let orders: Vec<Value> =
            serde_json::from_value(self.admin.call(reqwest::Method::GET, "/sandbox/orders", None).await?)?;
        let prefix = format!("TikTok Shop order {external_order_id}.");
        Ok(orders
            .iter()
            .filter(|o| o["note"].as_str().is_some_and(|note| note.starts_with(&prefix)))
            .map(|o| {
                let tracking = text(&o["carrier"]["tracking_number"]);
                HeldOrder {
                    id: text(&o["id"]),
                    status: status_of(o["state_name"].as_str().unwrap_or_default()),
                    total: money(&o["total_paid_tax_incl"]),
                    refunded: money(&o["refunded"]),
                    shipments: if tracking.is_empty() {
                        Vec::new()
                    } else {
                        vec![HeldShipment {
                            tracking_number: tracking,
                            carrier: text(&o["carrier"]["name"]),
                        }]
                    },
                }
            })
            .collect())
    }

    async fn revoke_access(&self) -> anyhow::Result<()> {
        self.admin
            .post(&format!("/sandbox/keys/{}/disable", self.key), json!({}))
            .await
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
