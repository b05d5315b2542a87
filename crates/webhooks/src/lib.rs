//! A webhook receiver for every gerbang gateway, safe with many replicas.
//!
//! Give a [`Receiver`] the gateways' clients, an [`Inbox`](gerbang_core::inbox::Inbox) and your
//! [`Handler`]; hand it each webhook as it arrives (gateway name, method, path, headers, raw
//! body) and send back the [`Delivery`] it returns. For each delivery it:
//!
//! 1. refuses a body over [`MAX_WEBHOOK_BODY_BYTES`](gerbang_core::MAX_WEBHOOK_BODY_BYTES);
//! 2. verifies the raw bytes with the gateway's own scheme (a forged or stale webhook gets the
//!    gateway's rejection, a 4xx with a generic body, and never reaches the handler; a webhook
//!    that could not be verified for a reason of the merchant's side, such as Ciputra's
//!    confirming status call failing, gets a 503 so that the gateway delivers it again:
//!    [`Outcome::VerifyUnavailable`]);
//! 3. claims the event's [`EventKey`](gerbang_core::inbox::EventKey) in the inbox with a lease;
//! 4. calls the handler **once per event**: a duplicate gets the success ack and no call; a
//!    delivery of an event another replica is handling right now waits for it (3 s by default)
//!    and then gets the success ack, or a 503 if it is still not done, so the gateway tries again
//!    later; a handler that fails releases the claim and answers 500, so the gateway's retry is
//!    handled;
//! 5. answers with the exact ack the gateway expects (Cash In's SNAP JSON, a plain 200 elsewhere).
//!
//! What is guaranteed: at most one handler call per event while its lease holds (default 30 s:
//! keep handlers shorter, or raise it), at least one overall while the inbox keeps its data and
//! the gateway keeps retrying. A replica that dies mid-handler leaves a claim that expires with
//! its lease; the next delivery is handled by whoever gets it.
//!
//! ```
//! use std::sync::Arc;
//! use gerbang_core::inbox::MemoryInbox;
//! use gerbang_webhooks::{Receiver, handler_fn};
//!
//! # fn gateways() -> Vec<Arc<dyn gerbang_core::PaymentProvider>> { Vec::new() }
//! let receiver = Receiver::builder(Arc::new(MemoryInbox::new()))
//!     .providers(gateways())
//!     .build(handler_fn(|event| async move {
//!         println!("{} is now {}", event.dedup_key()?, event.status);
//!         // Mark the order paid here. An error makes the gateway deliver it again.
//!         Ok::<(), gerbang_core::Error>(())
//!     }));
//! # let _ = receiver;
//! ```
//!
//! With the `axum` feature, [`router`] serves `POST /webhooks/{gateway}` for
//! every gateway given, and [`health`] `GET /healthz` and `GET /readyz` for probes.
//!
//! To stop it gracefully (SIGTERM), [`Receiver::drain`] lets the deliveries under way finish
//! up to a deadline, then releases the claims of those still running, so that another replica
//! handles the gateway's next copy at once.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod drain;
mod handler;
mod health;
mod mismatch;
pub mod outbox;
mod receiver;
#[cfg(feature = "axum")]
mod router;
mod trace;

pub use drain::Drained;
pub use handler::{Handler, HandlerError, HandlerFn, handler_fn};
pub use health::{READINESS_CACHE, READINESS_TIMEOUT, Readiness, StoreCheck, liveness_json};
#[cfg(feature = "axum")]
pub use health::{health, liveness_response};
pub use mismatch::{Mismatch, MismatchKind};
pub use receiver::{DEFAULT_IN_FLIGHT_WAIT, DEFAULT_LEASE, Delivery, Outcome, Receiver, ReceiverBuilder};
#[cfg(feature = "axum")]
pub use router::router;
