//! The router over gateways wrapped in `Watched`, against the sandbox: every attempt of a route
//! is in the ledger with what it proved (issue 23, item 4), and a losing attempt paid late by
//! its webhook reaches `Handler::mismatch` as paid twice, once, the order handled once.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests may unwrap: see clippy.toml.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{
    cashin_at, cashin_order, cuan10pay_at, outcomes, qris_at, refusing_base_url, sandbox_with_webhooks_to_nowhere,
};
use gerbang_core::http::{HeaderMap, HeaderName, HeaderValue, Method};
use gerbang_core::inbox::MemoryInbox;
use gerbang_core::ledger::{Ledger, MemoryLedger, WatchState, Watched, WatchedPayment};
use gerbang_core::{Error, PaymentProvider, PaymentStatus, ProviderId, WebhookEvent, async_trait};
use gerbang_router::{Outcome, Router};
use gerbang_sandbox::{Fault, FaultAction, Sandbox};
use gerbang_webhooks::{Handler, HandlerError, Mismatch, MismatchKind, Receiver};

fn watched(gateway: Arc<dyn PaymentProvider>, ledger: &Arc<MemoryLedger>) -> Arc<dyn PaymentProvider> {
    Arc::new(Watched::new(gateway, ledger.clone()))
}

async fn record(ledger: &MemoryLedger, gateway: ProviderId, reference: &str) -> WatchedPayment {
    ledger.find_by_reference(gateway, reference).await.unwrap().unwrap_or_else(|| panic!("no record at {gateway}"))
}

#[tokio::test]
async fn never_reached_is_not_created_and_the_created_one_pending() {
    let sandbox = Sandbox::builder().start().await.unwrap();
    let ledger = Arc::new(MemoryLedger::new());
    let router = Router::builder()
        .gateway(watched(Arc::new(cuan10pay_at(refusing_base_url().await)), &ledger))
        .gateway(watched(Arc::new(qris_at(&sandbox)), &ledger))
        .build()
        .unwrap();
    let routed = router.route(&cashin_order("LED-REFUSED")).await.unwrap();
    assert_eq!(
        outcomes(&routed.attempts),
        [(ProviderId::Cuan10pay, Outcome::NeverReached), (ProviderId::Qris, Outcome::Created)]
    );
    let lost = record(&ledger, ProviderId::Cuan10pay, "LED-REFUSED").await;
    assert_eq!((lost.state, lost.next_check), (WatchState::NotCreated, None), "nothing to watch there");
    let created = record(&ledger, ProviderId::Qris, "LED-REFUSED").await;
    assert_eq!(created.state, WatchState::Pending);
    assert_eq!(created.provider_reference, routed.payment.provider_reference, "watched by the gateway's id");
}

#[tokio::test]
async fn cut_before_handling_is_not_created_once_the_look_up_finds_nothing() {
    let sandbox = Sandbox::builder().start().await.unwrap();
    sandbox.inject_fault(Fault::new(ProviderId::CashIn, "create", FaultAction::Cut).times(1)).unwrap();
    let ledger = Arc::new(MemoryLedger::new());
    let router = Router::builder()
        .gateway(watched(Arc::new(cashin_at(&sandbox)), &ledger))
        .gateway(watched(Arc::new(qris_at(&sandbox)), &ledger))
        .build()
        .unwrap();
    let routed = router.route(&cashin_order("LED-CUT")).await.unwrap();
    assert_eq!(
        outcomes(&routed.attempts),
        [
            (ProviderId::CashIn, Outcome::Unknown),
            (ProviderId::CashIn, Outcome::NotFoundByReference),
            (ProviderId::Qris, Outcome::Created)
        ]
    );
    let refused = record(&ledger, ProviderId::CashIn, "LED-CUT").await;
    assert_eq!((refused.state, refused.next_check), (WatchState::NotCreated, None));
    assert!(refused.note.as_deref().unwrap().contains("did not take effect"), "{refused:?}");
    assert_eq!(record(&ledger, ProviderId::Qris, "LED-CUT").await.state, WatchState::Pending);
}

