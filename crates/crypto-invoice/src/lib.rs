//! Crypto invoices for gerbang: invoices priced in fiat and paid in a coin, looked up by order
//! id, and the gateway's callback verified. The gateway is Payid19-compatible.
//!
//! Built from the crypto invoice document (`seeds/003_344fd773d4347651.txt`) as distilled in
//! `PROVIDERS.md` §4. There is no request signature: both calls carry `public_key` and
//! `private_key` in their body, and the callback carries the private key back.
//!
//! # Quick start
//!
//! ```no_run
//! use gerbang_core::{Currency, Decimal, Money, PaymentProvider, PaymentRequest};
//! use gerbang_crypto_invoice::CryptoInvoiceClient;
//! use std::time::Duration;
//!
//! # async fn run() -> Result<(), gerbang_core::Error> {
//! // GERBANG_CRYPTO_INVOICE_PUBLIC_KEY, GERBANG_CRYPTO_INVOICE_PRIVATE_KEY, and optionally
//! // GERBANG_CRYPTO_INVOICE_BASE_URL (default https://payid19.com/api/v1),
//! // GERBANG_CRYPTO_INVOICE_TEST (1 or true: test invoices) and
//! // GERBANG_CRYPTO_INVOICE_BODY (json, the default, or form).
//! let client = CryptoInvoiceClient::from_env()?;
//!
//! let price = Money::new(Decimal::new(72_550, 2), Currency::USD)?; // 725.50 USD
//! let request = PaymentRequest::builder("ORDER-1001", price)
//!     .customer_email("budi@example.com")
//!     .callback_url("https://shop.example/callbacks/crypto")
//!     .expires_in(Duration::from_secs(2 * 3600))
//!     .build()?;
//! let payment = client.create_payment(&request).await?;
//! println!("pay at {:?}", payment.checkout_url);
//!
//! // Later, by the order id (the merchant reference):
//! let now = client.payment_status("ORDER-1001").await?;
//! println!("ORDER-1001 is {} ({})", now.status, now.provider_status);
//! # Ok(())
//! # }
//! ```
//!
//! Every parameter of the document is on [`CreateInvoiceRequest`] (banned coins, margin ratio,
//! white label, …), sent with [`CryptoInvoiceClient::create_invoice`];
//! [`CryptoInvoiceClient::get_invoices`] lists an order's invoices.
//!
//! # Callbacks, handled once
//!
//! When an invoice is paid the gateway posts a JSON callback to its `callback_url`, carrying
//! the merchant's private key (as `private_key`; the document's own handlers read `privatekey`:
//! both are accepted). [`WebhookVerifier`] compares it with ours in constant time and reads the
//! rest; answer with [`WebhookEvent::ack`](gerbang_core::WebhookEvent::ack) (HTTP 200).
//!
//! The gateway "Tries 3 times, once every 5 minutes, until it reaches HTTP code 200", so the
//! same callback can arrive up to three times (a 200 lost on the way is enough). Handle it
//! idempotently: the invoice's `id` does not change between tries, and the event's
//! [`dedup_key`](gerbang_core::WebhookEvent::dedup_key) is built from it
//! (`crypto-invoice:{id}:paid`). Record the key in the same database transaction that marks the
//! order paid, skip a callback whose key is already recorded, and answer 200 either way (a
//! non-200 only makes the gateway try again):
//!
//! ```
//! use gerbang_crypto_invoice::WebhookVerifier;
//! use gerbang_core::WebhookRequest;
//! use gerbang_core::http::{HeaderMap, Method};
//! use std::collections::HashSet;
//!
//! let verifier = WebhookVerifier::new("your_private_key");
//! let body = br#"{"private_key":"your_private_key","id":4711,"order_id":"ORDER-1001","price_amount":725.5,"price_currency":"USD","amount":"725.5","amount_currency":"USDT","test":0}"#;
//! let headers = HeaderMap::new();
//! let mut handled = HashSet::new(); // a table with a unique key, in a real shop
//! let mut shipped = 0;
//! for _try in 0..3 {
//!     let request = WebhookRequest::new(Method::POST, "/callbacks/crypto", &headers, body);
//!     let callback = verifier.verify_callback(&request)?;
//!     let event = callback.to_event()?;
//!     if handled.insert(event.dedup_key()?) && !callback.is_test() {
//!         shipped += 1; // mark ORDER-1001 paid, ship it
//!     }
//!     assert_eq!(event.ack().status, 200);
//! }
//! assert_eq!(shipped, 1);
//! # Ok::<(), gerbang_core::Error>(())
//! ```
//!
//! A callback for a test invoice has `test` = 1: [`Callback::is_test`] says so (and `raw`
//! keeps it), so that a test payment never ships goods in production.
//!
//! # Assumptions
//!
//! Where the document is silent, the crate follows the decisions of `PROVIDERS.md` §4 and its
//! own, each kept in one named place: JSON bodies by default ([`BodyFormat`]), decimals written
//! as JSON numbers with their exact digits and `banned_coins` as JSON text (`body.rs`), the
//! `field` of a 422 ([`MESSAGE_SEPARATOR`] and `wire.rs`), the white-label coin list
//! ([`CreatedInvoice`]), the status words ([`payment_status`]), which invoice of an order is its
//! payment (`convert.rs`), and the callback's status and answer ([`CALLBACK_STATUS`]).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod body;
mod client;
mod config;
mod convert;
mod de;
mod provider;
mod request;
mod webhook;
mod wire;

pub use client::CryptoInvoiceClient;
pub use config::{
    BodyFormat, CryptoInvoiceConfig, CryptoInvoiceConfigBuilder, DEFAULT_BASE_URL, ENV_BASE_URL, ENV_BODY,
    ENV_PRIVATE_KEY, ENV_PRIVATE_KEY_PREVIOUS, ENV_PUBLIC_KEY, ENV_TEST,
};
pub use convert::payment_status;
pub use de::Extra;
pub use provider::{CREATE_LIMITS, SAFE_REFUSALS};
pub use request::{
    BannedCoin, CreateInvoiceRequest, DEFAULT_EXPIRATION_HOURS, MAX_EXPIRATION_HOURS, MIN_EXPIRATION_HOURS,
};
pub use webhook::{CALLBACK_STATUS, Callback, KEY_FIELDS, WebhookVerifier};
pub use wire::{CreatedInvoice, Invoice, MESSAGE_SEPARATOR, WhiteLabelCoin, parse_create_invoice, parse_get_invoices};
