//! The catalogue screens: the TikTok category picker, profiles (list and editor with
//! rule groups, attribute mapping, brands and price rule), products (status tabs,
//! search, filters, paging, bulk actions) and one product (store beside TikTok, every
//! reason, overrides, link and unlink).

use maud::{Markup, html};

use super::super::catalog::MAX_SELECTION;
use super::{Frame, Section, form, layout};
use crate::catalog::browse::{Browse, PAGE_SIZE, ProductFilter, TABS, status_label};
use crate::catalog::records::{Listing, ListingStatus};
use crate::rules::catalog::{
    Adjustment, Field, InventoryPolicy, Match, Operator, Overrides, Profile, Rounding, Source, StoreField, total_stock,
};
use crate::store::Product;
use crate::tiktok::model::{Attribute, CategoryRules};

/// A leaf category as the picker shows it.
#[derive(Debug, Clone)]
pub struct CategoryChoice {
    /// TikTok category id.
    pub id: String,
    /// Its path from the root (`Home Supplies > Kitchen > Mugs`).
    pub path: String,
}

/// The category picker: the leaves matching the search, the chosen one and TikTok's
/// recommendation for a sample product.
pub struct CategoryPicker<'a> {
    /// Leaves to choose from (the search's matches, the chosen and recommended first).
    pub choices: &'a [CategoryChoice],
    /// The chosen category id (empty: none).
    pub chosen: &'a str,
    /// TikTok's recommendation and the product title it was asked for.
    pub recommended: Option<(&'a str, &'a str)>,
    /// The search words.
    pub query: &'a str,
    /// Why the categories could not be read, if they could not.
    pub error: Option<&'a str>,
}

impl CategoryPicker<'_> {
    /// The chosen category's path, when it is among the choices.
    pub fn chosen_name(&self) -> Option<&str> {
        self.choices
            .iter()
            .find(|c| c.id == self.chosen)
            .map(|c| c.path.as_str())
    }
}

/// The picker's search (a GET form to `action` keeping `hidden` parameters).
pub fn category_picker(picker: &CategoryPicker, action: &str, hidden: &[(&str, &str)]) -> Markup {
    html! {
        form.filters method="get" action=(action) role="search" {
            @for (name, value) in hidden { input type="hidden" name=(name) value=(value); }
            label { "Search TikTok categories " input type="search" name="category_q" value=(picker.query) placeholder="e.g. mug"; }
            button.secondary type="submit" { "Search" }
        }
        @if let Some((id, title)) = picker.recommended {
            p.muted { "TikTok recommends " strong { (picker.choices.iter().find(|c| c.id == id).map_or(id, |c| c.path.as_str())) } " for “" (title) "”." }
        }
        @if let Some(error) = picker.error { p.field-error { (error) } }
    }
}

/// The category select inside a form (`category_id`), with `error` next to it.
pub fn category_select(picker: &CategoryPicker, error: Option<&str>) -> Markup {
    html! {
        label {
            "TikTok category "
            select name="category_id" required aria-invalid=[error.map(|_| "true")] {
                option value="" { "Choose a category" }
                @for choice in picker.choices {
                    option value=(choice.id) selected[choice.id == picker.chosen] {
                        (choice.path)
                        @if picker.recommended.is_some_and(|(id, _)| id == choice.id) { " (recommended)" }
                    }
                }
            }
            @if let Some(error) = error { span.field-error { (error) } }
        }
    }
}

/// One profile in the list, with how many products it covers.
pub struct ProfileRow<'a> {
    /// The profile.
    pub profile: &'a Profile,
    /// Products it covers (as the upload would choose).
    pub products: usize,
    /// Its category's path, when known.
    pub category: Option<&'a str>,
}

