//! The receiver: from a raw delivery to the gateway's answer, calling the handler once per event.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use gerbang_core::http::{HeaderMap, Method};
use gerbang_core::inbox::{Claim, EventKey, Inbox};
use gerbang_core::{Ack, Error, MAX_WEBHOOK_BODY_BYTES, PaymentProvider, ProviderId, WebhookEvent, WebhookRequest};

use crate::handler::Handler;

/// How long a claim holds by default: a handler that runs longer than this may be called a
/// second time by another replica's delivery.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(30);

/// How long a delivery of an event another delivery is handling waits for it by default, before
/// asking the gateway to deliver it again later (503). Gateways send copies at once; waiting a
/// moment lets each copy be answered with the success ack once the first is done.
pub const DEFAULT_IN_FLIGHT_WAIT: Duration = Duration::from_secs(3);

/// What the receiver did with a delivery, for logs, metrics and tests. The HTTP answer is in
/// [`Delivery`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Outcome {
    /// A new event: the handler was called and succeeded; the event is done.
    Handled(Box<WebhookEvent>),
    /// An event already handled: acknowledged, the handler not called.
    Duplicate(EventKey),
    /// An event another delivery was still handling after the
    /// [in-flight wait](ReceiverBuilder::in_flight_wait): answered 503 so that the gateway
    /// delivers it again later.
    InFlight(EventKey),
    /// The handler failed: the claim was released and the gateway answered 500, so that it
    /// delivers the event again. The handler's message.
    HandlerFailed(EventKey, String),
    /// The webhook failed verification (or is malformed): the gateway's own rejection.
    Rejected(Error),
    /// The inbox could not be reached: answered 503, nothing decided.
    StoreFailed(Error),
    /// No gateway of that name is configured here: 404.
    UnknownGateway(String),
    /// Not a POST: 405.
    MethodNotAllowed,
}

/// The answer to send back to the gateway, and what happened.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    /// The HTTP answer: status, body and content type.
    pub ack: Ack,
    /// What the receiver did.
    pub outcome: Outcome,
}

impl Delivery {
    fn new(ack: Ack, outcome: Outcome) -> Self {
        Self { ack, outcome }
    }
}

/// A webhook receiver for the gateways it was given. Cheap to clone (an `Arc` inside), so one
/// receiver serves every connection.
#[derive(Clone)]
pub struct Receiver {
    inner: Arc<Inner>,
}

struct Inner {
    providers: Vec<Arc<dyn PaymentProvider>>,
    inbox: Arc<dyn Inbox>,
    handler: Box<dyn Handler>,
    lease: Duration,
    in_flight_wait: Duration,
}

/// Builds a [`Receiver`].
pub struct ReceiverBuilder {
    providers: Vec<Arc<dyn PaymentProvider>>,
    inbox: Arc<dyn Inbox>,
    lease: Duration,
    in_flight_wait: Duration,
}

impl Receiver {
    /// Starts a receiver that records claims in `inbox`: a
    /// [`MemoryInbox`](gerbang_core::inbox::MemoryInbox) for one process, a Redis or Postgres
    /// one shared by every replica.
    pub fn builder(inbox: Arc<dyn Inbox>) -> ReceiverBuilder {
        ReceiverBuilder { providers: Vec::new(), inbox, lease: DEFAULT_LEASE, in_flight_wait: DEFAULT_IN_FLIGHT_WAIT }
    }

