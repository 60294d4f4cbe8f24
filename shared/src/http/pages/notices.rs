//! `/settings/notifications`: the notices behind the bell ([`crate::notices`]), with
//! "Mark all read" and the switches of the owner's notice e-mails.

use maud::{Markup, html};

use super::activities::time;
use super::{Frame, Section, form, layout};
use crate::accounts::NotificationSettings;
use crate::notices::Notice;

/// An address as the page shows it: its first character and its domain (`o…@example.com`).
fn masked(address: &str) -> String {
    match address.split_once('@') {
        Some((local, domain)) => format!("{}…@{domain}", local.chars().next().unwrap_or('?')),
        None => "…".to_string(),
    }
}

/// The notices page: every notice newest first (unread ones marked), the "Mark all
/// read" form, and which notices are also mailed to the owner (`owner_email`, when
/// the store has one).
pub fn notices_page(
    frame: &Frame,
    notices: &[Notice],
    email: &NotificationSettings,
    owner_email: Option<&str>,
    csrf: &str,
) -> Markup {
    let shop_name = |id: &str| {
        frame
            .shops
            .iter()
            .find(|s| s.shop_id == id)
            .map_or_else(|| id.to_string(), |s| format!("{} ({})", s.name, s.region))
    };
    let unread = notices.iter().filter(|n| !n.read).count();
    let body = html! {
        @if notices.is_empty() {
            p #notices-empty { "Nothing needs your attention." }
        } @else {
            table #notices {
                thead { tr { th { "Raised" } th { "About" } th { "Shop" } th { "Notice" } th { "" } } }
                tbody {
                    @for notice in notices {
                        tr data-kind=(notice.kind.key()) data-read=(notice.read) class=[(!notice.read).then_some("unread")] {
                            td { (time(notice.raised_at)) }
                            td { (notice.kind.label()) @if !notice.read { " " strong { "(new)" } } }
                            td { (shop_name(&notice.shop_id)) }
                            td { (notice.text) }
                            td { a href=(notice.link) { "Open" } }
                        }
                    }
                }
            }
            @if unread > 0 {
                (form("/settings/notifications/read", csrf, html! {}, "Mark all read"))
            }
        }
        div.card #notice-emails {
            h2 { "E-mails" }
            @match owner_email {
                Some(address) => p { "Also sent to the store owner's address " strong { (masked(address)) } ", at most once a day per shop:" },
                None => p { "The store has no owner e-mail address, so no e-mails are sent." },
            }
            ul {
                li { "Orders that could not be created: " (if email.email_orders_need_attention { "e-mailed" } else { "not e-mailed" }) }
                li { "A shop's authorization expiring or revoked: " (if email.email_authorization_expiring { "e-mailed" } else { "not e-mailed" }) }
            }
            p { a href="/settings/configuration#notifications" { "Change which notices are e-mailed" } }
        }
    };
    layout(
        &Frame {
            section: Section::Notifications,
            ..*frame
        },
        "Notifications",
        None,
        body,
    )
}
