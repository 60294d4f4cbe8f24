//! `/settings/log`: the activity log ([`crate::journal`]), newest first, with a filter
//! by kind and date (a `GET` form) and an "Older" link to the next page.

use maud::{Markup, html};

use super::activities::time;
use super::{Frame, Section, layout};
use crate::journal::{Entry, LogKind};

/// The filter as the form shows it (the query's own text, kept on errors).
#[derive(Debug, Clone, Default)]
pub struct LogFilterForm<'a> {
    /// The kind's key (`imports`, …), or empty for every kind.
    pub kind: &'a str,
    /// From date (`YYYY-MM-DD`), or empty.
    pub from: &'a str,
    /// To date (`YYYY-MM-DD`), or empty.
    pub to: &'a str,
}

/// The link to the page after `cursor` with the same filter.
fn older_link(filter: &LogFilterForm, cursor: &str) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in [("kind", filter.kind), ("from", filter.from), ("to", filter.to)] {
        if !value.is_empty() {
            query.append_pair(name, value);
        }
    }
    query.append_pair("cursor", cursor);
    format!("/settings/log?{}", query.finish())
}

/// The log page: the filter form, the entries (time, kind, author, summary), and an
/// "Older" link when `cursor` continues; `error` (a bad date) shows in the flash area.
pub fn log_page(
    frame: &Frame,
    filter: &LogFilterForm,
    entries: &[Entry],
    cursor: Option<&str>,
    error: Option<&str>,
) -> Markup {
    let body = html! {
        form.filters #log-filter method="get" action="/settings/log" {
            label {
                "Kind "
                select name="kind" {
                    option value="" selected[filter.kind.is_empty()] { "All" }
                    @for (kind, label) in LogKind::ALL {
                        option value=(kind.key()) selected[filter.kind == kind.key()] { (label) }
                    }
                }
            }
            label { "From " input type="date" name="from" value=(filter.from); }
            label { "To " input type="date" name="to" value=(filter.to); }
            button.secondary type="submit" { "Filter" }
        }
        p.muted { "What the connector did for this store over the last 30 days, newest first. Times are UTC." }
        @if entries.is_empty() {
            p #log-empty { "Nothing logged for this filter." }
        } @else {
            table #log {
                thead { tr { th { "Time" } th { "Kind" } th { "By" } th { "What happened" } } }
                tbody {
                    @for entry in entries {
                        tr data-kind=(entry.kind.key()) {
                            td { (time(entry.at)) }
                            td { (entry.kind.label()) }
                            td.author { (entry.author.as_deref().unwrap_or("Connector")) }
                            td.summary { (entry.summary) }
                        }
                    }
                }
            }
        }
        @if let Some(cursor) = cursor {
            p { a #log-older href=(older_link(filter, cursor)) { "Older →" } }
        }
    };
    layout(
        &Frame {
            section: Section::Log,
            ..*frame
        },
        "Activity log",
        error,
        body,
    )
}
