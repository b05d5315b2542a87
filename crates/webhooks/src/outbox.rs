//! Verify, enqueue, acknowledge; deliver later: the receiver's handler becomes an
//! [`Outbox`] write, and a [`Deliverer`] in every replica hands each message to the application
//! (a [`Sink`]: a Rust [`Handler`], or `gerbang webhook serve --forward-to`'s signed POST),
//! retrying on a schedule that lasts days. A slow or failing application never costs the
//! gateway a timeout, and an application down longer than the gateway retries loses nothing.
//!
//! ```no_run
//! use std::sync::Arc;
//! use gerbang_core::inbox::MemoryInbox;
//! use gerbang_core::outbox::{MemoryOutbox, Outbox};
//! use gerbang_webhooks::outbox::{Deliverer, Enqueue, HandlerSink};
//! use gerbang_webhooks::{Receiver, handler_fn};
//!
//! # async fn run() -> Result<(), gerbang_core::Error> {
//! let outbox: Arc<dyn Outbox> = Arc::new(MemoryOutbox::new());
//! // The receiver acknowledges each new event once it is in the outbox…
//! let receiver = Receiver::builder(Arc::new(MemoryInbox::new())).build(Enqueue::new(Arc::clone(&outbox)));
//! // …and the deliverer calls the handler, retrying it when it fails.
//! let handler = handler_fn(|event| async move {
//!     println!("{} is {}", event.reference.unwrap_or_default(), event.status);
//!     Ok::<(), std::io::Error>(())
//! });
//! let deliverer = Deliverer::builder(outbox, HandlerSink::new(handler)).build()?;
//! tokio::spawn(deliverer.run(std::future::pending()));
//! # let _ = receiver;
//! # Ok(())
//! # }
//! ```

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use gerbang_core::inbox::EventKey;
use gerbang_core::outbox::{Attempt, Message, Outbox, Taken};
use gerbang_core::time::OffsetDateTime;
use gerbang_core::{Error, WebhookEvent};
use serde::Serialize;

use crate::handler::{Handler, HandlerError};

/// How long a failed message waits before each next attempt; after the last, it is failed
/// (the dead letter).
///
/// The default is Svix's: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h, so eight attempts over about
/// 27 hours, long enough to ride out a night's outage and short enough to be told of it the
/// same day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetrySchedule(Vec<Duration>);

impl RetrySchedule {
    /// Waits of `delays`, one per retry, in order; empty: one attempt only.
    pub fn new(delays: Vec<Duration>) -> Self {
        Self(delays)
    }

    /// The waits, in order.
    pub fn delays(&self) -> &[Duration] {
        &self.0
    }

    /// How long to wait after the `attempts`-th failed attempt (counting from 1); `None` when it
    /// was the last.
    ///
    /// ```
    /// use std::time::Duration;
    /// use gerbang_webhooks::outbox::RetrySchedule;
    ///
    /// let schedule = RetrySchedule::default();
    /// assert_eq!(schedule.after(1), Some(Duration::from_secs(5)));
    /// assert_eq!(schedule.after(7), Some(Duration::from_secs(10 * 3600)));
    /// assert_eq!(schedule.after(8), None);
    /// ```
    pub fn after(&self, attempts: u32) -> Option<Duration> {
        let index = usize::try_from(attempts).ok()?.checked_sub(1)?;
        self.0.get(index).copied()
    }
}

impl Default for RetrySchedule {
    fn default() -> Self {
        let minutes = |m: u64| Duration::from_secs(m * 60);
        Self(vec![
            Duration::from_secs(5),
            minutes(5),
            minutes(30),
            minutes(120),
            minutes(300),
            minutes(600),
            minutes(600),
        ])
    }
}

/// Where a [`Deliverer`] hands each message: the application.
#[async_trait]
pub trait Sink: Send + Sync + 'static {
    /// Delivers one message (the same `id` on every attempt). `Ok` with the application's answer
    /// (`200 OK`, for the record) when it took it; an `Err` is retried on the schedule.
    async fn deliver(&self, message: &Message) -> Result<String, HandlerError>;
}

