//! [`RedisOutbox`]: the outbox on Redis (a stream, its consumer group, and a few sorted sets),
//! shared by every replica.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use gerbang_core::Error;
use gerbang_core::outbox::{Attempt, DeliveryState, Enqueued, Message, Outbox, Query, Record, Replay, Stats, Taken};
use gerbang_core::time::OffsetDateTime;
use redis::aio::ConnectionManager;
use redis::{Script, ScriptInvocation};
use sha2::{Digest, Sha256};

use crate::conn::{Connection, Timeouts};
use crate::error::unreadable;

mod scripts;

use scripts::{BATCH, ENQUEUE, GROUP, KEY_NAMES, LIST, PRUNE, REPLAY, SETTLE, STATS, TAKE};

/// The [`Outbox`] on Redis: one outbox for every replica of a merchant's backend, whose due
/// messages are shared out between the replicas' deliverers, each message to one taker at a time.
///
/// Its keys all begin with the [prefix](RedisOutboxBuilder::prefix) and the outbox's
/// [name](RedisOutboxBuilder::name) as a hash tag, `gerbang:outbox:{default}:` by default, so
/// that on a Redis Cluster they share one slot (every script names all of them in `KEYS`, and
/// touches no other):
///
/// | key | type | what it holds |
/// |---|---|---|
/// | `msg` | hash | id → the [`Message`] as JSON, as enqueued |
/// | `meta` | hash | id → where it stands (JSON: state, attempts, last answer, times, holder, lease, stream entry) |
/// | `queue` | sorted set | the pending messages, ordered (by member) by payment, rank, then time received |
/// | `due` | sorted set | each payment with pending messages → when its first is due, or its lease ends |
/// | `pay:held` | hash | payment → the id of its message under lease |
/// | `pay:rank` | hash | payment → the highest rank of it delivered |
/// | `pay:kept` | hash | payment → how many of its messages are kept |
/// | `all`, `state:pending`, `state:delivered`, `state:failed`, `state:superseded` | sorted sets | ids by time received (the order enqueued), every one and per state |
/// | `settled` | sorted set | the delivered and superseded ids by when settled, for [`prune`](Outbox::prune) |
/// | `clock` | string | the last time received (times received never repeat) |
/// | `stream` | stream | one entry per message under lease, read in the group `deliverers` by its holder |
///
/// - [`take`](Outbox::take) is one Lua script: it walks the payments of `due` that are due
///   (oldest first), supersedes what a later delivered state makes stale, and takes each
///   payment's first pending message: a new stream entry, read in the consumer group as the
///   taker (`XREADGROUP`; the consumer is the holder token), or, when a former taker's lease ran
///   out, its entry claimed from that consumer (`XCLAIM`: a per-entry lease, which `XAUTOCLAIM`'s
///   one idle time for all could not express). The payment is then scheduled at the lease's end,
///   so nobody takes of it meanwhile. O(log n) per message looked at.
/// - [`settle`](Outbox::settle) is one Lua script: only the holder, while the message is pending,
///   settles; the entry is acknowledged (`XACK`) and deleted, the consumer deleted once it holds
///   nothing, and the payment rescheduled at its next first message. O(log n).
/// - [`list`](Outbox::list) reads one sorted set from `since` (O(log n + limit)); [`stats`]
///   counts them; [`prune`](Outbox::prune) and replay by time work in batches of 500, each one
///   script.
///
/// Every time is the server's (`TIME`, microseconds), so that replicas with skewed clocks agree
/// on leases and on what is due; a retry's time is the deliverer's, as it gives it.
///
/// It is cheap to clone, reconnects by itself, and every operation is bounded by the
/// [operation timeout](RedisOutboxBuilder::operation_timeout) (default 3 s): while Redis is
/// unreachable each fails with [`Error::Store`], so that a receiver answers the gateway non-2xx
/// (the event is not lost: the gateway delivers it again). `Debug` and `Display` show the URL
/// with its password replaced by `***`; errors never show the URL.
///
/// Durability is the server's: run Redis with AOF (`appendonly yes`, `appendfsync everysec` or
/// `always`), or messages enqueued just before a crash, after their gateway was acknowledged,
/// are lost with it.
///
/// [`stats`]: Outbox::stats
///
/// ```no_run
/// use std::time::Duration;
/// use gerbang_core::outbox::{Attempt, Outbox};
/// use gerbang_redis::RedisOutbox;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), gerbang_core::Error> {
/// let outbox = RedisOutbox::builder().prefix("shop:outbox:").name("forward").connect("redis://127.0.0.1:6379/0").await?;
/// for taken in outbox.take(10, Duration::from_secs(30)).await? {
///     // Deliver taken.record.message.body, then:
///     outbox.settle(&taken, Attempt::Delivered { answer: "200 OK".into() }).await?;
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct RedisOutbox {
    conn: Connection,
    prefix: String,
    name: String,
    /// Every key, in the order the scripts take them ([`KEY_NAMES`]).
    keys: Vec<String>,
}

