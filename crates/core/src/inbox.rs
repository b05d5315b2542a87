//! The event inbox: each change a gateway reports is handled once, however many times, by however
//! many replicas, it arrives.
//!
//! A receiver [claims](Inbox::claim) an event's [`EventKey`] with a lease before it calls the
//! merchant's handler. The first claim wins ([`Claim::New`]); a claim of a key that is
//! [done](Inbox::complete) is [`Claim::Done`] (answer the gateway's retry with its success ack,
//! do nothing else); a claim of a key that someone else holds is [`Claim::InFlight`] (answer
//! non-2xx: the gateway retries later, and by then the key is done or the holder died). A holder
//! that dies never completes nor releases: its lease expires and the next delivery is handled. A
//! handler that fails [releases](Inbox::release) the claim, so the gateway's retry is handled.
//!
//! Guarantee: at most one handler call per event while a lease holds, at least one overall while
//! the store keeps its data. [`MemoryInbox`] is the default, for one process; `gerbang-redis` and
//! `gerbang-postgres` share one inbox between replicas.

use std::borrow::Cow;
use std::collections::hash_map::RandomState;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use async_trait::async_trait;

use crate::{Error, ProviderId, WebhookEvent};

pub(crate) mod key;

pub use key::MAX_PLAIN_STORED_BYTES;
pub(crate) use key::dedup_key;

/// The identity of one change: the gateway and the event's
/// [`dedup_key`](WebhookEvent::dedup_key) (the gateway's payment id and the normalised status),
/// the same whether the change was learnt from a webhook or from a status check.
///
/// Build it from an event with [`EventKey::of`], which refuses an event that names no payment.
/// Every inbox keeps it in the form of [`stored`](EventKey::stored), so that any key, however
/// long or odd, is accepted by every store, the same way.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EventKey {
    /// The gateway.
    pub provider: ProviderId,
    /// The change, within the gateway.
    pub key: String,
}

impl EventKey {
    /// The key of a verified event.
    ///
    /// # Errors
    ///
    /// [`Error::Decode`] when the event names no payment (its gateway id and the merchant's
    /// reference are both missing or blank): such events could not be told apart, so a
    /// receiver refuses them with the gateway's rejection; see [`WebhookEvent::dedup_key`].
    pub fn of(event: &WebhookEvent) -> Result<Self, Error> {
        Ok(Self { provider: event.provider, key: event.dedup_key()? })
    }

    /// The key as every inbox stores it: [`key`](Self::key) itself when it is short printable
    /// ASCII (at most [`MAX_PLAIN_STORED_BYTES`] bytes from `' '` to `'~'`, not starting with
    /// `#`), else `#` and the SHA-256 of its bytes in lowercase hex. A NUL byte (which Postgres
    /// text refuses), control characters, non-ASCII text (which a database in another encoding
    /// refuses) and 10 KB ids (past what Postgres can index) are all stored, as their digest.
    ///
    /// ```
    /// use gerbang_core::inbox::EventKey;
    /// use gerbang_core::ProviderId;
    ///
    /// let plain = EventKey { provider: ProviderId::Qris, key: "qris:INV-7:paid".into() };
    /// assert_eq!(plain.stored(), "qris:INV-7:paid");
    /// let odd = EventKey { provider: ProviderId::Qris, key: "qris:INV\0:paid".into() };
    /// assert!(odd.stored().starts_with('#') && odd.stored().len() == 65);
    /// ```
    pub fn stored(&self) -> Cow<'_, str> {
        key::stored(&self.key)
    }
}

impl fmt::Display for EventKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.provider, self.key)
    }
}

/// A claim that was granted: the key, who holds it, and for how long.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// The event claimed.
    pub key: EventKey,
    /// A token unique to this claim: only its holder can complete or release it, so a holder
    /// whose lease ran out cannot undo the claim of the one who took over.
    pub holder: String,
    /// How long the claim was granted for.
    pub duration: Duration,
}

impl Lease {
    /// A lease of `key` for `duration` with a fresh holder token.
    pub fn new(key: EventKey, duration: Duration) -> Self {
        Self { key, holder: holder_token(), duration }
    }
}

/// What [`Inbox::claim`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// Nobody had it: it is yours until the lease runs out. Handle the event, then
    /// [complete](Inbox::complete) it (or [release](Inbox::release) it if handling failed).
    New(Lease),
    /// It was handled already: acknowledge the delivery, do nothing else.
    Done,
    /// Someone holds it now: answer so that the gateway delivers it again later.
    InFlight,
}

