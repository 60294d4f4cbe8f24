//! Returns, refunds and buyer cancellation requests: the Returns screens and their
//! JSON API. Thin handlers over [`crate::returns`]; every id is looked up in the
//! session's store only, so another store's request answers 404.

use std::str::FromStr;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::json;

use super::pages::returns::{AnswerDraft, SettingsForm};
use super::pages::{self, Section};
use super::screens::{Fields, PageQuery, field, frame, see_other, shops_and_csrf, text};
use super::{Failure, Route, SessionContext, csrf_header};
use crate::accounts::{self, ShopStatus};
use crate::app::App;
use crate::returns::decisions::{self, Answer, Approve, DecisionError, Outcome};
use crate::returns::{self, AfterSale, RequestKind, ReturnFilter};
use crate::rules::returns::AutoRules;
use crate::tiktok::model::RejectImage;

pub(super) fn routes() -> Vec<Route> {
    vec![
        ("/settings/returns", get(list_page)),
        ("/settings/returns/settings", post(save_settings)),
        ("/settings/returns/{id}", get(request_page)),
        ("/settings/returns/{id}/answer", post(answer_form)),
        ("/settings/api/returns", get(list_json)),
        ("/settings/api/returns/{id}", get(request_json)),
        ("/settings/api/returns/{id}/{decision}", post(answer_return)),
        ("/settings/api/cancellations/{id}/{decision}", post(answer_cancellation)),
    ]
}

impl From<DecisionError> for Failure {
    fn from(error: DecisionError) -> Self {
        match error {
            DecisionError::NotFound => Failure::NotFound("No such return or cancellation request.".into()),
            DecisionError::NotAllowed(message) | DecisionError::Invalid(message) => Failure::BadRequest(message),
            // TikTok refused the answer itself: the request was wrong, not the service.
            DecisionError::Refused(_) => Failure::BadRequest(error.to_string()),
            DecisionError::Unavailable(_) => Failure::Upstream(error.to_string()),
            DecisionError::Storage(error) => error.into(),
            DecisionError::Job(error) => Failure::Internal(error.to_string()),
        }
    }
}

/// One request of the session's store (404 for another store's id, or a kind other
/// than `kind` when one is asked for).
async fn own_request(app: &App, store_id: &str, id: &str, kind: Option<RequestKind>) -> Result<AfterSale, Failure> {
    returns::get(app.table.as_ref(), store_id, id)
        .await?
        .filter(|r| kind.is_none_or(|k| r.kind == k))
        .ok_or_else(|| {
            let what = match kind {
                Some(RequestKind::Return) => "return",
                Some(RequestKind::Cancellation) => "cancellation request",
                None => "return or cancellation request",
            };
            Failure::NotFound(format!("No {what} {id} for this store."))
        })
}

#[derive(Debug, Default, Deserialize)]
struct ListQuery {
    #[serde(flatten)]
    filter: ReturnFilter,
    #[serde(flatten)]
    page: PageQuery,
}

/// The settings form as stored.
async fn stored_settings(app: &App, context: &SessionContext) -> Result<SettingsForm, Failure> {
    let shops = accounts::list_shops(app.table.as_ref(), &context.store.store_id).await?;
    Ok(SettingsForm {
        refund_in_store: context.store.settings.refund_in_store,
        restock_returns: context.store.settings.restock_returns,
        shops: shops
            .into_iter()
            .filter(|s| s.status != ShopStatus::Disconnected)
            .map(|s| {
                let limit = s
                    .after_sale_rules
                    .refund_only_under
                    .map(|l| l.to_string())
                    .unwrap_or_default();
                let cancellations = s.after_sale_rules.approve_unshipped_cancellations;
                (s, limit, cancellations)
            })
            .collect(),
        error: None,
        read_only: !context.is_owner(),
    })
}

async fn render_list(
    app: &App,
    context: &SessionContext,
    query: &ListQuery,
    settings: SettingsForm,
) -> Result<Response, Failure> {
    let listing = returns::list(app.table.as_ref(), &context.store.store_id, &query.filter).await?;
    let (shops, csrf) = shops_and_csrf(app, context).await?;
    let frame = frame(
        context,
        &shops,
        Section::Returns,
        query.page.shop.as_deref(),
        "/settings/returns",
        &query.page.confirmation,
    );
    let status = if settings.error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        pages::returns::returns(&frame, &listing, &query.filter, &settings, &csrf),
    )
        .into_response())
}