/// What each event becomes in the outbox, and what the application receives: the event as
/// JSON (DESIGN.md's `WebhookEvent`) with its `dedup_key`.
#[derive(Serialize)]
struct Body<'a> {
    #[serde(flatten)]
    event: &'a WebhookEvent,
    dedup_key: String,
}

/// The event as one line of JSON (the [`WebhookEvent`] and its `dedup_key`): what `gerbang
/// webhook serve` prints and forwards.
///
/// # Errors
///
/// [`Error::Decode`] when the event names no payment.
pub fn event_json(event: &WebhookEvent) -> Result<String, Error> {
    serde_json::to_string(&Body { dedup_key: event.dedup_key()?, event })
        .map_err(|e| Error::decode(format!("the event as JSON: {e}")))
}

/// The outbox message of `event`: its id is Standard Webhooks' `webhook-id` of the event's
/// stored dedup key ([`message_id`](gerbang_signing::standard_webhooks::message_id)), the same
/// for every copy of the webhook and for the status check that learns the same change.
///
/// # Errors
///
/// [`Error::Decode`] when the event names no payment.
pub fn message_of(event: &WebhookEvent) -> Result<Message, Error> {
    let id = gerbang_signing::standard_webhooks::message_id(&EventKey::of(event)?.stored());
    Message::of(event, id, event_json(event)?)
}

/// The receiver's [`Handler`] that writes each new event to an outbox and returns: the gateway
/// is acknowledged as soon as the event is stored. A [mismatch](crate::Mismatch) is not enqueued
/// (never delivered as paid); the receiver logs it.
#[derive(Debug, Clone)]
pub struct Enqueue {
    outbox: Arc<dyn Outbox>,
}

impl Enqueue {
    /// Enqueues into `outbox`: give the [`Deliverer`] the same one.
    pub fn new(outbox: Arc<dyn Outbox>) -> Self {
        Self { outbox }
    }
}

#[async_trait]
impl Handler for Enqueue {
    async fn handle(&self, event: &WebhookEvent) -> Result<(), HandlerError> {
        // A failure here (the store) releases the receiver's claim: the gateway is answered 500
        // and delivers the event again, so nothing is lost.
        self.outbox.enqueue(&message_of(event)?).await?;
        Ok(())
    }
}

/// A [`Sink`] calling a Rust [`Handler`] with each message's event. The event is the one that
/// was enqueued, read back from its JSON: its [`raw`](WebhookEvent::raw) body is not kept.
#[derive(Debug)]
pub struct HandlerSink<H>(H);

impl<H: Handler> HandlerSink<H> {
    /// Calls `handler` for each message.
    pub fn new(handler: H) -> Self {
        Self(handler)
    }
}

#[async_trait]
impl<H: Handler> Sink for HandlerSink<H> {
    async fn deliver(&self, message: &Message) -> Result<String, HandlerError> {
        let event: WebhookEvent = serde_json::from_str(&message.body)
            .map_err(|e| Error::decode(format!("outbox message {}: not an event ({e})", message.id)))?;
        self.0.handle(&event).await?;
        Ok("handled".to_owned())
    }
}

/// Takes due messages from an [`Outbox`] and hands each to a [`Sink`]. Run one in every
/// replica: the outbox's leases keep two from delivering one message at once. Cheap to clone.
#[derive(Clone)]
pub struct Deliverer {
    inner: Arc<Inner>,
}

struct Inner {
    outbox: Arc<dyn Outbox>,
    sink: Box<dyn Sink>,
    schedule: RetrySchedule,
    lease: Duration,
    timeout: Duration,
    batch: usize,
    poll: Duration,
    retention: Duration,
}

/// Builds a [`Deliverer`].
pub struct DelivererBuilder {
    outbox: Arc<dyn Outbox>,
    sink: Box<dyn Sink>,
    schedule: RetrySchedule,
    lease: Duration,
    timeout: Option<Duration>,
    batch: usize,
    poll: Duration,
    retention: Duration,
}