/// `GET /settings/profiles`.
pub fn profiles(frame: &Frame, rows: &[ProfileRow], csrf: &str) -> Markup {
    let body = html! {
        p { a.button href="/settings/profiles/new" { "New profile" } }
        @if rows.is_empty() {
            div.card.warn { p { "No profile yet: no product can be uploaded. Create a default profile to cover every product." } }
        } @else {
            table {
                thead { tr { th { "Profile" } th { "Category" } th.num { "Priority" } th.num { "Products" } th {} } }
                tbody {
                    @for row in rows {
                        tr data-profile=(row.profile.id) {
                            td { a href=(format!("/settings/profiles/{}", row.profile.id)) { (row.profile.name) } @if row.profile.is_default { " " span.muted { "(default)" } } }
                            td { (row.category.unwrap_or(&row.profile.category_id)) }
                            td.num { (row.profile.priority) }
                            td.num { (row.products) }
                            td {
                                (form(&format!("/settings/profiles/{}/delete", row.profile.id), csrf, html! {}, "Delete"))
                            }
                        }
                    }
                }
            }
        }
    };
    layout(
        &Frame {
            section: Section::Profiles,
            ..*frame
        },
        "Profiles",
        None,
        body,
    )
}

/// What the profile editor shows besides the profile.
pub struct ProfileEditor<'a> {
    /// The profile as saved or as submitted (errors keep the edits).
    pub profile: &'a Profile,
    /// Whether it is saved already (else the form creates it).
    pub exists: bool,
    /// The category picker.
    pub picker: CategoryPicker<'a>,
    /// The chosen category's attributes (empty until a category is chosen).
    pub attributes: &'a [Attribute],
    /// The chosen category's listing rules (size chart, certifications), when read.
    pub rules: Option<&'a CategoryRules>,
    /// The store's inventory policy (what the profile's products follow unless it has its own).
    pub store_inventory: InventoryPolicy,
    /// Products it would cover, and products in all.
    pub matches: (usize, usize),
    /// Every refused value: the field it belongs to (`name`, `priority`, `category_id`,
    /// `rules`, `price_rule`, `inventory.reserve`…) and the message.
    pub errors: &'a [(String, String)],
}

const FIELDS: [(&str, &str); 6] = [
    ("title", "Title"),
    ("sku", "SKU"),
    ("brand", "Brand id"),
    ("category", "Store category id"),
    ("price", "Price"),
    ("quantity", "Quantity"),
];

const OPERATORS: [(&str, &str); 6] = [
    ("equals", "is"),
    ("not_equals", "is not"),
    ("contains", "contains"),
    ("does_not_contain", "does not contain"),
    ("greater", "is more than"),
    ("less", "is less than"),
];

/// The form key of a rule field.
pub fn field_key(field: &Field) -> &'static str {
    match field {
        Field::Title => "title",
        Field::Sku => "sku",
        Field::Brand => "brand",
        Field::Category => "category",
        Field::Price => "price",
        Field::Quantity => "quantity",
        Field::CustomField(_) => "custom_field",
    }
}

/// The form key of an operator.
pub fn operator_key(operator: Operator) -> &'static str {
    match operator {
        Operator::Equals => "equals",
        Operator::NotEquals => "not_equals",
        Operator::Contains => "contains",
        Operator::DoesNotContain => "does_not_contain",
        Operator::Greater => "greater",
        Operator::Less => "less",
    }
}

/// Empty rule rows added to each group, and empty groups added to a profile.
const SPARE_RULES: usize = 2;

fn rule_group(index: usize, matching: Match, rules: &[crate::rules::catalog::Rule]) -> Markup {
    let name = |part: &str, i: usize| format!("group{index}.{part}{i}");
    html! {
        fieldset {
            legend { @if index == 0 { "Products matching" } @else { "Or products matching (group " (index) ")" } }
            label {
                select name=(format!("group{index}.matching")) {
                    option value="all" selected[matching == Match::All] { "all of these rules" }
                    option value="any" selected[matching == Match::Any] { "any of these rules" }
                }
            }
            @for i in 0..rules.len() + SPARE_RULES {
                @let rule = rules.get(i);
                div.rule {
                    select name=(name("field", i)) aria-label="Field" {
                        option value="" { "—" }
                        @for (key, label) in FIELDS { option value=(key) selected[rule.is_some_and(|r| field_key(&r.field) == key)] { (label) } }
                    }
                    select name=(name("operator", i)) aria-label="Comparison" {
                        @for (key, label) in OPERATORS { option value=(key) selected[rule.is_some_and(|r| operator_key(r.operator) == key)] { (label) } }
                    }
                    input name=(name("value", i)) aria-label="Value" value=(rule.map_or("", |r| r.value.as_str()));
                }
            }
        }
    }
}

