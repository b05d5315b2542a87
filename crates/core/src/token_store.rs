//! A shared bearer token: one token per account for every replica, fetched by one of them at a
//! time.
//!
//! A gateway whose calls carry a bearer token (Ciputra) keeps it in a [`TokenStore`].
//! [`get_or_refresh`] is the whole protocol, written once on top of the store's four primitives:
//!
//! 1. [`get`](TokenStore::get) the token; one that is still fresh (before its
//!    [`refresh_at`](StoredToken::refresh_at), and not the one the gateway just refused) is used.
//! 2. Otherwise take the refresh lock ([`try_lock`](TokenStore::try_lock), with a timeout, so
//!    that a holder that dies does not block the others for longer), read again (another holder
//!    may have just put one), fetch a token from the gateway, [`put`](TokenStore::put) it with a
//!    TTL that ends at its `refresh_at` (before its expiry), and [`unlock`](TokenStore::unlock).
//! 3. A replica that finds the lock taken waits for the holder's token: it reads again with a
//!    growing pause (10 ms doubling to 250 ms), and takes the lock itself if it becomes free (the
//!    holder failed, or its lock ran out).
//!
//! **A store that fails** (unreachable, or any [`Error`]) never stops the calls: the token is
//! fetched directly from the gateway, as if there were no store (a token request is a harmless
//! look-up, and the gateway's calls matter more than sharing the token), and a warning is logged.
//! Replicas then fetch one token each until the store is back.
//!
//! Keys name one account at one gateway, `"<gateway>:<account>"`, the account being a hash of its
//! credentials (never a credential): Ciputra's is `ciputra:` and 16 hex digits of a hash of the
//! API key and base URL. Token values are secrets ([`SecretString`]): never logged, and redacted
//! from `Debug`. A store that keeps them elsewhere (Redis) keeps them readable to whoever reads
//! that store, for at most the token's life.
//!
//! [`MemoryTokenStore`] is the default, for one process; `gerbang-redis` shares the token
//! between replicas.

use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::fmt;
use std::future::Future;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use time::OffsetDateTime;

use crate::Error;

/// How long a refresh lock is held at most, by default: longer than a token request takes, short
/// enough that the others do not wait long for a holder that died.
pub const DEFAULT_REFRESH_LOCK_TIMEOUT: Duration = Duration::from_secs(30);

/// A token as it is kept: the secret, when it expires, and when it should be replaced.
///
/// Its `Debug` never shows the secret.
///
/// ```
/// use gerbang_core::token_store::StoredToken;
/// use gerbang_core::time::{Duration, OffsetDateTime};
///
/// let at = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
/// let token = StoredToken::new("eyJ.hush-4f2a.token", at + Duration::hours(1), at + Duration::minutes(59));
/// assert!(token.is_fresh(at));
/// assert!(!format!("{token:?}").contains("hush-4f2a"));
/// ```
#[derive(Clone)]
pub struct StoredToken {
    /// The bearer token.
    pub secret: SecretString,
    /// When the gateway stops accepting it.
    pub expires_at: OffsetDateTime,
    /// When it stops being handed out (some time before `expires_at`, so that a call never
    /// leaves with a token that dies on the way); a store may forget it from then on.
    pub refresh_at: OffsetDateTime,
}

impl StoredToken {
    /// A token with its expiry and refresh time.
    pub fn new(secret: impl Into<String>, expires_at: OffsetDateTime, refresh_at: OffsetDateTime) -> Self {
        Self { secret: SecretString::from(secret.into()), expires_at, refresh_at }
    }

    /// Whether it is still handed out at `now`.
    pub fn is_fresh(&self, now: OffsetDateTime) -> bool {
        now < self.refresh_at
    }

    /// How long a store keeps it, from `now`: until its `refresh_at` (`None` when that is past).
    pub fn ttl(&self, now: OffsetDateTime) -> Option<Duration> {
        Duration::try_from(self.refresh_at - now).ok().filter(|d| !d.is_zero())
    }
}

impl fmt::Debug for StoredToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredToken")
            .field("secret", &crate::REDACTED)
            .field("expires_at", &self.expires_at)
            .field("refresh_at", &self.refresh_at)
            .finish()
    }
}

/// Where shared tokens and their refresh locks live. Implementations: [`MemoryTokenStore`] here,
/// Redis in `gerbang-redis`. Callers use [`get_or_refresh`], which is the protocol; a store only
/// provides these primitives.
#[async_trait]
pub trait TokenStore: Send + Sync + fmt::Debug {
    /// The token kept under `key`, if any (fresh or not: the caller judges that on its own clock).
    async fn get(&self, key: &str) -> Result<Option<StoredToken>, Error>;

