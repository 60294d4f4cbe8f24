//! Answers to requests, from the merchant or a shop's automatic rules (reference §10).
//!
//! Only the answers TikTok's next action allows are offered ([`approvals`],
//! [`rejection`]). Every call carries an `idempotency_key` derived from the request, its
//! status and the answer, so a retry after a lost answer is the same call. When TikTok
//! refuses, the request is read again: if it moved on (decided already, the deadline
//! passed and TikTok decided, arbitration took it), the outcome says so in words
//! rather than failing; only a refusal of a request still waiting is an error.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::{AfterSale, RequestKind, Stage, get, refresh};
use crate::accounts::{ShopRecord, StoreRecord};
use crate::app::App;
use crate::queue::JobError;
use crate::shops::{ShopError, with_shop};
use crate::storage::{StorageError, unix_now};
use crate::tiktok::model::{Approval, PartialRefund, RejectImage, Rejection, ReturnRecord};
use crate::tiktok::types::{Amount, Id, OrderStatus};

/// An approval the merchant can give.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Approve {
    /// Refund a refund-only request (`APPROVE_REFUND`).
    Refund,
    /// Let the buyer send the item back (`APPROVE_RETURN`).
    Return,
    /// Refund and let the buyer keep the item (`APPROVE_RETURN` + `buyer_keep_item`).
    ReturnlessRefund,
    /// The returned parcel arrived: refund (`APPROVE_RECEIVED_PACKAGE`).
    Received,
    /// Send a replacement (`APPROVE_REPLACEMENT`).
    Replacement,
    /// Offer part of the amount (`OFFER_PARTIAL_REFUND`).
    PartialRefund,
    /// Accept a buyer's cancellation request.
    Cancellation,
}

impl Approve {
    /// The button's words.
    pub fn words(self) -> &'static str {
        match self {
            Approve::Refund => "Approve the refund",
            Approve::Return => "Approve the return",
            Approve::ReturnlessRefund => "Refund without a return",
            Approve::Received => "Parcel received: refund",
            Approve::Replacement => "Approve the replacement",
            Approve::PartialRefund => "Offer a partial refund",
            Approve::Cancellation => "Approve the cancellation",
        }
    }

    /// What was done, for the timeline (`Approved the refund`).
    fn done_words(self) -> &'static str {
        match self {
            Approve::Refund => "Approved the refund",
            Approve::Return => "Approved the return",
            Approve::ReturnlessRefund => "Refunded without a return",
            Approve::Received => "Confirmed the parcel received",
            Approve::Replacement => "Approved the replacement",
            Approve::PartialRefund => "Offered a partial refund",
            Approve::Cancellation => "Approved the cancellation",
        }
    }

    /// TikTok's decision (§10.2).
    fn decision(self) -> &'static str {
        match self {
            Approve::Refund => "APPROVE_REFUND",
            Approve::Return | Approve::ReturnlessRefund => "APPROVE_RETURN",
            Approve::Received => "APPROVE_RECEIVED_PACKAGE",
            Approve::Replacement => "APPROVE_REPLACEMENT",
            Approve::PartialRefund => "OFFER_PARTIAL_REFUND",
            Approve::Cancellation => "APPROVE_CANCELLATION",
        }
    }
}

/// An answer to a request.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// An approval; `amount` for [`Approve::PartialRefund`] (in the request's currency).
    Approve(Approve, Option<Decimal>),
    /// A rejection with a reason `name` from TikTok's Get Reject Reasons, a comment and
    /// evidence (images uploaded to TikTok before, at most [`MAX_IMAGES`]).
    Reject {
        /// Reason key.
        reason: String,
        /// The seller's words (at most [`MAX_COMMENT`] characters).
        comment: String,
        /// Evidence.
        images: Vec<RejectImage>,
    },
}

/// Longest rejection comment, in characters.
pub const MAX_COMMENT: usize = 500;
/// Most images sent with a rejection.
pub const MAX_IMAGES: usize = 9;

