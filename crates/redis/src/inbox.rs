//! [`RedisInbox`]: the event inbox on Redis, shared by every replica.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock};
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
/// flight: another holder has it). What a claim runs on a server older than Redis 7.0, which
/// refuses `SET … NX … GET` ([`RedisInbox::claim`] sends that one command elsewhere).
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

/// Completes a claim on a server before Redis 7.0 (elsewhere [`RedisInbox::complete`] sends
/// the one command `SET … PX … GET` this does): `KEYS[1]` becomes the done marker `ARGV[2]` for
/// `ARGV[3]` ms, and the script returns 1 if it held `ARGV[1]`'s claim or nothing (the lease ran
/// out and nobody took over: the event was handled once, as [`MemoryInbox`] also counts it),
/// else 0 (another holder had taken it over, or it was done already).
///
/// [`MemoryInbox`]: gerbang_core::inbox::MemoryInbox
static COMPLETE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local current = redis.call('GET', KEYS[1])
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
if current == ARGV[1] or current == false then
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
/// - A claim is one command, `SET key holder NX PX lease GET`: granted ([`Claim::New`]) when the
///   key was not there (and is now set), else [`Claim::Done`] when it holds the done marker, else
///   [`Claim::InFlight`]. A holder that dies leaves its key to expire with the lease. A server
///   older than Redis 7.0 refuses `NX` with `GET`; the inbox then runs the same as a Lua script
///   (`SET … NX PX`, and a `GET` when it did not set), from that claim on.
/// - A completion is one command too, `SET key done PX retention GET`: the key becomes the done
///   marker `done`, kept for the [retention](RedisInboxBuilder::retention), whoever held it (the
///   handler ran: see [`Inbox::complete`]); `true` when what it replaced was this lease's token,
///   or nothing (the lease ran out but nobody took over). It is the store work a hand-written
///   inbox does, with no script to compare first. Before Redis 7.0 it is a Lua script doing the
///   same.
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
    /// Whether the server takes `SET … NX … GET` (Redis 7.0 and later). Cleared, for every clone,
    /// the first time the server refuses it or a completion's `SET … GET`; claims and completions
    /// then run the [`CLAIM`] and [`COMPLETE`] scripts.
    set_nx_get: Arc<AtomicBool>,
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
        RedisInbox {
            conn,
            prefix: self.prefix,
            retention: self.retention.max(Duration::from_millis(1)),
            set_nx_get: Arc::new(AtomicBool::new(true)),
        }
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

    /// Sends `set`, a `SET … GET`: the value it replaced (`Some(None)`: none), or `None` when the
    /// server refuses its options (`NX` with `GET` before Redis 7.0, `GET` before 6.2). That is
    /// remembered for every clone: claims and completions run their scripts from then on.
    async fn set_get(&self, operation: &'static str, set: &redis::Cmd) -> Result<Option<Option<String>>, Error> {
        let mut conn = self.conn.link();
        let sent = async {
            match set.query_async::<Option<String>>(&mut conn).await {
                Ok(held) => Ok(Some(held)),
                Err(e) if refuses_set_options(&e) => Ok(None),
                Err(e) => Err(e),
            }
        };
        let replaced = self.conn.run(operation, &[], sent).await?;
        if replaced.is_none() && self.set_nx_get.swap(false, Ordering::Relaxed) {
            tracing::info!(
                "redis inbox: the server refuses SET with NX and GET (before Redis 7.0): claims and completions run scripts"
            );
        }
        Ok(replaced)
    }

    /// Runs `script` on `lease`'s key with the holder token and then `done_for` (the done
    /// marker and how long it is kept, in milliseconds), if any: whether the lease was still
    /// the holder's.
    ///
    /// One `EVALSHA` written as a single command, the way a hand-written client sends it;
    /// only when the server does not know the script (`NOSCRIPT`: a restart, a failover) is it
    /// loaded and run again. `redis`'s `ScriptInvocation` gathers the arguments apart and copies
    /// them into that same command on every call: a good part of a completion's own work.
    async fn holder_script(
        &self,
        operation: &'static str,
        script: &Script,
        lease: &Lease,
        done_for: Option<u64>,
    ) -> Result<bool, Error> {
        // A hand-made lease whose "token" is the done marker must not pass for its holder, nor
        // complete anything.
        if lease.holder == DONE {
            return Ok(false);
        }
        let key = self.redis_key(&lease.key);
        let mut conn = self.conn.link();
        let mut evalsha = redis::cmd("EVALSHA");
        evalsha.arg(script.get_hash()).arg(1).arg(&key).arg(&lease.holder);
        if let Some(retention) = done_for {
            evalsha.arg(DONE).arg(retention);
        }
        let sent = async {
            match evalsha.query_async::<i64>(&mut conn).await {
                Err(e) if e.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::NoScript) => {
                    script.load_async(&mut conn).await?;
                    evalsha.query_async(&mut conn).await
                }
                answered => answered,
            }
        };
        let ours = self.conn.run(operation, &[], sent).await?;
        tracing::debug!(gateway = %lease.key.provider, dedup_key = %lease.key.key, ours = ours == 1, "redis inbox {operation}");
        Ok(ours == 1)
    }
}

