//! The orders screens and their JSON API: the orders list (tabs, search, dates, shop,
//! pages), one order (lines, totals, packages, timeline), Retry (one or the selected),
//! Re-sync, Cancel on TikTok, fetching one order by id and syncing the orders of a date
//! range. Thin handlers over [`crate::orders`]; every id is looked up in the session's
//! store only, so another store's order answers 404.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json};
use serde::Deserialize;
use serde_json::json;

use super::pages::orders::{OrderDetail, OrdersView};
use super::pages::{self, Section};
use super::screens::{Fields, PageQuery, field, frame, see_other, shops_and_csrf, text};
use super::{Failure, Route, SessionContext, csrf_header};
use crate::app::App;
use crate::catalog::records;
use crate::orders::actions::{self, ActionError, Queued};
use crate::orders::browse::{self, BrowseError, OrderFilter};
use crate::orders::{self, OrderRecord, timeline};

pub(super) fn routes() -> Vec<Route> {
    vec![
        ("/settings/orders", get(list_page)),
        ("/settings/orders/retry", post(retry_selected)),
        ("/settings/orders/fetch", post(fetch_form)),
        ("/settings/orders/sync-range", post(sync_range_form)),
        ("/settings/orders/{id}", get(order_page)),
        ("/settings/orders/{id}/{form}", post(order_action)),
        ("/settings/api/orders", get(list_json)),
        ("/settings/api/orders/{id}", get(order_json)),
        ("/settings/api/orders/{id}/retry", post(retry_json)),
        ("/settings/api/orders/fetch", post(fetch_json)),
        ("/settings/api/orders/sync-range", post(sync_range_json)),
    ]
}

impl From<ActionError> for Failure {
    fn from(error: ActionError) -> Self {
        match error {
            ActionError::NotFound(message) => Failure::NotFound(message),
            ActionError::Invalid(message) => Failure::BadRequest(message),
            ActionError::Refused(_) => Failure::BadRequest(error.to_string()),
            ActionError::Unavailable(message) => Failure::Upstream(message),
        }
    }
}

