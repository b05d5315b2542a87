//! A local emulator of the gerbang payment gateways, to try the whole payment flow on a laptop:
//! create a payment, play the customer paying it, receive the signed webhook, look the status up.
//!
//! One axum server, each gateway under its own path prefix, all state in memory. It checks every
//! request exactly as the gateway documents it (credentials, timestamp window, signature over the
//! raw bytes, field validation) and refuses bad ones in that gateway's own error shape, so that a
//! client is tested against something it did not write. It does not depend on the gateway client
//! crates.
//!
//! | gateway | prefix | credentials |
//! |---|---|---|
//! | Cuan10pay | `/cuan10pay` | [`cuan10pay::API_KEY`], [`cuan10pay::PRIVATE_KEY`] |
//! | Cash In | `/cashin` | [`cashin::CLIENT_ID`], [`cashin::SECRET_KEY`]; notifications signed with the key of [`cashin::public_key_pem`] |
//! | QRIS invoices | `/qris` | [`qris::API_KEY`] (query `apikey`) |
//! | Crypto invoices | `/crypto-invoice` | [`crypto_invoice::PUBLIC_KEY`], [`crypto_invoice::PRIVATE_KEY`] |
//! | Ciputra | `/ciputra` | [`ciputra::API_KEY`], [`ciputra::API_SECRET`]; tokens live [`ciputra::DEFAULT_TOKEN_LIFETIME`] unless [`SandboxBuilder::ciputra_token_lifetime`] says otherwise |
//!
//! Each gateway's module documents its routes, states and webhooks.
//!
//! Three ways to run it:
//!
//! - in-process, for tests and examples: [`Sandbox::builder`]`()…`[`start`](SandboxBuilder::start)`()`
//!   gives a [`SandboxHandle`] with the URL to point clients at and the controls
//!   ([`pay`](Sandbox::pay), [`expire`](Sandbox::expire),
//!   [`deliveries`](Sandbox::deliveries));
//! - as a server: [`SandboxBuilder::serve`] (what `gerbang sandbox serve` runs), driven over HTTP
//!   through the control API under `/_sandbox` (see below);
//! - mounted in your own axum application: [`Sandbox::router`].
//!
//! Served by itself, it is bounded, so that it can be left running on a laptop or a CI machine:
//! at most [`DEFAULT_MAX_CONNECTIONS`] connections open at once (past it, the connection that
//! has waited longest for a request head is closed to admit a new one; see `gerbang-server`),
//! [`DEFAULT_HEADER_READ_TIMEOUT`] for a client to send a request's headers,
//! [`DEFAULT_IDLE_TIMEOUT`] for a connection on which no byte moves, and
//! [`DEFAULT_MAX_PAYMENTS`] payments kept per gateway (the oldest forgotten first); each is set
//! on the [`SandboxBuilder`]. The links in its answers (checkout pages, QR images) start with its
//! own address, or [`SandboxBuilder::public_url`], never with the request's `Host` header.
//!
//! The dashboard, at the root of the same port (`http://127.0.0.1:PORT/`): every payment of
//! every gateway, newest first, filtered by gateway and state and kept up to date while open; a
//! page per payment with its history and every webhook attempt (URL, request headers and body,
//! the receiver's status and answer, time) and buttons that pay, expire, fail or cancel it and
//! resend, duplicate or drop its webhook; the faults; the clock; the gateways' base URLs and test
//! keys. Server-rendered HTML, a small stylesheet and script, no build step; every button is a
//! form that works without JavaScript.
//!
//! Control API, on the same port:
//!
//! | route | answer |
//! |---|---|
//! | `POST /_sandbox/{provider}/payments/{reference}/pay[?copies=&spacing_ms=&delay_ms=&drop=]` | 200 `{"provider","reference","status":"paid"}`; 404 unknown; 409 not pending; 400 a bad plan |
//! | `POST /_sandbox/{provider}/payments/{reference}/expire[?plan]` | the same, `"status":"expired"` |
//! | `POST /_sandbox/{provider}/payments/{reference}/fail[?plan]` | the same, `"status":"failed"` (Cash In); 409 where payments cannot fail |
//! | `POST /_sandbox/{provider}/payments/{reference}/webhook[?status=][&plan]` | sends the webhook of state `status` (`pending`, `paid`, `expired`, `cancelled`, `failed`; default the payment's current state), made now, without moving the payment: 200 `{"provider","reference","status"}`; 404 unknown; 409 no webhook for that state, or no URL to send it to |
//! | `POST /_sandbox/{provider}/payments/{reference}/cancel` | cancels it as the merchant's cancel call would (QRIS: it then reads `"status":"expired"`; Ciputra: `"cancelled"`); no webhook; 409 where the gateway has no cancel |
//! | `GET /_sandbox/payments[?gateway=&state=]` | every payment of every gateway, newest first, with its history: a JSON list of [`PaymentSummary`]; 400 an unknown gateway or state |
//! | `GET /_sandbox/payments/{provider}/{reference}` | one [`PaymentSummary`], with `deliveries`: every webhook attempt of it; 404 unknown |
//! | `GET /_sandbox/clock` | `{"now","offset_seconds"}`: the sandbox's time, and how far time travel moved it |
//! | `POST /_sandbox/clock/advance?by=2h` | time travel ([`Sandbox::advance_clock`]): `{"now","offset_seconds","expired":[{"provider","reference"}]}`; 400 a bad or too long `by` |
//! | `POST /_sandbox/faults`, JSON [`Fault`] `{gateway, operation, action, status?, body?, delay_ms?, retry_after?, times?}` | 201 the fault held (`id`, `hits`, `remaining`); 400 naming every problem |
//! | `GET /_sandbox/faults` | the faults held, oldest first |
//! | `DELETE /_sandbox/faults`, `DELETE /_sandbox/faults/{id}` | `{"cleared": N}`; 404 an unknown id |
//! | `POST /_sandbox/qris/withdrawals/{id}/approve` | 200 `{"provider","withdraw_id","status":"success"}`; 404 unknown; 409 not pending |
//! | `POST /_sandbox/qris/withdrawals/{id}/reject[?note=]` | the same, `"status":"rejected"`; the amount and fee go back to the balance |
//! | `GET /_sandbox/deliveries` | every webhook attempt, a JSON list of [`Delivery`] |
//! | `GET /_sandbox/version` | `{"version": "…"}`: changes whenever anything the dashboard shows changes (what its script polls) |
//! | `GET /_sandbox/keys` | every gateway's test credentials as this sandbox checks and signs with them: `{"cuan10pay":{"api_key","private_key"},"cashin":{"client_id","secret_key","public_key"},"qris":{"api_key"},"crypto-invoice":{"public_key","private_key"},"ciputra":{"api_key","api_secret"}}`; Cash In's `public_key` (PEM) is made per process, so a verifier of another process must take it from here (what `gerbang sandbox env` does) |
//! | `GET /_sandbox/health` | `{"status":"ok","emulated":["cuan10pay","cashin","qris","crypto-invoice","ciputra"]}` |
//!
//! Web pages cannot drive it (one layer in front of every route): it answers only requests that
//! name a host it serves (`localhost`, an IP address, the host of
//! [`SandboxBuilder::public_url`]; else 421, which defeats DNS rebinding); it refuses a change
//! (any method but GET, HEAD, OPTIONS) to the control API or the dashboard that a browser says
//! comes from another site (`Sec-Fetch-Site: cross-site`, or an `Origin` that is not its own;
//! 403); and the control API takes only `Content-Type: application/json` bodies (415), which a
//! page cannot send without a CORS preflight the sandbox never grants. curl, the SDK and
//! `gerbang sandbox …` send no `Origin` and are obeyed.
//!
//! `{reference}` is any of the payment's ids, tried in this order: the sandbox's key
//! ([`PaymentSummary::reference`]), the gateway's id for it, or the merchant's reference (QRIS
//! invoices have none). A merchant reference several payments carry is a 409 listing their keys;
//! an unknown id, a 404 naming the ids the gateway takes. Answers name the payment by its key.
//!
//! `?plan` is a [`DeliveryPlan`] as a query, each parameter optional: `copies` (default 1),
//! `spacing_ms` (0: the copies at once, concurrently), `delay_ms` (0), `drop` (`false`). The
//! same from Rust: [`Sandbox::pay_with`], [`expire_with`](Sandbox::expire_with),
//! [`fail_with`](Sandbox::fail_with), [`send_webhook`](Sandbox::send_webhook) and
//! [`resend_webhook`](Sandbox::resend_webhook).
//!
//! Faults, for a merchant's error handling: one layer in front of every gateway answers a
//! gateway's operation (`create`, `status`, `cancel`, … or `any`) with a given status and body,
//! late, never, without an answer (`cut`: not handled; `cut_after`: handled, then the answer
//! lost), or with a 429, for `times` calls or until cleared ([`Fault`],
//! [`Sandbox::inject_fault`]). The operations of each gateway:
//!
//! | gateway | operations |
//! |---|---|
//! | Cuan10pay | `create`, `status`, `invoice_status`, `ppob_products`, `ppob_order`, `smm_services`, `smm_order`, `voucher_products`, `voucher_order` |
//! | Cash In | `create`, `status` |
//! | QRIS | `create`, `status`, `cancel`, `balance`, `withdraw`, `withdraw_status`, `withdraw_history` |
//! | Crypto invoices | `create` (`create_invoice`), `status` (`get_invoices`) |
//! | Ciputra | `token`, `create` (`/transaction` with `action=charge`), `cancel` (`action=cancel`), `registration` (`action=registration`), `status`, `registration_status` |
//!
//! Time travel: [`Sandbox::advance_clock`] (`POST /_sandbox/clock/advance?by=2h`) moves the
//! sandbox's clock forward and expires what is due, sending the webhooks the gateways send for
//! it; signed timestamps stay on real time (see the method).
//!
//! What a merchant's webhook handler has to survive, played on purpose: the same webhook
//! several times and concurrently (`copies`), to several replicas of the receiver in turn
//! ([`SandboxBuilder::webhook_url`] called once per replica), out of order (`delay_ms` on one
//! payment; or `webhook?status=pending` after a payment is paid), or lost (`drop=true`, for
//! reconciliation to find the payment; `webhook` without `status` resends it afterwards). Every
//! attempt is recorded, with its copy and attempt numbers, URL, and the receiver's status and
//! answer, or why it got none.
//!
//! ```no_run
//! use gerbang_core::ProviderId;
//! use gerbang_sandbox::Sandbox;
//!
//! # async fn run() -> std::io::Result<()> {
//! let sandbox = Sandbox::builder()
//!     .webhook_url(ProviderId::Cuan10pay, "http://127.0.0.1:3000/webhooks/cuan10pay")
//!     .start()
//!     .await?;
//! println!("Cuan10pay base URL: {}", sandbox.base_url(ProviderId::Cuan10pay));
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod bounded;
pub mod cashin;
pub mod ciputra;
mod clock;
mod control;
pub mod crypto_invoice;
pub mod cuan10pay;
mod dashboard;
mod emulated;
mod error;
mod faults;
mod guard;
mod page;
mod payments;
mod plan;
pub mod qris;
mod rate_limit;
mod sandbox;
mod state;
mod webhook;

