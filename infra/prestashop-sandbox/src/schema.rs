//! The resources the sandbox serves, as PrestaShop's `ObjectModel::$definition` and
//! `$webserviceParameters` describe them: fields (required, size, `Validate::is…`
//! method, multilingual, read-only, dynamic), associations and forbidden methods; and
//! the field validation of `ObjectModel::validateField` with its exact messages.

use std::collections::BTreeMap;
use std::sync::LazyLock;

/// A `Validate::is…` method a field is checked with (only when its value is not PHP-empty,
/// as `ObjectModel::validateField` does).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// No check.
    None,
    /// `isUnsignedId` / `isNullOrUnsignedId`.
    UnsignedId,
    /// `isInt`.
    Int,
    /// `isUnsignedInt`.
    UnsignedInt,
    /// `isBool`.
    Bool,
    /// `isFloat`.
    Float,
    /// `isPrice`.
    Price,
    /// `isNegativePrice`.
    NegativePrice,
    /// `isName`.
    Name,
    /// `isCustomerName`.
    CustomerName,
    /// `isEmail`.
    Email,
    /// `isGenericName`.
    GenericName,
    /// `isCatalogName`.
    CatalogName,
    /// `isAddress`.
    Address,
    /// `isCityName`.
    CityName,
    /// `isPostCode`.
    PostCode,
    /// `isPhoneNumber`.
    Phone,
    /// `isReference`.
    Reference,
    /// `isEan13`.
    Ean13,
    /// `isUpc`.
    Upc,
    /// `isIsbn`.
    Isbn,
    /// `isLinkRewrite`.
    LinkRewrite,
    /// `isModuleName`.
    ModuleName,
    /// `isCleanHtml`.
    CleanHtml,
    /// `isMessage`.
    Message,
    /// `isDate` / `isDateFormat`.
    Date,
    /// `isTrackingNumber`.
    TrackingNumber,
    /// `isReductionType`.
    ReductionType,
}

impl Check {
    /// The `Validate` method's name (shown as `format` in `?schema=synopsis`).
    pub fn method(self) -> &'static str {
        match self {
            Check::None => "isString",
            Check::UnsignedId => "isUnsignedId",
            Check::Int => "isInt",
            Check::UnsignedInt => "isUnsignedInt",
            Check::Bool => "isBool",
            Check::Float => "isFloat",
            Check::Price => "isPrice",
            Check::NegativePrice => "isNegativePrice",
            Check::Name => "isName",
            Check::CustomerName => "isCustomerName",
            Check::Email => "isEmail",
            Check::GenericName => "isGenericName",
            Check::CatalogName => "isCatalogName",
            Check::Address => "isAddress",
            Check::CityName => "isCityName",
            Check::PostCode => "isPostCode",
            Check::Phone => "isPhoneNumber",
            Check::Reference => "isReference",
            Check::Ean13 => "isEan13",
            Check::Upc => "isUpc",
            Check::Isbn => "isIsbn",
            Check::LinkRewrite => "isLinkRewrite",
            Check::ModuleName => "isModuleName",
            Check::CleanHtml => "isCleanHtml",
            Check::Message => "isMessage",
            Check::Date => "isDate",
            Check::TrackingNumber => "isTrackingNumber",
            Check::ReductionType => "isReductionType",
        }
    }

    /// Whether `value` passes the check.
    pub fn passes(self, value: &str) -> bool {
        let none_of = |forbidden: &str| !value.chars().any(|c| forbidden.contains(c));
        match self {
            Check::None => true,
            Check::UnsignedId | Check::UnsignedInt => value.parse::<u64>().is_ok_and(|n| n < 4_294_967_296),
            Check::Int => value.parse::<i64>().is_ok_and(|n| n.to_string() == value),
            Check::Bool => value == "0" || value == "1",
            Check::Float => is_php_numeric(value),
            Check::Price => is_price(value),
            Check::NegativePrice => is_price(value.strip_prefix('-').unwrap_or(value)),
            Check::Name => none_of("0123456789!<>,;?=+()@#\"°{}_$%:¤|"),
            Check::CustomerName => is_customer_name(value),
            Check::Email => is_email(value),
            Check::GenericName => none_of("<>={}"),
            Check::CatalogName => none_of("<>;=#{}"),
            Check::Address => none_of("!<>?=+@{}_$%"),
            Check::CityName => none_of("!<>;?=+@#\"°{}_$%"),
            Check::PostCode => value.chars().all(|c| c.is_ascii_alphanumeric() || c == ' ' || c == '-'),
            Check::Phone => value.chars().all(|c| c.is_ascii_digit() || "+. ()/-".contains(c)),
            Check::Reference => none_of("<>;={}"),
            Check::Ean13 => value.len() <= 13 && value.chars().all(|c| c.is_ascii_digit()),
            Check::Upc => value.len() <= 12 && value.chars().all(|c| c.is_ascii_digit()),
            Check::Isbn => value.len() <= 32 && value.chars().all(|c| c.is_ascii_digit() || c == '-'),
            Check::LinkRewrite => value.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'),
            Check::ModuleName => value.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'),
            Check::CleanHtml => {
                let lower = value.to_ascii_lowercase();
                ![
                    "<script",
                    "<iframe",
                    "<form",
                    "<input",
                    "<embed",
                    "<object",
                    "javascript:",
                ]
                .iter()
                .any(|bad| lower.contains(bad))
            }
            Check::Message => none_of("<>{}"),
            Check::Date => is_date(value),
            Check::TrackingNumber => value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "~:#,%&_=()[].? +-@/".contains(c)),
            Check::ReductionType => value == "amount" || value == "percentage",
        }
    }
}

