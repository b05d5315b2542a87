//! The rate budget: how many calls a gateway allows per period, spent by every replica from one
//! count.
//!
//! A gateway crate that enforces a gateway's limit (Cuan10pay: 100 requests per hour) asks a
//! [`RateStore`] for one unit before each attempt it sends. [`MemoryRateStore`] is the default,
//! for one process; `gerbang-redis` shares one budget between replicas, so that N replicas
//! together never exceed the gateway's limit.
//!
//! # The algorithm: GCRA, the same in every store
//!
//! The budget is a GCRA (generic cell rate algorithm: a token bucket kept as one number per key,
//! the *theoretical arrival time* `tat`) with a burst of the whole limit, computed by [`gcra`] on
//! integer microseconds so that a store written in another language (the Redis Lua script) can
//! compute exactly the same thing:
//!
//! - `T` = [`Quota::emission_interval_micros`]: `period / limit` in µs, rounded up (one unit comes
//!   back every `T`).
//! - `tat` = the stored value, or `now` when there is none or it is in the past.
//! - `new_tat` = `tat + T`.
//! - The call is allowed when `new_tat - now <= window`, where `window` =
//!   [`Quota::window_micros`] for [`Priority::Normal`] (`limit × T`) and
//!   `(limit - reserve) × T` for [`Priority::Background`] (`reserve` =
//!   [`Quota::background_reserve`]). Allowed: store `new_tat` (it may expire after
//!   `new_tat - now`, when the whole budget is back). Refused: store nothing, and wait
//!   `new_tat - now - window` ([`Error::BudgetSpent`] with that `retry_after`).
//!
//! # Priorities
//!
//! [`Priority::Background`] work (the reconciler's status checks) must never starve the
//! merchant's own calls: it may spend only while **more than [`BACKGROUND_RESERVE_PERCENT`] %**
//! of the budget (rounded up to whole calls, [`Quota::background_reserve`]) remains, so the last
//! fifth is left to [`Priority::Normal`] calls. With a budget of 100 per hour, background work
//! stops once 80 calls of the hour are spent; merchant calls go on to 100. A budget of a single
//! call reserves it: background work never spends it.
//!
//! ```
//! use gerbang_core::rate::{MemoryRateStore, Priority, Quota, RateStore};
//! use gerbang_core::Error;
//! use std::num::NonZeroU32;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Error> {
//! let store = MemoryRateStore::new();
//! let quota = Quota::per_hour(NonZeroU32::new(5).unwrap()); // reserve: 1 call
//! for _ in 0..4 {
//!     store.acquire("cuan10pay:0123456789abcdef", quota, Priority::Background).await?;
//! }
//! // Only the reserve is left: background work waits, the merchant's call goes.
//! let refused = store.acquire("cuan10pay:0123456789abcdef", quota, Priority::Background).await;
//! assert!(matches!(refused, Err(Error::BudgetSpent { retry_after: Some(_) })));
//! store.acquire("cuan10pay:0123456789abcdef", quota, Priority::Normal).await?;
//! # Ok(())
//! # }
//! ```

use std::collections::HashMap;
use std::fmt;
use std::num::NonZeroU32;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use async_trait::async_trait;

use crate::Error;

/// The share of a budget, in percent, that [`Priority::Background`] work may not spend: it is
/// left to the merchant's own ([`Priority::Normal`]) calls. See [`Quota::background_reserve`].
pub const BACKGROUND_RESERVE_PERCENT: u32 = 20;

/// How many calls are allowed per period: `limit` calls, all of which may be spent at once, one
/// coming back every `period / limit`.
///
/// ```
/// use gerbang_core::rate::Quota;
/// use std::num::NonZeroU32;
/// use std::time::Duration;
///
/// let quota = Quota::per_hour(NonZeroU32::new(100).unwrap());
/// assert_eq!(quota.period, Duration::from_secs(3600));
/// assert_eq!(quota.emission_interval_micros(), 36_000_000); // one call back every 36 s
/// assert_eq!(quota.background_reserve(), 20);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Quota {
    /// Calls allowed per period (and the largest burst).
    pub limit: NonZeroU32,
    /// The period.
    pub period: Duration,
}

impl Quota {
    /// `limit` calls per `period`.
    pub const fn new(limit: NonZeroU32, period: Duration) -> Self {
        Self { limit, period }
    }

    /// `limit` calls per hour.
    pub const fn per_hour(limit: NonZeroU32) -> Self {
        Self::new(limit, Duration::from_secs(3600))
    }

