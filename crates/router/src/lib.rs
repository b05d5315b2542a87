//! The gerbang router: one [`PaymentProvider`](gerbang_core::PaymentProvider) over several
//! gateways that fails over **only when the payment provably does not exist** at the gateway just
//! tried, so that a customer is never charged twice because an answer was lost.
//!
//! ```no_run
//! use std::sync::Arc;
//! use gerbang_core::{ChannelKind, Money, PaymentProvider, PaymentRequest, ProviderId};
//! use gerbang_router::{Router, Rule};
//!
//! # async fn run(cuan10pay: Arc<dyn PaymentProvider>, qris: Arc<dyn PaymentProvider>) -> Result<(), Box<dyn std::error::Error>> {
//! let router = Router::builder()
//!     .gateway(cuan10pay)
//!     .gateway(qris)
//!     .rule(Rule::new([ProviderId::Cuan10pay, ProviderId::Qris]).channel(ChannelKind::Qris))
//!     .build()?;
//! let request = PaymentRequest::builder("ORDER-1", Money::idr(50_000)).channel("qris".parse()?).build()?;
//! let routed = router.route(&request).await?;
//! for attempt in &routed.attempts {
//!     println!("{} {}", attempt.gateway, attempt.outcome);
//! }
//! # Ok(()) }
//! ```
//!
//! # The rules
//!
//! For each candidate of the first [`Rule`] matching the request, in order (the order given, or
//! drawn by weight and seeded by the merchant's reference: [`Rule::weighted`]):
//!
//! 1. **Skipped without a call** when the request is outside the gateway's documented limits
//!    ([`Capabilities::limits`](gerbang_core::Capabilities::limits): amount range, currency,
//!    channels, a field it requires; `skipped_limits`) or its circuit is open (`circuit_open`).
//!    Otherwise it is sent the request **without the fields it has no place for**
//!    ([`CreateLimits::without_refused`](gerbang_core::CreateLimits::without_refused)), which
//!    it would refuse on a direct call; the attempt lists them ([`Attempt::left_out`]).
//! 2. **Created**: that is the payment (`created`).
//! 3. **Failed over** to the next candidate only when nothing exists there: never reached
//!    ([`Error::Transport`](gerbang_core::Error::Transport), `never_reached`); our own rate
//!    budget refusing to send ([`Error::BudgetSpent`](gerbang_core::Error::BudgetSpent),
//!    `rate_limited`); a refusal its document says creates nothing, from its table
//!    ([`Capabilities::safe_refusals`](gerbang_core::Capabilities::safe_refusals), `refused` or
//!    `rate_limited`); a request refused for its fields or never sent (validation,
//!    configuration, an unsupported operation: `refused`).
//! 4. **Otherwise the payment may exist** (the answer lost, a 5xx, an unreadable answer, a
//!    refusal not in the table: `unknown` or `refused`). A gateway that looks payments up by the
//!    merchant's reference is asked: found, that is the payment (`found_by_reference`), and no
//!    other gateway is tried; not found, the next candidate (`not_found_by_reference`). A gateway
//!    that cannot be asked: the route **stops** with its error: never a second gateway.
//!
//! The router knows no gateway by name: it reads each gateway's declared capabilities. Every
//! attempt counts in `gerbang_route_attempts_total{gateway, outcome}`.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod attempt;
mod circuit;
mod classify;
mod router;
mod rule;

pub use attempt::{Attempt, Outcome, RouteError, Routed};
pub use circuit::{Admission, CircuitPolicy, CircuitStore, Health, MemoryCircuitStore};
pub use router::{Router, RouterBuilder};
pub use rule::Rule;
