//! [`RedisTokenStore`]: a gateway's bearer token on Redis, fetched by one replica for all.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use gerbang_core::Error;
use gerbang_core::secrecy::ExposeSecret;
use gerbang_core::time::OffsetDateTime;
use gerbang_core::token_store::{StoredToken, TokenStore};
use redis::aio::ConnectionManager;

use crate::conn::{COMPARE_AND_DELETE, Connection, Timeouts, millis};
use crate::key::tame_key;

/// The first word of a stored token: the layout below. A value with another is read as no token
/// (a newer version's layout, or something else), so the reader fetches one.
const VERSION: &str = "1";

/// The [`TokenStore`] on Redis: one bearer token per gateway account for every replica, and the
/// refresh lock that lets one of them fetch it while the others wait
/// ([`gerbang_core::token_store::get_or_refresh`] is the protocol; this store gives it its
/// four primitives).
///
/// - A token is one string, `1 <expires_at> <refresh_at> <token>` (the layout's version, the two
///   times in Unix milliseconds, the token itself), under the
///   [prefix](RedisTokenStoreBuilder::prefix) and the account's key
///   (`gerbang:token:ciputra:0123456789abcdef`), kept with `SET … PX` for the TTL the caller
///   gives (until the token's `refresh_at`). A value that does not read so is no token
///   (`Ok(None)`).
/// - The refresh lock is `SET <lock key> <holder> NX PX <timeout>` under the
///   [lock prefix](RedisTokenStoreBuilder::lock_prefix)
///   (`gerbang:token-lock:ciputra:0123456789abcdef`); unlocking is a Lua compare-and-delete on
///   the holder, so that a lock that ran out and was taken by another holder is left alone.
/// - Keys are kept readable when they are at most 128 bytes of ASCII letters, digits and
///   `-_.:/@+=,~`, else `#` and their SHA-256 in hex.
///
/// **The token sits in Redis in plain text**, readable by whoever can read that Redis (or its
/// dumps), for at most its life: it is written with a TTL ending at its `refresh_at`, before it
/// expires. Give the gateway crate's account its own Redis, or one only the backend reaches. It
/// is never logged and never in an error of this store: messages are the client's description
/// of the failure, with the token blotted out should one ever quote it.
///
/// Every operation is bounded by the [operation timeout](RedisTokenStoreBuilder::operation_timeout)
/// (default 2 s): a failing store answers [`Error::Store`], and the caller's fallback (fetching
/// the token directly, as Ciputra's client does) comes only with that error. It is cheap to
/// clone and reconnects by itself; `Debug` and `Display` show the URL with its password
/// replaced by `***`.
///
/// ```no_run
/// use gerbang_core::token_store::{get_or_refresh, RefreshOptions, StoredToken};
/// use gerbang_core::time::{Duration, OffsetDateTime};
/// use gerbang_redis::RedisTokenStore;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), gerbang_core::Error> {
/// let store = RedisTokenStore::connect("redis://127.0.0.1:6379/0").await?;
/// let now = OffsetDateTime::now_utc;
/// let fetch = || async { Ok(StoredToken::new("t-1", now() + Duration::hours(1), now() + Duration::minutes(59))) };
/// let (token, _source) = get_or_refresh(&store, "ciputra:0123456789abcdef", RefreshOptions::default(), now, None, fetch).await?;
/// # let _ = token;
/// // Or give it to a gateway client, in every replica:
/// // CiputraConfig::builder(…).token_store(Arc::new(store)).build()?
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct RedisTokenStore {
    conn: Connection,
    prefix: String,
    lock_prefix: String,
}

/// Options of a [`RedisTokenStore`]: [`RedisTokenStore::builder`].
#[derive(Debug, Clone)]
pub struct RedisTokenStoreBuilder {
    prefix: String,
    lock_prefix: String,
    timeouts: Timeouts,
}

impl Default for RedisTokenStoreBuilder {
    fn default() -> Self {
        Self {
            prefix: RedisTokenStore::DEFAULT_PREFIX.to_owned(),
            lock_prefix: RedisTokenStore::DEFAULT_LOCK_PREFIX.to_owned(),
            timeouts: Timeouts::new(RedisTokenStore::DEFAULT_OPERATION_TIMEOUT),
        }
    }
}

impl RedisTokenStoreBuilder {
    /// The start of every token's key (default `gerbang:token:`): give each application sharing
    /// a Redis its own. Every replica sharing a token must use the same.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// The start of every refresh lock's key (default `gerbang:token-lock:`). Keep it apart from
    /// the [prefix](Self::prefix): a lock and a token never share a key.
    pub fn lock_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.lock_prefix = prefix.into();
        self
    }

    crate::conn::connection_methods!(RedisTokenStore, "2 s");

    fn finish(self, conn: Connection) -> RedisTokenStore {
        RedisTokenStore { conn, prefix: self.prefix, lock_prefix: self.lock_prefix }
    }
}

impl RedisTokenStore {
    /// The tokens' key prefix unless [`RedisTokenStoreBuilder::prefix`] says otherwise.
    pub const DEFAULT_PREFIX: &str = "gerbang:token:";
    /// The refresh locks' key prefix unless [`RedisTokenStoreBuilder::lock_prefix`] says
    /// otherwise.
    pub const DEFAULT_LOCK_PREFIX: &str = "gerbang:token-lock:";
    /// The longest an operation waits on Redis, reconnecting included, unless
    /// [`RedisTokenStoreBuilder::operation_timeout`] says otherwise: short, since the caller
    /// falls back (fetches the token itself) only once it has the error.
    pub const DEFAULT_OPERATION_TIMEOUT: Duration = Duration::from_secs(2);

