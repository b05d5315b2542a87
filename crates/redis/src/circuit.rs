//! [`RedisCircuitStore`]: the circuit breaker's state on Redis, one circuit per gateway for every
//! replica.

use std::fmt;
use std::sync::LazyLock;
use std::time::Duration;

use async_trait::async_trait;
use gerbang_core::circuit::{Admission, CircuitPolicy, CircuitStore, Health};
use gerbang_core::{Error, ProviderId};
use redis::Script;
use redis::aio::ConnectionManager;

use crate::conn::{Connection, Timeouts};

/// The `TIME` of the server in µs, as `now`: every replica reads the same clock.
/// `redis.replicate_commands()` lets a script that read `TIME` write on Redis 3.2 to 4 (from 5
/// on, scripts replicate their effects anyway). Numbers are written with `%.0f` (whole µs in
/// plain digits; Lua's `tostring` would round to 14 digits).
const NOW: &str = r"
if redis.replicate_commands then redis.replicate_commands() end
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
";

/// Whether a call may go: `KEYS[1]` the gateway's hash; `ARGV[1]` the cool-down in µs,
/// `ARGV[2]` the probe timeout in µs, `ARGV[3]` how long an idle circuit is kept, in ms.
/// Returns 0 closed, 1 probe (the slot taken: `probe` = when it expires, and the key's TTL
/// renewed), 2 open.
static ADMIT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        r"{NOW}
local state = redis.call('HMGET', KEYS[1], 'opened', 'probe')
local opened = tonumber(state[1])
if not opened then return 0 end
if now < opened + tonumber(ARGV[1]) then return 2 end
local probe = tonumber(state[2])
if probe and now < probe then return 2 end
redis.call('HSET', KEYS[1], 'probe', string.format('%.0f', now + tonumber(ARGV[2])))
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
"
    ))
});

/// What a call proved: `KEYS[1]` the gateway's hash; `ARGV[1]` `healthy`, `unhealthy` or
/// `unproven` ([`Health::as_str`]), `ARGV[2]` the failure threshold, `ARGV[3]` how long an idle
/// circuit is kept, in ms. Returns what changed, for the log: 0 nothing to tell, 1 opened,
/// 2 the probe failed and it opened again, 3 closed (it was open).
///
/// - `healthy`: the key is deleted (closed, no failures).
/// - `unproven`: the probe slot, if held, is given back (`HDEL probe`).
/// - `unhealthy`: while closed, `failures` + 1 and, at the threshold, `opened` = now; while
///   open with the probe slot given (held, or expired: a late probe), `opened` = now and the slot
///   freed (a fresh cool-down); while open without a probe, a straggler admitted before it
///   opened: nothing. Each write renews the key's TTL.
static RECORD: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        r"{NOW}
if ARGV[1] == 'healthy' then
  local was_open = redis.call('HEXISTS', KEYS[1], 'opened')
  redis.call('DEL', KEYS[1])
  if was_open == 1 then return 3 end
  return 0
end
local state = redis.call('HMGET', KEYS[1], 'failures', 'opened', 'probe')
if ARGV[1] == 'unproven' then
  if state[3] then redis.call('HDEL', KEYS[1], 'probe') end
  return 0
end
if state[2] then
  if not state[3] then return 0 end
  redis.call('HSET', KEYS[1], 'opened', string.format('%.0f', now))
  redis.call('HDEL', KEYS[1], 'probe')
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  return 2
end
local failures = (tonumber(state[1]) or 0) + 1
redis.call('HSET', KEYS[1], 'failures', failures)
local opened = 0
if failures >= tonumber(ARGV[2]) then
  redis.call('HSET', KEYS[1], 'opened', string.format('%.0f', now))
  opened = 1
end
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return opened
"
    ))
});

/// The longest duration the scripts compute with: 2⁵² µs (about 142 years), so that the
/// server's time in µs (about 2⁵⁰·⁶ in this century) plus it stays below 2⁵³, where Lua's
/// doubles are still exact. A longer cool-down or timeout is taken as this (for ever, in practice).
const MAX_MICROS: u64 = 1 << 52;

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX).min(MAX_MICROS)
}

