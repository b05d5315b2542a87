//! The receiver: from a raw delivery to the gateway's answer, calling the handler once per event.
//! How it is configured is in `builder`; what it answers, in `outcome`.

mod builder;
mod outcome;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use gerbang_core::http::{HeaderMap, Method};
use gerbang_core::inbox::{Claim, EventKey, Inbox, Lease};
use gerbang_core::ledger::{Ledger, WatchState, WatchedPayment};
use gerbang_core::{
    Ack, ClaimedId, Error, LookupKey, MAX_WEBHOOK_BODY_BYTES, PaymentProvider, PaymentStatus, ProviderId, WebhookEvent,
    WebhookRequest,
};
use tracing::Instrument;

use crate::drain::{Deliveries, Ticket};
use crate::handler::{Handler, HandlerError};
use crate::health::Health;
use crate::{Mismatch, MismatchKind};

pub use builder::{DEFAULT_IN_FLIGHT_WAIT, DEFAULT_LEASE, ReceiverBuilder};
pub use outcome::{Delivery, Outcome};

/// A webhook receiver for the gateways it was given. Cheap to clone (an `Arc` inside), so one
/// receiver serves every connection.
#[derive(Clone)]
pub struct Receiver {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    providers: Vec<Arc<dyn PaymentProvider>>,
    pub(crate) inbox: Arc<dyn Inbox>,
    ledger: Option<Arc<dyn Ledger>>,
    require_known: bool,
    handler: Box<dyn Handler>,
    lease: Duration,
    in_flight_wait: Duration,
    pub(crate) deliveries: Deliveries,
    pub(crate) health: Health,
}

