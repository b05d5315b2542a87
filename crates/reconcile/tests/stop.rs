//! A reconciler told to stop mid-pass (issue 20, item 1: "the reconciler stops after its current
//! check"): the check under way finishes, no other begins, and `run` returns.
#![allow(clippy::unwrap_used)] // Test code.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use gerbang_core::inbox::MemoryInbox;
use gerbang_core::ledger::{Ledger, MemoryLedger, WatchState, WatchedPayment};
use gerbang_core::{
    Capabilities, Error, LookupKey, Money, Payment, PaymentProvider, PaymentRequest, PaymentStatus, ProviderId,
    WebhookEvent, WebhookRequest, WebhookSupport,
};
use gerbang_reconcile::Reconciler;
use gerbang_webhooks::{Receiver, handler_fn};

/// A gateway whose status calls take 400 ms each and are counted (started, finished).
#[derive(Debug, Default)]
struct Slow {
    started: AtomicUsize,
    finished: AtomicUsize,
}

#[gerbang_core::async_trait]
impl PaymentProvider for Slow {
    fn id(&self) -> ProviderId {
        ProviderId::Qris
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::new(WebhookSupport::None).looked_up_by(LookupKey::Reference)
    }

    async fn create_payment(&self, _request: &PaymentRequest) -> Result<Payment, Error> {
        Err(Error::Unsupported { provider: ProviderId::Qris, operation: "create_payment" })
    }

    async fn payment_status(&self, reference: &str) -> Result<Payment, Error> {
        self.started.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(400)).await;
        self.finished.fetch_add(1, Ordering::SeqCst);
        let mut payment = Payment::new(ProviderId::Qris, PaymentStatus::Pending, "PENDING");
        payment.reference = Some(reference.to_owned());
        Ok(payment)
    }

    async fn cancel_payment(&self, _reference: &str) -> Result<Payment, Error> {
        Err(Error::Unsupported { provider: ProviderId::Qris, operation: "cancel_payment" })
    }

    async fn verify_webhook(&self, _request: &WebhookRequest<'_>) -> Result<WebhookEvent, Error> {
        Err(Error::invalid_signature("no webhooks"))
    }
}

#[tokio::test]
async fn a_stop_mid_pass_lets_the_check_under_way_finish_and_starts_no_other() {
    let gateway = Arc::new(Slow::default());
    let ledger: Arc<dyn Ledger> = Arc::new(MemoryLedger::new());
    let an_hour_ago = gerbang_core::time::OffsetDateTime::now_utc() - gerbang_core::time::Duration::hours(1);
    for n in 0..3 {
        let record = WatchedPayment::new(
            ProviderId::Qris,
            format!("INV-{n}"),
            Money::idr(10_000),
            WatchState::Pending,
            an_hour_ago,
        );
        assert!(ledger.record(&record).await.unwrap());
    }
    let receiver = Receiver::builder(Arc::new(MemoryInbox::new()))
        .provider(gateway.clone())
        .ledger(ledger)
        .build(handler_fn(|_event| async move { Ok::<(), Error>(()) }));
    let reconciler = Reconciler::builder(&receiver).pace(Duration::from_millis(1)).concurrency(1).build().unwrap();

    let started = tokio::time::Instant::now();
    reconciler.run(tokio::time::sleep(Duration::from_millis(100))).await;
    let took = started.elapsed();
    assert_eq!(gateway.started.load(Ordering::SeqCst), 1, "no check begins after the stop");
    assert_eq!(gateway.finished.load(Ordering::SeqCst), 1, "the check under way finishes");
    assert!(took >= Duration::from_millis(350) && took < Duration::from_secs(2), "returned after {took:?}");
}
