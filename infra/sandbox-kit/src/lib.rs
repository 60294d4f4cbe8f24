//! The machinery every platform sandbox shares, so that a sandbox holds only its
//! platform's contract (routes, envelopes, signing, data model, validation):
//!
//! - [`faults`]: seeded, counted fault injection (5xx, 429, timeouts, answers dropped
//!   after the effect, latency; webhooks dropped, doubled, reordered), applied around a
//!   request by [`Injector::guard`];
//! - [`rate`]: per-key rate windows, fixed (BigCommerce) or sliding (TikTok), with the
//!   requests refused per key;
//! - [`webhooks`]: delivery with the platform's retry schedule, configured duplicates
//!   and delays, under the injected webhook faults;
//! - [`admin`]: `GET`/`POST /sandbox/faults` and the admin error answers;
//! - [`clock`]: Unix time and ISO-8601 dates;
//! - [`images`]: real PNG images for product image URLs;
//! - [`Kit`], the bundle a sandbox holds, [`Admitted`], what its handlers extract behind
//!   its gate, and [`serve`] / [`wait_for_ctrl_c`] for its library and binary.
//!
//! See `README.md` beside this crate for a new sandbox's skeleton.

pub mod admin;
pub mod clock;
pub mod faults;
pub mod images;
pub mod rate;
pub mod webhooks;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

pub use faults::{Faults, Injector, Refusal};
pub use rate::{RateLimit, RateWindows, Verdict, WindowKind};
pub use webhooks::{Courier, DeliveryPolicy, Message};

/// What one sandbox holds of the kit: its fault dice, its rate windows and its webhook
/// courier (which rolls on the same dice). Cloning shares them; a sandbox exposes it to
/// [`admin::routes`] through `impl FromRef<MySandbox> for Kit`.
#[derive(Clone)]
pub struct Kit {
    /// Fault dice and counters.
    pub faults: Arc<Injector>,
    /// The platform's rate windows.
    pub rates: Arc<RateWindows>,
    /// Webhook delivery (and the HTTP client for other outgoing calls).
    pub courier: Courier,
}

impl Kit {
    /// A kit under the platform's rate limit and delivery policy, no faults in force.
    pub fn new(limit: RateLimit, policy: DeliveryPolicy) -> Self {
        let faults = Arc::new(Injector::default());
        Self {
            rates: Arc::new(RateWindows::new(limit)),
            courier: Courier::new(faults.clone(), policy),
            faults,
        }
    }
}

/// A request the sandbox's gate let through, as a handler extracts it: the sandbox (the
/// router's state) and the caller the gate put in the request's extensions. Extracting
/// it on a route without that gate is a bug and panics.
pub struct Admitted<S, C> {
    /// The sandbox.
    pub sandbox: S,
    /// Who is calling, as the gate established it.
    pub caller: C,
}

impl<S, C> FromRequestParts<S> for Admitted<S, C>
where
    S: Clone + Send + Sync,
    C: Clone + Send + Sync + 'static,
{
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, sandbox: &S) -> Result<Self, Infallible> {
        let caller = parts.extensions.get::<C>().cloned();
        Ok(Self {
            sandbox: sandbox.clone(),
            caller: caller.expect("the gate admits every request with its caller"),
        })
    }
}

/// Serves `router` on `addr` (port 0 picks one) in the background; returns the bound
/// address. `name` labels the error logged if serving stops.
pub async fn serve(addr: SocketAddr, router: axum::Router, name: &'static str) -> std::io::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, router).await {
            tracing::error!(%error, "{name} sandbox stopped");
        }
    });
    Ok(bound)
}

/// For a sandbox binary: prints `{name} sandbox on http://{addr}` (what scripts wait
/// for), then waits for Ctrl-C.
pub async fn wait_for_ctrl_c(name: &str, addr: SocketAddr) -> std::io::Result<()> {
    use std::io::Write as _;
    println!("{name} sandbox on http://{addr}");
    std::io::stdout().flush()?;
    tokio::signal::ctrl_c().await
}