/// PHP's `is_numeric` for the strings a client sends (`1`, `-1.5`, `.5`, `1e3`).
pub fn is_php_numeric(value: &str) -> bool {
    let trimmed = value.trim_start();
    !trimmed.is_empty()
        && trimmed.chars().all(|c| c.is_ascii_digit() || "+-.eE".contains(c))
        && trimmed.parse::<f64>().is_ok_and(f64::is_finite)
}

fn is_price(value: &str) -> bool {
    let (whole, fraction) = value.split_once('.').map_or((value, None), |(w, f)| (w, Some(f)));
    (1..=10).contains(&whole.len())
        && whole.chars().all(|c| c.is_ascii_digit())
        && fraction.is_none_or(|f| (1..=9).contains(&f.len()) && f.chars().all(|c| c.is_ascii_digit()))
}

/// PrestaShop 8's `CustomerNameValidator`: no digits nor `!<>,;?=+()/\@#"°*`{}_^$%:¤[]|`,
/// and a dot only before a space or at the end (so no `www.site.com`).
fn is_customer_name(value: &str) -> bool {
    let chars: Vec<char> = value.chars().collect();
    chars.iter().enumerate().all(|(i, c)| match c {
        '.' | '。' => chars.get(i + 1).is_none_or(|next| next.is_whitespace()),
        c => !c.is_ascii_digit() && !"!<>,;?=+()/\\@#\"°*`{}_^$%:¤[]|".contains(*c),
    })
}

fn is_email(value: &str) -> bool {
    let Some((local, domain)) = value.split_once('@') else {
        return false;
    };
    let local_ok = !local.is_empty()
        && !local.starts_with('.')
        && local
            .chars()
            .all(|c| c.is_alphanumeric() || "!#$%&'*+/=?^`{}|~_.-".contains(c));
    let labels: Vec<&str> = domain.split('.').collect();
    local_ok
        && labels.len() >= 2
        && labels
            .iter()
            .all(|l| !l.is_empty() && l.chars().all(|c| c.is_alphanumeric() || c == '-' || c == '_'))
}

