//! The shop's world: every resource's rows (stored as PrestaShop stores them, strings
//! keyed by field), the webservice keys, the seeded catalogue, and the store's own rules:
//! stock (`StockAvailable`, the product-level row the sum of its combinations'), cart
//! totals (specific prices, carriers), `PaymentModule::validateOrder` and
//! `OrderHistory::changeIdOrderState`.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use axum::http::StatusCode;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::WsError;
use crate::schema::{Def, def_of};

/// The payment modules installed (an order's `module` must be one of them).
pub const PAYMENT_MODULES: [&str; 2] = ["ps_checkpayment", "ps_wirepayment"];

/// The shop's languages: 1 English, 2 French.
pub const LANGUAGES: [u32; 2] = [1, 2];

/// A webservice key and what it may do.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Key {
    /// The 32-character key (the Basic username).
    pub key: String,
    /// Methods (`GET`, `POST`, `PUT`, `PATCH`, `DELETE`, `HEAD`) by resource.
    pub permissions: BTreeMap<String, BTreeSet<String>>,
    /// Enabled (a disabled key is refused with codes 20 and 21).
    #[serde(default = "enabled")]
    pub active: bool,
}

fn enabled() -> bool {
    true
}

/// One field's stored value.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    /// A plain value.
    Text(String),
    /// A multilingual value by language id.
    Lang(BTreeMap<u32, String>),
}

/// One stored object: its fields and its stored associations (`cart_rows`, `categories`…).
#[derive(Debug, Clone, Default)]
pub struct Row {
    /// Field values by name.
    pub fields: BTreeMap<&'static str, Val>,
    /// Association items (each a map of item fields, `id` included).
    pub assocs: BTreeMap<&'static str, Vec<BTreeMap<String, String>>>,
}

impl Row {
    /// A row of `def` with every field at its default.
    pub fn blank(def: &Def) -> Self {
        let fields = def
            .fields
            .iter()
            .map(|f| {
                let value = if f.lang {
                    Val::Lang(LANGUAGES.iter().map(|l| (*l, String::new())).collect())
                } else {
                    Val::Text(f.default.to_string())
                };
                (f.name, value)
            })
            .collect();
        Self {
            fields,
            assocs: BTreeMap::new(),
        }
    }

    /// A plain field's value (a multilingual field's default-language value); empty when
    /// absent.
    pub fn text(&self, field: &str) -> &str {
        match self.fields.get(field) {
            Some(Val::Text(text)) => text,
            Some(Val::Lang(values)) => values.get(&1).map_or("", String::as_str),
            None => "",
        }
    }

    /// A multilingual field's value in `lang`.
    pub fn lang(&self, field: &str, lang: u32) -> &str {
        match self.fields.get(field) {
            Some(Val::Lang(values)) => values.get(&lang).map_or("", String::as_str),
            Some(Val::Text(text)) => text,
            None => "",
        }
    }

    /// A numeric field (0 when empty or not a number).
    pub fn num(&self, field: &str) -> u32 {
        self.text(field).parse().unwrap_or(0)
    }

    /// A signed integer field.
    pub fn int(&self, field: &str) -> i64 {
        self.text(field).parse().unwrap_or(0)
    }

    /// A decimal field.
    pub fn dec(&self, field: &str) -> Decimal {
        self.text(field).parse().unwrap_or_default()
    }

    /// Sets a plain field.
    pub fn set(&mut self, field: &'static str, value: impl Into<String>) {
        self.fields.insert(field, Val::Text(value.into()));
    }

    /// Sets a multilingual field (`(lang, value)` pairs).
    pub fn set_lang(&mut self, field: &'static str, values: &[(u32, &str)]) {
        let values = values.iter().map(|(l, v)| (*l, v.to_string())).collect();
        self.fields.insert(field, Val::Lang(values));
    }
}

/// A price as PrestaShop stores decimals: six places (`23.900000`).
pub fn money(value: Decimal) -> String {
    format!("{:.6}", value.round_dp(6))
}

/// Unix seconds as PrestaShop's dates, `YYYY-MM-DD HH:MM:SS` in the shop's time zone
/// ([`SHOP_UTC_OFFSET_HOURS`]).
pub fn ps_time(unix: i64) -> String {
    let offset = jiff::tz::Offset::from_hours(SHOP_UTC_OFFSET_HOURS).expect("a valid offset");
    jiff::Timestamp::from_second(unix)
        .map(|t| {
            t.to_zoned(jiff::tz::TimeZone::fixed(offset))
                .strftime("%Y-%m-%d %H:%M:%S")
                .to_string()
        })
        .unwrap_or_default()
}

/// The shop's offset from UTC (hours): it keeps its dates in its own time zone, as a
/// PrestaShop does (`PS_TIMEZONE`), here five hours behind UTC (US Eastern standard
/// time, without its summer time), so a client that reads them as UTC misses changes.
pub const SHOP_UTC_OFFSET_HOURS: i8 = -5;

/// The shop's `PS_TIMEZONE`: the IANA name of [`SHOP_UTC_OFFSET_HOURS`] (POSIX signs:
/// `Etc/GMT+5` is five hours behind UTC).
pub const SHOP_TIME_ZONE: &str = "Etc/GMT+5";

/// Now, as [`ps_time`].
pub fn now() -> String {
    ps_time(sandbox_kit::clock::unix_now())
}

/// One default order state: id, English and French names, template, flags (logable,
/// invoice, send_email, paid, shipped, delivery) and color.
pub type OrderStateSeed = (u32, &'static str, &'static str, &'static str, [u8; 6], &'static str);