/// Why an answer was not given.
#[derive(Debug, thiserror::Error)]
pub enum DecisionError {
    /// No such request in this store (the HTTP layer answers 404).
    #[error("no such request")]
    NotFound,
    /// The request's state does not take this answer.
    #[error("{0}")]
    NotAllowed(String),
    /// A value of the answer is out of range.
    #[error("{0}")]
    Invalid(String),
    /// TikTok did not answer; the same answer may be sent again safely.
    #[error("TikTok did not answer ({0}). Try again: the answer is sent once, however often you try.")]
    Unavailable(String),
    /// TikTok refused the answer while the request still waits for one.
    #[error("TikTok refused the answer: {0}")]
    Refused(String),
    /// Storage failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The follow-up job could not be queued, or the re-read failed.
    #[error(transparent)]
    Job(#[from] JobError),
}

/// What an answer came to: the request as TikTok holds it now, and a sentence.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The request after the answer.
    pub record: AfterSale,
    /// What happened, in words.
    pub message: String,
    /// Whether TikTok took the answer (`false`: the request had moved on without it).
    pub sent: bool,
}

/// The seller's step TikTok waits for, if any: its next action, or the one the status
/// implies when TikTok sent none.
fn seller_step(record: &AfterSale) -> Option<&str> {
    if record.stage() != Stage::NeedsAction {
        return None;
    }
    if let Some(next) = &record.next_action {
        return Some(next.action.as_str());
    }
    Some(
        match (record.kind, record.status.as_str(), record.request_type.as_str()) {
            (RequestKind::Cancellation, _, _) => "SELLER_RESPOND_CANCEL",
            (_, "REPLACEMENT_REQUEST_PENDING", _) | (_, _, "REPLACEMENT") => "SELLER_RESPOND_REPLACEMENT",
            (_, "BUYER_SHIPPED_ITEM", _) => "SELLER_RESPOND_RECEIVE_PACKAGE",
            (_, _, "REFUND") => "SELLER_RESPOND_REFUND",
            _ => "SELLER_RESPOND_RETURN",
        },
    )
}

/// The approvals the request takes now (none when nothing waits for the seller).
pub fn approvals(record: &AfterSale) -> Vec<Approve> {
    match seller_step(record) {
        Some("SELLER_RESPOND_REFUND") => vec![Approve::Refund, Approve::PartialRefund],
        Some("SELLER_RESPOND_RETURN") => vec![Approve::Return, Approve::ReturnlessRefund, Approve::PartialRefund],
        Some("SELLER_RESPOND_RECEIVE_PACKAGE") => vec![Approve::Received],
        Some("SELLER_RESPOND_REPLACEMENT") => vec![Approve::Replacement],
        Some("SELLER_RESPOND_CANCEL") => vec![Approve::Cancellation],
        _ => Vec::new(),
    }
}

/// Whether the request can be rejected now, and with which TikTok decision
/// (`Some(None)` for a cancellation, which takes none).
pub fn rejection(record: &AfterSale) -> Option<Option<&'static str>> {
    match seller_step(record)? {
        "SELLER_RESPOND_REFUND" => Some(Some("REJECT_REFUND")),
        "SELLER_RESPOND_RETURN" => Some(Some("REJECT_RETURN")),
        "SELLER_RESPOND_RECEIVE_PACKAGE" => Some(Some("REJECT_RECEIVED_PACKAGE")),
        "SELLER_RESPOND_REPLACEMENT" => Some(Some("REJECT_REPLACEMENT")),
        "SELLER_RESPOND_CANCEL" => Some(None),
        _ => None,
    }
}

/// The reasons TikTok takes for rejecting this request: (`name` to send, label).
pub async fn reject_reasons(
    app: &App,
    store: &StoreRecord,
    record: &AfterSale,
) -> Result<Vec<(String, String)>, DecisionError> {
    let shop = shop_of(app, store, record).await?;
    let tiktok = &app.tiktok;
    let id = Id::from(record.id.as_str());
    let id = &id;
    let reasons = with_shop(app, &shop, |auth| async move { tiktok.reject_reasons(&auth, id).await })
        .await
        .map_err(unavailable)?;
    Ok(reasons.into_iter().map(|r| (r.name, r.text)).collect())
}

