//! Rule evaluation with any numbers, including settings stored before they were
//! checked: stock is always within 0..=MAX_STOCK and never above the store's stock
//! for a valid policy, prices are a value or a `PriceError`, profiles match or not.
#![no_main]

use connector::catalog::rules::{
    Adjustment, Field, InventoryPolicy, MAX_STOCK, Match, Operator, PriceRule, Profile, Rounding, Rule, profile_for,
    sku_prices, total_stock,
};
use connector_fuzz::{decimal, product};
use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;

#[derive(Debug, Arbitrary)]
struct Input {
    threshold: i64,
    reserve: i64,
    untracked: i64,
    available: Option<i64>,
    levels: Vec<Option<i64>>,
    level: i64,
    per_variant: bool,
    price: (i64, u8),
    rate: (i64, u8),
    adjustment: (u8, i64, u8),
    rounding: u8,
    rule: (u8, u8, String),
}

fuzz_target!(|input: Input| {
    let policy = InventoryPolicy {
        threshold: input.threshold,
        reserve: input.reserve,
        untracked_quantity: input.untracked,
        deactivate_at_threshold: true,
    };
    let published = i64::from(policy.publish(input.available));
    assert!(published <= MAX_STOCK);
    if let (Ok(()), Some(units)) = (policy.validate(), input.available) {
        assert!(published <= units.max(0), "never more than the store has");
    }
    let _ = policy.deactivates(&input.levels);
    let value = decimal(input.adjustment.1, input.adjustment.2);
    let adjustment = match input.adjustment.0 % 4 {
        0 => Adjustment::None,
        1 => Adjustment::Percent(value),
        2 => Adjustment::Fixed(value),
        _ => Adjustment::Multiply(value),
    };
    let rounding = [Rounding::Cents, Rounding::EndIn99, Rounding::Whole][usize::from(input.rounding % 3)];
    let price_rule = PriceRule { adjustment, rounding };
    let _ = price_rule.validate();
    let (price, rate) = (
        decimal(input.price.0, input.price.1),
        decimal(input.rate.0, input.rate.1),
    );
    let _ = price_rule.apply(price, rate);
    let product = product(price, input.level, input.per_variant, &input.levels);
    let _ = total_stock(&product);
    let fields = [
        Field::Title,
        Field::Sku,
        Field::Brand,
        Field::Category,
        Field::Price,
        Field::Quantity,
    ];
    let operators = [
        Operator::Equals,
        Operator::NotEquals,
        Operator::Contains,
        Operator::DoesNotContain,
        Operator::Greater,
        Operator::Less,
    ];
    let rule = Rule {
        field: fields[usize::from(input.rule.0) % fields.len()].clone(),
        operator: operators[usize::from(input.rule.1) % operators.len()],
        value: input.rule.2,
    };
    let profile: Profile = serde_json::from_value(serde_json::json!({"id": "p", "name": "P", "priority": 1, "is_default": false,
        "matching": "all", "rules": [], "category_id": "1", "attributes": [], "brand_id": null,
        "price_rule": {"adjustment": {"kind": "none"}, "rounding": "cents"}, "size_chart_uri": null, "certifications": []}))
    .expect("profile template");
    let profile = Profile {
        rules: vec![rule],
        matching: Match::Any,
        price_rule,
        ..profile
    };
    let _ = profile.validate();
    let profiles = [profile];
    let _ = profile_for(&profiles, &product);
    let skus: Vec<(String, String)> = product
        .variants
        .iter()
        .map(|v| (v.id.clone(), format!("t-{}", v.id)))
        .collect();
    let _ = sku_prices(&product, &profiles[0], &skus, "USD", rate);
});
