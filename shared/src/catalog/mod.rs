//! The catalogue: store products, profiles, listings on TikTok and their mappings.

pub mod records;
pub mod rules;
pub mod sync;
