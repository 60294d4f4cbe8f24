//! The store-platform conformance suite: one set of checks, written once over the
//! `connector::store::StorePlatform` trait, that every adapter must pass against its
//! platform's sandbox. Each check is its own `#[tokio::test]` with its own sandbox on a
//! free port, so a failure names what broke:
//!
//! - paging through a catalogue of 10,000 products (seeded through the sandbox's
//!   configuration; about 6 s in a debug build), every product exactly once, oldest
//!   change first;
//! - variants and options as the store holds them;
//! - stock read and written at each location;
//! - change detection: an edit, a stock change, a storefront sale and a deletion each
//!   seen once after de-duplication (webhook deliveries on webhook platforms, sent
//!   twice each; `changes()` on polling ones), and a missed window recovered by
//!   `changes()` from an earlier cursor, overlapping polls folding by `dedupe_key`;
//! - orders: created exactly once when the answer of the create is lost, found by
//!   external id, moved through statuses, shipped with tracking, cancelled (restocked
//!   per the store's setting), refunded (partial refunds refused as `Invalid` where the
//!   platform has none);
//! - error mapping: revoked credentials `Unauthorized`, unknown ids `Ok(None)` or
//!   `NotFound`, a refused write `Invalid` with the store's words, 429 waited out or
//!   `RateLimited`, 5xx retried or `Unavailable`.
//!
//! Checks honour `capabilities()`: the change feed decides where changes are looked
//! for, `partial_refunds` decides whether a partial refund must succeed or be refused.
//! They assert what the sandbox holds (through `SandboxStore`), not the adapter's word.
//!
//! # Plugging in a platform
//!
//! A new platform (Magento 2, PrestaShop, …) reuses `conformance/suite.rs` unchanged:
//!
//! 1. Write `conformance/<platform>.rs` with a `start(Setup) -> Bench` function (see
//!    `suite::Start`) that starts the platform's sandbox in process on a free port,
//!    seeded with `Setup::products` through its configuration, connects the adapter
//!    with a store's credentials, and returns it as a `Box<dyn StorePlatform>` beside
//!    the sandbox's `SandboxStore` implementation (the merchant's and shoppers'
//!    actions, faults, and read-backs through the sandbox's admin routes).
//! 2. End that file with `crate::suite::conformance_tests!(start);` and add one line
//!    here: `#[path = "conformance/<platform>.rs"] mod <platform>;`.
//!
//! `conformance/bigcommerce.rs` is the example. Run one platform's checks with
//! `cargo test -p connector-e2e --test conformance <platform>::`.

#[path = "conformance/suite.rs"]
mod suite;

#[path = "conformance/kit.rs"]
mod kit;

#[path = "conformance/bigcommerce.rs"]
mod bigcommerce;

#[path = "conformance/magento2.rs"]
mod magento2;

#[path = "conformance/prestashop.rs"]
mod prestashop;
