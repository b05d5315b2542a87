//! The one error type every gateway crate returns.

use std::time::Duration;

use crate::ledger::WatchState;
use crate::{LookupKey, ProviderId};

/// Everything that can go wrong talking to a gateway or checking what it sent.
///
/// Messages say what was wrong and what to do about it. They never hold a secret, a URL (a query
/// string may carry an API key), or a customer's phone number or e-mail: the gateway's own message
/// is kept because it is the most useful thing to show, but a gateway or a proxy may echo the
/// request, so its text is scrubbed of the call's credentials and the customer's e-mail and phone
/// first ([`Redactions`](crate::Redactions)).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The request never reached the gateway (DNS, connection refused, TLS, a connect timeout):
    /// nothing was sent, so nothing happened there and the call can be made again.
    #[error("could not reach the gateway: {message}; check the base URL and the network")]
    Transport {
        /// What failed, without the URL.
        message: String,
    },
    /// A look-up (a call that is safe to repeat) got no answer within the configured timeout.
    /// A call that changes something is [`Error::OutcomeUnknown`] instead.
    #[error("{operation} timed out; it is a look-up, safe to repeat")]
    Timeout {
        /// The operation that timed out (`deposit_status`, …).
        operation: String,
    },
    /// The request went out but its answer never came (a read timeout, the connection closed
    /// mid-answer, a truncated body): the gateway may have acted on it. **Do not send a create
    /// again before checking** whether the payment exists; the message says how, for this
    /// gateway. Never returned for a call that was not sent (that is [`Error::Transport`]).
    #[error(
        "{operation}{}: the request was sent but its answer was lost ({reason}), so whether the gateway acted on it is unknown; {}",
        reference.as_ref().map(|r| format!(" for {r}")).unwrap_or_default(),
        outcome_unknown_advice(reference.as_deref(), *lookup)
    )]
    OutcomeUnknown {
        /// The operation (`deposit_create`, …).
        operation: String,
        /// What happened to the answer, without the URL.
        reason: String,
        /// The merchant's reference of the payment the call was about, when it is known.
        reference: Option<String>,
        /// Which id the gateway looks payments up by, when the call created a payment.
        lookup: Option<LookupKey>,
    },
    /// The gateway (or something in front of it) answered with a redirect. None is followed: a
    /// redirect would carry the API key, the signature and the body to another place, and no
    /// gateway documents one.
    #[error(
        "{operation}: the gateway answered with a redirect (HTTP {status}{}), which gerbang never follows; check the base URL (its scheme, host and path)",
        host.as_ref().map(|h| format!(" to host {h}")).unwrap_or_default()
    )]
    Redirect {
        /// The operation (`deposit_create`, …).
        operation: String,
        /// The 3xx status.
        status: u16,
        /// The host of the `Location` it pointed to (never the whole URL: it may carry a query).
        host: Option<String>,
    },
    /// The gateway answered with an error of its own.
    #[error("the gateway answered{}{}: {message}", status.map(|s| format!(" HTTP {s}")).unwrap_or_default(), code.as_ref().map(|c| format!(" with code {c}")).unwrap_or_default())]
    Api {
        /// The HTTP status, when the error came with one that was not 2xx.
        status: Option<u16>,
        /// The gateway's own error code, when it gives one.
        code: Option<String>,
        /// The gateway's own message, word for word but for what was
        /// [scrubbed](crate::Redactions).
        message: String,
    },
    /// The gateway refused the credentials or the signature of the request.
    #[error(
        "the gateway refused the credentials: {message}; check the API key, the secret and that they belong to this environment"
    )]
    Unauthorized {
        /// The gateway's own message.
        message: String,
    },
    /// Too many requests: the gateway answered 429. Whether it created anything is the
    /// gateway's to say (its document; see `Capabilities::safe_refusals`).
    #[error("rate limit reached{}", retry_after.map(|d| format!("; retry in {} s", d.as_secs().max(1))).unwrap_or_else(|| "; retry later".to_owned()))]
    RateLimited {
        /// How long to wait before the next call, when known.
        retry_after: Option<Duration>,
    },
    /// The client's own rate budget for the gateway is spent ([`RateStore`](crate::rate::RateStore),
    /// in memory or shared in Redis): **nothing was sent**. Unlike [`Error::RateLimited`], this proves
    /// that the gateway knows nothing of the call.
    #[error("this client's rate budget for the gateway is spent, so nothing was sent{}", retry_after.map(|d| format!("; retry in {} s", d.as_secs().max(1))).unwrap_or_else(|| "; retry later".to_owned()))]
    BudgetSpent {
        /// How long until the budget allows the next call, when known.
        retry_after: Option<Duration>,
    },
    /// The gateway does not know the payment or resource asked for.
    #[error("not found: {message}")]
    NotFound {
        /// The gateway's own message.
        message: String,
    },
    /// A value was refused before anything was sent (or by the gateway's validation).
    #[error("invalid {field}: {reason}")]
    Validation {
        /// The field, as the caller knows it (`amount`, `customer.phone`, …).
        field: String,
        /// What is wrong and what is accepted.
        reason: String,
    },
    /// Several values of one request were refused at once, each with its reason: one try finds
    /// every problem. A single problem is [`Error::Validation`]; [`Error::problems`] reads both.
    #[error("invalid request: {}", list_problems(problems))]
    Invalid {
        /// Every refused field, in the order the request was checked.
        problems: Vec<FieldProblem>,
    },
    /// A webhook's signature (or shared key) does not match: do not trust its content.
    #[error("webhook signature is invalid: {reason}")]
    InvalidSignature {
        /// Why, without the expected signature or any key.
        reason: String,
    },
    /// A webhook's timestamp is outside the accepted window: a replay, or a clock far off.
    #[error(
        "webhook timestamp is {skew_seconds} s away from now, outside the {tolerance_seconds} s tolerance; check the server clock"
    )]
    StaleTimestamp {
        /// Timestamp minus now, in seconds (negative: in the past).
        skew_seconds: i64,
        /// The window that was allowed either side of now.
        tolerance_seconds: u64,
    },
    /// An answer or webhook body could not be read as the expected shape.
    #[error("could not decode {context}")]
    Decode {
        /// What was being decoded and what was wrong, with values from the body left out.
        context: String,
    },
    /// The gateway has no such operation.
    #[error("{provider} does not support {operation}")]
    Unsupported {
        /// The gateway.
        provider: ProviderId,
        /// The operation asked for.
        operation: &'static str,
    },
    /// A shared store (the event inbox, the rate budget, the token store: Redis, Postgres) failed
    /// or could not be reached. Nothing was decided: the receiver answers the gateway non-2xx so
    /// that it delivers again. It may work later (`webhook serve` waits for such a store at
    /// start); a store that *refuses* (a wrong password, an unknown database) is
    /// [`Error::Config`] instead.
    #[error("the {store} store failed: {message}; check that it is up and reachable")]
    Store {
        /// Which store (`redis`, `postgres`, `memory`).
        store: &'static str,
        /// What failed, without a connection string or password.
        message: String,
    },
    /// A create refused before it was sent: the [ledger](crate::ledger) already holds a payment
    /// with this merchant reference at this gateway (a [`Watched`](crate::ledger::Watched)
    /// create). A reference names one payment: a second create would overwrite the first's
    /// record (leaving it unwatched) or go out unrecorded. Where the earlier create's outcome is
    /// not known (`creating`, `unknown`), the payment may exist and a second create could charge
    /// the customer twice: look it up instead. Names the payment, never its customer.
    #[error(
        "{provider} payment {reference} is already in the ledger as `{state}`, so it was not sent again; {}",
        reference_in_use_advice(reference, *state, lookup_id.as_deref())
    )]
    ReferenceInUse {
        /// The gateway.
        provider: ProviderId,
        /// The merchant's reference.
        reference: String,
        /// Where the payment the ledger holds stands.
        state: WatchState,
        /// The id to look that payment up by (the gateway's
        /// [lookup key](crate::Capabilities::lookup)), when the ledger knows it.
        lookup_id: Option<String>,
    },
    /// The client's configuration is missing or malformed.
    #[error("configuration error: {message}")]
    Config {
        /// What is wrong; names an environment variable, never its value.
        message: String,
    },
}