/// Where claims and done markers live. Implementations: [`MemoryInbox`] here, Redis and
/// Postgres in their crates.
#[async_trait]
pub trait Inbox: Send + Sync + fmt::Debug {
    /// Claims `key` for `lease`, unless it is done or held by a lease that has not run out.
    async fn claim(&self, key: &EventKey, lease: Duration) -> Result<Claim, Error>;

    /// Marks the claimed event done, for good (or for the store's retention). Returns `false`
    /// when the lease had run out and another holder had taken the key over: the event was then
    /// handled more than once, which the handler must tolerate (at least once).
    async fn complete(&self, lease: &Lease) -> Result<bool, Error>;

    /// Gives the claim up, so that the next delivery is handled. Returns `false` when the lease
    /// was no longer this holder's.
    async fn release(&self, lease: &Lease) -> Result<bool, Error>;

    /// Whether the store answers: one cheap round trip (Redis `PING`, Postgres `SELECT 1`), for
    /// a readiness check. The caller bounds how long it waits. By default `Ok(())`: an inbox in
    /// this process's memory is always there.
    ///
    /// # Errors
    ///
    /// The store's error when it cannot be reached or fails ([`Error::Store`]), or refuses the
    /// connection ([`Error::Config`]).
    async fn ping(&self) -> Result<(), Error> {
        Ok(())
    }
}

/// A token no other claim has: a per-process random prefix (from the standard library's hasher
/// seed) and a counter, `{prefix:016x}-{counter}`. The prefix is written once; each token is
/// the prefix and the counter's digits, without the formatting machinery (a claim pays for it).
pub(crate) fn holder_token() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    static PREFIX: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let prefix = PREFIX.get_or_init(|| {
        let mut hasher = RandomState::new().build_hasher();
        hasher.write_u128(std::process::id().into());
        format!("{:016x}-", hasher.finish())
    });
    let mut token = String::with_capacity(prefix.len() + 20);
    token.push_str(prefix);
    push_decimal(&mut token, COUNTER.fetch_add(1, Ordering::Relaxed));
    token
}

/// Appends `n` in decimal, as `n.to_string()` writes it.
fn push_decimal(out: &mut String, mut n: u64) {
    // The digits, last first: a u64 has at most 20.
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend(digits[start..].iter().map(|&d| char::from(d)));
}

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
    retention: Duration,
    capacity: usize,
}

/// A key's state, and its place in the age index.
#[derive(Debug)]
struct Slot {
    state: State,
    /// Its entry in [`Slots::by_age`].
    age: Age,
}

#[derive(Debug)]
enum State {
    Held { holder: String, until: Instant },
    Done { at: Instant },
}

#[cfg(test)]
impl State {
    /// What its age is counted from: a done marker's completion, a claim's lease end.
    fn instant(&self) -> Instant {
        match self {
            Self::Held { until, .. } => *until,
            Self::Done { at } => *at,
        }
    }
}

/// A slot's place in the age index: its [instant](State::instant), then a number no other
/// slot has, so that the index never compares keys and two slots never share a place.
type Age = (Instant, u64);

/// The keys and their slots, one map per gateway, and the same keys ordered by their slot's
/// [instant](State::instant), so that the oldest is found without scanning every key (a scan
/// per new key, once the inbox is full, cost milliseconds at 100 000 keys).
///
/// A key is one shared allocation (`Arc<str>`) held by its map and by the index; a map is
/// looked up with the key's text, so that a claim of a known key or a completion allocates
/// nothing, and moving a slot in the index compares two numbers, never a key.
#[derive(Default)]
struct Slots {
    /// Indexed by [`ProviderId::index`].
    entries: [HashMap<Arc<str>, Slot>; ProviderId::ALL.len()],
    by_age: BTreeMap<Age, (ProviderId, Arc<str>)>,
    /// The number of the next slot's [`Age`].
    next: u64,
}

impl Slots {
    /// How many keys it holds (one index entry each).
    fn len(&self) -> usize {
        self.by_age.len()
    }

    fn get(&self, gateway: ProviderId, key: &str) -> Option<&Slot> {
        self.entries[gateway.index()].get(key)
    }

    /// A place in the index at `instant` that no slot has had.
    fn next_age(&mut self, instant: Instant) -> Age {
        let number = self.next;
        self.next += 1;
        (instant, number)
    }

