//! The one error type of the sandbox's own API (not the gateways' error answers, which each
//! gateway module writes in that gateway's shape).

use gerbang_core::ProviderId;

use crate::{PaymentState, emulated};

/// Why the sandbox refused a control operation ([`Sandbox::pay`](crate::Sandbox::pay),
/// [`Sandbox::expire`](crate::Sandbox::expire), …).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SandboxError {
    /// The sandbox does not emulate this gateway (yet).
    #[error("the sandbox does not emulate {provider} yet")]
    NotEmulated {
        /// The gateway asked for.
        provider: ProviderId,
    },
    /// No payment of this gateway has this id: neither its sandbox key, nor the gateway's id for
    /// it, nor the merchant's reference. The message names the ids the gateway's payments take.
    #[error("no {provider} payment has the {ids} `{reference}` in this sandbox{hint}", ids = accepted_ids(*provider), hint = unknown_hint(*provider))]
    UnknownPayment {
        /// The gateway.
        provider: ProviderId,
        /// The id asked for, as given.
        reference: String,
    },
    /// A merchant reference that several payments of the gateway carry (a merchant may reuse
    /// one across tries): the sandbox does not pick one.
    #[error(
        "{provider} merchant reference `{reference}` names {count} payments: {list}; pass one of these ids instead",
        count = candidates.len(),
        list = candidates.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", ")
    )]
    AmbiguousReference {
        /// The gateway.
        provider: ProviderId,
        /// The merchant reference asked for.
        reference: String,
        /// The sandbox key ([`PaymentSummary::reference`](crate::PaymentSummary::reference)) of
        /// each payment carrying it, newest first.
        candidates: Vec<String>,
    },
    /// The payment exists but is no longer pending, so it cannot be paid or expired.
    #[error("{provider} payment {reference:?} is {status}; only a pending payment can be paid or expired")]
    NotPending {
        /// The gateway.
        provider: ProviderId,
        /// The payment's reference.
        reference: String,
        /// Its current state.
        status: PaymentState,
    },
    /// The gateway has no such move (a QRIS invoice cannot fail, say).
    #[error("{provider} payments cannot become {target} in this sandbox")]
    UnsupportedTransition {
        /// The gateway.
        provider: ProviderId,
        /// The state asked for.
        target: PaymentState,
    },
    /// The gateway sends no webhook for a payment in this state (Cuan10pay has none for
    /// `failed`, QRIS none at all), so [`Sandbox::send_webhook`](crate::Sandbox::send_webhook)
    /// has nothing to send.
    #[error("{provider} sends no webhook for a payment that is {state}{hint}", hint = no_webhook_hint(*provider))]
    NoWebhook {
        /// The gateway.
        provider: ProviderId,
        /// The state asked for.
        state: PaymentState,
    },
    /// [`Sandbox::send_webhook`](crate::Sandbox::send_webhook) was asked for a webhook with
    /// nowhere to send it: the payment has no callback URL and none is configured for the
    /// gateway.
    #[error(
        "no webhook URL for {provider} payment {reference:?}: configure one (SandboxBuilder::webhook_url, `gerbang sandbox serve --webhook-url {provider}=URL`)"
    )]
    NoWebhookUrl {
        /// The gateway.
        provider: ProviderId,
        /// The payment's reference.
        reference: String,
    },
    /// [`Sandbox::inject_fault`](crate::Sandbox::inject_fault) was given a fault the sandbox
    /// cannot play.
    #[error("the fault was not injected: {reason}")]
    InvalidFault {
        /// Every problem found.
        reason: String,
    },
    /// No fault with this id is held (cleared, or used up).
    #[error("no fault {id:?} is held: it was cleared or used up (GET /_sandbox/faults lists them)")]
    UnknownFault {
        /// The id asked for.
        id: String,
    },
    /// [`Sandbox::advance_clock`](crate::Sandbox::advance_clock) was asked for too long a jump.
    #[error("the sandbox clock did not move: {reason}")]
    ClockRefused {
        /// Why.
        reason: String,
    },
    /// [`Sandbox::wait_for_deliveries`](crate::Sandbox::wait_for_deliveries) gave up.
    #[error("expected at least {expected} webhook deliveries, saw {seen} before the timeout")]
    DeliveriesTimeout {
        /// How many were awaited.
        expected: usize,
        /// How many had been recorded.
        seen: usize,
    },
}

/// What the gateway does send, for [`SandboxError::NoWebhook`].
fn no_webhook_hint(provider: ProviderId) -> &'static str {
    emulated::of(provider).map_or("", |gateway| gateway.webhook_states_hint())
}

/// The ids a control takes for a payment of `provider`, for [`SandboxError::UnknownPayment`]: what
/// [`payments::resolve`](crate::payments) matches (its key, the gateway's id, the merchant's
/// reference), in the gateway's words.
fn accepted_ids(provider: ProviderId) -> &'static str {
    emulated::of(provider).map_or("id", |gateway| gateway.accepted_ids())
}

/// What to do instead, for [`SandboxError::UnknownPayment`].
fn unknown_hint(provider: ProviderId) -> &'static str {
    emulated::of(provider).map_or("; create it first", |gateway| gateway.unknown_hint())
}
