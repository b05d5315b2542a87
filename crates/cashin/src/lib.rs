//! Cash In for gerbang: the hosted checkout page (QRIS or bank transfer), its status, and the
//! SNAP-signed payment notification Cash In sends to the merchant.
//!
//! Built from Cash In's integration guide (`seeds/001_3ab17dd2bbbc66f1.txt`) as distilled in
//! `PROVIDERS.md` §2. Every request is signed for you: `X-CLIENT-ID`, a fresh `X-REQUEST-ID`,
//! `X-TIMESTAMP` in Jakarta time and the symmetric `X-SIGNATURE` (HMAC of the body's digest,
//! client id, request id, path and timestamp).
//!
//! # Quick start
//!
//! ```no_run
//! use gerbang_core::{Channel, Money, PaymentProvider, PaymentRequest};
//! use gerbang_cashin::CashinClient;
//! use std::time::Duration;
//!
//! # async fn run() -> Result<(), gerbang_core::Error> {
//! // GERBANG_CASHIN_CLIENT_ID, GERBANG_CASHIN_SECRET_KEY, GERBANG_CASHIN_PUBLIC_KEY (for the
//! // notification), and optionally GERBANG_CASHIN_ENVIRONMENT=production or GERBANG_CASHIN_BASE_URL.
//! let client = CashinClient::from_env()?;
//!
//! let request = PaymentRequest::builder("ORDER-1001", Money::idr(150_000))
//!     .channel(Channel::Qris)
//!     .customer_id("CUST-42")
//!     .customer_phone("081234567890")
//!     .success_url("https://shop.example.com/orders/ORDER-1001/paid")
//!     .cancel_url("https://shop.example.com/cart")
//!     .expires_in(Duration::from_secs(30 * 60))
//!     .build()?;
//! let payment = client.create_payment(&request).await?;
//! println!("send the customer to {:?}", payment.checkout_url);
//!
//! // Later, by the merchant's reference (Cash In's trxNo):
//! let now = client.payment_status("ORDER-1001").await?;
//! println!("ORDER-1001 is {}", now.status);
//! # Ok(())
//! # }
//! ```
//!
//! # The notification
//!
//! Cash In posts the outcome to `https://{your domain}/v1.0/debit/notify` (set in its dashboard),
//! signed with its RSA key. Verify it on the bytes received with [`WebhookVerifier`] (or the
//! client's `verify_webhook`), then answer with the event's [`ack`](gerbang_core::WebhookEvent::ack)
//! (`{"responseCode":"2005600","responseMessage":"Successful"}`), or with [`rejection`] of the
//! error (401 `4015600`, 400 `4005601`):
//!
//! ```
//! use gerbang_cashin::{NotificationSigner, PrivateKey, WebhookVerifier, format_timestamp, rejection};
//! use gerbang_core::{Error, PaymentStatus, WebhookRequest};
//! use gerbang_core::http::Method;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // Cash In's key pair, played here by a fresh one.
//! let cash_in = PrivateKey::generate(2048)?;
//! let verifier = WebhookVerifier::new(cash_in.public_key());
//!
//! let body = br#"{"originalPartnerReferenceNo":"PAY12345678910","originalReferenceNo":"ORDER-1001",
//!     "latestTransactionStatus":"00","transactionStatusDesc":"Success",
//!     "amount":{"value":"150000.00","currency":"IDR"}}"#;
//! let timestamp = format_timestamp(gerbang_core::time::OffsetDateTime::now_utc());
//! let headers = NotificationSigner::new(cash_in, "CID1234567890").headers("/v1.0/debit/notify", body, &timestamp)?;
//!
//! let event = verifier.verify(&WebhookRequest::new(Method::POST, "/v1.0/debit/notify", &headers, body))?;
//! assert_eq!(event.status, PaymentStatus::Paid);
//! assert_eq!(event.ack().status, 200);
//!
//! // A body changed on the way is refused, with the answer Cash In expects.
//! let forged = String::from_utf8(body.to_vec())?.replace("150000.00", "1500000.00");
//! let err = verifier.verify(&WebhookRequest::new(Method::POST, "/v1.0/debit/notify", &headers, forged.as_bytes())).unwrap_err();
//! assert!(matches!(err, Error::InvalidSignature { .. }));
//! assert_eq!(rejection(&err).status, 401);
//! # Ok(())
//! # }
//! ```
//!
//! # Assumptions
//!
//! Where the document is vague the crate follows the decisions of `PROVIDERS.md` §2, each in one
//! named place: the symmetric request signature and its hash ([`HmacAlgorithm`], SHA-256 by
//! default), the notification's asymmetric signature ([`WebhookVerifier`]), the acknowledgement
//! bodies ([`ACK_SUCCESS_BODY`] …). Beyond them: the SNAP code `05` is an expiry
//! ([`notification_status`]), the duration defaults to [`DEFAULT_DURATION_MINUTES`] and is
//! rounded up to whole minutes, and a new checkout is reported as `OPEN`.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod client;
mod config;
mod convert;
mod de;
mod provider;
mod request;
mod webhook;
mod wire;

pub use client::{CHECKOUT_PATH, CashinClient, STATUS_PATH};
pub use config::{
    CashinConfig, CashinConfigBuilder, DEFAULT_BASE_URL, DEFAULT_WEBHOOK_TOLERANCE, ENV_BASE_URL, ENV_CLIENT_ID,
    ENV_ENVIRONMENT, ENV_HMAC, ENV_PUBLIC_KEY, ENV_PUBLIC_KEY_PREVIOUS, ENV_SECRET_KEY, Environment,
    PRODUCTION_BASE_URL, SANDBOX_BASE_URL,
};
pub use convert::{DEFAULT_DURATION_MINUTES, notification_status, payment_status};
pub use provider::CREATE_LIMITS;
pub use request::{CheckoutCustomer, CheckoutRequest, PaymentChannel};
pub use webhook::{
    ACK_GENERAL_ERROR_BODY, ACK_INVALID_FIELD_FORMAT_BODY, ACK_SUCCESS_BODY, ACK_UNAUTHORIZED_BODY, DEFAULT_CHANNEL_ID,
    NOTIFY_PATH, Notification, NotificationSigner, WebhookVerifier, ack, ack_invalid_field_format, ack_unauthorized,
    rejection,
};
pub use wire::{Checkout, CheckoutStatus, Extra, parse_checkout, parse_checkout_status};

/// Re-exported so that users need not depend on `gerbang-signing`.
pub use gerbang_signing::cashin::HmacAlgorithm;
/// Re-exported: `X-TIMESTAMP` in Jakarta time, `2024-11-04T10:00:00+07:00`.
pub use gerbang_signing::jakarta::format_timestamp;
/// Re-exported: Cash In's public key, and a private key to play Cash In in tests.
pub use gerbang_signing::rsa::{PrivateKey, PublicKey};
