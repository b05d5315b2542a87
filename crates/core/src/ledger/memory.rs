//! [`MemoryLedger`]: the in-memory [`Ledger`].

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use arrayvec::ArrayString;
use async_trait::async_trait;
use time::OffsetDateTime;

use super::{Begin, Ledger, WatchState, WatchedPayment};
use crate::{Error, ProviderId};

/// Where a record sits in [`Records::slots`].
type Slot = u32;

/// The order records were first written in: what breaks a tie between two records due (or
/// recorded) at the same instant, the first written first. Never reused.
type Seq = u64;

/// The longest text kept inside its record rather than behind a pointer: merchant references,
/// gateway ids and status words are nearly always shorter.
const INLINE: usize = 40;

/// A text kept inside its record when it is short, else on the heap. Reading a record of a
/// ledger of 100 000 then follows no pointer per text (each one a cache miss at that size).
enum Text {
    Inline(ArrayString<INLINE>),
    Heap(Box<str>),
}

impl Text {
    fn new(text: &str) -> Self {
        ArrayString::from(text).map_or_else(|_| Self::Heap(text.into()), Self::Inline)
    }

    fn as_str(&self) -> &str {
        match self {
            Self::Inline(text) => text,
            Self::Heap(text) => text,
        }
    }
}

/// A record in its slot, with when it was first written, its texts kept as [`Text`].
struct Held {
    seq: Seq,
    reference: Text,
    provider_reference: Option<Text>,
    provider_status: Option<Text>,
    /// The rest of the record; its three texts above are left empty here.
    rest: WatchedPayment,
}

impl Held {
    fn new(seq: Seq, payment: &WatchedPayment) -> Self {
        let text = |text: &Option<String>| text.as_deref().map(Text::new);
        Self {
            seq,
            reference: Text::new(&payment.reference),
            provider_reference: text(&payment.provider_reference),
            provider_status: text(&payment.provider_status),
            rest: WatchedPayment {
                provider: payment.provider,
                reference: String::new(),
                provider_reference: None,
                amount: payment.amount.clone(),
                state: payment.state,
                provider_status: None,
                expires_at: payment.expires_at,
                recorded_at: payment.recorded_at,
                next_check: payment.next_check,
                checks: payment.checks,
                note: payment.note.clone(),
            },
        }
    }

    /// The record, whole.
    fn payment(&self) -> WatchedPayment {
        let text = |text: &Option<Text>| text.as_ref().map(|t| t.as_str().to_owned());
        WatchedPayment {
            reference: self.reference.as_str().to_owned(),
            provider_reference: text(&self.provider_reference),
            provider_status: text(&self.provider_status),
            ..self.rest.clone()
        }
    }

    fn provider_reference(&self) -> Option<&str> {
        self.provider_reference.as_ref().map(Text::as_str)
    }
}

/// The records and the indexes kept with them, so that no operation but [`Ledger::list`] walks
/// every record: at 100 000 watched payments, taking a batch of due ones costs what it costs at
/// 1 000.
///
/// The records live in one vector of slots (a freed slot is reused), and every index holds
/// numbers only (a time, a [`Seq`], a slot): keeping the indexes in order never reads a
/// reference's text behind a pointer. A record keeps its slot when it is written again, so
/// records taken in the order they were first written (as a reconciler takes them) are read from
/// neighbouring memory.
#[derive(Default)]
struct Records {
    slots: Vec<Option<Held>>,
    /// Slots freed by a removal, taken before the vector grows.
    free: Vec<Slot>,
    /// Each gateway's records by merchant reference.
    by_key: HashMap<ProviderId, HashMap<String, Slot>>,
    /// The records a check is scheduled for (watched, with a `next_check`), by when: what
    /// [`Ledger::due`] takes from the front of.
    schedule: BTreeSet<(OffsetDateTime, Seq, Slot)>,
    /// Every record, in the order one is forgotten when the ledger is full: those no longer
    /// watched first, then the oldest recorded.
    age: BTreeSet<(bool, OffsetDateTime, Seq, Slot)>,
    /// The records holding each gateway id (at any gateway; nearly always one record).
    by_id: HashMap<String, Vec<Slot>>,
    len: usize,
    next_seq: Seq,
}

/// When `record` is due for a check, if one is scheduled.
fn scheduled(record: &WatchedPayment) -> Option<OffsetDateTime> {
    record.next_check.filter(|_| record.state.is_watched())
}

impl Records {
    fn len(&self) -> usize {
        self.len
    }

