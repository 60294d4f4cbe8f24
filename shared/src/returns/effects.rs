//! What a decided request does in the store, each step once (store settings
//! `refund_in_store` and `restock_returns`):
//!
//! 1. **Refund.** When TikTok refunded the buyer, the refund is recorded on the store
//!    order (the store is asked what it allows first: see
//!    [`crate::store::StorePlatform::refund_order`]). The number of refunds the order
//!    had is saved before, so a retry after a lost answer finds the refund instead of
//!    making a second one.
//! 2. **Status.** The store order becomes *Refunded* when its refunds cover its total,
//!    else *Partially Refunded*.
//! 3. **Stock.** Only what physically came back goes back: the units of a return the
//!    seller received. A store that puts every unit of a refunded order back by itself
//!    (a store setting) is corrected for the units that never came back. The
//!    adjustment is sent at most once: after a crash mid-way the merchant is told to
//!    check the stock instead of risking counting it twice.
//!
//! An approved buyer cancellation re-syncs the order, whose cancellation the order
//! flow carries to the store once ([`crate::orders::sync_order`]).

use std::collections::BTreeMap;

use rust_decimal::Decimal;

use super::{AfterSale, RequestKind, Restock, Stage, save_effects};
use crate::accounts::{ShopRecord, StoreRecord};
use crate::app::App;
use crate::catalog::records;
use crate::queue::JobError;
use crate::store::{NewRefund, OrderStatus, StockChange, StorePlatform};

/// Carries `record`'s outcome to the store (see the module documentation).
///
/// Errors: retryable store or TikTok failures (the job runs again, each step once);
/// [`JobError::NeedsMerchant`] when the store refused the refund, with its reason also
/// kept on the record.
pub async fn apply(app: &App, store: &StoreRecord, shop: &ShopRecord, mut record: AfterSale) -> Result<(), JobError> {
    match record.kind {
        RequestKind::Cancellation => {
            if record.cancelled() && !record.effects.store_cancelled {
                crate::orders::sync_order(app, store, &shop.shop_id, &record.order_id).await?;
                record.effects.store_cancelled = true;
                record.note("TikTok cancelled the order; the store order follows the order settings.");
                save_effects(app.table.as_ref(), &store.store_id, &record).await?;
            }
            Ok(())
        }
        RequestKind::Return => {
            if !record.refunded() && record.stage() != Stage::Completed {
                return Ok(());
            }
            let platform = crate::platforms::open(app, store).map_err(|e| JobError::Retryable(e.to_string()))?;
            let platform = platform.as_ref();
            if record.refunded() {
                refund(app, store, platform, &mut record).await?;
            }
            restock(app, store, shop, platform, &mut record).await
        }
    }
}

/// Steps 1 and 2: the refund on the store order and its status.
async fn refund(
    app: &App,
    store: &StoreRecord,
    platform: &dyn StorePlatform,
    record: &mut AfterSale,
) -> Result<(), JobError> {
    let table = app.table.as_ref();
    if !store.settings.refund_in_store
        || record.effects.status_set
        || record.effects.refund_refused
        || record.refund.total <= Decimal::ZERO
    {
        return Ok(());
    }
    let Some(store_order) = record.store_order_id.clone() else {
        let problem = format!(
            "TikTok order {} has no store order, so the refund was not recorded in the store.",
            record.order_id
        );
        if record.problem.as_deref() != Some(problem.as_str()) {
            record.problem = Some(problem);
            save_effects(table, &store.store_id, record).await?;
        }
        return Ok(());
    };
    if record.effects.refund_id.is_none() {
        let existing = platform.refunds(&store_order).await?;
        // Created by an earlier attempt whose answer was lost: the first refund after the
        // ones the order had, of this amount.
        let lost = record.effects.refunds_before.and_then(|before| {
            existing
                .iter()
                .skip(before)
                .find(|r| r.amount == record.refund.total.round_dp(2))
        });
        match lost {
            Some(made) => record.effects.refund_id = Some(made.id.clone()),
            _ => {
                record.effects.refunds_before = Some(existing.len());
                save_effects(table, &store.store_id, record).await?;
                let asked = NewRefund {
                    amount: record.refund.total,
                    reason: format!("TikTok return {}", record.id),
                };
                match platform.refund_order(&store_order, &asked).await {
                    Ok(made) => record.effects.refund_id = Some(made.id),
                    Err(error) if error.is_retryable() => return Err(error.into()),
                    Err(error) => {
                        let problem = format!(
                            "The store refused the refund of {} {} on order {store_order}: {error}. Record it in the store by hand, or try again from this page.",
                            record.refund.total, record.refund.currency
                        );
                        record.effects.refund_refused = true;
                        record.problem = Some(problem.clone());
                        record.note(problem.clone());
                        save_effects(table, &store.store_id, record).await?;
                        return Err(JobError::NeedsMerchant(problem));
                    }
                }
            }
        }
        record.note(format!(
            "Refund of {} {} recorded on store order {store_order}.",
            record.refund.total, record.refund.currency
        ));
        record.problem = None;
        save_effects(table, &store.store_id, record).await?;
    }
    let refunded: Decimal = platform.refunds(&store_order).await?.iter().map(|r| r.amount).sum();
    let total = platform
        .find_order_by_external_id(&record.order_id)
        .await?
        .filter(|o| o.id == store_order)
        .map(|o| o.total_inc_tax)
        .ok_or_else(|| JobError::Retryable(format!("store order {store_order} is not readable yet")))?;
    let status = if refunded >= total {
        OrderStatus::Refunded
    } else {
        OrderStatus::PartiallyRefunded
    };
    // Kept before the change, so the store's echo of it is known as the connector's own.
    if record.effects.store_status.is_none() {
        record.effects.store_restocked = status == OrderStatus::Refunded && platform.restocks_on_refund().await?;
        record.effects.store_status = Some(status.clone());
        save_effects(table, &store.store_id, record).await?;
    }
    platform.update_order_status(&store_order, &status).await?;
    record.effects.status_set = true;
    let words = if status == OrderStatus::Refunded {
        "Refunded"
    } else {
        "Partially Refunded"
    };
    record.note(format!("Store order {store_order} marked {words}."));
    save_effects(table, &store.store_id, record).await?;
    Ok(())
}