#[async_trait]
impl Inbox for RedisInbox {
    async fn claim(&self, key: &EventKey, lease: Duration) -> Result<Claim, Error> {
        let granted = Lease::new(key.clone(), lease);
        let redis_key = self.redis_key(key);
        // One command, never a MULTI: atomic (what the GET returns is exactly what kept the SET
        // from happening, never a key that vanished in between), and redirected by a Redis
        // Cluster client (`MOVED`, after a failover) as any other command is.
        let mut found = None;
        if self.set_nx_get.load(Ordering::Relaxed) {
            let mut set = redis::cmd("SET");
            set.arg(&redis_key).arg(&granted.holder).arg("NX").arg("PX").arg(millis(lease)).arg("GET");
            found = self.set_get("claim", &set).await?.map(|held| match held.as_deref() {
                None => 1,
                Some(DONE) => 2,
                Some(_) => 0,
            });
        }
        let found = match found {
            Some(found) => found,
            None => {
                let mut invocation = CLAIM.key(&redis_key);
                invocation.arg(&granted.holder).arg(millis(lease)).arg(DONE);
                self.conn.run("claim", &[], invocation.invoke_async::<i64>(&mut self.conn.link())).await?
            }
        };
        let (claim, found) = match found {
            1 => (Claim::New(granted), "new"),
            2 => (Claim::Done, "done"),
            _ => (Claim::InFlight, "in flight"),
        };
        tracing::debug!(redis_key = %redis_key, found, "redis inbox claim");
        Ok(claim)
    }

    async fn complete(&self, lease: &Lease) -> Result<bool, Error> {
        let retention = millis(self.retention);
        if lease.holder == DONE || !self.set_nx_get.load(Ordering::Relaxed) {
            return self.holder_script("complete", &COMPLETE, lease, Some(retention)).await;
        }
        let redis_key = self.redis_key(&lease.key);
        let mut set = redis::cmd("SET");
        set.arg(&redis_key).arg(DONE).arg("PX").arg(retention).arg("GET");
        match self.set_get("complete", &set).await? {
            Some(held) => {
                let ours = held.is_none_or(|held| held == lease.holder);
                tracing::debug!(redis_key = %redis_key, ours, "redis inbox complete");
                Ok(ours)
            }
            None => self.holder_script("complete", &COMPLETE, lease, Some(retention)).await,
        }
    }

    async fn release(&self, lease: &Lease) -> Result<bool, Error> {
        self.holder_script("release", &COMPARE_AND_DELETE, lease, None).await
    }

    async fn ping(&self) -> Result<(), Error> {
        let mut conn = self.conn.link();
        let _: String = self.conn.run("ping", &[], redis::cmd("PING").query_async(&mut conn)).await?;
        Ok(())
    }
}

