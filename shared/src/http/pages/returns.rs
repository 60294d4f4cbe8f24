//! Returns: every return, refund-only request, replacement and buyer cancellation
//! request, "needs your action" first with its deadline; one request with its items,
//! amounts, timeline and the answers TikTok takes now; and the after-sales settings
//! (what a refund does in the store, each shop's automatic rules).

use maud::{Markup, html};

use super::activities::time;
use super::{Frame, check, layout};
use crate::accounts::ShopRecord;
use crate::returns::decisions::{Approve, MAX_COMMENT, approvals, rejection};
use crate::returns::{AfterSale, Listing, RequestKind, Restock, ReturnFilter, Stage};
use crate::storage::unix_now;
use crate::store::OrderStatus;
use crate::tiktok::model::ReturnRecord;

/// The `?type=` choices: (value, label).
const TYPES: [(&str, &str); 5] = [
    ("", "Any type"),
    ("refund", "Refund only"),
    ("return", "Return and refund"),
    ("replacement", "Replacement"),
    ("cancellation", "Cancellation"),
];

/// A link to the list with `filter`'s type and search and the stage `status`.
fn list_query(filter: &ReturnFilter, status: Option<Stage>, page: Option<usize>) -> String {
    let mut pairs = url::form_urlencoded::Serializer::new(String::new());
    if let Some(status) = status {
        pairs.append_pair("status", status.key());
    }
    if !filter.request_type.is_empty() {
        pairs.append_pair("type", &filter.request_type);
    }
    if !filter.q.is_empty() {
        pairs.append_pair("q", &filter.q);
    }
    if let Some(page) = page {
        pairs.append_pair("page", &page.to_string());
    }
    format!("/settings/returns?{}", pairs.finish())
}

/// "in 5 h" / "3 h ago" of a deadline, with whether it falls within 24 hours.
fn deadline_words(deadline: i64) -> (String, bool) {
    let left = deadline - unix_now();
    let words = match left {
        ..0 => "passed".to_string(),
        0..3600 => format!("in {} min", left / 60),
        3600..172_800 => format!("in {} h", left / 3600),
        _ => format!("in {} days", left / 86_400),
    };
    (format!("{} ({words})", time(deadline)), left < 86_400)
}

/// An amount with two decimals and its currency (`8.50 USD`).
fn money(amount: rust_decimal::Decimal, currency: &str) -> String {
    format!("{:.2} {currency}", amount)
}

fn amount(record: &AfterSale) -> String {
    money(record.refund.total, &record.refund.currency)
}