fn source_key(source: Option<&Source>) -> (&'static str, String) {
    match source {
        None => ("", String::new()),
        Some(Source::Fixed(v)) => ("fixed", v.clone()),
        Some(Source::CustomField(v)) => ("custom_field", v.clone()),
        Some(Source::Option(v)) => ("option", v.clone()),
        Some(Source::Brand) => ("brand", String::new()),
        Some(Source::StoreField(StoreField::Name)) => ("name", String::new()),
        Some(Source::StoreField(StoreField::Sku)) => ("sku", String::new()),
        Some(Source::StoreField(StoreField::Upc)) => ("upc", String::new()),
        Some(Source::StoreField(StoreField::Weight)) => ("weight", String::new()),
    }
}

const SOURCES: [(&str, &str); 9] = [
    ("", "Not mapped"),
    ("fixed", "Fixed value"),
    ("custom_field", "Custom field named"),
    ("option", "Variant option named"),
    ("brand", "Brand name"),
    ("name", "Product name"),
    ("sku", "SKU"),
    ("upc", "Barcode (UPC/EAN)"),
    ("weight", "Weight"),
];

fn attribute_rows(profile: &Profile, attributes: &[Attribute]) -> Markup {
    html! {
        @if !attributes.is_empty() {
            fieldset #attributes {
                legend { "Attributes of the category" }
                table {
                    thead { tr { th { "TikTok attribute" } th { "Value from" } th { "Value or name" } } }
                    tbody {
                        @for attribute in attributes {
                            @let (source, value) = source_key(profile.attributes.iter().find(|m| m.attribute_id == attribute.id.as_str()).map(|m| &m.source));
                            @let list = format!("values-{}", attribute.id);
                            tr data-attribute=(attribute.id) {
                                td {
                                    (attribute.name)
                                    @if attribute.is_required { " " strong.state-error title="Required" { "*" } }
                                    @if attribute.kind == "SALES_PROPERTY" { " " span.muted { "(variant)" } }
                                }
                                td {
                                    select name=(format!("attr_source:{}", attribute.id)) aria-label=(format!("{} value from", attribute.name)) {
                                        @for (key, label) in SOURCES { option value=(key) selected[key == source] { (label) } }
                                    }
                                }
                                td {
                                    input name=(format!("attr_value:{}", attribute.id)) value=(value) list=[(!attribute.values.is_empty()).then_some(&list)]
                                        aria-label=(format!("{} value", attribute.name));
                                    @if !attribute.values.is_empty() {
                                        datalist id=(list) { @for v in &attribute.values { option value=(v.name) {} } }
                                    }
                                }
                            }
                        }
                    }
                }
                p.muted { "* required by TikTok for this category." }
            }
        }
    }
}

fn adjustment_parts(adjustment: Adjustment) -> (&'static str, String) {
    match adjustment {
        Adjustment::None => ("none", String::new()),
        Adjustment::Percent(v) => ("percent", v.to_string()),
        Adjustment::Fixed(v) => ("fixed", v.to_string()),
        Adjustment::Multiply(v) => ("multiply", v.to_string()),
    }
}

/// The message of a form with one error, when it is `field`'s (the product page).
fn error_of<'a>(error: Option<(&'a str, &'a str)>, field: &str) -> Option<&'a str> {
    error.filter(|(f, _)| f.starts_with(field)).map(|(_, message)| message)
}

/// The messages of the fields named `field` or under it (`inventory` → `inventory.reserve`).
fn errors_for<'a>(errors: &'a [(String, String)], field: &str) -> Vec<&'a str> {
    errors
        .iter()
        .filter(|(f, _)| f == field || f.strip_prefix(field).is_some_and(|rest| rest.starts_with('.')))
        .map(|(_, message)| message.as_str())
        .collect()
}

/// The first message of `field` (or under it), if any.
fn error_for<'a>(errors: &'a [(String, String)], field: &str) -> Option<&'a str> {
    errors_for(errors, field).into_iter().next()
}

/// Each message of `field` (or under it), next to it.
fn field_errors(errors: &[(String, String)], field: &str) -> Markup {
    html! { @for message in errors_for(errors, field) { span.field-error data-field=(field) { (message) } } }
}