/// What one [round](Deliverer::deliver_due) came to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Round {
    /// Messages taken.
    pub taken: usize,
    /// Delivered.
    pub delivered: usize,
    /// Failed, to be retried.
    pub retried: usize,
    /// Failed for good (dead letters).
    pub failed: usize,
}

impl Deliverer {
    /// A deliverer from `outbox` to `sink`, with the default schedule, a 30 s lease, rounds of
    /// at most 32 messages, a look for due messages every second when idle, and a week's
    /// retention of delivered messages.
    pub fn builder(outbox: Arc<dyn Outbox>, sink: impl Sink) -> DelivererBuilder {
        DelivererBuilder {
            outbox,
            sink: Box::new(sink),
            schedule: RetrySchedule::default(),
            lease: Duration::from_secs(30),
            timeout: None,
            batch: 32,
            poll: Duration::from_secs(1),
            retention: Duration::from_secs(7 * 24 * 3600),
        }
    }

    /// Takes the messages due now (at most a batch) and delivers them side by side; settles
    /// each. A message whose lease ran out before it was settled (another replica took it) is
    /// counted `lease_lost` in `gerbang_outbox_deliveries_total`.
    ///
    /// # Errors
    ///
    /// The outbox's error when it cannot be reached: nothing was taken.
    pub async fn deliver_due(&self) -> Result<Round, Error> {
        let inner = &self.inner;
        let taken = inner.outbox.take(inner.batch, inner.lease).await?;
        let mut round = Round { taken: taken.len(), ..Round::default() };
        let settled = futures_util::future::join_all(taken.iter().map(|taken| self.deliver(taken))).await;
        for result in settled {
            match result {
                Some(Attempt::Delivered { .. }) => round.delivered += 1,
                Some(Attempt::Retry { .. }) => round.retried += 1,
                Some(Attempt::Failed { .. }) => round.failed += 1,
                None => {}
            }
        }
        Ok(round)
    }

    /// Delivers one taken message and settles it; what it came to (`None`: not settled).
    async fn deliver(&self, taken: &Taken) -> Option<Attempt> {
        let inner = &self.inner;
        let message = &taken.record.message;
        let answer = match tokio::time::timeout(inner.timeout, inner.sink.deliver(message)).await {
            Ok(answer) => answer,
            Err(_) => Err(format!("no answer within {:?}", inner.timeout).into()),
        };
        let attempts = taken.record.attempts.saturating_add(1);
        let attempt = match answer {
            Ok(answer) => Attempt::Delivered { answer },
            Err(error) => {
                let answer = error.to_string();
                match inner.schedule.after(attempts) {
                    Some(wait) => Attempt::Retry { answer, at: OffsetDateTime::now_utc() + wait },
                    None => Attempt::Failed { answer },
                }
            }
        };
        let result = attempt.as_str();
        match inner.outbox.settle(taken, attempt.clone()).await {
            Ok(true) => {}
            Ok(false) => {
                gerbang_core::metrics::outbox_delivery("lease_lost");
                tracing::warn!(message_id = %message.id, gateway = %message.gateway, result = "lease_lost",
                    "the lease ran out before the attempt was settled: another replica took the message over");
                return None;
            }
            Err(error) => {
                tracing::warn!(message_id = %message.id, gateway = %message.gateway, %error,
                    "could not record the attempt: the message is taken again after its lease");
                return None;
            }
        }
        gerbang_core::metrics::outbox_delivery(result);
        // The answer names the application by its host only (the sink's words), never a body.
        match &attempt {
            Attempt::Delivered { .. } => tracing::info!(message_id = %message.id, gateway = %message.gateway,
                status = %message.status, attempts, result, "delivered"),
            Attempt::Retry { .. } => tracing::warn!(message_id = %message.id, gateway = %message.gateway,
                status = %message.status, attempts, result, answer = attempt.answer(), "delivery failed: retrying later"),
            Attempt::Failed { .. } => {
                tracing::error!(message_id = %message.id, gateway = %message.gateway, status = %message.status,
                attempts, result, answer = attempt.answer(),
                "delivery failed for the last time: the message is failed (`gerbang events replay` sends it again)")
            }
        }
        Some(attempt)
    }

