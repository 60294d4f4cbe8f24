//! The catalogue: store products, profiles, listings on TikTok and their mappings.

pub mod browse;
pub mod reconcile;
pub mod records;
pub mod sync;
