//! The trait every gateway implements, and what it tells about itself.

use std::fmt;
use std::str::FromStr;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::{Ack, CreateLimits, Error, Payment, PaymentRequest, SafeRefusal, WebhookEvent, WebhookRequest};

/// Which gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum ProviderId {
    /// Cuan10pay: deposits, invoices, PPOB, SMM, vouchers.
    Cuan10pay,
    /// Cash In: hosted checkout with SNAP notifications.
    #[serde(rename = "cashin")]
    CashIn,
    /// The QRIS invoice gateway.
    Qris,
    /// The crypto invoice gateway.
    CryptoInvoice,
    /// Ciputra Life e-payment.
    Ciputra,
}

impl ProviderId {
    /// Every gateway, in the order the project lists them.
    pub const ALL: [ProviderId; 5] = [Self::Cuan10pay, Self::CashIn, Self::Qris, Self::CryptoInvoice, Self::Ciputra];

    /// Its position in [`ALL`](Self::ALL), for tables with an entry per gateway.
    pub(crate) const fn index(self) -> usize {
        match self {
            Self::Cuan10pay => 0,
            Self::CashIn => 1,
            Self::Qris => 2,
            Self::CryptoInvoice => 3,
            Self::Ciputra => 4,
        }
    }

    /// The id as used in JSON, on the command line and in environment variable names
    /// (`cuan10pay`, `cashin`, `qris`, `crypto-invoice`, `ciputra`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Cuan10pay => "cuan10pay",
            Self::CashIn => "cashin",
            Self::Qris => "qris",
            Self::CryptoInvoice => "crypto-invoice",
            Self::Ciputra => "ciputra",
        }
    }
}

impl fmt::Display for ProviderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ProviderId {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Self::ALL.into_iter().find(|p| p.as_str() == s).ok_or_else(|| {
            Error::validation("provider", "expected one of cuan10pay, cashin, qris, crypto-invoice, ciputra")
        })
    }
}

/// How a gateway tells the merchant that a payment changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum WebhookSupport {
    /// No callback at all: poll the status.
    None,
    /// A callback carrying a signature (or shared key) that is checked locally.
    Signed,
    /// An unsigned callback: it is only a hint, confirmed by a status call.
    ConfirmedByStatus,
}

/// Which id [`PaymentProvider::payment_status`] and [`PaymentProvider::cancel_payment`] take:
/// the one the gateway keys payments on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum LookupKey {
    /// The gateway's own id, [`Payment::provider_reference`](crate::Payment) (Cuan10pay's
    /// `deposit_id`, QRIS's `invoice_id`).
    ProviderReference,
    /// The merchant's reference, [`Payment::reference`](crate::Payment) (Cash In's `trxNo`, the
    /// crypto `order_id`, Ciputra's `external_id`).
    Reference,
}

/// The id an unverified webhook says it is about, as a gateway that confirms its webhooks by a
/// status call would look it up: see [`PaymentProvider::webhook_claims`]. **Not verified**.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClaimedId {
    /// The id, as the webhook gives it.
    pub id: String,
    /// Whether it is the merchant's reference or the gateway's own id.
    pub key: LookupKey,
}

impl ClaimedId {
    /// `id`, of the kind `key`.
    pub fn new(id: impl Into<String>, key: LookupKey) -> Self {
        Self { id: id.into(), key }
    }
}

/// What a gateway supports of the common flow, and which id it looks payments up by.
///
/// ```
/// use gerbang_core::{Capabilities, LookupKey, WebhookSupport};
/// let caps = Capabilities::new(WebhookSupport::Signed).with_cancel();
/// assert!(caps.cancel_payment && caps.payment_status);
/// assert_eq!(caps.lookup, LookupKey::ProviderReference);
/// let caps = caps.looked_up_by(LookupKey::Reference);
/// assert_eq!(caps.lookup, LookupKey::Reference);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Capabilities {
    /// [`PaymentProvider::create_payment`].
    pub create_payment: bool,
    /// [`PaymentProvider::payment_status`].
    pub payment_status: bool,
    /// [`PaymentProvider::cancel_payment`].
    pub cancel_payment: bool,
    /// [`PaymentProvider::verify_webhook`], and how trustworthy its callback is.
    pub webhook: WebhookSupport,
    /// The id status and cancel take; [`Payment::lookup_id`](crate::Payment::lookup_id) reads it
    /// off a payment.
    pub lookup: LookupKey,
    /// What the gateway's document accepts for a create: a request outside it is skipped by a
    /// router before any call.
    pub limits: CreateLimits,
    /// The gateway's refusals of a create after which its document says nothing was created:
    /// the only answered refusals a router fails over on.
    pub safe_refusals: &'static [SafeRefusal],
}

