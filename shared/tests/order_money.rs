//! Store order money against TikTok's payment block: the two reported inputs, then a
//! property test over generated orders (many units, seller and platform discounts, tax,
//! shipping, buyer fees, currencies with 0, 2 and 3 minor units), each checked with the
//! store's own arithmetic (BigCommerce orders v2: subtotal = Σ quantity × unit price;
//! total = subtotal with tax + shipping with tax + handling with tax − discount).

use connector::orders::money::{StoreMoney, minor_units, store_money};
use connector::rules::orders::ItemPrice;
use connector::tiktok::model::Order;
use proptest::prelude::*;
use rust_decimal::Decimal;
use serde_json::{Value, json};

fn order(currency: &str, units: &[(&str, Value)], payment: Value) -> Order {
    let line_items: Vec<Value> = units
        .iter()
        .enumerate()
        .map(|(i, (sku, fields))| {
            let mut line = json!({"id": format!("{}", 577_086_512_123_755_000u64 + i as u64), "sku_id": sku,
                                  "seller_sku": format!("seller-{sku}"), "currency": currency});
            for (key, value) in fields.as_object().unwrap() {
                line[key] = value.clone();
            }
            line
        })
        .collect();
    let mut payment = payment;
    payment["currency"] = json!(currency);
    serde_json::from_value(json!({"id": "576461413038785752", "status": "AWAITING_SHIPMENT",
                                  "payment": payment, "line_items": line_items}))
    .unwrap()
}

/// What the store shows for the order: (subtotal ex tax, total tax, shipping ex tax,
/// discount, total inc tax).
fn store_view(money: &StoreMoney) -> (Decimal, Decimal, Decimal, Decimal, Decimal) {
    let quantity = |q: u32| Decimal::from(q);
    let subtotal_ex: Decimal = money.lines.iter().map(|l| l.price_ex_tax * quantity(l.quantity)).sum();
    let subtotal_inc: Decimal = money.lines.iter().map(|l| l.price_inc_tax * quantity(l.quantity)).sum();
    let (shipping_ex, shipping_inc) = money.shipping_cost;
    let (handling_ex, handling_inc) = money.handling_cost;
    let tax = (subtotal_inc - subtotal_ex) + (shipping_inc - shipping_ex) + (handling_inc - handling_ex);
    let total = subtotal_inc + shipping_inc + handling_inc - money.discount_amount;
    (subtotal_ex, tax, shipping_ex, money.discount_amount, total)
}

fn dec(text: &str) -> Decimal {
    text.parse().unwrap()
}

#[test]
fn two_units_of_one_sku_at_different_prices_keep_each_price() {
    let two = order(
        "USD",
        &[
            ("A", json!({"sale_price": "20.00"})),
            ("A", json!({"sale_price": "10.00"})),
        ],
        json!({"sub_total": "30.00", "shipping_fee": "0", "tax": "0", "total_amount": "30.00"}),
    );
    let money = store_money(&two, ItemPrice::BuyerPaid).unwrap();
    assert_eq!(
        store_view(&money).4,
        dec("30.00"),
        "the buyer paid 30.00, not 2 × 20.00"
    );
    let mut prices: Vec<(u32, Decimal)> = money.lines.iter().map(|l| (l.quantity, l.price_ex_tax)).collect();
    prices.sort();
    assert_eq!(
        prices,
        vec![(1, dec("10.00")), (1, dec("20.00"))],
        "one line per unit price"
    );
}

#[test]
fn tax_spread_over_units_adds_up_to_tiktoks_tax() {
    let three = order(
        "USD",
        &[
            ("A", json!({"sale_price": "3.33"})),
            ("A", json!({"sale_price": "3.33"})),
            ("A", json!({"sale_price": "3.33"})),
        ],
        json!({"sub_total": "9.99", "shipping_fee": "0", "tax": "0.80", "total_amount": "10.79"}),
    );
    let money = store_money(&three, ItemPrice::BuyerPaid).unwrap();
    let (subtotal, tax, _, _, total) = store_view(&money);
    assert_eq!(
        (subtotal, tax, total),
        (dec("9.99"), dec("0.80"), dec("10.79")),
        "not 3 × 3.60 = 10.80"
    );
    let lines: Vec<(u32, Decimal)> = money.lines.iter().map(|l| (l.quantity, l.price_inc_tax)).collect();
    assert_eq!(
        lines,
        vec![(2, dec("3.60")), (1, dec("3.59"))],
        "the two spare cents go to the first units"
    );
}

#[test]
fn shipping_tax_and_buyer_fees_are_charged_where_the_store_shows_them() {
    let with_fees = order(
        "USD",
        &[("A", json!({"sale_price": "8.50", "platform_discount": "0.50"}))],
        json!({"sub_total": "8.50", "platform_discount": "0.50", "shipping_fee": "5.00", "tax": "1.20",
               "product_tax": "1.00", "shipping_fee_tax": "0.20", "retail_delivery_fee": "0.27", "total_amount": "14.97"}),
    );
    let money = store_money(&with_fees, ItemPrice::SellerPrice).unwrap();
    assert_eq!(money.shipping_cost, (dec("5.00"), dec("5.20")));
    assert_eq!(
        money.handling_cost,
        (dec("0.27"), dec("0.27")),
        "the retail delivery fee"
    );
    assert_eq!(money.lines[0].price_ex_tax, dec("9.00"), "the seller's price");
    assert_eq!(
        store_view(&money),
        (dec("9.00"), dec("1.20"), dec("5.00"), dec("0.50"), dec("14.97"))
    );
}

#[test]
fn a_negative_amount_is_refused_with_its_name() {
    let refund = order(
        "USD",
        &[("A", json!({"sale_price": "-1.00"}))],
        json!({"sub_total": "0", "total_amount": "0"}),
    );
    let error = store_money(&refund, ItemPrice::BuyerPaid).unwrap_err();
    assert!(error.to_string().contains("sale_price"), "{error}");
}

