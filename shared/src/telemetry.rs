//! Structured JSON logs through `tracing`. Secrets are wrapped in
//! [`crate::secrets::SecretString`] (and keyrings print no keys), so no log line can
//! carry one; `tests/redaction.rs` proves it on real log output.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

/// A JSON subscriber writing to `writer`, filtered by `RUST_LOG` (default `info`).
pub fn subscriber<W>(writer: W) -> impl tracing::Subscriber + Send + Sync
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(true)
        .with_span_list(false)
        .flatten_event(true)
        .with_writer(writer)
        .finish()
}

/// Installs the JSON subscriber on stdout for the process (once, at cold start):
/// Lambda ships stdout to CloudWatch.
pub fn init() {
    // A second call (tests) keeps the first subscriber.
    let _ = tracing::subscriber::set_global_default(subscriber(std::io::stdout));
}

/// Installs the JSON subscriber on stderr, keeping stdout for what a local program
/// prints to its user (addresses, links).
pub fn init_stderr() {
    let _ = tracing::subscriber::set_global_default(subscriber(std::io::stderr));
}
