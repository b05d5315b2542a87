//! [`RedisRateStore`]: the rate budget on Redis, one count for every replica.

use std::fmt;
use std::sync::LazyLock;
use std::time::Duration;

use async_trait::async_trait;
use gerbang_core::Error;
use gerbang_core::rate::{Priority, Quota, RateStore, remaining_after};
use redis::Script;
use redis::aio::ConnectionManager;

use crate::conn::{Connection, Timeouts};
use crate::key::tame_key;

/// [`gerbang_core::rate::gcra`] in Lua, on the server's clock (`TIME`, shared by every replica).
///
/// `KEYS[1]`: the budget's key; `ARGV[1]`: `T`, the emission interval in µs; `ARGV[2]`: the
/// window of the call's priority in µs. When the call is allowed, the new theoretical arrival time
/// is stored (expiring when the whole budget is back) and the script returns how far ahead of now
/// it is in µs, negated (so at most -1: what is left of the budget follows from it); else it
/// returns how long to wait in µs (at least 1) and stores nothing.
///
/// Lua numbers are doubles: exact for integers below 2⁵³ µs, which [`MAX_MICROS`] keeps every
/// value under. Numbers are written with `%.0f`, a whole number of µs in plain digits, rather
/// than left to a conversion (Lua's own `tostring` would round to 14 digits).
/// `redis.replicate_commands()` lets a script that read `TIME` write on Redis 3.2 to 4 (from 5
/// on, scripts replicate their effects anyway).
static GCRA: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.replicate_commands then redis.replicate_commands() end
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local interval = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local tat = math.max(tonumber(redis.call('GET', KEYS[1])) or now, now)
local new = tat + interval
local ahead = new - now
if ahead <= window then
  redis.call('SET', KEYS[1], string.format('%.0f', new), 'PX', string.format('%.0f', math.max(1, math.ceil(ahead / 1000))))
  return -ahead
end
return ahead - window
",
    )
});

/// The largest interval or window the script computes exactly: 2⁵² µs (about 142 years), so
/// that the server's time in µs (about 2⁵⁰·⁶ in this century) plus either stays below 2⁵³.
const MAX_MICROS: u64 = 1 << 52;

/// The [`RateStore`] on Redis: one budget for every replica of a merchant's backend, so that N
/// replicas together never send more than the gateway's limit.
///
/// - [`acquire`](RateStore::acquire) runs one Lua script: the GCRA step of
///   [`gerbang_core::rate::gcra`], exactly, on the server's clock (`TIME` in µs: every replica
///   counts on the same clock, whatever their own say). Allowed: `SET key <new tat> PX <ms until
///   the whole budget is back>`; refused: nothing is written, and the wait comes back as
///   [`Error::BudgetSpent`] with `retry_after`.
/// - The key is the [prefix](RedisRateStoreBuilder::prefix) (default `gerbang:rate:`) and the
///   budget's key (`gerbang:rate:cuan10pay:4f2a27b23b7c18df`), kept readable when it is at most
///   128 bytes of ASCII letters, digits and `-_.:/@+=,~`, else `#` and its SHA-256 in hex. It holds
///   one number, the theoretical arrival time in µs; a key that is gone is a whole budget.
///
/// While Redis is unreachable, [`acquire`](RateStore::acquire) fails within the
/// [operation timeout](RedisRateStoreBuilder::operation_timeout) (default 2 s) with
/// [`Error::Store`]; Cuan10pay's client then refuses the call rather than send it uncounted. It is
/// cheap to clone and reconnects by itself; `Debug` and `Display` show the URL with its password
/// replaced by `***`, and errors never show the URL.
///
/// ```no_run
/// use std::num::NonZeroU32;
/// use std::sync::Arc;
/// use gerbang_core::rate::{Priority, Quota, RateStore, remaining_after};
/// use gerbang_redis::RedisRateStore;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), gerbang_core::Error> {
/// let store = RedisRateStore::connect("redis://127.0.0.1:6379/0").await?;
/// let quota = Quota::per_hour(NonZeroU32::new(100).unwrap());
/// store.acquire("cuan10pay:4f2a27b23b7c18df", quota, Priority::Normal).await?;
/// // Or give it to a gateway client, in every replica:
/// // Cuan10payConfig::builder(…).rate_store(Arc::new(store)).build()?
/// # let _ = Arc::new(store);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct RedisRateStore {
    conn: Connection,
    prefix: String,
}

