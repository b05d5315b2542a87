//! The outbox of one process.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use time::OffsetDateTime;

use super::{Attempt, DeliveryState, Enqueued, Message, Outbox, Query, Record, Replay, Stats, Taken};
use crate::Error;

/// The in-memory [`Outbox`]: the default, for one process (the quickstart, tests, a single
/// replica). What it holds is lost with the process: a receiver that must not lose an event its
/// gateway has stopped retrying keeps its outbox in Redis or Postgres. Delivered messages are
/// kept until [pruned](Outbox::prune).
///
/// ```
/// use std::time::Duration;
/// use gerbang_core::outbox::{Attempt, Enqueued, Message, MemoryOutbox, Outbox};
/// use gerbang_core::{Ack, PaymentStatus, ProviderId, WebhookEvent};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), gerbang_core::Error> {
/// let outbox = MemoryOutbox::new();
/// let mut event = WebhookEvent::new(ProviderId::Cuan10pay, PaymentStatus::Paid, "SUCCESS", Ack::text(200, "ok"));
/// event.provider_reference = Some("D-1".into());
/// let message = Message::of(&event, "msg_1", r#"{"status":"paid"}"#)?;
/// assert_eq!(outbox.enqueue(&message).await?, Enqueued::New);
/// assert_eq!(outbox.enqueue(&message).await?, Enqueued::Already);
///
/// let taken = outbox.take(10, Duration::from_secs(30)).await?;
/// assert_eq!(taken.len(), 1);
/// assert!(outbox.take(10, Duration::from_secs(30)).await?.is_empty(), "leased");
/// assert!(outbox.settle(&taken[0], Attempt::Delivered { answer: "200 OK".into() }).await?);
/// # Ok(())
/// # }
/// ```
#[derive(Default)]
pub struct MemoryOutbox {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// The order of enqueueing.
    seq: u64,
    entries: HashMap<String, Entry>,
    payments: HashMap<String, Payment>,
    /// Each payment with pending messages, by when it is next worth a look: when its first
    /// message is due, or when its lease runs out (then the payment's first-seen order), so
    /// that `take` walks only what is due.
    due: BTreeSet<(OffsetDateTime, u64, String)>,
}

struct Entry {
    seq: u64,
    record: Record,
    /// The holder of the last take, and until when its lease runs.
    lease: Option<(String, OffsetDateTime)>,
    /// Replayed since it was enqueued: never superseded.
    replayed: bool,
}

#[derive(Default)]
struct Payment {
    /// The pending messages, in the order they go out: rank, then enqueueing.
    pending: BTreeSet<(u8, u64, String)>,
    /// The highest rank delivered.
    delivered: Option<u8>,
    /// How many messages of the payment are kept.
    kept: usize,
    /// When the payment was first seen, in the order of enqueueing: ties in `due` go by it.
    order: u64,
    /// Its place in `due`, while it has one.
    scheduled: Option<OffsetDateTime>,
}

impl MemoryOutbox {
    /// An empty outbox.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl fmt::Debug for MemoryOutbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryOutbox").field("messages", &self.lock().entries.len()).finish()
    }
}

impl State {
    /// The next message of `payment` to take at `now`, superseding on the way those ranked below
    /// a delivered one; `None` while one of its messages is under lease or its first waits.
    fn head(&mut self, payment: &str, now: OffsetDateTime) -> Option<(OffsetDateTime, u64, String)> {
        let Self { entries, payments, .. } = self;
        let p = payments.get_mut(payment)?;
        let leased = |id: &str| entries.get(id).and_then(|e| e.lease.as_ref()).is_some_and(|(_, until)| *until > now);
        if p.pending.iter().any(|(_, _, id)| leased(id)) {
            return None;
        }
        while let Some((rank, seq, id)) = p.pending.first().cloned() {
            let entry = entries.get_mut(&id)?;
            if !entry.replayed && p.delivered.is_some_and(|delivered| delivered > rank) {
                p.pending.pop_first();
                entry.record.state = DeliveryState::Superseded;
                entry.record.next_attempt = None;
                entry.record.settled_at = Some(now);
                entry.lease = None;
                continue;
            }
            let due = entry.record.next_attempt.unwrap_or(now);
            return (due <= now).then_some((due, seq, id));
        }
        None
    }