    /// Keeps `token` under `key` for `ttl`, replacing any other. The TTL ends at the token's
    /// `refresh_at`, before its expiry.
    async fn put(&self, key: &str, token: &StoredToken, ttl: Duration) -> Result<(), Error>;

    /// Takes the refresh lock of `key` for `holder`, for at most `timeout`: `true` when taken,
    /// `false` when another holder has it (and its timeout has not run out). Only one holder at a
    /// time, across every process sharing the store.
    async fn try_lock(&self, key: &str, holder: &str, timeout: Duration) -> Result<bool, Error>;

    /// Gives the refresh lock of `key` up, if `holder` still has it (a lock that ran out and was
    /// taken by another holder is left alone).
    async fn unlock(&self, key: &str, holder: &str) -> Result<(), Error>;
}

/// How [`get_or_refresh`] waits for another holder's token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefreshOptions {
    /// How long the refresh lock is held at most ([`DEFAULT_REFRESH_LOCK_TIMEOUT`]).
    pub lock_timeout: Duration,
    /// How long to wait for another holder's token before fetching one regardless (default twice
    /// the lock timeout: by then its lock has run out, or the store is not working).
    pub wait_timeout: Duration,
}

impl Default for RefreshOptions {
    fn default() -> Self {
        Self { lock_timeout: DEFAULT_REFRESH_LOCK_TIMEOUT, wait_timeout: 2 * DEFAULT_REFRESH_LOCK_TIMEOUT }
    }
}

/// Where a token [`get_or_refresh`] handed out came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// It was in the store (another replica, or an earlier call, fetched it).
    Store,
    /// It was fetched now by this call, and put in the store.
    Fetched,
}

/// A fresh token for `key`: the stored one, or one fetched by `fetch` under the refresh lock, and
/// stored for every other replica (the protocol is in the [module documentation](self)).
///
/// `now` is the caller's clock (it judges freshness, and the TTL of what is put). `refused` is a
/// token the gateway has just refused (a 401): a stored token equal to it counts as none, so that
/// it is replaced. A failing store never fails the call: the token is fetched directly. An error of
/// `fetch` is returned as it is (the lock is given up, so another replica may try).
///
/// ```
/// use gerbang_core::token_store::{get_or_refresh, MemoryTokenStore, RefreshOptions, Source, StoredToken};
/// use gerbang_core::time::{Duration, OffsetDateTime};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), gerbang_core::Error> {
/// let store = MemoryTokenStore::new();
/// let now = || OffsetDateTime::now_utc();
/// let fetch = || async { Ok(StoredToken::new("t-1", now() + Duration::hours(1), now() + Duration::minutes(59))) };
/// let options = RefreshOptions::default();
/// let (_, source) = get_or_refresh(&store, "ciputra:0123456789abcdef", options, now, None, fetch).await?;
/// assert_eq!(source, Source::Fetched);
/// // The next call (or another replica sharing the store) gets the same token.
/// let (_, source) = get_or_refresh(&store, "ciputra:0123456789abcdef", options, now, None, fetch).await?;
/// assert_eq!(source, Source::Store);
/// # Ok(())
/// # }
/// ```
pub async fn get_or_refresh<N, F, Fut>(
    store: &dyn TokenStore,
    key: &str,
    options: RefreshOptions,
    now: N,
    refused: Option<&SecretString>,
    fetch: F,
) -> Result<(StoredToken, Source), Error>
where
    N: Fn() -> OffsetDateTime,
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<StoredToken, Error>>,
{
    let usable = |token: &StoredToken| {
        token.is_fresh(now()) && refused.is_none_or(|r| r.expose_secret() != token.secret.expose_secret())
    };
    let holder = holder_token();
    let started = Instant::now();
    let mut pause = Duration::from_millis(10);
    loop {
        match store.get(key).await {
            Ok(Some(token)) if usable(&token) => return Ok((token, Source::Store)),
            Ok(_) => {}
            Err(error) => return fetch_directly(&error, fetch).await,
        }
        match store.try_lock(key, &holder, options.lock_timeout).await {
            Ok(true) => return refresh_locked(store, key, &holder, &now, usable, fetch).await,
            Ok(false) => {}
            Err(error) => return fetch_directly(&error, fetch).await,
        }
        if started.elapsed() >= options.wait_timeout {
            tracing::warn!("waited too long for another holder's token: fetching one regardless");
            return fetch().await.map(|token| (token, Source::Fetched));
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(250));
    }
}

