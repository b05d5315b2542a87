//! [`MemoryLedger`]: the in-memory [`Ledger`].

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use time::OffsetDateTime;

use super::{Begin, Ledger, WatchState, WatchedPayment};
use crate::{Error, ProviderId};

/// A record's key: its gateway and merchant reference (shared by the indexes below, not copied).
type Key = (ProviderId, Arc<str>);

/// The records and three indexes kept with them, so that no operation but [`Ledger::list`]
/// walks every record: at 100 000 watched payments, taking a batch of due ones costs what it
/// costs at 1 000.
#[derive(Default)]
struct Records {
    by_key: HashMap<Key, WatchedPayment>,
    /// The records a check is scheduled for (watched, with a `next_check`), by when: what
    /// [`Ledger::due`] takes from the front of.
    schedule: BTreeSet<(OffsetDateTime, Key)>,
    /// Every record, in the order one is forgotten when the ledger is full: those no longer
    /// watched first, then the oldest recorded.
    age: BTreeSet<(bool, OffsetDateTime, Key)>,
    /// The records holding each gateway id (at any gateway; nearly always one record).
    by_id: HashMap<String, Vec<Key>>,
}

/// When `record` is due for a check, if one is scheduled.
fn scheduled(record: &WatchedPayment) -> Option<OffsetDateTime> {
    record.next_check.filter(|_| record.state.is_watched())
}

impl Records {
    fn len(&self) -> usize {
        self.by_key.len()
    }

    fn get(&self, provider: ProviderId, reference: &str) -> Option<&WatchedPayment> {
        self.by_key.get(&(provider, Arc::from(reference)))
    }

    /// Writes `payment` over any record of its key, making room first when it is new and the
    /// ledger holds `capacity` records.
    fn put(&mut self, payment: &WatchedPayment, capacity: usize) {
        let key: Key = (payment.provider, Arc::from(payment.reference.as_str()));
        if self.remove(&key).is_none() && self.len() >= capacity {
            // Forget the oldest record no longer watched, else the oldest of all.
            if let Some((_, _, oldest)) = self.age.first().cloned() {
                self.remove(&oldest);
            }
        }
        if let Some(at) = scheduled(payment) {
            self.schedule.insert((at, key.clone()));
        }
        self.age.insert((payment.state.is_watched(), payment.recorded_at, key.clone()));
        if let Some(id) = &payment.provider_reference {
            self.by_id.entry(id.clone()).or_default().push(key.clone());
        }
        self.by_key.insert(key, payment.clone());
    }

    /// Removes the record of `key` from the map and from every index.
    fn remove(&mut self, key: &Key) -> Option<WatchedPayment> {
        let record = self.by_key.remove(key)?;
        if let Some(at) = scheduled(&record) {
            self.schedule.remove(&(at, key.clone()));
        }
        self.age.remove(&(record.state.is_watched(), record.recorded_at, key.clone()));
        if let Some(id) = &record.provider_reference
            && let Some(keys) = self.by_id.get_mut(id.as_str())
        {
            keys.retain(|k| k != key);
            if keys.is_empty() {
                self.by_id.remove(id.as_str());
            }
        }
        Some(record)
    }

    /// Hands out up to `limit` records due at `now`, earliest first, moving each one's next
    /// check to `until`.
    fn take_due(&mut self, now: OffsetDateTime, limit: usize, until: OffsetDateTime) -> Vec<WatchedPayment> {
        let taken: Vec<(OffsetDateTime, Key)> =
            self.schedule.iter().take_while(|(at, _)| *at <= now).take(limit).cloned().collect();
        let mut handed = Vec::with_capacity(taken.len());
        for entry in taken {
            self.schedule.remove(&entry);
            let (_, key) = entry;
            if let Some(record) = self.by_key.get_mut(&key) {
                handed.push(record.clone());
                record.next_check = Some(until);
                self.schedule.insert((until, key));
            }
        }
        handed
    }
}

/// The in-memory [`Ledger`]: the default, for one process. It keeps at most `capacity` records
/// (default 100 000), forgetting the oldest that are no longer watched first.
///
/// Records are keyed by gateway and merchant reference, and indexed by when their next check
/// is, by the gateway's id (should two records hold one id, the most recently recorded is
/// found), and by age: taking a batch of due payments, a look-up and a write cost the same
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
        Self { records: Mutex::new(Records::default()), capacity: capacity.max(1) }
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
        if records.get(payment.provider, &payment.reference).is_some_and(|r| r.state.rank() > payment.state.rank()) {
            return Ok(false);
        }
        records.put(payment, self.capacity);
        Ok(true)
    }

    async fn begin_create(&self, payment: &WatchedPayment) -> Result<Begin, Error> {
        // One lock for the check and the write: two creates of one reference never both start.
        let mut records = self.lock();
        if let Some(existing) =
            records.get(payment.provider, &payment.reference).filter(|r| r.state != WatchState::NotCreated)
        {
            return Ok(Begin::Exists(Box::new(existing.clone())));
        }
        records.put(payment, self.capacity);
        Ok(Begin::Started)
    }

    async fn find_by_reference(&self, provider: ProviderId, reference: &str) -> Result<Option<WatchedPayment>, Error> {
        Ok(self.lock().get(provider, reference).cloned())
    }

    async fn find_by_gateway_id(&self, provider: ProviderId, id: &str) -> Result<Option<WatchedPayment>, Error> {
        let records = self.lock();
        let Some(keys) = records.by_id.get(id) else { return Ok(None) };
        Ok(keys
            .iter()
            .filter_map(|key| records.by_key.get(key))
            .filter(|r| r.provider == provider && r.provider_reference.as_deref() == Some(id))
            .max_by(|a, b| a.recorded_at.cmp(&b.recorded_at).then_with(|| a.reference.cmp(&b.reference)))
            .cloned())
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
        let mut all: Vec<WatchedPayment> = self.lock().by_key.values().cloned().collect();
        all.sort_by(|a, b| b.recorded_at.cmp(&a.recorded_at).then_with(|| a.reference.cmp(&b.reference)));
        all.truncate(limit);
        Ok(all)
    }
}
