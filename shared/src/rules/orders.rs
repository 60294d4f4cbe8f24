//! The merchant's order rules: the status store orders take at each TikTok status,
//! the unit price their lines carry, the reason TikTok is given when the merchant
//! cancels in the store, and how often a failing order is retried. Values and their
//! checks only; [`crate::orders`] applies them.

use serde::{Deserialize, Serialize};

use crate::store::OrderStatus as StoreStatus;
use crate::tiktok::types::OrderStatus;

/// Automatic retries of an order in *Error* before it is parked, unless the merchant
/// sets another number.
pub const DEFAULT_RETRIES: u32 = 3;

/// The unit price store order lines carry (TikTok: `sale_price = original_price −
/// seller_discount − platform_discount`; platform discounts are TikTok-funded).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemPrice {
    /// What the buyer paid (after every discount).
    #[default]
    BuyerPaid,
    /// The seller's price: what the buyer paid plus TikTok's platform discount.
    SellerPrice,
}

/// The store status an order takes at each TikTok status (`None`: the store order is
/// left as it is, e.g. because the store itself moves it when the merchant ships).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct StatusMapping {
    /// AWAITING_SHIPMENT: the status new store orders are created in.
    pub awaiting_shipment: StoreStatus,
    /// AWAITING_COLLECTION (also the creation status of orders imported at it).
    pub awaiting_collection: Option<StoreStatus>,
    /// IN_TRANSIT.
    pub in_transit: Option<StoreStatus>,
    /// DELIVERED.
    pub delivered: Option<StoreStatus>,
    /// COMPLETED.
    pub completed: Option<StoreStatus>,
}

impl Default for StatusMapping {
    fn default() -> Self {
        Self {
            awaiting_shipment: StoreStatus::AwaitingFulfillment,
            awaiting_collection: None,
            in_transit: None,
            delivered: Some(StoreStatus::Completed),
            completed: Some(StoreStatus::Completed),
        }
    }
}

impl StatusMapping {
    /// The store status for a TikTok status, when the merchant mapped one.
    pub fn target(&self, status: &OrderStatus) -> Option<StoreStatus> {
        match status {
            OrderStatus::AwaitingShipment => Some(self.awaiting_shipment.clone()),
            OrderStatus::AwaitingCollection => self.awaiting_collection.clone(),
            OrderStatus::InTransit => self.in_transit.clone(),
            OrderStatus::Delivered => self.delivered.clone(),
            OrderStatus::Completed => self.completed.clone(),
            _ => None,
        }
    }

    /// The status a new store order is created in.
    pub fn creation_status(&self, status: &OrderStatus) -> StoreStatus {
        self.target(status).unwrap_or_else(|| self.awaiting_shipment.clone())
    }

    /// Why the mapping cannot be saved: cancelled and refunded come from their own
    /// flows (cancellations, returns), never from a status change.
    pub fn problem(&self) -> Option<String> {
        let targets = [
            Some(&self.awaiting_shipment),
            self.awaiting_collection.as_ref(),
            self.in_transit.as_ref(),
            self.delivered.as_ref(),
            self.completed.as_ref(),
        ];
        targets.into_iter().flatten().find_map(|target| match target {
            StoreStatus::Cancelled | StoreStatus::Refunded | StoreStatus::Other(_) => Some(format!(
                "{target:?} cannot be mapped to a TikTok status; cancellations and refunds follow their own settings."
            )),
            _ => None,
        })
    }
}

/// The reason TikTok is given when the merchant cancels a TikTok order in the store
/// (TikTok's US seller reasons for paid orders; reference §10.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum CancelReason {
    /// Out of stock.
    #[default]
    #[serde(rename = "seller_cancel_reason_out_of_stock")]
    OutOfStock,
    /// The price was wrong.
    #[serde(rename = "seller_cancel_reason_wrong_price")]
    WrongPrice,
    /// The address cannot be delivered to.
    #[serde(rename = "seller_cancel_paid_reason_address_not_deliver")]
    AddressNotDeliverable,
    /// The buyer asked to cancel.
    #[serde(rename = "seller_cancel_paid_reason_buyer_requested_cancellation")]
    BuyerRequested,
}

impl CancelReason {
    /// Every reason with the words the settings page shows.
    pub const ALL: [(CancelReason, &'static str); 4] = [
        (CancelReason::OutOfStock, "Out of stock"),
        (CancelReason::WrongPrice, "Wrong price"),
        (CancelReason::AddressNotDeliverable, "Address cannot be delivered to"),
        (CancelReason::BuyerRequested, "Buyer asked to cancel"),
    ];

    /// The merchant's words for the reason.
    pub fn words(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(reason, _)| *reason == self)
            .map_or("", |(_, words)| words)
    }

    /// TikTok's key for the reason.
    pub const fn key(self) -> &'static str {
        match self {
            CancelReason::OutOfStock => "seller_cancel_reason_out_of_stock",
            CancelReason::WrongPrice => "seller_cancel_reason_wrong_price",
            CancelReason::AddressNotDeliverable => "seller_cancel_paid_reason_address_not_deliver",
            CancelReason::BuyerRequested => "seller_cancel_paid_reason_buyer_requested_cancellation",
        }
    }
}