fn items(record: &AfterSale) -> String {
    let mut counted: Vec<(String, usize)> = Vec::new();
    for line in &record.lines {
        let name = match (line.product_name.as_str(), line.seller_sku.as_str()) {
            ("", sku) => sku.to_string(),
            (product, "") => product.to_string(),
            (product, sku) => format!("{product} ({sku})"),
        };
        match counted.iter_mut().find(|(n, _)| *n == name) {
            Some((_, units)) => *units += 1,
            None => counted.push((name, 1)),
        }
    }
    counted
        .iter()
        .map(|(name, units)| format!("{units} × {name}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The after-sales settings as the form shows them: stored, or as posted when the
/// post was refused (so no edit is lost).
pub struct SettingsForm {
    /// Record TikTok refunds on the store order.
    pub refund_in_store: bool,
    /// Put returned items back in stock.
    pub restock_returns: bool,
    /// Per shop: (shop, refund-only limit as typed, approve unshipped cancellations).
    pub shops: Vec<(ShopRecord, String, bool)>,
    /// The field refused and why.
    pub error: Option<(String, String)>,
    /// Shown read-only: the session's user is not the store owner.
    pub read_only: bool,
}

fn settings_card(form: &SettingsForm, csrf: &str) -> Markup {
    let refused = |field: &str| form.error.as_ref().filter(|(f, _)| f == field).map(|(_, m)| m.as_str());
    html! {
        div.card #return-settings {
            h2 { "After-sales settings" }
            form method="post" action="/settings/returns/settings" {
                input type="hidden" name="csrf" value=(csrf);
                fieldset.plain disabled[form.read_only] {
                (check("refund_in_store", "When TikTok refunds a buyer, record the refund on the store order and mark it Refunded or Partially Refunded", form.refund_in_store))
                (check("restock_returns", "Put returned items back in stock once you received them", form.restock_returns))
                @for (shop, limit, cancellations) in &form.shops {
                    @let field = format!("refund_only_under:{}", shop.shop_id);
                    fieldset {
                        legend { "Automatic answers for " (shop.name) " (" (shop.region) ")" }
                        label {
                            "Approve refund-only requests under (" (shop.currency) ", empty = off) "
                            input name=(field) value=(limit) inputmode="decimal" size="8" aria-invalid=[refused(&field).map(|_| "true")];
                            @if let Some(message) = refused(&field) { span.field-error { (message) } }
                        }
                        (check(&format!("approve_unshipped_cancellations:{}", shop.shop_id), "Approve buyer cancellations of orders not yet shipped", *cancellations))
                    }
                }
                }
                @if form.read_only {
                    p.muted { "Only the store owner can change these settings." }
                } @else {
                    p { button type="submit" { "Save after-sales settings" } }
                }
            }
        }
    }
}

/// `GET /settings/returns`: tabs by stage with counts, type filter, search, the page
/// of requests (waiting for you first, with deadlines) and the settings.
pub fn returns(frame: &Frame, listing: &Listing, filter: &ReturnFilter, settings: &SettingsForm, csrf: &str) -> Markup {
    let all: usize = listing.counts.iter().map(|(_, n)| n).sum();
    let chosen = Stage::from_key(&filter.status);
    let body = html! {
        ul.tabs aria-label="Status" {
            li { a href=(list_query(filter, None, None)) aria-current=[chosen.is_none().then_some("page")] { "All (" (all) ")" } }
            @for (stage, count) in &listing.counts {
                @if *count > 0 || *stage == Stage::NeedsAction || chosen == Some(*stage) {
                    li { a href=(list_query(filter, Some(*stage), None)) aria-current=[(chosen == Some(*stage)).then_some("page")] data-stage=(stage.key()) { (stage.label()) " (" (count) ")" } }
                }
            }
        }
        form.filters method="get" action="/settings/returns" role="search" {
            @if let Some(stage) = chosen { input type="hidden" name="status" value=(stage.key()); }
            label { "Type "
                select name="type" {
                    @for (value, label) in TYPES { option value=(value) selected[value == filter.request_type] { (label) } }
                }
            }
            label { "Search " input type="search" name="q" value=(filter.q) placeholder="Request, order, SKU or product"; }
            button.secondary type="submit" { "Filter" }
        }
        @if listing.rows.is_empty() {
            div.card { p.muted { "No requests here. Returns, refunds and cancellation requests from TikTok appear within seconds of the buyer's request." } }
        } @else {
            table #returns {
                thead { tr { th { "Request" } th { "Type" } th { "Shop" } th { "Order" } th { "Items" } th.num { "Refund" } th { "Status" } th { "Answer by" } } }
                tbody {
                    @for record in &listing.rows {
                        tr data-id=(record.id) data-stage=(record.stage().key()) {
                            td { a href=(format!("/settings/returns/{}", record.id)) { (record.id) } }
                            td { (record.type_words()) }
                            td { (frame.shops.iter().find(|s| s.shop_id == record.shop_id).map_or(record.shop_id.as_str(), |s| s.name.as_str())) }
                            td { "TikTok " (record.order_id) @if let Some(store) = &record.store_order_id { br; span.muted { "Store #" (store) } } }
                            td { (items(record)) }
                            td.num { (amount(record)) }
                            td {
                                (record.status_words())
                                @if let Some(problem) = &record.problem { br; span.state-error { (problem) } }
                            }
                            td {
                                @match (&record.next_action, record.stage()) {
                                    (Some(next), Stage::NeedsAction) => {
                                        @let (words, soon) = deadline_words(next.deadline);
                                        @if soon { strong.state-error { (words) } } @else { (words) }
                                    }
                                    _ => span.muted { "—" },
                                }
                            }
                        }
                    }
                }
            }
            div.pager {
                @if listing.page > 1 { a href=(list_query(filter, chosen, Some(listing.page - 1))) { "← Newer" } }
                span { "Page " (listing.page) " of " (listing.pages) " · " (listing.matching) " request(s)" }
                @if listing.page < listing.pages { a href=(list_query(filter, chosen, Some(listing.page + 1))) { "Older →" } }
            }
        }
        (settings_card(settings, csrf))
    };
    layout(frame, "Returns", settings.error.as_ref().map(|(_, m)| m.as_str()), body)
}

/// What the merchant typed in a refused answer, shown again.
#[derive(Debug, Default)]
pub struct AnswerDraft {
    /// Partial refund amount.
    pub amount: String,
    /// Reject reason chosen.
    pub reason: String,
    /// Comment.
    pub comment: String,
}

fn answers(record: &AfterSale, reasons: &[(String, String)], draft: &AnswerDraft, csrf: &str) -> Markup {
    let action = format!("/settings/returns/{}/answer", record.id);
    let offered = approvals(record);
    html! {
        @if offered.is_empty() && rejection(record).is_none() {
            p.muted { "Nothing waits for your answer." }
        } @else {
            div.answers {
                @for approve in offered.iter().filter(|a| **a != Approve::PartialRefund) {
                    form.quick method="post" action=(action) {
                        input type="hidden" name="csrf" value=(csrf);
                        input type="hidden" name="answer" value=(serde_json::to_value(approve).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default());
                        button type="submit" { (approve.words()) }
                    }
                }
                @if offered.contains(&Approve::PartialRefund) {
                    form.wide method="post" action=(action) {
                        input type="hidden" name="csrf" value=(csrf);
                        input type="hidden" name="answer" value="partial_refund";
                        label { "Amount (" (record.refund.currency) ", less than " (record.refund.total) ") "
                            input name="amount" value=(draft.amount) inputmode="decimal" size="8" required; }
                        button.secondary type="submit" { "Offer a partial refund" }
                    }
                }
                @if rejection(record).is_some() {
                    form.wide method="post" action=(action) {
                        input type="hidden" name="csrf" value=(csrf);
                        input type="hidden" name="answer" value="reject";
                        label { "Reason "
                            select name="reject_reason" required {
                                option value="" { "Choose TikTok's reason" }
                                @for (name, text) in reasons { option value=(name) selected[*name == draft.reason] { (text) } }
                            }
                        }
                        label { "Comment to the buyer (up to " (MAX_COMMENT) " characters) "
                            textarea name="comment" rows="2" maxlength=(MAX_COMMENT) { (draft.comment) } }
                        button.danger type="submit" { "Reject" }
                    }
                }
            }
        }
    }
}

/// What the request page shows besides the request.
pub struct Shown<'a> {
    /// The shop's name.
    pub shop_name: &'a str,
    /// TikTok's reject reasons for it: (name, label).
    pub reasons: &'a [(String, String)],
    /// TikTok's record of it (returns), with the buyer's photos.
    pub on_tiktok: &'a [ReturnRecord],
    /// What was typed in a refused answer.
    pub draft: &'a AnswerDraft,
    /// Why the last answer was refused.
    pub error: Option<&'a str>,
    /// The session's CSRF token.
    pub csrf: &'a str,
}

