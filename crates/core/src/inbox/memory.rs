//! [`MemoryInbox`]: the inbox in this process's memory, bounded, with its keys in the order they
//! are forgotten.

use std::cmp::Reverse;
use std::collections::hash_map::RandomState;
use std::collections::{BinaryHeap, VecDeque};
use std::fmt;
use std::hash::BuildHasher;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use hashbrown::HashTable;

use super::{Claim, EventKey, Inbox, Lease, holder_number, numbered_holder};
use crate::{Error, ProviderId};

/// The in-memory [`Inbox`]: the default, for one process (the quickstart, tests, a single
/// replica). Done markers are kept for `retention` (default 7 days, longer than any gateway
/// retries) and at most `capacity` keys (default 100 000), the oldest forgotten first. Keys are
/// kept in their [stored](EventKey::stored) form, like every inbox. Once full, each new key
/// forgets the oldest in O(log n): its memory and its time per event stay flat however many
/// events it sees.
///
/// ```
/// use gerbang_core::inbox::{Claim, EventKey, Inbox, MemoryInbox};
/// use gerbang_core::ProviderId;
/// use std::time::Duration;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), gerbang_core::Error> {
/// let inbox = MemoryInbox::new();
/// let key = EventKey { provider: ProviderId::Cuan10pay, key: "cuan10pay:CP-1:paid".into() };
/// let Claim::New(lease) = inbox.claim(&key, Duration::from_secs(30)).await? else { unreachable!() };
/// assert_eq!(inbox.claim(&key, Duration::from_secs(30)).await?, Claim::InFlight);
/// assert!(inbox.complete(&lease).await?);
/// assert_eq!(inbox.claim(&key, Duration::from_secs(30)).await?, Claim::Done);
/// # Ok(())
/// # }
/// ```
pub struct MemoryInbox {
    slots: Mutex<Slots>,
}

impl MemoryInbox {
    /// An empty inbox with the default retention and capacity.
    pub fn new() -> Self {
        Self::with_limits(Duration::from_secs(7 * 24 * 3600), 100_000)
    }

    /// An empty inbox keeping done markers for `retention`, and at most `capacity` keys.
    pub fn with_limits(retention: Duration, capacity: usize) -> Self {
        Self { slots: Mutex::new(Slots::new(retention, capacity)) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Slots> {
        self.slots.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn claim_here(&self, key: &EventKey, lease: Duration) -> Claim {
        // Kept in its stored form, as the other inboxes keep it, so that memory holds the same
        // keys apart and a 10 KB id costs 65 bytes.
        let stored = key.stored();
        let mut slots = self.lock();
        // Read under the lock, as every instant the slots are given: see `Slots::done`.
        let now = Instant::now();
        slots.claim(key.provider, &stored, now, now + lease, || {
            let (number, holder) = numbered_holder();
            (number, Lease { key: key.clone(), holder, duration: lease })
        })
    }

    fn complete_here(&self, lease: &Lease) -> bool {
        let stored = lease.key.stored();
        let mut slots = self.lock();
        let now = Instant::now();
        holder_number(&lease.holder).is_some_and(|holder| slots.complete(lease.key.provider, &stored, holder, now))
    }
}

impl Default for MemoryInbox {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for MemoryInbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let slots = self.lock();
        f.debug_struct("MemoryInbox")
            .field("keys", &slots.keys())
            .field("retention", &slots.retention)
            .field("capacity", &slots.capacity)
            .finish()
    }
}

#[async_trait]
impl Inbox for MemoryInbox {
    async fn claim(&self, key: &EventKey, lease: Duration) -> Result<Claim, Error> {
        Ok(self.claim_here(key, lease))
    }

    async fn complete(&self, lease: &Lease) -> Result<bool, Error> {
        Ok(self.complete_here(lease))
    }

    async fn release(&self, lease: &Lease) -> Result<bool, Error> {
        let stored = lease.key.stored();
        Ok(holder_number(&lease.holder).is_some_and(|holder| self.lock().release(lease.key.provider, &stored, holder)))
    }

    fn claim_now(&self, key: &EventKey, lease: Duration) -> Option<Result<Claim, Error>> {
        Some(Ok(self.claim_here(key, lease)))
    }

    fn complete_now(&self, lease: &Lease) -> Option<Result<bool, Error>> {
        Some(Ok(self.complete_here(lease)))
    }
}

/// A key's state.
#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    /// `holder` is the number of the lease's [holder token](super::holder_token): only a token
    /// of this process gives it back ([`holder_number`]), so the number stands for the text.
    Held {
        holder: u64,
        until: Instant,
    },
    Done {
        at: Instant,
    },
}

impl State {
    /// What its age is counted from: a done marker's completion, a claim's lease end.
    fn instant(&self) -> Instant {
        match self {
            Self::Held { until, .. } => *until,
            Self::Done { at } => *at,
        }
    }
}

/// One key and its state.
#[derive(Debug)]
struct Slot {
    gateway: ProviderId,
    /// In its stored form.
    key: Box<str>,
    /// The hash of the gateway and the key, by which [`Slots::index`] finds the slot.
    hash: u64,
    state: State,
    /// The stamp of its one [`Mark`] that is not stale.
    stamp: u64,
}

/// A slot's place in the order keys are forgotten: its state's [instant](State::instant), then
/// a stamp no other mark has (so that two marks never tie), then the slot. A mark whose stamp
/// is no longer its slot's (the slot changed state, or was forgotten and its place reused) is
/// stale: it is skipped, and dropped when it reaches the front of its queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Mark {
    at: Instant,
    stamp: u64,
    slot: usize,
}

