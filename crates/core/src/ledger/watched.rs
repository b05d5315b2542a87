//! [`Watched`]: a gateway whose creates are recorded in a [`Ledger`] before they are sent.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;

use super::{Begin, CREATE_SETTLE, Ledger, WatchState, WatchedPayment};
use crate::{
    Ack, Capabilities, Error, LookupKey, Payment, PaymentProvider, PaymentRequest, ProviderId, SharedClock,
    SystemClock, WebhookEvent, WebhookRequest,
};

/// A gateway whose creates are recorded in a [`Ledger`], for a reconciler to watch them until
/// they are final. Every other call goes straight to the gateway.
///
/// The payment is recorded as [`WatchState::Creating`] **before** the create is sent (a ledger
/// that cannot be written refuses the create: nothing is sent that would not be watched), then
/// as pending with the gateway's answer, as [`WatchState::NotCreated`] when the error proves
/// nothing was created ([`Error::created_nothing`]: never reached, refused before sending, or a
/// refusal the gateway's document says creates nothing), and as [`WatchState::Unknown`] for any
/// other error (the answer lost, a 5xx, another refusal), which a reconciler goes on watching.
/// Wrapped around each gateway of a router, it records every attempt of a route this way.
///
/// A [`payment_status`](PaymentProvider::payment_status) that a gateway looking payments up by
/// the merchant's reference answers with [`Error::NotFound`] proves that an `unknown` (or a
/// settled `creating`) record's create did not take effect: the record becomes `not_created`,
/// by the same rule a reconciler's check follows ([`WatchedPayment::not_found_at_gateway`]).
///
/// A merchant reference names one payment. A create whose reference the ledger already holds is
/// refused before it is sent, with [`Error::ReferenceInUse`] naming the gateway, the reference
/// and the state of the payment there, unless the gateway refused that earlier create
/// ([`WatchState::NotCreated`]: trying again is legitimate). Above all an `unknown` or
/// `creating` payment is never created again: it may exist, and a second create could charge
/// the customer twice; look it up (its status) instead. The check and the write-ahead record are
/// one atomic step of the ledger ([`Ledger::begin_create`]): two replicas creating one reference
/// at once send it once.
///
/// ```
/// use std::sync::Arc;
/// use gerbang_core::ledger::{Ledger, MemoryLedger, Watched};
/// use gerbang_core::PaymentProvider;
///
/// fn watched(gateway: Arc<dyn PaymentProvider>, ledger: Arc<dyn Ledger>) -> Arc<dyn PaymentProvider> {
///     Arc::new(Watched::new(gateway, ledger))
/// }
/// # let _ = watched;
/// ```
#[derive(Clone)]
pub struct Watched {
    inner: Arc<dyn PaymentProvider>,
    ledger: Arc<dyn Ledger>,
    clock: SharedClock,
}

impl Watched {
    /// `gateway`, recording its creates in `ledger`.
    pub fn new(gateway: Arc<dyn PaymentProvider>, ledger: Arc<dyn Ledger>) -> Self {
        Self { inner: gateway, ledger, clock: Arc::new(SystemClock) }
    }

    /// The same, reading the time off `clock`.
    pub fn with_clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    /// The ledger it records in.
    pub fn ledger(&self) -> &Arc<dyn Ledger> {
        &self.ledger
    }

    async fn record(&self, record: &WatchedPayment) {
        if let Err(error) = self.ledger.record(record).await {
            // The create happened (or was refused) already; the record as `creating` stays, and
            // the reconciler resolves it as unknown once it has settled.
            tracing::warn!(gateway = %record.provider, reference = %record.reference, outcome = "ledger_write_failed",
                %error, "could not record the create's outcome in the ledger");
        }
    }
}

impl Watched {
    /// The gateway looked `reference` up by the merchant's reference and has no such payment:
    /// an `unknown` (or settled `creating`) record of it did not take effect.
    async fn not_found(&self, reference: &str) {
        let provider = self.inner.id();
        let mut record = match self.ledger.find_by_reference(provider, reference).await {
            Ok(Some(record)) => record,
            Ok(None) => return,
            Err(error) => {
                tracing::warn!(gateway = %provider, reference, outcome = "ledger_read_failed", %error,
                    "could not read the ledger to record a payment the gateway does not have");
                return;
            }
        };
        if record.absence_is_proof(self.clock.now()) {
            record.not_found_at_gateway(reference);
            self.record(&record).await;
        }
    }
}

impl fmt::Debug for Watched {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Watched").field("gateway", &self.inner.id()).field("ledger", &self.ledger).finish()
    }
}

#[async_trait]
impl PaymentProvider for Watched {
    fn id(&self) -> ProviderId {
        self.inner.id()
    }

    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }

    async fn create_payment(&self, request: &PaymentRequest) -> Result<Payment, Error> {
        let provider = self.inner.id();
        let now = self.clock.now();
        let mut record =
            WatchedPayment::new(provider, &request.reference, request.amount.clone(), WatchState::Creating, now);
        record.next_check = Some(now + CREATE_SETTLE);
        // Write-ahead: a create the ledger does not know of is never sent, nor one whose
        // reference the ledger holds already (that record would be overwritten, or the create
        // go out unrecorded).
        if let Begin::Exists(existing) = self.ledger.begin_create(&record).await? {
            let existing = *existing;
            tracing::info!(gateway = %provider, reference = %request.reference, outcome = "reference_in_use",
                state = %existing.state,
                "create refused: the ledger holds this reference already");
            let lookup_id = existing.lookup_id(self.inner.capabilities().lookup).map(str::to_owned);
            return Err(Error::ReferenceInUse {
                provider,
                reference: existing.reference,
                state: existing.state,
                lookup_id,
            });
        }
        let answer = self.inner.create_payment(request).await;
        let now = self.clock.now();
        match &answer {
            Ok(payment) => {
                let mut created = WatchedPayment::created(payment, request, record.recorded_at);
                created.next_check = created.next_check.map(|_| now);
                self.record(&created).await;
            }
            Err(error) if error.created_nothing(self.inner.capabilities().safe_refusals) => {
                record.state = WatchState::NotCreated;
                record.next_check = None;
                record.note = Some(error.to_string());
                self.record(&record).await;
            }
            Err(error) => {
                // The payment may exist: watched until a look-up tells.
                record.state = WatchState::Unknown;
                record.next_check = Some(now);
                record.note = Some(error.to_string());
                self.record(&record).await;
            }
        }
        answer
    }

    async fn payment_status(&self, reference: &str) -> Result<Payment, Error> {
        let answer = self.inner.payment_status(reference).await;
        if matches!(answer, Err(Error::NotFound { .. })) && self.inner.capabilities().lookup == LookupKey::Reference {
            self.not_found(reference).await;
        }
        answer
    }

    async fn cancel_payment(&self, reference: &str) -> Result<Payment, Error> {
        self.inner.cancel_payment(reference).await
    }

    async fn verify_webhook(&self, request: &WebhookRequest<'_>) -> Result<WebhookEvent, Error> {
        self.inner.verify_webhook(request).await
    }

    fn verify_webhook_now(&self, request: &WebhookRequest<'_>) -> Option<Result<WebhookEvent, Error>> {
        self.inner.verify_webhook_now(request)
    }

    fn reject_webhook(&self, error: &Error) -> Ack {
        self.inner.reject_webhook(error)
    }

    fn webhook_claims(&self, request: &WebhookRequest<'_>) -> Option<crate::ClaimedId> {
        self.inner.webhook_claims(request)
    }
}