/// The default order states of PrestaShop 8 (before the install's id offset): id, English
/// and French names, template, and the flags logable, invoice, send_email, paid, shipped,
/// delivery, color.
pub const ORDER_STATES: [OrderStateSeed; 13] = [
    (
        1,
        "Awaiting check payment",
        "En attente du paiement par chèque",
        "cheque",
        [0, 0, 1, 0, 0, 0],
        "#34209E",
    ),
    (
        2,
        "Payment accepted",
        "Paiement accepté",
        "payment",
        [1, 1, 1, 1, 0, 0],
        "#3498D8",
    ),
    (
        3,
        "Processing in progress",
        "En cours de préparation",
        "preparation",
        [1, 1, 1, 1, 0, 1],
        "#3498D8",
    ),
    (4, "Shipped", "Expédié", "shipped", [1, 1, 1, 1, 1, 1], "#01b887"),
    (5, "Delivered", "Livré", "", [1, 1, 0, 1, 1, 1], "#01b887"),
    (6, "Canceled", "Annulé", "order_canceled", [0, 0, 1, 0, 0, 0], "#2C3E50"),
    (7, "Refunded", "Remboursé", "refund", [0, 1, 1, 1, 0, 0], "#ec2e15"),
    (
        8,
        "Payment error",
        "Erreur de paiement",
        "payment_error",
        [0, 0, 1, 0, 0, 0],
        "#ec2e15",
    ),
    (
        9,
        "On backorder (paid)",
        "En attente de réapprovisionnement (payé)",
        "outofstock",
        [1, 1, 1, 1, 0, 0],
        "#3498D8",
    ),
    (
        10,
        "Awaiting bank wire payment",
        "En attente de virement bancaire",
        "bankwire",
        [0, 0, 1, 0, 0, 0],
        "#34209E",
    ),
    (
        11,
        "Remote payment accepted",
        "Paiement à distance accepté",
        "payment",
        [1, 1, 1, 1, 0, 0],
        "#3498D8",
    ),
    (
        12,
        "On backorder (not paid)",
        "En attente de réapprovisionnement (non payé)",
        "outofstock",
        [0, 0, 1, 0, 0, 0],
        "#34209E",
    ),
    (
        13,
        "Awaiting Cash On Delivery validation",
        "En attente de validation (paiement à la livraison)",
        "cashondelivery",
        [0, 0, 1, 0, 0, 0],
        "#34209E",
    ),
];

/// The `PS_OS_*` configuration names and the default state each points at.
const STATE_CONFIG: [(&str, u32); 13] = [
    ("PS_OS_CHEQUE", 1),
    ("PS_OS_PAYMENT", 2),
    ("PS_OS_PREPARATION", 3),
    ("PS_OS_SHIPPING", 4),
    ("PS_OS_DELIVERED", 5),
    ("PS_OS_CANCELED", 6),
    ("PS_OS_REFUND", 7),
    ("PS_OS_ERROR", 8),
    ("PS_OS_OUTOFSTOCK", 9),
    ("PS_OS_OUTOFSTOCK_PAID", 9),
    ("PS_OS_BANKWIRE", 10),
    ("PS_OS_WS_PAYMENT", 11),
    ("PS_OS_OUTOFSTOCK_UNPAID", 12),
];

/// One attribute group: id, English and French names, whether it is a color group, and
/// its values (id, English, French).
pub type OptionGroup = (
    u32,
    &'static str,
    &'static str,
    bool,
    &'static [(u32, &'static str, &'static str)],
);

/// The attribute groups and their values: (group id, English, French, is color group,
/// values (id, English, French)).
pub const OPTIONS: [OptionGroup; 2] = [
    (
        1,
        "Size",
        "Taille",
        false,
        &[(1, "S", "S"), (2, "M", "M"), (3, "L", "L"), (4, "XL", "XL")],
    ),
    (
        2,
        "Color",
        "Couleur",
        true,
        &[
            (5, "Grey", "Gris"),
            (8, "White", "Blanc"),
            (10, "Red", "Rouge"),
            (11, "Black", "Noir"),
            (14, "Blue", "Bleu"),
        ],
    ),
];

const US_STATES: [(&str, &str); 50] = [
    ("AL", "Alabama"),
    ("AK", "Alaska"),
    ("AZ", "Arizona"),
    ("AR", "Arkansas"),
    ("CA", "California"),
    ("CO", "Colorado"),
    ("CT", "Connecticut"),
    ("DE", "Delaware"),
    ("FL", "Florida"),
    ("GA", "Georgia"),
    ("HI", "Hawaii"),
    ("ID", "Idaho"),
    ("IL", "Illinois"),
    ("IN", "Indiana"),
    ("IA", "Iowa"),
    ("KS", "Kansas"),
    ("KY", "Kentucky"),
    ("LA", "Louisiana"),
    ("ME", "Maine"),
    ("MD", "Maryland"),
    ("MA", "Massachusetts"),
    ("MI", "Michigan"),
    ("MN", "Minnesota"),
    ("MS", "Mississippi"),
    ("MO", "Missouri"),
    ("MT", "Montana"),
    ("NE", "Nebraska"),
    ("NV", "Nevada"),
    ("NH", "New Hampshire"),
    ("NJ", "New Jersey"),
    ("NM", "New Mexico"),
    ("NY", "New York"),
    ("NC", "North Carolina"),
    ("ND", "North Dakota"),
    ("OH", "Ohio"),
    ("OK", "Oklahoma"),
    ("OR", "Oregon"),
    ("PA", "Pennsylvania"),
    ("RI", "Rhode Island"),
    ("SC", "South Carolina"),
    ("SD", "South Dakota"),
    ("TN", "Tennessee"),
    ("TX", "Texas"),
    ("UT", "Utah"),
    ("VT", "Vermont"),
    ("VA", "Virginia"),
    ("WA", "Washington"),
    ("WV", "West Virginia"),
    ("WI", "Wisconsin"),
    ("WY", "Wyoming"),
];

/// The fixed shipping price of the carriers that charge (2 "My carrier", 3 "UPS"); carrier
/// 1 ("Click and collect") is free.
pub fn shipping_price() -> Decimal {
    Decimal::new(700, 2)
}

