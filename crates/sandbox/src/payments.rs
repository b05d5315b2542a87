//! Every payment of every gateway, seen the same way: what the dashboard lists, what
//! [`Sandbox::payments`](crate::Sandbox::payments) and `GET /_sandbox/payments` return. Each
//! gateway module writes its records into a [`PaymentSummary`]; each record keeps its own
//! [`Timeline`], so that its history is forgotten with it.

use std::sync::Arc;

use gerbang_core::ProviderId;
use rust_decimal::Decimal;
use serde::Serialize;
use time::OffsetDateTime;

use crate::emulated::{EmulatedPayments, Settle};
use crate::state::Shared;
use crate::{DeliveryPlan, PaymentState, SandboxError, control, emulated};

/// What made a payment change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Cause {
    /// A call of the gateway's own API: the create call, a cancel call.
    Api,
    /// The sandbox's controls: [`Sandbox::pay`](crate::Sandbox::pay) and its kin, the control
    /// API, the dashboard, a checkout page's buttons.
    Control,
    /// Its expiry passed on the sandbox clock (by itself, or by
    /// [`Sandbox::advance_clock`](crate::Sandbox::advance_clock)).
    Expiry,
}

impl Cause {
    /// A few words for a person: `gateway API`, `sandbox control`, `expiry passed`.
    pub const fn describe(self) -> &'static str {
        match self {
            Self::Api => "gateway API",
            Self::Control => "sandbox control",
            Self::Expiry => "expiry passed",
        }
    }
}

/// One step of a payment's history: the state it entered, when (sandbox clock), and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct PaymentEvent {
    /// When, on the sandbox clock.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The state it entered (`pending` for its creation).
    pub state: PaymentState,
    /// What moved it.
    pub cause: Cause,
    /// What the state alone does not say, such as a QRIS invoice that reads `expired` because
    /// it was cancelled.
    pub note: Option<&'static str>,
}

/// A payment's history, kept with its record: created first, then each move.
#[derive(Debug, Clone)]
pub(crate) struct Timeline {
    /// The order of creation across every gateway, for "newest first" when clocks tie.
    sequence: u64,
    events: Vec<PaymentEvent>,
}

impl Timeline {
    /// A payment created at `at` through the gateway's API.
    pub(crate) fn created(shared: &Shared, at: OffsetDateTime) -> Self {
        let first = PaymentEvent { at, state: PaymentState::Pending, cause: Cause::Api, note: None };
        Self { sequence: shared.next_sequence(), events: vec![first] }
    }

    pub(crate) fn push(&mut self, at: OffsetDateTime, state: PaymentState, cause: Cause) {
        self.note(at, state, cause, None);
    }

    pub(crate) fn note(&mut self, at: OffsetDateTime, state: PaymentState, cause: Cause, note: Option<&'static str>) {
        self.events.push(PaymentEvent { at, state, cause, note });
    }
}

/// A payment as the sandbox holds it, whatever the gateway: what the dashboard shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct PaymentSummary {
    /// The gateway.
    pub provider: ProviderId,
    /// What the controls take ([`Sandbox::pay`](crate::Sandbox::pay), `POST
    /// /_sandbox/{provider}/payments/{reference}/pay`) and what its webhooks'
    /// [`Delivery::reference`](crate::Delivery::reference) says: Cuan10pay's `deposit_id`, Cash
    /// In's `trxNo`, the QRIS `invoice_id`, the crypto invoice's id, Ciputra's `external_id`.
    pub reference: String,
    /// The gateway's own id for it (Cash In's `referenceNo`, Ciputra's `order_id`; the same as
    /// `reference` elsewhere).
    pub gateway_id: String,
    /// The merchant's reference, where the gateway keeps one: Cuan10pay's `notes` (the SDK puts
    /// the reference there), Cash In's `trxNo`, the crypto invoice's `order_id`, Ciputra's
    /// `external_id`. QRIS invoices have none.
    pub merchant_reference: Option<String>,
    /// The amount asked for, without the gateway's fee.
    pub amount: Decimal,
    /// Its currency: `IDR`, or a crypto invoice's price currency.
    pub currency: String,
    /// Where it stands now (expiry applied).
    pub state: PaymentState,
    /// When it was created, on the sandbox clock.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When it expires if still pending, where the gateway has an expiry.
    #[serde(with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
    /// Its history, oldest first: created, then each move.
    pub history: Vec<PaymentEvent>,
    /// The page the customer is sent to (checkout, invoice or QR image).
    pub page_url: Option<String>,
    /// The order of creation, across gateways.
    #[serde(skip)]
    pub(crate) sequence: u64,
}