    /// Counts the outbox's messages for the metrics and forgets the delivered ones past the
    /// retention.
    ///
    /// # Errors
    ///
    /// The outbox's error.
    pub async fn housekeep(&self) -> Result<(), Error> {
        let now = OffsetDateTime::now_utc();
        self.inner.outbox.prune(now - self.inner.retention).await?;
        gerbang_core::metrics::outbox_stats(&self.inner.outbox.stats().await?, now);
        Ok(())
    }

    /// Delivers until `stop` completes: a round at once after a busy one, else after the poll
    /// interval; the outbox counted and pruned every 10 s. An outbox that cannot be reached is
    /// tried again after the poll interval. A round under way when `stop` completes is finished
    /// first (each delivery is bounded by the timeout).
    pub async fn run(self, stop: impl Future<Output = ()> + Send) {
        const HOUSEKEEPING: Duration = Duration::from_secs(10);
        tokio::pin!(stop);
        let mut kept = tokio::time::Instant::now() - HOUSEKEEPING;
        loop {
            if kept.elapsed() >= HOUSEKEEPING {
                if let Err(error) = self.housekeep().await {
                    tracing::warn!(%error, "could not count or prune the outbox");
                }
                kept = tokio::time::Instant::now();
            }
            let busy = match self.deliver_due().await {
                Ok(round) => round.taken > 0,
                Err(error) => {
                    tracing::warn!(%error, "the outbox cannot be reached: delivering again later");
                    false
                }
            };
            if busy {
                // Let the stop through between busy rounds.
                tokio::select! {
                    biased;
                    () = &mut stop => return,
                    () = tokio::task::yield_now() => {}
                }
                continue;
            }
            tokio::select! {
                () = &mut stop => return,
                () = tokio::time::sleep(self.inner.poll) => {}
            }
        }
    }
}

impl DelivererBuilder {
    /// The waits between attempts (default [`RetrySchedule::default`]).
    pub fn retry(mut self, schedule: RetrySchedule) -> Self {
        self.schedule = schedule;
        self
    }

    /// How long a taken message is this replica's (default 30 s): past it, another replica
    /// takes it, so it must be longer than a delivery can take.
    pub fn lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    /// How long a delivery may take before it counts as failed (default: half the lease).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// How many messages a round takes at most (default 32), delivered side by side.
    pub fn batch(mut self, batch: usize) -> Self {
        self.batch = batch.max(1);
        self
    }

    /// How often an idle deliverer looks for due messages (default 1 s).
    pub fn poll(mut self, poll: Duration) -> Self {
        self.poll = poll;
        self
    }

    /// How long delivered and superseded messages are kept, for `gerbang events list` and
    /// replay (default 7 days).
    pub fn retention(mut self, retention: Duration) -> Self {
        self.retention = retention;
        self
    }

    /// The deliverer.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when the timeout is not shorter than the lease: another replica could
    /// then deliver the same message while this one still waits.
    pub fn build(self) -> Result<Deliverer, Error> {
        let timeout = self.timeout.unwrap_or(self.lease / 2);
        if timeout.is_zero() || timeout >= self.lease {
            return Err(Error::config(format!(
                "the delivery timeout ({timeout:?}) must be more than 0 and shorter than the lease ({:?}): past the \
                 lease another replica may deliver the same message while this one still waits",
                self.lease
            )));
        }
        Ok(Deliverer {
            inner: Arc::new(Inner {
                outbox: self.outbox,
                sink: self.sink,
                schedule: self.schedule,
                lease: self.lease,
                timeout,
                batch: self.batch,
                poll: self.poll,
                retention: self.retention,
            }),
        })
    }
}

impl fmt::Debug for Deliverer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.inner;
        f.debug_struct("Deliverer")
            .field("outbox", &inner.outbox)
            .field("schedule", &inner.schedule)
            .field("lease", &inner.lease)
            .field("timeout", &inner.timeout)
            .field("batch", &inner.batch)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for DelivererBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DelivererBuilder")
            .field("outbox", &self.outbox)
            .field("lease", &self.lease)
            .finish_non_exhaustive()
    }
}
