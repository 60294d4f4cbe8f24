//! Wire types shared by TikTok requests and responses: ids that may arrive as JSON
//! strings or numbers (never through f64), decimal money, and enums that keep values
//! this build does not know.

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A TikTok id (order, product, SKU, shop, …): a string on the wire, but some webhook
/// payloads send 19-digit JSON numbers, which are read as integers, never floats.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Id(String);

impl Id {
    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<&str> for Id {
    fn from(value: &str) -> Self {
        Self(value.to_string())
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Id {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct IdVisitor;
        impl Visitor<'_> for IdVisitor {
            type Value = Id;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an id as a string or an integer")
            }
            fn visit_str<E: de::Error>(self, value: &str) -> Result<Id, E> {
                Ok(Id(value.to_string()))
            }
            fn visit_u64<E: de::Error>(self, value: u64) -> Result<Id, E> {
                Ok(Id(value.to_string()))
            }
            fn visit_i64<E: de::Error>(self, value: i64) -> Result<Id, E> {
                Ok(Id(value.to_string()))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Id, E> {
                Err(E::custom("an id must not be a fractional or out-of-range number"))
            }
        }
        deserializer.deserialize_any(IdVisitor)
    }
}

/// A money amount: a decimal string on the wire (`"12.99"`), exact in memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Amount(pub Decimal);

impl Serialize for Amount {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Amount {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        let text = if text.trim().is_empty() { "0" } else { text.trim() };
        Decimal::from_str(text)
            .map(Amount)
            .map_err(|e| de::Error::custom(format!("amount {text:?}: {e}")))
    }
}

/// An amount with its ISO 4217 currency.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Price {
    /// The amount.
    pub amount: Amount,
    /// ISO 4217 code.
    pub currency: String,
}

/// Order status. The webhook spells cancelled `CANCEL`, the API `CANCELLED`: both map
/// to [`OrderStatus::Cancelled`]; unknown values are kept in [`OrderStatus::Other`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum OrderStatus {
    /// Placed, not paid.
    Unpaid,
    /// Paid, inside the buyer's remorse window.
    OnHold,
    /// Paid and ready to ship: the moment to create the store order.
    AwaitingShipment,
    /// Some packages shipped.
    PartiallyShipping,
    /// Shipment arranged, waiting for pickup.
    AwaitingCollection,
    /// With the carrier.
    InTransit,
    /// Delivered.
    Delivered,
    /// Closed, no more returns.
    Completed,
    /// Cancelled.
    Cancelled,
    /// A value this build does not know.
    Other(String),
}

impl OrderStatus {
    /// The API spelling.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Unpaid => "UNPAID",
            Self::OnHold => "ON_HOLD",
            Self::AwaitingShipment => "AWAITING_SHIPMENT",
            Self::PartiallyShipping => "PARTIALLY_SHIPPING",
            Self::AwaitingCollection => "AWAITING_COLLECTION",
            Self::InTransit => "IN_TRANSIT",
            Self::Delivered => "DELIVERED",
            Self::Completed => "COMPLETED",
            Self::Cancelled => "CANCELLED",
            Self::Other(value) => value,
        }
    }
}

impl From<&str> for OrderStatus {
    fn from(value: &str) -> Self {
        match value {
            "UNPAID" => Self::Unpaid,
            "ON_HOLD" => Self::OnHold,
            "AWAITING_SHIPMENT" => Self::AwaitingShipment,
            "PARTIALLY_SHIPPING" => Self::PartiallyShipping,
            "AWAITING_COLLECTION" => Self::AwaitingCollection,
            "IN_TRANSIT" => Self::InTransit,
            "DELIVERED" => Self::Delivered,
            "COMPLETED" => Self::Completed,
            "CANCELLED" | "CANCEL" => Self::Cancelled,
            other => Self::Other(other.to_string()),
        }
    }
}

impl Serialize for OrderStatus {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for OrderStatus {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Self::from(String::deserialize(deserializer)?.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nineteen_digit_numeric_ids_keep_every_digit() {
        let id: Id = serde_json::from_str("576486316948490001").unwrap();
        assert_eq!(id.as_str(), "576486316948490001");
        let id: Id = serde_json::from_str("7494049642642441621").unwrap();
        assert_eq!(id.as_str(), "7494049642642441621");
        let id: Id = serde_json::from_value(json!("1729592969712207008")).unwrap();
        assert_eq!(id.as_str(), "1729592969712207008");
        assert!(serde_json::from_str::<Id>("1.5").is_err());
        assert!(
            serde_json::from_str::<Id>("99999999999999999999999").is_err(),
            "beyond u64 would need a float"
        );
    }

    #[test]
    fn money_is_exact_decimal() {
        let price: Price = serde_json::from_value(json!({"amount": "19.99", "currency": "USD"})).unwrap();
        assert_eq!(price.amount.0, Decimal::new(1999, 2));
        let sum = Amount(price.amount.0 * Decimal::from(3));
        assert_eq!(serde_json::to_value(sum).unwrap(), json!("59.97"));
        assert!(serde_json::from_value::<Amount>(json!("12,99")).is_err());
        assert_eq!(serde_json::from_value::<Amount>(json!("")).unwrap(), Amount::default());
    }

    #[test]
    fn cancel_and_cancelled_are_one_status_and_unknown_values_are_kept() {
        let statuses: Vec<OrderStatus> =
            serde_json::from_value(json!(["CANCEL", "CANCELLED", "AWAITING_SHIPMENT", "NEW_THING"])).unwrap();
        assert_eq!(statuses[0], OrderStatus::Cancelled);
        assert_eq!(statuses[1], OrderStatus::Cancelled);
        assert_eq!(statuses[2], OrderStatus::AwaitingShipment);
        assert_eq!(statuses[3], OrderStatus::Other("NEW_THING".into()));
        assert_eq!(serde_json::to_value(&statuses[3]).unwrap(), json!("NEW_THING"));
    }
}