/// The keys: an index from a gateway and key to its slot, the slots, and the slots in the order
/// they are forgotten (a done marker by its completion, a claim by its lease's end), so that the
/// oldest is found without scanning every key (a scan per new key, once the inbox is full, cost
/// milliseconds at 100 000 keys).
///
/// That order is two queues of marks, never re-sorted: a change of state adds a mark and leaves
/// the old one stale, where a sorted index (a `BTreeMap`, before) moved an entry on every claim
/// and completion, at the price of most of the inbox's own work. Stale marks are dropped as they
/// reach a queue's front, and all at once when a queue holds more than twice as many marks as
/// there are keys, so that its memory stays bounded by the capacity.
struct Slots {
    retention: Duration,
    capacity: usize,
    /// Each slot's place in `slab`, by its [hash](Slot::hash): a claim hashes its key once,
    /// whether it finds the key or adds it after forgetting the oldest.
    index: HashTable<usize>,
    /// Seeded at random, as a `HashMap`'s: the keys come from the gateways' webhooks.
    hasher: RandomState,
    /// The slots; a forgotten slot's place is `None` and listed in `free`.
    slab: Vec<Option<Slot>>,
    free: Vec<usize>,
    /// The claims' marks, the soonest lease end first.
    held: BinaryHeap<Reverse<Mark>>,
    /// The done markers' marks, in the order they were completed, which is their instants'
    /// order: each completion's instant is read under the lock, from a clock that never goes
    /// back ([`Instant`]).
    done: VecDeque<Mark>,
    next_stamp: u64,
}

impl Slots {
    fn new(retention: Duration, capacity: usize) -> Self {
        Self {
            retention,
            capacity: capacity.max(1),
            index: HashTable::new(),
            hasher: RandomState::new(),
            slab: Vec::new(),
            free: Vec::new(),
            held: BinaryHeap::new(),
            done: VecDeque::new(),
            next_stamp: 0,
        }
    }

    /// How many keys it holds.
    fn keys(&self) -> usize {
        self.slab.len() - self.free.len()
    }

    /// Claims `key` until `until`, with the lease `grant` makes (and its holder's number), unless
    /// it is done (within the retention) or held by a lease that has not run out at `now`.
    fn claim(
        &mut self,
        gateway: ProviderId,
        key: &str,
        now: Instant,
        until: Instant,
        grant: impl FnOnce() -> (u64, Lease),
    ) -> Claim {
        let hash = self.hasher.hash_one((gateway, key));
        let Some(place) = self.find(hash, gateway, key) else {
            if self.keys() >= self.capacity {
                self.evict(now);
            }
            let (holder, lease) = grant();
            self.insert(hash, gateway, key, State::Held { holder, until });
            return Claim::New(lease);
        };
        match self.slab[place].as_ref().map(|slot| &slot.state) {
            Some(State::Done { at }) if now.saturating_duration_since(*at) < self.retention => return Claim::Done,
            Some(State::Held { until, .. }) if *until > now => return Claim::InFlight,
            // A lease that ran out (its holder died), or a marker past retention.
            _ => {}
        }
        let (holder, lease) = grant();
        self.enter(place, State::Held { holder, until });
        Claim::New(lease)
    }

    /// Marks `key`, if it is claimed, done at `now`, whoever holds it (the handler ran: see
    /// [`Inbox::complete`]): whether `holder` held it.
    fn complete(&mut self, gateway: ProviderId, key: &str, holder: u64, now: Instant) -> bool {
        let Some((place, held)) = self.claimed(gateway, key) else { return false };
        self.enter(place, State::Done { at: now });
        held == holder
    }

    /// Forgets `key`, if `holder` holds it: whether it did.
    fn release(&mut self, gateway: ProviderId, key: &str, holder: u64) -> bool {
        let Some((place, _)) = self.claimed(gateway, key).filter(|&(_, held)| held == holder) else { return false };
        self.forget(place);
        true
    }