    /// Gives `slot` (one of `by_age`'s) `state`, and moves it to `age` in the index.
    fn update(by_age: &mut BTreeMap<Age, (ProviderId, Arc<str>)>, slot: &mut Slot, state: State, age: Age) {
        slot.state = state;
        let old = std::mem::replace(&mut slot.age, age);
        if let Some(entry) = by_age.remove(&old) {
            by_age.insert(age, entry);
        }
    }

    /// Adds `key`, which it does not hold, at `age`.
    fn insert(&mut self, gateway: ProviderId, key: &str, state: State, age: Age) {
        let shared: Arc<str> = Arc::from(key);
        self.entries[gateway.index()].insert(Arc::clone(&shared), Slot { state, age });
        self.by_age.insert(age, (gateway, shared));
    }

    fn remove(&mut self, gateway: ProviderId, key: &str) {
        if let Some(old) = self.entries[gateway.index()].remove(key) {
            self.by_age.remove(&old.age);
        }
    }

    /// Forgets the oldest key (a done marker by its completion, a claim by its lease's end).
    fn forget_oldest(&mut self) -> bool {
        let Some((_, (gateway, key))) = self.by_age.pop_first() else { return false };
        self.entries[gateway.index()].remove(&key);
        true
    }
}

impl MemoryInbox {
    /// An empty inbox with the default retention and capacity.
    pub fn new() -> Self {
        Self::with_limits(Duration::from_secs(7 * 24 * 3600), 100_000)
    }