/// A duration in whole ms for `PEXPIRE`, rounded up, at least 1 and at most [`MAX_MICROS`] µs (rounded up).
fn ttl_millis(d: Duration) -> u64 {
    micros(d).div_ceil(1000).max(1)
}

/// The [`CircuitStore`] on Redis: one circuit per gateway for every replica of a merchant's
/// backend, so that failures seen by one replica open the circuit for all, and after the
/// cool-down exactly one replica's call is the probe.
///
/// - Each gateway's circuit is one hash, `gerbang:circuit:{cuan10pay}` (the
///   [prefix](RedisCircuitStoreBuilder::prefix), then the gateway as a hash tag): `failures`
///   (consecutive, while closed), `opened` (when it opened, µs of the server's clock) and `probe`
///   (while the probe slot is held: when it expires, µs). A closed circuit with no failures
///   has no key.
/// - [`admit`](CircuitStore::admit) and [`record`](CircuitStore::record) are each **one Lua
///   script**, atomic however many replicas call at once (of N replicas asking after the
///   cool-down, exactly one gets [`Admission::Probe`]), clocked by the server's `TIME`, so that
///   replicas with skewed clocks agree. The rules are [`gerbang_core::circuit`]'s, the same as
///   the memory store's.
/// - A probe whose holder died frees its slot after the policy's
///   [`probe_timeout`](CircuitPolicy::probe_timeout); each write sets the key's TTL to
///   [`CircuitPolicy::forget_after`] (4 min 30 s by default), so an idle circuit's key expires.
///
/// While Redis is unreachable, each operation fails within the
/// [operation timeout](RedisCircuitStoreBuilder::operation_timeout) (default 1 s: the router
/// waits for it before each call) with [`Error::Store`], and the router then calls the gateway as
/// if its circuit were closed. It is cheap to clone and reconnects by itself; `Debug` and
/// `Display` show the URL with its password replaced by `***`, and errors never show the URL.
///
/// ```no_run
/// use std::sync::Arc;
/// use gerbang_core::circuit::CircuitStore;
/// use gerbang_redis::RedisCircuitStore;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), gerbang_core::Error> {
/// let circuits = RedisCircuitStore::builder().prefix("shop:circuit:").connect("redis://127.0.0.1:6379/0").await?;
/// circuits.ping().await?;
/// // In every replica: Router::builder().circuit_store(Arc::new(circuits))…
/// # let _: Arc<dyn CircuitStore> = Arc::new(circuits);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct RedisCircuitStore {
    conn: Connection,
    prefix: String,
}

/// Options of a [`RedisCircuitStore`]: [`RedisCircuitStore::builder`].
#[derive(Debug, Clone)]
pub struct RedisCircuitStoreBuilder {
    prefix: String,
    timeouts: Timeouts,
}

impl Default for RedisCircuitStoreBuilder {
    fn default() -> Self {
        Self {
            prefix: RedisCircuitStore::DEFAULT_PREFIX.to_owned(),
            timeouts: Timeouts::new(RedisCircuitStore::DEFAULT_OPERATION_TIMEOUT),
        }
    }
}

impl RedisCircuitStoreBuilder {
    /// The start of every key (default `gerbang:circuit:`): give each application sharing a
    /// Redis its own. Every replica sharing circuits must use the same. Braces are left out of
    /// it, so that the gateway stays the hash tag.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into().chars().filter(|c| !matches!(c, '{' | '}')).collect();
        self
    }

    crate::conn::connection_methods!(RedisCircuitStore, "1 s");

    fn finish(self, conn: Connection) -> RedisCircuitStore {
        RedisCircuitStore { conn, prefix: self.prefix }
    }
}

impl RedisCircuitStore {
    /// The key prefix unless [`RedisCircuitStoreBuilder::prefix`] says otherwise.
    pub const DEFAULT_PREFIX: &str = "gerbang:circuit:";
    /// The longest an admit or record waits on Redis, reconnecting included, unless
    /// [`RedisCircuitStoreBuilder::operation_timeout`] says otherwise: short, since the router
    /// waits for it before each call to a gateway (and then calls as if closed).
    pub const DEFAULT_OPERATION_TIMEOUT: Duration = Duration::from_secs(1);

