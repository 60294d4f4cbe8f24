//! The merchant's rules: the value types of the settings (what is synced, how prices
//! and stock are published, which barcode is sent, how orders and after-sales requests
//! are treated) and the pure functions that apply them. No storage and no network:
//! they sit below the records that hold them ([`crate::accounts`]) and the flows that
//! apply them ([`crate::catalog`], [`crate::orders`], [`crate::returns`]).

pub mod catalog;
pub mod gtin;
pub mod orders;
pub mod returns;
