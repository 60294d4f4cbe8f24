//! The sandbox's demo after-sales requests: one return and one buyer cancellation
//! request on orders of the demo catalogue, so a new user sees the Returns screen at
//! work. Placed through the TikTok sandbox's admin routes, as a buyer would.

use std::time::Duration;

use anyhow::Context as _;
use connector::catalog::records::{self, ListingStatus};
use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::Running;

/// A paid TikTok order (Get Order Detail shape plus `shop_id`, for the TikTok
/// sandbox's `POST /sandbox/orders`) of one unit per entry of `units` ((TikTok SKU id,
/// seller SKU)), each 10.00 less a 1.50 seller discount, plus 5.00 shipping.
pub fn tiktok_order(shop: &str, id: &str, units: &[(&str, &str)]) -> Value {
    let lines: Vec<Value> = units.iter().map(|(sku, seller)| json!({"sku_id": sku, "seller_sku": seller, "sale_price": "8.50", "original_price": "10.00", "seller_discount": "1.50", "currency": "USD"})).collect();
    let count = Decimal::from(units.len());
    let sub_total = Decimal::new(850, 2) * count;
    json!({"shop_id": shop, "id": id, "status": "AWAITING_SHIPMENT", "buyer_message": "Gift wrap please",
           "payment": {"currency": "USD", "original_total_product_price": (Decimal::TEN * count).to_string(),
                       "seller_discount": (Decimal::new(150, 2) * count).to_string(), "sub_total": sub_total.to_string(),
                       "shipping_fee": "5.00", "tax": "0", "total_amount": (sub_total + Decimal::new(500, 2)).to_string()},
           "recipient_address": {"name": "David Kong", "address_line1": "1 Market St", "postal_code": "95110", "region_code": "US",
               "district_info": [{"address_level": "L0", "address_level_name": "Country", "address_name": "United States"},
                                 {"address_level": "L1", "address_level_name": "State", "address_name": "California"},
                                 {"address_level": "L3", "address_level_name": "City", "address_name": "San Jose"}]},
           "line_items": lines})
}

/// POSTs `body` to the TikTok sandbox admin route `path`; the answer's JSON.
async fn admin(running: &Running, path: &str, body: &Value) -> anyhow::Result<Value> {
    let sandboxes = running.sandboxes.as_ref().context("not in sandbox mode")?;
    let answer = reqwest::Client::new()
        .post(format!("{}{path}", sandboxes.tiktok))
        .json(body)
        .send()
        .await?;
    let status = answer.status();
    let body: Value = answer.json().await.unwrap_or(Value::Null);
    anyhow::ensure!(status.is_success(), "{path} answered {status}: {body}");
    Ok(body)
}

/// Places two orders of a live demo product in the US shop, waits until the store
/// has them, then has the first delivered and returned and the second's buyer ask to
/// cancel it.
pub async fn place_demo_after_sales(running: &Running, store_id: &str) -> anyhow::Result<()> {
    let table = running.app.table.as_ref();
    let shop = connector::accounts::list_shops(table, store_id)
        .await?
        .into_iter()
        .find(|s| s.region == "US")
        .context("no US shop")?;
    let listing = records::shop_listings(table, store_id, &shop.shop_id)
        .await?
        .into_iter()
        .find(|l| l.status == ListingStatus::Live && !l.skus.is_empty())
        .context("no live demo product")?;
    let (variant_id, sku_id) = listing.skus[0].clone();
    let (product_name, seller_sku) = records::all_products(table, store_id)
        .await?
        .into_iter()
        .find_map(|p| {
            let variant = p.variants.iter().find(|v| v.id == variant_id)?;
            Some((p.name.clone(), variant.sku.clone()))
        })
        .unwrap_or_default();
    let (returned, cancelled) = ("576461413038700001", "576461413038700002");
    for id in [returned, cancelled] {
        let mut order = tiktok_order(&shop.shop_id, id, &[(&sku_id, &seller_sku)]);
        order["line_items"][0]["product_name"] = json!(product_name);
        admin(running, "/sandbox/orders", &order).await?;
    }
    let mut in_store = false;
    for _ in 0..300 {
        let mut created = 0;
        for id in [returned, cancelled] {
            let record = connector::orders::get_record(table, store_id, id).await?;
            created += usize::from(record.is_some_and(|r| r.store_order_id.is_some()));
        }
        if created == 2 {
            in_store = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    anyhow::ensure!(in_store, "the demo orders did not reach the store");
    admin(
        running,
        &format!("/sandbox/orders/{returned}/status"),
        &json!({"status": "DELIVERED"}),
    )
    .await?;
    admin(
        running,
        "/sandbox/returns",
        &json!({"order_id": returned, "return_type": "RETURN_AND_REFUND", "return_reason_text": "Wrong size"}),
    )
    .await?;
    admin(running, "/sandbox/cancellations", &json!({"order_id": cancelled})).await?;
    Ok(())
}
