//! Connecting TikTok shops: `/tiktok/connect` sends the merchant to TikTok's consent
//! page with a signed, expiring, single-use `state` bound to their store;
//! `/tiktok/callback` checks it, exchanges the code and stores every authorized shop.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::http::header::LOCATION;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::session::{StateError, consume_state, issue_state};
use super::{Failure, SessionContext};
use crate::accounts::{self, OnboardingStep};
use crate::app::App;
use crate::shops;

#[derive(Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

/// `GET /tiktok/connect` (session required).
pub async fn connect(State(app): State<Arc<App>>, context: SessionContext) -> Response {
    let state = match issue_state(&app.secrets.token_cipher, app.table.as_ref(), &context.store.store_hash).await {
        Ok(state) => state,
        Err(error) => return Failure::from(error).page(),
    };
    let Ok(mut link) = url::Url::parse(&app.endpoints.tiktok_authorize) else {
        return Failure::Internal("The TikTok authorization link is misconfigured.".into()).page();
    };
    link.query_pairs_mut()
        .append_pair("service_id", &app.secrets.tiktok_service_id)
        .append_pair("state", &state);
    (StatusCode::SEE_OTHER, [(LOCATION, link.to_string())]).into_response()
}

/// `GET /tiktok/callback`: TikTok's redirect after the seller approved (or refused).
pub async fn callback(State(app): State<Arc<App>>, Query(query): Query<CallbackQuery>) -> Response {
    if query.error.is_some() {
        return Failure::BadRequest(
            "The connection was not approved in TikTok. You can try again from the settings page.".into(),
        )
        .page();
    }
    let (Some(code), Some(state)) = (query.code.filter(|c| !c.is_empty()), query.state) else {
        return Failure::BadRequest(
            "The link from TikTok is incomplete. Start the connection from the settings page.".into(),
        )
        .page();
    };
    let store_hash = match consume_state(&app.secrets.token_cipher, app.table.as_ref(), &state).await {
        Ok(store_hash) => store_hash,
        Err(StateError::Storage(error)) => return Failure::from(error).page(),
        Err(refused) => return Failure::BadRequest(refused.to_string()).page(),
    };
    let outcome = async {
        let connected = shops::connect(&app, &store_hash, &code).await?;
        if let Some(mut store) = accounts::get_store(app.table.as_ref(), &store_hash).await?
            && store.onboarding == OnboardingStep::ConnectShop
            && !connected.is_empty()
        {
            store.onboarding = OnboardingStep::ChooseWarehouse;
            accounts::save_store(app.table.as_ref(), &store).await?;
        }
        Ok::<_, Failure>(connected.len())
    };
    match outcome.await {
        Ok(count) => {
            tracing::info!(store = %store_hash, shops = count, "TikTok shops connected");
            (StatusCode::SEE_OTHER, [(LOCATION, "/settings")]).into_response()
        }
        Err(failure) => failure.page(),
    }
}