    /// Connects to `url` with the default options ([`RedisTokenStoreBuilder::connect`]).
    ///
    /// # Errors
    ///
    /// As [`RedisTokenStoreBuilder::connect`].
    pub async fn connect(url: &str) -> Result<Self, Error> {
        Self::builder().connect(url).await
    }

    /// A store on an existing connection manager, with the default options.
    pub fn new(conn: ConnectionManager) -> Self {
        Self::builder().build(conn)
    }

    /// Options: prefixes, timeouts.
    pub fn builder() -> RedisTokenStoreBuilder {
        RedisTokenStoreBuilder::default()
    }

    /// The Redis key that holds the token of `key` (for an operator's `redis-cli`).
    pub fn redis_key(&self, key: &str) -> String {
        tame_key(&[&self.prefix], key)
    }

    /// The Redis key that holds the refresh lock of `key`.
    pub fn lock_key(&self, key: &str) -> String {
        tame_key(&[&self.lock_prefix], key)
    }
}

#[async_trait]
impl TokenStore for RedisTokenStore {
    async fn get(&self, key: &str) -> Result<Option<StoredToken>, Error> {
        let mut conn = self.conn.link();
        let value: Option<Vec<u8>> =
            self.conn.run("get token", &[], redis::cmd("GET").arg(self.redis_key(key)).query_async(&mut conn)).await?;
        let token = value.as_deref().and_then(decode);
        if value.is_some() && token.is_none() {
            tracing::warn!(store = crate::error::STORE, redis_key = %self.redis_key(key), "a stored token does not read as one: taken as none");
        }
        Ok(token)
    }

    async fn put(&self, key: &str, token: &StoredToken, ttl: Duration) -> Result<(), Error> {
        let secret = token.secret.expose_secret();
        let value = encode(token);
        let mut set = redis::cmd("SET");
        set.arg(self.redis_key(key)).arg(value).arg("PX").arg(millis(ttl));
        let mut conn = self.conn.link();
        let () = self.conn.run("put token", &[secret], set.query_async(&mut conn)).await?;
        Ok(())
    }

    async fn try_lock(&self, key: &str, holder: &str, timeout: Duration) -> Result<bool, Error> {
        let mut set = redis::cmd("SET");
        set.arg(self.lock_key(key)).arg(holder).arg("NX").arg("PX").arg(millis(timeout));
        let mut conn = self.conn.link();
        let taken: Option<String> = self.conn.run("lock token", &[], set.query_async(&mut conn)).await?;
        Ok(taken.is_some())
    }

    async fn unlock(&self, key: &str, holder: &str) -> Result<(), Error> {
        let mut invocation = COMPARE_AND_DELETE.key(self.lock_key(key));
        invocation.arg(holder);
        let mut conn = self.conn.link();
        let _deleted: i64 = self.conn.run("unlock token", &[], invocation.invoke_async(&mut conn)).await?;
        Ok(())
    }
}

/// `1 <expires_at ms> <refresh_at ms> <token>`.
fn encode(token: &StoredToken) -> String {
    format!(
        "{VERSION} {} {} {}",
        unix_millis(token.expires_at),
        unix_millis(token.refresh_at),
        token.secret.expose_secret()
    )
}

/// The token in a stored value, or `None` when it does not read as one.
fn decode(value: &[u8]) -> Option<StoredToken> {
    let value = std::str::from_utf8(value).ok()?;
    let mut parts = value.splitn(4, ' ');
    if parts.next()? != VERSION {
        return None;
    }
    let expires_at = from_unix_millis(parts.next()?)?;
    let refresh_at = from_unix_millis(parts.next()?)?;
    let secret = parts.next().filter(|s| !s.is_empty())?;
    Some(StoredToken::new(secret, expires_at, refresh_at))
}

/// Whole milliseconds since the Unix epoch, rounded down (a time read back is never later than
/// the one written: a token is never taken for fresher than it is).
fn unix_millis(at: OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos().div_euclid(1_000_000)).unwrap_or(i64::MAX)
}

fn from_unix_millis(text: &str) -> Option<OffsetDateTime> {
    let ms: i64 = text.parse().ok()?;
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok()
}

impl fmt::Debug for RedisTokenStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisTokenStore")
            .field("target", &self.conn.target())
            .field("prefix", &self.prefix)
            .field("lock_prefix", &self.lock_prefix)
            .field("operation_timeout", &self.conn.operation_timeout())
            .finish_non_exhaustive()
    }
}

impl fmt::Display for RedisTokenStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "redis token store at {} (keys {}* and {}*)", self.conn.target(), self.prefix, self.lock_prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).unwrap()
    }

    #[test]
    fn a_token_reads_back_as_it_was_written() {
        let token = StoredToken::new("eyJ.a b.c", at(1_700_003_600_123), at(1_700_003_540_999));
        let value = encode(&token);
        assert_eq!(value, "1 1700003600123 1700003540999 eyJ.a b.c");
        let back = decode(value.as_bytes()).unwrap();
        assert_eq!(back.secret.expose_secret(), "eyJ.a b.c");
        assert_eq!((back.expires_at, back.refresh_at), (token.expires_at, token.refresh_at));
    }

    #[test]
    fn times_are_rounded_down_to_the_millisecond() {
        let token = StoredToken::new("t", at(2_000) + gerbang_core::time::Duration::microseconds(999), at(1_000));
        assert_eq!(decode(encode(&token).as_bytes()).unwrap().expires_at, at(2_000));
    }

    #[test]
    fn anything_else_is_no_token() {
        for odd in ["", "1", "1 2 3", "1 2 3 ", "2 1 1 t", "1 x 1 t", "1 1 y t", "t"] {
            assert!(decode(odd.as_bytes()).is_none(), "{odd:?}");
        }
        assert!(decode(b"1 1 1 \xff").is_none());
    }
}
