//! [`RedisLedger`]: the ledger of watched payments on Redis, one for every replica.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use gerbang_core::ledger::{Begin, Ledger, WatchedPayment};
use gerbang_core::time::OffsetDateTime;
use gerbang_core::time::format_description::well_known::Rfc3339;
use gerbang_core::{Error, ProviderId};
use redis::ScriptInvocation;
use redis::aio::ConnectionManager;

use crate::conn::{Connection, Timeouts, millis};
use crate::error::unreadable;
use crate::key::tame_key;

mod scripts;

use scripts::{BEGIN, DUE, FIND_BY_ID, LIST, PRUNE_BATCH, RECORD};

/// The [`Ledger`] on Redis: one ledger of watched payments for every replica of a merchant's
/// backend, whose due checks are shared out between them (each due payment to one replica for a
/// lease).
///
/// Under the [prefix](RedisLedgerBuilder::prefix) (default `gerbang:ledger:`):
///
/// - `rec:{gateway}:{reference}`, one hash per record: `json` (the [`WatchedPayment`] as JSON,
///   every field as serde writes it, times exact to the nanosecond), `rank` (its state's
///   [rank](gerbang_core::ledger::WatchState::rank)) and `id` (the name of its id key);
/// - `id:{gateway}:{gateway's id}`, the record key of the payment the gateway knows by that id,
///   for [`find_by_gateway_id`](Ledger::find_by_gateway_id): a key space of its own, so that a
///   merchant's reference is never found as a gateway id nor the other way round;
/// - `due`, a sorted set of the record keys of the payments a check is scheduled for (watched,
///   with a `next_check`), scored by `next_check` in Unix milliseconds;
/// - `recorded`, every record key scored by `recorded_at` in Unix milliseconds, for
///   [`list`](Ledger::list);
/// - `expires`, the record keys that expire, scored by when (on the server's clock).
///
/// References and gateway ids are kept readable when they are at most 128 bytes of ASCII
/// letters, digits and `-_.:/@+=,~`, else `#` and their SHA-256 in hex.
///
/// Each operation is one Lua script, atomic on the server:
///
/// - [`record`](Ledger::record) compares the stored rank with the new one and writes nothing
///   when the stored one is higher; else it writes the hash, the id key, `due` and `recorded`.
/// - [`due`](Ledger::due) takes the earliest members of `due` scored at most `now` and moves
///   each to `now + lease`, in `due` and in its stored `next_check`, in the same step: two
///   replicas asking at once never get the same record. What it hands out is each record as it
///   was.
/// - [`begin_create`](Ledger::begin_create) reads the stored record's state and writes as
///   `record` does only when there is none or it is `not_created`; else it returns the stored
///   record: two replicas beginning one reference at once never both write.
/// - [`find_by_reference`](Ledger::find_by_reference) reads the record key;
///   [`find_by_gateway_id`](Ledger::find_by_gateway_id) the record the id key points at (and
///   checks that the record still holds that id).
/// - [`list`](Ledger::list) walks `recorded` from the newest, forgetting records that expired
///   (records recorded in the same millisecond come in any order).
///
/// Times are the caller's (the `now` given to `due`, the record's own times), never the
/// server's, except for retention: a record no check is scheduled for (final, or given up on)
/// expires, with its id key, a [retention](RedisLedgerBuilder::retention) (default 30 days)
/// after it was last written, so that the ledger does not grow for ever; it is kept again
/// (`PERSIST`) once a check is scheduled again (`not_created` turning out `pending`). Each write
/// also forgets up to 16 expired records from the sets. A record forgotten after its retention
/// is new again to a late write.
///
/// All of one ledger's keys must be on one server, since the scripts reach the records named in
/// `due` and `recorded` (and the record an id key names): on a standalone Redis (or a replicated
/// one) they are; on a **Redis Cluster** (`redis+cluster://`) every key of one ledger carries the
/// prefix as its hash tag, `{gerbang:ledger:}rec:qris:ORDER-1`, `{gerbang:ledger:}due`, …, so
/// that they share one slot: each script runs on the one master that owns it (a ledger is one
/// slot's load; two ledgers, with two prefixes, are likely two masters'). A prefix that holds a
/// hash tag already (`{shop-ledger}:`) is kept as it is, on a cluster too.
///
/// Every operation is bounded by the [operation timeout](RedisLedgerBuilder::operation_timeout)
/// (default 2 s): while Redis is unreachable, each fails with [`Error::Store`] (a watched create
/// is then refused before it is sent: nothing is created that would not be watched). It is cheap
/// to clone and reconnects by itself; `Debug` and `Display` show the URL with its password
/// replaced by `***`, and errors never show the URL.
///
/// Durability is the server's: run Redis with AOF (`appendonly yes`), or a record written just
/// before a crash may be lost with it (its payment is then not watched).
///
/// ```no_run
/// use std::time::Duration;
/// use gerbang_core::ledger::{Ledger, WatchState, WatchedPayment};
/// use gerbang_core::time::OffsetDateTime;
/// use gerbang_core::{Money, ProviderId};
/// use gerbang_redis::RedisLedger;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), gerbang_core::Error> {
/// let ledger = RedisLedger::builder()
///     .prefix("shop:ledger:")
///     .retention(Duration::from_secs(90 * 24 * 3600))
///     .connect("redis://127.0.0.1:6379/0")
///     .await?;
/// let now = OffsetDateTime::now_utc();
/// let order = WatchedPayment::new(ProviderId::Qris, "ORDER-1", Money::idr(50_000), WatchState::Pending, now);
/// ledger.record(&order).await?;
/// // In any replica: handed out for 30 seconds, to this one alone.
/// let due = ledger.due(now, 10, Duration::from_secs(30)).await?;
/// # let _ = due;
/// // Or give it to a Watched gateway, a reconciler and a webhook receiver, in every replica:
/// // Arc::new(ledger) as Arc<dyn Ledger>
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct RedisLedger {
    conn: Connection,
    prefix: String,
    /// The start of every key: the prefix, or on a cluster the prefix as a hash tag
    /// ([`cluster_keys`]).
    keys: String,
    retention: Duration,
}

