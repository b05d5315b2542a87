//! The bearer token: when it expires, and one cache shared by every clone of a client, refreshed
//! by one request however many calls need it at once (single flight), in front of a
//! [`TokenStore`] that shares it between replicas.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gerbang_core::Error;
use gerbang_core::http::HeaderValue;
use gerbang_core::secrecy::{ExposeSecret, SecretString};
use gerbang_core::token_store::{RefreshOptions, StoredToken, TokenStore, get_or_refresh};
use time::OffsetDateTime;
use tokio::sync::Mutex;

/// **Decision** (`PROVIDERS.md` §5): a token's lifetime when neither its JWT `exp` nor
/// `expires_in` can be read: one hour, the gap between `iat` and `exp` of the document's example
/// token (`seeds/004_627801bf8e050898.txt`: `iat` 1614670939, `exp` 1614674539). Should it be
/// shorter, the gateway's 401 makes the client fetch a new one.
pub const ASSUMED_TOKEN_LIFETIME: Duration = Duration::from_secs(3600);

/// **Decision** (`PROVIDERS.md` §5): an `expires_in` above this is an absolute Unix time, at or
/// below it a number of seconds. The document's example answer has `"expires_in": 1635915352`, a
/// date in November 2021, not a lifetime; 10⁹ seconds (31 years) is no token's lifetime, and
/// 10⁹ as a date is 2001, before any token was issued.
pub const EXPIRES_IN_ABSOLUTE_ABOVE: i64 = 1_000_000_000;

/// When a token expires: the JWT's own `exp` claim when the token is a JWT that has one (read
/// without verifying the signature: the client only needs the date, and trusts the gateway it
/// fetched the token from over TLS), else `expires_in` read as [`EXPIRES_IN_ABSOLUTE_ABOVE`]
/// says, else `now` + [`ASSUMED_TOKEN_LIFETIME`].
///
/// ```
/// use gerbang_ciputra::token_expiry;
/// use time::OffsetDateTime;
///
/// let now = OffsetDateTime::from_unix_timestamp(1_614_670_939).unwrap();
/// // The document's token: `exp` 1614674539 wins over its `expires_in`.
/// let jwt = "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJsdW1lbi1qd3QiLCJzdWIiOiJvdUF5SURnR3N6QWtJV2hYZHp4Umswc0JxQUZycDNBWGpqUThqN1g4MjNSaVg3TVowWDNSTXZsczNZQ3ZwR2o3IiwiaWF0IjoxNjE0NjcwOTM5LCJleHAiOjE2MTQ2NzQ1Mzl9.zo0cvIcnsScv7-vP3Iy4IR-GSv4qk3-mXqETy4yh2ko";
/// assert_eq!(token_expiry(jwt, Some(1_635_915_352), now).unix_timestamp(), 1_614_674_539);
/// // An opaque token: `expires_in` above 10⁹ is a date, below it seconds.
/// assert_eq!(token_expiry("opaque", Some(1_635_915_352), now).unix_timestamp(), 1_635_915_352);
/// assert_eq!(token_expiry("opaque", Some(3600), now).unix_timestamp(), 1_614_674_539);
/// ```
pub fn token_expiry(access_token: &str, expires_in: Option<i64>, now: OffsetDateTime) -> OffsetDateTime {
    if let Some(exp) = jwt_exp(access_token) {
        return exp;
    }
    let from_expires_in = expires_in.and_then(|value| {
        if value > EXPIRES_IN_ABSOLUTE_ABOVE {
            OffsetDateTime::from_unix_timestamp(value).ok()
        } else {
            now.checked_add(time::Duration::seconds(value.max(0)))
        }
    });
    from_expires_in.unwrap_or_else(|| now + ASSUMED_TOKEN_LIFETIME)
}

/// The `exp` claim of a JWT (`header.payload.signature`, the payload base64url JSON), if the
/// token is one and has a numeric `exp`.
fn jwt_exp(token: &str) -> Option<OffsetDateTime> {
    let mut parts = token.split('.');
    let (_header, payload, _signature) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || payload.len() > 8 * 1024 {
        return None;
    }
    // Some issuers pad their base64url; the standard says not to. Accept both.
    let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    let exp = claims.get("exp")?;
    let seconds = exp.as_i64().or_else(|| exp.as_f64().map(|f| f as i64))?;
    OffsetDateTime::from_unix_timestamp(seconds).ok()
}