/// Whether `error` is a server refusing `SET`'s options: `NX` with `GET` before Redis 7.0, `GET`
/// before 6.2. Both are the syntax error any `SET` gets whose options it does not take.
fn refuses_set_options(error: &redis::RedisError) -> bool {
    error.code() == Some("ERR") && error.detail().is_some_and(|detail| detail.contains("syntax error"))
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

#[cfg(test)]
mod tests {
    use gerbang_testkit::RedisServer;

    use super::*;

    /// What a server before Redis 7.0 answers `SET … NX … GET` is the syntax error any `SET`
    /// gets whose options do not go together, as `NX` with `XX` still does; other errors are not
    /// taken for it.
    #[tokio::test]
    async fn a_refused_set_is_told_from_other_errors() {
        let Some(redis) = RedisServer::start() else { return };
        let client = redis::Client::open(redis.url()).unwrap();
        let mut conn = client.get_multiplexed_async_connection().await.unwrap();
        let set = |key: &str, options: &[&str]| {
            let mut set = redis::cmd("SET");
            set.arg(key).arg("v").arg(options);
            set
        };
        let refused = set("k", &["NX", "XX"]).query_async::<Option<String>>(&mut conn).await.unwrap_err();
        assert!(refuses_set_options(&refused), "{refused}");
        let () = redis::cmd("LPUSH").arg("list").arg("x").query_async(&mut conn).await.unwrap();
        let wrong_type = set("list", &["NX", "GET"]).query_async::<Option<String>>(&mut conn).await.unwrap_err();
        assert!(!refuses_set_options(&wrong_type), "{wrong_type}");
    }

    /// A restart or a failover empties the server's script cache: a script sent by its hash is
    /// refused (`NOSCRIPT`). A release, and a completion on a server before Redis 7.0 (as the
    /// inbox takes this one to be), load the script and go on.
    #[tokio::test]
    async fn a_server_that_forgot_the_scripts_still_completes_and_releases() {
        let Some(redis) = RedisServer::start() else { return };
        let inbox = RedisInbox::connect(&redis.url()).await.unwrap();
        inbox.set_nx_get.store(false, Ordering::Relaxed);
        let client = redis::Client::open(redis.url()).unwrap();
        let mut conn = client.get_multiplexed_async_connection().await.unwrap();
        let flush = || redis::cmd("SCRIPT").arg("FLUSH").to_owned();
        let key = |n: &str| EventKey { provider: gerbang_core::ProviderId::Cuan10pay, key: format!("flush:{n}") };
        let lease = Duration::from_secs(30);
        let Ok(Claim::New(done)) = inbox.claim(&key("1"), lease).await else { panic!("new") };
        let Ok(Claim::New(released)) = inbox.claim(&key("2"), lease).await else { panic!("new") };
        let () = flush().query_async(&mut conn).await.unwrap();
        assert!(inbox.complete(&done).await.unwrap(), "completed after the flush");
        assert_eq!(inbox.claim(&key("1"), lease).await.unwrap(), Claim::Done);
        let () = flush().query_async(&mut conn).await.unwrap();
        assert!(inbox.release(&released).await.unwrap(), "released after the flush");
        assert!(matches!(inbox.claim(&key("2"), lease).await.unwrap(), Claim::New(_)));
        assert!(!inbox.release(&released).await.unwrap(), "a released holder cannot release again");
    }

    /// On this machine's Redis (7.0 or later) a claim and a completion are each one `SET`, and
    /// the inbox keeps its contract; with the scripts a server before 7.0 makes it fall back to,
    /// it keeps the same contract.
    #[tokio::test]
    async fn claims_keep_the_contract_as_one_command_and_as_the_script() {
        let Some(redis) = RedisServer::start() else { return };
        let inbox = RedisInbox::connect(&redis.url()).await.unwrap();
        gerbang_testkit::check_inbox_contract(&inbox, "one-command").await;
        assert!(inbox.set_nx_get.load(Ordering::Relaxed), "Redis 7 took SET with NX and GET");
        let scripted = RedisInbox::connect(&redis.url()).await.unwrap();
        scripted.set_nx_get.store(false, Ordering::Relaxed);
        gerbang_testkit::check_inbox_contract(&scripted, "script").await;
    }
}
