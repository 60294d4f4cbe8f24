//! Product barcodes on TikTok: which store field holds a variant's GTIN, and the
//! `identifier_code` TikTok takes for it (reference §6.5: GTIN 14 digits, EAN 8, 13 or
//! 14, UPC 12, ISBN 13; unique per SKU). A code is checked before upload (digits, length
//! and the GS1 check digit), so a wrong barcode is a readable reason on the product, not
//! a refused upload.

use serde::{Deserialize, Serialize};

use crate::store::{Product, Variant};
use crate::tiktok::model::IdentifierCode;

/// Where a variant's barcode comes from in the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GtinSource {
    /// No barcode is sent.
    #[default]
    None,
    /// The variant's UPC/EAN field (else the product's).
    Upc,
    /// The variant's GTIN field (else the product's).
    Gtin,
}

impl GtinSource {
    /// Every source with the merchant's words, in the order the configuration offers them.
    pub const ALL: [(GtinSource, &'static str); 3] = [
        (GtinSource::None, "Send no barcode"),
        (GtinSource::Upc, "The store's UPC/EAN field"),
        (GtinSource::Gtin, "The store's GTIN field"),
    ];
}

/// The barcode rule of a store: where codes come from, and whether its products are
/// exempt from GTINs on TikTok (an exemption TikTok granted the seller: no code is sent).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct GtinRule {
    /// The store field read.
    pub source: GtinSource,
    /// The products are GTIN-exempt on TikTok: send none.
    pub exempt: bool,
}

impl GtinRule {
    /// The code a variant lists with: `Ok(None)` when none is sent (no source, exempt, or
    /// the field is empty). Errors: why the code in the field is not one TikTok takes.
    pub fn code_of(&self, product: &Product, variant: &Variant) -> Result<Option<IdentifierCode>, String> {
        let field = match self.source {
            _ if self.exempt => None,
            GtinSource::None => None,
            GtinSource::Upc => variant.upc.as_ref().or(product.upc.as_ref()),
            GtinSource::Gtin => variant.gtin.as_ref().or(product.gtin.as_ref()),
        };
        match field.map(|code| code.trim()).filter(|code| !code.is_empty()) {
            None => Ok(None),
            Some(code) => identifier_code(code).map(Some),
        }
    }
}

/// The `identifier_code` of a barcode: its type from its length (8 → EAN, 12 → UPC,
/// 13 → ISBN when it starts 978/979, else EAN, 14 → GTIN). Errors: the merchant's
/// reason when it is not digits of one of those lengths, or its check digit is wrong.
pub fn identifier_code(code: &str) -> Result<IdentifierCode, String> {
    if !code.chars().all(|c| c.is_ascii_digit()) {
        return Err(format!("The barcode “{code}” holds other characters than digits."));
    }
    let kind = match code.len() {
        8 => "EAN",
        12 => "UPC",
        13 if code.starts_with("978") || code.starts_with("979") => "ISBN",
        13 => "EAN",
        14 => "GTIN",
        other => {
            return Err(format!(
                "The barcode “{code}” has {other} digits; TikTok takes 8, 12, 13 or 14."
            ));
        }
    };
    if !check_digit_holds(code) {
        return Err(format!("The barcode “{code}” has a wrong check digit."));
    }
    Ok(IdentifierCode {
        kind: kind.to_string(),
        code: code.to_string(),
    })
}

/// GS1's mod-10 check: from the right, the check digit, then weights 3, 1, 3, …
fn check_digit_holds(code: &str) -> bool {
    let digits: Vec<u32> = code.chars().filter_map(|c| c.to_digit(10)).collect();
    let Some((check, body)) = digits.split_last() else {
        return false;
    };
    let sum: u32 = body
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| if i % 2 == 0 { d * 3 } else { *d })
        .sum();
    (10 - sum % 10) % 10 == *check
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_typed_by_length_and_checked_by_their_check_digit() {
        let kind = |code: &str| identifier_code(code).map(|c| c.kind);
        assert_eq!(kind("036000291452").as_deref(), Ok("UPC"));
        assert_eq!(kind("4006381333931").as_deref(), Ok("EAN"));
        assert_eq!(kind("9780306406157").as_deref(), Ok("ISBN"));
        assert_eq!(kind("96385074").as_deref(), Ok("EAN"));
        assert_eq!(kind("10036000291459").as_deref(), Ok("GTIN"));
        assert!(kind("036000291453").unwrap_err().contains("check digit"));
        assert!(kind("03600029145").unwrap_err().contains("11 digits"));
        assert!(kind("0360-0029145").unwrap_err().contains("other characters"));
    }
}
