//! The orders part of the settings API: the TikTok orders the connector handled (with
//! their store order or the reason they are not created), Retry, fetching one order
//! by id, and syncing the orders of a date range. Bound to the session's store.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::json;

use super::{Failure, Route, SessionContext, csrf_header, own_shop};
use crate::app::App;
use crate::orders;
use crate::shops::with_shop;
use crate::tiktok::model::OrderSearch;

pub(super) fn routes() -> Vec<Route> {
    vec![
        ("/settings/api/orders", get(list)),
        ("/settings/api/orders/{id}/retry", post(retry)),
        ("/settings/api/orders/fetch", post(fetch)),
        ("/settings/api/orders/sync-range", post(sync_range)),
    ]
}

async fn list(State(app): State<Arc<App>>, context: SessionContext) -> Result<Response, Failure> {
    Ok(Json(orders::all_records(app.table.as_ref(), &context.store.store_hash).await?).into_response())
}

async fn retry(
    State(app): State<Arc<App>>,
    context: SessionContext,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, Failure> {
    context.check_csrf(&app, csrf_header(&headers))?;
    if !orders::retry_now(&app, &context.store.store_hash, &id).await? {
        return Err(Failure::NotFound(format!("No TikTok order {id} for this store.")));
    }
    Ok(Json(json!({"retrying": id})).into_response())
}

#[derive(Deserialize)]
struct FetchBody {
    shop_id: String,
    order_id: String,
}

/// Fetches one TikTok order by id (e.g. one the merchant misses).
async fn fetch(
    State(app): State<Arc<App>>,
    context: SessionContext,
    headers: HeaderMap,
    Json(body): Json<FetchBody>,
) -> Result<Response, Failure> {
    context.check_csrf(&app, csrf_header(&headers))?;
    own_shop(&app, &context.store.store_hash, &body.shop_id).await?;
    orders::enqueue_sync(&app, &context.store.store_hash, &body.shop_id, &body.order_id, "fetch").await?;
    Ok(Json(json!({"queued": body.order_id})).into_response())
}

#[derive(Deserialize)]
struct RangeBody {
    shop_id: String,
    /// Created at or after (Unix seconds).
    from: i64,
    /// Created before (Unix seconds).
    to: i64,
}

/// The longest range one `sync-range` call covers (31 days).
const MAX_RANGE_SECONDS: i64 = 31 * 86_400;
/// The most orders one `sync-range` call queues before it asks for shorter ranges.
const MAX_RANGE_ORDERS: usize = 5_000;

/// Syncs every order created in a date range (missed orders), at most
/// [`MAX_RANGE_SECONDS`] long and [`MAX_RANGE_ORDERS`] orders per call.
async fn sync_range(
    State(app): State<Arc<App>>,
    context: SessionContext,
    headers: HeaderMap,
    Json(body): Json<RangeBody>,
) -> Result<Response, Failure> {
    context.check_csrf(&app, csrf_header(&headers))?;
    if body.to <= body.from {
        return Err(Failure::BadRequest("The range must end after it starts.".into()));
    }
    if body.to - body.from > MAX_RANGE_SECONDS {
        return Err(Failure::BadRequest(
            "Sync at most 31 days at a time; split a longer range.".into(),
        ));
    }
    let shop = own_shop(&app, &context.store.store_hash, &body.shop_id).await?;
    let filter = OrderSearch {
        create_time_ge: Some(body.from),
        create_time_lt: Some(body.to),
        ..OrderSearch::default()
    };
    let tiktok = &app.tiktok;
    let mut queued = 0;
    let mut token: Option<String> = None;
    loop {
        let (filter, page_token) = (&filter, token.clone());
        let page = with_shop(&app, &shop, |auth| async move {
            tiktok.search_orders(&auth, filter, 50, page_token.as_deref()).await
        })
        .await?;
        for order in &page.items {
            orders::enqueue_sync(
                &app,
                &context.store.store_hash,
                &shop.shop_id,
                order.id.as_str(),
                "range",
            )
            .await?;
            queued += 1;
        }
        match page.next_page_token {
            Some(next) if queued < MAX_RANGE_ORDERS => token = Some(next),
            Some(_) => {
                return Err(Failure::BadRequest(format!(
                    "{queued} orders were queued and the range holds more; sync the rest in shorter ranges."
                )));
            }
            None => break,
        }
    }
    Ok(Json(json!({"queued": queued})).into_response())
}
