//! [`MemoryLedger`]: the in-memory [`Ledger`].

use std::collections::HashMap;
use std::fmt;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use time::OffsetDateTime;

use super::{Begin, Ledger, WatchState, WatchedPayment};
use crate::{Error, ProviderId};

type Records = HashMap<(ProviderId, String), WatchedPayment>;

/// The in-memory [`Ledger`]: the default, for one process. It keeps at most `capacity` records
/// (default 100 000), forgetting the oldest that are no longer watched first.
///
/// Records are keyed by gateway and merchant reference; a look-up by the gateway's id scans
/// them (and finds, should two records hold one id, the most recently recorded).
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
        Self { records: Mutex::new(HashMap::new()), capacity: capacity.max(1) }
    }

    fn lock(&self) -> MutexGuard<'_, Records> {
        self.records.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Writes `payment` into `records`, making room first when it is new and the ledger full.
    fn insert(&self, records: &mut Records, payment: &WatchedPayment) {
        let key = (payment.provider, payment.reference.clone());
        if !records.contains_key(&key) && records.len() >= self.capacity {
            // Forget the oldest record no longer watched, else the oldest of all.
            let oldest = records
                .values()
                .min_by_key(|r| (r.state.is_watched(), r.recorded_at))
                .map(|r| (r.provider, r.reference.clone()));
            if let Some(oldest) = oldest {
                records.remove(&oldest);
            }
        }
        records.insert(key, payment.clone());
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
        let key = (payment.provider, payment.reference.clone());
        if records.get(&key).is_some_and(|existing| existing.state.rank() > payment.state.rank()) {
            return Ok(false);
        }
        self.insert(&mut records, payment);
        Ok(true)
    }

    async fn begin_create(&self, payment: &WatchedPayment) -> Result<Begin, Error> {
        // One lock for the check and the write: two creates of one reference never both start.
        let mut records = self.lock();
        let key = (payment.provider, payment.reference.clone());
        if let Some(existing) = records.get(&key).filter(|r| r.state != WatchState::NotCreated) {
            return Ok(Begin::Exists(Box::new(existing.clone())));
        }
        self.insert(&mut records, payment);
        Ok(Begin::Started)
    }

    async fn find_by_reference(&self, provider: ProviderId, reference: &str) -> Result<Option<WatchedPayment>, Error> {
        Ok(self.lock().get(&(provider, reference.to_owned())).cloned())
    }

    async fn find_by_gateway_id(&self, provider: ProviderId, id: &str) -> Result<Option<WatchedPayment>, Error> {
        Ok(self
            .lock()
            .values()
            .filter(|r| r.provider == provider && r.provider_reference.as_deref() == Some(id))
            .max_by(|a, b| a.recorded_at.cmp(&b.recorded_at).then_with(|| a.reference.cmp(&b.reference)))
            .cloned())
    }

    async fn due(&self, now: OffsetDateTime, limit: usize, lease: Duration) -> Result<Vec<WatchedPayment>, Error> {
        let mut records = self.lock();
        let mut due: Vec<&mut WatchedPayment> =
            records.values_mut().filter(|r| r.state.is_watched() && r.next_check.is_some_and(|at| at <= now)).collect();
        due.sort_by_key(|r| r.next_check);
        Ok(due
            .into_iter()
            .take(limit)
            .map(|record| {
                let handed = record.clone();
                record.next_check = Some(now + lease);
                handed
            })
            .collect())
    }

    async fn list(&self, limit: usize) -> Result<Vec<WatchedPayment>, Error> {
        let mut all: Vec<WatchedPayment> = self.lock().values().cloned().collect();
        all.sort_by(|a, b| b.recorded_at.cmp(&a.recorded_at).then_with(|| a.reference.cmp(&b.reference)));
        all.truncate(limit);
        Ok(all)
    }
}
