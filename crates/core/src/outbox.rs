//! The outbox: each new event kept, durably, until the application has taken it.
//!
//! A receiver that forwards events (`gerbang webhook serve --forward-to`) or hands them to a
//! handler that may be slow writes each verified, newly claimed event to an [`Outbox`] in the
//! same store as its inbox, and acknowledges the gateway at once. A deliverer in every replica
//! [takes](Outbox::take) the messages that are due, delivers each, and [settles](Outbox::settle)
//! the attempt: delivered, to be retried at a later time, or failed for good (the dead letter).
//! The gateway's retries no longer bound how long the application may be down.
//!
//! # Guarantees every outbox keeps
//!
//! - **Once per id.** A [`Message`]'s id is its event's (the same on every copy of a webhook and
//!   on the status check that learns the same change): enqueueing it again changes nothing.
//! - **One deliverer at a time.** A taken message is leased to its taker: no one else takes it
//!   until the lease runs out (its taker died) or it is settled; a taker whose lease ran out can
//!   no longer settle it. So a message is delivered at least once, and twice only when a taker
//!   died (or overran its lease) mid-delivery.
//! - **In order per payment.** Of a payment's pending messages only the first is ever taken:
//!   the lowest [`rank`] (`pending` before `paid`, `paid` before `refunded`), then the first
//!   enqueued; while one of them is being delivered or waits for its retry, the others wait
//!   behind it. A message ranked below one of its payment's already delivered (a `pending`
//!   learnt after its `paid` went out) is [`Superseded`](DeliveryState::Superseded), never
//!   sent. A [replayed](Outbox::replay) message is sent all the same: someone asked for it.
//!
//! [`MemoryOutbox`] is the outbox of one process; `gerbang-redis` (Redis Streams) and
//! `gerbang-postgres` (`FOR UPDATE SKIP LOCKED`) share one between replicas. All three pass
//! the same contract (`gerbang-testkit`'s `check_outbox_contract`).

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::{Error, PaymentStatus, ProviderId, WebhookEvent};

mod memory;

pub use memory::MemoryOutbox;

/// One event to deliver, as enqueued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// The message's id, stable for its event: the same on every attempt and every replay
    /// (Standard Webhooks' `webhook-id`), so that the application's own dedup holds.
    pub id: String,
    /// The gateway that reported the event.
    pub gateway: ProviderId,
    /// The payment the event is about, as the outbox orders by it: [`payment_key`].
    pub payment: String,
    /// The merchant's reference, when known.
    pub reference: Option<String>,
    /// The gateway's id of the payment, when known.
    pub provider_reference: Option<String>,
    /// The normalised status word (`pending`, `paid`, …).
    pub status: String,
    /// Where the status stands in a payment's life: [`rank`].
    pub rank: u8,
    /// What is delivered: the event as one JSON document.
    pub body: String,
}

impl Message {
    /// The message of `event`, delivering `body` as message `id`.
    ///
    /// # Errors
    ///
    /// [`Error::Decode`] when the event names no payment ([`WebhookEvent::dedup_key`]).
    pub fn of(event: &WebhookEvent, id: impl Into<String>, body: impl Into<String>) -> Result<Self, Error> {
        Ok(Self {
            id: id.into(),
            gateway: event.provider,
            payment: payment_key(event)?,
            reference: event.reference.clone(),
            provider_reference: event.provider_reference.clone(),
            status: event.status.as_str().to_owned(),
            rank: rank(&event.status),
            body: body.into(),
        })
    }
}

/// The key every outbox groups a payment's messages by: its event's
/// [dedup key](WebhookEvent::dedup_key) without the status (the gateway and the payment's id), in
/// the [stored](crate::inbox::EventKey::stored) form, so that any id fits every store.
///
/// ```
/// use gerbang_core::outbox::payment_key;
/// use gerbang_core::{Ack, PaymentStatus, ProviderId, WebhookEvent};
///
/// let mut paid = WebhookEvent::new(ProviderId::Cuan10pay, PaymentStatus::Paid, "SUCCESS", Ack::text(200, "ok"));
/// paid.provider_reference = Some("D-1".into());
/// let mut pending = paid.clone();
/// pending.status = PaymentStatus::Pending;
/// assert_eq!(payment_key(&paid)?, "cuan10pay:D-1");
/// assert_eq!(payment_key(&paid)?, payment_key(&pending)?);
/// # Ok::<(), gerbang_core::Error>(())
/// ```
///
/// # Errors
///
/// [`Error::Decode`] when the event names no payment.
pub fn payment_key(event: &WebhookEvent) -> Result<String, Error> {
    let key = event.dedup_key()?;
    // The status is the last `:`-separated part, and no part holds a `:` (see `inbox::key`).
    let payment = key.rsplit_once(':').map_or(key.as_str(), |(payment, _)| payment);
    Ok(crate::inbox::key::stored(payment).into_owned())
}

