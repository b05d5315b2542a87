//! [`RedisInbox`]: the event inbox on Redis, shared by every replica.

use std::fmt;
use std::sync::LazyLock;
use std::time::Duration;

use async_trait::async_trait;
use gerbang_core::Error;
use gerbang_core::inbox::{Claim, EventKey, Inbox, Lease};
use redis::Script;
use redis::aio::ConnectionManager;

use crate::conn::{COMPARE_AND_DELETE, Connection, Timeouts, millis};
use crate::key::redis_key;

/// The value of a key whose event was handled. A holder token (`{hex}-{n}`) is never this.
const DONE: &str = "done";

/// Claims `KEYS[1]` for the holder `ARGV[1]` for `ARGV[2]` ms: `SET … NX PX`. Returns 1 when it
/// was set (the claim is new), else 2 when the key holds the done marker `ARGV[3]`, else 0 (in
/// flight: another holder has it).
static CLAIM: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return 1
end
if redis.call('GET', KEYS[1]) == ARGV[3] then
  return 2
end
return 0
",
    )
});

/// Completes a claim: if `KEYS[1]` is still held by `ARGV[1]`, or by nobody (the lease ran out
/// and nobody took over: the event was handled once, as [`MemoryInbox`] also counts it), it
/// becomes the done marker `ARGV[2]` for `ARGV[3]` ms and the script returns 1; if another holder
/// has it, or it is done already, it returns 0.
///
/// [`MemoryInbox`]: gerbang_core::inbox::MemoryInbox
static COMPLETE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local current = redis.call('GET', KEYS[1])
if current == ARGV[1] or current == false then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
return 0
",
    )
});

/// The key prefix unless [`RedisInboxBuilder::prefix`] says otherwise.
pub const DEFAULT_PREFIX: &str = "gerbang:inbox:";
/// How long done markers are kept unless [`RedisInboxBuilder::retention`] says otherwise: 7 days,
/// longer than any gateway retries a webhook.
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(7 * 24 * 3600);
/// The longest a claim, complete or release waits on Redis, reconnecting included, unless
/// [`RedisInboxBuilder::operation_timeout`] says otherwise.
pub const DEFAULT_OPERATION_TIMEOUT: Duration = Duration::from_secs(3);

/// The [`Inbox`] on Redis: one inbox for every replica of a merchant's backend, so that an event
/// delivered to two of them, or twice, is handled once.
///
/// - A claim is a Lua script, `SET key holder NX PX lease` and, when it did not set, a `GET` of
///   the key: granted ([`Claim::New`]) when the `SET` happened, else [`Claim::Done`] when the key
///   holds the done marker, else [`Claim::InFlight`]. A holder that dies leaves its key to expire with the lease.
/// - [`complete`](Inbox::complete) is a Lua script: if the key still holds this lease's token (or
///   nothing: the lease ran out but nobody took over), it becomes the done marker `done`, kept for
///   the [retention](RedisInboxBuilder::retention); `false` if another holder has it.
/// - [`release`](Inbox::release) is a Lua compare-and-delete on the token (the script the token
///   store's unlock runs too).
/// - The key is the [prefix](RedisInboxBuilder::prefix) (default `gerbang:inbox:`), the gateway,
///   `:`, and the event's [stored](EventKey::stored) key, kept readable when it is at most 128
///   bytes of ASCII letters, digits and `-_.:/@+=,~` (`gerbang:inbox:cuan10pay:cuan10pay:CP-1:paid`);
///   any other becomes `#` and its SHA-256 in hex. Every operation touches that one key and no
///   other.
///
/// It is cheap to clone (the [`ConnectionManager`] inside is shared) and reconnects by itself
/// after Redis restarts; while Redis is unreachable, every operation fails within the
/// [operation timeout](RedisInboxBuilder::operation_timeout) with [`Error::Store`], which a
/// receiver answers non-2xx so that the gateway delivers again. `Debug` and `Display` show the
/// URL with its password replaced by `***`; errors never show the URL.
///
/// Durability is the server's: a done marker lost with an unpersisted Redis lets a retried
/// delivery be handled again (at least once still holds; handlers must tolerate it). Run Redis
/// with AOF (`appendonly yes`) when that matters.
#[derive(Clone)]
pub struct RedisInbox {
    conn: Connection,
    prefix: String,
    retention: Duration,
}

/// Options of a [`RedisInbox`]: [`RedisInbox::builder`].
#[derive(Debug, Clone)]
pub struct RedisInboxBuilder {
    prefix: String,
    retention: Duration,
    timeouts: Timeouts,
}

impl Default for RedisInboxBuilder {
    fn default() -> Self {
        Self {
            prefix: DEFAULT_PREFIX.to_owned(),
            retention: DEFAULT_RETENTION,
            timeouts: Timeouts::new(DEFAULT_OPERATION_TIMEOUT),
        }
    }
}