/// Options of a [`RedisOutbox`]: [`RedisOutbox::builder`].
#[derive(Debug, Clone)]
pub struct RedisOutboxBuilder {
    prefix: String,
    name: String,
    timeouts: Timeouts,
}

impl Default for RedisOutboxBuilder {
    fn default() -> Self {
        Self {
            prefix: RedisOutbox::DEFAULT_PREFIX.to_owned(),
            name: RedisOutbox::DEFAULT_NAME.to_owned(),
            timeouts: Timeouts::new(RedisOutbox::DEFAULT_OPERATION_TIMEOUT),
        }
    }
}

impl RedisOutboxBuilder {
    /// The start of every key (default `gerbang:outbox:`): give each application sharing a
    /// Redis its own. Every replica sharing an outbox must use the same prefix and name.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// The outbox's name (default `default`), the hash tag of its keys: `gerbang:outbox:{default}:msg`.
    /// Braces are left out of it (they would end the tag); an empty name is the default.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    crate::conn::connection_methods!(RedisOutbox, "3 s");

    fn finish(self, conn: Connection) -> RedisOutbox {
        let name = tag_name(&self.name);
        let keys = keys(&self.prefix, &name);
        RedisOutbox { conn, prefix: self.prefix, name, keys }
    }
}

impl RedisOutbox {
    /// The key prefix unless [`RedisOutboxBuilder::prefix`] says otherwise.
    pub const DEFAULT_PREFIX: &str = "gerbang:outbox:";
    /// The outbox's name unless [`RedisOutboxBuilder::name`] says otherwise.
    pub const DEFAULT_NAME: &str = "default";
    /// The longest an operation waits on Redis, reconnecting included, unless
    /// [`RedisOutboxBuilder::operation_timeout`] says otherwise.
    pub const DEFAULT_OPERATION_TIMEOUT: Duration = Duration::from_secs(3);

    /// Connects to `url` with the default options ([`RedisOutboxBuilder::connect`]).
    ///
    /// # Errors
    ///
    /// As [`RedisOutboxBuilder::connect`].
    pub async fn connect(url: &str) -> Result<Self, Error> {
        Self::builder().connect(url).await
    }

    /// An outbox on an existing connection manager, with the default options.
    pub fn new(conn: ConnectionManager) -> Self {
        Self::builder().build(conn)
    }

    /// Options: prefix, name, timeouts.
    pub fn builder() -> RedisOutboxBuilder {
        RedisOutboxBuilder::default()
    }

    /// What every key of this outbox begins with, for an operator's `redis-cli`:
    /// `gerbang:outbox:{default}:`.
    pub fn key_prefix(&self) -> String {
        format!("{}{{{}}}:", self.prefix, self.name)
    }