impl PaymentSummary {
    /// The fields every gateway fills in the same way; the caller sets the rest.
    pub(crate) fn new(
        provider: ProviderId,
        reference: impl Into<String>,
        amount: Decimal,
        state: PaymentState,
        created_at: OffsetDateTime,
        timeline: &Timeline,
    ) -> Self {
        let reference = reference.into();
        Self {
            provider,
            gateway_id: reference.clone(),
            reference,
            merchant_reference: None,
            amount,
            currency: "IDR".to_owned(),
            state,
            created_at,
            expires_at: None,
            history: timeline.events.clone(),
            page_url: None,
            sequence: timeline.sequence,
        }
    }

    /// The moves the sandbox's controls can make it do now: none once it is final.
    pub fn moves(&self) -> &'static [PaymentState] {
        if self.state == PaymentState::Pending { emulated::of(self.provider).map_or(&[], |g| g.moves()) } else { &[] }
    }
}

/// Which payments [`all`] returns; every field optional.
#[derive(Debug, Clone, Default)]
pub(crate) struct Filter {
    pub(crate) provider: Option<ProviderId>,
    pub(crate) state: Option<PaymentState>,
}

/// Every payment `filter` lets through, newest first (by creation, across gateways), expiry
/// applied on the sandbox clock.
pub(crate) fn all(shared: &Shared, filter: &Filter) -> Vec<PaymentSummary> {
    let mut out = Vec::new();
    for gateway in emulated::all() {
        if filter.provider.is_none_or(|p| p == gateway.provider()) {
            gateway.payments().summaries(shared, &mut out);
        }
    }
    if let Some(state) = filter.state {
        out.retain(|p| p.state == state);
    }
    out.sort_unstable_by_key(|p| std::cmp::Reverse(p.sequence));
    out
}

/// Which of a payment's ids matched the one asked for, in the order [`resolve`] tries them.
#[derive(Debug, Clone, Copy)]
enum Id {
    /// [`PaymentSummary::reference`]: what the sandbox keys it by.
    Key,
    /// [`PaymentSummary::gateway_id`].
    Gateway,
    /// [`PaymentSummary::merchant_reference`].
    Merchant,
}

impl Id {
    fn of(self, payment: &PaymentSummary) -> Option<&str> {
        match self {
            Self::Key => Some(&payment.reference),
            Self::Gateway => Some(&payment.gateway_id),
            Self::Merchant => payment.merchant_reference.as_deref(),
        }
    }
}

/// **Decision** (issue 11): the payment of `provider` that `id`, as a person typed it, names;
/// what every control and look-up that takes an id goes through (`Sandbox::pay` and its kin,
/// `Sandbox::payment`, `POST /_sandbox/{provider}/payments/{id}/…`, `GET
/// /_sandbox/payments/{provider}/{id}`), so that each takes the merchant's reference or the
/// gateway's id alike. Tried in turn, the first that matches wins: the sandbox's key
/// ([`PaymentSummary::reference`]), the gateway's id, the merchant's reference. Keys and gateway
/// ids are unique; a merchant reference is not (a merchant may reuse one across tries), and one
/// that several payments carry is refused rather than one of them picked. Whitespace around
/// `id` is ignored: no id starts or ends with it.
///
/// # Errors
///
/// [`SandboxError::AmbiguousReference`] naming each candidate's key,
/// [`SandboxError::UnknownPayment`] when nothing matches, [`SandboxError::NotEmulated`].
pub(crate) fn resolve(shared: &Shared, provider: ProviderId, id: &str) -> Result<PaymentSummary, SandboxError> {
    if emulated::of(provider).is_none() {
        return Err(SandboxError::NotEmulated { provider });
    }
    let id = id.trim();
    let of_gateway = all(shared, &Filter { provider: Some(provider), state: None });
    for tried in [Id::Key, Id::Gateway] {
        if let Some(found) = of_gateway.iter().find(|p| tried.of(p) == Some(id)) {
            return Ok(found.clone());
        }
    }
    let mut carrying: Vec<PaymentSummary> = of_gateway.into_iter().filter(|p| Id::Merchant.of(p) == Some(id)).collect();
    match carrying.len() {
        0 => Err(SandboxError::UnknownPayment { provider, reference: id.to_owned() }),
        1 => Ok(carrying.remove(0)),
        _ => Err(SandboxError::AmbiguousReference {
            provider,
            reference: id.to_owned(),
            candidates: carrying.into_iter().map(|p| p.reference).collect(),
        }),
    }
}