/// One refused field of a request: see [`Error::Invalid`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldProblem {
    /// The field, as the caller knows it (`amount`, `customer.phone`, …).
    pub field: String,
    /// What is wrong and what is accepted.
    pub reason: String,
}

fn list_problems(problems: &[FieldProblem]) -> String {
    let each: Vec<String> = problems.iter().map(|p| format!("{}: {}", p.field, p.reason)).collect();
    each.join("; ")
}

/// Collects the validation problems of a request so that all are reported at once.
///
/// ```
/// use gerbang_core::{Error, Problems};
///
/// let mut problems = Problems::new();
/// let id: Option<&str> = problems.check(Err(Error::validation("customer.id", "required")));
/// let phone: Option<&str> = problems.check(Err(Error::validation("customer.phone", "required")));
/// let amount = problems.check(Ok::<u64, Error>(50_000));
/// assert_eq!((id, phone, amount), (None, None, Some(50_000)));
/// let error = problems.finish().unwrap_err();
/// assert_eq!(error.problems(), [("customer.id", "required"), ("customer.phone", "required")]);
/// ```
#[derive(Debug, Default)]
pub struct Problems {
    found: Vec<FieldProblem>,
    other: Option<Error>,
}

impl Problems {
    /// None found yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The value of `result`, or `None` after noting its problem: a validation problem joins the
    /// list; any other error is kept (the first one) and wins in [`finish`](Self::finish).
    pub fn check<T>(&mut self, result: Result<T, Error>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(Error::Validation { field, reason }) => {
                self.found.push(FieldProblem { field, reason });
                None
            }
            Err(Error::Invalid { problems }) => {
                self.found.extend(problems);
                None
            }
            Err(other) => {
                self.other.get_or_insert(other);
                None
            }
        }
    }

    /// Notes a problem of `field`.
    pub fn add(&mut self, field: impl Into<String>, reason: impl Into<String>) {
        self.found.push(FieldProblem { field: field.into(), reason: reason.into() });
    }

    /// `Ok` when nothing was found; else the first error that was not about a field, else
    /// [`Error::Validation`] for one problem, [`Error::Invalid`] for more.
    pub fn finish(mut self) -> Result<(), Error> {
        if let Some(other) = self.other {
            return Err(other);
        }
        match self.found.len() {
            0 => Ok(()),
            1 => {
                let FieldProblem { field, reason } = self.found.remove(0);
                Err(Error::Validation { field, reason })
            }
            _ => Err(Error::Invalid { problems: self.found }),
        }
    }
}

