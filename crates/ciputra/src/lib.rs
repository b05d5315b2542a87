//! Ciputra Life e-payment for gerbang: an insurer's payment API (premiums paid through virtual
//! accounts, cards, internet banking, e-wallets, retail outlets and QRIS, and auto-debit
//! registration), behind a bearer token.
//!
//! Built from the Ciputra document (`seeds/004_627801bf8e050898.txt`) as distilled in
//! `PROVIDERS.md` §5.
//!
//! # The token
//!
//! Every call carries `Authorization: Bearer <token>`, the token got from `POST /auth/token`
//! with the `api-key` and `api-secret` headers. The client does all of it: the token is fetched
//! on the first call, cached and shared by every clone of the client, and replaced a minute
//! before it expires ([`DEFAULT_REFRESH_BEFORE_EXPIRY`]); its expiry is the JWT's `exp` claim,
//! else `expires_in` ([`token_expiry`]). However many calls need a new token at the same moment,
//! **one** token request is made. A call answered 401 drops its token, gets a new one and is sent
//! once more; a second 401 is [`Error::Unauthorized`](gerbang_core::Error). The token is a
//! secret: it never appears in `Debug`, logs or errors.
//!
//! Replicas share one token through a [`TokenStore`](gerbang_core::token_store::TokenStore)
//! ([`CiputraConfigBuilder::token_store`]; in memory by default, Redis from `gerbang-redis` for
//! many replicas): one replica fetches it under the store's refresh lock (with a timeout), the
//! others wait for it and take it from the store, where it is kept under `ciputra:` and a hash of
//! the API key and base URL (never the key) until its refresh time, before it expires. A token
//! refused with a 401 at one replica is replaced once for all of them. When the store fails, the
//! client fetches its own token, as without a store.
//!
//! # Quick start
//!
//! ```no_run
//! use gerbang_ciputra::CiputraClient;
//! use gerbang_core::{Money, PaymentProvider, PaymentRequest};
//!
//! # async fn run() -> Result<(), gerbang_core::Error> {
//! // GERBANG_CIPUTRA_API_KEY, GERBANG_CIPUTRA_API_SECRET and GERBANG_CIPUTRA_BASE_URL.
//! let client = CiputraClient::from_env()?;
//!
//! let request = PaymentRequest::builder("POLIS-0001-2025-01", Money::idr(350_000))
//!     .channel("va:bca".parse()?)
//!     .customer_name("Budi Santoso")
//!     .description("Premi Januari 2025")
//!     .callback_url("https://insurer.example.com/hooks/ciputra")
//!     .build()?;
//! let payment = client.create_payment(&request).await?;
//! println!("pay into {:?} or at {:?}", payment.payment_code, payment.checkout_url);
//!
//! // Later, by the merchant's reference (Ciputra's external_id):
//! let now = client.payment_status("POLIS-0001-2025-01").await?;
//! println!("{}", now.status);
//!
//! // Ciputra's own calls:
//! let registration = client.registration_status("REG-0001").await?;
//! println!("{:?}", registration.status);
//! # Ok(())
//! # }
//! ```
//!
//! # The callback
//!
//! The gateway posts to the transaction's `callback_url`, but the document shows neither the
//! body nor a signature. So [`verify_webhook`](gerbang_core::PaymentProvider::verify_webhook)
//! reads the body (form or JSON) only for its `external_id` ([`parse_callback`]), **asks the
//! gateway for the transaction's status**, and builds the event from that answer. Answer the
//! gateway with the event's [`ack`](gerbang_core::WebhookEvent::ack) (200 `OK`).
//!
//! Since anyone who can reach the callback URL can make the merchant spend a status call, those
//! calls are bounded:
//!
//! - callbacks for one `external_id` that arrive while its status call is out **share that
//!   call** and its answer (nothing is kept after: a later callback asks again);
//! - callback-driven status calls have a **budget**, by default
//!   [`DEFAULT_CALLBACK_CHECKS`]: **20 per 2 seconds** (10 a second, bursts of 20), per client
//!   and per process, set with [`CiputraConfigBuilder::callback_checks`]. Past it a callback is
//!   [`Error::BudgetSpent`](gerbang_core::Error) without a call, which a receiver answers 503:
//!   the genuine gateway delivers it again later;
//! - with a ledger that knows every payment (`require_known_payments` in `gerbang-webhooks`), a
//!   callback naming an `external_id` the ledger does not hold is refused before any call
//!   ([`webhook_claims`](gerbang_core::PaymentProvider::webhook_claims)).
//!
//! A status call that fails for a reason of the merchant's side or the gateway's (a 5xx, a cut
//! answer, a timeout, a token that cannot be had) is not the callback's fault: the receiver
//! answers 503 so that the gateway delivers it again. An `external_id` the gateway does not know
//! is refused (400), with a body that does not repeat the gateway's answer.
//!
//! # Every call
//!
//! | method | call |
//! |---|---|
//! | [`CiputraClient::transaction`] | `POST /transaction`, `action` `charge`, `cancel` or `registration` ([`TransactionRequest`]) |
//! | [`CiputraClient::cancel_transaction`] | `POST /transaction`, `action=cancel` |
//! | [`CiputraClient::transaction_status`] | `POST /transaction/status` |
//! | [`CiputraClient::registration_status`] | `POST /registration/status` |
//!
//! Bodies are form-encoded; a paycode that is not a channel of the paytype is refused before
//! anything is sent ([`PayType::accepts`]). An answer whose `code` is not `00`, or whose `status`
//! is `false`, is [`Error::Api`](gerbang_core::Error) with the gateway's code and message, even
//! under HTTP 200 ([`check_envelope`]).
//!
//! # Assumptions
//!
//! The document names the operations but not their URLs, nor how the key reaches the token call,
//! nor the callback. Each **Decision** of `PROVIDERS.md` §5 and of this crate is kept in one named
//! place: [`TOKEN_PATH`], [`TRANSACTION_PATH`], [`TRANSACTION_STATUS_PATH`],
//! [`REGISTRATION_STATUS_PATH`], [`EXPIRES_IN_ABSOLUTE_ABOVE`], [`ASSUMED_TOKEN_LIFETIME`],
//! [`DESCRIPTION_FIELDS`], [`PayType::accepts`], [`TransactionRequest::cancel`],
//! [`CALLBACK_ACK_BODY`], and the credential headers, the form body type, the mapping of a
//! `PaymentRequest` and the reading of times as Jakarta time, each documented where it is made.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod callback;
mod client;
mod config;
mod confirm;
mod convert;
mod de;
mod provider;
mod request;
mod token;
mod wire;

pub use callback::{CALLBACK_ACK_BODY, CallbackHint, parse_callback};
pub use client::{CiputraClient, REGISTRATION_STATUS_PATH, TOKEN_PATH, TRANSACTION_PATH, TRANSACTION_STATUS_PATH};
pub use config::{
    CiputraConfig, CiputraConfigBuilder, DEFAULT_REFRESH_BEFORE_EXPIRY, ENV_API_KEY, ENV_API_SECRET, ENV_BASE_URL,
};
pub use confirm::DEFAULT_CALLBACK_CHECKS;
pub use convert::payment_status;
pub use provider::CREATE_LIMITS;
pub use request::{
    Action, DESCRIPTION_FIELDS, Description, Expiry, NotificationTiming, PayCode, PayType, SendSwitch,
    TransactionRequest,
};
pub use token::{ASSUMED_TOKEN_LIFETIME, EXPIRES_IN_ABSOLUTE_ABOVE, token_expiry};
pub use wire::{
    Extra, RegistrationStatus, SUCCESS_CODE, TransactionResult, TransactionStatus, check_envelope, parse_answer,
};