    /// The stream of the messages under lease (`gerbang:outbox:{default}:stream`), read in the
    /// consumer group `deliverers`: `XPENDING` on it shows who holds what, and for how long.
    pub fn stream_key(&self) -> &str {
        &self.keys[KEY_NAMES.len() - 1]
    }

    /// The consumer group of the [stream](Self::stream_key): `deliverers`.
    pub const GROUP: &str = GROUP;

    /// `script` with every key of the outbox.
    fn invocation(&self, script: &'static Script) -> ScriptInvocation<'static> {
        let mut invocation = script.prepare_invoke();
        for key in &self.keys {
            invocation.key(key);
        }
        invocation
    }

    /// Runs `invocation` as `operation`, within the operation timeout.
    async fn run<T: redis::FromRedisValue>(
        &self,
        operation: &'static str,
        invocation: ScriptInvocation<'static>,
    ) -> Result<T, Error> {
        let mut conn = self.conn.link();
        self.conn.run(operation, &[], async move { invocation.invoke_async(&mut conn).await }).await
    }

    /// Reads the flat `[json, meta, …]` answer of the take and list scripts, skipping (and
    /// saying so) a message that does not read as one: one bad message must not stop the others
    /// (taken, it is taken again when its lease runs out, and skipped again).
    fn records(operation: &'static str, flat: Vec<String>) -> Vec<Record> {
        let mut items = flat.into_iter();
        let mut records = Vec::with_capacity(items.len() / 2);
        while let (Some(json), Some(meta)) = (items.next(), items.next()) {
            match record(operation, &json, &meta) {
                Ok(record) => records.push(record),
                Err(error) => {
                    tracing::warn!(store = crate::error::STORE, %error, "an outbox message does not read as one: skipped");
                }
            }
        }
        records
    }
}

/// `name` without braces, or the default name when that leaves nothing.
fn tag_name(name: &str) -> String {
    let name: String = name.chars().filter(|c| !matches!(c, '{' | '}')).collect();
    if name.is_empty() { RedisOutbox::DEFAULT_NAME.to_owned() } else { name }
}

/// Every key of the outbox `name` under `prefix`, in the order of [`KEY_NAMES`].
fn keys(prefix: &str, name: &str) -> Vec<String> {
    KEY_NAMES.iter().map(|k| format!("{prefix}{{{name}}}:{k}")).collect()
}

/// How a payment is kept in the queue's members, which end it with a NUL: as it is, unless it
/// holds one (only a hand-made [`Message`] could), then `#` and its SHA-256 in hex.
fn payment_tag(payment: &str) -> String {
    if payment.contains('\0') {
        format!("#{}", hex::encode(Sha256::digest(payment.as_bytes())))
    } else {
        payment.to_owned()
    }
}

/// Microseconds since the Unix epoch, rounded up (a retry is never due before its time).
fn ceil_micros(at: OffsetDateTime) -> i64 {
    let nanos = at.unix_timestamp_nanos();
    let us = nanos.div_euclid(1_000) + i128::from(nanos.rem_euclid(1_000) != 0);
    i64::try_from(us).unwrap_or(if us < 0 { i64::MIN } else { i64::MAX })
}

/// The time of `us` microseconds since the Unix epoch.
fn from_micros(us: i64) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(us) * 1_000).ok()
}