impl Receiver {
    /// The gateways it receives for.
    pub fn gateways(&self) -> impl Iterator<Item = ProviderId> + '_ {
        self.inner.providers.iter().map(|p| p.id())
    }

    /// The client of gateway `id`, if it is one of the receiver's.
    pub fn gateway(&self, id: ProviderId) -> Option<&Arc<dyn PaymentProvider>> {
        self.inner.providers.iter().find(|p| p.id() == id)
    }

    /// The ledger it checks events against and records them in, if it was given one.
    pub fn ledger(&self) -> Option<&Arc<dyn Ledger>> {
        self.inner.ledger.as_ref()
    }

    /// Handles one delivery for `gateway` (its name, as in the URL: `cuan10pay`, `cashin`, …)
    /// and returns what to answer. Each delivery is counted in
    /// `gerbang_webhook_deliveries_total{gateway, outcome}` ([`gerbang_core::metrics`]).
    ///
    /// The delivery is a SERVER span (`gerbang.webhook`, after OpenTelemetry's HTTP server
    /// conventions): `http.request.method`, `http.route` (through the [router](crate::router)),
    /// `http.response.status_code`, `gerbang.gateway` (`unknown` for a name not configured),
    /// `gerbang.outcome` and `gerbang.dedup_key`, as in the logs; never a header or the body.
    pub async fn receive(
        &self,
        gateway: &str,
        method: Method,
        path: &str,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Delivery {
        self.receive_at(None, gateway, method, path, headers, body).await
    }

    /// [`receive`](Self::receive), for a delivery that came by `route` (the router's template).
    pub(crate) async fn receive_at(
        &self,
        route: Option<&'static str>,
        gateway: &str,
        method: Method,
        path: &str,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Delivery {
        let provider = self.provider(gateway);
        let known = provider.map(|p| p.id());
        let span = crate::trace::delivery_span(route, known, &method);
        let delivery = if gerbang_core::transport::span_seen(&span) {
            self.deliver(provider, gateway, method, path, headers, body).instrument(span.clone()).await
        } else {
            // Nobody can see the span: entering and leaving it at each poll would be work for
            // nothing, on every delivery.
            self.deliver(provider, gateway, method, path, headers, body).await
        };
        crate::trace::record_delivery(&span, &delivery);
        gerbang_core::metrics::webhook_delivery(known, delivery.outcome.as_str());
        delivery
    }

    /// One delivery for `gateway`, whose client is `provider` (`None`: not configured here).
    async fn deliver(
        &self,
        provider: Option<&Arc<dyn PaymentProvider>>,
        gateway: &str,
        method: Method,
        path: &str,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Delivery {
        let Some(provider) = provider else {
            // Debug-formatted: the name comes from the URL, and may hold anything.
            tracing::debug!(gateway = ?gateway, outcome = "unknown_gateway", "no such gateway here");
            return Delivery::new(
                Ack::text(404, format!("no gateway `{gateway}` is configured here")),
                Outcome::UnknownGateway(gateway.to_owned()),
            );
        };
        if method != Method::POST {
            tracing::debug!(gateway = %provider.id(), outcome = "method_not_allowed", %method, "not a POST");
            return Delivery::new(Ack::text(405, "webhooks are POSTed"), Outcome::MethodNotAllowed);
        }
        let request = WebhookRequest::new(method, path, headers, body);
        // The verifiers check the size too; checking first spares the parse of a huge body.
        if body.len() > MAX_WEBHOOK_BODY_BYTES {
            let error = request.check_body_size().err().unwrap_or_else(|| Error::decode("webhook body: too large"));
            return Delivery::new(provider.reject_webhook(&error), Outcome::Rejected(error));
        }
        let ticket = self.inner.deliveries.begin();
        // Each path that is not every delivery's (a ledger's, a drain's, a failure's) is boxed
        // where it is taken: the future of every delivery then stays small, and so does each
        // copy of it (a copy of a few kilobytes per delivery, measured as much as the ledger-less
        // path's own work).
        if self.inner.ledger.is_some()
            && let Some(refused) = Box::pin(self.refuse_unknown_claim(provider.as_ref(), &request)).await
        {
            return refused;
        }
        // A status call (Ciputra's) may take long: a drain's deadline stops it.
        let verified = match provider.verify_webhook_now(&request) {
            Some(verified) => Some(verified),
            None => self.inner.deliveries.unless_cut(provider.verify_webhook(&request)).await,
        };
        let event = match verified {
            Some(Ok(event)) => event,
            Some(Err(error)) => return unverified(provider.as_ref(), error),
            None => return Box::pin(self.drained(&ticket, None)).await,
        };
        self.dispatch_tracked(event, &ticket).await
    }

    /// With a ledger that must know every payment: refuses, before it is verified, a webhook
    /// whose gateway names (unverified) an id the ledger does not hold, so that a forged
    /// callback costs no status call. `None` to go on verifying.
    async fn refuse_unknown_claim(
        &self,
        provider: &dyn PaymentProvider,
        request: &WebhookRequest<'_>,
    ) -> Option<Delivery> {
        let ledger = self.inner.ledger.as_ref().filter(|_| self.inner.require_known)?;
        let claim = provider.webhook_claims(request)?;
        match ledger_knows(ledger.as_ref(), provider.id(), &claim).await {
            Ok(true) => None,
            Ok(false) => {
                let error = Error::NotFound {
                    message: format!(
                        "the {} webhook names a payment the ledger does not know: refused without asking the gateway",
                        provider.id()
                    ),
                };
                Some(unverified(provider, error))
            }
            Err(error) => {
                tracing::warn!(gateway = %provider.id(), outcome = "store_failed", %error,
                    "ledger unreachable: asking for a later delivery");
                Some(Delivery::new(Ack::text(503, "the event store is unavailable"), Outcome::StoreFailed(error)))
            }
        }
    }

    /// Claims a verified event and calls the handler if it is new. This is the path every
    /// change takes however it was learnt (a webhook here, a status check by a reconciler), so
    /// that one change calls the handler once.
    ///
    /// With a [ledger](ReceiverBuilder::ledger), the event is first checked against the
    /// payment's record: a paid event with another amount than the one recorded (or, with
    /// [`require_known_payments`](ReceiverBuilder::require_known_payments), of a payment the
    /// ledger does not know; or of a merchant reference the ledger holds paid at another gateway
    /// already, [`MismatchKind::PaidTwice`]) goes to [`Handler::mismatch`] instead of `handle`.
    /// The event is
    /// given the merchant's reference from the record where the gateway's webhook does not carry
    /// it (Cuan10pay's), and once handled its state is recorded, so the reconciler stops
    /// checking a payment a webhook settled.
    ///
    /// An event that names no payment (its gateway id and the merchant's reference both missing
    /// or blank) is refused first, with the gateway's rejection (a 4xx): it could not be told
    /// apart from another payment's, and claiming it would drop every other such payment as a
    /// duplicate.
    ///
    /// A [drain](Self::drain) waits for it like for a webhook's delivery.
    pub async fn dispatch(&self, event: WebhookEvent) -> Delivery {
        let ticket = self.inner.deliveries.begin();
        self.dispatch_tracked(event, &ticket).await
    }

    /// [`dispatch`](Self::dispatch), counted by `ticket`.
    async fn dispatch_tracked(&self, mut event: WebhookEvent, ticket: &Ticket<'_>) -> Delivery {
        let key = match EventKey::of(&event) {
            Ok(key) => key,
            Err(error) => return self.unkeyed(event.provider, error),
        };
        let Found { record, conflict } = match &self.inner.ledger {
            Some(_) => match Box::pin(self.record_of(&event)).await {
                Ok(found) => found,
                Err(error) => return Self::store_failed(&key, error),
            },
            None => Found::default(),
        };
        // Boxed, as the mismatch below: both are rare (a ledger's, a mismatch's), and held across
        // every await of the delivery, whose future would otherwise carry them inline.
        let record = record.map(Box::new);
        if let Some(record) = record.as_ref().filter(|_| event.reference.is_none()) {
            event.reference = Some(record.reference.clone());
        }
        let mismatch = match (&record, conflict) {
            (Some(record), true) => Mismatch::conflict(&event, record),
            _ => Mismatch::between(&event, record.as_deref(), self.inner.require_known),
        }
        .map(Box::new);
        if conflict && mismatch.is_none() {
            // A paid one is said as a mismatch below; this one is passed on all the same.
            tracing::warn!(gateway = %key.provider, dedup_key = %key.key, outcome = "conflict",
                "the event's gateway id and reference name two different payments in the ledger");
        }
        let lease = match self.claim(&key).await {
            Ok(Claim::New(lease)) => lease,
            Ok(Claim::Done) => {
                tracing::debug!(gateway = %key.provider, dedup_key = %key.key, outcome = "duplicate",
                    "duplicate delivery acknowledged");
                // The first delivery recorded it; recording again costs little and covers a
                // replica that died between marking the event done and recording its state.
                if let Some(record) = record {
                    Box::pin(self.record_state(*record, &event, mismatch.is_some())).await;
                }
                return Delivery::new(event.ack, Outcome::Duplicate(key));
            }
            Ok(Claim::InFlight) => {
                tracing::info!(gateway = %key.provider, dedup_key = %key.key, outcome = "in_flight",
                    "event still in flight elsewhere: asking for a later delivery");
                return Delivery::new(
                    Ack::text(503, "this event is being handled; deliver it again later"),
                    Outcome::InFlight(key),
                );
            }
            Err(error) => return Self::store_failed(&key, error),
        };
        let (record, mismatch) = match mismatch {
            Some(mismatch) => (record, Some(mismatch)),
            None if self.inner.ledger.is_none() => (record, None),
            None => match Box::pin(self.paid_elsewhere(record.map(|record| *record), &event)).await {
                Ok((record, other)) => {
                    (record.map(Box::new), other.map(|other| Box::new(Mismatch::paid_twice(&event, other))))
                }
                Err(error) => {
                    if let Err(error) = self.inner.inbox.release(&lease).await {
                        tracing::warn!(gateway = %key.provider, dedup_key = %key.key, outcome = "release_failed",
                            %error, "could not release the claim: it expires with its lease");
                    }
                    return Self::store_failed(&key, error);
                }
            },
        };
        // Kept by the ticket while the handler runs, for a drain to give back.
        ticket.hold(lease);
        let handling = async {
            match &mismatch {
                Some(mismatch) => self.inner.handler.mismatch(mismatch).await,
                None => self.inner.handler.handle(&event).await,
            }
        };
        let started = std::time::Instant::now();
        let Some(handled) = self.inner.deliveries.unless_cut(handling).await else {
            return Box::pin(self.drained(ticket, Some(key))).await;
        };
        gerbang_core::metrics::webhook_handled_in(key.provider, started.elapsed());
        // From here the delivery completes or releases its claim itself, unless the drain's
        // deadline came just as the handler finished: the drain took the claim and gives it
        // back, and the gateway's next copy is handled again (at least once), as for a handler
        // the deadline stopped.
        let Some(lease) = ticket.settle() else {
            return Box::pin(self.drained(ticket, Some(key))).await;
        };
        if let Err(error) = handled {
            return Box::pin(self.handler_failed(key, &lease, &error)).await;
        }
        let completed = match self.inner.inbox.complete_now(&lease) {
            Some(completed) => completed,
            None => self.inner.inbox.complete(&lease).await,
        };
        match completed {
            Ok(true) => {}
            Ok(false) => tracing::warn!(gateway = %key.provider, dedup_key = %key.key, outcome = "lease_expired",
                "the lease ran out before the handler finished: another delivery took the event over, or finished it first"),
            // The handler ran: answering non-2xx would have it run again for nothing more than
            // a lost marker, and the gateway's retry would then be handled again anyway. Log it
            // and acknowledge.
            Err(error) => tracing::warn!(gateway = %key.provider, dedup_key = %key.key, outcome = "done_marker_lost",
                %error, "could not mark the event done"),
        }
        match &mismatch {
            Some(mismatch) => tracing::error!(gateway = %key.provider, dedup_key = %key.key, outcome = "mismatch",
                kind = mismatch_kind(&mismatch.kind), "{mismatch}"),
            None => tracing::info!(gateway = %key.provider, dedup_key = %key.key, outcome = "handled", "event handled"),
        }
        if let Some(record) = record {
            Box::pin(self.record_state(*record, &event, mismatch.is_some())).await;
        }
        let ack = event.ack.clone();
        let outcome = match mismatch {
            Some(mismatch) => Outcome::Mismatch(mismatch),
            None => Outcome::Handled(Box::new(event)),
        };
        Delivery::new(ack, outcome)
    }

    /// The ledger's record of the event's payment; none without a ledger.
    ///
    /// The event's gateway id (`provider_reference`) is looked up as a gateway id and its
    /// merchant reference as a reference, never one as the other: a merchant's reference may be
    /// the digits of another payment's gateway id, and taking one for the other would check a
    /// genuine payment against another order. The record is the one the gateway id names, else
    /// the one the reference names.
    ///
    /// When both name a record and they are two different ones, the ledger and the gateway
    /// disagree about which payment this is. The record is then the gateway id's (the gateway
    /// gave that id to one payment, and the ledger took it from the gateway's own answer, where
    /// a reference is the merchant's word echoed back), and the event is a
    /// [conflict](crate::MismatchKind::Conflict): a paid one goes to the handler's `mismatch`,
    /// never to `handle`, so that neither order is shipped on it, and the gateway id's record
    /// becomes a mismatch for a person to look at. An event that is not paid is passed on as
    /// usual (nothing is shipped on it) and recorded on the gateway id's record.
    async fn record_of(&self, event: &WebhookEvent) -> Result<Found, Error> {
        let Some(ledger) = &self.inner.ledger else { return Ok(Found::default()) };
        // A blank id names nothing (the event's key was taken from the other one).
        let by_gateway_id = match event.gateway_id() {
            Some(id) => ledger.find_by_gateway_id(event.provider, id).await?,
            None => None,
        };
        let by_reference = match event.merchant_reference() {
            Some(reference) => ledger.find_by_reference(event.provider, reference).await?,
            None => None,
        };
        Ok(match (by_gateway_id, by_reference) {
            (Some(record), Some(other)) => {
                let conflict = record.reference != other.reference;
                Found { record: Some(record), conflict }
            }
            (record, other) => Found { record: record.or(other), conflict: false },
        })
    }

    /// For a paid event: the gateway where its merchant reference was paid already, if any
    /// ([`MismatchKind::PaidTwice`]), and the event's record as it now stands. Only a paid event
    /// pays for this look-up, and only one of a payment the ledger holds at another gateway too
    /// (a reference routed through several) pays for more.
    ///
    /// Then the event's own record is written as paid **before** the other gateways' records are
    /// read again. Of two paid events of one reference at two gateways, however they interleave
    /// across replicas, the one that reads last sees the other's paid record: at least one goes
    /// to `mismatch`, and `handle` is never called for both. When both read before either wrote,
    /// both see the other paid and both go to `mismatch`: nothing is handled, and a person
    /// decides (safe: no order is shipped twice, none shipped on an unchecked payment).
    ///
    /// Written before the handler runs, the record stays paid should the handler fail: the
    /// gateway's redelivery (answered 500) brings the event back; the reconciler no longer
    /// checks that payment, and another gateway's paid event meanwhile makes both mismatches. A
    /// reference held at one gateway only is written after the handler, as every other event.
    async fn paid_elsewhere(
        &self,
        record: Option<WatchedPayment>,
        event: &WebhookEvent,
    ) -> Result<(Option<WatchedPayment>, Option<ProviderId>), Error> {
        let Some(ledger) = self.inner.ledger.as_ref().filter(|_| event.status == PaymentStatus::Paid) else {
            return Ok((record, None));
        };
        let Some(reference) =
            record.as_ref().map(|r| r.reference.clone()).or_else(|| event.merchant_reference().map(str::to_owned))
        else {
            return Ok((record, None));
        };
        let paid_at = |others: Vec<WatchedPayment>| others.into_iter().find(|r| r.state.was_paid()).map(|r| r.provider);
        let others = ledger.find_at_other_gateways(event.provider, &reference).await?;
        if others.is_empty() {
            return Ok((record, None));
        }
        if let Some(other) = paid_at(others) {
            return Ok((record, Some(other)));
        }
        let Some(mut record) = record else {
            // Nothing of this gateway's to write: the other gateways were read once, above.
            return Ok((None, None));
        };
        if absorb(&mut record, event, WatchState::Paid) {
            ledger.record(&record).await?;
        }
        let other = paid_at(ledger.find_at_other_gateways(event.provider, &reference).await?);
        Ok((Some(record), other))
    }

    /// Records what a handled event says of `record`, its payment's (or that it is a mismatch).
    async fn record_state(&self, mut record: WatchedPayment, event: &WebhookEvent, mismatch: bool) {
        let Some(ledger) = &self.inner.ledger else { return };
        let state = if mismatch { WatchState::Mismatch } else { WatchState::of(&event.status) };
        if !absorb(&mut record, event, state) {
            return;
        }
        if let Err(error) = ledger.record(&record).await {
            let key = event.dedup_key().unwrap_or_default();
            tracing::warn!(gateway = %event.provider, dedup_key = %key, outcome = "ledger_write_failed", %error,
                "could not record the event's state in the ledger");
        }
    }

    async fn handler_failed(&self, key: EventKey, lease: &Lease, error: &HandlerError) -> Delivery {
        let message = error.to_string();
        tracing::warn!(gateway = %key.provider, dedup_key = %key.key, outcome = "handler_failed", error = %message,
            "handler failed: releasing the claim");
        if let Err(error) = self.inner.inbox.release(lease).await {
            tracing::warn!(gateway = %key.provider, dedup_key = %key.key, outcome = "release_failed", %error,
                "could not release the claim: it expires with its lease");
        }
        Delivery::new(
            Ack::text(500, "the merchant's handler failed; deliver it again later"),
            Outcome::HandlerFailed(key, message),
        )
    }

    /// The answer to an event that names no payment: the gateway's own rejection.
    fn unkeyed(&self, gateway: ProviderId, error: Error) -> Delivery {
        tracing::info!(%gateway, outcome = "rejected", %error, "event refused: it names no payment");
        let ack = self.gateway(gateway).map_or_else(|| Ack::rejection(&error), |p| p.reject_webhook(&error));
        Delivery::new(ack, Outcome::Rejected(error))
    }

    fn store_failed(key: &EventKey, error: Error) -> Delivery {
        tracing::warn!(gateway = %key.provider, dedup_key = %key.key, outcome = "store_failed", %error,
            "event store unreachable");
        Delivery::new(Ack::text(503, "the event store is unavailable"), Outcome::StoreFailed(error))
    }

    /// Claims `key`; while another delivery holds it, waits for that one to finish (done, or
    /// released by a failed handler) up to the in-flight wait, polling with a growing pause.
    async fn claim(&self, key: &EventKey) -> Result<Claim, Error> {
        let claim = match self.inner.inbox.claim_now(key, self.inner.lease) {
            Some(claim) => claim?,
            None => self.inner.inbox.claim(key, self.inner.lease).await?,
        };
        match claim {
            // Boxed: the wait is rare, and its timer would weigh on every delivery's future.
            Claim::InFlight => Box::pin(self.wait_in_flight(key)).await,
            claim => Ok(claim),
        }
    }

    /// [`claim`](Self::claim) after a first answer that `key` is in flight: the wait counts
    /// from that answer.
    async fn wait_in_flight(&self, key: &EventKey) -> Result<Claim, Error> {
        let started = tokio::time::Instant::now();
        let mut pause = Duration::from_millis(20);
        loop {
            if started.elapsed() + pause > self.inner.in_flight_wait {
                return Ok(Claim::InFlight);
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(250));
            let claim = self.inner.inbox.claim(key, self.inner.lease).await?;
            if claim != Claim::InFlight {
                return Ok(claim);
            }
        }
    }

    fn provider(&self, gateway: &str) -> Option<&Arc<dyn PaymentProvider>> {
        self.gateway(gateway.parse().ok()?)
    }
}

/// The answer to a webhook that could not be verified: the gateway's rejection (4xx) when the
/// webhook is at fault, a 5xx asking for a later delivery when it is not; the body is the
/// gateway's (`reject_webhook`), never the error's message.
fn unverified(provider: &dyn PaymentProvider, error: Error) -> Delivery {
    let gateway = provider.id();
    let ack = provider.reject_webhook(&error);
    if error.is_verification_failure() {
        tracing::info!(%gateway, outcome = "rejected", %error, "webhook refused");
        Delivery::new(ack, Outcome::Rejected(error))
    } else {
        tracing::warn!(%gateway, outcome = "verify_unavailable", %error,
            "webhook could not be verified now: asking for a later delivery");
        Delivery::new(ack, Outcome::VerifyUnavailable(error))
    }
}

/// Moves `record` to `state` with what `event` says of it (the gateway's id where the record
/// lacks it, its status word); whether the state changed (a record never moves back).
fn absorb(record: &mut WatchedPayment, event: &WebhookEvent, state: WatchState) -> bool {
    if !record.advance(state) {
        return false;
    }
    if record.provider_reference.is_none() {
        record.provider_reference.clone_from(&event.provider_reference);
    }
    record.provider_status = Some(event.provider_status.clone());
    true
}

/// A mismatch's kind as a log field's value.
fn mismatch_kind(kind: &MismatchKind) -> &'static str {
    match kind {
        MismatchKind::Amount { .. } => "amount",
        MismatchKind::UnknownPayment => "unknown_payment",
        MismatchKind::Conflict { .. } => "conflict",
        MismatchKind::PaidTwice { .. } => "paid_twice",
    }
}

/// Whether the ledger holds the payment a webhook claims to be about, looking the id up in the
/// namespace the gateway says it belongs to (never the other).
async fn ledger_knows(ledger: &dyn Ledger, provider: ProviderId, claim: &ClaimedId) -> Result<bool, Error> {
    let found = match claim.key {
        LookupKey::Reference => ledger.find_by_reference(provider, &claim.id).await?,
        LookupKey::ProviderReference => ledger.find_by_gateway_id(provider, &claim.id).await?,
        // A kind of id this receiver does not know how to look up: let the verification decide.
        _ => return Ok(true),
    };
    Ok(found.is_some())
}

/// What [`Receiver::record_of`] found.
#[derive(Default)]
struct Found {
    /// The payment's record.
    record: Option<WatchedPayment>,
    /// Whether the event's reference names another record than its gateway id does.
    conflict: bool,
}

impl fmt::Debug for Receiver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("gateways", &self.gateways().collect::<Vec<_>>())
            .field("inbox", &self.inner.inbox)
            .field("ledger", &self.inner.ledger)
            .field("lease", &self.inner.lease)
            .field("in_flight_wait", &self.inner.in_flight_wait)
            .field("in_flight", &self.in_flight())
            .field("draining", &self.is_draining())
            .finish_non_exhaustive()
    }
}