    /// The place of `key`'s slot and its holder, if it is claimed.
    fn claimed(&self, gateway: ProviderId, key: &str) -> Option<(usize, u64)> {
        let place = self.find(self.hasher.hash_one((gateway, key)), gateway, key)?;
        match self.slab[place].as_ref()?.state {
            State::Held { holder, .. } => Some((place, holder)),
            State::Done { .. } => None,
        }
    }

    /// The place of the slot of `gateway`'s `key`, whose hash is `hash`.
    fn find(&self, hash: u64, gateway: ProviderId, key: &str) -> Option<usize> {
        let slab = &self.slab;
        let found = self
            .index
            .find(hash, |&place| slab[place].as_ref().is_some_and(|slot| slot.gateway == gateway && *slot.key == *key));
        found.copied()
    }

    /// Adds `key`, which it does not hold, in `state`.
    fn insert(&mut self, hash: u64, gateway: ProviderId, key: &str, state: State) {
        let slot = Some(Slot { gateway, key: key.into(), hash, state, stamp: 0 });
        let place = match self.free.pop() {
            Some(place) => {
                self.slab[place] = slot;
                place
            }
            None => {
                self.slab.push(slot);
                self.slab.len() - 1
            }
        };
        let slab = &self.slab;
        self.index.insert_unique(hash, place, |&place| slab[place].as_ref().map_or(0, |slot| slot.hash));
        self.mark(place);
    }

    /// Gives the slot at `place` `state`.
    fn enter(&mut self, place: usize, state: State) {
        if let Some(slot) = self.slab[place].as_mut() {
            slot.state = state;
        }
        self.mark(place);
    }

    /// Gives the slot at `place` a new stamp, and its mark in its state's queue.
    fn mark(&mut self, place: usize) {
        let stamp = self.next_stamp;
        self.next_stamp += 1;
        let Some(slot) = self.slab[place].as_mut() else { return };
        slot.stamp = stamp;
        let mark = Mark { at: slot.state.instant(), stamp, slot: place };
        match slot.state {
            State::Held { .. } => self.held.push(Reverse(mark)),
            State::Done { .. } => self.done.push_back(mark),
        }
        self.drop_stale();
    }

    /// Forgets the slot at `place`: its mark becomes stale.
    fn forget(&mut self, place: usize) {
        if let Some(slot) = self.slab[place].take() {
            if let Ok(entry) = self.index.find_entry(slot.hash, |&other| other == place) {
                entry.remove();
            }
            self.free.push(place);
        }
    }

    /// Drops the stale marks at each queue's front, and every stale mark of a queue holding
    /// more than twice as many marks as there are keys (a rebuild, which that many changes of
    /// state since the last one pay for).
    fn drop_stale(&mut self) {
        let slab = &self.slab;
        while self.held.peek().is_some_and(|Reverse(mark)| !is_live(slab, mark)) {
            self.held.pop();
        }
        while self.done.front().is_some_and(|mark| !is_live(slab, mark)) {
            self.done.pop_front();
        }
        let bound = 2 * self.keys() + 64;
        if self.held.len() > bound {
            self.held.retain(|Reverse(mark)| is_live(slab, mark));
        }
        if self.done.len() > bound {
            self.done.retain(|mark| is_live(slab, mark));
        }
    }

    /// Forgets done markers past their retention, then, while full, the oldest key (a done
    /// marker by its completion, a claim by its lease's end).
    fn evict(&mut self, now: Instant) {
        if let Some(cutoff) = now.checked_sub(self.retention) {
            while let Some(&mark) = self.done.front()
                && mark.at <= cutoff
            {
                self.done.pop_front();
                if is_live(&self.slab, &mark) {
                    self.forget(mark.slot);
                }
            }
        }
        while self.keys() >= self.capacity && self.forget_oldest() {}
    }

    /// Forgets the oldest key; `false` when it holds none.
    fn forget_oldest(&mut self) -> bool {
        self.drop_stale();
        let held = self.held.peek().map(|Reverse(mark)| *mark);
        let oldest = match (held, self.done.front().copied()) {
            (Some(held), Some(done)) if held < done => self.held.pop().map(|Reverse(mark)| mark),
            (Some(_), None) => self.held.pop().map(|Reverse(mark)| mark),
            (_, Some(_)) => self.done.pop_front(),
            (None, None) => None,
        };
        let Some(oldest) = oldest else { return false };
        self.forget(oldest.slot);
        true
    }
}

/// Whether `mark` is its slot's current one.
fn is_live(slab: &[Option<Slot>], mark: &Mark) -> bool {
    matches!(slab.get(mark.slot), Some(Some(slot)) if slot.stamp == mark.stamp)
}

#[cfg(test)]
mod tests;