/// `aria-invalid="true"` for a field with an error.
fn invalid(errors: &[(String, String)], field: &str) -> Option<&'static str> {
    error_for(errors, field).map(|_| "true")
}

/// `GET /settings/profiles/{id}` and `/settings/profiles/new`: the profile editor.
pub fn profile_editor(frame: &Frame, editor: &ProfileEditor, csrf: &str) -> Markup {
    let profile = editor.profile;
    let errors = editor.errors;
    let action = if editor.exists {
        format!("/settings/profiles/{}", profile.id)
    } else {
        "/settings/profiles/new".to_string()
    };
    let (adjustment, amount) = adjustment_parts(profile.price_rule.adjustment);
    let brand_lines: String = profile
        .brand_map
        .iter()
        .map(|(store, tiktok)| format!("{store} = {tiktok}\n"))
        .collect();
    let mut groups = vec![(profile.matching, profile.rules.as_slice())];
    groups.extend(profile.groups.iter().map(|g| (g.matching, g.rules.as_slice())));
    if groups.iter().all(|(_, rules)| !rules.is_empty()) || groups.len() == 1 {
        groups.push((Match::All, &[]));
    }
    let body = html! {
        p { a href="/settings/profiles" { "← All profiles" } }
        div.card {
            h2 { "Category" }
            (category_picker(&editor.picker, &action, &[]))
        }
        form.card method="post" action=(action) {
            input type="hidden" name="csrf" value=(csrf);
            // The live count compares the edits with the other saved profiles, not with
            // this profile's saved copy.
            @if editor.exists { input type="hidden" name="profile_id" value=(profile.id); }
            label { "Name " input name="name" required maxlength="100" value=(profile.name) aria-invalid=[invalid(errors, "name")];
                (field_errors(errors, "name")) }
            label { "Priority (higher wins when several profiles match) " input type="number" name="priority" value=(profile.priority) aria-invalid=[invalid(errors, "priority")];
                (field_errors(errors, "priority")) }
            (super::check("is_default", "Default profile: covers every product no other profile covers", profile.is_default))
            (category_select(&editor.picker, error_for(errors, "category_id")))
            h2 { "Which products" }
            @if profile.is_default { p.muted { "A default profile covers everything; its rules are not used." } }
            @for (index, (matching, rules)) in groups.iter().enumerate() { (rule_group(index, *matching, rules)) }
            @for e in errors_for(errors, "rules").into_iter().chain(errors_for(errors, "groups")) { p.field-error data-field="rules" { (e) } }
            p #match-count hx-post="/settings/profiles/preview" hx-trigger="change from:closest form" hx-include="closest form" hx-swap="outerHTML" {
                "Matches " strong { (editor.matches.0) } " of " (editor.matches.1) " products."
            }
            (attribute_rows(profile, editor.attributes))
            @for e in errors_for(errors, "attributes") { p.field-error data-field="attributes" { (e) } }
            h2 { "Brand" }
            label { "TikTok brand id for every product (empty: no brand) " input name="brand_id" value=(profile.brand_id.as_deref().unwrap_or("")); }
            label { "Store brand id = TikTok brand id, one per line (wins over the above) " textarea name="brand_map" rows="3" { (brand_lines) } }
            (field_errors(errors, "brand_map"))
            h2 { "Price rule" }
            div.filters {
                label { "Change "
                    select name="adjustment" {
                        @for (key, label) in [("none", "none"), ("percent", "plus percent"), ("fixed", "plus amount"), ("multiply", "times")] {
                            option value=(key) selected[key == adjustment] { (label) }
                        }
                    }
                }
                label { "By " input name="amount" inputmode="decimal" value=(amount) aria-invalid=[invalid(errors, "price_rule")]; }
                label { "Rounding "
                    select name="rounding" {
                        @for (key, label, rounding) in [("cents", "to the cent", Rounding::Cents), ("end_in_99", "up to .99", Rounding::EndIn99), ("whole", "up to a whole amount", Rounding::Whole)] {
                            option value=(key) selected[profile.price_rule.rounding == rounding] { (label) }
                        }
                    }
                }
            }
            @for e in errors_for(errors, "price_rule") { p.field-error data-field="price_rule" { (e) } }
            h2 { "Stock" }
            @let policy = profile.inventory.unwrap_or(editor.store_inventory);
            (super::check("own_inventory", "These products follow their own inventory policy, not the store's", profile.inventory.is_some()))
            div.filters {
                @for (name, words, value) in [
                    ("inventory.threshold", "Publish 0 at or below ", policy.threshold),
                    ("inventory.reserve", "Hold back ", policy.reserve),
                    ("inventory.untracked_quantity", "Untracked stock shows as ", policy.untracked_quantity),
                ] {
                    label { (words) input type="number" name=(name) min="0" value=(value) aria-invalid=[invalid(errors, name)]; " units"
                        (field_errors(errors, name)) }
                }
            }
            (super::check("inventory.deactivate_at_threshold", "At or below the threshold, deactivate the product on TikTok instead", policy.deactivate_at_threshold))
            p { button type="submit" { @if editor.exists { "Save profile" } @else { "Create profile" } } }
        }
        @if editor.exists {
            (profile_files(profile, editor.rules, csrf, error_for(errors, "files")))
        }
    };
    let title = if editor.exists {
        format!("Profile: {}", profile.name)
    } else {
        "New profile".to_string()
    };
    layout(
        &Frame {
            section: Section::Profiles,
            ..*frame
        },
        &title,
        (!errors.is_empty()).then_some("The profile was not saved: see the marked field(s)."),
        body,
    )
}