/// A message and its meta as the scripts keep them.
fn record(operation: &'static str, json: &str, meta: &str) -> Result<Record, Error> {
    let message: Message = serde_json::from_str(json).map_err(|e| unreadable(operation, "an outbox message", &e))?;
    let meta: serde_json::Value =
        serde_json::from_str(meta).map_err(|e| unreadable(operation, "an outbox message's state", &e))?;
    let bad = |what: &str| {
        crate::error::count(operation);
        Error::Store {
            store: crate::error::STORE,
            message: format!("{operation}: the state of outbox message {} has no valid {what}", message.id),
        }
    };
    let text = |field: &str| meta.get(field).and_then(serde_json::Value::as_str);
    let time = |field: &str| text(field).and_then(|t| t.parse::<i64>().ok()).and_then(from_micros);
    let state = text("state").and_then(|s| s.parse::<DeliveryState>().ok()).ok_or_else(|| bad("state"))?;
    let attempts = text("attempts").and_then(|a| a.parse::<u32>().ok()).ok_or_else(|| bad("attempts"))?;
    let received_at = time("received").ok_or_else(|| bad("received time"))?;
    let record = Record {
        state,
        attempts,
        last_answer: text("last_answer").map(str::to_owned),
        received_at,
        next_attempt: time("next"),
        settled_at: time("settled"),
        message,
    };
    Ok(record)
}

#[async_trait]
impl Outbox for RedisOutbox {
    async fn enqueue(&self, message: &Message) -> Result<Enqueued, Error> {
        let json = serde_json::to_string(message)
            .map_err(|e| Error::validation("message", format!("cannot be kept in the redis outbox: {e}")))?;
        let mut invocation = self.invocation(&ENQUEUE);
        invocation.arg(&message.id).arg(json).arg(payment_tag(&message.payment)).arg(message.rank);
        let answer: String = self.run("enqueue", invocation).await?;
        tracing::debug!(id = %message.id, payment = %message.payment, answer = %answer, "redis outbox enqueue");
        Ok(match answer.as_str() {
            "already" => Enqueued::Already,
            "superseded" => Enqueued::Superseded,
            _ => Enqueued::New,
        })
    }

    async fn take(&self, limit: usize, lease: Duration) -> Result<Vec<Taken>, Error> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let holder = Taken::new_holder();
        let lease_us = u64::try_from(lease.as_micros()).unwrap_or(u64::MAX).max(1_000);
        let mut invocation = self.invocation(&TAKE);
        invocation.arg(i64::try_from(limit).unwrap_or(i64::MAX)).arg(lease_us).arg(&holder);
        let flat: Vec<String> = self.run("take", invocation).await?;
        let taken: Vec<Taken> =
            Self::records("take", flat).into_iter().map(|record| Taken { record, holder: holder.clone() }).collect();
        tracing::debug!(taken = taken.len(), holder = %holder, "redis outbox take");
        Ok(taken)
    }

    async fn settle(&self, taken: &Taken, attempt: Attempt) -> Result<bool, Error> {
        let (outcome, at) = match &attempt {
            Attempt::Delivered { .. } => ("delivered", 0),
            Attempt::Retry { at, .. } => ("retry", ceil_micros(*at)),
            Attempt::Failed { .. } => ("failed", 0),
        };
        let mut invocation = self.invocation(&SETTLE);
        invocation.arg(&taken.record.message.id).arg(&taken.holder).arg(outcome).arg(attempt.answer()).arg(at);
        let settled: i64 = self.run("settle", invocation).await?;
        tracing::debug!(id = %taken.record.message.id, outcome, settled = settled == 1, "redis outbox settle");
        Ok(settled == 1)
    }

    async fn list(&self, query: &Query) -> Result<Vec<Record>, Error> {
        if query.limit == 0 {
            return Ok(Vec::new());
        }
        let mut invocation = self.invocation(&LIST);
        invocation
            .arg(query.state.map_or("", DeliveryState::as_str))
            .arg(query.since.map_or_else(|| "-inf".to_owned(), |since| ceil_micros(since).to_string()))
            .arg(i64::try_from(query.limit).unwrap_or(i64::MAX));
        let flat: Vec<String> = self.run("list", invocation).await?;
        Ok(Self::records("list", flat))
    }

    async fn replay(&self, replay: &Replay) -> Result<u64, Error> {
        match replay {
            Replay::Ids(ids) => {
                let mut found = 0;
                for chunk in ids.chunks(BATCH as usize) {
                    let mut invocation = self.invocation(&REPLAY);
                    invocation.arg("ids").arg(chunk);
                    let (n, _, _): (u64, u64, String) = self.run("replay", invocation).await?;
                    found += n;
                }
                Ok(found)
            }
            Replay::Since(since) => {
                let mut from = ceil_micros(*since).to_string();
                let mut found = 0;
                loop {
                    let mut invocation = self.invocation(&REPLAY);
                    invocation.arg("since").arg(&from).arg(BATCH);
                    let (n, looked, last): (u64, u64, String) = self.run("replay", invocation).await?;
                    found += n;
                    if looked < u64::from(BATCH) || last.is_empty() {
                        return Ok(found);
                    }
                    from = format!("({last}");
                }
            }
        }
    }

    async fn prune(&self, before: OffsetDateTime) -> Result<u64, Error> {
        let before = ceil_micros(before);
        let mut pruned = 0;
        loop {
            let mut invocation = self.invocation(&PRUNE);
            invocation.arg(before).arg(BATCH);
            let n: u64 = self.run("prune", invocation).await?;
            pruned += n;
            if n < u64::from(BATCH) {
                tracing::debug!(pruned, "redis outbox prune");
                return Ok(pruned);
            }
        }
    }

    async fn stats(&self) -> Result<Stats, Error> {
        let (pending, delivered, failed, superseded, oldest): (u64, u64, u64, u64, String) =
            self.run("stats", self.invocation(&STATS)).await?;
        let oldest_pending = oldest.parse::<i64>().ok().and_then(from_micros);
        Ok(Stats { pending, delivered, failed, superseded, oldest_pending })
    }

    async fn ping(&self) -> Result<(), Error> {
        let mut conn = self.conn.link();
        let _: String = self.conn.run("ping", &[], redis::cmd("PING").query_async(&mut conn)).await?;
        Ok(())
    }
}