    fn slot(&self, provider: ProviderId, reference: &str) -> Option<Slot> {
        self.by_key.get(&provider)?.get(reference).copied()
    }

    fn held(&self, slot: Slot) -> Option<&Held> {
        self.slots.get(slot as usize)?.as_ref()
    }

    fn get(&self, provider: ProviderId, reference: &str) -> Option<&Held> {
        self.held(self.slot(provider, reference)?)
    }

    /// Every record held.
    fn all(&self) -> impl Iterator<Item = &Held> {
        self.slots.iter().flatten()
    }

    /// Writes `payment` over any record of its key (in its slot), making room first when it is
    /// new and the ledger holds `capacity` records.
    fn put(&mut self, payment: &WatchedPayment, capacity: usize) {
        let (slot, seq) =
            match self.slot(payment.provider, &payment.reference).and_then(|slot| Some((slot, self.held(slot)?.seq))) {
                Some((slot, seq)) => {
                    self.unindex(slot);
                    (slot, seq)
                }
                None => {
                    if self.len >= capacity {
                        // Forget the oldest record no longer watched, else the oldest of all.
                        if let Some(&(_, _, _, oldest)) = self.age.first() {
                            self.remove(oldest);
                        }
                    }
                    let slot = match self.free.pop() {
                        Some(slot) => slot,
                        None => {
                            self.slots.push(None);
                            // Never more slots than the capacity, which fits a `Slot`.
                            Slot::try_from(self.slots.len() - 1).unwrap_or(Slot::MAX)
                        }
                    };
                    self.by_key.entry(payment.provider).or_default().insert(payment.reference.clone(), slot);
                    self.len += 1;
                    self.next_seq += 1;
                    (slot, self.next_seq)
                }
            };
        if let Some(at) = scheduled(payment) {
            self.schedule.insert((at, seq, slot));
        }
        self.age.insert((payment.state.is_watched(), payment.recorded_at, seq, slot));
        if let Some(id) = &payment.provider_reference {
            self.by_id.entry(id.clone()).or_default().push(slot);
        }
        if let Some(held) = self.slots.get_mut(slot as usize) {
            *held = Some(Held::new(seq, payment));
        }
    }

    /// Takes the record in `slot` out of every index (not out of its slot nor `by_key`).
    fn unindex(&mut self, slot: Slot) {
        // The slots are borrowed alone, beside the indexes.
        let Some(held) = self.slots.get(slot as usize).and_then(Option::as_ref) else { return };
        let (seq, record) = (held.seq, &held.rest);
        if let Some(at) = scheduled(record) {
            self.schedule.remove(&(at, seq, slot));
        }
        self.age.remove(&(record.state.is_watched(), record.recorded_at, seq, slot));
        if let Some(id) = held.provider_reference()
            && let Some(slots) = self.by_id.get_mut(id)
        {
            slots.retain(|s| *s != slot);
            if slots.is_empty() {
                self.by_id.remove(id);
            }
        }
    }

    /// Removes the record in `slot`, from its slot and from every index, freeing the slot.
    fn remove(&mut self, slot: Slot) {
        self.unindex(slot);
        let Some(held) = self.slots.get_mut(slot as usize).and_then(Option::take) else { return };
        if let Some(references) = self.by_key.get_mut(&held.rest.provider) {
            references.remove(held.reference.as_str());
        }
        self.free.push(slot);
        self.len -= 1;
    }

    /// Hands out up to `limit` records due at `now`, earliest first, moving each one's next
    /// check to `until`.
    fn take_due(&mut self, now: OffsetDateTime, limit: usize, until: OffsetDateTime) -> Vec<WatchedPayment> {
        let mut handed = Vec::with_capacity(limit.min(self.schedule.len()));
        while handed.len() < limit {
            let Some(entry) = self.schedule.pop_first() else { break };
            let (at, seq, slot) = entry;
            if at > now {
                self.schedule.insert(entry);
                break;
            }
            if let Some(held) = self.slots.get_mut(slot as usize).and_then(Option::as_mut) {
                handed.push(held.payment());
                held.rest.next_check = Some(until);
                self.schedule.insert((until, seq, slot));
            }
        }
        handed
    }
}