/// The world.
#[derive(Debug, Default)]
pub struct State {
    /// Rows by resource, then id.
    pub tables: BTreeMap<&'static str, BTreeMap<u32, Row>>,
    /// The webservice keys.
    pub keys: Vec<Key>,
    /// Added to every order state id.
    pub state_id_offset: u32,
    /// A second shop (id 2) exists.
    pub multishop: bool,
    /// Row ids of [`INDEXED`] resources by product, kept by [`State::put`] and
    /// [`State::insert`]; read through [`State::children`], which drops ids whose row
    /// is gone or belongs to another product now, so a removal needs no upkeep.
    by_product: HashMap<(&'static str, u32), BTreeSet<u32>>,
}

/// The resources whose rows belong to a product (`id_product`), indexed by it: a 10,000
/// product catalogue is listed without scanning every row for each product.
const INDEXED: [&str; 3] = ["combinations", "stock_availables", "product_images"];

impl State {
    /// The seeded shop: `products` products (every 5th with three combinations).
    pub fn seeded(products: usize, keys: Vec<Key>, multishop: bool, state_id_offset: u32) -> Self {
        let mut world = State {
            keys,
            state_id_offset,
            multishop,
            ..State::default()
        };
        let unix = sandbox_kit::clock::unix_now();
        let long_ago = ps_time(unix - 400 * 86_400);
        world.seed_reference(&long_ago);
        world.seed_catalogue(products, unix);
        world
    }

    fn seed_reference(&mut self, long_ago: &str) {
        for (id, iso, en, fr, locale) in [
            (1, "en", "English (English)", "English (English)", "en-US"),
            (2, "fr", "Français (French)", "Français (French)", "fr-FR"),
        ] {
            let _ = fr;
            self.seed(
                "languages",
                id,
                &[
                    ("name", en),
                    ("iso_code", iso),
                    ("locale", locale),
                    ("language_code", locale),
                    ("active", "1"),
                    ("date_format_lite", "m/d/Y"),
                    ("date_format_full", "m/d/Y H:i:s"),
                ],
                &[],
            );
        }
        self.seed(
            "currencies",
            1,
            &[
                ("iso_code", "USD"),
                ("numeric_iso_code", "840"),
                ("precision", "2"),
                ("conversion_rate", "1.000000"),
                ("active", "1"),
                ("name", "US Dollar"),
            ],
            &[
                ("names", "US Dollar", "dollar des États-Unis"),
                ("symbol", "$", "$"),
                ("pattern", "", ""),
            ],
        );
        for (id, iso, en, fr, states, format, zone) in [
            (1, "DE", "Germany", "Allemagne", "0", "NNNNN", "1"),
            (4, "CA", "Canada", "Canada", "1", "LNL NLN", "2"),
            (8, "FR", "France", "France", "0", "NNNNN", "1"),
            (17, "GB", "United Kingdom", "Royaume-Uni", "0", "", "1"),
            (21, "US", "United States", "États-Unis", "1", "NNNNN", "2"),
        ] {
            self.seed(
                "countries",
                id,
                &[
                    ("id_zone", zone),
                    ("iso_code", iso),
                    ("active", "1"),
                    ("contains_states", states),
                    ("need_zip_code", "1"),
                    ("zip_code_format", format),
                    ("display_tax_label", "1"),
                ],
                &[("name", en, fr)],
            );
        }
        for (index, (iso, name)) in US_STATES.iter().enumerate() {
            self.seed(
                "states",
                index as u32 + 1,
                &[
                    ("id_zone", "2"),
                    ("id_country", "21"),
                    ("iso_code", iso),
                    ("name", name),
                    ("active", "1"),
                ],
                &[],
            );
        }
        for (id, iso, name) in [
            (89, "ON", "Ontario"),
            (90, "QC", "Quebec"),
            (91, "BC", "British Columbia"),
        ] {
            self.seed(
                "states",
                id,
                &[
                    ("id_zone", "2"),
                    ("id_country", "4"),
                    ("iso_code", iso),
                    ("name", name),
                    ("active", "1"),
                ],
                &[],
            );
        }
        let mut configs: Vec<(String, String)> = vec![
            ("PS_LANG_DEFAULT".into(), "1".into()),
            ("PS_TIMEZONE".into(), SHOP_TIME_ZONE.into()),
            ("PS_CURRENCY_DEFAULT".into(), "1".into()),
            ("PS_COUNTRY_DEFAULT".into(), "21".into()),
            ("PS_SHOP_DEFAULT".into(), "1".into()),
            ("PS_CARRIER_DEFAULT".into(), "2".into()),
            ("PS_WEBSERVICE".into(), "1".into()),
            (
                "PS_MULTISHOP_FEATURE_ACTIVE".into(),
                u8::from(self.multishop).to_string(),
            ),
        ];
        configs.extend(
            STATE_CONFIG
                .iter()
                .map(|(name, id)| (name.to_string(), (id + self.state_id_offset).to_string())),
        );
        for (index, (name, value)) in configs.iter().enumerate() {
            self.seed(
                "configurations",
                index as u32 + 1,
                &[
                    ("name", name),
                    ("value", value),
                    ("date_add", long_ago),
                    ("date_upd", long_ago),
                ],
                &[],
            );
        }
        let shops = if self.multishop { 2 } else { 1 };
        for id in 1..=shops {
            let name = if id == 1 { "Sandbox Shop" } else { "Sandbox Shop 2" };
            self.seed(
                "shops",
                id,
                &[
                    ("id_shop_group", "1"),
                    ("id_category", "2"),
                    ("active", "1"),
                    ("name", name),
                    ("theme_name", "classic"),
                ],
                &[],
            );
        }
        for (id, name) in [
            (1, "Studio Design"),
            (2, "Graphic Corner"),
            (3, "North Loop"),
            (4, "Harbor & Pine"),
            (5, "Kestrel"),
        ] {
            let link = name.to_ascii_lowercase().replace([' ', '&'], "-");
            self.seed(
                "manufacturers",
                id,
                &[
                    ("active", "1"),
                    ("name", name),
                    ("link_rewrite", &link),
                    ("date_add", long_ago),
                    ("date_upd", long_ago),
                ],
                &[
                    ("description", "", ""),
                    ("short_description", "", ""),
                    ("meta_title", "", ""),
                ],
            );
        }
        for (id, parent, depth, en, fr) in [
            (1, 0, 0, "Root", "Racine"),
            (2, 1, 1, "Home", "Accueil"),
            (3, 2, 2, "Clothes", "Vêtements"),
            (4, 2, 2, "Accessories", "Accessoires"),
            (5, 2, 2, "Art", "Art"),
        ] {
            let root = if id == 2 { "1" } else { "0" };
            self.seed(
                "categories",
                id,
                &[
                    ("id_parent", &parent.to_string()),
                    ("level_depth", &depth.to_string()),
                    ("active", "1"),
                    ("id_shop_default", "1"),
                    ("is_root_category", root),
                    ("position", "0"),
                    ("date_add", long_ago),
                    ("date_upd", long_ago),
                ],
                &[
                    ("name", en, fr),
                    (
                        "link_rewrite",
                        &en.to_ascii_lowercase(),
                        &fr.to_ascii_lowercase().replace('ê', "e"),
                    ),
                    ("description", "", ""),
                    ("meta_title", "", ""),
                ],
            );
        }
        for (group, en, fr, color, values) in OPTIONS {
            let kind = if color { "color" } else { "select" };
            self.seed(
                "product_options",
                group,
                &[
                    ("is_color_group", if color { "1" } else { "0" }),
                    ("group_type", kind),
                    ("position", &(group - 1).to_string()),
                ],
                &[("name", en, fr), ("public_name", en, fr)],
            );
            for (position, (id, en, fr)) in values.iter().enumerate() {
                self.seed(
                    "product_option_values",
                    *id,
                    &[
                        ("id_attribute_group", &group.to_string()),
                        ("position", &position.to_string()),
                    ],
                    &[("name", en, fr)],
                );
            }
        }
        for (id, state) in ORDER_STATES.iter().map(|s| (s.0, s)) {
            let (_, en, fr, template, flags, color) = state;
            let flag = |i: usize| flags[i].to_string();
            self.seed(
                "order_states",
                id + self.state_id_offset,
                &[
                    ("logable", &flag(0)),
                    ("invoice", &flag(1)),
                    ("send_email", &flag(2)),
                    ("paid", &flag(3)),
                    ("shipped", &flag(4)),
                    ("delivery", &flag(5)),
                    ("color", color),
                    ("unremovable", "1"),
                    ("pdf_invoice", &flag(1)),
                    (
                        "module_name",
                        match id {
                            1 => "ps_checkpayment",
                            10 => "ps_wirepayment",
                            _ => "",
                        },
                    ),
                ],
                &[("name", en, fr), ("template", template, template)],
            );
        }
        for (id, name, free, delay_en, delay_fr) in [
            (1, "Click and collect", "1", "Pick up in-store", "Retrait en magasin"),
            (2, "My carrier", "0", "Delivery next day!", "Livraison le lendemain !"),
            (3, "UPS", "0", "2-3 business days", "2 à 3 jours ouvrés"),
        ] {
            self.seed(
                "carriers",
                id,
                &[
                    ("id_reference", &id.to_string()),
                    ("name", name),
                    ("active", "1"),
                    ("is_free", free),
                    ("shipping_handling", "0"),
                    ("range_behavior", "0"),
                    ("shipping_method", if free == "1" { "0" } else { "2" }),
                    ("grade", "0"),
                    ("position", &(id - 1).to_string()),
                ],
                &[("delay", delay_en, delay_fr)],
            );
        }
    }