impl From<BrowseError> for Failure {
    fn from(error: BrowseError) -> Self {
        match error {
            BrowseError::Filter(error) => Failure::BadRequest(error.to_string()),
            BrowseError::Storage(error) => error.into(),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
struct ListQuery {
    #[serde(flatten)]
    filter: OrderFilter,
    #[serde(flatten)]
    page: PageQuery,
}

/// One order of the session's store (404 for another store's id).
async fn own_order(app: &App, store_id: &str, id: &str) -> Result<OrderRecord, Failure> {
    orders::get_record(app.table.as_ref(), store_id, id)
        .await?
        .ok_or_else(|| Failure::NotFound(format!("No TikTok order {id} for this store.")))
}

/// The store's control-panel page of each store order (nothing when the store's
/// credentials cannot be opened).
fn admin_urls(app: &App, context: &SessionContext) -> impl Fn(&str) -> String {
    let platform = crate::platforms::open(app, &context.store).ok();
    move |id: &str| platform.as_ref().map_or_else(String::new, |p| p.order_admin_url(id))
}

/// `GET /settings/orders` (`?state=&status=&q=&from=&to=&shop=&page=`); a filter it
/// cannot apply shows next to its field, with the rest of the filter kept.
async fn list_page(
    State(app): State<Arc<App>>,
    context: SessionContext,
    Query(query): Query<ListQuery>,
) -> Result<Response, Response> {
    let page = async {
        let table = app.table.as_ref();
        let store_id = &context.store.store_id;
        let (listed, error) = match browse::page(table, store_id, &query.filter).await {
            Ok(listed) => (listed, None),
            Err(BrowseError::Filter(error)) => (Default::default(), Some((error.field(), error.to_string()))),
            Err(BrowseError::Storage(error)) => return Err(error.into()),
        };
        let counts = orders::order_counts(table, store_id).await?;
        let (shops, csrf) = shops_and_csrf(&app, &context).await?;
        let frame = frame(
            &context,
            &shops,
            Section::Orders,
            query.page.shop.as_deref(),
            "/settings/orders",
            &query.page.confirmation,
        );
        let admin_url = admin_urls(&app, &context);
        let status = if error.is_some() {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::OK
        };
        let view = OrdersView {
            page: &listed,
            counts: &counts,
            filter: &query.filter,
            error,
            admin_url: &admin_url,
        };
        Ok::<_, Failure>((status, pages::orders::orders_page(&frame, &view, &csrf)).into_response())
    };
    page.await.map_err(Failure::page)
}

/// What the order screen reads besides the record: TikTok's copy, the store variants
/// its SKUs are linked to, its packages and its timeline.
struct Read {
    order: Result<crate::tiktok::model::Order, String>,
    store_variants: HashMap<String, (String, String)>,
    packages: Result<Vec<actions::PackageSummary>, String>,
    events: Vec<timeline::Event>,
}

async fn read_order(app: &App, store_id: &str, record: &OrderRecord) -> Result<Read, Failure> {
    let table = app.table.as_ref();
    let events = timeline::events(table, store_id, &record.tiktok_order_id).await?;
    let mut read = Read {
        order: Err("the shop is not connected".into()),
        store_variants: HashMap::new(),
        packages: Ok(Vec::new()),
        events,
    };
    let Some(shop) = crate::accounts::get_shop(table, store_id, &record.shop_id).await? else {
        return Ok(read);
    };
    read.order = match orders::fetch_order(app, &shop, &record.tiktok_order_id).await {
        Ok(Some(order)) => Ok(order),
        Ok(None) => Err("TikTok no longer knows this order.".into()),
        Err(error) => Err(error.to_string()),
    };
    if let Ok(order) = &read.order {
        for line in &order.line_items {
            if let Some((variant, product)) =
                records::variant_of_sku(table, store_id, &shop.shop_id, line.sku_id.as_str()).await?
            {
                read.store_variants.insert(line.sku_id.to_string(), (product, variant));
            }
        }
        read.packages = actions::packages(app, &shop, order)
            .await
            .map_err(|error| error.to_string());
    }
    Ok(read)
}

async fn render_order(
    app: &App,
    context: &SessionContext,
    id: &str,
    confirmation: &pages::Confirmation,
    error: Option<&str>,
) -> Result<Response, Failure> {
    let store_id = &context.store.store_id;
    let record = own_order(app, store_id, id).await?;
    let read = read_order(app, store_id, &record).await?;
    let (shops, csrf) = shops_and_csrf(app, context).await?;
    let frame = frame(context, &shops, Section::Orders, None, "/settings/orders", confirmation);
    let admin_url = record
        .store_order_id
        .as_deref()
        .map(|store_id| admin_urls(app, context)(store_id))
        .filter(|url| !url.is_empty());
    let detail = OrderDetail {
        record: &record,
        order: read.order.as_ref().map_err(String::clone),
        store_variants: &read.store_variants,
        packages: read.packages.as_deref().map_err(String::as_str),
        events: &read.events,
        admin_url,
        error,
    };
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    Ok((status, pages::orders::order_page(&frame, &detail, &csrf)).into_response())
}

/// `GET /settings/orders/{id}`.
async fn order_page(
    State(app): State<Arc<App>>,
    context: SessionContext,
    Path(id): Path<String>,
    Query(query): Query<PageQuery>,
) -> Result<Response, Response> {
    render_order(&app, &context, &id, &query.confirmation, None)
        .await
        .map_err(Failure::page)
}

/// `POST /settings/orders/{id}/{retry|resync|cancel}` (cancel takes `reason`). A
/// refusal shows on the order's page.
async fn order_action(
    State(app): State<Arc<App>>,
    context: SessionContext,
    Path((id, action)): Path<(String, String)>,
    Form(fields): Form<Fields>,
) -> Result<Response, Response> {
    let outcome = async {
        context.check_csrf(&app, field(&fields, "csrf"))?;
        let store_id = &context.store.store_id;
        own_order(&app, store_id, &id).await?;
        let done = match action.as_str() {
            "retry" => {
                orders::retry_now(&app, store_id, &id).await?;
                Ok("retried")
            }
            "resync" => actions::resync(&app, store_id, &id).await.map(|()| "resynced"),
            "cancel" => actions::cancel(&app, &context.store, &id, &text(&fields, "reason"))
                .await
                .map(|()| "cancelled"),
            other => return Err(Failure::NotFound(format!("There is no order action {other:?}."))),
        };
        match done {
            Ok(done) => Ok(see_other(&format!("/settings/orders/{id}?done={done}"))),
            Err(ActionError::NotFound(message)) => Err(Failure::NotFound(message)),
            Err(refused) => {
                let message = refused.to_string();
                render_order(&app, &context, &id, &pages::Confirmation::default(), Some(&message)).await
            }
        }
    };
    outcome.await.map_err(Failure::page)
}

/// `POST /settings/orders/retry`: Retry every selected order (`order_id`, repeated)
/// that waits in *Error* or *Needs attention* (others are left as they are).
async fn retry_selected(
    State(app): State<Arc<App>>,
    context: SessionContext,
    Form(fields): Form<Fields>,
) -> Result<Response, Response> {
    let outcome = async {
        context.check_csrf(&app, field(&fields, "csrf"))?;
        let chosen: Vec<&str> = fields
            .iter()
            .filter(|(name, _)| name == "order_id")
            .map(|(_, id)| id.as_str())
            .collect();
        if chosen.is_empty() {
            return Err(Failure::BadRequest("Select the orders to retry first.".into()));
        }
        let mut waiting = Vec::new();
        for id in &chosen {
            let record = own_order(&app, &context.store.store_id, id).await?;
            if matches!(record.state, orders::SyncState::Error | orders::SyncState::Parked) {
                waiting.push(record.tiktok_order_id);
            }
        }
        for id in &waiting {
            orders::retry_now(&app, &context.store.store_id, id).await?;
        }
        Ok(see_other(&format!(
            "/settings/orders?state=error&done=retried&n={}",
            waiting.len()
        )))
    };
    outcome.await.map_err(Failure::page)
}

/// The dates of a range form as Unix seconds, `to` taken as the whole day.
fn range_of(fields: &Fields) -> Result<(i64, i64), Failure> {
    let day = |field: &'static str| {
        browse::utc_day(field, &text(fields, field)).map_err(|e| Failure::BadRequest(e.to_string()))
    };
    Ok((day("from")?, day("to")? + 86_400))
}

/// Where a fetch or range sync goes: its activity.
fn to_activity(queued: &Queued, done: &str) -> Response {
    see_other(&format!("/settings/activities/{}?done={done}", queued.activity_id))
}

/// `POST /settings/orders/fetch` (`shop_id`, `order_id`).
async fn fetch_form(
    State(app): State<Arc<App>>,
    context: SessionContext,
    Form(fields): Form<Fields>,
) -> Result<Response, Response> {
    let outcome = async {
        context.check_csrf(&app, field(&fields, "csrf"))?;
        let queued = actions::fetch_one(
            &app,
            &context.store.store_id,
            &text(&fields, "shop_id"),
            &text(&fields, "order_id"),
        )
        .await?;
        Ok::<_, Failure>(to_activity(&queued, "fetching"))
    };
    outcome.await.map_err(Failure::page)
}

/// `POST /settings/orders/sync-range` (`shop_id`, `from`, `to`: dates, both included).
async fn sync_range_form(
    State(app): State<Arc<App>>,
    context: SessionContext,
    Form(fields): Form<Fields>,
) -> Result<Response, Response> {
    let outcome = async {
        context.check_csrf(&app, field(&fields, "csrf"))?;
        let (from, to) = range_of(&fields)?;
        let shop_id = text(&fields, "shop_id");
        let queued = actions::sync_range(&app, &context.store.store_id, &shop_id, from, to).await?;
        Ok::<_, Failure>(to_activity(&queued, "sync_started"))
    };
    outcome.await.map_err(Failure::page)
}

/// `GET /settings/api/orders` (the list's query): the page's order records.
async fn list_json(
    State(app): State<Arc<App>>,
    context: SessionContext,
    Query(filter): Query<OrderFilter>,
) -> Result<Response, Failure> {
    let listed = browse::page(app.table.as_ref(), &context.store.store_id, &filter).await?;
    Ok(Json(listed.records).into_response())
}

/// `GET /settings/api/orders/{id}`: the record, TikTok's copy, packages and timeline.
async fn order_json(
    State(app): State<Arc<App>>,
    context: SessionContext,
    Path(id): Path<String>,
) -> Result<Response, Failure> {
    let store_id = &context.store.store_id;
    let record = own_order(&app, store_id, &id).await?;
    let read = read_order(&app, store_id, &record).await?;
    let (order, problem) = match read.order {
        Ok(order) => (Some(order), None),
        Err(problem) => (None, Some(problem)),
    };
    Ok(Json(
        json!({"record": record, "tiktok": order, "tiktok_problem": problem, "packages": read.packages.unwrap_or_default(),
                   "store_variants": read.store_variants, "timeline": read.events}),
    )
    .into_response())
}

async fn retry_json(
    State(app): State<Arc<App>>,
    context: SessionContext,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, Failure> {
    context.check_csrf(&app, csrf_header(&headers))?;
    own_order(&app, &context.store.store_id, &id).await?;
    orders::retry_now(&app, &context.store.store_id, &id).await?;
    Ok(Json(json!({"retrying": id})).into_response())
}

#[derive(Deserialize)]
struct FetchBody {
    shop_id: String,
    order_id: String,
}

/// Fetches one TikTok order by id (e.g. one the merchant misses), as an activity.
async fn fetch_json(
    State(app): State<Arc<App>>,
    context: SessionContext,
    headers: HeaderMap,
    Json(body): Json<FetchBody>,
) -> Result<Response, Failure> {
    context.check_csrf(&app, csrf_header(&headers))?;
    let queued = actions::fetch_one(&app, &context.store.store_id, &body.shop_id, &body.order_id).await?;
    Ok(Json(json!({"queued": body.order_id, "activity_id": queued.activity_id})).into_response())
}

#[derive(Deserialize)]
struct RangeBody {
    shop_id: String,
    /// Created at or after (Unix seconds).
    from: i64,
    /// Created before (Unix seconds).
    to: i64,
}

/// Syncs every order created in a date range (missed orders), as an activity.
async fn sync_range_json(
    State(app): State<Arc<App>>,
    context: SessionContext,
    headers: HeaderMap,
    Json(body): Json<RangeBody>,
) -> Result<Response, Failure> {
    context.check_csrf(&app, csrf_header(&headers))?;
    let queued = actions::sync_range(&app, &context.store.store_id, &body.shop_id, body.from, body.to).await?;
    Ok(Json(queued).into_response())
}