/// `Validate::isDate`: `YYYY-MM-DD` with an optional ` HH:MM:SS`, a real calendar day.
pub fn is_date(value: &str) -> bool {
    let (day, time) = value.split_once(' ').map_or((value, None), |(d, t)| (d, Some(t)));
    let time_ok = time.is_none_or(|t| {
        let parts: Vec<&str> = t.split(':').collect();
        parts.len() == 3
            && parts
                .iter()
                .all(|p| p.len() == 2 && p.chars().all(|c| c.is_ascii_digit()))
    });
    let parts: Vec<&str> = day.split('-').collect();
    if parts.len() != 3 || !time_ok || parts[0].len() != 4 {
        return false;
    }
    let numbers: Vec<i16> = parts.iter().filter_map(|p| p.parse().ok()).collect();
    if numbers.len() != 3 {
        return false;
    }
    // 0000-00-00 is PrestaShop's "no date" and passes the pattern check.
    numbers == [0, 0, 0] || jiff::civil::Date::new(numbers[0], numbers[1] as i8, numbers[2] as i8).is_ok()
}

/// One field of a resource.
#[derive(Debug, Clone)]
pub struct FieldDef {
    /// Name (XML node, JSON key, filter name).
    pub name: &'static str,
    /// Multilingual (`<language id="N">` nodes).
    pub lang: bool,
    /// Required (`'required' => true`).
    pub required: bool,
    /// The `Validate` method.
    pub check: Check,
    /// Maximum length (0: none).
    pub size: usize,
    /// Writable through the webservice (`'setter' => false` makes it read-only).
    pub writable: bool,
    /// Computed by a getter: shown `notFilterable`, refused as a filter.
    pub dynamic: bool,
    /// The resource its value points at (`xlink:href`).
    pub xlink: Option<&'static str>,
    /// Stored when the field is absent (or null) on a write.
    pub default: &'static str,
}

impl FieldDef {
    fn new(name: &'static str) -> Self {
        Self {
            name,
            lang: false,
            required: false,
            check: Check::None,
            size: 0,
            writable: true,
            dynamic: false,
            xlink: None,
            default: "",
        }
    }
}

/// An association (`<associations><categories><category>…`).
#[derive(Debug, Clone)]
pub struct AssocDef {
    /// Wrapper node (`categories`).
    pub name: &'static str,
    /// Item node (`category`).
    pub node: &'static str,
    /// The `api` attribute: the resource the items are (`categories`, `images/products`).
    pub api: &'static str,
    /// Item fields besides `id`.
    pub fields: &'static [&'static str],
    /// Computed from other tables (a write of it is ignored).
    pub read_only: bool,
}

/// A resource: its class, nodes, fields and associations.
#[derive(Debug, Clone)]
pub struct Def {
    /// API name (`products`).
    pub resource: &'static str,
    /// One object's node (`product`).
    pub node: &'static str,
    /// PHP class (in validation messages: `Property Customer->firstname is empty.`).
    pub class: &'static str,
    /// `getResources()` description.
    pub description: &'static str,
    /// Fields after `id`, in definition order.
    pub fields: Vec<FieldDef>,
    /// Associations.
    pub assocs: Vec<AssocDef>,
    /// Methods refused for the resource (`forbidden_method`).
    pub forbidden: &'static [&'static str],
}

impl Def {
    /// The field named `name`.
    pub fn field(&self, name: &str) -> Option<&FieldDef> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// Whether the resource has `date_add` / `date_upd` columns.
    pub fn has_dates(&self) -> bool {
        self.field("date_upd").is_some()
    }
}

/// Field spec shorthand: `name` then flags `r` required, `l` lang, `o` read-only,
/// `d` dynamic (getter), `=DEFAULT`, `~N` size, `>resource` xlink, and `:check`.
fn fields(spec: &str) -> Vec<FieldDef> {
    spec.split_whitespace().map(field).collect()
}

fn field(spec: &str) -> FieldDef {
    let mut parts = spec.split('|');
    let name: &'static str = leak(parts.next().unwrap_or_default());
    let mut def = FieldDef::new(name);
    for part in parts {
        let (flag, rest) = part.split_at(1);
        match flag {
            "r" => def.required = true,
            "l" => def.lang = true,
            "o" => def.writable = false,
            "d" => def.dynamic = true,
            "=" => def.default = leak(rest),
            "~" => def.size = rest.parse().unwrap_or(0),
            ">" => def.xlink = Some(leak(rest)),
            ":" => def.check = check_named(rest),
            _ => {}
        }
    }
    if matches!(def.check, Check::UnsignedId | Check::Int | Check::Bool) && def.default.is_empty() {
        def.default = "0";
    }
    def
}