#[tokio::test]
async fn an_answer_lost_stays_unknown_and_watched() {
    // Found by reference at Cash In: the payment exists, the ledger keeps watching it.
    let sandbox = Sandbox::builder().start().await.unwrap();
    sandbox.inject_fault(Fault::new(ProviderId::CashIn, "create", FaultAction::CutAfter).times(1)).unwrap();
    sandbox.inject_fault(Fault::new(ProviderId::Cuan10pay, "create", FaultAction::CutAfter).times(1)).unwrap();
    let ledger = Arc::new(MemoryLedger::new());
    let found = Router::builder()
        .gateway(watched(Arc::new(cashin_at(&sandbox)), &ledger))
        .gateway(watched(Arc::new(qris_at(&sandbox)), &ledger))
        .build()
        .unwrap();
    let routed = found.route(&cashin_order("LED-FOUND")).await.unwrap();
    assert_eq!(routed.attempts.last().map(|a| a.outcome), Some(Outcome::FoundByReference));
    let kept = record(&ledger, ProviderId::CashIn, "LED-FOUND").await;
    assert_eq!(kept.state, WatchState::Unknown, "a reconciler resolves it: {kept:?}");
    assert!(kept.next_check.is_some());
    assert_eq!(ledger.find_by_reference(ProviderId::Qris, "LED-FOUND").await.unwrap(), None, "never tried");

    // Cuan10pay cannot be asked by reference: the route stops, the attempt stays unknown.
    let stopped = Router::builder()
        .gateway(watched(Arc::new(cuan10pay_at(sandbox.base_url(ProviderId::Cuan10pay))), &ledger))
        .gateway(watched(Arc::new(qris_at(&sandbox)), &ledger))
        .build()
        .unwrap();
    let error = stopped.route(&cashin_order("LED-LOST")).await.unwrap_err();
    assert_eq!(outcomes(&error.attempts), [(ProviderId::Cuan10pay, Outcome::Unknown)]);
    assert_eq!(record(&ledger, ProviderId::Cuan10pay, "LED-LOST").await.state, WatchState::Unknown);
}

#[tokio::test]
async fn a_5xx_that_may_hide_a_payment_is_unknown_not_not_created() {
    let sandbox = Sandbox::builder().start().await.unwrap();
    sandbox.inject_fault(Fault::new(ProviderId::Qris, "create", FaultAction::Status).status(503).times(1)).unwrap();
    let ledger = Arc::new(MemoryLedger::new());
    let router = Router::builder()
        .gateway(watched(Arc::new(qris_at(&sandbox)), &ledger))
        .gateway(watched(Arc::new(cuan10pay_at(sandbox.base_url(ProviderId::Cuan10pay))), &ledger))
        .build()
        .unwrap();
    let error = router.route(&cashin_order("LED-503")).await.unwrap_err();
    assert_eq!(outcomes(&error.attempts), [(ProviderId::Qris, Outcome::Unknown)]);
    let kept = record(&ledger, ProviderId::Qris, "LED-503").await;
    assert_eq!(kept.state, WatchState::Unknown, "the reconciler watches it: {kept:?}");
    // And a retry of the same reference there is refused: it may exist.
    let again = router.route(&cashin_order("LED-503")).await.unwrap_err();
    assert!(matches!(again.error, Error::ReferenceInUse { state: WatchState::Unknown, .. }), "{again}");
}

/// What reached the handler.
#[derive(Clone, Default)]
struct Seen {
    handled: Arc<Mutex<Vec<(ProviderId, PaymentStatus)>>>,
    mismatches: Arc<Mutex<Vec<(ProviderId, MismatchKind, String)>>>,
}

#[async_trait]
impl Handler for Seen {
    async fn handle(&self, event: &WebhookEvent) -> Result<(), HandlerError> {
        self.handled.lock().unwrap().push((event.provider, event.status.clone()));
        Ok(())
    }
    async fn mismatch(&self, mismatch: &Mismatch) -> Result<(), HandlerError> {
        self.mismatches.lock().unwrap().push((mismatch.event.provider, mismatch.kind.clone(), mismatch.to_string()));
        Ok(())
    }
}