    /// `T`, the time one unit takes to come back, in microseconds: `period / limit`, rounded up
    /// (so that the budget never lets more through than `limit` per period), at least 1.
    pub fn emission_interval_micros(&self) -> u64 {
        let period = u64::try_from(self.period.as_micros()).unwrap_or(u64::MAX);
        period.div_ceil(u64::from(self.limit.get())).max(1)
    }

    /// The calls of the budget that [`Priority::Background`] work may not spend:
    /// [`BACKGROUND_RESERVE_PERCENT`] % of `limit`, rounded up (1 for any limit up to 5).
    pub fn background_reserve(&self) -> u32 {
        let reserve = u64::from(self.limit.get()) * u64::from(BACKGROUND_RESERVE_PERCENT);
        u32::try_from(reserve.div_ceil(100)).unwrap_or(u32::MAX).min(self.limit.get())
    }

    /// How far ahead of `now` the theoretical arrival time may be after a call of this priority
    /// is allowed, in microseconds: `limit × T` for [`Priority::Normal`],
    /// `(limit - reserve) × T` for [`Priority::Background`].
    pub fn window_micros(&self, priority: Priority) -> u64 {
        let calls = match priority {
            Priority::Normal => self.limit.get(),
            Priority::Background => self.limit.get() - self.background_reserve(),
        };
        u64::from(calls).saturating_mul(self.emission_interval_micros())
    }
}

/// Who is spending: the merchant's own calls, or background work that must leave them room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
#[non_exhaustive]
pub enum Priority {
    /// A call the merchant made: may spend the whole budget.
    #[default]
    Normal,
    /// Background work (the reconciler's status checks): may spend only while more than
    /// [`BACKGROUND_RESERVE_PERCENT`] % of the budget remains.
    Background,
}

impl Priority {
    /// `normal` or `background`: the value of the `priority` metric label.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Normal => "normal",
            Self::Background => "background",
        }
    }
}

tokio::task_local! {
    static SCOPE_PRIORITY: Priority;
}

/// Runs `work` with every call it makes spending the rate budget at `priority` at most: a
/// gateway client asked for [`Priority::Normal`] spends at `priority` inside the scope. This is
/// how work that only holds a `dyn PaymentProvider` (the reconciler) stays at
/// [`Priority::Background`].
///
/// ```
/// use gerbang_core::rate::{current_priority, with_priority, Priority};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// assert_eq!(current_priority(), Priority::Normal);
/// let inside = with_priority(Priority::Background, async { current_priority() }).await;
/// assert_eq!(inside, Priority::Background);
/// # }
/// ```
pub async fn with_priority<F: std::future::Future>(priority: Priority, work: F) -> F::Output {
    SCOPE_PRIORITY.scope(priority, work).await
}

/// The priority of the [`with_priority`] scope this runs in; [`Priority::Normal`] outside one.
pub fn current_priority() -> Priority {
    SCOPE_PRIORITY.try_with(|p| *p).unwrap_or_default()
}

/// What [`gcra`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Allowed: store `tat` (microseconds, on the same clock as `now`), which may be forgotten
    /// after `ttl` (when the whole budget is back).
    Allow {
        /// The new theoretical arrival time.
        tat: u64,
        /// How long the stored value matters: `tat - now`.
        ttl: Duration,
    },
    /// Refused: store nothing; the call of this priority could go after `retry_after`.
    Refuse {
        /// How long to wait.
        retry_after: Duration,
    },
}

/// The GCRA step every [`RateStore`] computes: given the stored theoretical arrival time `tat`
/// (if any) and `now`, both in microseconds on one clock, allow or refuse one call. See the
/// [module documentation](self) for the arithmetic, which the Redis script repeats.
///
/// ```
/// use gerbang_core::rate::{gcra, Decision, Priority, Quota};
/// use std::num::NonZeroU32;
/// use std::time::Duration;
///
/// let quota = Quota::per_hour(NonZeroU32::new(3).unwrap()); // T = 20 minutes
/// let mut tat = None;
/// for _ in 0..3 {
///     let Decision::Allow { tat: next, .. } = gcra(tat, 0, &quota, Priority::Normal) else { panic!() };
///     tat = Some(next);
/// }
/// assert_eq!(gcra(tat, 0, &quota, Priority::Normal), Decision::Refuse { retry_after: Duration::from_secs(1200) });
/// ```
pub fn gcra(tat: Option<u64>, now: u64, quota: &Quota, priority: Priority) -> Decision {
    let interval = quota.emission_interval_micros();
    let tat = tat.unwrap_or(now).max(now);
    let new_tat = tat.saturating_add(interval);
    let ahead = new_tat - now;
    let window = quota.window_micros(priority);
    if ahead <= window {
        Decision::Allow { tat: new_tat, ttl: Duration::from_micros(ahead) }
    } else {
        Decision::Refuse { retry_after: Duration::from_micros(ahead - window) }
    }
}