    fn seed_catalogue(&mut self, products: usize, unix: i64) {
        let mut combination = 0u32;
        for index in 1..=products as u32 {
            // Older products first: product 1 was added `products` days ago.
            let added = ps_time(unix - (products as i64 - index as i64 + 2) * 86_400);
            let price = Decimal::new(1990 + 100 * (index as i64 % 40), 2);
            let category = 3 + index % 3;
            let with_combinations = index % 5 == 0;
            let (en, fr) = (format!("Sandbox Tee {index}"), format!("T-shirt Sandbox {index}"));
            let mut row = Row::blank(def_of("products").expect("products"));
            for (field, value) in [
                ("id_manufacturer", (1 + index % 5).to_string()),
                ("id_category_default", category.to_string()),
                ("id_shop_default", "1".into()),
                ("id_tax_rules_group", "0".into()),
                ("reference", format!("PS-SKU-{index:04}")),
                ("ean13", format!("4006381{index:06}")),
                ("upc", format!("0123456{index:05}")),
                ("mpn", format!("MPN-{index}")),
                ("price", money(price)),
                ("wholesale_price", money(price / Decimal::TWO)),
                ("weight", money(Decimal::new(3 + index as i64 % 5, 1))),
                ("width", money(Decimal::new(20, 0))),
                ("height", money(Decimal::new(30, 0))),
                ("depth", money(Decimal::new(2, 0))),
                ("active", if index % 11 == 0 { "0" } else { "1" }.into()),
                ("state", "1".into()),
                ("minimal_quantity", "1".into()),
                ("available_for_order", "1".into()),
                ("show_price", "1".into()),
                ("indexed", "1".into()),
                ("visibility", "both".into()),
                ("condition", "new".into()),
                ("redirect_type", "default".into()),
                (
                    "product_type",
                    if with_combinations { "combinations" } else { "standard" }.into(),
                ),
                (
                    "cache_default_attribute",
                    if with_combinations {
                        (combination + 1).to_string()
                    } else {
                        "0".into()
                    },
                ),
                ("date_add", added.clone()),
                ("date_upd", added.clone()),
            ] {
                row.set(field, value);
            }
            row.set_lang("name", &[(1, &en), (2, &fr)]);
            let (link_en, link_fr) = (format!("sandbox-tee-{index}"), format!("t-shirt-sandbox-{index}"));
            row.set_lang("link_rewrite", &[(1, &link_en), (2, &link_fr)]);
            let description = [
                (1, format!("<p>A soft cotton tee, number {index}.</p>")),
                (2, format!("<p>Un t-shirt en coton doux, numéro {index}.</p>")),
            ];
            row.set_lang("description", &[(1, &description[0].1), (2, &description[1].1)]);
            row.set_lang(
                "description_short",
                &[(1, "<p>Soft cotton.</p>"), (2, "<p>Coton doux.</p>")],
            );
            row.assocs.insert("categories", vec![id_item(2), id_item(category)]);
            self.put("products", index, row);
            let mut image = Row::default();
            image.set("id_product", index.to_string());
            image.set("position", "1");
            image.set("cover", "1");
            self.put("product_images", index, image);
            if with_combinations {
                let mut values = BTreeSet::new();
                for step in 0..3u32 {
                    combination += 1;
                    let size = 1 + step;
                    let color = [11, 11, 8][step as usize];
                    values.extend([size, color]);
                    let mut row = Row::blank(def_of("combinations").expect("combinations"));
                    for (field, value) in [
                        ("id_product", index.to_string()),
                        (
                            "reference",
                            format!("PS-SKU-{index:04}-{}", ["S", "M", "L"][step as usize]),
                        ),
                        ("ean13", format!("5006381{combination:06}")),
                        ("upc", format!("1123456{combination:05}")),
                        ("mpn", format!("MPN-{index}-{step}")),
                        ("price", money(Decimal::new(step as i64 * 200, 2))),
                        ("weight", money(Decimal::ZERO)),
                        ("minimal_quantity", "1".into()),
                        ("default_on", if step == 0 { "1" } else { "0" }.into()),
                        ("available_date", "0000-00-00".into()),
                    ] {
                        row.set(field, value);
                    }
                    row.assocs
                        .insert("product_option_values", vec![id_item(size), id_item(color)]);
                    row.assocs.insert("images", vec![id_item(index)]);
                    self.put("combinations", combination, row);
                    for shop in self.shop_ids() {
                        let quantity = 3 + (combination as i64 * 7 + shop as i64) % 9;
                        self.set_stock(index, combination, shop, quantity);
                    }
                }
                let mut product = self.row("products", index).cloned().unwrap_or_default();
                product
                    .assocs
                    .insert("product_option_values", values.into_iter().map(id_item).collect());
                self.put("products", index, product);
            } else {
                for shop in self.shop_ids() {
                    let quantity = 5 + (index as i64 * 3 + shop as i64 * 2) % 20;
                    self.set_stock(index, 0, shop, quantity);
                }
            }
        }
    }

