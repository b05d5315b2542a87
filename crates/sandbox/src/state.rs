//! What every emulated gateway shares: the clock, the webhook settings, the delivery log, and the
//! normalised state a payment is in.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::Duration;

use gerbang_core::ProviderId;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::clock::SandboxClock;
use crate::emulated::{self, GatewayStates};
use crate::webhook::{DeliveryLog, WebhookRetry, WebhookUrls};

/// The state of a payment held by the sandbox, whatever the gateway calls it on the wire.
///
/// Serialised in lower case (`"pending"`, `"paid"`, …), as the control API answers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum PaymentState {
    /// Created and waiting for the customer.
    Pending,
    /// Paid by the customer.
    Paid,
    /// Expired before it was paid (or withdrawn by the merchant, where the gateway calls that
    /// expiry).
    Expired,
    /// Cancelled by the merchant before it was paid.
    Cancelled,
    /// Refused or failed at the gateway.
    Failed,
}

impl std::str::FromStr for PaymentState {
    type Err = String;

    /// The lower-case name, as [`as_str`](Self::as_str) writes it (`paid`, `pending`, …).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        [Self::Pending, Self::Paid, Self::Expired, Self::Cancelled, Self::Failed]
            .into_iter()
            .find(|state| state.as_str() == text.trim())
            .ok_or_else(|| format!("unknown state {text:?}; expected pending, paid, expired, cancelled or failed"))
    }
}

impl PaymentState {
    /// The lower-case name: `pending`, `paid`, `expired`, `cancelled`, `failed`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Paid => "paid",
            Self::Expired => "expired",
            Self::Cancelled => "cancelled",
            Self::Failed => "failed",
        }
    }
}

impl fmt::Display for PaymentState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Settings fixed when the sandbox is built.
#[derive(Debug)]
pub(crate) struct Settings {
    /// Each gateway's dashboard URLs, with the turn counter that spreads attempts over them.
    pub(crate) webhook_urls: HashMap<ProviderId, WebhookUrls>,
    /// `None`: each gateway's own default ([`EmulatedGateway::webhook_retry`](crate::emulated::EmulatedGateway::webhook_retry)).
    pub(crate) webhook_retry: Option<WebhookRetry>,
    /// The URL the links in answers start with, when set; without a trailing slash.
    pub(crate) public_url: Option<String>,
    /// How connections are limited when the sandbox serves itself.
    pub(crate) limits: gerbang_server::Limits,
}

/// Everything the handlers and the control API share, behind one `Arc`.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) settings: Settings,
    /// The configured clock, moved forward by time travel.
    pub(crate) clock: SandboxClock,
    /// The next payment's place in the order of creation, across gateways.
    pub(crate) sequence: AtomicU64,
    /// The faults injected in front of the gateways.
    pub(crate) faults: crate::faults::Faults,
    pub(crate) deliveries: DeliveryLog,
    pub(crate) http: reqwest::Client,
    /// Each emulated gateway's own state (see [`Shared::gateway_state`]).
    pub(crate) gateways: GatewayStates,
    /// `http://ADDR` of the address the sandbox was first served on.
    pub(crate) served_at: OnceLock<String>,
}

impl Shared {
    /// `http://HOST:PORT`, what the page and QR URLs in answers start with: the configured public
    /// URL, else the address the sandbox serves on, never the request's `Host` header (which any
    /// client may forge, to have the sandbox hand out links to a site of its choosing). A router
    /// mounted elsewhere, with no public URL set, writes `http://localhost`.
    pub(crate) fn origin(&self) -> &str {
        match &self.settings.public_url {
            Some(url) => url,
            None => self.served_at.get().map_or("http://localhost", String::as_str),
        }
    }

    /// The sandbox's time: what records are stamped with and expire by (see [`SandboxClock`]).
    pub(crate) fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }

    /// The configured clock, unmoved by time travel: what request timestamps are checked
    /// against and webhook timestamps are signed with, since clients and receivers keep real
    /// time.
    pub(crate) fn wall_now(&self) -> OffsetDateTime {
        self.clock.wall()
    }

    /// The next number in the order of creation.
    pub(crate) fn next_sequence(&self) -> u64 {
        self.sequence.fetch_add(1, Ordering::Relaxed)
    }

    pub(crate) fn webhook_retry(&self, provider: ProviderId) -> WebhookRetry {
        self.settings.webhook_retry.unwrap_or_else(|| match emulated::of(provider) {
            Some(gateway) => gateway.webhook_retry(),
            // Never reached: only an emulated gateway's payments have webhooks.
            None => WebhookRetry { attempts: 1, interval: Duration::from_secs(2) },
        })
    }
}

/// The path prefix `provider` is served under, without a trailing slash (see
/// [`EmulatedGateway::prefix`](crate::emulated::EmulatedGateway::prefix)).
pub(crate) fn prefix(provider: ProviderId) -> &'static str {
    match emulated::of(provider) {
        Some(gateway) => gateway.prefix(),
        // `ProviderId` is non-exhaustive: a gateway added to it but not yet emulated is served
        // nowhere, and its requests get the sandbox's 404.
        None => "/not-emulated",
    }
}

/// Locks a mutex, taking the data back from a poisoned one: every critical section in the sandbox
/// leaves its data consistent before anything that could panic, and an emulator that stops
/// answering because one test panicked would hide the real failure.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Whole seconds until `deadline`, at least one: what a `Retry-After` header says.
pub(crate) fn seconds_until(now: OffsetDateTime, deadline: OffsetDateTime) -> u64 {
    let wait = deadline - now;
    let whole = Duration::try_from(wait).map(|d| d.as_secs() + u64::from(d.subsec_nanos() > 0)).unwrap_or(0);
    whole.max(1)
}
