//! What the router did at each gateway: the attempts a route returns, in success and failure.

use std::fmt;

use gerbang_core::{Error, Field, LookupKey, Payment, ProviderId};
use serde::Serialize;

/// What happened at one gateway of a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Outcome {
    /// The gateway created the payment.
    Created,
    /// The request never reached it ([`Error::Transport`]): nothing exists there.
    NeverReached,
    /// Our own rate budget refused to send ([`Error::BudgetSpent`]), or the gateway answered a
    /// 429 its document says refuses the request: nothing exists there.
    RateLimited,
    /// Its circuit is open: not called.
    CircuitOpen,
    /// The request is outside its documented limits (amount, currency, channel): not called.
    SkippedLimits,
    /// It refused the request. Safe to go on only when the refusal is one its document says
    /// creates nothing (its [safe-refusal table](gerbang_core::Capabilities::safe_refusals)), or
    /// a refused field; otherwise it is looked up by reference, or the route stops.
    Refused,
    /// The request was sent and its outcome is unknown (the answer lost, a 5xx, an unreadable
    /// answer): the payment may exist there.
    Unknown,
    /// After an unknown outcome, the gateway found the payment by the merchant's reference:
    /// that is the payment.
    FoundByReference,
    /// After an unknown outcome, the gateway does not know the reference: nothing exists there.
    NotFoundByReference,
}

impl Outcome {
    /// The name used in JSON and logs: `created`, `never_reached`, `rate_limited`,
    /// `circuit_open`, `skipped_limits`, `refused`, `unknown`, `found_by_reference`,
    /// `not_found_by_reference`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::NeverReached => "never_reached",
            Self::RateLimited => "rate_limited",
            Self::CircuitOpen => "circuit_open",
            Self::SkippedLimits => "skipped_limits",
            Self::Refused => "refused",
            Self::Unknown => "unknown",
            Self::FoundByReference => "found_by_reference",
            Self::NotFoundByReference => "not_found_by_reference",
        }
    }

    /// Every outcome, in the order the docs list them.
    pub const ALL: [Self; 9] = [
        Self::Created,
        Self::NeverReached,
        Self::RateLimited,
        Self::CircuitOpen,
        Self::SkippedLimits,
        Self::Refused,
        Self::Unknown,
        Self::FoundByReference,
        Self::NotFoundByReference,
    ];
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One step of a route: a gateway and what happened there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Attempt {
    /// The gateway.
    pub gateway: ProviderId,
    /// What happened.
    pub outcome: Outcome,
    /// Why, when it was not a creation: the limit missed or the error's message (which never
    /// holds a secret or a customer's details: see [`Error`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The fields of the request this gateway has no place for, left out of what it was sent
    /// ([`CreateLimits::refused_fields`](gerbang_core::CreateLimits::refused_fields)); JSON
    /// `left_out`, absent when empty.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub left_out: Vec<Field>,
}

impl Attempt {
    pub(crate) fn new(gateway: ProviderId, outcome: Outcome, detail: Option<String>) -> Self {
        Self { gateway, outcome, detail, left_out: Vec::new() }
    }
}

/// A payment created (or found) by a route, with every attempt that led to it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Routed {
    /// The payment; [`Payment::provider`] is the gateway that owns it.
    #[serde(flatten)]
    pub payment: Payment,
    /// Every gateway considered, in order; the last one owns the payment.
    pub attempts: Vec<Attempt>,
    /// The id the owning gateway looks it up by.
    #[serde(skip)]
    pub(crate) lookup: LookupKey,
}

impl Routed {
    /// The id to give [`Router`](crate::Router)'s `payment_status` and `cancel_payment`:
    /// `<gateway>:<id>` (`cashin:ORDER-1`, `cuan10pay:DEP123`), the id being the one the owning
    /// gateway looks payments up by. `None` when the gateway's answer lacked that id.
    pub fn lookup_id(&self) -> Option<String> {
        self.payment.lookup_id(self.lookup).map(|id| format!("{}:{id}", self.payment.provider))
    }
}

/// A route that created nothing (or whose outcome is unknown), with every attempt.
///
/// When [`error`](Self::error) is [`Error::OutcomeUnknown`] the last attempted gateway may hold
/// the payment: its message says how to check; **never create it elsewhere before that**.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RouteError {
    /// Why the route stopped: the error of the gateway it stopped at, or why no gateway could be
    /// tried.
    pub error: Error,
    /// Every gateway considered, in order.
    pub attempts: Vec<Attempt>,
}

impl fmt::Display for RouteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tried: Vec<String> = self.attempts.iter().map(|a| format!("{} {}", a.gateway, a.outcome)).collect();
        if tried.is_empty() {
            write!(f, "{}", self.error)
        } else {
            write!(f, "{} (attempts: {})", self.error, tried.join(", "))
        }
    }
}

impl std::error::Error for RouteError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

impl From<RouteError> for Error {
    fn from(error: RouteError) -> Self {
        error.error
    }
}