    fn seed(
        &mut self,
        resource: &'static str,
        id: u32,
        plain: &[(&'static str, &str)],
        lang: &[(&'static str, &str, &str)],
    ) {
        let mut row = Row::blank(def_of(resource).expect("a defined resource"));
        for (field, value) in plain {
            row.set(field, *value);
        }
        for (field, en, fr) in lang {
            row.set_lang(field, &[(1, en), (2, fr)]);
        }
        self.put(resource, id, row);
    }

    /// The shops: `[1]`, or `[1, 2]` with multishop.
    pub fn shop_ids(&self) -> Vec<u32> {
        if self.multishop { vec![1, 2] } else { vec![1] }
    }

    /// The rows of `resource`.
    pub fn table(&self, resource: &str) -> Option<&BTreeMap<u32, Row>> {
        self.tables.get(resource)
    }

    /// One row.
    pub fn row(&self, resource: &str, id: u32) -> Option<&Row> {
        self.tables.get(resource)?.get(&id)
    }

    /// One row, to change.
    pub fn row_mut(&mut self, resource: &str, id: u32) -> Option<&mut Row> {
        self.tables.get_mut(resource)?.get_mut(&id)
    }

    /// Stores `row` as `id`.
    pub fn put(&mut self, resource: &'static str, id: u32, row: Row) {
        if INDEXED.contains(&resource) {
            self.by_product
                .entry((resource, row.num("id_product")))
                .or_default()
                .insert(id);
        }
        self.tables.entry(resource).or_default().insert(id, row);
    }

    /// Stores `row` under the next id; returns it.
    pub fn insert(&mut self, resource: &'static str, row: Row) -> u32 {
        let id = self
            .tables
            .get(resource)
            .and_then(|t| t.keys().next_back())
            .map_or(1, |last| last + 1);
        self.put(resource, id, row);
        id
    }

    /// The ids of `resource`'s rows that belong to `product` (an [`INDEXED`] resource).
    pub fn children(&self, resource: &'static str, product: u32) -> Vec<u32> {
        self.by_product
            .get(&(resource, product))
            .into_iter()
            .flatten()
            .copied()
            .filter(|id| self.row(resource, *id).is_some_and(|r| r.num("id_product") == product))
            .collect()
    }

    /// Sets `date_upd` of one row to now.
    pub fn touch(&mut self, resource: &str, id: u32) {
        if let Some(row) = self.row_mut(resource, id) {
            row.set("date_upd", now());
        }
    }

    /// The id an order state configuration (`PS_OS_…`) names.
    pub fn os(&self, name: &str) -> u32 {
        self.table("configurations")
            .and_then(|t| t.values().find(|r| r.text("name") == name))
            .map_or(0, |r| r.num("value"))
    }

    /// The combinations of a product, by id.
    pub fn combinations_of(&self, product: u32) -> Vec<u32> {
        self.children("combinations", product)
    }

    /// The stock row of a product or combination in a shop.
    pub fn stock_row(&self, product: u32, attribute: u32, shop: u32) -> Option<u32> {
        self.children("stock_availables", product).into_iter().find(|id| {
            self.row("stock_availables", *id)
                .is_some_and(|r| r.num("id_product_attribute") == attribute && r.num("id_shop") == shop)
        })
    }

    /// A stock quantity (0 without a row).
    pub fn quantity(&self, product: u32, attribute: u32, shop: u32) -> i64 {
        self.stock_row(product, attribute, shop)
            .and_then(|id| self.row("stock_availables", id))
            .map_or(0, |r| r.int("quantity"))
    }

    /// Sets one stock row (created when missing); a combination's also sets its product's
    /// row to the sum of the combinations (`StockAvailable::postSave`).
    pub fn set_stock(&mut self, product: u32, attribute: u32, shop: u32, quantity: i64) {
        let id = match self.stock_row(product, attribute, shop) {
            Some(id) => id,
            None => {
                let mut row = Row::blank(def_of("stock_availables").expect("stock_availables"));
                row.set("id_product", product.to_string());
                row.set("id_product_attribute", attribute.to_string());
                row.set("id_shop", shop.to_string());
                row.set("id_shop_group", "0");
                row.set("depends_on_stock", "0");
                row.set("out_of_stock", "2");
                self.insert("stock_availables", row)
            }
        };
        if let Some(row) = self.row_mut("stock_availables", id) {
            row.set("quantity", quantity.to_string());
            row.set("physical_quantity", quantity.to_string());
        }
        if attribute != 0 {
            self.resync(product, shop);
        }
    }

    /// The product-level row of a product with combinations back to their sum.
    pub fn resync(&mut self, product: u32, shop: u32) {
        let combinations = self.combinations_of(product);
        if combinations.is_empty() {
            return;
        }
        let sum = combinations.iter().map(|c| self.quantity(product, *c, shop)).sum();
        self.set_stock(product, 0, shop, sum);
    }

    fn add_stock(&mut self, product: u32, attribute: u32, shop: u32, delta: i64) {
        let quantity = self.quantity(product, attribute, shop) + delta;
        self.set_stock(product, attribute, shop, quantity);
    }

    /// Deletes a product with its combinations, stock rows and image.
    pub fn delete_product(&mut self, product: u32) -> bool {
        let found = self
            .tables
            .get_mut("products")
            .and_then(|t| t.remove(&product))
            .is_some();
        if found {
            for combination in self.combinations_of(product) {
                self.tables.get_mut("combinations").map(|t| t.remove(&combination));
            }
            if let Some(stock) = self.tables.get_mut("stock_availables") {
                stock.retain(|_, r| r.num("id_product") != product);
            }
            if let Some(images) = self.tables.get_mut("product_images") {
                images.retain(|_, r| r.num("id_product") != product);
            }
        }
        found
    }

    /// The unit price of a cart row (tax 0): the cart's specific price for the product
    /// or combination when one applies, else the product price plus the combination's
    /// impact (a specific price bound to the product only still takes the impact), less
    /// the specific price's reduction.
    pub fn unit_price(&self, cart: u32, product: u32, attribute: u32, quantity: i64) -> Decimal {
        let base = self.row("products", product).map_or(Decimal::ZERO, |p| p.dec("price"));
        let impact = self
            .row("combinations", attribute)
            .map_or(Decimal::ZERO, |c| c.dec("price"));
        let specific = self.table("specific_prices").and_then(|t| {
            t.values()
                .filter(|s| {
                    s.num("id_cart") == cart
                        && s.num("id_product") == product
                        && (s.num("id_product_attribute") == attribute || s.num("id_product_attribute") == 0)
                        && s.int("from_quantity") <= quantity.max(1)
                })
                .max_by_key(|s| s.num("id_product_attribute"))
        });
        let Some(specific) = specific else {
            return base + impact;
        };
        let own_price = specific.dec("price") >= Decimal::ZERO;
        let mut price = if own_price { specific.dec("price") } else { base };
        if !own_price || specific.num("id_product_attribute") == 0 {
            price += impact;
        }
        let reduction = specific.dec("reduction");
        if specific.text("reduction_type") == "percentage" {
            price -= price * reduction;
        } else {
            price -= reduction;
        }
        price.max(Decimal::ZERO)
    }

    /// The carrier an order of `cart` ships with, as `Cart::getDeliveryOption` picks it:
    /// the cart's `delivery_option` (`{"<id_address_delivery>":"<id_carrier>,"}`) when it
    /// names an active carrier, else `PS_CARRIER_DEFAULT`, else the first active carrier
    /// (the legacy `id_carrier` column is not read).
    pub fn cart_carrier(&self, cart: &Row) -> u32 {
        let carriers = self.table("carriers");
        let active = |id: u32| {
            carriers
                .and_then(|t| t.get(&id))
                .is_some_and(|c| c.text("active") == "1" && c.text("deleted") != "1")
        };
        let chosen = serde_json::from_str::<serde_json::Value>(cart.text("delivery_option"))
            .ok()
            .and_then(|option| {
                let key = cart.text("id_address_delivery").to_string();
                let carriers = option.get(&key)?.as_str()?.to_string();
                carriers.split(',').next()?.trim().parse::<u32>().ok()
            })
            .filter(|id| active(*id));
        let default = self.table("configurations").and_then(|t| {
            t.values()
                .find(|r| r.text("name") == "PS_CARRIER_DEFAULT")
                .map(|r| r.num("value"))
        });
        chosen
            .or(default.filter(|id| active(*id)))
            .or_else(|| carriers.and_then(|t| t.keys().copied().find(|id| active(*id))))
            .unwrap_or(0)
    }

    /// `(products total, shipping)` of a cart, tax 0.
    pub fn cart_totals(&self, id_cart: u32) -> (Decimal, Decimal) {
        let Some(cart) = self.row("carts", id_cart) else {
            return (Decimal::ZERO, Decimal::ZERO);
        };
        let products = cart_rows(cart)
            .iter()
            .map(|(p, a, q)| self.unit_price(id_cart, *p, *a, *q) * Decimal::from(*q))
            .sum();
        let carrier = self.cart_carrier(cart);
        let free = self.row("carriers", carrier).is_none_or(|c| c.text("is_free") == "1");
        (products, if free { Decimal::ZERO } else { shipping_price() })
    }

    fn order_state(&self, id: u32) -> Option<&Row> {
        self.row("order_states", id)
    }

    /// `PaymentModule::validateOrder` for a posted order (`Order::addWs`): the cart must
    /// exist, have rows, be the customer's and have no order; the order's reference,
    /// state and totals come from the store (the state is Payment error when `total_paid`
    /// is not the cart's total to two decimals). Creates the order, its details, its
    /// carrier line and first history row, and takes the stock (not for a payment error).
    /// `paid_state` is the state the payment module asks for (`PS_OS_WS_PAYMENT` through
    /// the Webservice).
    pub fn validate_order(&mut self, posted: &Row, shop: u32, paid_state: u32) -> Result<u32, WsError> {
        let module = posted.text("module");
        if !PAYMENT_MODULES.contains(&module) {
            return Err(WsError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                0,
                &format!(
                    "Payment module \"{module}\" is not installed: Call to a member function validateOrder() on bool"
                ),
            ));
        }
        let id_cart = posted.num("id_cart");
        let refused = || {
            WsError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                0,
                "Cart cannot be loaded or an order has already been placed using this cart",
            )
        };
        let cart = self.row("carts", id_cart).cloned().ok_or_else(refused)?;
        let ordered = self
            .table("orders")
            .is_some_and(|t| t.values().any(|o| o.num("id_cart") == id_cart));
        if ordered {
            return Err(refused());
        }
        let customer = self.row("customers", cart.num("id_customer")).cloned();
        let posted_key = self
            .row("customers", posted.num("id_customer"))
            .map(|c| c.text("secure_key").to_string());
        let Some(customer) = customer else {
            return Err(refused());
        };
        if posted_key.as_deref() != Some(customer.text("secure_key")) {
            return Err(WsError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                0,
                "Secure key does not match: the cart belongs to another customer",
            ));
        }
        let rows = cart_rows(&cart);
        if rows.is_empty() {
            return Err(WsError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                0,
                "Cart is empty: no order can be created",
            ));
        }
        for (product, attribute, _) in &rows {
            let known = self.row("products", *product).is_some()
                && (*attribute == 0
                    || self
                        .row("combinations", *attribute)
                        .is_some_and(|c| c.num("id_product") == *product));
            if !known {
                return Err(WsError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    0,
                    &format!("Product {product} (combination {attribute}) in cart {id_cart} cannot be loaded"),
                ));
            }
        }
        let (products, shipping) = self.cart_totals(id_cart);
        let total = products + shipping;
        let paid = posted.dec("total_paid").round_dp(2);
        let logable = self.order_state(paid_state).is_some_and(|s| s.text("logable") == "1");
        let state = if logable && total.round_dp(2) != paid {
            self.os("PS_OS_ERROR")
        } else {
            paid_state
        };
        let carrier = self.cart_carrier(&cart);
        let mut reference;
        loop {
            reference = generate_reference();
            let taken = self
                .table("orders")
                .is_some_and(|t| t.values().any(|o| o.text("reference") == reference));
            if !taken {
                break;
            }
        }
        let now = now();
        let mut order = Row::blank(def_of("orders").expect("orders"));
        for (field, value) in [
            ("id_address_delivery", cart.text("id_address_delivery").to_string()),
            ("id_address_invoice", cart.text("id_address_invoice").to_string()),
            ("id_cart", id_cart.to_string()),
            ("id_currency", cart.text("id_currency").to_string()),
            ("id_lang", cart.text("id_lang").to_string()),
            ("id_customer", cart.text("id_customer").to_string()),
            ("id_carrier", carrier.to_string()),
            ("current_state", state.to_string()),
            ("module", module.to_string()),
            ("payment", posted.text("payment").to_string()),
            ("secure_key", customer.text("secure_key").to_string()),
            ("reference", reference),
            ("id_shop", shop.to_string()),
            ("id_shop_group", "1".into()),
            ("conversion_rate", "1.000000".into()),
            ("total_discounts", money(Decimal::ZERO)),
            ("total_discounts_tax_incl", money(Decimal::ZERO)),
            ("total_discounts_tax_excl", money(Decimal::ZERO)),
            ("total_paid", money(total)),
            ("total_paid_tax_incl", money(total)),
            ("total_paid_tax_excl", money(total)),
            // The payment registered is the amount the caller said was paid.
            ("total_paid_real", money(paid)),
            ("total_products", money(products)),
            ("total_products_wt", money(products)),
            ("total_shipping", money(shipping)),
            ("total_shipping_tax_incl", money(shipping)),
            ("total_shipping_tax_excl", money(shipping)),
            ("carrier_tax_rate", money(Decimal::ZERO)),
            ("total_wrapping", money(Decimal::ZERO)),
            ("total_wrapping_tax_incl", money(Decimal::ZERO)),
            ("total_wrapping_tax_excl", money(Decimal::ZERO)),
            ("round_mode", "2".into()),
            ("round_type", "2".into()),
            ("invoice_date", "0000-00-00 00:00:00".into()),
            ("delivery_date", "0000-00-00 00:00:00".into()),
            ("valid", "0".into()),
            ("date_add", now.clone()),
            ("date_upd", now.clone()),
        ] {
            order.set(field, value);
        }
        let id_order = self.insert("orders", order);
        let takes_stock = state != self.os("PS_OS_ERROR") && state != self.os("PS_OS_CANCELED");
        let mut weight = Decimal::ZERO;
        for (product, attribute, quantity) in rows {
            let unit = self.unit_price(id_cart, product, attribute, quantity);
            let detail = self.order_detail(id_order, shop, product, attribute, quantity, unit);
            weight += detail.dec("product_weight") * Decimal::from(quantity);
            self.insert("order_details", detail);
            if takes_stock {
                self.add_stock(product, attribute, shop, -quantity);
            }
        }
        let mut line = Row::blank(def_of("order_carriers").expect("order_carriers"));
        for (field, value) in [
            ("id_order", id_order.to_string()),
            ("id_carrier", carrier.to_string()),
            ("weight", money(weight)),
            ("shipping_cost_tax_excl", money(shipping)),
            ("shipping_cost_tax_incl", money(shipping)),
            ("date_add", now.clone()),
        ] {
            line.set(field, value);
        }
        self.insert("order_carriers", line);
        self.add_history(id_order, state);
        Ok(id_order)
    }