fn leak(text: &str) -> &'static str {
    // Definitions are built once, at first use.
    Box::leak(text.to_string().into_boxed_str())
}

fn check_named(name: &str) -> Check {
    match name {
        "id" => Check::UnsignedId,
        "int" => Check::Int,
        "uint" => Check::UnsignedInt,
        "bool" => Check::Bool,
        "float" => Check::Float,
        "price" => Check::Price,
        "nprice" => Check::NegativePrice,
        "name" => Check::Name,
        "cname" => Check::CustomerName,
        "email" => Check::Email,
        "generic" => Check::GenericName,
        "catalog" => Check::CatalogName,
        "address" => Check::Address,
        "city" => Check::CityName,
        "postcode" => Check::PostCode,
        "phone" => Check::Phone,
        "ref" => Check::Reference,
        "ean" => Check::Ean13,
        "upc" => Check::Upc,
        "isbn" => Check::Isbn,
        "link" => Check::LinkRewrite,
        "module" => Check::ModuleName,
        "html" => Check::CleanHtml,
        "message" => Check::Message,
        "date" => Check::Date,
        "tracking" => Check::TrackingNumber,
        "reduction" => Check::ReductionType,
        _ => Check::None,
    }
}

fn assoc(name: &'static str, node: &'static str, api: &'static str, fields: &'static [&'static str]) -> AssocDef {
    AssocDef {
        name,
        node,
        api,
        fields,
        read_only: false,
    }
}

fn computed(name: &'static str, node: &'static str, api: &'static str, fields: &'static [&'static str]) -> AssocDef {
    AssocDef {
        read_only: true,
        ..assoc(name, node, api, fields)
    }
}

fn def(
    resource: &'static str,
    node: &'static str,
    class: &'static str,
    description: &'static str,
    spec: &str,
    assocs: Vec<AssocDef>,
) -> Def {
    Def {
        resource,
        node,
        class,
        description,
        fields: fields(spec),
        assocs,
        forbidden: if resource == "stock_availables" {
            &["POST", "DELETE"]
        } else {
            &[]
        },
    }
}

const DATES: &str = " date_add|:date date_upd|:date";

static DEFS: LazyLock<BTreeMap<&'static str, Def>> = LazyLock::new(|| {
    let list = vec![
        def(
            "addresses",
            "address",
            "Address",
            "The Customer, Brand and Customer addresses",
            &format!(
                "id_customer|:id|>customers id_manufacturer|:id|>manufacturers id_supplier|:id|>suppliers \
             id_warehouse|:id|>warehouses id_country|r|:id|>countries id_state|:id|>states alias|r|:generic|~32 \
             company|:generic|~255 lastname|r|:name|~255 firstname|r|:name|~255 vat_number|:generic \
             address1|r|:address|~128 address2|:address|~128 postcode|:postcode|~12 city|r|:city|~64 \
             other|:message|~300 phone|:phone|~32 phone_mobile|:phone|~32 dni|~16 deleted|:bool{DATES}"
            ),
            vec![],
        ),
        def(
            "carriers",
            "carrier",
            "Carrier",
            "The Carriers",
            "deleted|:bool is_module|:bool id_tax_rules_group|:id|>tax_rule_groups id_reference|:id \
             name|r|~64 active|r|:bool is_free|:bool url|~255 shipping_handling|:bool shipping_external|:bool \
             range_behavior|:bool shipping_method|:int max_width|:int max_height|:int max_depth|:int \
             max_weight|:float grade|:int external_module_name|~64 need_range|:bool position|:int delay|l|r|~512",
            vec![],
        ),
        def(
            "carts",
            "cart",
            "Cart",
            "Customer's carts",
            &format!(
                "id_address_delivery|:id|>addresses id_address_invoice|:id|>addresses id_currency|r|:id|>currencies \
             id_customer|:id|>customers id_guest|:id|>guests id_lang|r|:id|>languages id_shop_group|:id|>shop_groups \
             id_shop|:id|>shops id_carrier|:id|>carriers recyclable|:bool gift|:bool gift_message|:message \
             mobile_theme|:bool delivery_option secure_key|~32 allow_seperated_package|:bool{DATES}"
            ),
            vec![assoc(
                "cart_rows",
                "cart_row",
                "cart_rows",
                &[
                    "id_product",
                    "id_product_attribute",
                    "id_address_delivery",
                    "id_customization",
                    "quantity",
                ],
            )],
        ),
        def(
            "categories",
            "category",
            "Category",
            "The product categories",
            &format!(
                "id_parent|:id|>categories level_depth|o|:uint nb_products_recursive|o|d active|r|:bool \
             id_shop_default|:id|>shops is_root_category|:bool position|:uint{DATES} name|l|r|:catalog|~128 \
             link_rewrite|l|r|:link|~128 description|l|:html meta_title|l|:generic|~255"
            ),
            vec![computed("products", "product", "products", &[])],
        ),
        def(
            "combinations",
            "combination",
            "Combination",
            "The product combinations",
            "id_product|r|:id|>products location|:generic|~255 ean13|:ean|~13 isbn|:isbn|~32 upc|:upc|~12 \
             mpn|~40 quantity|:int reference|:ref|~64 supplier_reference|:ref|~64 wholesale_price|:price \
             price|:nprice ecotax|:price weight|:float unit_price_impact|:nprice minimal_quantity|r|:uint|=1 \
             low_stock_threshold|:int low_stock_alert|:bool default_on|:bool available_date|:date",
            vec![
                assoc(
                    "product_option_values",
                    "product_option_value",
                    "product_option_values",
                    &[],
                ),
                assoc("images", "image", "images", &[]),
            ],
        ),
        def(
            "configurations",
            "configuration",
            "Configuration",
            "Shop configuration",
            &format!("value id_shop_group|:id|>shop_groups id_shop|:id|>shops name|r|~254{DATES}"),
            vec![],
        ),
        def(
            "countries",
            "country",
            "Country",
            "The countries",
            "id_zone|r|:id|>zones id_currency|:id|>currencies call_prefix|:int iso_code|r|~3 active|:bool \
             contains_states|r|:bool need_identification_number|r|:bool need_zip_code|:bool \
             zip_code_format|~12 display_tax_label|r|:bool name|l|r|:generic|~64",
            vec![],
        ),
        def(
            "currencies",
            "currency",
            "Currency",
            "The currencies",
            "names|l symbol|l iso_code|r|~3 numeric_iso_code|~3 precision|:uint conversion_rate|r|:float \
             deleted|:bool active|:bool unofficial|:bool modified|:bool pattern|l name|o",
            vec![],
        ),
        def(
            "customers",
            "customer",
            "Customer",
            "The e-shop's customers",
            &format!(
                "id_default_group|:id|>groups id_lang|:id|>languages newsletter_date_add|:date \
             ip_registration_newsletter last_passwd_gen|o secure_key|~32 deleted|:bool passwd|r|~255 \
             lastname|r|:cname|~255 firstname|r|:cname|~255 email|r|:email|~255 id_gender|:id|>genders \
             birthday|:date newsletter|:bool optin|:bool website company|:generic|~255 siret|~14 ape|~6 \
             outstanding_allow_amount|:float show_public_prices|:bool id_risk|:uint max_payment_days|:uint \
             active|:bool note|:html is_guest|:bool id_shop|:id|>shops id_shop_group|:id|>shop_groups{DATES} \
             reset_password_token|~40 reset_password_validity|:date"
            ),
            vec![assoc("groups", "group", "groups", &[])],
        ),
        def("images", "image_type", "ImageType", "The images", "name", vec![]),
        def(
            "languages",
            "language",
            "Language",
            "Shop languages",
            "name|r|:generic|~32 iso_code|r|~2 locale|~5 language_code|~5 active|:bool is_rtl|:bool \
             date_format_lite|r|~32 date_format_full|r|~32",
            vec![],
        ),
        def(
            "manufacturers",
            "manufacturer",
            "Manufacturer",
            "The product brands",
            &format!(
                "active|:bool link_rewrite|o|d name|r|:catalog|~64{DATES} description|l|:html \
             short_description|l|:html meta_title|l|:generic|~255"
            ),
            vec![computed("addresses", "address", "addresses", &[])],
        ),
        def(
            "order_carriers",
            "order_carrier",
            "OrderCarrier",
            "The Order carriers",
            "id_order|r|:id|>orders id_carrier|r|:id|>carriers id_order_invoice|:id|>order_invoices weight|:float \
             shipping_cost_tax_excl|:float shipping_cost_tax_incl|:float tracking_number|:tracking|~64 date_add|:date",
            vec![],
        ),
        def(
            "order_details",
            "order_detail",
            "OrderDetail",
            "Details of an order",
            "id_order|r|:id|>orders product_id|:id|>products product_attribute_id|:id|>combinations \
             product_quantity_reinjected|:uint id_order_invoice|:id|>order_invoices id_warehouse|:id id_shop|r|:id \
             id_customization|:id product_name|r|~255 product_quantity|r|:int product_quantity_in_stock|:int \
             product_quantity_return|:uint product_quantity_refunded|:uint product_price|r|:price \
             reduction_percent|:float reduction_amount|:price reduction_amount_tax_incl|:price \
             reduction_amount_tax_excl|:price product_quantity_discount|:float product_ean13|:ean product_isbn|:isbn \
             product_upc|:upc product_mpn product_reference|:ref product_supplier_reference|:ref product_weight|:float \
             ecotax|:float total_price_tax_incl|:price total_price_tax_excl|:price unit_price_tax_incl|:price \
             unit_price_tax_excl|:price total_shipping_price_tax_incl|:price total_shipping_price_tax_excl|:price \
             purchase_supplier_price|:price original_product_price|:price original_wholesale_price|:price",
            vec![],
        ),
        def(
            "order_histories",
            "order_history",
            "OrderHistory",
            "The Order histories",
            "id_employee|:id|>employees id_order_state|r|:id|>order_states id_order|r|:id|>orders date_add|:date",
            vec![],
        ),
        def(
            "order_slip",
            "order_slip",
            "OrderSlip",
            "The Customer credit slips",
            "id_customer|r|:id|>customers id_order|r|:id|>orders conversion_rate|r|:float \
             total_products_tax_excl|r|:float total_products_tax_incl|r|:float total_shipping_tax_excl|r|:float \
             total_shipping_tax_incl|r|:float amount|:float shipping_cost|:int shipping_cost_amount|:float \
             partial|:int date_add|:date date_upd|:date order_slip_type|:int",
            vec![],
        ),
        def(
            "order_states",
            "order_state",
            "OrderState",
            "The Order statuses",
            "unremovable|:bool delivery|:bool hidden|:bool send_email|:bool module_name|:module invoice|:bool \
             color|~32 logable|:bool shipped|:bool paid|:bool pdf_delivery|:bool pdf_invoice|:bool deleted|:bool \
             name|l|r|:generic|~64 template|l|~64",
            vec![],
        ),
        def(
            "orders",
            "order",
            "Order",
            "The Customers orders",
            &format!(
                "id_address_delivery|r|:id|>addresses id_address_invoice|r|:id|>addresses id_cart|r|:id|>carts \
             id_currency|r|:id|>currencies id_lang|r|:id|>languages id_customer|r|:id|>customers \
             id_carrier|r|:id|>carriers current_state|:id|>order_states module|r|:module invoice_number|:uint \
             invoice_date|:date delivery_number|:uint delivery_date|:date valid|:bool{DATES} shipping_number|d|:tracking \
             note|:html id_shop_group|:id|>shop_groups id_shop|:id|>shops secure_key|~32 payment|r|:generic|~255 \
             recyclable|:bool gift|:bool gift_message|:message mobile_theme|:bool total_discounts|:price \
             total_discounts_tax_incl|:price total_discounts_tax_excl|:price total_paid|r|:price \
             total_paid_tax_incl|:price total_paid_tax_excl|:price total_paid_real|r|:price total_products|r|:price \
             total_products_wt|r|:price total_shipping|:price total_shipping_tax_incl|:price \
             total_shipping_tax_excl|:price carrier_tax_rate|:float total_wrapping|:price \
             total_wrapping_tax_incl|:price total_wrapping_tax_excl|:price round_mode|:int round_type|:int \
             conversion_rate|r|:float reference|~9"
            ),
            vec![computed(
                "order_rows",
                "order_row",
                "order_rows",
                &[
                    "product_id",
                    "product_attribute_id",
                    "product_quantity",
                    "product_name",
                    "product_reference",
                    "product_ean13",
                    "product_isbn",
                    "product_upc",
                    "product_price",
                    "id_customization",
                    "unit_price_tax_incl",
                    "unit_price_tax_excl",
                ],
            )],
        ),
        def(
            "product_option_values",
            "product_option_value",
            "ProductAttribute",
            "The product options value",
            "id_attribute_group|r|:id|>product_options color|~32 position|:int name|l|r|:generic|~128",
            vec![],
        ),
        def(
            "product_options",
            "product_option",
            "AttributeGroup",
            "The product options",
            "is_color_group|:bool group_type|r position|:int name|l|r|:generic|~128 public_name|l|r|:generic|~64",
            vec![computed(
                "product_option_values",
                "product_option_value",
                "product_option_values",
                &[],
            )],
        ),
        def(
            "products",
            "product",
            "Product",
            "The products",
            &format!(
                "id_manufacturer|:id|>manufacturers id_supplier|:id|>suppliers id_category_default|:id|>categories \
             new|o|d cache_default_attribute|:id id_default_image|d|>images id_default_combination|d|>combinations \
             id_tax_rules_group|:id|>tax_rule_groups position_in_category|d manufacturer_name|o|d quantity|o|d \
             type|d id_shop_default|:id|>shops reference|:ref|~64 supplier_reference|:ref|~64 location|:ref|~255 \
             width|:float height|:float depth|:float weight|:float quantity_discount|:bool ean13|:ean|~13 \
             isbn|:isbn|~32 upc|:upc|~12 mpn|~40 cache_is_pack|:bool cache_has_attachments|:bool is_virtual|:bool \
             state|:uint|=1 additional_delivery_times|:uint product_type on_sale|:bool online_only|:bool \
             ecotax|:price minimal_quantity|:uint|=1 low_stock_threshold|:int low_stock_alert|:bool price|r|:price \
             wholesale_price|:price unity|:generic unit_price_ratio|:float additional_shipping_cost|:price \
             customizable|:uint text_fields|:uint uploadable_files|:uint active|:bool redirect_type \
             id_type_redirected|:id available_for_order|:bool available_date|:date show_condition|:bool \
             condition show_price|:bool indexed|:bool visibility advanced_stock_management|:bool{DATES} \
             pack_stock_type|:uint meta_description|l|:generic|~512 meta_keywords|l|:generic|~255 \
             meta_title|l|:generic|~255 link_rewrite|l|:link|~128 name|l|r|:catalog|~128 description|l|:html \
             description_short|l|:html available_now|l|:generic|~255 available_later|l|:generic|~255"
            ),
            vec![
                assoc("categories", "category", "categories", &[]),
                computed("images", "image", "images", &[]),
                computed("combinations", "combination", "combinations", &[]),
                assoc(
                    "product_option_values",
                    "product_option_value",
                    "product_option_values",
                    &[],
                ),
                computed(
                    "stock_availables",
                    "stock_available",
                    "stock_availables",
                    &["id_product_attribute"],
                ),
            ],
        ),
        def(
            "shops",
            "shop",
            "Shop",
            "Shops from multi-shop feature",
            "id_shop_group|r|:id|>shop_groups id_category|r|:id|>categories active|:bool deleted|:bool \
             name|r|:generic|~64 color|~50 theme_name|~255",
            vec![],
        ),
        def(
            "specific_prices",
            "specific_price",
            "SpecificPrice",
            "Specific price management",
            "id_shop_group|:id|>shop_groups id_shop|r|:id|>shops id_cart|r|:id|>carts id_product|r|:id|>products \
             id_product_attribute|:id|>combinations id_currency|r|:id|>currencies id_country|r|:id|>countries \
             id_group|r|:id|>groups id_customer|r|:id|>customers id_specific_price_rule|:id price|r|:nprice \
             from_quantity|r|:uint reduction|r|:float reduction_tax|r|:bool reduction_type|r|:reduction \
             from|r|:date to|r|:date",
            vec![],
        ),
        def(
            "states",
            "state",
            "State",
            "The available states of countries",
            "id_zone|r|:id|>zones id_country|r|:id|>countries iso_code|r|~7 name|r|~80 active|:bool",
            vec![],
        ),
        def(
            "stock_availables",
            "stock_available",
            "StockAvailable",
            "Available quantities",
            "id_product|r|:id|>products id_product_attribute|r|:id|>combinations id_shop|:id|>shops \
             id_shop_group|:id|>shop_groups quantity|r|:int physical_quantity|:int reserved_quantity|:int \
             depends_on_stock|r|:bool out_of_stock|r|:int location|~255",
            vec![],
        ),
    ];
    list.into_iter().map(|d| (d.resource, d)).collect()
});