/// Expires every pending payment whose expiry has passed on the sandbox clock, sending the
/// webhook each gateway sends for it; returns them. What happens on its own (by lazy expiry)
/// for the gateways whose state is read at each look-up, done at once for all.
pub(crate) fn expire_due(shared: &Arc<Shared>) -> Vec<(ProviderId, String)> {
    let mut expired = Vec::new();
    for gateway in emulated::all() {
        expired.extend(gateway.payments().expire_due(shared).into_iter().map(|r| (gateway.provider(), r)));
    }
    expired
}

/// Moves each of `due` (pending past its expiry) to expired through the gateway's own
/// [`settle`](EmulatedPayments::settle), which sends its webhook; a payment that moved meanwhile
/// is skipped.
pub(crate) fn settle_expired(store: &dyn EmulatedPayments, shared: &Arc<Shared>, due: Vec<String>) -> Vec<String> {
    due.into_iter()
        .filter(|reference| {
            let expiry =
                Settle { reference, target: PaymentState::Expired, plan: DeliveryPlan::new(), cause: Cause::Expiry };
            store.settle(shared, expiry).is_ok()
        })
        .collect()
}

impl crate::Sandbox {
    /// Every payment of every gateway, newest first (by creation): what the dashboard lists,
    /// and `GET /_sandbox/payments`. Expiry is applied on the sandbox clock first.
    pub fn payments(&self) -> Vec<PaymentSummary> {
        all(self.shared(), &Filter::default())
    }

    /// One payment, by any of its ids: its [`PaymentSummary::reference`], the gateway's id for
    /// it, or the merchant's reference (see [`pay`](crate::Sandbox::pay)). What `GET
    /// /_sandbox/payments/{provider}/{id}` answers; its `reference` is the sandbox's key, what the
    /// dashboard's payment page is at.
    ///
    /// # Errors
    ///
    /// [`SandboxError::UnknownPayment`] when no payment has that id,
    /// [`SandboxError::AmbiguousReference`] for a merchant reference several payments carry.
    pub fn payment(&self, provider: ProviderId, id: &str) -> Result<PaymentSummary, SandboxError> {
        resolve(self.shared(), provider, id)
    }

    /// Cancels a pending payment, as the merchant's cancel call would, where the gateway has one:
    /// a QRIS invoice (it then reads `expired`, as the gateway's cancelled invoices do: that is
    /// the state returned) or a Ciputra transaction (`cancelled`). No webhook is sent: the
    /// gateways send none for a cancel the merchant asked for. The control API's `POST
    /// /_sandbox/{provider}/payments/{reference}/cancel`.
    ///
    /// # Errors
    ///
    /// As [`pay`](Self::pay), and [`SandboxError::UnsupportedTransition`] for a gateway without
    /// a cancel call.
    pub async fn cancel(&self, provider: ProviderId, reference: &str) -> Result<PaymentState, SandboxError> {
        control::settle(self.shared(), provider, reference, PaymentState::Cancelled, DeliveryPlan::new())
            .map(|done| done.state)
    }
}