/// `GET /settings/returns` (`?status=&type=&q=&page=`).
async fn list_page(
    State(app): State<Arc<App>>,
    context: SessionContext,
    Query(query): Query<ListQuery>,
) -> Result<Response, Response> {
    let page = async {
        let settings = stored_settings(&app, &context).await?;
        render_list(&app, &context, &query, settings).await
    };
    page.await.map_err(Failure::page)
}

/// `POST /settings/returns/settings`: the store's after-sales switches and each
/// shop's automatic rules. A refused value shows next to its field with every other
/// edit kept; nothing is saved then.
async fn save_settings(
    State(app): State<Arc<App>>,
    context: SessionContext,
    Form(fields): Form<Fields>,
) -> Result<Response, Response> {
    let outcome = async {
        context.require_owner()?;
        context.check_csrf(&app, field(&fields, "csrf"))?;
        let table = app.table.as_ref();
        let mut posted = stored_settings(&app, &context).await?;
        posted.refund_in_store = field(&fields, "refund_in_store") == Some("on");
        posted.restock_returns = field(&fields, "restock_returns") == Some("on");
        let mut rules = Vec::new();
        for (shop, limit, cancellations) in &mut posted.shops {
            let name = format!("refund_only_under:{}", shop.shop_id);
            *limit = text(&fields, &name);
            *cancellations = field(&fields, &format!("approve_unshipped_cancellations:{}", shop.shop_id)) == Some("on");
            let parsed = match limit.as_str() {
                "" => Ok(None),
                typed => Decimal::from_str(typed)
                    .map(Some)
                    .map_err(|_| "must be an amount such as 20.00".to_string()),
            };
            let checked = parsed.and_then(|refund_only_under| {
                let shop_rules = AutoRules {
                    refund_only_under,
                    approve_unshipped_cancellations: *cancellations,
                };
                shop_rules.validate().map(|()| shop_rules).map_err(|e| e.to_string())
            });
            match checked {
                Ok(shop_rules) => rules.push((shop.shop_id.clone(), shop_rules)),
                Err(message) => {
                    if posted.error.is_none() {
                        posted.error = Some((name, format!("{}: {message}", shop.name)));
                    }
                }
            }
        }
        if posted.error.is_some() {
            let query = ListQuery::default();
            return render_list(&app, &context, &query, posted).await;
        }
        let mut store = context.store.clone();
        store.settings.refund_in_store = posted.refund_in_store;
        store.settings.restock_returns = posted.restock_returns;
        accounts::save_store(table, &store).await?;
        for (shop_id, shop_rules) in rules {
            if let Some(mut shop) = accounts::get_shop(table, &store.store_id, &shop_id).await? {
                shop.after_sale_rules = shop_rules;
                accounts::save_shop(table, &shop).await?;
            }
        }
        Ok(see_other("/settings/returns?done=saved#return-settings"))
    };
    outcome.await.map_err(Failure::page)
}

/// Renders one request, with `error` and the `draft` of a refused answer.
async fn render_request(
    app: &App,
    context: &SessionContext,
    record: &AfterSale,
    query: &PageQuery,
    refused: Option<(StatusCode, String, AnswerDraft)>,
) -> Result<Response, Failure> {
    let (shops, csrf) = shops_and_csrf(app, context).await?;
    let shop_name = shops
        .iter()
        .find(|s| s.shop_id == record.shop_id)
        .map_or_else(|| record.shop_id.clone(), |s| s.name.clone());
    // TikTok's reasons are offered only when a rejection is possible; without them the
    // rest of the page still shows.
    let reasons = if decisions::rejection(record).is_some() {
        match decisions::reject_reasons(app, &context.store, record).await {
            Ok(reasons) => reasons,
            Err(error) => {
                tracing::warn!(request = %record.id, %error, "reject reasons not available");
                Vec::new()
            }
        }
    } else {
        Vec::new()
    };
    let on_tiktok = decisions::tiktok_records(app, &context.store, record)
        .await
        .unwrap_or_else(|error| {
            tracing::warn!(request = %record.id, %error, "TikTok's record of the return not available");
            Vec::new()
        });
    let frame = frame(
        context,
        &shops,
        Section::Returns,
        query.shop.as_deref(),
        "/settings/returns",
        &query.confirmation,
    );
    let (status, error, draft) = match refused {
        Some((status, error, draft)) => (status, Some(error), draft),
        None => (StatusCode::OK, None, AnswerDraft::default()),
    };
    let shown = pages::returns::Shown {
        shop_name: &shop_name,
        reasons: &reasons,
        on_tiktok: &on_tiktok,
        draft: &draft,
        error: error.as_deref(),
        csrf: &csrf,
    };
    let page = pages::returns::request(&frame, record, &shown);
    Ok((status, page).into_response())
}

