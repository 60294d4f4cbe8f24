//! The money of a store order made from a TikTok order, adding up to TikTok's `payment`
//! block to the minor unit (Get Order Detail §8.3, "money identities").
//!
//! TikTok sends one line item per unit, and units of one SKU may carry different prices
//! (a seller discount that does not divide evenly, a second unit at a lower price); order
//! amounts (the product tax, a difference between the units and `sub_total`, the
//! platform discount) are given for the whole order. Each order amount is spread over the
//! units in proportion to what each unit paid, in whole minor units, with the remainders
//! going to the units with the largest fractions (ties to the lower line item id): the
//! largest-remainder method, so the parts always sum to the whole and the same order always
//! gives the same store order. Units that end with the same SKU, unit price and unit tax
//! become one store line, so a SKU may take several lines.
//!
//! The store's arithmetic (BigCommerce orders v2, and every platform that takes unit
//! prices): subtotal = Σ quantity × unit price, tax = Σ quantity × (price with tax −
//! price without) + shipping tax + handling tax, total = subtotal with tax + shipping with
//! tax + handling with tax − discount. With the lines and charges built here that gives:
//! subtotal without tax = `sub_total` (+ `platform_discount` when lines carry the
//! seller's price), tax = `tax`, shipping = `shipping_fee`, discount = `platform_discount`
//! (seller's price only) and total = `total_amount`, where the buyer fees in
//! `total_amount` (retail delivery fee, small order fee, …) become the handling cost.

use std::collections::BTreeMap;
use std::str::FromStr;

use iso_currency::Currency;
use rust_decimal::Decimal;

use crate::rules::orders::ItemPrice;
use crate::tiktok::model::{LineItem, Order};

/// Units of one SKU at one unit price and one unit tax.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PricedLine {
    /// TikTok SKU id.
    pub sku_id: String,
    /// Seller SKU, for linking SKUs listed outside the connector.
    pub seller_sku: String,
    /// Units.
    pub quantity: u32,
    /// Unit price without tax, in the order's currency.
    pub price_ex_tax: Decimal,
    /// Unit price with tax.
    pub price_inc_tax: Decimal,
}

/// Everything a store order charges, in the order's currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreMoney {
    /// The lines, in the order of their first unit (by line item id).
    pub lines: Vec<PricedLine>,
    /// Shipping without and with tax.
    pub shipping_cost: (Decimal, Decimal),
    /// Buyer fees TikTok adds to the total (retail delivery fee, small order fee, …),
    /// without and with tax (they carry none).
    pub handling_cost: (Decimal, Decimal),
    /// Order discount: TikTok's platform discount when lines carry the seller's price.
    pub discount_amount: Decimal,
}

/// A payment block that no store order can reproduce.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    /// An amount is below zero.
    #[error("TikTok's {field} is negative ({value}); the store order cannot carry it")]
    Negative {
        /// The `payment` or line item field.
        field: &'static str,
        /// Its value.
        value: Decimal,
    },
    /// An amount has more decimals than the currency has minor units, or is beyond any
    /// order (more than [`LARGEST_AMOUNT`]).
    #[error("TikTok's {field} ({value}) is not an amount of {currency}; the store order cannot carry it")]
    NotAnAmount {
        /// The `payment` or line item field.
        field: &'static str,
        /// Its value.
        value: Decimal,
        /// The order's currency.
        currency: String,
    },
}

/// The largest amount an order may carry (a trillion units of any currency): bounds the
/// allocation's arithmetic far inside `i128`.
pub const LARGEST_AMOUNT: i64 = 1_000_000_000_000;

/// The minor units TikTok prices `currency` in: the ISO 4217 exponent (2 for USD and
/// GBP, 0 for JPY and VND, 3 for KWD) except IDR, which TikTok Shop prices in whole
/// rupiah; 2 for a code ISO 4217 does not know.
pub fn minor_units(currency: &str) -> u32 {
    let code = currency.trim();
    if code.eq_ignore_ascii_case("IDR") {
        return 0;
    }
    Currency::from_str(code)
        .ok()
        .and_then(|c| c.exponent())
        .map_or(2, u32::from)
}