/// The in-memory [`Ledger`]: the default, for one process. It keeps at most `capacity` records
/// (default 100 000), forgetting the oldest that are no longer watched first.
///
/// Records are keyed by gateway and merchant reference, and indexed by when their next check
/// is (of two due at one instant, the first written is handed out first), by the gateway's id
/// (should two records hold one id, the most recently recorded is found), and by age: taking a batch of due payments, a look-up and a write cost the same
/// whether the ledger holds a thousand records or its whole capacity (only [`Ledger::list`]
/// reads them all).
///
/// ```
/// use gerbang_core::ledger::{Ledger, MemoryLedger, WatchState, WatchedPayment};
/// use gerbang_core::{Money, ProviderId};
/// use std::time::Duration;
/// use time::OffsetDateTime;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), gerbang_core::Error> {
/// let ledger = MemoryLedger::new();
/// let now = OffsetDateTime::now_utc();
/// let order = WatchedPayment::new(ProviderId::Qris, "ORDER-1", Money::idr(50_000), WatchState::Pending, now);
/// ledger.record(&order).await?;
/// let due = ledger.due(now, 10, Duration::from_secs(30)).await?;
/// assert_eq!(due.len(), 1);
/// // Handed out for 30 seconds: nobody else gets it meanwhile.
/// assert!(ledger.due(now, 10, Duration::from_secs(30)).await?.is_empty());
/// # Ok(())
/// # }
/// ```
pub struct MemoryLedger {
    records: Mutex<Records>,
    capacity: usize,
}

impl MemoryLedger {
    /// An empty ledger of the default capacity.
    pub fn new() -> Self {
        Self::with_capacity(100_000)
    }

    /// An empty ledger keeping at most `capacity` records.
    pub fn with_capacity(capacity: usize) -> Self {
        // Slots are numbered in a `u32`: no ledger in memory holds four billion records.
        Self { records: Mutex::new(Records::default()), capacity: capacity.clamp(1, Slot::MAX as usize) }
    }

    fn lock(&self) -> MutexGuard<'_, Records> {
        self.records.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Default for MemoryLedger {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for MemoryLedger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryLedger").field("records", &self.lock().len()).field("capacity", &self.capacity).finish()
    }
}

#[async_trait]
impl Ledger for MemoryLedger {
    async fn record(&self, payment: &WatchedPayment) -> Result<bool, Error> {
        let mut records = self.lock();
        if records.get(payment.provider, &payment.reference).is_some_and(|r| r.rest.state.rank() > payment.state.rank())
        {
            return Ok(false);
        }
        records.put(payment, self.capacity);
        Ok(true)
    }

    async fn begin_create(&self, payment: &WatchedPayment) -> Result<Begin, Error> {
        // One lock for the check and the write: two creates of one reference never both start.
        let mut records = self.lock();
        if let Some(existing) =
            records.get(payment.provider, &payment.reference).filter(|r| r.rest.state != WatchState::NotCreated)
        {
            return Ok(Begin::Exists(Box::new(existing.payment())));
        }
        records.put(payment, self.capacity);
        Ok(Begin::Started)
    }

    async fn find_by_reference(&self, provider: ProviderId, reference: &str) -> Result<Option<WatchedPayment>, Error> {
        Ok(self.lock().get(provider, reference).map(Held::payment))
    }

    async fn find_by_gateway_id(&self, provider: ProviderId, id: &str) -> Result<Option<WatchedPayment>, Error> {
        let records = self.lock();
        let Some(slots) = records.by_id.get(id) else { return Ok(None) };
        Ok(slots
            .iter()
            .filter_map(|slot| records.held(*slot))
            .filter(|r| r.rest.provider == provider && r.provider_reference() == Some(id))
            .max_by(|a, b| {
                a.rest.recorded_at.cmp(&b.rest.recorded_at).then_with(|| a.reference.as_str().cmp(b.reference.as_str()))
            })
            .map(Held::payment))
    }

    async fn due(&self, now: OffsetDateTime, limit: usize, lease: Duration) -> Result<Vec<WatchedPayment>, Error> {
        let until = time::Duration::try_from(lease).ok().and_then(|lease| now.checked_add(lease)).ok_or_else(|| {
            Error::config(format!(
                "a lease of {lease:?} from {now} is beyond what the ledger can keep: give a shorter one"
            ))
        })?;
        Ok(self.lock().take_due(now, limit, until))
    }

    async fn list(&self, limit: usize) -> Result<Vec<WatchedPayment>, Error> {
        let mut all: Vec<WatchedPayment> = self.lock().all().map(Held::payment).collect();
        all.sort_by(|a, b| b.recorded_at.cmp(&a.recorded_at).then_with(|| a.reference.cmp(&b.reference)));
        all.truncate(limit);
        Ok(all)
    }
}
