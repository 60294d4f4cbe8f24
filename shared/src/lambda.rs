//! Two of the three Lambda shapes every function binary is one of: an SQS consumer with
//! partial batch responses and a scheduled task. The third, an HTTP API, is
//! `run_lambda` in the HTTP layer, since nothing outside it depends on that layer.
//! Each builds the [`App`] once per cold start and serves invocations with it.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{LambdaEvent, service_fn};

use crate::app::App;
use crate::jobs::Dispatcher;
use crate::queue::lambda::process_batch;
use crate::schedules::{self, Schedule};
use crate::telemetry;

/// What a function's `main` returns.
pub type Error = lambda_runtime::Error;

/// Consumes SQS batches, reporting only failed messages (`ReportBatchItemFailures`).
pub async fn run_sqs() -> Result<(), Error> {
    telemetry::init();
    let dispatcher = Dispatcher {
        app: App::from_env().await?,
    };
    let dispatcher = &dispatcher;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        let response = process_batch(event.payload, dispatcher).await;
        crate::metrics::flush();
        Ok::<SqsBatchResponse, Error>(response)
    }))
    .await
}

/// Runs `schedule` on every EventBridge Scheduler invocation (the payload is ignored).
pub async fn run_schedule(schedule: Schedule) -> Result<(), Error> {
    telemetry::init();
    let app = App::from_env().await?;
    let app = &app;
    lambda_runtime::run(service_fn(move |_: LambdaEvent<serde_json::Value>| async move {
        let outcome = schedules::run(app, schedule).await;
        crate::metrics::flush();
        outcome.map_err(|error| {
            tracing::error!(?schedule, %error, "scheduled run failed");
            Error::from(error)
        })
    }))
    .await
}