/// The store order's lines and charges for `order`, priced as `item_price` says.
///
/// Errors: [`MoneyError::Negative`] when a payment amount or a unit price is negative,
/// [`MoneyError::NotAnAmount`] when one has more decimals than the currency (a store
/// order rounded from it could not add up) or is beyond any order.
pub fn store_money(order: &Order, item_price: ItemPrice) -> Result<StoreMoney, MoneyError> {
    let payment = &order.payment;
    let mut units: Vec<&LineItem> = order.line_items.iter().collect();
    units.sort_by(|a, b| (a.id.as_str().len(), a.id.as_str()).cmp(&(b.id.as_str().len(), b.id.as_str())));
    let named = [
        ("sub_total", payment.sub_total.0),
        ("shipping_fee", payment.shipping_fee.0),
        ("tax", payment.tax.0),
        ("shipping_fee_tax", payment.shipping_fee_tax.0),
        ("platform_discount", payment.platform_discount.0),
        ("total_amount", payment.total_amount.0),
    ];
    let amounts = named
        .iter()
        .copied()
        .chain(units.iter().map(|u| ("sale_price", u.sale_price.0)))
        .chain(units.iter().map(|u| ("platform_discount", u.platform_discount.0)));
    let scale = minor_units(&payment.currency);
    for (field, value) in amounts {
        if value.is_sign_negative() && !value.is_zero() {
            return Err(MoneyError::Negative { field, value });
        }
        if value.normalize().scale() > scale || value > Decimal::from(LARGEST_AMOUNT) {
            let currency = payment.currency.clone();
            return Err(MoneyError::NotAnAmount { field, value, currency });
        }
    }
    let minor = |value: Decimal| {
        let mut value = value;
        value.rescale(scale);
        value.mantissa()
    };
    let major = |value: i128| Decimal::from_i128_with_scale(value, scale);

    // What each unit paid, adjusted so the units add up to `sub_total`.
    let listed: Vec<i128> = units.iter().map(|u| minor(u.sale_price.0)).collect();
    let gap = allocate(minor(payment.sub_total.0) - listed.iter().sum::<i128>(), &listed);
    let paid: Vec<i128> = listed.iter().zip(&gap).map(|(p, g)| p + g).collect();

    let (platform, discount) = match item_price {
        ItemPrice::BuyerPaid => (vec![0; units.len()], 0),
        ItemPrice::SellerPrice => {
            let listed: Vec<i128> = units.iter().map(|u| minor(u.platform_discount.0)).collect();
            let weights = if listed.iter().any(|w| *w > 0) {
                listed
            } else {
                paid.clone()
            };
            let total = minor(payment.platform_discount.0);
            (allocate(total, &weights), total)
        }
    };

    let tax = minor(payment.tax.0);
    let shipping_tax = minor(payment.shipping_fee_tax.0).min(tax);
    let unit_tax = allocate(tax - shipping_tax, &paid);

    let mut lines: Vec<PricedLine> = Vec::new();
    let mut line_of: BTreeMap<(&str, i128, i128), usize> = BTreeMap::new();
    for (i, unit) in units.iter().enumerate() {
        let ex = paid[i] + platform[i];
        let inc = ex + unit_tax[i];
        let index = *line_of.entry((unit.sku_id.as_str(), ex, inc)).or_insert_with(|| {
            lines.push(PricedLine {
                sku_id: unit.sku_id.to_string(),
                seller_sku: unit.seller_sku.clone(),
                quantity: 0,
                price_ex_tax: major(ex),
                price_inc_tax: major(inc),
            });
            lines.len() - 1
        });
        lines[index].quantity += 1;
    }

    let shipping = minor(payment.shipping_fee.0);
    let components = minor(payment.sub_total.0) + shipping + tax;
    let total = minor(payment.total_amount.0);
    // A zero total beside non-zero parts is a block without `total_amount`, not a refund.
    let fees = if total == 0 { 0 } else { total - components };
    Ok(StoreMoney {
        lines,
        shipping_cost: (major(shipping), major(shipping + shipping_tax)),
        handling_cost: (major(fees.max(0)), major(fees.max(0))),
        discount_amount: major(discount - fees.min(0)),
    })
}

/// Splits `total` (minor units, any sign) over `weights` (non-negative) in proportion,
/// in whole units, by the largest-remainder method: the parts sum to `total` exactly,
/// ties go to the lower index. All-zero weights split evenly.
fn allocate(total: i128, weights: &[i128]) -> Vec<i128> {
    if weights.is_empty() {
        return Vec::new();
    }
    let even = vec![1; weights.len()];
    let weights = if weights.iter().all(|w| *w == 0) {
        &even
    } else {
        weights
    };
    let sum: i128 = weights.iter().sum();
    let magnitude = total.abs();
    let mut parts: Vec<i128> = weights.iter().map(|w| magnitude * w / sum).collect();
    let mut left = magnitude - parts.iter().sum::<i128>();
    let mut by_remainder: Vec<usize> = (0..weights.len()).collect();
    by_remainder.sort_by_key(|&i| (std::cmp::Reverse(magnitude * weights[i] % sum), i));
    for i in by_remainder {
        if left == 0 {
            break;
        }
        parts[i] += 1;
        left -= 1;
    }
    if total < 0 {
        parts.iter_mut().for_each(|p| *p = -*p);
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::allocate;

    #[test]
    fn parts_sum_to_the_whole_and_follow_the_weights() {
        assert_eq!(allocate(80, &[333, 333, 333]), vec![27, 27, 26]);
        assert_eq!(allocate(-10, &[2000, 1000]), vec![-7, -3]);
        assert_eq!(allocate(5, &[0, 0]), vec![3, 2], "zero weights split evenly");
        assert_eq!(allocate(0, &[1, 2]), vec![0, 0]);
    }
}