/// Where rate budgets are counted, by key. Implementations: [`MemoryRateStore`] here, Redis in
/// `gerbang-redis`.
///
/// A key names one budget: the gateway and the account, `"<gateway>:<account>"`, where the
/// account is a short hash the gateway crate makes of its credentials (never a credential);
/// Cuan10pay's is `cuan10pay:` and 16 hex digits. A store may prefix it with its own namespace.
#[async_trait]
pub trait RateStore: Send + Sync + fmt::Debug {
    /// Spends one call of `quota` under `key` at `priority`, as [`gcra`] decides on the store's
    /// own clock: `Ok(())` when allowed, [`Error::BudgetSpent`] with the wait when spent (for
    /// [`Priority::Background`], when only the reserve is left). A store that cannot be reached
    /// answers [`Error::Store`]; the caller decides what that means (Cuan10pay refuses the call).
    async fn acquire(&self, key: &str, quota: Quota, priority: Priority) -> Result<(), Error>;

    /// [`acquire`](Self::acquire), saying how many calls of the budget are left after this one
    /// at [`Priority::Normal`] ([`remaining_after`]), when the store can tell: for the
    /// `gerbang_rate_budget_remaining` metric. The default spends through `acquire` and says
    /// `None`; both stores of gerbang tell.
    async fn acquire_with_remaining(&self, key: &str, quota: Quota, priority: Priority) -> Result<Option<u32>, Error> {
        self.acquire(key, quota, priority).await.map(|()| None)
    }
}

/// The calls of `quota` left at [`Priority::Normal`] when the theoretical arrival time is
/// `ahead_micros` past now (after a call was allowed: [`Decision::Allow`]'s `ttl`): the whole
/// window less what is ahead, in whole calls.
///
/// ```
/// use gerbang_core::rate::{gcra, remaining_after, Decision, Priority, Quota};
/// use std::num::NonZeroU32;
///
/// let quota = Quota::per_hour(NonZeroU32::new(100).unwrap());
/// let Decision::Allow { tat, ttl } = gcra(None, 0, &quota, Priority::Normal) else { panic!() };
/// assert_eq!(remaining_after(&quota, ttl.as_micros() as u64), 99);
/// let Decision::Allow { ttl, .. } = gcra(Some(tat), 0, &quota, Priority::Normal) else { panic!() };
/// assert_eq!(remaining_after(&quota, ttl.as_micros() as u64), 98);
/// ```
pub fn remaining_after(quota: &Quota, ahead_micros: u64) -> u32 {
    let free = quota.window_micros(Priority::Normal).saturating_sub(ahead_micros);
    u32::try_from(free / quota.emission_interval_micros()).unwrap_or(u32::MAX)
}

/// The in-memory [`RateStore`]: the default, for one process. Budgets of keys whose budget is
/// whole again are forgotten.
///
/// ```
/// use gerbang_core::rate::{MemoryRateStore, Priority, Quota, RateStore};
/// use gerbang_core::Error;
/// use std::num::NonZeroU32;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Error> {
/// let store = MemoryRateStore::new();
/// let quota = Quota::per_hour(NonZeroU32::MIN); // one call per hour
/// store.acquire("cuan10pay:a", quota, Priority::Normal).await?;
/// let spent = store.acquire("cuan10pay:a", quota, Priority::Normal).await;
/// assert!(matches!(spent, Err(Error::BudgetSpent { retry_after: Some(_) })));
/// // Another account has its own budget.
/// store.acquire("cuan10pay:b", quota, Priority::Normal).await?;
/// # Ok(())
/// # }
/// ```
pub struct MemoryRateStore {
    epoch: Instant,
    tats: Mutex<HashMap<String, u64>>,
}

/// Above this many keys, the keys whose budget is whole again are dropped.
const PRUNE_ABOVE: usize = 1024;