/// Options of a [`RedisLedger`]: [`RedisLedger::builder`].
#[derive(Debug, Clone)]
pub struct RedisLedgerBuilder {
    prefix: String,
    retention: Duration,
    timeouts: Timeouts,
}

impl Default for RedisLedgerBuilder {
    fn default() -> Self {
        Self {
            prefix: RedisLedger::DEFAULT_PREFIX.to_owned(),
            retention: RedisLedger::DEFAULT_RETENTION,
            timeouts: Timeouts::new(RedisLedger::DEFAULT_OPERATION_TIMEOUT),
        }
    }
}

impl RedisLedgerBuilder {
    /// The start of every key (default `gerbang:ledger:`): give each application sharing a
    /// Redis its own. Every replica sharing a ledger must use the same.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// How long a record no check is scheduled for (final, or given up on) is kept after it was
    /// last written (default 30 days; at least 1 ms), for people to look at and for late
    /// webhooks to find.
    pub fn retention(mut self, retention: Duration) -> Self {
        self.retention = retention;
        self
    }

    crate::conn::connection_methods!(RedisLedger, "2 s");

    fn finish(self, conn: Connection) -> RedisLedger {
        let keys = if conn.is_cluster() { cluster_keys(&self.prefix) } else { self.prefix.clone() };
        RedisLedger { conn, prefix: self.prefix, keys, retention: self.retention.max(Duration::from_millis(1)) }
    }
}

impl RedisLedger {
    /// The key prefix unless [`RedisLedgerBuilder::prefix`] says otherwise.
    pub const DEFAULT_PREFIX: &str = "gerbang:ledger:";
    /// How long a record no check is scheduled for is kept unless
    /// [`RedisLedgerBuilder::retention`] says otherwise: 30 days.
    pub const DEFAULT_RETENTION: Duration = Duration::from_secs(30 * 24 * 3600);
    /// The longest an operation waits on Redis, reconnecting included, unless
    /// [`RedisLedgerBuilder::operation_timeout`] says otherwise: short, since a watched create
    /// waits on its record before it is sent.
    pub const DEFAULT_OPERATION_TIMEOUT: Duration = Duration::from_secs(2);

    /// Connects to `url` with the default options ([`RedisLedgerBuilder::connect`]).
    ///
    /// # Errors
    ///
    /// As [`RedisLedgerBuilder::connect`].
    pub async fn connect(url: &str) -> Result<Self, Error> {
        Self::builder().connect(url).await
    }

