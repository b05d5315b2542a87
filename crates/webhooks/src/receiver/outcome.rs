//! What the receiver did with a delivery, and the answer it sends back.

use gerbang_core::inbox::EventKey;
use gerbang_core::{Ack, Error, WebhookEvent};

use crate::Mismatch;

/// What the receiver did with a delivery, for logs, metrics and tests. The HTTP answer is in
/// [`Delivery`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Outcome {
    /// A new event: the handler was called and succeeded; the event is done.
    Handled(Box<WebhookEvent>),
    /// An event already handled: acknowledged, the handler not called.
    Duplicate(EventKey),
    /// An event another delivery was still handling after the
    /// [in-flight wait](crate::ReceiverBuilder::in_flight_wait): answered 503 so that the gateway
    /// delivers it again later.
    InFlight(EventKey),
    /// The handler failed: the claim was released and the gateway answered 500, so that it
    /// delivers the event again. The handler's message.
    HandlerFailed(EventKey, String),
    /// A paid event that disagrees with the ledger: given to
    /// [`Handler::mismatch`](crate::Handler::mismatch), not to `handle`; acknowledged (the
    /// delivery itself was genuine, and a retry would say the same).
    Mismatch(Box<Mismatch>),
    /// The webhook failed verification (or is malformed, or names a payment the gateway, or a
    /// ledger that must know every payment, does not have): the gateway's own rejection, a 4xx.
    /// The error is its [verification failure](Error::is_verification_failure); the answer's
    /// body never repeats it.
    Rejected(Error),
    /// The webhook could not be verified for a reason that is not its own (the status call that
    /// confirms an unsigned callback failed or was over its budget, its token could not be
    /// had, a configuration is missing): answered 5xx (503 by default) so that the gateway
    /// delivers it again. Nothing was decided. The error, with its detail, is here and in the
    /// log, never in the answer.
    VerifyUnavailable(Error),
    /// The inbox could not be reached: answered 503, nothing decided.
    StoreFailed(Error),
    /// No gateway of that name is configured here: 404.
    UnknownGateway(String),
    /// The receiver was [draining](crate::Receiver::drain) and its deadline came before this delivery
    /// finished: its verification or handler was stopped where it stood, its claim (if it had
    /// claimed the event: the key) given back, and the gateway answered 503 so that it delivers
    /// the event again, to a replica that takes it at once.
    Drained(Option<EventKey>),
    /// Not a POST: 405.
    MethodNotAllowed,
}

impl Outcome {
    /// The outcome's name, as in the logs' `outcome` field and the `outcome` label of
    /// `gerbang_webhook_deliveries_total`: `handled`, `duplicate`, `in_flight`, `handler_failed`,
    /// `mismatch`, `rejected`, `verify_unavailable`, `store_failed`, `unknown_gateway`, `drained`,
    /// `method_not_allowed`.
    pub const fn as_str(&self) -> &'static str {
        match self {
            Self::Handled(_) => "handled",
            Self::Duplicate(_) => "duplicate",
            Self::InFlight(_) => "in_flight",
            Self::HandlerFailed(..) => "handler_failed",
            Self::Mismatch(_) => "mismatch",
            Self::Rejected(_) => "rejected",
            Self::VerifyUnavailable(_) => "verify_unavailable",
            Self::StoreFailed(_) => "store_failed",
            Self::UnknownGateway(_) => "unknown_gateway",
            Self::Drained(_) => "drained",
            Self::MethodNotAllowed => "method_not_allowed",
        }
    }
}

/// The answer to send back to the gateway, and what happened.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    /// The HTTP answer: status, body and content type.
    pub ack: Ack,
    /// What the receiver did.
    pub outcome: Outcome,
}

impl Delivery {
    pub(crate) fn new(ack: Ack, outcome: Outcome) -> Self {
        Self { ack, outcome }
    }
}