/// A return's record on TikTok, with the buyer's photos (empty for cancellations).
pub async fn tiktok_records(
    app: &App,
    store: &StoreRecord,
    record: &AfterSale,
) -> Result<Vec<ReturnRecord>, DecisionError> {
    if record.kind != RequestKind::Return {
        return Ok(Vec::new());
    }
    let shop = shop_of(app, store, record).await?;
    let tiktok = &app.tiktok;
    let id = Id::from(record.id.as_str());
    let id = &id;
    with_shop(app, &shop, |auth| async move { tiktok.return_records(&auth, id).await })
        .await
        .map_err(unavailable)
}

async fn shop_of(app: &App, store: &StoreRecord, record: &AfterSale) -> Result<ShopRecord, DecisionError> {
    crate::accounts::get_shop(app.table.as_ref(), &store.store_id, &record.shop_id)
        .await?
        .ok_or(DecisionError::NotFound)
}

fn unavailable(error: ShopError) -> DecisionError {
    match error {
        ShopError::Storage(storage) => storage.into(),
        other => DecisionError::Unavailable(other.to_string()),
    }
}

/// Checks `answer` against what the request takes now; returns what it is in words.
fn check(record: &AfterSale, answer: &Answer) -> Result<String, DecisionError> {
    let state = record.status_words().to_lowercase();
    match answer {
        Answer::Approve(approve, amount) => {
            if !approvals(record).contains(approve) {
                return Err(DecisionError::NotAllowed(format!(
                    "This request is {state}: \"{}\" is not possible now.",
                    approve.words()
                )));
            }
            if *approve == Approve::PartialRefund {
                let total = record.refund.total;
                if !amount.is_some_and(|a| a > Decimal::ZERO && a < total) {
                    return Err(DecisionError::Invalid(format!(
                        "The partial refund must be more than 0 and less than {total} {}.",
                        record.refund.currency
                    )));
                }
                return Ok(format!(
                    "Partial refund of {} {} offered",
                    amount.unwrap_or_default(),
                    record.refund.currency
                ));
            }
            Ok(approve.done_words().to_string())
        }
        Answer::Reject {
            reason,
            comment,
            images,
        } => {
            if images.len() > MAX_IMAGES {
                return Err(DecisionError::Invalid(format!("Send at most {MAX_IMAGES} images.")));
            }
            if rejection(record).is_none() {
                return Err(DecisionError::NotAllowed(format!(
                    "This request is {state}: it cannot be rejected now."
                )));
            }
            if reason.trim().is_empty() {
                return Err(DecisionError::Invalid("Choose a reason from TikTok's list.".into()));
            }
            if comment.chars().count() > MAX_COMMENT {
                return Err(DecisionError::Invalid(format!(
                    "The comment takes at most {MAX_COMMENT} characters."
                )));
            }
            Ok(format!("Rejected with TikTok's reason {reason:?}"))
        }
    }
}