#[test]
fn an_amount_finer_than_the_currency_or_beyond_any_order_is_refused_not_rounded() {
    let fine = order(
        "USD",
        &[("A", json!({"sale_price": "10.00"}))],
        json!({"sub_total": "10.00", "shipping_fee": "0.0000000000000000000000000001", "total_amount": "10.00"}),
    );
    let error = store_money(&fine, ItemPrice::BuyerPaid).unwrap_err();
    assert!(error.to_string().contains("shipping_fee"), "{error}");
    let yen = order(
        "JPY",
        &[("A", json!({"sale_price": "1000.5"}))],
        json!({"sub_total": "1000.5", "total_amount": "1000.5"}),
    );
    assert!(
        store_money(&yen, ItemPrice::BuyerPaid).is_err(),
        "yen have no minor units"
    );
    let huge = "79228162514264337593543950335";
    let beyond = order(
        "USD",
        &[("A", json!({"sale_price": huge})), ("A", json!({"sale_price": huge}))],
        json!({"sub_total": huge, "total_amount": huge}),
    );
    assert!(store_money(&beyond, ItemPrice::BuyerPaid).is_err());
}

const CURRENCIES: [&str; 12] = [
    "USD", "GBP", "EUR", "MXN", "BRL", "MYR", "SGD", "JPY", "VND", "IDR", "KWD", "THB",
];

/// A generated unit: (sku index, original price, seller discount, platform discount), in
/// minor units; discounts are cut to fit the price.
fn units() -> impl Strategy<Value = Vec<(usize, i64, i64, i64)>> {
    prop::collection::vec((0usize..4, 0i64..200_000, 0i64..50_000, 0i64..50_000), 1..40)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn every_store_order_adds_up_to_tiktoks_payment(
        currency in prop::sample::select(CURRENCIES.to_vec()),
        units in units(),
        tax_per_mille in 0i64..250,
        shipping in 0i64..5_000,
        shipping_tax_share in 0i64..=100,
        fees in prop::sample::select(vec![0i64, 0, 27, 150]),
        seller_price in any::<bool>(),
        order_discount in prop::sample::select(vec![0i64, 0, 1, 99]),
    ) {
        let scale = minor_units(currency);
        let amount = |minor: i64| Decimal::new(minor, scale).to_string();
        let mut lines = Vec::new();
        let (mut sub_total, mut platform_total, mut original_total, mut seller_total) = (0, 0, 0, 0);
        for (sku, original, seller, platform) in &units {
            let seller = (*seller).min(*original);
            let platform = (*platform).min(original - seller);
            let sale = original - seller - platform;
            sub_total += sale;
            platform_total += platform;
            original_total += original;
            seller_total += seller;
            lines.push((["A", "B", "C", "D"][*sku], json!({"original_price": amount(*original), "seller_discount": amount(seller),
                "platform_discount": amount(platform), "sale_price": amount(sale)})));
        }
        // A seller discount on the whole order that the units do not show.
        let order_discount = order_discount.min(sub_total);
        sub_total -= order_discount;
        seller_total += order_discount;
        let tax = sub_total * tax_per_mille / 1000 + shipping * tax_per_mille / 1000;
        let shipping_tax = tax * shipping_tax_share / 100;
        let total = sub_total + shipping + tax + fees;
        let payment = json!({"original_total_product_price": amount(original_total), "seller_discount": amount(seller_total),
            "platform_discount": amount(platform_total), "sub_total": amount(sub_total), "shipping_fee": amount(shipping),
            "tax": amount(tax), "product_tax": amount(tax - shipping_tax), "shipping_fee_tax": amount(shipping_tax),
            "total_amount": amount(total)});
        let item_price = if seller_price { ItemPrice::SellerPrice } else { ItemPrice::BuyerPaid };
        let tiktok = order(currency, &lines, payment);
        let money = store_money(&tiktok, item_price).unwrap();

        let discount = if seller_price { platform_total } else { 0 };
        let (subtotal_ex, tax_seen, shipping_ex, discount_seen, total_seen) = store_view(&money);
        prop_assert_eq!(subtotal_ex, Decimal::new(sub_total + discount, scale), "subtotal");
        prop_assert_eq!(tax_seen, Decimal::new(tax, scale), "tax");
        prop_assert_eq!(shipping_ex, Decimal::new(shipping, scale), "shipping");
        prop_assert_eq!(discount_seen, Decimal::new(discount, scale), "discount");
        prop_assert_eq!(total_seen, Decimal::new(total, scale), "total");
        for sku in ["A", "B", "C", "D"] {
            let ordered = lines.iter().filter(|(s, _)| *s == sku).count() as u32;
            let made: u32 = money.lines.iter().filter(|l| l.sku_id == sku).map(|l| l.quantity).sum();
            prop_assert_eq!(made, ordered, "units of {}", sku);
        }
        let buyer_paid: Decimal = Decimal::new(sub_total, scale);
        for line in &money.lines {
            prop_assert!(line.price_ex_tax >= Decimal::ZERO && line.price_inc_tax >= line.price_ex_tax);
            prop_assert!(line.price_ex_tax.scale() <= scale && line.price_inc_tax.scale() <= scale, "{} minor units", scale);
            // Each unit's tax is within one minor unit of its exact share of the product tax.
            if !seller_price && !buyer_paid.is_zero() {
                let share = Decimal::new(tax - shipping_tax, scale) * line.price_ex_tax / buyer_paid;
                prop_assert!((line.price_inc_tax - line.price_ex_tax - share).abs() < Decimal::new(1, scale));
            }
        }
    }
}