impl Error {
    /// The refused fields and their reasons: one for [`Error::Validation`], each of
    /// [`Error::Invalid`], none for any other error.
    pub fn problems(&self) -> Vec<(&str, &str)> {
        match self {
            Self::Validation { field, reason } => vec![(field.as_str(), reason.as_str())],
            Self::Invalid { problems } => problems.iter().map(|p| (p.field.as_str(), p.reason.as_str())).collect(),
            _ => Vec::new(),
        }
    }

    /// The same error with each refused field renamed by `rename` (a command line names its
    /// flags, `--customer-id`, where the SDK names `customer.id`); any other error as it is.
    #[must_use]
    pub fn rename_fields(self, rename: impl Fn(&str) -> Option<String>) -> Self {
        let renamed = |field: String| rename(&field).unwrap_or(field);
        match self {
            Self::Validation { field, reason } => Self::Validation { field: renamed(field), reason },
            Self::Invalid { problems } => Self::Invalid {
                problems: problems
                    .into_iter()
                    .map(|p| FieldProblem { field: renamed(p.field), reason: p.reason })
                    .collect(),
            },
            other => other,
        }
    }

    /// A [`Error::Validation`] for `field`.
    pub fn validation(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Validation { field: field.into(), reason: reason.into() }
    }

    /// A [`Error::Config`].
    pub fn config(message: impl Into<String>) -> Self {
        Self::Config { message: message.into() }
    }

    /// A [`Error::InvalidSignature`].
    pub fn invalid_signature(reason: impl Into<String>) -> Self {
        Self::InvalidSignature { reason: reason.into() }
    }

    /// A [`Error::Decode`] with a plain context.
    pub fn decode(context: impl Into<String>) -> Self {
        Self::Decode { context: context.into() }
    }