/// Units per TikTok SKU: what came back, less what the store put back by itself.
async fn stock_moves(
    app: &App,
    store: &StoreRecord,
    shop: &ShopRecord,
    record: &AfterSale,
) -> Result<BTreeMap<String, i64>, JobError> {
    let mut moves: BTreeMap<String, i64> = BTreeMap::new();
    // Only what the seller confirmed receiving goes back, once TikTok refunded it.
    if record.effects.received && record.refunded() && store.settings.restock_returns {
        for line in &record.lines {
            *moves.entry(line.sku_id.clone()).or_default() += 1;
        }
    }
    if record.effects.store_restocked {
        let order = crate::orders::fetch_order(app, shop, &record.order_id).await?;
        for line in order.iter().flat_map(|o| &o.line_items) {
            *moves.entry(line.sku_id.to_string()).or_default() -= 1;
        }
    }
    moves.retain(|_, units| *units != 0);
    Ok(moves)
}

/// Step 3: stock, at most once.
async fn restock(
    app: &App,
    store: &StoreRecord,
    shop: &ShopRecord,
    platform: &dyn StorePlatform,
    record: &mut AfterSale,
) -> Result<(), JobError> {
    let table = app.table.as_ref();
    if record.effects.restock == Restock::Started {
        // A crash between sending the adjustment and noting its answer: never again.
        let problem = "The stock adjustment for this return was sent but its answer was lost. Check the stock of its items in the store; the connector does not send it again, to never count it twice.";
        if record.problem.as_deref() != Some(problem) {
            record.problem = Some(problem.to_string());
            save_effects(table, &store.store_id, record).await?;
        }
        return Ok(());
    }
    // Due once TikTok refunded (or otherwise closed) the request and the store's status
    // is set, so what the store itself put back is known.
    let refund_pending = store.settings.refund_in_store
        && record.refund.total > Decimal::ZERO
        && !record.effects.status_set
        && !record.effects.refund_refused;
    if record.effects.restock != Restock::NotYet || record.stage() != Stage::Completed || refund_pending {
        return Ok(());
    }
    if record.shipped_back && !record.effects.received && record.refunded() {
        record.note(
            "TikTok refunded this return without your receipt in the connector (accepted in Seller Center, or by TikTok at the deadline): its items were not put back in stock. Adjust the stock in the store if they arrived.",
        );
    }
    let moves = stock_moves(app, store, shop, record).await?;
    let mut changes = Vec::new();
    let mut unlinked = Vec::new();
    for (sku_id, delta) in &moves {
        match records::variant_of_sku(table, &store.store_id, &shop.shop_id, sku_id).await? {
            Some((variant_id, product_id)) => changes.push(StockChange {
                product_id,
                variant_id,
                delta: *delta,
            }),
            None => unlinked.push(sku_id.clone()),
        }
    }
    if !unlinked.is_empty() {
        record.problem = Some(format!(
            "TikTok SKU(s) {} are not linked to store products: adjust their stock by hand.",
            unlinked.join(", ")
        ));
    }
    if changes.is_empty() {
        record.effects.restock = Restock::Done;
        save_effects(table, &store.store_id, record).await?;
        return Ok(());
    }
    record.effects.restock = Restock::Started;
    save_effects(table, &store.store_id, record).await?;
    let described = changes
        .iter()
        .map(|c| format!("{:+} × variant {}", c.delta, c.variant_id))
        .collect::<Vec<_>>()
        .join(", ");
    match platform
        .adjust_stock(&changes, &format!("TikTok return {}", record.id))
        .await
    {
        Ok(()) => {
            record.effects.restock = Restock::Done;
            record.effects.restocked = described.clone();
            record.note(format!("Stock adjusted in the store: {described}."));
        }
        Err(error) => {
            let problem = format!(
                "The stock of the returned items could not be adjusted ({described}): {error}. Check it in the store; the connector does not try again, to never count it twice."
            );
            record.problem = Some(problem.clone());
            record.note(problem);
        }
    }
    save_effects(table, &store.store_id, record).await?;
    Ok(())
}
