//! Connecting TikTok shops: `/tiktok/connect` sends the merchant to TikTok's consent
//! page with a signed, expiring, single-use `state` bound to their store and to their
//! browser (a private cookie); `/tiktok/callback` checks both, exchanges the code and
//! stores every authorized shop that no other store owns.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::http::StatusCode;
use axum::http::header::{LOCATION, SET_COOKIE};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::session::{StateError, cleared_state_cookie, consume_state, issue_state};
use super::{Failure, SessionContext, pages};
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
    // Connecting and re-authorizing shops are the owner's.
    if let Err(failure) = context.require_owner() {
        return failure.page();
    }
    let issued = match issue_state(&app.secrets.token_cipher, app.table.as_ref(), &context.store.store_id).await {
        Ok(issued) => issued,
        Err(error) => return Failure::from(error).page(),
    };
    let Ok(mut link) = url::Url::parse(&app.endpoints.tiktok_authorize) else {
        return Failure::Internal("The TikTok authorization link is misconfigured.".into()).page();
    };
    link.query_pairs_mut()
        .append_pair("service_id", &app.secrets.tiktok_service_id)
        .append_pair("state", &issued.state);
    (
        StatusCode::SEE_OTHER,
        [(LOCATION, link.to_string()), (SET_COOKIE, issued.cookie)],
    )
        .into_response()
}

/// `GET /tiktok/callback`: TikTok's redirect after the seller approved (or refused).
pub async fn callback(State(app): State<Arc<App>>, headers: HeaderMap, Query(query): Query<CallbackQuery>) -> Response {
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
    let store_id = match consume_state(&app.secrets.token_cipher, app.table.as_ref(), &headers, &state).await {
        Ok(store_id) => store_id,
        Err(StateError::Storage(error)) => return Failure::from(error).page(),
        Err(refused) => return Failure::BadRequest(refused.to_string()).page(),
    };
    let outcome = async {
        let connection = shops::connect(&app, &store_id, &code).await?;
        if let Some(mut store) = accounts::get_store(app.table.as_ref(), &store_id).await?
            && store.onboarding == OnboardingStep::ConnectShop
            && !connection.connected.is_empty()
        {
            store.onboarding = OnboardingStep::ChooseWarehouse;
            accounts::save_store(app.table.as_ref(), &store).await?;
        }
        Ok::<_, Failure>(connection)
    };
    let mut response = match outcome.await {
        Ok(connection) if connection.refused.is_empty() => {
            tracing::info!(store = %store_id, shops = connection.connected.len(), "TikTok shops connected");
            (StatusCode::SEE_OTHER, [(LOCATION, "/settings")]).into_response()
        }
        Ok(connection) => {
            tracing::info!(store = %store_id, shops = connection.connected.len(), refused = connection.refused.len(), "TikTok shops connected in part");
            let refused: Vec<String> = connection
                .refused
                .iter()
                .map(|(name, reason)| format!("{name}: {reason}"))
                .collect();
            let message = format!(
                "{} shop(s) connected. Not connected: {}",
                connection.connected.len(),
                refused.join(" ")
            );
            pages::error_page(StatusCode::CONFLICT, "Some shops were not connected", &message)
        }
        Err(failure) => failure.page(),
    };
    if let Ok(cleared) = cleared_state_cookie().parse() {
        response.headers_mut().append(SET_COOKIE, cleared);
    }
    response
}
