//! Store carriers to TikTok shipping providers.
//!
//! A store names a carrier by BigCommerce's `shipping_provider` value (`usps`,
//! `royalmail`, `upsready`, `endicia`, …), an AfterShip courier slug in `tracking_carrier`
//! (`royal-mail`, `dhl-global-mail`, `hermes-uk`, …) or free text; TikTok lists the
//! providers of a delivery option by display name (`USPS`, `Royal Mail`, `DHL
//! eCommerce`, …), which differ per region (Get Shipping Providers, §9.1). Names are
//! compared normalised (lower case, letters and digits only), then through the table of
//! known carriers below, whose entries list every spelling of one carrier.

use crate::tiktok::model::ShippingProvider;

/// One carrier: the spellings stores use (normalised) and the names TikTok gives it in
/// the regions it serves (normalised).
struct Carrier {
    store_names: &'static [&'static str],
    tiktok_names: &'static [&'static str],
}

/// Carriers by every name a BigCommerce store emits: its `shipping_provider` values and
/// the AfterShip slugs of `tracking_carrier` (slugs from AfterShip's courier list), with
/// TikTok's provider names in the US, the UK and the EU markets.
const CARRIERS: &[Carrier] = &[
    Carrier {
        store_names: &["usps", "endicia", "uspsinternational", "stamps", "stampscom"],
        tiktok_names: &["usps"],
    },
    Carrier {
        store_names: &["ups", "upsready", "upsonline", "upsmailinnovations", "upsfreight"],
        tiktok_names: &["ups"],
    },
    Carrier {
        store_names: &["fedex", "fedexuk", "fedexfreight", "fedexground", "fedexinternational"],
        tiktok_names: &["fedex"],
    },
    Carrier {
        store_names: &["royalmail", "royalmailtracked", "royalmailuk"],
        tiktok_names: &["royalmail"],
    },
    Carrier {
        store_names: &["parcelforce", "parcelforceworldwide"],
        tiktok_names: &["parcelforce", "parcelforceworldwide"],
    },
    Carrier {
        store_names: &["evri", "hermesuk", "hermes", "myhermes"],
        tiktok_names: &["evri", "hermes"],
    },
    Carrier {
        store_names: &["dpd", "dpduk", "dpdlocal", "dpdlocalref", "dpdde", "dpdfr"],
        tiktok_names: &["dpd", "dpduk", "dpdlocal"],
    },
    Carrier {
        store_names: &["yodel", "yodeldirect"],
        tiktok_names: &["yodel"],
    },
    Carrier {
        store_names: &["dhl", "dhlexpress"],
        tiktok_names: &["dhlexpress", "dhl"],
    },
    Carrier {
        store_names: &["dhlparcel", "dhlparceluk", "dhlparcelnl", "dhlde"],
        tiktok_names: &["dhlparcel", "dhlparceluk"],
    },
    Carrier {
        store_names: &["deutschepost", "deutschepostdhl"],
        tiktok_names: &["deutschepost"],
    },
    Carrier {
        store_names: &["dhlglobalmail", "dhlecommerce", "dhlecommerceus", "dhlglobalmailasia"],
        tiktok_names: &["dhlecommerce", "dhlecommercesolutions"],
    },
    Carrier {
        store_names: &["ontrac"],
        tiktok_names: &["ontrac"],
    },
    Carrier {
        store_names: &["lasership"],
        tiktok_names: &["lasership"],
    },
    Carrier {
        store_names: &["amazon", "amazonshipping", "amazonlogistics", "amazonshippinguk"],
        tiktok_names: &["amazonlogistics", "amazonshipping"],
    },
    Carrier {
        store_names: &["canadapost", "canadapostcanada"],
        tiktok_names: &["canadapost"],
    },
    Carrier {
        store_names: &["auspost", "australiapost"],
        tiktok_names: &["australiapost"],
    },
];

