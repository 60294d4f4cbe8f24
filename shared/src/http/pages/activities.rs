//! Activities: every import, upload, bulk action and sync the merchant started, with
//! its progress (done / failed / total), times and failures. A running activity's
//! progress refreshes itself every two seconds (htmx polling its own fragment).

use maud::{Markup, html};

use super::{Frame, Section, layout};
use crate::catalog::records::Activity;

/// The merchant's words for an activity kind.
pub fn kind_label(kind: &str) -> &str {
    match kind {
        "import" => "Import from the store",
        "upload" => "Upload to TikTok",
        "activate" => "Activate",
        "deactivate" => "Deactivate",
        "delete" => "Delete on TikTok",
        "recover" => "Recover",
        "sync_status" => "Sync status",
        "sync_stock" => "Sync stock",
        "sync_price" => "Sync price",
        "link" => "Link by SKU",
        "unlink" => "Unlink",
        "fetch_order" => "Fetch a TikTok order",
        "sync_orders" => "Sync missed orders",
        other => other,
    }
}

/// A Unix time as `2026-11-29 23:59 UTC`.
pub fn time(unix: i64) -> String {
    jiff::Timestamp::from_second(unix)
        .map_or_else(|_| unix.to_string(), |t| t.strftime("%Y-%m-%d %H:%M UTC").to_string())
}

/// An activity's progress: a bar and its numbers (for queued syncs, how many were
/// queued: their outcome shows on each product). With `poll`, while it runs, the
/// fragment asks for itself again every two seconds.
pub fn progress(activity: &Activity, poll: bool) -> Markup {
    let counted = activity.done + activity.failed;
    let running = activity.status == "running" && poll;
    html! {
        div.progress data-activity=(activity.id) data-status=(activity.status)
            hx-get=[running.then(|| format!("/settings/activities/{}/progress", activity.id))]
            hx-trigger=[running.then_some("every 2s")] hx-swap="outerHTML" {
            @if activity.status == "queued" {
                span {
                    (activity.queued) " queued · each runs in the background; its result shows on the product"
                }
            } @else {
                @match activity.total {
                    Some(total) if total > 0 => progress max=(total) value=(counted) aria-label="Progress" { (counted) " of " (total) },
                    _ => progress aria-label="Progress" {},
                }
                span {
                    (activity.done) " done"
                    @if activity.failed > 0 { " · " span.state-error { (activity.failed) " failed" } }
                    @if let Some(total) = activity.total { " · " (total) " in all" }
                    " · " @if running { "running" } @else { "finished" }
                }
            }
        }
    }
}

/// `GET /settings/activities`: the newest activities first.
pub fn activities(frame: &Frame, activities: &[Activity], next: Option<&str>) -> Markup {
    let body = html! {
        @if activities.is_empty() {
            p { "Nothing yet. Imports, uploads, bulk actions and syncs you start show here with their progress." }
        } @else {
            table #activities {
                thead { tr { th { "Activity" } th { "Started" } th { "Finished" } th { "Progress" } } }
                tbody {
                    @for activity in activities {
                        tr data-activity=(activity.id) {
                            td { a href=(format!("/settings/activities/{}", activity.id)) { (kind_label(&activity.kind)) } }
                            td { (time(activity.started_at)) }
                            td { (activity.finished_at.map(time).unwrap_or_else(|| "—".into())) }
                            td { (progress(activity, true)) }
                        }
                    }
                }
            }
        }
        @if let Some(next) = next { p { a href=(format!("/settings/activities?after={next}")) { "Older →" } } }
    };
    layout(
        &Frame {
            section: Section::Activities,
            ..*frame
        },
        "Activities",
        None,
        body,
    )
}

/// `GET /settings/activities/{id}`: one activity with its failures and their reasons.
pub fn activity(frame: &Frame, activity: &Activity, shop_name: Option<&str>) -> Markup {
    let running = activity.status == "running";
    let body = html! {
        p { a href="/settings/activities" { "← All activities" } }
        // While it runs, the page refreshes this part of itself every two seconds.
        div #activity-detail hx-get=[running.then(|| format!("/settings/activities/{}", activity.id))]
            hx-trigger=[running.then_some("every 2s")] hx-select="#activity-detail" hx-swap="outerHTML" {
            div.card {
                dl.pairs {
                    dt { "Started" } dd { (time(activity.started_at)) }
                    dt { "Finished" } dd { (activity.finished_at.map(time).unwrap_or_else(|| "still running".into())) }
                    @if let Some(shop) = shop_name { dt { "Shop" } dd { (shop) } }
                }
                (progress(activity, false))
            }
            @if !activity.failures.is_empty() {
                div.card #failures {
                    h2 { "Failures" }
                    table {
                        thead { tr { th { "Product" } th { "Reason" } } }
                        tbody {
                            @for (product_id, reason) in &activity.failures {
                                tr {
                                    td { @if !product_id.is_empty() { a href=(format!("/settings/products/{product_id}")) { "#" (product_id) } } }
                                    td { (reason) }
                                }
                            }
                        }
                    }
                    @if activity.failed as usize > activity.failures.len() { p.muted { "The first " (activity.failures.len()) " of " (activity.failed) " failures." } }
                }
            }
        }
    };
    layout(
        &Frame {
            section: Section::Activities,
            ..*frame
        },
        kind_label(&activity.kind),
        None,
        body,
    )
}