    /// An empty inbox keeping done markers for `retention`, and at most `capacity` keys.
    pub fn with_limits(retention: Duration, capacity: usize) -> Self {
        Self { slots: Mutex::new(Slots::default()), retention, capacity: capacity.max(1) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Slots> {
        self.slots.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Forgets done markers past their retention, then, while full, the oldest key (a done
    /// marker by its completion, a claim by its lease's end).
    fn evict(&self, slots: &mut Slots, now: Instant) {
        if let Some(cutoff) = now.checked_sub(self.retention) {
            let expired: Vec<(ProviderId, Arc<str>)> = slots
                .by_age
                .range(..=(cutoff, u64::MAX))
                .filter(|(_, (gateway, key))| {
                    matches!(slots.get(*gateway, key), Some(Slot { state: State::Done { .. }, .. }))
                })
                .map(|(_, entry)| entry.clone())
                .collect();
            for (gateway, key) in &expired {
                slots.remove(*gateway, key);
            }
        }
        while slots.len() >= self.capacity && slots.forget_oldest() {}
    }
}

impl Default for MemoryInbox {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for MemoryInbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryInbox")
            .field("keys", &self.lock().len())
            .field("retention", &self.retention)
            .field("capacity", &self.capacity)
            .finish()
    }
}

#[async_trait]
impl Inbox for MemoryInbox {
    async fn claim(&self, key: &EventKey, lease: Duration) -> Result<Claim, Error> {
        let now = Instant::now();
        // Kept in its stored form, as the other inboxes keep it, so that memory holds the same
        // keys apart and a 10 KB id costs 65 bytes.
        let stored = key.stored();
        let mut guard = self.lock();
        let slots = &mut *guard;
        if slots.len() >= self.capacity && slots.get(key.provider, &stored).is_none() {
            self.evict(slots, now);
        }
        let until = now + lease;
        let age = slots.next_age(until);
        let Slots { entries, by_age, .. } = &mut *slots;
        if let Some(slot) = entries[key.provider.index()].get_mut(&*stored) {
            match &slot.state {
                State::Done { at } if now.duration_since(*at) < self.retention => return Ok(Claim::Done),
                State::Held { until, .. } if *until > now => return Ok(Claim::InFlight),
                // A lease that ran out (its holder died), or a marker past retention.
                _ => {}
            }
            let granted = Lease::new(key.clone(), lease);
            Slots::update(by_age, slot, State::Held { holder: granted.holder.clone(), until }, age);
            return Ok(Claim::New(granted));
        }
        let granted = Lease::new(key.clone(), lease);
        slots.insert(key.provider, &stored, State::Held { holder: granted.holder.clone(), until }, age);
        Ok(Claim::New(granted))
    }

    async fn complete(&self, lease: &Lease) -> Result<bool, Error> {
        let stored = lease.key.stored();
        let mut guard = self.lock();
        let slots = &mut *guard;
        let now = Instant::now();
        let age = slots.next_age(now);
        let Slots { entries, by_age, .. } = slots;
        let Some(slot) = entries[lease.key.provider.index()].get_mut(&*stored) else { return Ok(false) };
        let ours = matches!(&slot.state, State::Held { holder, .. } if *holder == lease.holder);
        if ours {
            Slots::update(by_age, slot, State::Done { at: now }, age);
        }
        Ok(ours)
    }

    async fn release(&self, lease: &Lease) -> Result<bool, Error> {
        let stored = lease.key.stored();
        let mut slots = self.lock();
        let ours = matches!(slots.get(lease.key.provider, &stored),
            Some(Slot { state: State::Held { holder, .. }, .. }) if *holder == lease.holder);
        if ours {
            slots.remove(lease.key.provider, &stored);
        }
        Ok(ours)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn done_markers_past_retention_or_capacity_are_forgotten() {
        let key = |n: u32| EventKey { provider: ProviderId::Qris, key: format!("k{n}") };
        let inbox = MemoryInbox::with_limits(Duration::from_millis(100), 3);
        for n in 0..3 {
            let Claim::New(lease) = inbox.claim(&key(n), Duration::from_secs(5)).await.unwrap() else { panic!() };
            inbox.complete(&lease).await.unwrap();
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        // A fourth key evicts the oldest marker.
        assert!(matches!(inbox.claim(&key(3), Duration::from_secs(5)).await.unwrap(), Claim::New(_)));
        assert!(matches!(inbox.claim(&key(0), Duration::from_secs(5)).await.unwrap(), Claim::New(_)));
        tokio::time::sleep(Duration::from_millis(150)).await;
        let fresh = MemoryInbox::with_limits(Duration::from_millis(50), 10);
        let Claim::New(lease) = fresh.claim(&key(9), Duration::from_secs(5)).await.unwrap() else { panic!() };
        fresh.complete(&lease).await.unwrap();
        assert_eq!(fresh.claim(&key(9), Duration::from_secs(5)).await.unwrap(), Claim::Done);
        tokio::time::sleep(Duration::from_millis(80)).await;
        assert!(matches!(fresh.claim(&key(9), Duration::from_secs(5)).await.unwrap(), Claim::New(_)));
    }

    #[tokio::test]
    async fn a_full_inbox_keeps_the_newest_keys_and_its_index_in_step() {
        let key = |n: u32| EventKey { provider: ProviderId::Qris, key: format!("k{n}") };
        let inbox = MemoryInbox::with_limits(Duration::from_secs(3600), 100);
        for n in 0..1_000 {
            let Claim::New(lease) = inbox.claim(&key(n), Duration::from_secs(5)).await.unwrap() else { panic!() };
            if n % 10 == 0 {
                assert!(inbox.release(&lease).await.unwrap());
            } else {
                assert!(inbox.complete(&lease).await.unwrap());
            }
        }
        {
            let slots = inbox.lock();
            let keys: usize = slots.entries.iter().map(HashMap::len).sum();
            assert!(keys <= 100, "{keys} keys kept");
            assert_eq!(slots.by_age.len(), keys, "one index entry per key");
            assert!(slots.by_age.iter().all(|(age, (gateway, key))| {
                slots.get(*gateway, key).is_some_and(|slot| slot.age == *age && slot.state.instant() == age.0)
            }));
        }
        // The newest markers are still there; the oldest were forgotten; released keys are new.
        for n in 990..1_000 {
            let expected = if n % 10 == 0 { "new" } else { "done" };
            let found = match inbox.claim(&key(n), Duration::from_secs(5)).await.unwrap() {
                Claim::New(_) => "new",
                Claim::Done => "done",
                Claim::InFlight => "in flight",
            };
            assert_eq!(found, expected, "key {n}");
        }
        assert!(matches!(inbox.claim(&key(1), Duration::from_secs(5)).await.unwrap(), Claim::New(_)));
    }

    #[test]
    fn holder_tokens_differ_and_keep_their_form() {
        let (first, second) = (holder_token(), holder_token());
        assert_ne!(first, second);
        for token in [first, second] {
            let (prefix, counter) = token.split_once('-').unwrap();
            assert!(prefix.len() == 16 && prefix.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
            assert_eq!(counter.parse::<u64>().unwrap().to_string(), counter, "{token}");
        }
    }

    #[test]
    fn decimals_are_written_as_to_string_writes_them() {
        for n in [0, 1, 9, 10, 99, 100, 12_345, u64::from(u32::MAX), u64::MAX - 1, u64::MAX] {
            let mut out = String::from("x");
            push_decimal(&mut out, n);
            assert_eq!(out, format!("x{n}"));
        }
    }
}
