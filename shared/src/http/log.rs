//! The activity log and the notices: `GET /settings/log` ([`crate::journal`]),
//! `GET /settings/notifications` and `POST /settings/notifications/read`
//! ([`crate::notices`]; which notices are e-mailed is the configuration's
//! `#notifications` section). Everything is read and written under the session's store
//! only.

use std::sync::Arc;

use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::pages::log::LogFilterForm;
use super::pages::{self, Section};
use super::screens::{Fields, PageQuery, field, frame, see_other, shops_and_csrf};
use super::{Failure, Route, SessionContext};
use crate::app::App;
use crate::journal::{self, Filter, LogError, LogKind};
use crate::notices;

pub(super) fn routes() -> Vec<Route> {
    vec![
        ("/settings/log", get(log)),
        ("/settings/notifications", get(notifications)),
        ("/settings/notifications/read", post(mark_read)),
    ]
}

#[derive(Debug, Default, Deserialize)]
struct LogQuery {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    cursor: Option<String>,
    #[serde(flatten)]
    page: PageQuery,
}

/// The first second of a `YYYY-MM-DD` date (UTC); `None` for an empty one. Errors:
/// the merchant's words for a date that is not one.
fn day_start(text: &str, name: &'static str) -> Result<Option<i64>, String> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    crate::orders::browse::utc_day(name, text)
        .map(Some)
        .map_err(|error| format!("From/to: {error}"))
}

/// The log filter a query names. Errors: the merchant's words for what is wrong.
fn filter_of(query: &LogQuery) -> Result<Filter, String> {
    let kind = match query.kind.as_str() {
        "" => None,
        key => Some(LogKind::named(key).ok_or_else(|| format!("There is no kind {key:?} in the log."))?),
    };
    let from = day_start(&query.from, "from")?;
    let to = day_start(&query.to, "to")?.map(|start| start + 86_399);
    if let (Some(from), Some(to)) = (from, to)
        && from > to
    {
        return Err("The from date is after the to date.".into());
    }
    Ok(Filter { kind, from, to })
}

/// `GET /settings/log?kind=&from=&to=&cursor=`: the store's activity log.
async fn log(
    State(app): State<Arc<App>>,
    context: SessionContext,
    Query(query): Query<LogQuery>,
) -> Result<Response, Response> {
    let page = async {
        let (shops, _) = shops_and_csrf(&app, &context).await?;
        let frame = frame(
            &context,
            &shops,
            Section::Log,
            query.page.shop.as_deref(),
            "/settings/log",
            &query.page.confirmation,
        );
        let shown = LogFilterForm {
            kind: &query.kind,
            from: &query.from,
            to: &query.to,
        };
        let filter = match filter_of(&query) {
            Ok(filter) => filter,
            Err(problem) => {
                let markup = pages::log::log_page(&frame, &shown, &[], None, Some(&problem));
                return Ok((StatusCode::BAD_REQUEST, markup).into_response());
            }
        };
        let found = journal::page(
            app.table.as_ref(),
            &context.store.store_id,
            &filter,
            query.cursor.as_deref(),
        )
        .await
        .map_err(|error| match error {
            LogError::InvalidCursor => Failure::BadRequest(error.to_string()),
            LogError::Storage(storage) => storage.into(),
        })?;
        let markup = pages::log::log_page(&frame, &shown, &found.entries, found.cursor.as_deref(), None);
        Ok::<_, Failure>(markup.into_response())
    };
    page.await.map_err(Failure::page)
}

/// `GET /settings/notifications`: the store's notices and the e-mail switches.
async fn notifications(
    State(app): State<Arc<App>>,
    context: SessionContext,
    Query(query): Query<PageQuery>,
) -> Result<Response, Response> {
    let page = async {
        let (shops, csrf) = shops_and_csrf(&app, &context).await?;
        let notices = notices::list(app.table.as_ref(), &context.store.store_id).await?;
        let frame = frame(
            &context,
            &shops,
            Section::Notifications,
            query.shop.as_deref(),
            "/settings/notifications",
            &query.confirmation,
        );
        let store = &context.store;
        let markup = pages::notices::notices_page(
            &frame,
            &notices,
            &store.settings.notifications,
            store.owner_email.as_deref(),
            &csrf,
        );
        Ok::<_, Failure>(markup.into_response())
    };
    page.await.map_err(Failure::page)
}

/// `POST /settings/notifications/read`: marks every notice of the store read.
async fn mark_read(
    State(app): State<Arc<App>>,
    context: SessionContext,
    Form(fields): Form<Fields>,
) -> Result<Response, Response> {
    let marked = async {
        context.check_csrf(&app, field(&fields, "csrf"))?;
        let marked = notices::mark_all_read(app.table.as_ref(), &context.store.store_id).await?;
        Ok::<_, Failure>(see_other(&format!(
            "/settings/notifications?done=marked_read&n={marked}"
        )))
    };
    marked.await.map_err(Failure::page)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_bound_whole_utc_days_and_bad_ones_are_named() {
        let query = LogQuery {
            kind: "settings".into(),
            from: "2026-01-02".into(),
            to: "2026-01-02".into(),
            ..LogQuery::default()
        };
        let filter = filter_of(&query).unwrap();
        assert_eq!(filter.kind, Some(LogKind::Settings));
        assert_eq!(filter.from, Some(1_767_312_000));
        assert_eq!(filter.to, Some(1_767_312_000 + 86_399));
        let bad = LogQuery {
            from: "yesterday".into(),
            ..LogQuery::default()
        };
        assert!(filter_of(&bad).unwrap_err().contains("not a date"));
        let unknown = LogQuery {
            kind: "secrets".into(),
            ..LogQuery::default()
        };
        assert!(filter_of(&unknown).is_err());
    }
}