/// Sends `answer` for request `id` of `store`, by `by` (the merchant, or a rule's
/// name), then reads the request again and queues its job, which carries the result
/// to the store. See the module documentation for refusals.
pub async fn decide(
    app: &App,
    store: &StoreRecord,
    id: &str,
    answer: Answer,
    by: &str,
) -> Result<Outcome, DecisionError> {
    let table = app.table.as_ref();
    let record = get(table, &store.store_id, id).await?.ok_or(DecisionError::NotFound)?;
    let shop = shop_of(app, store, &record).await?;
    let what = check(&record, &answer)?;
    let wording = match &answer {
        Answer::Approve(approve, amount) => format!("{}:{}", approve.decision(), amount.unwrap_or_default()),
        Answer::Reject { reason, .. } => format!("REJECT:{reason}"),
    };
    // The same answer to the request as it is now is the same call; a later answer
    // (after the buyer turned down an offer, say) is a new one.
    let attempt = format!("{}:{}:{}:{}", record.id, record.status, record.updated_at, wording);
    let key = crate::crypto::sha256_hex(attempt.as_bytes())[..32].to_string();
    // A receipt is noted before it is sent: TikTok's refund may reach the job first.
    let receiving = matches!(answer, Answer::Approve(Approve::Received, _));
    if receiving {
        super::update(table, &store.store_id, id, |r| r.effects.received = true).await?;
    }
    let sent = send(app, &shop, &record, &answer, &key).await;
    if receiving && sent.is_err() {
        super::update(table, &store.store_id, id, |r| r.effects.received = false).await?;
    }
    match sent {
        Ok(()) => {
            let record = reread(app, store, &shop, record).await?;
            let record = noted(table, &store.store_id, record, &format!("{what}, by {by}."), None).await?;
            queue_effects(app, store, &record).await?;
            Ok(Outcome {
                record,
                message: format!("{what}."),
                sent: true,
            })
        }
        Err(ShopError::TikTok(error)) if !error.is_retryable() => {
            let before = record.clone();
            let record = reread(app, store, &shop, record).await?;
            let message = if record.stage() == Stage::Arbitration {
                "TikTok's arbitration decides this request now; no answer from you is needed.".to_string()
            } else if record.status != before.status || record.stage() != Stage::NeedsAction {
                format!(
                    "TikTok had already moved on: this request is now {}.",
                    record.status_words().to_lowercase()
                )
            } else if record
                .next_action
                .as_ref()
                .is_some_and(|n| n.deadline > 0 && n.deadline < unix_now())
            {
                "The deadline to answer has passed; TikTok decides this request now.".to_string()
            } else {
                let refused = format!("TikTok refused \"{what}\": {error}");
                noted(table, &store.store_id, record, &refused, Some(refused.clone())).await?;
                return Err(DecisionError::Refused(error.to_string()));
            };
            let text = format!("{what} was not sent: {message}");
            let record = noted(table, &store.store_id, record, &text, None).await?;
            Ok(Outcome {
                record,
                message,
                sent: false,
            })
        }
        Err(error) => Err(unavailable(error)),
    }
}

/// Notes `text` on the stored request's timeline and sets its `problem`; returns it
/// as written (`record` when it is gone).
async fn noted(
    table: &dyn crate::storage::Table,
    store_id: &str,
    record: AfterSale,
    text: &str,
    problem: Option<String>,
) -> Result<AfterSale, StorageError> {
    let written = super::update(table, store_id, &record.id, |stored| {
        stored.note(text);
        stored.problem = problem.clone();
    })
    .await?;
    Ok(written.unwrap_or(record))
}

/// The request read again after an answer (the stored one when TikTok lost it).
async fn reread(
    app: &App,
    store: &StoreRecord,
    shop: &ShopRecord,
    record: AfterSale,
) -> Result<AfterSale, DecisionError> {
    Ok(refresh(app, store, shop, record.kind, &record.id, "after your answer")
        .await?
        .unwrap_or(record))
}

/// The merchant's "try again" after the store refused the refund: clears the refusal
/// and queues the request's job. Errors: [`DecisionError::NotFound`] for another
/// store's id.
pub async fn retry_store(app: &App, store: &StoreRecord, id: &str) -> Result<(), DecisionError> {
    let updated = super::update(app.table.as_ref(), &store.store_id, id, |r| {
        r.effects.refund_refused = false;
        r.problem = None;
        r.note("Store refund tried again, by you.");
    })
    .await?
    .ok_or(DecisionError::NotFound)?;
    queue_effects(app, store, &updated).await?;
    Ok(())
}

/// Queues the request's job, which carries TikTok's outcome to the store.
async fn queue_effects(app: &App, store: &StoreRecord, record: &AfterSale) -> Result<(), JobError> {
    let key = format!("aftersale-{}-decided-{}", record.id, uuid::Uuid::new_v4().simple());
    super::enqueue(
        app,
        &store.store_id,
        (&record.shop_id, &record.order_id, record.kind, &record.id),
        "decision",
        key,
    )
    .await
}

