//! What the gateway reported that disagrees with the ledger: never passed on as paid.

use std::fmt;

use gerbang_core::ledger::WatchedPayment;
use gerbang_core::{Money, PaymentStatus, ProviderId, WebhookEvent};

/// A paid event the receiver will not pass to [`Handler::handle`](crate::Handler::handle): it
/// goes to [`Handler::mismatch`](crate::Handler::mismatch) instead, once, and the ledger's record
/// (if any) becomes [`mismatch`](gerbang_core::ledger::WatchState::Mismatch).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Mismatch {
    /// The event as verified.
    pub event: WebhookEvent,
    /// What disagrees.
    pub kind: MismatchKind,
}

/// What disagrees with the ledger.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum MismatchKind {
    /// The gateway reports another amount than the one recorded when the payment was created.
    Amount {
        /// What the ledger recorded.
        recorded: Money,
        /// What the gateway reported.
        reported: Money,
    },
    /// A payment the ledger does not know, where the ledger is the merchant's record of
    /// payments ([`ReceiverBuilder::require_known_payments`](crate::ReceiverBuilder::require_known_payments)).
    UnknownPayment,
    /// The event's gateway id and its merchant reference name two different payments in the
    /// ledger: which one was paid is not clear, so neither is passed on as paid.
    Conflict {
        /// The merchant reference of the payment the ledger knows by the event's gateway id
        /// (the event's own reference names another).
        by_gateway_id: String,
    },
    /// The same merchant reference was paid at two gateways: the ledger holds it paid (or
    /// refunded, or a mismatch already) at `other`, and this event says it was paid here too
    /// (through a router, a losing attempt paid late). The order was handled once, for the
    /// first payment; a person must refund one of the two.
    PaidTwice {
        /// The other gateway where the reference was paid.
        other: ProviderId,
    },
}

impl Mismatch {
    /// What disagrees between `event` and `record`, if anything: only a paid event is checked
    /// (a payment that did not go through cannot be over- or under-paid).
    pub(crate) fn between(event: &WebhookEvent, record: Option<&WatchedPayment>, require_known: bool) -> Option<Self> {
        if event.status != PaymentStatus::Paid {
            return None;
        }
        let kind = match record {
            None if require_known => MismatchKind::UnknownPayment,
            None => return None,
            Some(record) => match &event.amount {
                Some(reported) if *reported != record.amount => {
                    MismatchKind::Amount { recorded: record.amount.clone(), reported: reported.clone() }
                }
                _ => return None,
            },
        };
        Some(Self { event: event.clone(), kind })
    }
}

impl Mismatch {
    /// A paid `event` whose gateway id names the record `by_gateway_id` while its reference
    /// names another: see [`MismatchKind::Conflict`]. `None` for an event that is not paid.
    pub(crate) fn conflict(event: &WebhookEvent, by_gateway_id: &WatchedPayment) -> Option<Self> {
        (event.status == PaymentStatus::Paid).then(|| Self {
            event: event.clone(),
            kind: MismatchKind::Conflict { by_gateway_id: by_gateway_id.reference.clone() },
        })
    }
}

impl Mismatch {
    /// A paid `event` whose merchant reference was paid at `other` already: see
    /// [`MismatchKind::PaidTwice`].
    pub(crate) fn paid_twice(event: &WebhookEvent, other: ProviderId) -> Self {
        Self { event: event.clone(), kind: MismatchKind::PaidTwice { other } }
    }
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let event = &self.event;
        let id = event.reference.as_deref().or(event.provider_reference.as_deref()).unwrap_or("?");
        match &self.kind {
            MismatchKind::Amount { recorded, reported } => write!(
                f,
                "{} reports payment {id} paid with {reported}, but {recorded} was asked for: not passed on as paid",
                event.provider
            ),
            MismatchKind::UnknownPayment => write!(
                f,
                "{} reports payment {id} paid, which the ledger does not know: not passed on as paid",
                event.provider
            ),
            MismatchKind::Conflict { by_gateway_id } => write!(
                f,
                "{} reports its payment {} paid as {id}, but the ledger holds that payment as {by_gateway_id}: \
                 not passed on as paid",
                event.provider,
                event.provider_reference.as_deref().unwrap_or("?"),
            ),
            MismatchKind::PaidTwice { other } => write!(
                f,
                "{} reports payment {id} paid, but it was paid at {other} already: the customer paid twice; \
                 not passed on as paid: refund one of the two payments",
                event.provider
            ),
        }
    }
}
