//! The stores the gateway commands share with every other `gerbang` process (and every replica
//! of the merchant's backend) through `GERBANG_STORE_URL`: Cuan10pay's rate budget and
//! Ciputra's bearer token; and the ledger of watched payments (`create --store`, `watched`,
//! `webhook serve`), on any of the three kinds.
//!
//! | `GERBANG_STORE_URL` | Cuan10pay's rate budget | Ciputra's token |
//! |---|---|---|
//! | unset, empty or `memory` | this process's own (each command starts with a whole budget) | fetched by this process |
//! | `redis://…` (`rediss://…`, `redis+unix://…`, `redis+cluster://…`, `rediss+cluster://…`) | one budget in Redis ([`RedisRateStore`]), spent by every process given the URL | one token in Redis ([`RedisTokenStore`]), fetched by one process for all |
//! | `postgres://…` | this process's own | fetched by this process |
//!
//! `route create --store` keeps its circuits beside them: in Redis ([`circuit_store`]), shared by
//! every process given the URL; in the process's memory for any other store.
//!
//! **Postgres** holds no rate budget or token store (only the webhook inbox, which the same
//! variable names for `gerbang webhook serve`): with a `postgres://` URL the gateway commands keep
//! today's in-process budget and token, without an error, so that one variable can serve every
//! command.
//!
//! **TLS to Postgres** follows the URL's `sslmode` and `sslrootcert` (libpq's names and meanings;
//! `verify-full` by default off this machine: see `gerbang-postgres`'s TLS documentation).
//! `--store-ca FILE` or `GERBANG_STORE_CA` names the CA file (PEM) when the URL names no
//! `sslrootcert`. A certificate that does not verify is a refusal, like a wrong password.
//!
//! **TLS to Redis** is a `rediss://` URL: the certificate is checked against the same
//! `--store-ca`/`GERBANG_STORE_CA` file, else the system's roots, and must name the URL's host
//! (`#insecure` is refused). A `redis://` URL ignores the CA file.
//!
//! **Redis Cluster** is `redis+cluster://[user:password@]host:port[,host:port…]` (one or more of
//! its nodes; `rediss+cluster://` for TLS, with the same CA file): every store works on it, the
//! ledger with its keys under one hash tag (see `gerbang-redis`).
//!
//! **When Redis cannot be reached**, each gateway does what its client does with a failing
//! store: a Cuan10pay command fails with the store's error (a call the shared budget cannot count
//! is not sent: another process may have spent the budget), a Ciputra command says so on stderr
//! and fetches its token itself.

use std::sync::Arc;

use gerbang::Error;
use gerbang::inbox::{Inbox, MemoryInbox};
use gerbang::ledger::{Ledger, MemoryLedger};
use gerbang::outbox::{MemoryOutbox, Outbox};
use gerbang::rate::RateStore;
use gerbang::redis::{RedisRateStore, RedisTokenStore};
use gerbang::token_store::TokenStore;

/// The variable naming the store of every command.
pub(crate) const ENV_STORE_URL: &str = "GERBANG_STORE_URL";

/// The variable naming the CA file (PEM) the store's certificate must chain to (`--store-ca`):
/// libpq's `sslrootcert` for a Postgres URL that names none; the CA of a `rediss://` server.
pub(crate) const ENV_STORE_CA: &str = "GERBANG_STORE_CA";

/// Where the stores live, as the variable says.
enum Shared {
    /// In this process: the clients' own defaults.
    InProcess,
    /// In the Redis at this URL.
    Redis(String),
}

/// A store URL given on the command line (`webhook serve --store`), which wins over the variable
/// for every client the command builds.
static GIVEN_URL: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// Makes `url` the store of every client built from now on in this process (a command that takes
/// `--store` calls it once, before building its clients).
pub(crate) fn use_url(url: &str) {
    let _ = GIVEN_URL.set(url.to_owned());
}

/// A CA file given on the command line (`--store-ca`), which wins over [`ENV_STORE_CA`].
static GIVEN_CA: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();

/// Makes `path` the store's CA file for every store opened from now on (`--store-ca`).
pub(crate) fn use_ca(path: &std::path::Path) {
    let _ = GIVEN_CA.set(path.to_owned());
}

/// The store's CA file: `--store-ca`, else `GERBANG_STORE_CA`, else none (the URL's
/// `sslrootcert`, or the system's roots).
fn store_ca() -> Result<Option<std::path::PathBuf>, Error> {
    if let Some(path) = GIVEN_CA.get() {
        return Ok(Some(path.clone()));
    }
    Ok(gerbang::env_var(ENV_STORE_CA)?.filter(|path| !path.trim().is_empty()).map(std::path::PathBuf::from))
}