    fn order_detail(&self, order: u32, shop: u32, product: u32, attribute: u32, quantity: i64, unit: Decimal) -> Row {
        let p = self.row("products", product).cloned().unwrap_or_default();
        let c = self.row("combinations", attribute).cloned();
        let name = match &c {
            Some(c) => format!("{} - {}", p.lang("name", 1), self.attribute_label(c)),
            None => p.lang("name", 1).to_string(),
        };
        let pick = |field: &str| {
            c.as_ref()
                .map(|c| c.text(field))
                .filter(|v| !v.is_empty())
                .unwrap_or(p.text(field))
                .to_string()
        };
        let total = unit * Decimal::from(quantity);
        let mut detail = Row::blank(def_of("order_details").expect("order_details"));
        for (field, value) in [
            ("id_order", order.to_string()),
            ("product_id", product.to_string()),
            ("product_attribute_id", attribute.to_string()),
            ("id_shop", shop.to_string()),
            ("product_name", name),
            ("product_quantity", quantity.to_string()),
            ("product_quantity_in_stock", quantity.to_string()),
            ("product_price", money(unit)),
            ("product_ean13", pick("ean13")),
            ("product_upc", pick("upc")),
            ("product_mpn", pick("mpn")),
            ("product_reference", pick("reference")),
            (
                "product_weight",
                money(p.dec("weight") + c.as_ref().map_or(Decimal::ZERO, |c| c.dec("weight"))),
            ),
            ("total_price_tax_incl", money(total)),
            ("total_price_tax_excl", money(total)),
            ("unit_price_tax_incl", money(unit)),
            ("unit_price_tax_excl", money(unit)),
            ("original_product_price", money(unit)),
            ("original_wholesale_price", money(p.dec("wholesale_price"))),
        ] {
            detail.set(field, value);
        }
        detail
    }