/// Every resource the sandbox serves, in `getResources()` order (alphabetical).
pub const RESOURCES: [&str; 25] = [
    "addresses",
    "carriers",
    "carts",
    "categories",
    "combinations",
    "configurations",
    "countries",
    "currencies",
    "customers",
    "images",
    "languages",
    "manufacturers",
    "order_carriers",
    "order_details",
    "order_histories",
    "order_slip",
    "order_states",
    "orders",
    "product_option_values",
    "product_options",
    "products",
    "shops",
    "specific_prices",
    "states",
    "stock_availables",
];

/// The definition of `resource`.
pub fn def_of(resource: &str) -> Option<&'static Def> {
    DEFS.get(resource)
}

/// Every method PrestaShop lets a key be given on `resource` (all six but the
/// resource's forbidden ones).
pub fn allowed_methods(resource: &str) -> Vec<&'static str> {
    let forbidden = def_of(resource).map_or(&[][..], |d| d.forbidden);
    ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"]
        .into_iter()
        .filter(|m| !forbidden.contains(m))
        .collect()
}

/// Validates one value as `ObjectModel::validateField` does (`lang` for a multilingual
/// value of language `id_lang`; the required check only holds for the default language).
/// `Err` is the message after `Validation error: `.
pub fn validate_value(def: &Def, field: &FieldDef, value: &str, id_lang: Option<u32>) -> Result<(), String> {
    let property = format!("{}->{}", def.class, field.name);
    if field.required && id_lang.is_none_or(|l| l == 1) && value.is_empty() {
        return Err(format!("Property {property} is empty."));
    }
    let length = value.chars().count();
    if field.size > 0 && length > field.size {
        return Err(format!(
            "The length of property {property} is currently {length} chars. It must be between 0 and {} chars.",
            field.size
        ));
    }
    // PHP's empty(): '' and '0' are not checked.
    if !value.is_empty() && value != "0" && !field.check.passes(value) {
        return Err(format!("Property {property} is not valid"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validators_follow_prestashop() {
        assert!(Check::CustomerName.passes("John D. Smith"));
        assert!(!Check::CustomerName.passes("John2"));
        assert!(!Check::CustomerName.passes("www.site.com"));
        assert!(Check::Price.passes("23.900000"));
        assert!(!Check::Price.passes("-1"));
        assert!(Check::Email.passes("jane.doe@example.com"));
        assert!(!Check::Email.passes("jane@"));
        assert!(Check::Date.passes("2025-02-28 10:00:00"));
        assert!(!Check::Date.passes("2025-02-30"));
        let customer = def_of("customers").unwrap();
        let firstname = customer.field("firstname").unwrap();
        assert_eq!(
            validate_value(customer, firstname, "", None).unwrap_err(),
            "Property Customer->firstname is empty."
        );
        assert_eq!(
            validate_value(customer, firstname, "J4ne", None).unwrap_err(),
            "Property Customer->firstname is not valid"
        );
    }
}