/// Options of a [`RedisRateStore`]: [`RedisRateStore::builder`].
#[derive(Debug, Clone)]
pub struct RedisRateStoreBuilder {
    prefix: String,
    timeouts: Timeouts,
}

impl Default for RedisRateStoreBuilder {
    fn default() -> Self {
        Self {
            prefix: RedisRateStore::DEFAULT_PREFIX.to_owned(),
            timeouts: Timeouts::new(RedisRateStore::DEFAULT_OPERATION_TIMEOUT),
        }
    }
}

impl RedisRateStoreBuilder {
    /// The start of every key (default `gerbang:rate:`): give each application sharing a Redis
    /// its own. Every replica sharing a budget must use the same.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    crate::conn::connection_methods!(RedisRateStore, "2 s");

    fn finish(self, conn: Connection) -> RedisRateStore {
        RedisRateStore { conn, prefix: self.prefix }
    }
}

impl RedisRateStore {
    /// The key prefix unless [`RedisRateStoreBuilder::prefix`] says otherwise.
    pub const DEFAULT_PREFIX: &str = "gerbang:rate:";
    /// The longest an acquire waits on Redis, reconnecting included, unless
    /// [`RedisRateStoreBuilder::operation_timeout`] says otherwise: short, since the caller's
    /// answer to a failing store (Cuan10pay refuses the call) comes only with the error.
    pub const DEFAULT_OPERATION_TIMEOUT: Duration = Duration::from_secs(2);

    /// Connects to `url` with the default options ([`RedisRateStoreBuilder::connect`]).
    ///
    /// # Errors
    ///
    /// As [`RedisRateStoreBuilder::connect`].
    pub async fn connect(url: &str) -> Result<Self, Error> {
        Self::builder().connect(url).await
    }

    /// A store on an existing connection manager, with the default options.
    pub fn new(conn: ConnectionManager) -> Self {
        Self::builder().build(conn)
    }

    /// Options: prefix, timeouts.
    pub fn builder() -> RedisRateStoreBuilder {
        RedisRateStoreBuilder::default()
    }

    /// The Redis key that holds the budget of `key` (for an operator's `redis-cli`).
    pub fn redis_key(&self, key: &str) -> String {
        tame_key(&[&self.prefix], key)
    }
}

#[async_trait]
impl RateStore for RedisRateStore {
    async fn acquire(&self, key: &str, quota: Quota, priority: Priority) -> Result<(), Error> {
        self.acquire_with_remaining(key, quota, priority).await.map(|_| ())
    }

    async fn acquire_with_remaining(&self, key: &str, quota: Quota, priority: Priority) -> Result<Option<u32>, Error> {
        let interval = quota.emission_interval_micros();
        let window = quota.window_micros(priority);
        if interval > MAX_MICROS || window > MAX_MICROS {
            return Err(Error::config(format!(
                "a rate budget of {} calls per {:?} is beyond what the redis rate store counts (a period of at most 142 years)",
                quota.limit, quota.period
            )));
        }
        let redis_key = self.redis_key(key);
        let mut conn = self.conn.link();
        let mut invocation = GCRA.key(&redis_key);
        invocation.arg(interval).arg(window);
        let answer: i64 = self.conn.run("acquire", &[], invocation.invoke_async(&mut conn)).await?;
        if answer <= 0 {
            tracing::trace!(redis_key = %redis_key, ?priority, "redis rate budget: allowed");
            return Ok(Some(remaining_after(&quota, answer.unsigned_abs())));
        }
        let wait = answer.unsigned_abs();
        tracing::debug!(redis_key = %redis_key, wait_ms = wait / 1000, ?priority, "redis rate budget spent");
        Err(Error::BudgetSpent { retry_after: Some(Duration::from_micros(wait)) })
    }
}

impl fmt::Debug for RedisRateStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisRateStore")
            .field("target", &self.conn.target())
            .field("prefix", &self.prefix)
            .field("operation_timeout", &self.conn.operation_timeout())
            .finish_non_exhaustive()
    }
}

impl fmt::Display for RedisRateStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "redis rate store at {} (keys {}*)", self.conn.target(), self.prefix)
    }
}