impl Capabilities {
    /// Create and status supported, cancel not, with the given kind of webhook; payments looked
    /// up by the gateway's own id.
    pub const fn new(webhook: WebhookSupport) -> Self {
        Self {
            create_payment: true,
            payment_status: true,
            cancel_payment: false,
            webhook,
            lookup: LookupKey::ProviderReference,
            limits: CreateLimits::none(),
            safe_refusals: &[],
        }
    }

    /// The same, with the create limits of the gateway's document.
    pub const fn with_limits(mut self, limits: CreateLimits) -> Self {
        self.limits = limits;
        self
    }

    /// The same, with the table of refusals that its document says create nothing.
    pub const fn with_safe_refusals(mut self, table: &'static [SafeRefusal]) -> Self {
        self.safe_refusals = table;
        self
    }

    /// The same, with payments looked up by `key`.
    pub const fn looked_up_by(mut self, key: LookupKey) -> Self {
        self.lookup = key;
        self
    }

    /// The same, with cancel supported.
    pub const fn with_cancel(mut self) -> Self {
        self.cancel_payment = true;
        self
    }
}

/// The common payment flow, implemented by every gateway crate.
///
/// Gateway-specific calls (catalogues, withdrawals, registrations…) are inherent methods of each
/// gateway's client; this trait is what lets a merchant's code treat the gateways alike:
///
/// ```no_run
/// use gerbang_core::{Money, PaymentProvider, PaymentRequest, Error};
///
/// async fn charge(gateway: &dyn PaymentProvider, order: &str) -> Result<String, Error> {
///     let request = PaymentRequest::builder(order, Money::idr(50_000)).build()?;
///     let payment = gateway.create_payment(&request).await?;
///     Ok(payment.checkout_url.unwrap_or_default())
/// }
/// ```
#[async_trait]
pub trait PaymentProvider: Send + Sync {
    /// Which gateway this is.
    fn id(&self) -> ProviderId;

    /// What it supports of the operations below.
    fn capabilities(&self) -> Capabilities;

    /// Creates a payment. A field of the request that the gateway cannot honour is refused with
    /// [`Error::Validation`], never dropped. A create is never retried automatically.
    async fn create_payment(&self, request: &PaymentRequest) -> Result<Payment, Error>;

    /// Looks a payment up by the id the gateway keys it on: [`Capabilities::lookup`] says which,
    /// and [`Payment::lookup_id`](crate::Payment::lookup_id) reads it off a created payment.
    async fn payment_status(&self, reference: &str) -> Result<Payment, Error>;

    /// Cancels a payment; [`Error::Unsupported`] where the gateway has no such call.
    async fn cancel_payment(&self, reference: &str) -> Result<Payment, Error>;

    /// Verifies a webhook on its raw bytes and returns the normalised event, whose
    /// [`WebhookEvent::ack`] is the answer the gateway expects.
    async fn verify_webhook(&self, request: &WebhookRequest<'_>) -> Result<WebhookEvent, Error>;

    /// [`verify_webhook`](Self::verify_webhook) answered at once, by a gateway that verifies a
    /// webhook on its bytes alone (a signature, no status call); `None`, the default, to be
    /// asked through `verify_webhook`. A receiver asks this first: an answer here spares the
    /// boxed future each call of an `async` trait method costs, for every delivery. When it
    /// answers, it answers as `verify_webhook` would.
    fn verify_webhook_now(&self, request: &WebhookRequest<'_>) -> Option<Result<WebhookEvent, Error>> {
        let _ = request;
        None
    }

    /// The answer to send back when [`verify_webhook`](Self::verify_webhook) failed: by default
    /// 401 for a bad signature or timestamp and 400 otherwise, as plain text; gateways that expect
    /// a particular body (Cash In's SNAP codes) override it.
    fn reject_webhook(&self, error: &Error) -> Ack {
        Ack::rejection(error)
    }

    /// For a gateway whose webhook is only a hint confirmed by a status call
    /// ([`WebhookSupport::ConfirmedByStatus`]): the id the webhook names, read without any call,
    /// **unverified**; `None` by default, and where the request names none.
    ///
    /// A receiver that knows every payment (a ledger required to know them) refuses a webhook
    /// naming an id it does not hold before [`verify_webhook`](Self::verify_webhook) spends an
    /// authenticated status call on it: an unsigned callback must not let anyone make the
    /// merchant call the gateway at will.
    fn webhook_claims(&self, _request: &WebhookRequest<'_>) -> Option<ClaimedId> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_gateways_index_is_its_place_in_the_list() {
        for (place, gateway) in ProviderId::ALL.into_iter().enumerate() {
            assert_eq!(gateway.index(), place, "{gateway}");
        }
    }
}