/// `GET /settings/returns/{id}`.
async fn request_page(
    State(app): State<Arc<App>>,
    context: SessionContext,
    Path(id): Path<String>,
    Query(query): Query<PageQuery>,
) -> Result<Response, Response> {
    let page = async {
        let record = own_request(&app, &context.store.store_id, &id, None).await?;
        render_request(&app, &context, &record, &query, None).await
    };
    page.await.map_err(Failure::page)
}

/// An answer from its name (`refund`, `return`, `returnless_refund`, `received`,
/// `replacement`, `partial_refund`, `cancellation`, `reject`) and fields.
fn answer_of(
    name: &str,
    amount: &str,
    reason: &str,
    comment: &str,
    images: Vec<RejectImage>,
) -> Result<Answer, DecisionError> {
    if name == "reject" {
        return Ok(Answer::Reject {
            reason: reason.trim().to_string(),
            comment: comment.trim().to_string(),
            images,
        });
    }
    let approve: Approve = serde_json::from_value(json!(name))
        .map_err(|_| DecisionError::Invalid(format!("{name:?} is not an answer TikTok takes.")))?;
    let amount = match amount.trim() {
        "" => None,
        typed => Some(
            Decimal::from_str(typed)
                .map_err(|_| DecisionError::Invalid(format!("{typed:?} is not an amount such as 5.00.")))?,
        ),
    };
    Ok(Answer::Approve(approve, amount))
}

/// `POST /settings/returns/{id}/answer`: sends the answer and shows the request again
/// (`?done=answered`, or `not_sent` when TikTok had moved on); a refused answer shows
/// its reason on the page with what was typed kept.
async fn answer_form(
    State(app): State<Arc<App>>,
    context: SessionContext,
    Path(id): Path<String>,
    Form(fields): Form<Fields>,
) -> Result<Response, Response> {
    let outcome = async {
        context.check_csrf(&app, field(&fields, "csrf"))?;
        let record = own_request(&app, &context.store.store_id, &id, None).await?;
        let draft = AnswerDraft {
            amount: text(&fields, "amount"),
            reason: text(&fields, "reject_reason"),
            comment: text(&fields, "comment"),
        };
        if text(&fields, "answer") == "retry_store" {
            decisions::retry_store(&app, &context.store, &id).await?;
            return Ok(see_other(&format!("/settings/returns/{id}?done=retried")));
        }
        let answer = answer_of(
            &text(&fields, "answer"),
            &draft.amount,
            &draft.reason,
            &draft.comment,
            Vec::new(),
        );
        let answered = match answer {
            Ok(answer) => decisions::decide(&app, &context.store, &id, answer, "you").await,
            Err(error) => Err(error),
        };
        match answered {
            Ok(Outcome { sent, .. }) => {
                let done = if sent { "answered" } else { "not_sent" };
                Ok(see_other(&format!("/settings/returns/{id}?done={done}")))
            }
            Err(DecisionError::NotFound) => Err(DecisionError::NotFound.into()),
            Err(error @ (DecisionError::Storage(_) | DecisionError::Job(_))) => Err(error.into()),
            Err(error) => {
                let status = match error {
                    DecisionError::Unavailable(_) => StatusCode::BAD_GATEWAY,
                    _ => StatusCode::BAD_REQUEST,
                };
                let record = own_request(&app, &context.store.store_id, &id, None)
                    .await
                    .unwrap_or(record);
                let query = PageQuery::default();
                render_request(
                    &app,
                    &context,
                    &record,
                    &query,
                    Some((status, error.to_string(), draft)),
                )
                .await
            }
        }
    };
    outcome.await.map_err(Failure::page)
}

/// `GET /settings/api/returns` (`?status=&type=&q=&page=`): one page of requests with
/// the tab counts, as JSON.
async fn list_json(
    State(app): State<Arc<App>>,
    context: SessionContext,
    Query(filter): Query<ReturnFilter>,
) -> Result<Response, Failure> {
    let listing = returns::list(app.table.as_ref(), &context.store.store_id, &filter).await?;
    Ok(Json(listing).into_response())
}