/// A Postgres or Redis store's builder with the store's CA file, if any (a Redis store uses it
/// for `rediss://` only).
macro_rules! store_builder {
    ($store:ty) => {{
        let builder = <$store>::builder();
        match store_ca()? {
            Some(ca) => builder.root_cert(ca),
            None => builder,
        }
    }};
}

/// The kinds of store a URL may name.
enum Kind {
    Memory,
    Redis,
    Postgres,
}

/// The kind of store `url` names; `source` (the flag or the variable) is named in the error,
/// which gives the kind only (the rest of the URL may hold a password).
fn kind(url: &str, source: &str) -> Result<Kind, Error> {
    let url = url.trim();
    if url == "memory" {
        return Ok(Kind::Memory);
    }
    let scheme = url.split_once("://").map(|(scheme, _)| scheme).filter(|s| is_scheme(s));
    match scheme {
        Some("redis" | "redis+unix" | "unix" | "rediss" | "redis+cluster" | "rediss+cluster") => Ok(Kind::Redis),
        Some("postgres" | "postgresql") => Ok(Kind::Postgres),
        // A scheme is letters, digits and `+-.` before `://`: it holds no password, so it may be
        // named. Anything else (`redis:/:PW@host`, libpq's `host=… password=…`) is never echoed.
        Some(other) => Err(Error::config(format!(
            "{source}: unknown kind of store `{other}`; use memory, redis://…, redis+cluster://… or postgres://…"
        ))),
        None => Err(Error::config(format!(
            "{source}: no kind of store recognised (the value is not repeated here: it may hold a password); \
             use memory, redis://host:port or postgres://user:password@host/db"
        ))),
    }
}

/// Whether `s` is a URL scheme (RFC 3986: a letter, then letters, digits, `+`, `-` or `.`).
fn is_scheme(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

/// Checks that `url` (`--store`) names a kind of store, before anything is connected: a malformed
/// one is refused at once, never waited for.
pub(crate) fn check_url(url: &str) -> Result<(), Error> {
    kind(url, "--store").map(|_| ())
}

/// The kind of store `url` names, for people: `memory`, `redis`, `redis cluster` or `postgres`
/// (never the URL).
pub(crate) fn kind_name(url: &str) -> &'static str {
    match kind(url, "--store") {
        Ok(Kind::Memory) | Err(_) => "memory",
        Ok(Kind::Redis) if url.trim().split_once("://").is_some_and(|(scheme, _)| scheme.ends_with("+cluster")) => {
            "redis cluster"
        }
        Ok(Kind::Redis) => "redis",
        Ok(Kind::Postgres) => "postgres",
    }
}

/// What the given URL, else `GERBANG_STORE_URL`, names for the budget and the token.
fn shared() -> Result<Shared, Error> {
    let (url, source) = match GIVEN_URL.get() {
        Some(url) => (url.clone(), "--store"),
        None => match gerbang::env_var(ENV_STORE_URL)? {
            Some(url) => (url, ENV_STORE_URL),
            None => return Ok(Shared::InProcess),
        },
    };
    match kind(&url, source)? {
        Kind::Redis => Ok(Shared::Redis(url.trim().to_owned())),
        // No budget or token store on Postgres: see the module documentation.
        Kind::Memory | Kind::Postgres => Ok(Shared::InProcess),
    }
}

/// The webhook inbox a `--store` URL names.
pub(crate) async fn inbox(url: &str) -> Result<Arc<dyn Inbox>, Error> {
    let url = url.trim();
    Ok(match kind(url, "--store")? {
        Kind::Memory => Arc::new(MemoryInbox::new()),
        Kind::Redis => Arc::new(store_builder!(gerbang::redis::RedisInbox).connect(url).await?),
        Kind::Postgres => Arc::new(store_builder!(gerbang::postgres::PostgresInbox).connect(url).await?),
    })
}

/// The outbox a `--store` URL names (`webhook serve --forward-to`, `events`): a
/// `RedisOutbox` or a `PostgresOutbox` (its table created if missing), or a new
/// [`MemoryOutbox`] for `memory`, which lives as long as the caller keeps it (the receiver and the
/// deliverer of one process must be given the same one).
pub(crate) async fn outbox(url: &str) -> Result<Arc<dyn Outbox>, Error> {
    let url = url.trim();
    Ok(match kind(url, "--store")? {
        Kind::Memory => Arc::new(MemoryOutbox::new()),
        Kind::Redis => Arc::new(store_builder!(gerbang::redis::RedisOutbox).connect(url).await?),
        Kind::Postgres => Arc::new(store_builder!(gerbang::postgres::PostgresOutbox).connect(url).await?),
    })
}