/// Where a status stands in a payment's life, for the outbox's order: `pending` (and a status
/// no mapping knows) 0, the outcomes (`paid`, `expired`, `cancelled`, `failed`) 1, `refunded` 2.
/// A payment's messages go out lowest rank first; one ranked below a message already delivered
/// is superseded. Outcomes share a rank: a gateway that says `expired` then `paid` (a late
/// transfer it accepted) has both delivered, in the order learnt.
pub fn rank(status: &PaymentStatus) -> u8 {
    match status {
        PaymentStatus::Pending | PaymentStatus::Unknown(_) => 0,
        PaymentStatus::Refunded => 2,
        _ => 1,
    }
}

/// Where a message stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Not delivered yet: due now, or at its next attempt.
    Pending,
    /// The application took it (answered 2xx; a handler returned `Ok`).
    Delivered,
    /// Every attempt of the retry schedule failed: the dead letter. A
    /// [replay](Outbox::replay) makes it pending again.
    Failed,
    /// A later state of its payment had been delivered before it could be: not sent.
    Superseded,
}

impl DeliveryState {
    /// Every state.
    pub const ALL: [Self; 4] = [Self::Pending, Self::Delivered, Self::Failed, Self::Superseded];

    /// The state's word: `pending`, `delivered`, `failed`, `superseded`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
            Self::Superseded => "superseded",
        }
    }
}

impl fmt::Display for DeliveryState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for DeliveryState {
    type Err = Error;

    fn from_str(word: &str) -> Result<Self, Error> {
        Self::ALL.into_iter().find(|state| state.as_str() == word).ok_or_else(|| {
            Error::config(format!(
                "`{word}` is not a delivery state: expected pending, delivered, failed or superseded"
            ))
        })
    }
}

/// A message and where it stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Record {
    /// The message.
    #[serde(flatten)]
    pub message: Message,
    /// Where it stands.
    pub state: DeliveryState,
    /// How many times delivery was attempted since it was enqueued or last replayed.
    pub attempts: u32,
    /// What the last attempt came to (`200 OK`, `the application at host answered 503`, …).
    pub last_answer: Option<String>,
    /// When it was enqueued.
    #[serde(with = "time::serde::rfc3339")]
    pub received_at: OffsetDateTime,
    /// When it is next due, while pending.
    #[serde(with = "time::serde::rfc3339::option")]
    pub next_attempt: Option<OffsetDateTime>,
    /// When it was delivered, failed or superseded.
    #[serde(with = "time::serde::rfc3339::option")]
    pub settled_at: Option<OffsetDateTime>,
}

/// A message [taken](Outbox::take) for delivery: only its holder may settle it, while the lease
/// lasts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Taken {
    /// The message and where it stood when taken (its `attempts` not yet counting this one).
    pub record: Record,
    /// A token unique to this take.
    pub holder: String,
}

impl Taken {
    /// A holder token no other take has (per process random, then a counter), for an outbox's
    /// [`take`](Outbox::take).
    pub fn new_holder() -> String {
        crate::inbox::holder_token()
    }
}

/// What a delivery attempt came to, for [`Outbox::settle`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// Delivered: the message is done.
    Delivered {
        /// The application's answer, for the record.
        answer: String,
    },
    /// Not delivered: try again at `at`.
    Retry {
        /// Why it failed, for the record.
        answer: String,
        /// When it is due again.
        at: OffsetDateTime,
    },
    /// Not delivered, and no attempt is left: the message is [failed](DeliveryState::Failed).
    Failed {
        /// Why the last attempt failed, for the record.
        answer: String,
    },
}