    /// Connects to `url` with the default options ([`RedisCircuitStoreBuilder::connect`]).
    ///
    /// # Errors
    ///
    /// As [`RedisCircuitStoreBuilder::connect`].
    pub async fn connect(url: &str) -> Result<Self, Error> {
        Self::builder().connect(url).await
    }

    /// A store on an existing connection manager, with the default options.
    pub fn new(conn: ConnectionManager) -> Self {
        Self::builder().build(conn)
    }

    /// Options: prefix, timeouts, CA file.
    pub fn builder() -> RedisCircuitStoreBuilder {
        RedisCircuitStoreBuilder::default()
    }

    /// The Redis key that holds `gateway`'s circuit (for an operator's `redis-cli`):
    /// `gerbang:circuit:{cuan10pay}`.
    pub fn redis_key(&self, gateway: ProviderId) -> String {
        format!("{}{{{}}}", self.prefix, gateway.as_str())
    }
}

#[async_trait]
impl CircuitStore for RedisCircuitStore {
    async fn admit(&self, gateway: ProviderId, policy: CircuitPolicy) -> Result<Admission, Error> {
        let key = self.redis_key(gateway);
        let mut conn = self.conn.link();
        let mut invocation = ADMIT.key(&key);
        invocation
            .arg(micros(policy.cool_down))
            .arg(micros(policy.probe_timeout))
            .arg(ttl_millis(policy.forget_after()));
        let answer: i64 = self.conn.run("circuit admit", &[], invocation.invoke_async(&mut conn)).await?;
        let admission = match answer {
            0 => Admission::Closed,
            1 => Admission::Probe,
            _ => Admission::Open,
        };
        if admission == Admission::Probe {
            tracing::info!(gateway = gateway.as_str(), redis_key = %key, "circuit probe let through");
        }
        Ok(admission)
    }

    async fn record(&self, gateway: ProviderId, policy: CircuitPolicy, health: Health) -> Result<(), Error> {
        let key = self.redis_key(gateway);
        let mut conn = self.conn.link();
        let mut invocation = RECORD.key(&key);
        invocation.arg(health.as_str()).arg(policy.failure_threshold).arg(ttl_millis(policy.forget_after()));
        let changed: i64 = self.conn.run("circuit record", &[], invocation.invoke_async(&mut conn)).await?;
        match changed {
            1 => tracing::warn!(gateway = gateway.as_str(), redis_key = %key, "circuit opened"),
            2 => tracing::warn!(gateway = gateway.as_str(), redis_key = %key, "circuit probe failed; open again"),
            3 => tracing::info!(gateway = gateway.as_str(), redis_key = %key, "circuit closed"),
            _ => {}
        }
        Ok(())
    }

    async fn ping(&self) -> Result<(), Error> {
        let mut conn = self.conn.link();
        let _: String = self.conn.run("ping", &[], redis::cmd("PING").query_async(&mut conn)).await?;
        Ok(())
    }
}

impl fmt::Debug for RedisCircuitStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisCircuitStore")
            .field("target", &self.conn.target())
            .field("prefix", &self.prefix)
            .field("operation_timeout", &self.conn.operation_timeout())
            .finish_non_exhaustive()
    }
}

impl fmt::Display for RedisCircuitStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "redis circuit store at {} (keys {}{{gateway}})", self.conn.target(), self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_clamped_to_what_lua_computes_exactly() {
        assert_eq!(micros(Duration::from_millis(30)), 30_000);
        assert_eq!(micros(Duration::MAX), MAX_MICROS);
        assert_eq!(ttl_millis(Duration::ZERO), 1);
        assert_eq!(ttl_millis(Duration::from_micros(1500)), 2);
        assert_eq!(ttl_millis(Duration::MAX), MAX_MICROS.div_ceil(1000));
    }
}