impl fmt::Debug for RedisOutbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisOutbox")
            .field("target", &self.conn.target())
            .field("keys", &self.key_prefix())
            .field("operation_timeout", &self.conn.operation_timeout())
            .finish_non_exhaustive()
    }
}

impl fmt::Display for RedisOutbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "redis outbox at {} (keys {}*)", self.conn.target(), self.key_prefix())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Redis's rule: the tag is what lies between the first `{` and the first `}` after it, if
    /// not empty; else the whole key is hashed.
    fn hash_tag(key: &str) -> &str {
        let Some(open) = key.find('{') else { return key };
        match key[open + 1..].find('}') {
            Some(0) | None => key,
            Some(close) => &key[open + 1..open + 1 + close],
        }
    }

    #[test]
    fn every_key_of_an_outbox_shares_one_hash_tag() {
        for (prefix, name) in [("gerbang:outbox:", "default"), ("{shop}:outbox:", "x"), ("p:", "a}b{c"), ("p:", "")] {
            let keys = keys(prefix, &tag_name(name));
            let first = hash_tag(&keys[0]).to_owned();
            assert_ne!(first, keys[0], "{prefix} {name}: a tag");
            assert!(keys.iter().all(|k| hash_tag(k) == first), "{keys:?}");
        }
    }

    #[test]
    fn a_retry_time_rounds_up_to_the_microsecond() {
        let at = |ns: i128| OffsetDateTime::from_unix_timestamp_nanos(ns).unwrap();
        assert_eq!(ceil_micros(at(1_500)), 2);
        assert_eq!(ceil_micros(at(2_000)), 2);
        assert_eq!(from_micros(2), Some(at(2_000)));
    }

    #[test]
    fn a_payment_with_a_nul_is_hashed_for_the_queue() {
        assert_eq!(payment_tag("cuan10pay:D-1"), "cuan10pay:D-1");
        let tag = payment_tag("a\0b");
        assert!(tag.starts_with('#') && !tag.contains('\0') && tag.len() == 65, "{tag}");
    }
}