fn tiktok_record(entries: &[ReturnRecord]) -> Markup {
    html! {
        div.card #tiktok-record {
            h2 { "On TikTok" }
            ol {
                @for entry in entries {
                    li {
                        span.muted { (time(entry.create_time)) " · " (entry.role.to_lowercase()) } " "
                        (entry.description)
                        @if !entry.note.is_empty() { br; q { (entry.note) } }
                        @for (n, image) in entry.images.iter().filter(|i| !i.url.is_empty()).enumerate() {
                            " " a href=(image.url) target="_blank" rel="noopener noreferrer" { "Photo " (n + 1) }
                        }
                    }
                }
            }
        }
    }
}

/// `GET /settings/returns/{id}`: the request with its items, amounts, reason, the
/// buyer's photos, what it did in the store, its timeline and the answers TikTok takes
/// now; a refused answer's reason with what was typed.
pub fn request(frame: &Frame, record: &AfterSale, shown: &Shown) -> Markup {
    let Shown {
        shop_name,
        reasons,
        on_tiktok,
        draft,
        error,
        csrf,
    } = *shown;
    let title = format!("{} {}", record.type_words(), record.id);
    let body = html! {
        p { a href="/settings/returns" { "← All returns" } }
        @if let Some(problem) = &record.problem { div.card.error #problem { p { (problem) } } }
        div.side {
            div.card #summary {
                dl.pairs {
                    dt { "Status" } dd #status data-status=(record.status) { (record.status_words()) }
                    @if let (Some(next), Stage::NeedsAction) = (&record.next_action, record.stage()) {
                        @let (words, soon) = deadline_words(next.deadline);
                        dt { "Answer by" } dd { @if soon { strong.state-error { (words) } } @else { (words) } }
                    }
                    @if !record.arbitration_status.is_empty() { dt { "Arbitration" } dd { (record.arbitration_status) } }
                    dt { "Shop" } dd { (shop_name) }
                    dt { "TikTok order" } dd { (record.order_id) }
                    dt { "Store order" } dd { @if let Some(id) = &record.store_order_id { "#" (id) } @else { span.muted { "none" } } }
                    dt { "Requested by" } dd { (record.role.to_lowercase()) " · " (time(record.created_at)) }
                    dt { "Reason" } dd { (record.reason) }
                    @if !record.tracking_number.is_empty() { dt { "Parcel back" } dd { (record.tracking_number) } }
                }
            }
            div.card #amounts {
                dl.pairs {
                    dt { "Refund" } dd #refund { (amount(record)) }
                    dt { "Of it, shipping" } dd { (money(record.refund.shipping, &record.refund.currency)) }
                    dt { "Of it, tax" } dd { (money(record.refund.tax, &record.refund.currency)) }
                    @if let Some(offer) = record.partial_refund { dt { "Your partial offer" } dd { (money(offer, &record.refund.currency)) } }
                }
            }
        }
        div.card #answer {
            h2 { "Your answer" }
            @if let Some(error) = error { p.field-error role="alert" { (error) } }
            (answers(record, reasons, draft, csrf))
        }
        div.card #items {
            h2 { "Items" }
            table {
                thead { tr { th { "Product" } th { "Options" } th { "Seller SKU" } th.num { "Refund" } } }
                tbody {
                    @for line in &record.lines {
                        tr { td { (line.product_name) } td { (line.sku_name) } td { code { (line.seller_sku) } } td.num { (money(line.refund, &record.refund.currency)) } }
                    }
                }
            }
        }
        div.card #store-effects {
            h2 { "In the store" }
            @if record.kind == RequestKind::Cancellation {
                dl.pairs {
                    dt { "Store order cancelled" } dd { @if record.effects.store_cancelled { "yes (as the order settings say)" } @else { "no" } }
                }
            } @else {
                dl.pairs {
                    dt { "Refund recorded" } dd { @if let Some(id) = &record.effects.refund_id { "yes (refund " (id) ")" } @else { "no" } }
                    dt { "Store status" } dd { @match &record.effects.store_status {
                        Some(OrderStatus::Refunded) if record.effects.status_set => "Refunded",
                        Some(OrderStatus::PartiallyRefunded) if record.effects.status_set => "Partially Refunded",
                        _ => "unchanged",
                    } }
                    dt { "Stock" } dd { @match record.effects.restock {
                        Restock::Done if record.effects.restocked.is_empty() => "nothing to move",
                        Restock::Done => { "adjusted: " (record.effects.restocked) },
                        Restock::Started => "adjustment sent, not confirmed",
                        Restock::NotYet => "unchanged",
                    } }
                }
                @if record.effects.refund_refused {
                    form method="post" action=(format!("/settings/returns/{}/answer", record.id)) {
                        input type="hidden" name="csrf" value=(csrf);
                        input type="hidden" name="answer" value="retry_store";
                        button.secondary type="submit" { "Try the store refund again" }
                    }
                }
            }
        }
        @if !on_tiktok.is_empty() { (tiktok_record(on_tiktok)) }
        div.card #timeline {
            h2 { "Timeline" }
            ol {
                @for event in &record.timeline { li { span.muted { (time(event.at)) } " " (event.text) } }
            }
        }
    };
    layout(frame, &title, error, body)
}