/// The TikTok call of an answer.
async fn send(app: &App, shop: &ShopRecord, record: &AfterSale, answer: &Answer, key: &str) -> Result<(), ShopError> {
    let tiktok = &app.tiktok;
    let id = Id::from(record.id.as_str());
    let id = &id;
    match (record.kind, answer) {
        (RequestKind::Cancellation, Answer::Approve(..)) => {
            with_shop(app, shop, |auth| async move {
                tiktok.approve_cancellation(&auth, id, key).await
            })
            .await
        }
        (RequestKind::Return, Answer::Approve(approve, amount)) => {
            let approval = Approval {
                decision: approve.decision().to_string(),
                buyer_keep_item: (*approve == Approve::ReturnlessRefund).then_some(true),
                partial_refund: amount
                    .filter(|_| *approve == Approve::PartialRefund)
                    .map(|amount| PartialRefund {
                        amount: Amount(amount),
                        currency: record.refund.currency.clone(),
                    }),
            };
            let approval = &approval;
            with_shop(app, shop, |auth| async move {
                tiktok.approve_return(&auth, id, approval, key).await
            })
            .await
        }
        (
            kind,
            Answer::Reject {
                reason,
                comment,
                images,
            },
        ) => {
            let rejection_of = Rejection {
                decision: rejection(record).flatten().map(str::to_string),
                reject_reason: reason.clone(),
                comment: comment.clone(),
                images: images.clone(),
            };
            let rejection_of = &rejection_of;
            with_shop(app, shop, |auth| async move {
                match kind {
                    RequestKind::Return => tiktok.reject_return(&auth, id, rejection_of, key).await,
                    RequestKind::Cancellation => tiktok.reject_cancellation(&auth, id, rejection_of, key).await,
                }
            })
            .await
        }
    }
}