    /// A [`Error::Decode`] from a serde_json error, for `what` (`"deposit_status answer"`).
    ///
    /// serde_json quotes offending values (`invalid type: string "a@b.c"`); those could be a
    /// customer's details, so every quoted part is replaced by `"…"`. Field names (in backticks),
    /// the kind of problem and its position are kept.
    pub fn decode_json(what: &str, err: &serde_json::Error) -> Self {
        Self::Decode { context: format!("{what}: {}", redact_quoted(&err.to_string())) }
    }

    /// The same error, told which payment the call was about: an [`Error::OutcomeUnknown`] from
    /// creating the payment `reference` then says how to find out whether it exists, given the
    /// id the gateway looks payments up by. Any other error is returned as it is.
    ///
    /// ```
    /// use gerbang_core::{Error, LookupKey};
    /// let lost = Error::OutcomeUnknown {
    ///     operation: "payment".into(),
    ///     reason: "no answer within 30 s".into(),
    ///     reference: None,
    ///     lookup: None,
    /// };
    /// let message = lost.about_payment("ORDER-1", LookupKey::Reference).to_string();
    /// assert!(message.contains("status ORDER-1"), "{message}");
    /// ```
    #[must_use]
    pub fn about_payment(self, reference: &str, lookup: LookupKey) -> Self {
        match self {
            Self::OutcomeUnknown { operation, reason, .. } => {
                Self::OutcomeUnknown { operation, reason, reference: Some(reference.to_owned()), lookup: Some(lookup) }
            }
            other => other,
        }
    }

    /// The same error, where it is [`Error::NotFound`], with `hint` added to its message: which
    /// id the gateway looks payments up by and where the caller got it (a merchant's reference
    /// given where the gateway's own id was wanted is the usual cause). Any other error as it is.
    ///
    /// ```
    /// use gerbang_core::Error;
    /// let error = Error::NotFound { message: "Deposit not found".into() };
    /// let error = error.with_lookup_hint("look deposits up by their deposit_id");
    /// assert_eq!(error.to_string(), "not found: Deposit not found; look deposits up by their deposit_id");
    /// ```
    #[must_use]
    pub fn with_lookup_hint(self, hint: &str) -> Self {
        match self {
            Self::NotFound { message } => Self::NotFound { message: format!("{message}; {hint}") },
            other => other,
        }
    }