    /// A ledger on an existing connection manager, with the default options.
    pub fn new(conn: ConnectionManager) -> Self {
        Self::builder().build(conn)
    }

    /// Options: prefix, retention, timeouts.
    pub fn builder() -> RedisLedgerBuilder {
        RedisLedgerBuilder::default()
    }

    /// The Redis key of the record of `reference` at `provider` (for an operator's
    /// `redis-cli`): `gerbang:ledger:rec:qris:ORDER-1`.
    pub fn redis_key(&self, provider: ProviderId, reference: &str) -> String {
        tame_key(&[&self.keys, "rec:", provider.as_str(), ":"], reference)
    }

    /// The Redis key that points at the record the gateway `provider` knows by `id`:
    /// `gerbang:ledger:id:qris:INV-1`.
    pub fn id_key(&self, provider: ProviderId, id: &str) -> String {
        tame_key(&[&self.keys, "id:", provider.as_str(), ":"], id)
    }

    /// The sorted set of the records a check is scheduled for, by when: `gerbang:ledger:due`.
    pub fn due_key(&self) -> String {
        format!("{}due", self.keys)
    }

    /// The sorted set of every record, by when it was first recorded: `gerbang:ledger:recorded`.
    pub fn recorded_key(&self) -> String {
        format!("{}recorded", self.keys)
    }

    /// The sorted set of the records that expire, by when (server time, Unix milliseconds):
    /// `gerbang:ledger:expires`.
    pub fn expires_key(&self) -> String {
        format!("{}expires", self.keys)
    }

    /// How long a record no check is scheduled for is kept.
    pub fn retention(&self) -> Duration {
        self.retention
    }

    /// The keys and arguments of a write of `payment` ([`RECORD`], [`BEGIN`]), on `invocation`
    /// (which names the record key already); the record key, for logs.
    fn write(
        &self,
        mut invocation: ScriptInvocation<'static>,
        payment: &WatchedPayment,
    ) -> Result<(String, ScriptInvocation<'static>), Error> {
        let json = serde_json::to_string(payment)
            .map_err(|e| Error::validation("payment", format!("cannot be kept in the redis ledger: {e}")))?;
        let scheduled = payment.next_check.filter(|_| payment.state.is_watched());
        invocation.key(self.due_key()).key(self.recorded_key()).key(self.expires_key());
        if let Some(id) = &payment.provider_reference {
            invocation.key(self.id_key(payment.provider, id));
        }
        invocation
            .arg(payment.state.rank())
            .arg(json)
            // Never handed out before its time: the score rounds up, `now` in `due` down.
            .arg(scheduled.map(|at| ceil_millis(at).to_string()).unwrap_or_default())
            .arg(floor_millis(payment.recorded_at))
            .arg(millis(self.retention))
            .arg(PRUNE_BATCH);
        Ok((self.redis_key(payment.provider, &payment.reference), invocation))
    }

    /// Reads the flat `[member, json, …]` answer of the due and list scripts, skipping (and
    /// saying so) a record that does not read as one: one bad record must not stop the others.
    fn decode_all(operation: &'static str, flat: Vec<String>) -> Vec<WatchedPayment> {
        let mut records = Vec::with_capacity(flat.len() / 2);
        let mut items = flat.into_iter();
        while let (Some(key), Some(json)) = (items.next(), items.next()) {
            match decode(operation, &key, &json) {
                Ok(record) => records.push(record),
                Err(error) => {
                    tracing::warn!(store = crate::error::STORE, redis_key = %key, %error, "a ledger record does not read as one: skipped")
                }
            }
        }
        records
    }
}

#[async_trait]
impl Ledger for RedisLedger {
    async fn record(&self, payment: &WatchedPayment) -> Result<bool, Error> {
        let (key, invocation) =
            self.write(RECORD.key(self.redis_key(payment.provider, &payment.reference)), payment)?;
        let mut conn = self.conn.link();
        let written: i64 = self.conn.run("record", &[], invocation.invoke_async(&mut conn)).await?;
        tracing::debug!(redis_key = %key, state = %payment.state, written = written == 1, "redis ledger record");
        Ok(written == 1)
    }