/// A token handed to a call: the secret, and which filling of the cache it came from (so that a
/// 401 invalidates this token and not a newer one another call has got meanwhile).
#[derive(Clone)]
pub(crate) struct Token {
    pub(crate) generation: u64,
    /// Shared by every call made with it: a clone per call copies no secret.
    pub(crate) secret: Arc<SecretString>,
    /// `Bearer …`, made once per token (a header value is cheap to clone, and marked sensitive).
    pub(crate) authorization: HeaderValue,
}

impl Token {
    fn new(generation: u64, secret: SecretString) -> Result<Self, Error> {
        let mut authorization = HeaderValue::try_from(format!("Bearer {}", secret.expose_secret()))
            .map_err(|_| Error::decode("token answer: the token has characters a header cannot carry"))?;
        authorization.set_sensitive(true);
        Ok(Self { generation, secret: Arc::new(secret), authorization })
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Token").field("generation", &self.generation).field("secret", &"<redacted>").finish()
    }
}

/// A token as the gateway gave it: the secret and its expiry.
pub(crate) struct Fetched {
    pub(crate) secret: SecretString,
    pub(crate) expires_at: OffsetDateTime,
}

struct Cached {
    token: Token,
    expires_at: OffsetDateTime,
    /// When it stops being handed out: `refresh_before_expiry` before `expires_at`, or halfway
    /// through a short life.
    refresh_at: OffsetDateTime,
}

#[derive(Default)]
struct Slot {
    cached: Option<Cached>,
    /// The last filling that failed, with its number: calls that were waiting while it ran get
    /// its error rather than each starting a fetch of their own.
    failure: Option<(u64, Error)>,
    /// The token the gateway last refused: the shared store may still hold it, and must not
    /// hand it out again.
    refused: Option<SecretString>,
}

/// The key of the account's token in the [`TokenStore`]: `ciputra:` and the first 8 bytes, in
/// hex, of HMAC-SHA256 keyed with a fixed label over the API key and the base URL (so that a
/// sandbox and the gateway never share a token). Stable across processes and versions (replicas
/// must agree on it), and no way back to the key.
pub(crate) fn store_key(api_key: &str, base_url: &str) -> String {
    let digest =
        gerbang_signing::hmac_sha256(b"gerbang token store v1", &[api_key.as_bytes(), b"\n", base_url.as_bytes()]);
    let mut key = String::from("ciputra:");
    for byte in &digest[..8] {
        key.push_str(&format!("{byte:02x}"));
    }
    key
}

/// The cache of one client (and all its clones), in front of the [`TokenStore`] that the client's
/// replicas share.
///
/// Single flight in the process: the slot's lock is held while a token is got, so however many
/// calls find the token missing or stale at once, the first gets one and the others wait, then
/// take the token it got (or its error). Across processes, the store's refresh lock does the same
/// ([`get_or_refresh`]): one replica fetches, the others take its token from the store.
pub(crate) struct TokenCache {
    slot: Mutex<Slot>,
    generations: AtomicU64,
    fetches: AtomicU64,
    store: Arc<dyn TokenStore>,
    key: String,
}

impl TokenCache {
    /// A cache in front of `store`, where the account's token is kept under `key`.
    pub(crate) fn new(store: Arc<dyn TokenStore>, key: String) -> Self {
        Self { slot: Mutex::default(), generations: AtomicU64::new(0), fetches: AtomicU64::new(0), store, key }
    }

