//! # gerbang
//!
//! One SDK for Indonesian payment gateways. Every gateway is a feature of this crate, so an
//! application compiles only the gateways it uses; all of them implement one trait,
//! [`PaymentProvider`], and each also exposes every endpoint of its gateway, typed.
//!
//! | feature | gateway | module |
//! |---|---|---|
//! | `cuan10pay` | Cuan10pay: deposits (QRIS, virtual accounts), invoices, PPOB, SMM, vouchers | [`cuan10pay`] |
//! | `cashin` | Cash In: hosted checkout (QRIS, bank transfer), status, SNAP-signed notifications | [`cashin`] |
//! | `qris` | QRIS invoices: invoices, balance, withdrawals to DANA, polling for payment | [`qris`] |
//! | `crypto-invoice` | crypto invoices priced in fiat, verified callbacks | [`crypto_invoice`] |
//! | `ciputra` | Ciputra Life e-payment: transactions and registrations behind a bearer token | [`ciputra`] |
//! | `sandbox` | a local emulator of the gateways, for tests and demos | [`sandbox`] |
//! | `webhooks` | a receiver for every gateway's webhooks: verify, handle each change once, ack | [`webhooks`] |
//! | `axum` | the receiver as an axum `Router`, and the hardened server to serve it with | [`webhooks::router`], [`server`] |
//! | `reconcile` | no payment lost: watched payments checked until final, handled once with the webhooks | [`reconcile`] |
//! | `router` | one gateway over several: fail over only when the payment provably does not exist | [`router`] |
//! | `redis` | stores on Redis: the event inbox and the outbox shared by replicas | [`redis`] |
//! | `postgres` | stores on Postgres: the event inbox, done inside your own transaction; the outbox | [`postgres`] |
//! | `metrics` | Prometheus metrics of every crate, and (with `axum`) a `GET /metrics` route | [`metrics`] |
//! | `otel` | OpenTelemetry traces of gateway calls, deliveries and checks, exported over OTLP/HTTP | [`otel`] |
//! | `full` | every gateway (not the sandbox) | |
//!
//! No gateway is on by default: a merchant uses one or two, and each brings its own
//! dependencies (the sandbox brings `axum`; Cash In's RSA runs on aws-lc-rs, already in every
//! build through rustls).
//!
//! ```toml
//! [dependencies]
//! gerbang = { version = "0.1", features = ["cuan10pay"] }
//! ```
//!
//! The common flow is the same for every gateway:
//!
//! ```
//! use gerbang::{Money, PaymentProvider, PaymentRequest, PaymentStatus};
//!
//! async fn checkout(gateway: &dyn PaymentProvider, order: &str) -> Result<Option<String>, gerbang::Error> {
//!     let request = PaymentRequest::builder(order, Money::idr(150_000))
//!         .channel("qris".parse()?)
//!         .customer_name("Budi Santoso")
//!         .build()?;
//!     let payment = gateway.create_payment(&request).await?;
//!     assert_eq!(payment.status, PaymentStatus::Pending);
//!     Ok(payment.checkout_url) // send the customer there
//! }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_auto_cfg))]

pub use gerbang_core::*;

/// Cuan10pay (feature `cuan10pay`).
#[cfg(feature = "cuan10pay")]
pub use gerbang_cuan10pay as cuan10pay;

/// Cash In (feature `cashin`).
#[cfg(feature = "cashin")]
pub use gerbang_cashin as cashin;

/// QRIS invoices (feature `qris`).
#[cfg(feature = "qris")]
pub use gerbang_qris as qris;

/// Crypto invoices (feature `crypto-invoice`).
#[cfg(feature = "crypto-invoice")]
pub use gerbang_crypto_invoice as crypto_invoice;

/// Ciputra Life e-payment (feature `ciputra`).
#[cfg(feature = "ciputra")]
pub use gerbang_ciputra as ciputra;

/// The local gateway emulator (feature `sandbox`).
#[cfg(feature = "sandbox")]
pub use gerbang_sandbox as sandbox;

/// The webhook receiver (feature `webhooks`; its axum `Router` with feature `axum`).
#[cfg(feature = "webhooks")]
pub use gerbang_webhooks as webhooks;

/// The hardened HTTP server of `gerbang webhook serve` and the sandbox (feature `axum`):
/// header-read and idle timeouts, a connection cap that sheds idle connections for new ones,
/// graceful shutdown. Serve [`webhooks::router`] with it.
#[cfg(feature = "axum")]
pub use gerbang_server as server;

/// The reconciler (feature `reconcile`): the [ledger]'s payments checked until final.
#[cfg(feature = "reconcile")]
pub use gerbang_reconcile as reconcile;

/// The router (feature `router`): one [`PaymentProvider`] over several
/// gateways, failing over only when the payment provably does not exist.
#[cfg(feature = "router")]
pub use gerbang_router as router;

/// Stores on Redis (feature `redis`).
#[cfg(feature = "redis")]
pub use gerbang_redis as redis;

/// Stores on Postgres (feature `postgres`).
#[cfg(feature = "postgres")]
pub use gerbang_postgres as postgres;

#[cfg(feature = "metrics")]
pub mod metrics;

// OpenTelemetry traces (feature `otel`): documented in the module itself.
#[cfg(feature = "otel")]
pub mod otel;

/// Builds a client for every compiled-in gateway whose credentials are set in the environment.
///
/// Gateways whose variables are absent are left out rather than failing, so the same binary runs
/// wherever only some gateways are configured. A variable that is set but malformed is an error.
pub fn providers_from_env() -> Result<Vec<Box<dyn PaymentProvider>>, Error> {
    #[allow(unused_mut)]
    let mut providers: Vec<Box<dyn PaymentProvider>> = Vec::new();
    #[cfg(feature = "cuan10pay")]
    if env_var(cuan10pay::ENV_API_KEY)?.is_some() {
        providers.push(Box::new(cuan10pay::Cuan10payClient::from_env()?));
    }
    #[cfg(feature = "cashin")]
    if env_var(cashin::ENV_CLIENT_ID)?.is_some() {
        providers.push(Box::new(cashin::CashinClient::from_env()?));
    }
    #[cfg(feature = "qris")]
    if env_var(qris::ENV_API_KEY)?.is_some() {
        providers.push(Box::new(qris::QrisClient::from_env()?));
    }
    #[cfg(feature = "crypto-invoice")]
    if env_var(crypto_invoice::ENV_PUBLIC_KEY)?.is_some() {
        providers.push(Box::new(crypto_invoice::CryptoInvoiceClient::from_env()?));
    }
    #[cfg(feature = "ciputra")]
    if env_var(ciputra::ENV_API_KEY)?.is_some() {
        providers.push(Box::new(ciputra::CiputraClient::from_env()?));
    }
    Ok(providers)
}
