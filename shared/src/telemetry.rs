//! Logs through `tracing`: JSON for machines (Lambda, pipes), a compact coloured
//! format for a person at a terminal. Secrets are wrapped in
//! [`crate::crypto::SecretString`] (and keyrings print no keys), so no log line can
//! carry one in either format; `tests/redaction.rs` proves it on real log output.

use std::io::IsTerminal as _;
use std::sync::{Mutex, PoisonError};
use std::time::Instant;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

/// The filter from `RUST_LOG`, `info` by default.
fn filter() -> EnvFilter {
    EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"))
}

/// A JSON subscriber writing to `writer`, filtered by `RUST_LOG` (default `info`).
pub fn subscriber<W>(writer: W) -> impl tracing::Subscriber + Send + Sync
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter())
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

/// Installs a subscriber on stderr, keeping stdout for what a local program prints to
/// its user (addresses, links): compact human-readable lines with ANSI colours when
/// stderr is a terminal, the JSON of [`subscriber`] otherwise (piped, or collected by
/// a log shipper). Each line's time is kept for [`last_line_at`].
pub fn init_stderr() {
    let _ = if std::io::stderr().is_terminal() {
        let human = tracing_subscriber::fmt()
            .compact()
            .with_ansi(true)
            .with_env_filter(filter())
            .with_writer(StampedStderr)
            .finish();
        tracing::subscriber::set_global_default(human)
    } else {
        tracing::subscriber::set_global_default(subscriber(StampedStderr))
    };
}

/// When the subscriber of [`init_stderr`] last wrote a line.
static LAST_LINE: Mutex<Option<Instant>> = Mutex::new(None);

/// When the subscriber installed by [`init_stderr`] last wrote a log line; `None`
/// before its first line, or when another subscriber is installed. A local program
/// waits on it for its start-up logs to settle before printing its last word.
pub fn last_line_at() -> Option<Instant> {
    *LAST_LINE.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Stderr, noting the time of every line written through it in [`LAST_LINE`].
struct StampedStderr;

impl<'a> MakeWriter<'a> for StampedStderr {
    type Writer = std::io::Stderr;

    fn make_writer(&'a self) -> Self::Writer {
        // Called once per event, right before its formatted line is written.
        *LAST_LINE.lock().unwrap_or_else(PoisonError::into_inner) = Some(Instant::now());
        std::io::stderr()
    }
}