/// Applies the shop's automatic rules to a request waiting for the seller: each
/// automatic answer is noted on the timeline and logged with the rule that gave it.
/// Returns the request as it is afterwards.
///
/// Errors: only a retryable TikTok failure (the job runs again); a refusal is kept on
/// the record and the merchant answers instead.
pub async fn apply_rules(
    app: &App,
    store: &StoreRecord,
    shop: &ShopRecord,
    record: AfterSale,
) -> Result<AfterSale, JobError> {
    let rules = &shop.after_sale_rules;
    let rule = match seller_step(&record) {
        Some("SELLER_RESPOND_REFUND") if record.request_type == "REFUND" => rules
            .refund_only_under
            .filter(|limit| record.refund.total < *limit && record.refund.currency == shop.currency)
            .map(|limit| {
                (
                    Approve::Refund,
                    format!("approve refund-only requests under {limit} {}", shop.currency),
                )
            }),
        Some("SELLER_RESPOND_CANCEL") if rules.approve_unshipped_cancellations => {
            let order = crate::orders::fetch_order(app, shop, &record.order_id).await?;
            let mut unshipped = order.is_some_and(|o| {
                matches!(
                    o.status,
                    OrderStatus::Unpaid | OrderStatus::OnHold | OrderStatus::AwaitingShipment
                )
            });
            // Packed or shipped in the store counts as shipped, whatever TikTok says yet.
            if let (true, Some(store_order)) = (unshipped, &record.store_order_id) {
                let platform = crate::platforms::open(app, store).map_err(|e| JobError::Retryable(e.to_string()))?;
                let platform = platform.as_ref();
                unshipped = platform.shipments(store_order).await?.is_empty();
            }
            unshipped.then(|| {
                (
                    Approve::Cancellation,
                    "approve buyer cancellations of orders not yet shipped".to_string(),
                )
            })
        }
        _ => None,
    };
    let Some((approve, rule)) = rule else {
        return Ok(record);
    };
    let by = format!("the automatic rule \"{rule}\"");
    match decide(app, store, &record.id, Answer::Approve(approve, None), &by).await {
        Ok(outcome) => {
            tracing::info!(request = %record.id, rule = %rule, outcome = %outcome.message, "automatic after-sales answer");
            Ok(outcome.record)
        }
        Err(DecisionError::Unavailable(error)) => Err(JobError::Retryable(error)),
        Err(DecisionError::Storage(error)) => Err(error.into()),
        Err(DecisionError::Job(error)) => Err(error),
        Err(error) => {
            tracing::warn!(request = %record.id, rule = %rule, %error, "automatic after-sales answer not given");
            Ok(get(app.table.as_ref(), &store.store_id, &record.id)
                .await?
                .unwrap_or(record))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::returns::{Effects, Money};
    use crate::rules::returns::AutoRules;
    use crate::tiktok::model::NextAction;

    fn request(kind: RequestKind, request_type: &str, status: &str, action: Option<&str>) -> AfterSale {
        AfterSale {
            kind,
            id: "1".into(),
            shop_id: "s".into(),
            order_id: "o".into(),
            store_order_id: None,
            request_type: request_type.into(),
            status: status.into(),
            role: "BUYER".into(),
            reason: String::new(),
            arbitration_status: String::new(),
            next_action: action.map(|a| NextAction {
                action: a.into(),
                deadline: 0,
            }),
            refund: Money {
                currency: "USD".into(),
                total: Decimal::new(2000, 2),
                ..Money::default()
            },
            partial_refund: None,
            lines: Vec::new(),
            tracking_number: String::new(),
            shipped_back: false,
            created_at: 0,
            updated_at: 0,
            effects: Effects::default(),
            problem: None,
            timeline: Vec::new(),
        }
    }

    #[test]
    fn each_step_offers_only_the_answers_tiktok_takes() {
        let refund = request(
            RequestKind::Return,
            "REFUND",
            "RETURN_OR_REFUND_REQUEST_PENDING",
            Some("SELLER_RESPOND_REFUND"),
        );
        assert_eq!(approvals(&refund), [Approve::Refund, Approve::PartialRefund]);
        assert_eq!(rejection(&refund), Some(Some("REJECT_REFUND")));
        let shipped = request(
            RequestKind::Return,
            "RETURN_AND_REFUND",
            "BUYER_SHIPPED_ITEM",
            Some("SELLER_RESPOND_RECEIVE_PACKAGE"),
        );
        assert_eq!(approvals(&shipped), [Approve::Received]);
        assert_eq!(rejection(&shipped), Some(Some("REJECT_RECEIVED_PACKAGE")));
        let waiting = request(RequestKind::Return, "RETURN_AND_REFUND", "AWAITING_BUYER_SHIP", None);
        assert!(approvals(&waiting).is_empty());
        assert_eq!(rejection(&waiting), None);
        let cancel = request(
            RequestKind::Cancellation,
            "BUYER_CANCEL",
            "CANCELLATION_REQUEST_PENDING",
            None,
        );
        assert_eq!(approvals(&cancel), [Approve::Cancellation]);
        assert_eq!(rejection(&cancel), Some(None));
    }

    #[test]
    fn out_of_range_answers_are_refused_in_words() {
        let refund = request(
            RequestKind::Return,
            "REFUND",
            "RETURN_OR_REFUND_REQUEST_PENDING",
            Some("SELLER_RESPOND_REFUND"),
        );
        for amount in [
            None,
            Some(Decimal::ZERO),
            Some(Decimal::new(2000, 2)),
            Some(Decimal::new(-1, 0)),
        ] {
            let error = check(&refund, &Answer::Approve(Approve::PartialRefund, amount)).unwrap_err();
            assert_eq!(
                error.to_string(),
                "The partial refund must be more than 0 and less than 20.00 USD."
            );
        }
        assert!(
            check(
                &refund,
                &Answer::Approve(Approve::PartialRefund, Some(Decimal::new(500, 2)))
            )
            .is_ok()
        );
        let error = check(&refund, &Answer::Approve(Approve::Received, None)).unwrap_err();
        assert!(matches!(error, DecisionError::NotAllowed(_)), "{error}");
        let error = check(
            &refund,
            &Answer::Reject {
                reason: " ".into(),
                comment: String::new(),
                images: Vec::new(),
            },
        )
        .unwrap_err();
        assert_eq!(error.to_string(), "Choose a reason from TikTok's list.");
        assert!(
            AutoRules {
                refund_only_under: Some(Decimal::ZERO),
                ..AutoRules::default()
            }
            .validate()
            .is_err()
        );
    }
}
