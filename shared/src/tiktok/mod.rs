//! TikTok Shop: request signing, webhook verification, the Open API client and its
//! wire types (`../shared/reference/tiktok-shop-api.md` is the contract).

pub mod client;
pub mod error;
pub mod limiter;
pub mod model;
pub mod signing;
pub mod types;
pub mod webhook;

pub use client::{Client, ClientConfig, Grant, ShopAuth, TokenKeeper, Tokens};
pub use error::TikTokError;
