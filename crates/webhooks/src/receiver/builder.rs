//! Configuring a [`Receiver`]: its gateways, inbox, ledger, lease and in-flight wait.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use gerbang_core::PaymentProvider;
use gerbang_core::inbox::Inbox;
use gerbang_core::ledger::Ledger;

use super::{Inner, Receiver};
use crate::drain::Deliveries;
use crate::handler::Handler;
use crate::health::Health;

/// How long a claim holds by default: a handler that runs longer than this may be called a
/// second time by another replica's delivery.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(30);

/// How long a delivery of an event another delivery is handling waits for it by default, before
/// asking the gateway to deliver it again later (503). Gateways send copies at once; waiting a
/// moment lets each copy be answered with the success ack once the first is done.
pub const DEFAULT_IN_FLIGHT_WAIT: Duration = Duration::from_secs(3);

/// Builds a [`Receiver`].
pub struct ReceiverBuilder {
    providers: Vec<Arc<dyn PaymentProvider>>,
    inbox: Arc<dyn Inbox>,
    ledger: Option<Arc<dyn Ledger>>,
    require_known: bool,
    lease: Duration,
    in_flight_wait: Duration,
}

impl Receiver {
    /// Starts a receiver that records claims in `inbox`: a
    /// [`MemoryInbox`](gerbang_core::inbox::MemoryInbox) for one process, a Redis or Postgres
    /// one shared by every replica.
    pub fn builder(inbox: Arc<dyn Inbox>) -> ReceiverBuilder {
        ReceiverBuilder {
            providers: Vec::new(),
            inbox,
            ledger: None,
            require_known: false,
            lease: DEFAULT_LEASE,
            in_flight_wait: DEFAULT_IN_FLIGHT_WAIT,
        }
    }
}

impl ReceiverBuilder {
    /// How long a delivery of an event that another delivery is handling waits for it to finish
    /// (default [`DEFAULT_IN_FLIGHT_WAIT`]; zero answers 503 at once). Keep it below the
    /// gateway's own timeout for a webhook call.
    pub fn in_flight_wait(mut self, wait: Duration) -> Self {
        self.in_flight_wait = wait;
        self
    }

    /// Receives for this gateway (a later one of the same gateway replaces it).
    pub fn provider(mut self, provider: Arc<dyn PaymentProvider>) -> Self {
        self.providers.retain(|p| p.id() != provider.id());
        self.providers.push(provider);
        self
    }

    /// Receives for each of these gateways.
    pub fn providers(self, providers: impl IntoIterator<Item = Arc<dyn PaymentProvider>>) -> Self {
        providers.into_iter().fold(self, Self::provider)
    }

    /// Checks each event against `ledger` and records its state there: see
    /// [`Receiver::dispatch`]. Give the reconciler the same ledger.
    pub fn ledger(mut self, ledger: Arc<dyn Ledger>) -> Self {
        self.ledger = Some(ledger);
        self
    }

    /// Whether the ledger is the merchant's record of payments (every payment is created
    /// through a [`Watched`](gerbang_core::ledger::Watched) client): then a paid event of a
    /// payment it does not know is a [mismatch](crate::Mismatch), not passed on. And a webhook
    /// of a gateway that confirms its webhooks by a status call (Ciputra) naming a payment the
    /// ledger does not know is refused (4xx) before any call is made
    /// ([`PaymentProvider::webhook_claims`]). Off by default; needs a [ledger](Self::ledger).
    pub fn require_known_payments(mut self, require: bool) -> Self {
        self.require_known = require;
        self
    }

    /// How long a claim holds (default [`DEFAULT_LEASE`]): longer than the handler ever takes.
    pub fn lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    /// The receiver, calling `handler` for each new event.
    pub fn build(self, handler: impl Handler) -> Receiver {
        // The gauge exists, at 0, from the start: an alert on it needs a series to compare.
        gerbang_core::metrics::receiver_draining(false);
        Receiver {
            inner: Arc::new(Inner {
                providers: self.providers,
                inbox: self.inbox,
                require_known: self.require_known && self.ledger.is_some(),
                ledger: self.ledger,
                handler: Box::new(handler),
                lease: self.lease,
                in_flight_wait: self.in_flight_wait,
                deliveries: Deliveries::new(),
                health: Health::new(),
            }),
        }
    }
}

impl fmt::Debug for ReceiverBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReceiverBuilder")
            .field("gateways", &self.providers.iter().map(|p| p.id()).collect::<Vec<_>>())
            .field("inbox", &self.inbox)
            .field("ledger", &self.ledger)
            .field("lease", &self.lease)
            .field("in_flight_wait", &self.in_flight_wait)
            .finish()
    }
}
