//! Redis stores for gerbang, shared by every replica of a merchant's backend:
//!
//! | store | core trait | what it shares | keys (default prefixes) |
//! |---|---|---|---|
//! | [`RedisInbox`] | [`Inbox`](gerbang_core::inbox::Inbox) | each change a gateway reports is handled once, however many replicas receive it, however many times it is delivered | `gerbang:inbox:` |
//! | [`RedisRateStore`] | [`RateStore`](gerbang_core::rate::RateStore) | one rate budget (Cuan10pay's 100 calls per hour) spent by all, GCRA in Lua on the server's clock | `gerbang:rate:` |
//! | [`RedisTokenStore`] | [`TokenStore`](gerbang_core::token_store::TokenStore) | one bearer token (Ciputra's) fetched by one replica for all, under a refresh lock | `gerbang:token:`, `gerbang:token-lock:` |
//! | [`RedisLedger`] | [`Ledger`](gerbang_core::ledger::Ledger) | the payments to watch until they are final, each due status check handed to one replica for a lease | `gerbang:ledger:` |
//! | [`RedisCircuitStore`] | [`CircuitStore`](gerbang_core::circuit::CircuitStore) | each gateway's circuit breaker: failures seen by one replica open it for all, one probe among them after the cool-down (Lua on the server's clock) | `gerbang:circuit:{cuan10pay}` (one hash per gateway) |
//! | [`RedisOutbox`] | [`Outbox`](gerbang_core::outbox::Outbox) | the events waiting for delivery to the application, each due one taken by one replica for a lease, in order per payment (a stream and its consumer group) | `gerbang:outbox:{default}:` |
//!
//! Each has a builder (prefix, timeouts), `connect(url)`, `new(ConnectionManager)` and
//! `build_cluster(ClusterConnection)`; every
//! operation is bounded by a timeout, so that a Redis that is down is an error at once, which
//! the gateway crates have an answer for (a refused call for the budget, a token fetched
//! directly for the token store, a create refused before it is sent for the ledger).
//!
//! ```no_run
//! use std::time::Duration;
//! use gerbang_core::ProviderId;
//! use gerbang_core::inbox::{Claim, EventKey, Inbox};
//! use gerbang_redis::RedisInbox;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), gerbang_core::Error> {
//! // The URL usually comes from the environment (it may hold a password: it is never logged).
//! let inbox = RedisInbox::builder()
//!     .prefix("shop:inbox:")
//!     .retention(Duration::from_secs(3 * 24 * 3600))
//!     .connect("redis://127.0.0.1:6379/0")
//!     .await?;
//! let key = EventKey { provider: ProviderId::Cuan10pay, key: "cuan10pay:CP-1:paid".into() };
//! match inbox.claim(&key, Duration::from_secs(30)).await? {
//!     Claim::New(lease) => {
//!         // Handle the event, then mark it done (or release it if handling failed).
//!         inbox.complete(&lease).await?;
//!     }
//!     Claim::Done => { /* handled already: acknowledge */ }
//!     Claim::InFlight => { /* another replica has it: answer non-2xx, the gateway retries */ }
//! }
//! # Ok(())
//! # }
//! ```
//!
//! Errors are [`gerbang_core::Error::Store`] with `store: "redis"`, and never hold the URL or
//! its password (nor a token); a URL that does not parse is [`gerbang_core::Error::Config`]:
//!
//! ```
//! use gerbang_redis::RedisInbox;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let error = RedisInbox::connect("redis//:hunter2@cache:6379").await.unwrap_err();
//! assert!(matches!(error, gerbang_core::Error::Config { .. }));
//! assert!(!error.to_string().contains("hunter2"));
//! # }
//! ```
//!
//! **TLS**: a `rediss://` URL connects over TLS (rustls, on the aws-lc-rs that reqwest already
//! builds; never OpenSSL). The server's certificate must chain to the CA file a builder's
//! `root_cert(path)` names (a private CA), else to the system's trust store (managed Redis with a
//! public CA), and name the URL's host. A certificate that does not verify (unknown issuer, wrong
//! name, expired) is [`gerbang_core::Error::Config`] naming the host and the reason, like a wrong
//! password: trying again changes nothing. `rediss://…/#insecure` (skip verification) is refused.
//!
//! **Redis Cluster**: `redis+cluster://[user:password@]host:port[,host:port…]` (and
//! `rediss+cluster://…` over TLS, with the same CA handling) connects through the `redis`
//! crate's cluster client, given one or more nodes: it learns the slots from them, sends each
//! command to the master of its key's slot and follows slots that move. Each operation of the
//! inbox, the rate budget, the token store and the circuit store touches one key, so it is in one slot by
//! construction (their key names are the same as on one server). The ledger's scripts reach the
//! records named in its sets, so on a cluster every key of one ledger carries the prefix as a
//! hash tag (`{gerbang:ledger:}due`, `{gerbang:ledger:}rec:qris:ORDER-1`): one ledger is one
//! slot, on one master. When an operation fails on a cluster, the error names the masters that
//! do not answer (`host:port`, never a password).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod circuit;
mod cluster;
mod conn;
mod error;
mod inbox;
mod key;
mod ledger;
mod outbox;
mod rate;
mod tls;
mod token;

pub use circuit::{RedisCircuitStore, RedisCircuitStoreBuilder};
pub use conn::{DEFAULT_CONNECTION_TIMEOUT, DEFAULT_RESPONSE_TIMEOUT};
pub use inbox::{DEFAULT_OPERATION_TIMEOUT, DEFAULT_PREFIX, DEFAULT_RETENTION, RedisInbox, RedisInboxBuilder};
pub use ledger::{RedisLedger, RedisLedgerBuilder};
pub use outbox::{RedisOutbox, RedisOutboxBuilder};
pub use rate::{RedisRateStore, RedisRateStoreBuilder};
/// The `redis` crate this one is built on, for [`RedisInbox::new`] (and the other stores' `new`)
/// on a connection manager of your own.
pub use redis;
pub use token::{RedisTokenStore, RedisTokenStoreBuilder};