/// One file upload form of the profile editor (`kind`: `size_chart` or
/// `certification:<id>`).
fn file_form(profile: &Profile, kind: &str, label: &str, csrf: &str) -> Markup {
    html! {
        form.filters method="post" action=(format!("/settings/profiles/{}/files", profile.id)) enctype="multipart/form-data" {
            input type="hidden" name="csrf" value=(csrf);
            input type="hidden" name="kind" value=(kind);
            label { (label) " " input type="file" name="file" accept="image/jpeg,image/png,image/webp,application/pdf" required; }
            button.secondary type="submit" { "Upload" }
        }
    }
}

/// The size chart and certifications the profile's category asks for, each with
/// what is uploaded and an upload form.
fn profile_files(profile: &Profile, rules: Option<&CategoryRules>, csrf: &str, error: Option<&str>) -> Markup {
    let size_chart = rules.map(|r| (r.size_chart.is_supported, r.size_chart.is_required));
    html! {
        div.card #files {
            h2 { "Size chart and certifications" }
            @if let Some(error) = error { p.field-error role="alert" { (error) } }
            @if rules.is_none() { p.muted { "Choose a category to see what TikTok asks for." } }
            @if let Some((_, required)) = size_chart.filter(|(supported, _)| *supported) {
                p {
                    "Size chart" @if required { " " strong.state-error { "(required)" } } ": "
                    @if profile.size_chart_uri.is_some() { "uploaded." } @else { "none yet." }
                }
                (file_form(profile, "size_chart", "Size chart image", csrf))
            }
            @for certification in rules.map(|r| r.product_certifications.as_slice()).unwrap_or_default() {
                @let id = certification.id.as_str();
                @let uploaded = profile.certifications.iter().filter(|(c, _)| c == id).map(|(_, uris)| uris.len()).sum::<usize>()
                    + profile.certification_files.iter().filter(|f| f.certification_id == id).count();
                p {
                    (certification.name) @if certification.is_required { " " strong.state-error { "(required)" } } ": "
                    (uploaded) " file(s) uploaded."
                }
                (file_form(profile, &format!("certification:{id}"), "Image or PDF", csrf))
            }
            @if rules.is_some_and(|r| !r.size_chart.is_supported && r.product_certifications.is_empty()) {
                p.muted { "This category needs no size chart and no certification." }
            }
        }
    }
}

/// The live "matches N products" line of the profile editor.
pub fn match_count(matches: (usize, usize)) -> Markup {
    html! {
        p #match-count hx-post="/settings/profiles/preview" hx-trigger="change from:closest form" hx-include="closest form" hx-swap="outerHTML" {
            "Matches " strong { (matches.0) } " of " (matches.1) " products."
        }
    }
}