    /// Puts `payment` in `due` at the time it is next worth a look: the end of a lease one of
    /// its pending messages is under, else when its first pending message is due; out of it
    /// when nothing of it is pending.
    fn schedule(&mut self, payment: &str, now: OffsetDateTime) {
        let Self { entries, payments, due, .. } = self;
        let Some(p) = payments.get_mut(payment) else { return };
        if let Some(at) = p.scheduled.take() {
            due.remove(&(at, p.order, payment.to_owned()));
        }
        let entry = |id: &str| entries.get(id);
        let leased = p
            .pending
            .iter()
            .filter_map(|(_, _, id)| entry(id).and_then(|e| e.lease.as_ref()).map(|(_, until)| *until))
            .filter(|until| *until > now)
            .min();
        let first = p.pending.first().and_then(|(_, _, id)| entry(id)).map(|e| e.record.next_attempt.unwrap_or(now));
        if let Some(at) = leased.or(first) {
            p.scheduled = Some(at);
            due.insert((at, p.order, payment.to_owned()));
        }
    }

    /// Makes `id` pending and due now, its attempts from zero; whether it was here.
    fn replay(&mut self, id: &str, now: OffsetDateTime) -> bool {
        let Some(entry) = self.entries.get_mut(id) else { return false };
        entry.replayed = true;
        let record = &mut entry.record;
        if record.state != DeliveryState::Pending {
            record.state = DeliveryState::Pending;
            record.settled_at = None;
            entry.lease = None;
            let payment = self.payments.entry(record.message.payment.clone()).or_default();
            payment.pending.insert((record.message.rank, entry.seq, id.to_owned()));
        }
        record.attempts = 0;
        record.next_attempt = Some(now);
        let payment = record.message.payment.clone();
        self.schedule(&payment, now);
        true
    }
}

#[async_trait]
impl Outbox for MemoryOutbox {
    async fn enqueue(&self, message: &Message) -> Result<Enqueued, Error> {
        let now = OffsetDateTime::now_utc();
        let mut state = self.lock();
        if state.entries.contains_key(&message.id) {
            return Ok(Enqueued::Already);
        }
        state.seq += 1;
        let seq = state.seq;
        let payment = state
            .payments
            .entry(message.payment.clone())
            .or_insert_with(|| Payment { order: seq, ..Payment::default() });
        payment.kept += 1;
        let superseded = payment.delivered.is_some_and(|delivered| delivered > message.rank);
        if !superseded {
            payment.pending.insert((message.rank, seq, message.id.clone()));
        }
        let record = Record {
            message: message.clone(),
            state: if superseded { DeliveryState::Superseded } else { DeliveryState::Pending },
            attempts: 0,
            last_answer: None,
            received_at: now,
            next_attempt: (!superseded).then_some(now),
            settled_at: superseded.then_some(now),
        };
        state.entries.insert(message.id.clone(), Entry { seq, record, lease: None, replayed: false });
        if !superseded {
            state.schedule(&message.payment, now);
        }
        Ok(if superseded { Enqueued::Superseded } else { Enqueued::New })
    }

    async fn take(&self, limit: usize, lease: Duration) -> Result<Vec<Taken>, Error> {
        let now = OffsetDateTime::now_utc();
        let until = now + lease;
        let mut state = self.lock();
        let mut taken = Vec::new();
        // Each payment looked at once per take, rescheduled after: a zero lease cannot loop.
        let mut looked = Vec::new();
        while taken.len() < limit {
            match state.due.first() {
                Some((at, ..)) if *at <= now => {}
                _ => break,
            }
            let Some((_, _, payment)) = state.due.pop_first() else { break };
            if let Some(p) = state.payments.get_mut(&payment) {
                p.scheduled = None;
            }
            if let Some((_, _, id)) = state.head(&payment, now)
                && let Some(entry) = state.entries.get_mut(&id)
            {
                let holder = Taken::new_holder();
                entry.lease = Some((holder.clone(), until));
                taken.push(Taken { record: entry.record.clone(), holder });
            }
            looked.push(payment);
        }
        for payment in looked {
            state.schedule(&payment, now);
        }
        Ok(taken)
    }