    /// A combination's attributes as order lines name them: `Size : M- Color : Black`.
    pub fn attribute_label(&self, combination: &Row) -> String {
        self.options_of(combination)
            .iter()
            .map(|(group, value)| format!("{group} : {value}"))
            .collect::<Vec<_>>()
            .join("- ")
    }

    /// A combination's `(group, value)` pairs in English.
    pub fn options_of(&self, combination: &Row) -> Vec<(String, String)> {
        combination
            .assocs
            .get("product_option_values")
            .map_or_else(Vec::new, |items| {
                items
                    .iter()
                    .filter_map(|item| {
                        let value = self.row("product_option_values", item.get("id")?.parse().ok()?)?;
                        let group = self.row("product_options", value.num("id_attribute_group"))?;
                        Some((group.lang("name", 1).to_string(), value.lang("name", 1).to_string()))
                    })
                    .collect()
            })
    }

    fn add_history(&mut self, order: u32, state: u32) -> u32 {
        let mut history = Row::blank(def_of("order_histories").expect("order_histories"));
        history.set("id_order", order.to_string());
        history.set("id_order_state", state.to_string());
        history.set("id_employee", "0");
        history.set("date_add", now());
        self.insert("order_histories", history)
    }

    /// `OrderHistory::changeIdOrderState` then its add: the order's `current_state`
    /// (`valid` from the state's logable flag), a new history row (duplicates included),
    /// the order's `date_upd`; into Canceled the stock goes back. Returns the history id.
    pub fn change_state(&mut self, order: u32, state: u32) -> Result<u32, WsError> {
        let Some(new_state) = self.order_state(state).cloned() else {
            return Err(WsError::validation(
                85,
                "Property OrderHistory->id_order_state is not valid",
            ));
        };
        let Some(current) = self.row("orders", order).map(|o| o.num("current_state")) else {
            return Err(WsError::validation(85, "Property OrderHistory->id_order is not valid"));
        };
        let canceled = self.os("PS_OS_CANCELED");
        if state == canceled && current != canceled {
            let shop = self.row("orders", order).map_or(1, |o| o.num("id_shop").max(1));
            let lines: Vec<(u32, u32, i64)> = self
                .table("order_details")
                .map(|t| {
                    t.values()
                        .filter(|d| d.num("id_order") == order)
                        .map(|d| {
                            (
                                d.num("product_id"),
                                d.num("product_attribute_id"),
                                d.int("product_quantity"),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            let took = current != self.os("PS_OS_ERROR");
            for (product, attribute, quantity) in lines {
                if took && self.row("products", product).is_some() {
                    self.add_stock(product, attribute, shop, quantity);
                }
            }
        }
        if let Some(row) = self.row_mut("orders", order) {
            row.set("current_state", state.to_string());
            row.set("valid", new_state.text("logable").to_string());
            row.set("date_upd", now());
        }
        Ok(self.add_history(order, state))
    }
}

/// An association item with just an id.
pub fn id_item(id: u32) -> BTreeMap<String, String> {
    BTreeMap::from([("id".to_string(), id.to_string())])
}

/// A cart's rows as `(product, combination, quantity)`, quantities of one line summed.
pub fn cart_rows(cart: &Row) -> Vec<(u32, u32, i64)> {
    let mut lines: Vec<(u32, u32, i64)> = Vec::new();
    for item in cart.assocs.get("cart_rows").map(Vec::as_slice).unwrap_or_default() {
        let field = |name: &str| item.get(name).map_or("0", String::as_str);
        let (product, attribute) = (
            field("id_product").parse().unwrap_or(0),
            field("id_product_attribute").parse().unwrap_or(0),
        );
        let quantity: i64 = field("quantity").parse().unwrap_or(0);
        if quantity <= 0 {
            continue;
        }
        match lines.iter_mut().find(|(p, a, _)| *p == product && *a == attribute) {
            Some(line) => line.2 += quantity,
            None => lines.push((product, attribute, quantity)),
        }
    }
    lines
}

/// `Order::generateReference`: nine uppercase letters.
pub fn generate_reference() -> String {
    use rand::Rng as _;
    let mut rng = rand::rng();
    (0..9).map(|_| rng.random_range(b'A'..=b'Z') as char).collect()
}