    /// A fresh token: the cached one, the store's, or one from `fetch` (called at most once at a
    /// time in this process, and once at a time across the processes sharing the store).
    pub(crate) async fn get<N, F, Fut>(&self, now: N, margin: Duration, fetch: F) -> Result<Token, Error>
    where
        N: Fn() -> OffsetDateTime,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Fetched, Error>>,
    {
        let generations_before = self.generations.load(Ordering::SeqCst);
        let mut slot = self.slot.lock().await;
        if let Some(cached) = &slot.cached
            && now() < cached.refresh_at
        {
            return Ok(cached.token.clone());
        }
        if let Some((generation, error)) = &slot.failure
            && *generation > generations_before
        {
            return Err(error.clone());
        }
        let generation = self.generations.fetch_add(1, Ordering::SeqCst) + 1;
        let fetch_and_time = || async {
            self.fetches.fetch_add(1, Ordering::SeqCst);
            let fetched_at = now();
            let fetched = fetch().await;
            gerbang_core::metrics::token_refresh(gerbang_core::ProviderId::Ciputra, fetched.is_ok());
            let fetched = fetched?;
            let life = (fetched.expires_at - fetched_at).max(time::Duration::ZERO);
            let margin = time::Duration::try_from(margin).unwrap_or(time::Duration::MAX).min(life / 2);
            tracing::debug!(expires_at = %fetched.expires_at, "fetched a new Ciputra token");
            Ok(StoredToken {
                secret: fetched.secret,
                expires_at: fetched.expires_at,
                refresh_at: fetched.expires_at - margin,
            })
        };
        let options = RefreshOptions::default();
        let got = get_or_refresh(&*self.store, &self.key, options, &now, slot.refused.as_ref(), fetch_and_time).await;
        match got {
            Ok((stored, _source)) => {
                let token = Token::new(generation, stored.secret)?;
                slot.cached =
                    Some(Cached { token: token.clone(), expires_at: stored.expires_at, refresh_at: stored.refresh_at });
                slot.failure = None;
                slot.refused = None;
                Ok(token)
            }
            Err(error) => {
                slot.failure = Some((generation, error.clone()));
                Err(error)
            }
        }
    }

    /// Drops `token` from the cache, if it is still the cached one: the gateway refused it. The
    /// store is told at the next [`get`](Self::get), which will not take it from there again.
    pub(crate) async fn invalidate(&self, token: &Token) {
        let mut slot = self.slot.lock().await;
        if slot.cached.as_ref().is_some_and(|c| c.token.generation == token.generation) {
            slot.cached = None;
            slot.refused = Some(SecretString::from(token.secret.expose_secret()));
        }
    }

    /// When the cached token expires, if one is cached.
    pub(crate) async fn expires_at(&self) -> Option<OffsetDateTime> {
        self.slot.lock().await.cached.as_ref().map(|c| c.expires_at)
    }

    /// How many tokens this cache fetched from the gateway (or tried to) so far.
    pub(crate) fn fetches(&self) -> u64 {
        self.fetches.load(Ordering::SeqCst)
    }
}

impl fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenCache")
            .field("fetches", &self.fetches())
            .field("key", &self.key)
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(seconds).unwrap()
    }

    fn jwt(payload: &str) -> String {
        format!("eyJhbGciOiJIUzI1NiJ9.{}.c2ln", URL_SAFE_NO_PAD.encode(payload))
    }

    #[test]
    fn the_store_key_is_stable_short_and_not_the_api_key() {
        let key = store_key("test-api-key-CK4m2Qa", "https://ciputra.example/api");
        // Fixed: every replica, of any version, must compute the same.
        assert_eq!(key, "ciputra:522f99904cd4dae2");
        assert_ne!(key, store_key("test-api-key-CK4m2Qa", "http://127.0.0.1:9/ciputra"));
        assert_ne!(key, store_key("another-key", "https://ciputra.example/api"));
    }

    #[test]
    fn exp_claim_wins_then_expires_in_then_the_assumed_hour() {
        let now = at(1_700_000_000);
        assert_eq!(token_expiry(&jwt(r#"{"iat":1700000000,"exp":1700000300}"#), Some(60), now), at(1_700_000_300));
        assert_eq!(token_expiry(&jwt(r#"{"iat":1700000000}"#), Some(60), now), at(1_700_000_060));
        assert_eq!(token_expiry(&jwt(r#"{"exp":"soon"}"#), Some(1_700_009_999), now), at(1_700_009_999));
        assert_eq!(token_expiry("not.a.jwt", None, now), at(1_700_003_600));
        assert_eq!(token_expiry("a.b.c.d", Some(EXPIRES_IN_ABSOLUTE_ABOVE), now), at(2_700_000_000));
    }
}