#[tokio::test]
async fn a_losing_attempt_paid_late_is_one_paid_twice_mismatch_and_the_order_is_handled_once() {
    let sandbox = sandbox_with_webhooks_to_nowhere().await;
    // Cash In's create is cut before it is handled: the look-up finds nothing, the route goes to
    // Cuan10pay. The ledger holds both attempts.
    sandbox.inject_fault(Fault::new(ProviderId::CashIn, "create", FaultAction::Cut).times(1)).unwrap();
    let ledger = Arc::new(MemoryLedger::new());
    let cashin: Arc<dyn PaymentProvider> = Arc::new(cashin_at(&sandbox));
    let cuan10pay: Arc<dyn PaymentProvider> = Arc::new(cuan10pay_at(sandbox.base_url(ProviderId::Cuan10pay)));
    let router = Router::builder()
        .gateway(watched(cashin.clone(), &ledger))
        .gateway(watched(cuan10pay.clone(), &ledger))
        .build()
        .unwrap();
    let reference = "LED-TWICE";
    let routed = router.route(&cashin_order(reference)).await.unwrap();
    assert_eq!(routed.payment.provider, ProviderId::Cuan10pay, "{:?}", routed.attempts);
    assert_eq!(record(&ledger, ProviderId::CashIn, reference).await.state, WatchState::NotCreated);
    // Yet the losing attempt exists after all (the gateway made it after the look-up found
    // nothing): the same reference, created at Cash In, outside the router.
    cashin.create_payment(&cashin_order(reference)).await.unwrap();
    assert_eq!(sandbox.payments().len(), 2);

    // The customer pays both.
    sandbox.pay(ProviderId::Cuan10pay, routed.payment.provider_reference.as_deref().unwrap()).await.unwrap();
    sandbox.pay(ProviderId::CashIn, reference).await.unwrap();
    let deliveries = sandbox.wait_for_deliveries(2, Duration::from_secs(10)).await.unwrap();

    let seen = Seen::default();
    let receiver = Receiver::builder(Arc::new(MemoryInbox::new()))
        .provider(cashin)
        .provider(cuan10pay)
        .ledger(ledger.clone())
        .build(seen.clone());
    // Each webhook delivered twice, in the order the sandbox sent them.
    for delivery in deliveries.iter().chain(deliveries.iter()) {
        let mut headers = HeaderMap::new();
        for (name, value) in &delivery.headers {
            headers
                .insert(HeaderName::try_from(name.as_str()).unwrap(), HeaderValue::try_from(value.as_str()).unwrap());
        }
        let path = delivery.url.splitn(4, '/').nth(3).map(|p| format!("/{p}")).unwrap();
        let answer =
            receiver.receive(delivery.provider.as_str(), Method::POST, &path, &headers, delivery.body.as_bytes()).await;
        assert!((200..300).contains(&answer.ack.status), "{:?}", answer.outcome);
    }

    let handled = seen.handled.lock().unwrap().clone();
    let mismatches = seen.mismatches.lock().unwrap().clone();
    assert_eq!(handled.len(), 1, "the order is handled once: {handled:?}");
    let (first, _) = handled[0];
    assert_eq!(handled[0].1, PaymentStatus::Paid);
    assert_eq!(mismatches.len(), 1, "one mismatch: {mismatches:?}");
    let (second, kind, said) = &mismatches[0];
    assert_ne!(*second, first);
    assert_eq!(*kind, MismatchKind::PaidTwice { other: first });
    assert!(said.contains("paid twice") && said.contains(reference), "{said}");
    assert!(!said.contains("081234567890"), "no phone in a mismatch: {said}");
    assert_eq!(record(&ledger, first, reference).await.state, WatchState::Paid);
    assert_eq!(record(&ledger, *second, reference).await.state, WatchState::Mismatch);
}