    async fn begin_create(&self, payment: &WatchedPayment) -> Result<Begin, Error> {
        let (key, invocation) = self.write(BEGIN.key(self.redis_key(payment.provider, &payment.reference)), payment)?;
        let mut conn = self.conn.link();
        let stored: Option<String> = self.conn.run("begin_create", &[], invocation.invoke_async(&mut conn)).await?;
        tracing::debug!(redis_key = %key, started = stored.is_none(), "redis ledger begin_create");
        match stored {
            None => Ok(Begin::Started),
            Some(json) => Ok(Begin::Exists(Box::new(decode("begin_create", &key, &json)?))),
        }
    }

    async fn find_by_reference(&self, provider: ProviderId, reference: &str) -> Result<Option<WatchedPayment>, Error> {
        let key = self.redis_key(provider, reference);
        let mut conn = self.conn.link();
        let mut hget = redis::cmd("HGET");
        hget.arg(&key).arg("json");
        let json: Option<String> = self.conn.run("find", &[], hget.query_async(&mut conn)).await?;
        let Some(json) = json else { return Ok(None) };
        let record = decode("find", &key, &json)?;
        Ok((record.provider == provider && record.reference == reference).then_some(record))
    }

    /// One round trip (a pipeline of one `HGET` per other gateway) instead of one per gateway.
    async fn find_at_other_gateways(
        &self,
        provider: ProviderId,
        reference: &str,
    ) -> Result<Vec<WatchedPayment>, Error> {
        let others: Vec<(ProviderId, String)> = ProviderId::ALL
            .into_iter()
            .filter(|other| *other != provider)
            .map(|other| (other, self.redis_key(other, reference)))
            .collect();
        let mut pipe = redis::pipe();
        for (_, key) in &others {
            pipe.cmd("HGET").arg(key).arg("json");
        }
        let mut conn = self.conn.link();
        let answers: Vec<Option<String>> = self.conn.run("find", &[], pipe.query_async(&mut conn)).await?;
        let mut found = Vec::new();
        for ((other, key), json) in others.iter().zip(answers) {
            let Some(json) = json else { continue };
            let record = decode("find", key, &json)?;
            if record.provider == *other && record.reference == reference {
                found.push(record);
            }
        }
        Ok(found)
    }

    async fn find_by_gateway_id(&self, provider: ProviderId, id: &str) -> Result<Option<WatchedPayment>, Error> {
        let key = self.id_key(provider, id);
        let mut conn = self.conn.link();
        let json: Option<String> = self.conn.run("find", &[], FIND_BY_ID.key(&key).invoke_async(&mut conn)).await?;
        let Some(json) = json else { return Ok(None) };
        let record = decode("find", &key, &json)?;
        // An id key left over from a record that has another gateway id now names nothing.
        Ok((record.provider == provider && record.provider_reference.as_deref() == Some(id)).then_some(record))
    }

    async fn due(&self, now: OffsetDateTime, limit: usize, lease: Duration) -> Result<Vec<WatchedPayment>, Error> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let until = gerbang_core::time::Duration::try_from(lease)
            .ok()
            .and_then(|lease| now.checked_add(lease))
            // The text serde writes for the record's times; years beyond 9999 have none.
            .and_then(|until| Some((until, until.format(&Rfc3339).ok()?)));
        let Some((until, until_text)) = until else {
            return Err(Error::config(format!("a lease of {lease:?} from {now} is beyond what the ledger keeps")));
        };
        let mut invocation = DUE.key(self.due_key());
        invocation
            .arg(floor_millis(now))
            .arg(i64::try_from(limit).unwrap_or(i64::MAX))
            .arg(ceil_millis(until))
            .arg(format!("\"next_check\":\"{until_text}\""));
        let mut conn = self.conn.link();
        let flat: Vec<String> = self.conn.run("due", &[], invocation.invoke_async(&mut conn)).await?;
        let due = Self::decode_all("due", flat);
        tracing::debug!(due = due.len(), "redis ledger due");
        Ok(due)
    }

    async fn list(&self, limit: usize) -> Result<Vec<WatchedPayment>, Error> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let mut invocation = LIST.key(self.recorded_key());
        invocation.key(self.expires_key()).arg(i64::try_from(limit).unwrap_or(i64::MAX));
        let mut conn = self.conn.link();
        let flat: Vec<String> = self.conn.run("list", &[], invocation.invoke_async(&mut conn)).await?;
        Ok(Self::decode_all("list", flat))
    }
}