/// The bulk actions of the products screen: form value and label.
pub const BULK_ACTIONS: [(&str, &str); 10] = [
    ("upload", "Upload to TikTok"),
    ("activate", "Activate"),
    ("deactivate", "Deactivate"),
    ("delete", "Delete on TikTok"),
    ("recover", "Recover"),
    ("sync_stock", "Sync stock"),
    ("sync_price", "Sync price"),
    ("sync_status", "Sync status"),
    ("link", "Link by SKU (whole shop)"),
    ("unlink", "Unlink"),
];

fn filter_query(filter: &ProductFilter, shop: &str, status: Option<ListingStatus>, page: Option<usize>) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    query.append_pair("shop", shop);
    if let Some(status) = status {
        query.append_pair("status", &crate::storage::serde_name(&status));
    }
    for (name, value) in [("q", &filter.q), ("profile", &filter.profile), ("brand", &filter.brand)] {
        if !value.is_empty() {
            query.append_pair(name, value);
        }
    }
    for (name, value) in [
        ("min_price", filter.min_price.map(|v| v.to_string())),
        ("max_price", filter.max_price.map(|v| v.to_string())),
        ("min_stock", filter.min_stock.map(|v| v.to_string())),
        ("max_stock", filter.max_stock.map(|v| v.to_string())),
        ("page", page.map(|v| v.to_string())),
    ] {
        if let Some(value) = value {
            query.append_pair(name, &value);
        }
    }
    format!("/settings/products?{}", query.finish())
}

fn status_key(status: ListingStatus) -> String {
    serde_json::to_value(status)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// `GET /settings/products`: tabs with counts, search and filters, one page of
/// products with their status on the shop shown, and the bulk actions.
pub fn products(
    frame: &Frame,
    browse: &Browse,
    filter: &ProductFilter,
    profiles: &[Profile],
    csrf: &str,
    error: Option<&str>,
) -> Markup {
    let shop = frame.current_shop().map_or("", |s| s.shop_id.as_str());
    let decimal = |v: Option<rust_decimal::Decimal>| v.map(|v| v.to_string()).unwrap_or_default();
    let number = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_default();
    let body = html! {
        @if frame.current_shop().is_none() { div.card.warn { p { "Connect a TikTok shop to upload products." } } }
        ul.tabs aria-label="Status" {
            li { a href=(filter_query(filter, shop, None, None)) aria-current=[filter.status.is_none().then_some("page")] { "All (" (browse.searched) ")" } }
            @for ((status, label), (_, count)) in TABS.iter().zip(&browse.counts) {
                li { a href=(filter_query(filter, shop, Some(*status), None)) aria-current=[(filter.status == Some(*status)).then_some("page")] data-status=(status_key(*status)) { (label) " (" (count) ")" } }
            }
        }
        form.filters method="get" action="/settings/products" role="search" {
            input type="hidden" name="shop" value=(shop);
            @if let Some(status) = filter.status { input type="hidden" name="status" value=(status_key(status)); }
            label { "Search " input type="search" name="q" value=(filter.q) placeholder="Title, SKU, store or TikTok id"; }
            label { "Profile "
                select name="profile" {
                    option value="" { "Any" }
                    @for p in profiles { option value=(p.id) selected[p.id == filter.profile] { (p.name) } }
                }
            }
            label { "Brand id " input name="brand" size="6" value=(filter.brand); }
            label { "Price " input name="min_price" size="5" inputmode="decimal" value=(decimal(filter.min_price)) aria-label="Lowest price"; " – " input name="max_price" size="5" inputmode="decimal" value=(decimal(filter.max_price)) aria-label="Highest price"; }
            label { "Stock " input name="min_stock" size="4" inputmode="numeric" value=(number(filter.min_stock)) aria-label="Lowest stock"; " – " input name="max_stock" size="4" inputmode="numeric" value=(number(filter.max_stock)) aria-label="Highest stock"; }
            button.secondary type="submit" { "Filter" }
        }
        form method="post" action="/settings/products/actions" {
            input type="hidden" name="csrf" value=(csrf);
            input type="hidden" name="shop" value=(shop);
            input type="hidden" name="filter" value=(filter_query(filter, shop, filter.status, None));
            div.bulk {
                label { "With the selected products: "
                    select name="action" {
                        @for (key, label) in BULK_ACTIONS { option value=(key) { (label) } }
                    }
                }
                label { input type="checkbox" name="all_matching" value="on"; " all " (browse.matching) " matching, not only those ticked" }
                button type="submit" { "Apply" }
            }
            @if browse.matching > MAX_SELECTION {
                p.muted #selection-cap {
                    "Activate, deactivate, delete, recover, sync status and unlink take at most " (MAX_SELECTION)
                    " products at a time: narrow the filter to act on all " (browse.matching)
                    ". Upload, sync stock and sync price take them all."
                }
            }
            table #products {
                thead { tr { th { span.skip { "Select" } } th { "Product" } th { "SKU" } th.num { "Price" } th.num { "Stock" } th { "Profile" } th { "Status" } } }
                tbody {
                    @for row in &browse.rows {
                        @let product = row.product;
                        @let status = row.status();
                        tr data-product=(product.id) {
                            td { input type="checkbox" name="product" value=(product.id) aria-label=(format!("Select {}", product.name)); }
                            td { a href=(format!("/settings/products/{}?shop={shop}", product.id)) { (product.name) } br; span.muted { "#" (product.id) } }
                            td { (product.sku) @if product.variants.len() > 1 { br; span.muted { (product.variants.len()) " variants" } } }
                            td.num { (product.price) }
                            td.num { (total_stock(product)) }
                            td { (row.profile.map_or("—", |p| p.name.as_str())) }
                            td class=(format!("status-{}", status_key(status))) {
                                (status_label(status))
                                @if let Some(reason) = row.listing.and_then(|l| l.reasons.first()) { br; span.muted { (reason) } }
                            }
                        }
                    }
                }
            }
        }
        @if browse.matching == 0 { p { "No product matches." } }
        nav.pager aria-label="Pages" {
            @if browse.page > 1 { a href=(filter_query(filter, shop, filter.status, Some(browse.page - 1))) rel="prev" { "← Previous" } }
            span { "Page " (browse.page) " of " (browse.pages) " · " (browse.matching) " product(s), " (PAGE_SIZE) " per page" }
            @if browse.page < browse.pages { a href=(filter_query(filter, shop, filter.status, Some(browse.page + 1))) rel="next" { "Next →" } }
        }
    };
    layout(
        &Frame {
            section: Section::Products,
            ..*frame
        },
        "Products",
        error,
        body,
    )
}