/// `name` in lower case with only its letters and digits (`"Royal Mail"`, `"royal-mail"`
/// and `"royalmail"` all become `royalmail`).
fn normalised(name: &str) -> String {
    name.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// The provider among `providers` that is the store carrier `carrier` (a BigCommerce
/// `shipping_provider` value, an AfterShip slug or a display name): same normalised
/// name, else the same carrier in the table of known carriers. `None` when the delivery
/// option offers no such carrier.
pub fn provider_for<'a>(carrier: &str, providers: &'a [ShippingProvider]) -> Option<&'a ShippingProvider> {
    let wanted = normalised(carrier);
    if wanted.is_empty() {
        return None;
    }
    if let Some(same) = providers.iter().find(|p| normalised(&p.name) == wanted) {
        return Some(same);
    }
    let known = CARRIERS
        .iter()
        .find(|c| c.store_names.contains(&wanted.as_str()) || c.tiktok_names.contains(&wanted.as_str()))?;
    // The table's order decides, not TikTok's list: "DHL Express" before a plain "DHL".
    known
        .tiktok_names
        .iter()
        .find_map(|name| providers.iter().find(|p| normalised(&p.name) == *name))
}

#[cfg(test)]
mod tests {
    use super::provider_for;
    use crate::tiktok::model::ShippingProvider;

    fn providers(names: &[&str]) -> Vec<ShippingProvider> {
        names
            .iter()
            .enumerate()
            .map(|(i, name)| serde_json::from_value(serde_json::json!({"id": i.to_string(), "name": name})).unwrap())
            .collect()
    }

    #[test]
    fn every_spelling_a_store_emits_finds_tiktoks_provider() {
        let gb = providers(&[
            "Royal Mail",
            "Evri",
            "DPD",
            "Parcelforce",
            "Yodel",
            "DHL",
            "UPS",
            "FedEx",
        ]);
        let us = providers(&[
            "USPS",
            "UPS",
            "FedEx",
            "DHL eCommerce",
            "OnTrac",
            "LaserShip",
            "Amazon Logistics",
        ]);
        let found =
            |carrier: &str, providers: &[ShippingProvider]| provider_for(carrier, providers).map(|p| p.name.clone());
        for (carrier, expected) in [
            ("royalmail", "Royal Mail"),
            ("royal-mail", "Royal Mail"),
            ("Royal Mail", "Royal Mail"),
            ("hermes-uk", "Evri"),
            ("dpd-uk", "DPD"),
            ("parcel-force", "Parcelforce"),
            ("fedex-uk", "FedEx"),
            ("upsready", "UPS"),
        ] {
            assert_eq!(found(carrier, &gb).as_deref(), Some(expected), "{carrier} in the UK");
        }
        for (carrier, expected) in [
            ("endicia", "USPS"),
            ("usps", "USPS"),
            ("dhl-global-mail", "DHL eCommerce"),
            ("amazon-shipping", "Amazon Logistics"),
            ("ontrac", "OnTrac"),
            ("ups", "UPS"),
        ] {
            assert_eq!(found(carrier, &us).as_deref(), Some(expected), "{carrier} in the US");
        }
        assert_eq!(found("royalmail", &us), None, "no Royal Mail in the US");
        let dhl = providers(&["DHL Parcel", "DHL Express", "Deutsche Post"]);
        assert_eq!(
            found("dhl", &dhl).as_deref(),
            Some("DHL Express"),
            "AfterShip's dhl is DHL Express"
        );
        assert_eq!(found("dhl-parcel-uk", &dhl).as_deref(), Some("DHL Parcel"));
        assert_eq!(found("deutsch-post", &dhl), None, "an unknown slug matches nothing");
        assert_eq!(found("deutsche-post", &dhl).as_deref(), Some("Deutsche Post"));
        assert_eq!(found("dhl", &us), None, "DHL eCommerce is another network");
        assert_eq!(found("", &us), None);
        assert_eq!(found("carrier_42", &us), None, "a third-party id names no carrier");
    }
}
