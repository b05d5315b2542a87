//! The one error type of the sandbox's own API (not the gateways' error answers, which each
//! gateway module writes in that gateway's shape).

use gerbang_core::ProviderId;

use crate::PaymentState;

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
    /// No payment with this reference was created in this sandbox.
    #[error("no {provider} payment with reference {reference:?} in this sandbox; create it first")]
    UnknownPayment {
        /// The gateway.
        provider: ProviderId,
        /// The reference asked for.
        reference: String,
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
    match provider {
        ProviderId::Cuan10pay => " (its webhooks: pending, paid, expired)",
        ProviderId::CashIn => " (its notifications: pending, paid, expired, failed)",
        ProviderId::Qris => " (QRIS invoices send no webhook at all: poll their status)",
        ProviderId::CryptoInvoice => " (its one callback is for paid)",
        ProviderId::Ciputra => " (its callbacks: paid, expired)",
        _ => "",
    }
}
