//! Cuan10pay for gerbang: deposits (QRIS and bank virtual accounts), invoice status, the PPOB,
//! SMM and game-voucher catalogues and their orders, and signed webhooks.
//!
//! Built from the Cuan10pay document (`seeds/000_b443c682d4d25840.txt`) as distilled in
//! `PROVIDERS.md` §1. Every call is signed for you: `X-API-KEY`, `X-TIMESTAMP` (Unix seconds) and
//! `X-SIGNATURE`, the hex HMAC-SHA256 of timestamp + method + path (with its query) + body.
//!
//! # Quick start
//!
//! ```no_run
//! use gerbang_core::{Channel, Money, PaymentProvider, PaymentRequest};
//! use gerbang_cuan10pay::Cuan10payClient;
//!
//! # async fn run() -> Result<(), gerbang_core::Error> {
//! // GERBANG_CUAN10PAY_API_KEY, GERBANG_CUAN10PAY_PRIVATE_KEY, and optionally
//! // GERBANG_CUAN10PAY_BASE_URL (default https://cuan10pay.com/api).
//! let client = Cuan10payClient::from_env()?;
//!
//! let request = PaymentRequest::builder("ORDER-1001", Money::idr(150_000))
//!     .channel(Channel::Qris)
//!     .customer_name("Budi Santoso")
//!     .description("2 x Kopi Susu")
//!     .build()?;
//! let payment = client.create_payment(&request).await?;
//! println!("pay at {:?}", payment.checkout_url);
//!
//! // Later, by Cuan10pay's deposit_id:
//! let deposit_id = payment.provider_reference.unwrap_or_default();
//! let now = client.payment_status(&deposit_id).await?;
//! println!("{deposit_id} is {}", now.status);
//!
//! // Cuan10pay's own catalogues:
//! for product in client.ppob_products(Some("telkomsel")).await? {
//!     println!("{:?} {:?}", product.code, product.price);
//! }
//! # Ok(())
//! # }
//! ```
//!
//! # Webhooks
//!
//! Cuan10pay posts `{"reference","status","amount","timestamp","signature"}` to the webhook URL
//! set in its dashboard. Verify it on the bytes received, then answer with
//! [`WebhookEvent::ack`](gerbang_core::WebhookEvent::ack); the [`WebhookVerifier`] needs only the
//! private key:
//!
//! ```
//! use gerbang_cuan10pay::WebhookVerifier;
//! use gerbang_core::{Error, FixedClock, PaymentStatus, WebhookRequest};
//! use gerbang_core::http::{HeaderMap, Method};
//! use std::sync::Arc;
//!
//! let verifier = WebhookVerifier::new("your_private_key").with_clock(Arc::new(FixedClock::at_unix(1_700_000_000)));
//! let body = verifier.signed_body("CP-20250928-38B575", "PAID", 150_000, 1_700_000_000);
//! let headers = HeaderMap::new();
//! let event = verifier.verify(&WebhookRequest::new(Method::POST, "/webhooks/cuan10pay", &headers, body.as_bytes()))?;
//! assert_eq!(event.status, PaymentStatus::Paid);
//!
//! // A body changed on the way is refused.
//! let forged = body.replace("150000", "1500000");
//! let result = verifier.verify(&WebhookRequest::new(Method::POST, "/webhooks/cuan10pay", &headers, forged.as_bytes()));
//! assert!(matches!(result, Err(Error::InvalidSignature { .. })));
//! # Ok::<(), Error>(())
//! ```
//!
//! The signature covers `reference + status + amount + timestamp` with nothing between the
//! fields, so the verifier reads each strictly before the signature counts: `amount` and
//! `timestamp` as JSON integers only, `status` as one of [`WEBHOOK_STATUS_WORDS`] exactly (an
//! unknown word is refused, not passed on as unknown), `reference` as a JSON string. No
//! character can then move across the status/amount or amount/timestamp boundary. Between the
//! free-text reference and the status one still can, wherever a word the gateway sends ends with
//! a word of the list (a genuine `UNPAID` for `XYZ` reads as `PAID` for `XYZUN`): the list holds
//! no such pair, and for the words the gateway may send beyond it,
//! [`Cuan10payConfigBuilder::confirm_webhooks_with_status`] makes the client confirm every webhook
//! with a `deposit_status` call (off by default: one request of the 100-per-hour budget each).
//!
//! # Assumptions
//!
//! Where the document is silent, the crate follows the decisions of `PROVIDERS.md` §1, each kept
//! in one named place: what the request signature covers (the query string included), what the
//! webhook signature covers, what to answer a webhook with, and the deposit `notes` carrying
//! the merchant reference. The catalogue and order answers are not documented: their obvious
//! fields are typed, everything else is kept in each type's `extra`.
//!
//! # The rate budget
//!
//! The client keeps to the gateway's limit of 100 requests per hour by itself ([`RateBudget`]):
//! a call over the budget is not sent and returns [`Error::BudgetSpent`](gerbang_core::Error)
//! with the wait. Every attempt counts, retries too, as at the gateway.
//! `GERBANG_CUAN10PAY_RATE_LIMIT` ([`ENV_RATE_LIMIT`]) sets the budget from the environment in
//! calls per hour (a positive whole number; default 100; `0` or anything else is a configuration
//! error naming the variable), and [`Cuan10payConfigBuilder::rate_budget_per_hour`] in code.
//!
//! The budget is counted in a [`RateStore`](gerbang_core::rate::RateStore), under the gateway and
//! the account (`cuan10pay:` and 16 hex digits of a hash of the API key, never the key). The
//! default is in memory, for one process; give every replica the same shared store
//! ([`Cuan10payConfigBuilder::rate_store`], a Redis store from `gerbang-redis`) and together
//! they never exceed the limit. When that store cannot be reached, calls are **refused** with
//! [`Error::Store`](gerbang_core::Error), not sent: a replica cannot know how many others spend
//! the budget, so it has no safe share of its own. Background work (status checks on a schedule)
//! spends at [`Priority::Background`](gerbang_core::rate::Priority) through
//! [`Cuan10payClient::with_priority`], and stops while only the last 20 % of the budget is left,
//! so that it never starves the merchant's own calls.
//!
//! **Not implemented:** the document's PHP example posts form fields to
//! `/v1/deposit_create.php`, signed with HMAC(merchant_code + merchant_ref + amount), with a
//! merchant code this API has nowhere else. It is an older scheme, contradicted by the rest of
//! the document, and is left out.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod budget;
mod client;
mod config;
mod confirm;
mod convert;
mod de;
mod provider;
mod request;
mod webhook;
mod wire;

pub use budget::RateBudget;
pub use client::Cuan10payClient;
pub use config::{
    Cuan10payConfig, Cuan10payConfigBuilder, DEFAULT_BASE_URL, DEFAULT_RATE_BUDGET_PER_HOUR, DEFAULT_WEBHOOK_TOLERANCE,
    ENV_API_KEY, ENV_BASE_URL, ENV_PRIVATE_KEY, ENV_PRIVATE_KEY_PREVIOUS, ENV_RATE_LIMIT,
};
pub use convert::{WEBHOOK_STATUS_WORDS, payment_status, reference_in_notes};
pub use provider::{CREATE_LIMITS, SAFE_REFUSALS};
pub use request::{
    DepositRequest, MAX_DEPOSIT_IDR, MIN_DEPOSIT_IDR, PpobOrderRequest, SmmOrderRequest, VoucherOrderRequest,
};
pub use webhook::WebhookVerifier;
pub use wire::{Deposit, Extra, Invoice, Order, PpobProduct, SmmService, VoucherProduct, parse_answer};
