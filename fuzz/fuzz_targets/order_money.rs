//! Order money: any TikTok payment block and line items (any amounts, scales and
//! currencies, or any JSON) give a store order's money or a `MoneyError`, never a
//! panic.
#![no_main]

use connector::orders::ItemPrice;
use connector::orders::money::store_money;
use connector::tiktok::model::Order;
use connector_fuzz::decimal;
use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;

const CURRENCIES: [&str; 6] = ["USD", "JPY", "KWD", "IDR", "GBP", "XXZ"];

#[derive(Debug, Arbitrary)]
struct Input<'a> {
    currency: u8,
    payment: [(i64, u8); 6],
    units: Vec<(u8, (i64, u8), (i64, u8))>,
    seller_price: bool,
    raw: Option<&'a [u8]>,
}

fuzz_target!(|input: Input| {
    let item_price = if input.seller_price {
        ItemPrice::SellerPrice
    } else {
        ItemPrice::BuyerPaid
    };
    if let Some(raw) = input.raw {
        if let Ok(order) = serde_json::from_slice::<Order>(raw) {
            let _ = store_money(&order, item_price);
        }
        return;
    }
    let currency = CURRENCIES[usize::from(input.currency) % CURRENCIES.len()];
    let amount = |(mantissa, scale): (i64, u8)| decimal(mantissa, scale).to_string();
    let names = [
        "sub_total",
        "shipping_fee",
        "tax",
        "shipping_fee_tax",
        "platform_discount",
        "total_amount",
    ];
    let mut payment = serde_json::json!({"currency": currency});
    for (name, value) in names.iter().zip(input.payment) {
        payment[name] = amount(value).into();
    }
    let lines: Vec<serde_json::Value> = input
        .units
        .iter()
        .take(300)
        .enumerate()
        .map(|(i, (sku, sale, discount))| {
            serde_json::json!({"id": (1000 + i).to_string(), "sku_id": format!("s{}", sku % 4), "seller_sku": "x",
                               "currency": currency, "sale_price": amount(*sale), "platform_discount": amount(*discount)})
        })
        .collect();
    let order: Order = serde_json::from_value(serde_json::json!({"id": "1", "status": "AWAITING_SHIPMENT",
        "payment": payment, "line_items": lines}))
    .expect("order template");
    let _ = store_money(&order, item_price);
});
