//! [`Watched`] creates on a store's ledger: a reused reference never reaches the gateway.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use gerbang_core::ledger::{Ledger, WatchState, Watched, WatchedPayment};
use gerbang_core::time::{self, OffsetDateTime};
use gerbang_core::{
    Capabilities, Error, LookupKey, Money, Payment, PaymentProvider, PaymentRequest, PaymentStatus, ProviderId,
    WebhookEvent, WebhookRequest, WebhookSupport,
};

/// A gateway that counts the creates reaching it and creates each one, pending, numbered
/// `GW-{reference}`.
#[derive(Debug)]
pub struct CountingGateway {
    provider: ProviderId,
    lookup: LookupKey,
    creates: AtomicUsize,
}

impl CountingGateway {
    /// A counting gateway calling itself `provider`, looking payments up by `lookup`.
    pub fn new(provider: ProviderId, lookup: LookupKey) -> Arc<Self> {
        Arc::new(Self { provider, lookup, creates: AtomicUsize::new(0) })
    }

    /// How many creates reached it.
    pub fn creates(&self) -> usize {
        self.creates.load(Ordering::SeqCst)
    }
}

#[gerbang_core::async_trait]
impl PaymentProvider for CountingGateway {
    fn id(&self) -> ProviderId {
        self.provider
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::new(WebhookSupport::Signed).looked_up_by(self.lookup)
    }

    async fn create_payment(&self, request: &PaymentRequest) -> Result<Payment, Error> {
        self.creates.fetch_add(1, Ordering::SeqCst);
        // Let concurrent creates meet here.
        tokio::task::yield_now().await;
        let mut payment = Payment::new(self.provider, PaymentStatus::Pending, "PENDING");
        payment.reference = Some(request.reference.clone());
        payment.provider_reference = Some(format!("GW-{}", request.reference));
        payment.amount = Some(request.amount.clone());
        Ok(payment)
    }

    async fn payment_status(&self, _reference: &str) -> Result<Payment, Error> {
        Err(Error::Unsupported { provider: self.provider, operation: "payment_status" })
    }

    async fn cancel_payment(&self, _reference: &str) -> Result<Payment, Error> {
        Err(Error::Unsupported { provider: self.provider, operation: "cancel_payment" })
    }

    async fn verify_webhook(&self, _request: &WebhookRequest<'_>) -> Result<WebhookEvent, Error> {
        Err(Error::invalid_signature("the counting gateway sends no webhooks"))
    }
}

/// Checks [`Watched`] creates on `ledger` (any store): a create whose reference the ledger holds
/// in any state but `not_created` is refused with [`Error::ReferenceInUse`] before it reaches
/// the gateway, the record unchanged; one the gateway refused is sent again; 16 concurrent
/// creates of one reference send exactly one. References start with `unique`. Panics, naming
/// the broken rule.
pub async fn check_watched_creates(ledger: Arc<dyn Ledger>, unique: &str) {
    let provider = ProviderId::Ciputra;
    // Whole seconds, as every store keeps them; checks far off, so that nothing is due.
    let t0 = OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(1_900_000_000);
    let far = t0 + time::Duration::seconds(1_000_000_000);
    let request = |reference: &str, rupiah: i64| {
        PaymentRequest::builder(reference, Money::idr(rupiah)).build().expect("a valid request")
    };
    for state in WatchState::ALL {
        let gateway = CountingGateway::new(provider, LookupKey::Reference);
        let watched = Watched::new(gateway.clone(), Arc::clone(&ledger));
        let reference = format!("{unique}-watched-{state}");
        let mut existing = WatchedPayment::new(provider, &reference, Money::idr(50_000), state, t0);
        existing.provider_reference = Some(format!("{unique}-first-{state}"));
        existing.next_check = state.is_watched().then_some(far);
        assert_eq!(ledger.record(&existing).await.ok(), Some(true));
        let answer = watched.create_payment(&request(&reference, 990_000)).await;
        let stored = ledger.find_by_reference(provider, &reference).await.expect("find").expect("recorded");
        if state == WatchState::NotCreated {
            assert!(answer.is_ok(), "{state}: a create the gateway refused may be sent again: {answer:?}");
            assert_eq!(gateway.creates(), 1, "{state}: sent once");
            assert_eq!((stored.state, stored.amount), (WatchState::Pending, Money::idr(990_000)), "{state}");
        } else {
            match answer {
                Err(Error::ReferenceInUse { state: said, .. }) => assert_eq!(said, state, "{state}: names the state"),
                other => panic!("{state}: a reused reference must be refused: {other:?}"),
            }
            assert_eq!(gateway.creates(), 0, "{state}: nothing reaches the gateway");
            assert_eq!(stored, existing, "{state}: the record is unchanged");
        }
    }

    let gateway = CountingGateway::new(provider, LookupKey::Reference);
    let watched = Watched::new(gateway.clone(), Arc::clone(&ledger));
    let race = request(&format!("{unique}-watched-race"), 75_000);
    let answers = futures_util::future::join_all((0..16).map(|_| watched.create_payment(&race))).await;
    assert_eq!(gateway.creates(), 1, "16 concurrent creates of one reference send one: {answers:?}");
    assert_eq!(answers.iter().filter(|a| a.is_ok()).count(), 1, "{answers:?}");
    for refused in answers.iter().filter_map(|a| a.as_ref().err()) {
        assert!(matches!(refused, Error::ReferenceInUse { .. }), "{refused:?}");
    }
}