/// The holder's part: read again, fetch, put, unlock.
async fn refresh_locked<N, U, F, Fut>(
    store: &dyn TokenStore,
    key: &str,
    holder: &str,
    now: &N,
    usable: U,
    fetch: F,
) -> Result<(StoredToken, Source), Error>
where
    N: Fn() -> OffsetDateTime,
    U: Fn(&StoredToken) -> bool,
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<StoredToken, Error>>,
{
    // Another holder may have put a token between our read and our lock.
    let result = match store.get(key).await {
        Ok(Some(token)) if usable(&token) => Ok((token, Source::Store)),
        _ => match fetch().await {
            Ok(token) => {
                if let Some(ttl) = token.ttl(now())
                    && let Err(error) = store.put(key, &token, ttl).await
                {
                    tracing::warn!(%error, "could not share the new token through the store");
                }
                Ok((token, Source::Fetched))
            }
            Err(error) => Err(error),
        },
    };
    if let Err(error) = store.unlock(key, holder).await {
        tracing::warn!(%error, "could not give the token refresh lock up; it runs out by itself");
    }
    result
}

async fn fetch_directly<F, Fut>(error: &Error, fetch: F) -> Result<(StoredToken, Source), Error>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<StoredToken, Error>>,
{
    tracing::warn!(%error, "the token store failed: fetching a token without it");
    fetch().await.map(|token| (token, Source::Fetched))
}

/// A lock holder no other has: a per-process random prefix (from the standard library's hasher
/// seed) and a counter.
fn holder_token() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    static PREFIX: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    let prefix = *PREFIX.get_or_init(|| {
        let mut hasher = RandomState::new().build_hasher();
        hasher.write_u32(std::process::id());
        hasher.finish()
    });
    format!("{prefix:016x}-{}", COUNTER.fetch_add(1, Ordering::Relaxed))
}

/// The in-memory [`TokenStore`]: the default, for one process (every client built with it shares
/// its tokens). Tokens are forgotten after their TTL, locks after their timeout.
///
/// ```
/// use gerbang_core::token_store::{MemoryTokenStore, TokenStore};
/// use std::time::Duration;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), gerbang_core::Error> {
/// let store = MemoryTokenStore::new();
/// assert!(store.try_lock("ciputra:k", "a", Duration::from_secs(30)).await?);
/// assert!(!store.try_lock("ciputra:k", "b", Duration::from_secs(30)).await?);
/// store.unlock("ciputra:k", "a").await?;
/// assert!(store.try_lock("ciputra:k", "b", Duration::from_secs(30)).await?);
/// # Ok(())
/// # }
/// ```
#[derive(Default)]
pub struct MemoryTokenStore {
    entries: Mutex<HashMap<String, Entry>>,
}

#[derive(Default)]
struct Entry {
    token: Option<(StoredToken, Instant)>,
    lock: Option<(String, Instant)>,
}

impl MemoryTokenStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl fmt::Debug for MemoryTokenStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryTokenStore").field("keys", &self.lock().len()).finish()
    }
}

#[async_trait]
impl TokenStore for MemoryTokenStore {
    async fn get(&self, key: &str) -> Result<Option<StoredToken>, Error> {
        let now = Instant::now();
        let entries = self.lock();
        Ok(entries.get(key).and_then(|e| e.token.as_ref()).filter(|(_, until)| *until > now).map(|(t, _)| t.clone()))
    }

    async fn put(&self, key: &str, token: &StoredToken, ttl: Duration) -> Result<(), Error> {
        let now = Instant::now();
        let mut entries = self.lock();
        entries.retain(|_, e| {
            e.token.as_ref().is_some_and(|(_, until)| *until > now) || e.lock.as_ref().is_some_and(|(_, u)| *u > now)
        });
        entries.entry(key.to_owned()).or_default().token = Some((token.clone(), now + ttl));
        Ok(())
    }

    async fn try_lock(&self, key: &str, holder: &str, timeout: Duration) -> Result<bool, Error> {
        let now = Instant::now();
        let mut entries = self.lock();
        let entry = entries.entry(key.to_owned()).or_default();
        if entry.lock.as_ref().is_some_and(|(_, until)| *until > now) {
            return Ok(false);
        }
        entry.lock = Some((holder.to_owned(), now + timeout));
        Ok(true)
    }