    async fn settle(&self, taken: &Taken, attempt: Attempt) -> Result<bool, Error> {
        let now = OffsetDateTime::now_utc();
        let mut state = self.lock();
        let State { entries, payments, .. } = &mut *state;
        let Some(entry) = entries.get_mut(&taken.record.message.id) else { return Ok(false) };
        let ours = entry.lease.as_ref().is_some_and(|(holder, _)| *holder == taken.holder);
        if !ours || entry.record.state != DeliveryState::Pending {
            return Ok(false);
        }
        entry.lease = None;
        let record = &mut entry.record;
        record.attempts += 1;
        record.last_answer = Some(attempt.answer().to_owned());
        let payment = record.message.payment.clone();
        let settled = match attempt {
            Attempt::Retry { at, .. } => {
                record.next_attempt = Some(at);
                state.schedule(&payment, now);
                return Ok(true);
            }
            Attempt::Delivered { .. } => DeliveryState::Delivered,
            Attempt::Failed { .. } => DeliveryState::Failed,
        };
        record.state = settled;
        record.next_attempt = None;
        record.settled_at = Some(now);
        if let Some(payment) = payments.get_mut(&record.message.payment) {
            payment.pending.remove(&(record.message.rank, entry.seq, record.message.id.clone()));
            if settled == DeliveryState::Delivered {
                payment.delivered = payment.delivered.max(Some(record.message.rank));
            }
        }
        state.schedule(&payment, now);
        Ok(true)
    }

    async fn list(&self, query: &Query) -> Result<Vec<Record>, Error> {
        let state = self.lock();
        let mut found: Vec<&Entry> = state
            .entries
            .values()
            .filter(|e| query.state.is_none_or(|s| e.record.state == s))
            .filter(|e| query.since.is_none_or(|since| e.record.received_at >= since))
            .collect();
        found.sort_unstable_by_key(|e| e.seq);
        Ok(found.into_iter().take(query.limit).map(|e| e.record.clone()).collect())
    }

    async fn replay(&self, replay: &Replay) -> Result<u64, Error> {
        let now = OffsetDateTime::now_utc();
        let mut state = self.lock();
        let ids: Vec<String> = match replay {
            Replay::Ids(ids) => ids.clone(),
            Replay::Since(since) => {
                state.entries.iter().filter(|(_, e)| e.record.received_at >= *since).map(|(id, _)| id.clone()).collect()
            }
        };
        Ok(ids.iter().filter(|id| state.replay(id, now)).count() as u64)
    }

    async fn prune(&self, before: OffsetDateTime) -> Result<u64, Error> {
        let mut state = self.lock();
        let State { entries, payments, .. } = &mut *state;
        let mut pruned = 0;
        entries.retain(|_, entry| {
            let record = &entry.record;
            let done = matches!(record.state, DeliveryState::Delivered | DeliveryState::Superseded);
            let keep = !done || record.settled_at.is_none_or(|at| at >= before);
            if !keep {
                pruned += 1;
                if let Some(payment) = payments.get_mut(&record.message.payment) {
                    payment.kept -= 1;
                    if payment.kept == 0 {
                        payments.remove(&record.message.payment);
                    }
                }
            }
            keep
        });
        Ok(pruned)
    }

    async fn stats(&self) -> Result<Stats, Error> {
        let state = self.lock();
        let mut stats = Stats::default();
        for entry in state.entries.values() {
            let record = &entry.record;
            match record.state {
                DeliveryState::Pending => {
                    stats.pending += 1;
                    stats.oldest_pending = Some(match stats.oldest_pending {
                        Some(oldest) => oldest.min(record.received_at),
                        None => record.received_at,
                    });
                }
                DeliveryState::Delivered => stats.delivered += 1,
                DeliveryState::Failed => stats.failed += 1,
                DeliveryState::Superseded => stats.superseded += 1,
            }
        }
        Ok(stats)
    }
}