impl MemoryRateStore {
    /// An empty store.
    pub fn new() -> Self {
        Self { epoch: Instant::now(), tats: Mutex::new(HashMap::new()) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, u64>> {
        self.tats.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Default for MemoryRateStore {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for MemoryRateStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryRateStore").field("keys", &self.lock().len()).finish()
    }
}

#[async_trait]
impl RateStore for MemoryRateStore {
    async fn acquire(&self, key: &str, quota: Quota, priority: Priority) -> Result<(), Error> {
        self.spend(key, quota, priority).map(|_| ())
    }

    async fn acquire_with_remaining(&self, key: &str, quota: Quota, priority: Priority) -> Result<Option<u32>, Error> {
        self.spend(key, quota, priority).map(Some)
    }
}

impl MemoryRateStore {
    /// Spends one call; the calls left after it.
    fn spend(&self, key: &str, quota: Quota, priority: Priority) -> Result<u32, Error> {
        let now = u64::try_from(self.epoch.elapsed().as_micros()).unwrap_or(u64::MAX);
        let mut tats = self.lock();
        if tats.len() > PRUNE_ABOVE {
            tats.retain(|_, tat| *tat > now);
        }
        match gcra(tats.get(key).copied(), now, &quota, priority) {
            Decision::Allow { tat, ttl } => {
                tats.insert(key.to_owned(), tat);
                Ok(remaining_after(&quota, u64::try_from(ttl.as_micros()).unwrap_or(u64::MAX)))
            }
            Decision::Refuse { retry_after } => {
                tracing::debug!(
                    wait_ms = u64::try_from(retry_after.as_millis()).unwrap_or(u64::MAX),
                    ?priority,
                    "rate budget spent"
                );
                Err(Error::BudgetSpent { retry_after: Some(retry_after) })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quota(limit: u32) -> Quota {
        Quota::per_hour(NonZeroU32::new(limit).unwrap())
    }

    #[test]
    fn the_reserve_is_a_fifth_rounded_up_and_never_more_than_the_limit() {
        assert_eq!(quota(100).background_reserve(), 20);
        assert_eq!(quota(10).background_reserve(), 2);
        assert_eq!(quota(7).background_reserve(), 2);
        assert_eq!(quota(5).background_reserve(), 1);
        assert_eq!(quota(1).background_reserve(), 1);
        assert_eq!(quota(1).window_micros(Priority::Background), 0);
    }

    #[test]
    fn a_burst_of_the_whole_limit_then_one_per_interval() {
        let q = quota(3);
        let t = q.emission_interval_micros();
        assert_eq!(t, 1_200_000_000);
        let mut tat = None;
        for _ in 0..3 {
            match gcra(tat, 0, &q, Priority::Normal) {
                Decision::Allow { tat: next, .. } => tat = Some(next),
                refused => panic!("{refused:?}"),
            }
        }
        assert_eq!(gcra(tat, 0, &q, Priority::Normal), Decision::Refuse { retry_after: Duration::from_secs(1200) });
        // One interval later, one call is back, and only one.
        assert!(matches!(gcra(tat, t, &q, Priority::Normal), Decision::Allow { .. }));
        assert_eq!(gcra(tat, t - 1, &q, Priority::Normal), Decision::Refuse { retry_after: Duration::from_micros(1) });
        // A stale tat counts as none: the whole budget is back.
        assert_eq!(
            gcra(Some(5), 10 * t, &q, Priority::Normal),
            Decision::Allow { tat: 11 * t, ttl: Duration::from_micros(t) }
        );
    }

    #[test]
    fn background_stops_at_the_reserve_and_normal_goes_on() {
        let q = quota(10); // reserve 2
        let mut tat = None;
        let mut spend = |priority| match gcra(tat, 0, &q, priority) {
            Decision::Allow { tat: next, .. } => {
                tat = Some(next);
                true
            }
            Decision::Refuse { .. } => false,
        };
        for _ in 0..8 {
            assert!(spend(Priority::Background));
        }
        assert!(!spend(Priority::Background), "only the reserve is left");
        assert!(spend(Priority::Normal));
        assert!(spend(Priority::Normal));
        assert!(!spend(Priority::Normal));
        // Background waits until more than the reserve is back: 3 intervals.
        let t = q.emission_interval_micros();
        assert_eq!(
            gcra(tat, 0, &q, Priority::Background),
            Decision::Refuse { retry_after: Duration::from_micros(3 * t) }
        );
    }

    #[tokio::test]
    async fn the_memory_store_keeps_one_budget_per_key() {
        let store = MemoryRateStore::new();
        let q = quota(2);
        store.acquire("a", q, Priority::Normal).await.unwrap();
        store.acquire("a", q, Priority::Normal).await.unwrap();
        let err = store.acquire("a", q, Priority::Normal).await.unwrap_err();
        assert!(matches!(err, Error::BudgetSpent { retry_after: Some(w) } if w > Duration::from_secs(1790)), "{err:?}");
        store.acquire("b", q, Priority::Normal).await.unwrap();
    }
}