    async fn unlock(&self, key: &str, holder: &str) -> Result<(), Error> {
        let mut entries = self.lock();
        if let Some(entry) = entries.get_mut(key)
            && entry.lock.as_ref().is_some_and(|(h, _)| h == holder)
        {
            entry.lock = None;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::AtomicUsize;

    use super::*;

    fn token(secret: &str) -> StoredToken {
        let now = OffsetDateTime::now_utc();
        StoredToken::new(secret, now + time::Duration::hours(1), now + time::Duration::minutes(59))
    }

    #[derive(Debug)]
    struct Broken;

    #[async_trait]
    impl TokenStore for Broken {
        async fn get(&self, _: &str) -> Result<Option<StoredToken>, Error> {
            Err(Error::Store { store: "test", message: "down".into() })
        }
        async fn put(&self, _: &str, _: &StoredToken, _: Duration) -> Result<(), Error> {
            Err(Error::Store { store: "test", message: "down".into() })
        }
        async fn try_lock(&self, _: &str, _: &str, _: Duration) -> Result<bool, Error> {
            Err(Error::Store { store: "test", message: "down".into() })
        }
        async fn unlock(&self, _: &str, _: &str) -> Result<(), Error> {
            Err(Error::Store { store: "test", message: "down".into() })
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn many_callers_sharing_a_store_fetch_once() {
        let store = Arc::new(MemoryTokenStore::new());
        let fetches = Arc::new(AtomicUsize::new(0));
        let calls: Vec<_> = (0..20)
            .map(|_| {
                let (store, fetches) = (store.clone(), fetches.clone());
                tokio::spawn(async move {
                    let fetch = || async {
                        fetches.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        Ok(token("shared"))
                    };
                    get_or_refresh(&*store, "k", RefreshOptions::default(), OffsetDateTime::now_utc, None, fetch).await
                })
            })
            .collect();
        for call in calls {
            let (token, _) = call.await.unwrap().unwrap();
            assert_eq!(token.secret.expose_secret(), "shared");
        }
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_refused_token_is_replaced_and_a_stale_one_too() {
        let store = MemoryTokenStore::new();
        store.put("k", &token("old"), Duration::from_secs(60)).await.unwrap();
        let refused = SecretString::from("old");
        let fetch = || async { Ok(token("new")) };
        let (got, source) =
            get_or_refresh(&store, "k", RefreshOptions::default(), OffsetDateTime::now_utc, Some(&refused), fetch)
                .await
                .unwrap();
        assert_eq!((got.secret.expose_secret(), source), ("new", Source::Fetched));
        let later = || OffsetDateTime::now_utc() + time::Duration::hours(2);
        let fetch = || async { Ok(token("newer")) };
        let (got, _) = get_or_refresh(&store, "k", RefreshOptions::default(), later, None, fetch).await.unwrap();
        assert_eq!(got.secret.expose_secret(), "newer");
    }

    #[tokio::test]
    async fn a_failing_store_fetches_directly_and_a_failed_fetch_frees_the_lock() {
        let fetch = || async { Ok(token("direct")) };
        let (got, source) =
            get_or_refresh(&Broken, "k", RefreshOptions::default(), OffsetDateTime::now_utc, None, fetch)
                .await
                .unwrap();
        assert_eq!((got.secret.expose_secret(), source), ("direct", Source::Fetched));

        let store = MemoryTokenStore::new();
        let fail = || async { Err(Error::Unauthorized { message: "no".into() }) };
        let err = get_or_refresh(&store, "k", RefreshOptions::default(), OffsetDateTime::now_utc, None, fail).await;
        assert!(matches!(err, Err(Error::Unauthorized { .. })));
        assert!(store.try_lock("k", "next", Duration::from_secs(1)).await.unwrap(), "the lock was given up");
    }

    #[tokio::test]
    async fn a_lock_runs_out_and_only_its_holder_unlocks_it() {
        let store = MemoryTokenStore::new();
        assert!(store.try_lock("k", "a", Duration::from_millis(20)).await.unwrap());
        store.unlock("k", "b").await.unwrap();
        assert!(!store.try_lock("k", "b", Duration::from_secs(5)).await.unwrap());
        tokio::time::sleep(Duration::from_millis(30)).await;
        assert!(store.try_lock("k", "b", Duration::from_secs(5)).await.unwrap());
        store.put("k", &token("t"), Duration::from_millis(10)).await.unwrap();
        assert!(store.get("k").await.unwrap().is_some());
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(store.get("k").await.unwrap().is_none());
    }

    #[test]
    fn debug_never_shows_the_secret() {
        assert!(!format!("{:?}", token("hush-1234")).contains("hush"));
    }
}