impl Attempt {
    /// What it came to, as the `result` label of `gerbang_outbox_deliveries_total` and the
    /// deliverer's logs: `delivered`, `retry` or `failed`.
    pub const fn as_str(&self) -> &'static str {
        match self {
            Self::Delivered { .. } => "delivered",
            Self::Retry { .. } => "retry",
            Self::Failed { .. } => "failed",
        }
    }

    /// The answer it records.
    pub fn answer(&self) -> &str {
        match self {
            Self::Delivered { answer } | Self::Retry { answer, .. } | Self::Failed { answer } => answer,
        }
    }
}

/// What [`Outbox::enqueue`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enqueued {
    /// Kept, pending, due now.
    New,
    /// A message of that id was there already: nothing changed.
    Already,
    /// Kept as [superseded](DeliveryState::Superseded): a later state of its payment was
    /// delivered already.
    Superseded,
}

/// Which messages [`Outbox::list`] returns: those of `state` (any, if `None`) received at or
/// after `since`, the first `limit` in the order they were enqueued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// Only messages in this state.
    pub state: Option<DeliveryState>,
    /// Only messages received at or after this time.
    pub since: Option<OffsetDateTime>,
    /// At most this many.
    pub limit: usize,
}

impl Default for Query {
    /// Every message, at most 100.
    fn default() -> Self {
        Self { state: None, since: None, limit: 100 }
    }
}

/// Which messages [`Outbox::replay`] delivers again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Replay {
    /// These ids.
    Ids(Vec<String>),
    /// Every message received at or after this time.
    Since(OffsetDateTime),
}

/// How many messages are in each state, and how old the oldest pending one is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Pending messages.
    pub pending: u64,
    /// Delivered messages, until their retention.
    pub delivered: u64,
    /// Failed messages (dead letters).
    pub failed: u64,
    /// Superseded messages, until their retention.
    pub superseded: u64,
    /// When the oldest pending message was received.
    pub oldest_pending: Option<OffsetDateTime>,
}

impl Stats {
    /// The count of `state`.
    pub const fn count(&self, state: DeliveryState) -> u64 {
        match state {
            DeliveryState::Pending => self.pending,
            DeliveryState::Delivered => self.delivered,
            DeliveryState::Failed => self.failed,
            DeliveryState::Superseded => self.superseded,
        }
    }
}

/// Where messages wait for delivery. Implementations: [`MemoryOutbox`] here, Redis and Postgres
/// in their crates. Every time is the outbox's own clock (the process's for memory, the server's
/// where it has one), so that replicas with skewed clocks agree on leases.
#[async_trait]
pub trait Outbox: Send + Sync + fmt::Debug {
    /// Keeps `message`, pending and due now, unless a message of its id is here already
    /// ([`Enqueued::Already`], nothing changed) or a later state of its payment was delivered
    /// ([`Enqueued::Superseded`], kept as such, never sent).
    async fn enqueue(&self, message: &Message) -> Result<Enqueued, Error>;

    /// Takes up to `limit` messages that are due, each leased for `lease` to the caller: the
    /// first pending message of each payment (see the [module](self)), none of a payment with
    /// a message under lease. A message it finds ranked below one of its payment's delivered
    /// messages is marked superseded instead of taken. The oldest due first.
    async fn take(&self, limit: usize, lease: Duration) -> Result<Vec<Taken>, Error>;

    /// Records what the attempt on `taken` came to, and counts it. Returns `false`, changing
    /// nothing, when the lease had run out and the message was taken again (or settled, or
    /// replayed): the attempt still happened, which the application's dedup absorbs.
    async fn settle(&self, taken: &Taken, attempt: Attempt) -> Result<bool, Error>;

    /// The messages `query` names, in the order they were enqueued.
    async fn list(&self, query: &Query) -> Result<Vec<Record>, Error>;

    /// Makes the messages `replay` names pending and due now, their attempts counted from zero
    /// (one under lease keeps its lease); returns how many it found. Each is delivered again
    /// under its own id, in its payment's order, and never superseded (someone asked for it,
    /// a later state delivered or not).
    async fn replay(&self, replay: &Replay) -> Result<u64, Error>;

    /// Forgets the delivered and superseded messages settled before `before`; returns how many.
    /// Pending and failed messages are kept.
    async fn prune(&self, before: OffsetDateTime) -> Result<u64, Error>;

    /// How many messages are in each state.
    async fn stats(&self) -> Result<Stats, Error>;

    /// Whether the store answers (see [`Inbox::ping`](crate::inbox::Inbox::ping)).
    async fn ping(&self) -> Result<(), Error> {
        Ok(())
    }
}