/// What `webhook serve` keeps in its store: the inbox, the ledger, and the outbox when it
/// forwards.
pub(crate) struct ServeStores {
    pub(crate) inbox: Arc<dyn Inbox>,
    pub(crate) ledger: Option<Arc<dyn Ledger>>,
    pub(crate) outbox: Option<Arc<dyn Outbox>>,
}

/// The stores of `webhook serve` on the `--store` URL, the outbox only when `forwarding`. On
/// Postgres all three share the inbox's pool: a pool per store (16 connections each) let three
/// replicas exhaust a default Postgres (`max_connections` 100) under a burst of webhooks.
pub(crate) async fn serve_stores(url: &str, forwarding: bool) -> Result<ServeStores, Error> {
    let url = url.trim();
    if let Kind::Postgres = kind(url, "--store")? {
        let inbox = store_builder!(gerbang::postgres::PostgresInbox).connect(url).await?;
        let pool = inbox.pool().clone();
        let ledger = gerbang::postgres::PostgresLedger::from_pool(pool.clone()).await?;
        let outbox = match forwarding {
            true => Some(Arc::new(gerbang::postgres::PostgresOutbox::from_pool(pool).await?) as Arc<dyn Outbox>),
            false => None,
        };
        return Ok(ServeStores { inbox: Arc::new(inbox), ledger: Some(Arc::new(ledger)), outbox });
    }
    let outbox = match forwarding {
        true => Some(outbox(url).await?),
        false => None,
    };
    Ok(ServeStores { inbox: inbox(url).await?, ledger: ledger(url, false).await?, outbox })
}

/// The ledger a `--store` URL names: `None` for `memory` when `shared` (a ledger that dies
/// with this process is no record for another one to read), else an in-memory one.
pub(crate) async fn ledger(url: &str, shared: bool) -> Result<Option<Arc<dyn Ledger>>, Error> {
    let url = url.trim();
    Ok(match kind(url, "--store")? {
        Kind::Memory if shared => None,
        Kind::Memory => Some(Arc::new(MemoryLedger::new())),
        Kind::Redis => Some(Arc::new(store_builder!(gerbang::redis::RedisLedger).connect(url).await?)),
        Kind::Postgres => Some(Arc::new(store_builder!(gerbang::postgres::PostgresLedger).connect(url).await?)),
    })
}

/// The rate store for Cuan10pay's budget: `None` for the client's in-process default.
///
/// # Errors
///
/// A malformed variable ([`Error::Config`]); a Redis that cannot be reached ([`Error::Store`]):
/// the call is refused, as the client refuses it when its store fails.
pub(crate) async fn rate_store() -> Result<Option<Arc<dyn RateStore>>, Error> {
    match shared()? {
        Shared::InProcess => Ok(None),
        Shared::Redis(url) => Ok(Some(Arc::new(store_builder!(RedisRateStore).connect(&url).await?))),
    }
}

/// The token store for Ciputra's bearer token: `None` for the client's in-process default, also
/// when Redis cannot be reached (the token is then fetched directly, as the client does when its
/// store fails; a warning says so on stderr).
///
/// # Errors
///
/// A malformed variable or URL ([`Error::Config`]).
pub(crate) async fn token_store() -> Result<Option<Arc<dyn TokenStore>>, Error> {
    match shared()? {
        Shared::InProcess => Ok(None),
        Shared::Redis(url) => match store_builder!(RedisTokenStore).connect(&url).await {
            Ok(store) => Ok(Some(Arc::new(store))),
            Err(error @ Error::Config { .. }) => Err(error),
            Err(error) => {
                crate::common::warn(&format!("{error}; fetching the Ciputra token without the shared store"));
                Ok(None)
            }
        },
    }
}

/// Where `route create` keeps its circuits: in the Redis a `--store` URL names (shared by every
/// process given it); `None` for any other store, whose router then keeps them in this process's
/// memory.
pub(crate) async fn circuit_store(url: &str) -> Result<Option<Arc<dyn gerbang::router::CircuitStore>>, Error> {
    let url = url.trim();
    Ok(match kind(url, "--store")? {
        Kind::Redis => Some(Arc::new(store_builder!(gerbang::redis::RedisCircuitStore).connect(url).await?)),
        Kind::Memory | Kind::Postgres => None,
    })
}
