//! The QRIS invoice gateway for gerbang: QRIS deposit invoices, the balance, withdrawals to a
//! DANA e-wallet, and polling for payment.
//!
//! Built from the gateway's Indonesian document (`seeds/002_70371d71cc9c4025.txt`; the
//! gateway's name is not in it) as distilled in `PROVIDERS.md` §3. Every call carries the API key
//! as the `apikey` query parameter; the key is therefore in the URL, which this crate never logs,
//! traces or puts into an error, and which no `Debug` shows.
//!
//! | call | method | path and parameters |
//! |---|---|---|
//! | [`balance`](QrisClient::balance) | GET | `/api/v1/balance` |
//! | [`create_invoice`](QrisClient::create_invoice) | GET | `/api/v1/invoice/create?amount=` |
//! | [`invoice_status`](QrisClient::invoice_status) | GET | `/api/v1/invoice/status?invoice_id=` |
//! | [`cancel_invoice`](QrisClient::cancel_invoice) | POST | `/api/v1/invoice/cancel?invoice_id=` |
//! | [`withdraw_dana`](QrisClient::withdraw_dana) | POST | `/api/v1/withdraw/dana`, JSON `{"amount","accountNumber","accountName"}` |
//! | [`withdraw_status`](QrisClient::withdraw_status) | GET | `/api/v1/withdraw/status?withdraw_id=` |
//! | [`withdraw_history`](QrisClient::withdraw_history), [`withdraw_history_stream`](QrisClient::withdraw_history_stream) | GET | `/api/v1/withdraw/history?page=&limit=[&status=]` |
//!
//! # Quick start
//!
//! ```no_run
//! use gerbang_core::{Money, PaymentProvider, PaymentRequest, PaymentStatus};
//! use gerbang_qris::{QrisClient, WithdrawRequest};
//! use std::time::Duration;
//!
//! # async fn run() -> Result<(), gerbang_core::Error> {
//! // GERBANG_QRIS_API_KEY and GERBANG_QRIS_BASE_URL (the document names no host).
//! let client = QrisClient::from_env()?;
//!
//! // The common flow: an invoice for 10 000 rupiah, its QR code shown to the customer…
//! let payment = client.create_payment(&PaymentRequest::builder("ORDER-1001", Money::idr(10_000)).build()?).await?;
//! println!("show {:?}, total {:?}", payment.qr_image_url, payment.total);
//!
//! // …and, since the gateway sends no webhook, polling until it is paid or expired.
//! let invoice_id = payment.provider_reference.unwrap_or_default();
//! let settled = client.wait_for_payment(&invoice_id, Duration::from_secs(15 * 60)).await?;
//! if settled.status == gerbang_qris::InvoiceStatus::Paid {
//!     println!("paid: deliver ORDER-1001");
//! }
//!
//! // The gateway's own calls: the balance, and a withdrawal to DANA.
//! println!("balance: {}", client.balance().await?.balance);
//! let withdrawal = client.withdraw_dana(&WithdrawRequest::new(50_000, "081234567890", "John Doe")).await?;
//! println!("{} is {}; {:?} deducted", withdrawal.withdraw_id, withdrawal.status, withdrawal.total_deduct);
//! # let _ = PaymentStatus::Paid;
//! # Ok(())
//! # }
//! ```
//!
//! # Errors
//!
//! The gateway answers errors as `{"error": "…"}` in Indonesian (`Invoice tidak bisa dibatalkan,
//! status saat ini: paid`); the message is kept word for word (scrubbed of the key), so it can
//! be shown. Which [`Error`](gerbang_core::Error) variant it comes as is decided in one place, [`error_for`]:
//! [`Error::Api`](gerbang_core::Error::Api) with the HTTP status, except under 401/403
//! (`Unauthorized`), 404 (`NotFound`) and 429 (`RateLimited`).
//!
//! # Assumptions
//!
//! Where the document is silent, the crate follows the decisions of `PROVIDERS.md` §3 and a few
//! of its own, each in one named place: the paths (from the document's headings), the key as
//! the last query parameter ([`QrisClient`]), a create answer without `status` being pending
//! ([`Invoice`]), invoice times without offset being Jakarta time ([`read_time`]), the mapping
//! of `{"error"}` answers ([`error_for`]), the DANA account number's length
//! ([`ACCOUNT_NUMBER_DIGITS`]) and the polling pace ([`PollPolicy::default`]).
//!
//! There is no webhook: [`verify_webhook`](gerbang_core::PaymentProvider::verify_webhook) is
//! [`Error::Unsupported`](gerbang_core::Error::Unsupported) and [`QrisClient::wait_for_payment`]
//! is the way to learn of a payment.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod answer;
mod client;
mod config;
mod convert;
mod de;
mod history;
mod poll;
mod provider;
mod request;
mod types;

/// The stream traits [`QrisClient::withdraw_history_stream`] is consumed with, re-exported from
/// `futures-util` so that a caller needs no dependency of its own to walk the history:
/// `use gerbang_qris::stream::TryStreamExt;` then `.try_next().await` or `.try_collect().await`.
pub mod stream {
    pub use futures_util::stream::{Stream, StreamExt, TryStreamExt};
}

pub use answer::{error_for, parse_answer};
pub use client::QrisClient;
pub use config::{ENV_API_KEY, ENV_BASE_URL, QrisConfig, QrisConfigBuilder};
pub use convert::payment_status;
pub use de::read_time;
pub use poll::PollPolicy;
pub use provider::CREATE_LIMITS;
pub use request::{
    ACCOUNT_NUMBER_DIGITS, DEFAULT_HISTORY_LIMIT, MAX_ACCOUNT_NAME_CHARS, WithdrawHistoryQuery, WithdrawRequest,
};
pub use types::{
    Balance, CancelledInvoice, Extra, Invoice, InvoiceStatus, Pagination, Withdrawal, WithdrawalPage, WithdrawalStatus,
};
