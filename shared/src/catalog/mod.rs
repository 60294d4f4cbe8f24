//! The catalogue: store products, profiles, listings on TikTok and their mappings.

pub mod rules;