/// What TikTok has of a product, read when the page opens.
pub struct TikTokSide {
    /// Title.
    pub title: String,
    /// TikTok status (`ACTIVATE`, `PENDING`, …).
    pub status: String,
    /// Per SKU: seller SKU, price with currency, units across warehouses.
    pub skus: Vec<(String, String, i64)>,
}

/// What the product page shows.
pub struct ProductView<'a> {
    /// The store product.
    pub product: &'a Product,
    /// Its listing on the shop shown.
    pub listing: &'a Listing,
    /// Its profile.
    pub profile: Option<&'a Profile>,
    /// The merchant's overrides.
    pub overrides: &'a Overrides,
    /// TikTok's side, or why it could not be read (none when not on TikTok).
    pub tiktok: Option<Result<TikTokSide, String>>,
    /// An error of the last form, with the field it belongs to.
    pub error: Option<(&'a str, &'a str)>,
}

/// `GET /settings/products/{id}`.
pub fn product(frame: &Frame, view: &ProductView, csrf: &str) -> Markup {
    let product = view.product;
    let listing = view.listing;
    let shop = frame.current_shop().map_or("", |s| s.shop_id.as_str());
    let base = format!("/settings/products/{}", product.id);
    let shop_field = html! { input type="hidden" name="shop" value=(shop); };
    let overrides = view.overrides;
    let attribute_lines: String = overrides
        .attributes
        .iter()
        .filter_map(|m| match &m.source {
            Source::Fixed(v) => Some(format!("{} = {v}\n", m.attribute_id)),
            _ => None,
        })
        .collect();
    let body = html! {
        p { a href=(format!("/settings/products?shop={shop}")) { "← All products" } }
        div.card {
            p {
                "Status on this shop: " strong class=(format!("status-{}", status_key(listing.status))) { (status_label(listing.status)) }
                " · Profile: " (view.profile.map_or("none", |p| p.name.as_str()))
            }
            @if !listing.reasons.is_empty() {
                h2 { "What to change" }
                ul.reasons #reasons { @for reason in &listing.reasons { li { (reason) } } }
            }
            div.bulk {
                (form(&format!("{base}/upload"), csrf, shop_field.clone(), if listing.tiktok_product_id.is_some() { "Upload again" } else { "Upload to TikTok" }))
                @if listing.tiktok_product_id.is_some() {
                    (form(&format!("{base}/unlink"), csrf, shop_field.clone(), "Unlink"))
                }
            }
        }
        div.side {
            div.card #store-side {
                h2 { "In your store" }
                dl.pairs {
                    dt { "Title" } dd { (product.name) }
                    dt { "Store id" } dd { (product.id) }
                    dt { "Price" } dd { (product.price) }
                    dt { "Stock" } dd { (total_stock(product)) }
                }
                @if !product.variants.is_empty() {
                    table {
                        thead { tr { th { "SKU" } th.num { "Price" } th.num { "Stock" } } }
                        tbody { @for v in &product.variants {
                            tr { td { (v.sku) } td.num { (v.price.unwrap_or(product.price)) } td.num { (v.inventory_level.map_or("—".to_string(), |l| l.to_string())) } }
                        } }
                    }
                }
            }
            div.card #tiktok-side {
                h2 { "On TikTok" }
                @match &view.tiktok {
                    None => p { "Not on TikTok yet." },
                    Some(Err(error)) => p.state-error { (error) },
                    Some(Ok(side)) => {
                        dl.pairs {
                            dt { "Title" } dd { (side.title) }
                            dt { "TikTok id" } dd { (listing.tiktok_product_id.as_deref().unwrap_or("")) }
                            dt { "TikTok status" } dd { (side.status) }
                        }
                        table {
                            thead { tr { th { "Seller SKU" } th.num { "Price" } th.num { "Stock" } } }
                            tbody { @for (sku, price, units) in &side.skus { tr { td { (sku) } td.num { (price) } td.num { (units) } } } }
                        }
                    }
                }
            }
        }
        form.card #overrides method="post" action=(format!("{base}/overrides")) {
            h2 { "Overrides for this product only" }
            input type="hidden" name="csrf" value=(csrf);
            (shop_field)
            label { "Title on TikTok " input name="title" size="60" value=(overrides.title.as_deref().unwrap_or("")) placeholder=(product.name)
                aria-invalid=[error_of(view.error, "title").map(|_| "true")]; @if let Some(e) = error_of(view.error, "title") { span.field-error { (e) } } }
            label { "Description on TikTok (HTML) " textarea name="description" rows="4" cols="60" { (overrides.description.as_deref().unwrap_or("")) } }
            label { "TikTok brand id " input name="brand_id" value=(overrides.brand_id.as_deref().unwrap_or("")); }
            label { "TikTok category id " input name="category_id" value=(overrides.category_id.as_deref().unwrap_or("")); }
            label { "Attribute values, one per line: attribute id = value " textarea name="attributes" rows="3" cols="60" { (attribute_lines) }
                @if let Some(e) = error_of(view.error, "attributes") { span.field-error { (e) } } }
            (super::check("exclude_from_stock_sync", "Keep this product's stock on TikTok as it is", overrides.exclude_from_stock_sync))
            p { button type="submit" { "Save overrides" } }
        }
        @if listing.tiktok_product_id.is_none() {
            form.card method="post" action=(format!("{base}/link")) {
                h2 { "Link to an existing TikTok product" }
                input type="hidden" name="csrf" value=(csrf);
                input type="hidden" name="shop" value=(shop);
                label { "TikTok product id " input name="tiktok_product_id" required inputmode="numeric"; }
                @if let Some(e) = error_of(view.error, "tiktok_product_id") { span.field-error { (e) } }
                p { button type="submit" { "Link" } }
            }
        }
    };
    layout(
        &Frame {
            section: Section::Products,
            ..*frame
        },
        &product.name,
        view.error.map(|(_, e)| e),
        body,
    )
}
