//! The TikTok Shop connector's domain crate.
//!
//! Everything that is not a Lambda entry point lives here, split by what a module
//! knows about:
//! - [`storage`]: the table port, its DynamoDB and embedded adapters, repositories;
//! - [`queue`]: the job envelope, SQS and in-process queues, Lambda batch handling;
//! - [`secrets`], [`config`], [`crypto`], [`telemetry`]: built once per cold start;
//! - [`app`]: the wiring of one running connector; [`http`], [`jobs`] and
//!   [`schedules`]: the handlers the Lambda functions and the local runner call;
//!   `lambda` (feature `lambda`): the runtime loops the function binaries start.

pub mod accounts;
pub mod app;
pub mod catalog;
pub mod changes;
pub mod config;
pub mod configuration;
pub mod crypto;
pub mod http;
pub mod jobs;
pub mod journal;
#[cfg(feature = "lambda")]
pub mod lambda;
pub mod mail;
pub mod metrics;
pub mod notices;
pub mod orders;
pub mod platforms;
pub mod queue;
pub mod redrive;
pub mod returns;
pub mod rules;
pub mod schedules;
pub mod secrets;
pub mod shops;
pub mod storage;
pub mod store;
pub mod telemetry;
pub mod tiktok;
pub mod tokens;