/// `GET /settings/api/returns/{id}`: one request (returns and cancellations alike),
/// the answers it takes now and TikTok's reject reasons for it.
async fn request_json(
    State(app): State<Arc<App>>,
    context: SessionContext,
    Path(id): Path<String>,
) -> Result<Response, Failure> {
    let record = own_request(&app, &context.store.store_id, &id, None).await?;
    let reasons = if decisions::rejection(&record).is_some() {
        decisions::reject_reasons(&app, &context.store, &record).await?
    } else {
        Vec::new()
    };
    let reasons: Vec<_> = reasons
        .into_iter()
        .map(|(name, text)| json!({"name": name, "text": text}))
        .collect();
    Ok(Json(json!({
        "request": record,
        "stage": record.stage(),
        "approvals": decisions::approvals(&record),
        "can_reject": decisions::rejection(&record).is_some(),
        "reject_reasons": reasons,
    }))
    .into_response())
}

/// The JSON body of an answer: `decision` (an approval's name; the first one the
/// request takes when absent) and `amount` for approvals; `reject_reason` and
/// `comment` for rejections.
#[derive(Debug, Default, Deserialize)]
struct AnswerBody {
    #[serde(default)]
    decision: String,
    /// A decimal string (`"5.00"`) or a JSON number.
    #[serde(default)]
    amount: serde_json::Value,
    #[serde(default)]
    reject_reason: String,
    #[serde(default)]
    comment: String,
    /// Evidence for a rejection: images uploaded to TikTok before.
    #[serde(default)]
    images: Vec<RejectImage>,
}

async fn answer_json(
    app: &App,
    context: &SessionContext,
    headers: &HeaderMap,
    kind: RequestKind,
    id: &str,
    decision: &str,
    body: AnswerBody,
) -> Result<Response, Failure> {
    context.check_csrf(app, csrf_header(headers))?;
    let record = own_request(app, &context.store.store_id, id, Some(kind)).await?;
    let name = match (decision, body.decision.as_str(), kind) {
        ("reject", _, _) => "reject".to_string(),
        // A cancellation request takes one approval; a return's answer moves money: say which.
        ("approve", "", RequestKind::Cancellation) => "cancellation".to_string(),
        ("approve", "", RequestKind::Return) => {
            let offered: Vec<String> = decisions::approvals(&record)
                .iter()
                .filter_map(|a| serde_json::to_value(a).ok()?.as_str().map(str::to_string))
                .collect();
            let offered = if offered.is_empty() {
                "none now".to_string()
            } else {
                offered.join(", ")
            };
            return Err(Failure::BadRequest(format!(
                "Say which answer in \"decision\": this request takes {offered}."
            )));
        }
        ("approve", chosen, _) => chosen.to_string(),
        (other, _, _) => {
            return Err(Failure::NotFound(format!(
                "There is no answer {other:?}; use approve or reject."
            )));
        }
    };
    let amount = match &body.amount {
        serde_json::Value::Number(n) => n.to_string(),
        serde_json::Value::String(s) => s.clone(),
        _ => String::new(),
    };
    let answer = answer_of(&name, &amount, &body.reject_reason, &body.comment, body.images)?;
    let outcome = decisions::decide(app, &context.store, id, answer, "you").await?;
    Ok(Json(json!({"sent": outcome.sent, "message": outcome.message, "request": outcome.record})).into_response())
}

/// `POST /settings/api/returns/{id}/approve|reject`.
async fn answer_return(
    State(app): State<Arc<App>>,
    context: SessionContext,
    headers: HeaderMap,
    Path((id, decision)): Path<(String, String)>,
    body: Option<Json<AnswerBody>>,
) -> Result<Response, Failure> {
    let body = body.map(|Json(b)| b).unwrap_or_default();
    answer_json(&app, &context, &headers, RequestKind::Return, &id, &decision, body).await
}

/// `POST /settings/api/cancellations/{id}/approve|reject`.
async fn answer_cancellation(
    State(app): State<Arc<App>>,
    context: SessionContext,
    headers: HeaderMap,
    Path((id, decision)): Path<(String, String)>,
    body: Option<Json<AnswerBody>>,
) -> Result<Response, Failure> {
    let body = body.map(|Json(b)| b).unwrap_or_default();
    answer_json(
        &app,
        &context,
        &headers,
        RequestKind::Cancellation,
        &id,
        &decision,
        body,
    )
    .await
}