    /// The gateways it receives for.
    pub fn gateways(&self) -> impl Iterator<Item = ProviderId> + '_ {
        self.inner.providers.iter().map(|p| p.id())
    }

    /// Handles one delivery for `gateway` (its name, as in the URL: `cuan10pay`, `cashin`, …)
    /// and returns what to answer.
    pub async fn receive(
        &self,
        gateway: &str,
        method: Method,
        path: &str,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Delivery {
        let Some(provider) = self.provider(gateway) else {
            return Delivery::new(
                Ack::text(404, format!("no gateway `{gateway}` is configured here")),
                Outcome::UnknownGateway(gateway.to_owned()),
            );
        };
        if method != Method::POST {
            return Delivery::new(Ack::text(405, "webhooks are POSTed"), Outcome::MethodNotAllowed);
        }
        let request = WebhookRequest::new(method, path, headers, body);
        // The verifiers check the size too; checking first spares the parse of a huge body.
        if body.len() > MAX_WEBHOOK_BODY_BYTES {
            let error = request.check_body_size().err().unwrap_or_else(|| Error::decode("webhook body: too large"));
            return Delivery::new(provider.reject_webhook(&error), Outcome::Rejected(error));
        }
        let event = match provider.verify_webhook(&request).await {
            Ok(event) => event,
            Err(error) => {
                tracing::info!(gateway, %error, "webhook refused");
                return Delivery::new(provider.reject_webhook(&error), Outcome::Rejected(error));
            }
        };
        self.dispatch(event).await
    }

    /// Claims a verified event and calls the handler if it is new. This is the path every
    /// change takes however it was learnt (a webhook here, a status check by a reconciler), so
    /// that one change calls the handler once.
    pub async fn dispatch(&self, event: WebhookEvent) -> Delivery {
        let key = EventKey::of(&event);
        let lease = match self.claim(&key).await {
            Ok(Claim::New(lease)) => lease,
            Ok(Claim::Done) => {
                tracing::debug!(%key, "duplicate delivery acknowledged");
                return Delivery::new(event.ack, Outcome::Duplicate(key));
            }
            Ok(Claim::InFlight) => {
                tracing::debug!(%key, "event still in flight elsewhere: asking for a later delivery");
                return Delivery::new(
                    Ack::text(503, "this event is being handled; deliver it again later"),
                    Outcome::InFlight(key),
                );
            }
            Err(error) => {
                tracing::warn!(%key, %error, "inbox unreachable");
                return Delivery::new(Ack::text(503, "the event store is unavailable"), Outcome::StoreFailed(error));
            }
        };
        match self.inner.handler.handle(&event).await {
            Ok(()) => {
                match self.inner.inbox.complete(&lease).await {
                    Ok(true) => {}
                    Ok(false) => tracing::warn!(%key, "the lease ran out before the handler finished"),
                    // The handler ran: answering non-2xx would have it run again for nothing
                    // more than a lost marker, and the gateway's retry would then be handled
                    // again anyway. Log it and acknowledge.
                    Err(error) => tracing::warn!(%key, %error, "could not mark the event done"),
                }
                Delivery::new(event.ack.clone(), Outcome::Handled(Box::new(event)))
            }
            Err(error) => {
                let message = error.to_string();
                tracing::warn!(%key, error = %message, "handler failed: releasing the claim");
                if let Err(error) = self.inner.inbox.release(&lease).await {
                    tracing::warn!(%key, %error, "could not release the claim: it expires with its lease");
                }
                Delivery::new(
                    Ack::text(500, "the merchant's handler failed; deliver it again later"),
                    Outcome::HandlerFailed(key, message),
                )
            }
        }
    }

    /// Claims `key`; while another delivery holds it, waits for that one to finish (done, or
    /// released by a failed handler) up to the in-flight wait, polling with a growing pause.
    async fn claim(&self, key: &EventKey) -> Result<Claim, Error> {
        let started = tokio::time::Instant::now();
        let mut pause = Duration::from_millis(20);
        loop {
            let claim = self.inner.inbox.claim(key, self.inner.lease).await?;
            if claim != Claim::InFlight || started.elapsed() + pause > self.inner.in_flight_wait {
                return Ok(claim);
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(250));
        }
    }

    fn provider(&self, gateway: &str) -> Option<&Arc<dyn PaymentProvider>> {
        let id: ProviderId = gateway.parse().ok()?;
        self.inner.providers.iter().find(|p| p.id() == id)
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

    /// How long a claim holds (default [`DEFAULT_LEASE`]): longer than the handler ever takes.
    pub fn lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    /// The receiver, calling `handler` for each new event.
    pub fn build(self, handler: impl Handler) -> Receiver {
        Receiver {
            inner: Arc::new(Inner {
                providers: self.providers,
                inbox: self.inbox,
                handler: Box::new(handler),
                lease: self.lease,
                in_flight_wait: self.in_flight_wait,
            }),
        }
    }
}

impl fmt::Debug for Receiver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("gateways", &self.gateways().collect::<Vec<_>>())
            .field("inbox", &self.inner.inbox)
            .field("lease", &self.inner.lease)
            .field("in_flight_wait", &self.inner.in_flight_wait)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for ReceiverBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReceiverBuilder")
            .field("gateways", &self.providers.iter().map(|p| p.id()).collect::<Vec<_>>())
            .field("inbox", &self.inbox)
            .field("lease", &self.lease)
            .field("in_flight_wait", &self.in_flight_wait)
            .finish()
    }
}