impl RedisInboxBuilder {
    /// The start of every key (default `gerbang:inbox:`): give each application sharing a Redis
    /// its own.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// How long a done marker is kept (default 7 days; at least 1 ms). Keep it longer than the
    /// longest a gateway goes on retrying: a delivery after it is handled again.
    pub fn retention(mut self, retention: Duration) -> Self {
        self.retention = retention;
        self
    }

    crate::conn::connection_methods!(RedisInbox, "3 s");

    fn finish(self, conn: Connection) -> RedisInbox {
        RedisInbox { conn, prefix: self.prefix, retention: self.retention.max(Duration::from_millis(1)) }
    }
}

impl RedisInbox {
    /// Connects to `url` with the default options ([`RedisInboxBuilder::connect`]).
    ///
    /// # Errors
    ///
    /// As [`RedisInboxBuilder::connect`].
    pub async fn connect(url: &str) -> Result<Self, Error> {
        Self::builder().connect(url).await
    }

    /// An inbox on an existing connection manager, with the default options.
    pub fn new(conn: ConnectionManager) -> Self {
        Self::builder().build(conn)
    }

    /// Options: prefix, retention, timeouts.
    pub fn builder() -> RedisInboxBuilder {
        RedisInboxBuilder::default()
    }

    /// The Redis key that holds `key`'s claim or done marker (for an operator's `redis-cli`).
    pub fn redis_key(&self, key: &EventKey) -> String {
        redis_key(&self.prefix, key)
    }

    /// How long done markers are kept.
    pub fn retention(&self) -> Duration {
        self.retention
    }

    /// Runs `script` on `lease`'s key with the holder token and then `args`: whether the lease
    /// was still the holder's.
    async fn holder_script(
        &self,
        operation: &'static str,
        script: &Script,
        lease: &Lease,
        args: &[String],
    ) -> Result<bool, Error> {
        // A hand-made lease whose "token" is the done marker must not pass for its holder.
        if lease.holder == DONE {
            return Ok(false);
        }
        let key = self.redis_key(&lease.key);
        let mut conn = self.conn.link();
        let mut invocation = script.key(&key);
        invocation.arg(&lease.holder);
        for arg in args {
            invocation.arg(arg);
        }
        let ours: i64 = self.conn.run(operation, &[], invocation.invoke_async(&mut conn)).await?;
        tracing::debug!(gateway = %lease.key.provider, dedup_key = %lease.key.key, ours = ours == 1, "redis inbox {operation}");
        Ok(ours == 1)
    }
}

#[async_trait]
impl Inbox for RedisInbox {
    async fn claim(&self, key: &EventKey, lease: Duration) -> Result<Claim, Error> {
        let granted = Lease::new(key.clone(), lease);
        let redis_key = self.redis_key(key);
        let mut conn = self.conn.link();
        // One script rather than a MULTI: as atomic (the GET sees exactly what made the SET
        // fail, never a key that vanished in between), and one command, which a Redis Cluster
        // client redirects (`MOVED`, after a failover) as it does any other.
        let mut invocation = CLAIM.key(&redis_key);
        invocation.arg(&granted.holder).arg(millis(lease)).arg(DONE);
        let found: i64 = self.conn.run("claim", &[], invocation.invoke_async(&mut conn)).await?;
        let (claim, found) = match found {
            1 => (Claim::New(granted), "new"),
            2 => (Claim::Done, "done"),
            _ => (Claim::InFlight, "in flight"),
        };
        tracing::debug!(redis_key = %redis_key, found, "redis inbox claim");
        Ok(claim)
    }

    async fn complete(&self, lease: &Lease) -> Result<bool, Error> {
        let args = [DONE.to_owned(), millis(self.retention).to_string()];
        self.holder_script("complete", &COMPLETE, lease, &args).await
    }

    async fn release(&self, lease: &Lease) -> Result<bool, Error> {
        self.holder_script("release", &COMPARE_AND_DELETE, lease, &[]).await
    }

    async fn ping(&self) -> Result<(), Error> {
        let mut conn = self.conn.link();
        let _: String = self.conn.run("ping", &[], redis::cmd("PING").query_async(&mut conn)).await?;
        Ok(())
    }
}

impl fmt::Debug for RedisInbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisInbox")
            .field("target", &self.conn.target())
            .field("prefix", &self.prefix)
            .field("retention", &self.retention)
            .field("operation_timeout", &self.conn.operation_timeout())
            .finish_non_exhaustive()
    }
}

impl fmt::Display for RedisInbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "redis inbox at {} (keys {}*)", self.conn.target(), self.prefix)
    }
}