    /// The HTTP status the gateway answered with, if any.
    pub fn http_status(&self) -> Option<u16> {
        match self {
            Self::Api { status, .. } => *status,
            Self::Unauthorized { .. } => Some(401),
            Self::NotFound { .. } => Some(404),
            Self::RateLimited { .. } => Some(429),
            Self::Redirect { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Whether repeating the same call later may succeed (the gateway not reached, a look-up's
    /// timeout, rate limits, 5xx). [`Error::OutcomeUnknown`] is not: repeating a create whose
    /// answer was lost may create the payment twice; check its status first.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Transport { .. }
            | Self::Timeout { .. }
            | Self::RateLimited { .. }
            | Self::BudgetSpent { .. }
            | Self::Store { .. } => true,
            // A 429 that reached us as an Api error is a rate limit all the same.
            Self::Api { status: Some(s), .. } => *s >= 500 || *s == 429,
            _ => false,
        }
    }

    /// Whether a webhook whose verification failed with this error is itself at fault: forged,
    /// stale, malformed, or naming a payment the gateway does not have. Such a webhook gets the
    /// gateway's rejection (4xx): delivering it again would fail the same way.
    ///
    /// Anything else failed on the receiver's side or on its way to the gateway, not in the
    /// webhook: a store, the status call that confirms an unsigned callback, the bearer token of
    /// that call, the configuration, a [transient](Self::is_transient) error. Those are answered
    /// 5xx so that the gateway delivers the webhook again; a genuine payment refused with a 4xx
    /// would never be delivered again.
    ///
    /// ```
    /// use gerbang_core::Error;
    /// assert!(Error::invalid_signature("does not match").is_verification_failure());
    /// assert!(Error::NotFound { message: "Transaction not found".into() }.is_verification_failure());
    /// assert!(!Error::Api { status: Some(503), code: None, message: "down".into() }.is_verification_failure());
    /// assert!(!Error::Unauthorized { message: "token refused".into() }.is_verification_failure());
    /// ```
    pub fn is_verification_failure(&self) -> bool {
        if self.is_transient() {
            return false;
        }
        // Every variant named, so that a new one has to be placed on one side or the other.
        match self {
            Self::InvalidSignature { .. }
            | Self::StaleTimestamp { .. }
            | Self::Decode { .. }
            | Self::Validation { .. }
            | Self::Invalid { .. }
            | Self::NotFound { .. }
            | Self::Unsupported { .. } => true,
            // The gateway refused the confirming look-up itself (an unknown id, a refused field),
            // unless it refused our credentials (401, 403) or our own proxy (407) or timed out (408).
            Self::Api { status, .. } => !matches!(status, Some(401 | 403 | 407 | 408)),
            Self::Transport { .. }
            | Self::Timeout { .. }
            | Self::OutcomeUnknown { .. }
            | Self::Redirect { .. }
            | Self::Unauthorized { .. }
            | Self::RateLimited { .. }
            | Self::BudgetSpent { .. }
            | Self::Store { .. }
            // The merchant's own ledger refusing a create: never the webhook's doing.
            | Self::ReferenceInUse { .. }
            | Self::Config { .. } => false,
        }
    }
}

/// What to do after [`Error::OutcomeUnknown`], by what is known of the payment.
fn outcome_unknown_advice(reference: Option<&str>, lookup: Option<LookupKey>) -> String {
    match (reference, lookup) {
        (Some(reference), Some(LookupKey::Reference)) => format!(
            "the payment may exist: check with `status {reference}` (this gateway looks payments up by your reference) before creating it again"
        ),
        (Some(reference), Some(LookupKey::ProviderReference)) => format!(
            "the payment may exist, and this gateway finds payments only by its own id, which was in the lost answer: look for {reference} in the gateway's dashboard before creating it again"
        ),
        _ => "check whether it took effect before sending it again".to_owned(),
    }
}

/// What to do after [`Error::ReferenceInUse`], by the state of the payment the ledger holds.
fn reference_in_use_advice(reference: &str, state: WatchState, lookup_id: Option<&str>) -> String {
    let look_up = match lookup_id {
        Some(id) => format!("look it up with `status {id}`"),
        None => format!("look for {reference} in the gateway's dashboard"),
    };
    match state {
        WatchState::Creating | WatchState::Unknown => format!(
            "its create was sent and its outcome is not known, so it may exist: creating it again could charge the customer twice; {look_up} instead"
        ),
        WatchState::Pending => {
            format!("it is awaiting payment: {look_up}, or give a new payment a reference of its own")
        }
        _ => "a reference names one payment: give a new payment a reference of its own".to_owned(),
    }
}

fn redact_quoted(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut in_quotes = false;
    for c in message.chars() {
        match (c, in_quotes) {
            ('"', false) => {
                out.push_str("\"…");
                in_quotes = true;
            }
            ('"', true) => {
                out.push('"');
                in_quotes = false;
            }
            (_, true) => {}
            (c, false) => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_json_hides_values_but_keeps_field_names() {
        let err = serde_json::from_str::<u64>("\"budi@example.com\"").unwrap_err();
        let msg = Error::decode_json("deposit answer", &err).to_string();
        assert!(!msg.contains("budi"), "{msg}");
        assert!(msg.contains("invalid type"), "{msg}");

        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Needs {
            data: u8,
        }
        let err = serde_json::from_str::<Needs>("{}").unwrap_err();
        assert!(Error::decode_json("x", &err).to_string().contains("missing field `data`"));
    }

    #[test]
    fn api_error_display_keeps_status_code_and_message() {
        let e = Error::Api { status: Some(400), code: Some("E12".into()), message: "Saldo tidak cukup".into() };
        assert_eq!(e.to_string(), "the gateway answered HTTP 400 with code E12: Saldo tidak cukup");
        let e = Error::Api { status: None, code: Some("05".into()), message: "Failed".into() };
        assert_eq!(e.to_string(), "the gateway answered with code 05: Failed");
    }
}
