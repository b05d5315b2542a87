//! What a gateway's error on a create proves: the one place that decides whether another
//! gateway may be tried.

use gerbang_core::{Capabilities, Error};

use crate::attempt::Outcome;
use crate::circuit::Health;

/// What to do after a create failed at one gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Next {
    /// Nothing exists there: try the next gateway.
    FailOver,
    /// It may exist: look it up by the merchant's reference where the gateway can, else stop.
    LookUp,
    /// Stop here with this error (a store or the ledger refused: nothing to learn elsewhere).
    Stop,
}

/// What `error` from a create at a gateway with `caps` proves: the attempt's outcome, what it
/// says of the gateway's health, and what to do next.
///
/// Fail over only on what proves that no payment exists: the request never reached the gateway;
/// it was refused for its fields or before sending (validation, configuration, an operation the
/// gateway lacks); or the gateway answered a refusal that its own table
/// ([`Capabilities::safe_refusals`]) says creates nothing. Every other answer may hide a payment.
pub(crate) fn classify(error: &Error, caps: &Capabilities) -> (Outcome, Health, Next) {
    if caps.safe_refusals.iter().any(|row| row.refusal.matches(error)) {
        let outcome = if matches!(error, Error::RateLimited { .. }) { Outcome::RateLimited } else { Outcome::Refused };
        // A refusal is an answer: the gateway is up.
        return (outcome, Health::Healthy, Next::FailOver);
    }
    match error {
        // Our own budget refused to send: the gateway knows nothing of it, and nothing was
        // learnt of its health.
        Error::BudgetSpent { .. } => (Outcome::RateLimited, Health::Unproven, Next::FailOver),
        Error::Transport { .. } => (Outcome::NeverReached, Health::Unhealthy, Next::FailOver),
        // Refused for its fields, before sending or by the gateway's validation: a request the
        // gateway will not take creates nothing; so does one never sent.
        Error::Validation { .. } | Error::Invalid { .. } | Error::Unsupported { .. } | Error::Config { .. } => {
            (Outcome::Refused, Health::Unproven, Next::FailOver)
        }
        Error::Store { .. } | Error::ReferenceInUse { .. } => (Outcome::Refused, Health::Unproven, Next::Stop),
        Error::OutcomeUnknown { .. } | Error::Timeout { .. } => (Outcome::Unknown, Health::Unhealthy, Next::LookUp),
        Error::Api { status: Some(status), .. } if *status >= 500 => {
            (Outcome::Unknown, Health::Unhealthy, Next::LookUp)
        }
        // A refusal the gateway's document does not say creates nothing (a 4xx, a 429 of a
        // gateway that documents none): the payment may exist.
        Error::Api { status: Some(_), .. }
        | Error::Unauthorized { .. }
        | Error::NotFound { .. }
        | Error::RateLimited { .. } => (Outcome::Refused, Health::Healthy, Next::LookUp),
        // An unreadable answer, a redirect, an error without a status, and anything new: it may
        // exist.
        _ => (Outcome::Unknown, Health::Unproven, Next::LookUp),
    }
}

#[cfg(test)]
mod tests {
    use gerbang_core::{Refusal, SafeRefusal, WebhookSupport};

    use super::*;

    const TABLE: &[SafeRefusal] =
        &[SafeRefusal::new(Refusal::Status(400), "test"), SafeRefusal::new(Refusal::RateLimited, "test")];

    fn api(status: u16) -> Error {
        Error::Api { status: Some(status), code: None, message: "x".into() }
    }

    #[test]
    fn only_what_proves_nothing_exists_fails_over() {
        let with_table = Capabilities::new(WebhookSupport::Signed).with_safe_refusals(TABLE);
        let without = Capabilities::new(WebhookSupport::Signed);
        let lost = Error::OutcomeUnknown { operation: "c".into(), reason: "r".into(), reference: None, lookup: None };
        let limited = Error::RateLimited { retry_after: None };
        let spent = Error::BudgetSpent { retry_after: None };
        let cases = [
            (Error::Transport { message: "refused".into() }, &without, Outcome::NeverReached, Next::FailOver),
            (Error::validation("amount", "too small"), &without, Outcome::Refused, Next::FailOver),
            (api(400), &with_table, Outcome::Refused, Next::FailOver),
            (api(400), &without, Outcome::Refused, Next::LookUp),
            (limited.clone(), &with_table, Outcome::RateLimited, Next::FailOver),
            (limited, &without, Outcome::Refused, Next::LookUp),
            (spent, &without, Outcome::RateLimited, Next::FailOver),
            (api(503), &with_table, Outcome::Unknown, Next::LookUp),
            (lost, &with_table, Outcome::Unknown, Next::LookUp),
            (Error::decode("answer"), &with_table, Outcome::Unknown, Next::LookUp),
            (Error::Store { store: "memory", message: "down".into() }, &with_table, Outcome::Refused, Next::Stop),
        ];
        for (error, caps, outcome, next) in cases {
            let (got_outcome, _, got_next) = classify(&error, caps);
            assert_eq!((got_outcome, got_next), (outcome, next), "{error:?}");
        }
    }
}