pub use clock::{ClockAdvance, MAX_CLOCK_ADVANCE};
pub use cuan10pay::{WEBHOOK_ATTEMPTS as CUAN10PAY_WEBHOOK_ATTEMPTS, WEBHOOK_INTERVAL as CUAN10PAY_WEBHOOK_INTERVAL};
pub use error::SandboxError;
pub use faults::{DEFAULT_FAULT_RETRY_AFTER, Fault, FaultAction, InjectedFault, MAX_FAULT_DELAY};
pub use payments::{Cause, PaymentEvent, PaymentSummary};
pub use plan::{DeliveryPlan, MAX_COPIES, MAX_PLAN_WAIT};
pub use sandbox::{
    DEFAULT_HEADER_READ_TIMEOUT, DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_PAYMENTS, Sandbox,
    SandboxBuilder, SandboxHandle,
};
pub use state::PaymentState;
pub use webhook::Delivery;

/// Every gateway the sandbox emulates, in the order it lists them: the one place that names
/// them. Each is its module's implementation of [`EmulatedGateway`](emulated::EmulatedGateway)
/// (its prefix and routes, how its payments move, its webhooks, faults, keys and words); the
/// control API, the payments list, the clock, the faults and the dashboard reach a gateway only
/// through this list. A sixth gateway is a module and a line here.
pub(crate) const EMULATED_GATEWAYS: &[&dyn emulated::EmulatedGateway] =
    &[&cuan10pay::Gateway, &cashin::Gateway, &qris::Gateway, &crypto_invoice::Gateway, &ciputra::Gateway];