/// The start of every key of the ledger with `prefix` on a Redis Cluster: `prefix` as a hash
/// tag, `{prefix}`, so that all of them hash to one slot (the tag's), or `prefix` itself when it
/// holds a hash tag already (a `{`, then a `}` with something between: Redis hashes the first
/// such part alone).
fn cluster_keys(prefix: &str) -> String {
    let tagged = prefix.find('{').and_then(|open| prefix[open + 1..].find('}')).is_some_and(|length| length > 0);
    match (tagged, prefix.is_empty()) {
        (true, _) => prefix.to_owned(),
        // `{}` would be no tag at all.
        (false, true) => "{ledger}".to_owned(),
        (false, false) => format!("{{{prefix}}}"),
    }
}

/// The record stored at `key`, or [`Error::Store`] saying it does not read as one (with the
/// values serde_json would quote left out).
fn decode(operation: &'static str, key: &str, json: &str) -> Result<WatchedPayment, Error> {
    serde_json::from_str(json).map_err(|e| unreadable(operation, &format!("the record at {key}"), &e))
}

/// Whole milliseconds since the Unix epoch, rounded down.
fn floor_millis(at: OffsetDateTime) -> i64 {
    clamp(at.unix_timestamp_nanos().div_euclid(1_000_000))
}

/// Whole milliseconds since the Unix epoch, rounded up.
fn ceil_millis(at: OffsetDateTime) -> i64 {
    let nanos = at.unix_timestamp_nanos();
    let ms = nanos.div_euclid(1_000_000) + i128::from(nanos.rem_euclid(1_000_000) != 0);
    clamp(ms)
}

fn clamp(ms: i128) -> i64 {
    i64::try_from(ms).unwrap_or(if ms < 0 { i64::MIN } else { i64::MAX })
}

impl fmt::Debug for RedisLedger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisLedger")
            .field("target", &self.conn.target())
            .field("prefix", &self.prefix)
            .field("keys", &self.keys)
            .field("retention", &self.retention)
            .field("operation_timeout", &self.conn.operation_timeout())
            .finish_non_exhaustive()
    }
}

impl fmt::Display for RedisLedger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "redis ledger at {} (keys {}*)", self.conn.target(), self.keys)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gerbang_core::Money;
    use gerbang_core::ledger::WatchState;

    fn at(ns: i128) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp_nanos(ns).unwrap()
    }

    #[test]
    fn on_a_cluster_the_prefix_becomes_the_hash_tag_unless_it_holds_one() {
        assert_eq!(cluster_keys("gerbang:ledger:"), "{gerbang:ledger:}");
        assert_eq!(cluster_keys("{shop}:ledger:"), "{shop}:ledger:");
        assert_eq!(cluster_keys("shop:{ledger}:"), "shop:{ledger}:");
        // `{}` is no tag (Redis hashes the whole key): wrapped like any other.
        assert_eq!(cluster_keys("a{}b:"), "{a{}b:}");
        assert_eq!(cluster_keys(""), "{ledger}");
    }

    #[test]
    fn scheduled_times_round_up_and_now_rounds_down() {
        assert_eq!((floor_millis(at(1_500_000)), ceil_millis(at(1_500_000))), (1, 2));
        assert_eq!((floor_millis(at(2_000_000)), ceil_millis(at(2_000_000))), (2, 2));
        assert_eq!((floor_millis(at(-1_500_000)), ceil_millis(at(-1_500_000))), (-2, -1));
    }

    /// The `due` script finds `next_check` in the JSON by its text: serde_json must write it
    /// so, once, whatever the other fields hold.
    #[test]
    fn the_json_holds_next_check_once_where_the_due_script_looks() {
        let now = at(1_900_000_000_123_456_789);
        let mut record =
            WatchedPayment::new(ProviderId::Qris, "R\"next_check\":\"x", Money::idr(1), WatchState::Pending, now);
        record.note = Some(r#"{"next_check":"2000-01-01T00:00:00Z"} "next_check":null"#.into());
        let json = serde_json::to_string(&record).unwrap();
        assert_eq!(json.matches(r#""next_check":""#).count(), 1, "{json}");
        assert!(json.contains(r#""next_check":"2030-03-17T17:46:40.123456789Z""#), "{json}");
        record.next_check = None;
        let json = serde_json::to_string(&record).unwrap();
        assert_eq!(json.matches(r#""next_check":null"#).count(), 1, "{json}");
    }
}
