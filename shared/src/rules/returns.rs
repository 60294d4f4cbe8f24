//! The merchant's after-sales rules: the answers a shop gives buyers' requests on
//! its own. Values and their checks only; [`crate::returns`] applies them.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::catalog::SettingError;

/// A shop's automatic answers (off by default), kept on the shop.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AutoRules {
    /// Approve refund-only requests whose refund is below this amount, in the shop's
    /// currency (0 to [`MAX_AUTO_REFUND`]); `None` = off.
    #[serde(default)]
    pub refund_only_under: Option<Decimal>,
    /// Approve buyer cancellation requests of orders not yet shipped.
    #[serde(default)]
    pub approve_unshipped_cancellations: bool,
}

/// Highest amount under which refund-only requests can be approved automatically.
pub const MAX_AUTO_REFUND: Decimal = Decimal::from_parts(10_000, 0, 0, false, 0);

impl AutoRules {
    /// Checks the ranges. Errors: the field and its rule, in words.
    pub fn validate(&self) -> Result<(), SettingError> {
        match self.refund_only_under {
            Some(limit) if limit <= Decimal::ZERO || limit > MAX_AUTO_REFUND => Err(SettingError::Invalid {
                field: "refund_only_under".into(),
                rule: format!("must be more than 0 and at most {MAX_AUTO_REFUND}"),
            }),
            _ => Ok(()),
        }
    }
}
