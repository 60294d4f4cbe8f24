//! Settings from the merchant: the settings JSON, a profile's JSON and each
//! configuration section's form. Any input is refused or accepted without a panic, and whatever is
//! accepted passes validation and publishes stock within TikTok's range.
#![no_main]

use connector::accounts::Settings;
use connector::catalog::rules::{MAX_STOCK, Profile};
use connector::configuration::{Draft, SECTIONS};
use libfuzzer_sys::fuzz_target;
use rust_decimal::Decimal;

fuzz_target!(|input: (u8, &[u8])| {
    let (kind, data) = input;
    match kind % 3 {
        0 => {
            if let Ok(settings) = serde_json::from_slice::<Settings>(data)
                && settings.validate().is_ok()
            {
                for available in [None, Some(i64::MIN), Some(0), Some(7), Some(i64::MAX)] {
                    assert!(i64::from(settings.inventory.publish(available)) <= MAX_STOCK);
                }
            }
        }
        1 => {
            if let Ok(profile) = serde_json::from_slice::<Profile>(data)
                && profile.validate().is_ok()
            {
                let _ = profile.price_rule.apply(Decimal::new(1999, 2), Decimal::ONE);
            }
        }
        _ => {
            let fields: Vec<(String, String)> = url::form_urlencoded::parse(data).into_owned().collect();
            let section = SECTIONS[usize::from(kind / 3) % SECTIONS.len()];
            let mut draft = Draft::new(Settings::default(), Vec::new());
            draft.apply(section, &fields).expect("a known section");
            if draft.errors.is_empty() {
                assert_eq!(draft.settings.validate(), Ok(()), "an accepted form is valid");
            }
        }
    }
});
