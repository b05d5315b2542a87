//! One merchant reference paid at two gateways (through a router, a losing attempt paid late):
//! the order is handled once, and every other paid event of that reference reaches
//! `Handler::mismatch` as `PaidTwice`, once (issue 23, item 4).
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use gerbang_core::inbox::MemoryInbox;
use gerbang_core::ledger::{Begin, Ledger, MemoryLedger, WatchState, WatchedPayment};
use gerbang_core::time::OffsetDateTime;
use gerbang_core::{Ack, Error, Money, PaymentStatus, ProviderId, WebhookEvent};
use gerbang_webhooks::{Handler, HandlerError, Mismatch, MismatchKind, Outcome, Receiver};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

const ORDER: &str = "ORDER-TWICE";
const GATEWAYS: [ProviderId; 3] = [ProviderId::CashIn, ProviderId::Qris, ProviderId::Cuan10pay];

/// What reached the handler: each `handle`d event's gateway and status, each mismatch.
#[derive(Clone, Default)]
struct Seen {
    handled: Arc<Mutex<Vec<(ProviderId, PaymentStatus)>>>,
    mismatches: Arc<Mutex<Vec<Mismatch>>>,
}

impl Seen {
    fn handled_paid(&self) -> Vec<ProviderId> {
        let handled = self.handled.lock().unwrap();
        handled.iter().filter(|(_, status)| *status == PaymentStatus::Paid).map(|(gateway, _)| *gateway).collect()
    }

    fn mismatches(&self) -> Vec<(ProviderId, MismatchKind)> {
        self.mismatches.lock().unwrap().iter().map(|m| (m.event.provider, m.kind.clone())).collect()
    }
}

#[gerbang_core::async_trait]
impl Handler for Seen {
    async fn handle(&self, event: &WebhookEvent) -> Result<(), HandlerError> {
        self.handled.lock().unwrap().push((event.provider, event.status.clone()));
        Ok(())
    }

    async fn mismatch(&self, mismatch: &Mismatch) -> Result<(), HandlerError> {
        self.mismatches.lock().unwrap().push(mismatch.clone());
        Ok(())
    }
}

/// The gateway's id of `ORDER`'s payment at `gateway`.
fn gateway_id(gateway: ProviderId) -> String {
    format!("{gateway}-{ORDER}")
}

/// The record a watched attempt of `ORDER` at `gateway` left, in `state`.
fn attempt(gateway: ProviderId, state: WatchState) -> WatchedPayment {
    let mut record = WatchedPayment::new(gateway, ORDER, Money::idr(150_000), state, OffsetDateTime::now_utc());
    if state != WatchState::NotCreated {
        record.provider_reference = Some(gateway_id(gateway));
    }
    record
}

/// `gateway`'s event of `ORDER` in `status`. Cuan10pay's webhooks carry no merchant reference
/// (the receiver takes it from the record its id names); the others' do.
fn event(gateway: ProviderId, status: PaymentStatus) -> WebhookEvent {
    let word = if status == PaymentStatus::Paid { "PAID" } else { "PENDING" };
    let mut event = WebhookEvent::new(gateway, status, word, Ack::text(200, "OK"));
    event.provider_reference = Some(gateway_id(gateway));
    event.reference = (gateway != ProviderId::Cuan10pay).then(|| ORDER.to_owned());
    event.amount = Some(Money::idr(150_000));
    event
}

fn receiver(ledger: Arc<dyn Ledger>, seen: &Seen) -> Receiver {
    Receiver::builder(Arc::new(MemoryInbox::new()))
        .ledger(ledger)
        .in_flight_wait(Duration::from_secs(10))
        .build(seen.clone())
}

async fn ledger_with(records: &[WatchedPayment]) -> Arc<MemoryLedger> {
    let ledger = Arc::new(MemoryLedger::new());
    for record in records {
        ledger.record(record).await.unwrap();
    }
    ledger
}

async fn state(ledger: &dyn Ledger, gateway: ProviderId) -> WatchState {
    ledger.find_by_reference(gateway, ORDER).await.unwrap().unwrap().state
}

#[tokio::test]
async fn paid_at_a_then_at_b_is_handled_once_and_b_is_a_paid_twice_mismatch_once() {
    let (a, b) = (ProviderId::CashIn, ProviderId::Cuan10pay);
    let ledger = ledger_with(&[attempt(a, WatchState::Pending), attempt(b, WatchState::Pending)]).await;
    let seen = Seen::default();
    let receiver = receiver(ledger.clone(), &seen);

    let first = receiver.dispatch(event(a, PaymentStatus::Paid)).await;
    assert!(matches!(first.outcome, Outcome::Handled(_)), "{:?}", first.outcome);
    let second = receiver.dispatch(event(b, PaymentStatus::Paid)).await;
    let Outcome::Mismatch(mismatch) = &second.outcome else { panic!("{:?}", second.outcome) };
    assert_eq!(mismatch.kind, MismatchKind::PaidTwice { other: a });
    assert_eq!(second.ack.status, 200, "acknowledged: a redelivery would say the same");
    // Redeliveries of both: duplicates, nothing more reaches the handler.
    for gateway in [b, a, b] {
        let again = receiver.dispatch(event(gateway, PaymentStatus::Paid)).await;
        assert!(matches!(again.outcome, Outcome::Duplicate(_)), "{gateway}: {:?}", again.outcome);
    }
    assert_eq!(seen.handled_paid(), [a], "the order is handled once, for the first payment");
    assert_eq!(seen.mismatches(), [(b, MismatchKind::PaidTwice { other: a })], "one mismatch");
    assert_eq!(state(ledger.as_ref(), a).await, WatchState::Paid);
    assert_eq!(state(ledger.as_ref(), b).await, WatchState::Mismatch, "a person must refund one");

    let said = mismatch.to_string();
    for part in ["cuan10pay", "cashin", ORDER, "paid twice", "refund one"] {
        assert!(said.contains(part), "the mismatch says {part}: {said}");
    }
    assert!(!said.contains('\n'), "one line: {said}");
}

#[tokio::test]
async fn a_reference_paid_at_one_gateway_only_is_handled_as_usual() {
    let (a, b, c) = (ProviderId::CashIn, ProviderId::Qris, ProviderId::Cuan10pay);
    // A pending at one gateway, a refused attempt at another: neither was paid.
    let ledger = ledger_with(&[
        attempt(a, WatchState::Pending),
        attempt(b, WatchState::Pending),
        attempt(c, WatchState::NotCreated),
    ])
    .await;
    let seen = Seen::default();
    let receiver = receiver(ledger.clone(), &seen);
    let pending = receiver.dispatch(event(a, PaymentStatus::Pending)).await;
    assert!(matches!(pending.outcome, Outcome::Handled(_)), "{:?}", pending.outcome);
    let paid = receiver.dispatch(event(b, PaymentStatus::Paid)).await;
    assert!(matches!(paid.outcome, Outcome::Handled(_)), "{:?}", paid.outcome);
    // After the payment: the other gateway's pending news is passed on, not a mismatch.
    let late_pending = receiver.dispatch(event(c, PaymentStatus::Pending)).await;
    assert!(matches!(late_pending.outcome, Outcome::Handled(_)), "{:?}", late_pending.outcome);
    assert_eq!(seen.handled_paid(), [b]);
    assert!(seen.mismatches().is_empty(), "{:?}", seen.mismatches());
    assert_eq!(state(ledger.as_ref(), b).await, WatchState::Paid);
}

#[tokio::test]
async fn a_gateway_that_paid_a_refunded_or_mismatched_order_makes_the_next_paid_event_paid_twice() {
    for earlier in [WatchState::Refunded, WatchState::Mismatch] {
        let (a, b) = (ProviderId::Qris, ProviderId::CashIn);
        let ledger = ledger_with(&[attempt(a, earlier), attempt(b, WatchState::Pending)]).await;
        let seen = Seen::default();
        let delivery = receiver(ledger.clone(), &seen).dispatch(event(b, PaymentStatus::Paid)).await;
        assert!(matches!(delivery.outcome, Outcome::Mismatch(_)), "{earlier}: {:?}", delivery.outcome);
        assert_eq!(seen.mismatches(), [(b, MismatchKind::PaidTwice { other: a })], "{earlier}");
        assert!(seen.handled_paid().is_empty(), "{earlier}");
    }
}

/// A ledger whose look-ups at the other gateways wait for one another before and after they
/// read: two paid events both read before either writes, and both write before either reads
/// again, the truest race there is.
#[derive(Debug)]
struct Lockstep {
    inner: MemoryLedger,
    barrier: tokio::sync::Barrier,
}

#[gerbang_core::async_trait]
impl Ledger for Lockstep {
    async fn record(&self, payment: &WatchedPayment) -> Result<bool, Error> {
        self.inner.record(payment).await
    }
    async fn begin_create(&self, payment: &WatchedPayment) -> Result<Begin, Error> {
        self.inner.begin_create(payment).await
    }
    async fn find_by_reference(&self, provider: ProviderId, reference: &str) -> Result<Option<WatchedPayment>, Error> {
        self.inner.find_by_reference(provider, reference).await
    }
    async fn find_by_gateway_id(&self, provider: ProviderId, id: &str) -> Result<Option<WatchedPayment>, Error> {
        self.inner.find_by_gateway_id(provider, id).await
    }
    async fn find_at_other_gateways(
        &self,
        provider: ProviderId,
        reference: &str,
    ) -> Result<Vec<WatchedPayment>, Error> {
        self.barrier.wait().await;
        let found = self.inner.find_at_other_gateways(provider, reference).await;
        self.barrier.wait().await;
        found
    }
    async fn due(&self, now: OffsetDateTime, limit: usize, lease: Duration) -> Result<Vec<WatchedPayment>, Error> {
        self.inner.due(now, limit, lease).await
    }
    async fn list(&self, limit: usize) -> Result<Vec<WatchedPayment>, Error> {
        self.inner.list(limit).await
    }
}

#[tokio::test]
async fn two_paid_events_racing_both_go_to_mismatch_and_nothing_is_handled() {
    let (a, b) = (ProviderId::CashIn, ProviderId::Qris);
    let ledger = Arc::new(Lockstep { inner: MemoryLedger::new(), barrier: tokio::sync::Barrier::new(2) });
    for record in [attempt(a, WatchState::Pending), attempt(b, WatchState::Pending)] {
        ledger.record(&record).await.unwrap();
    }
    let seen = Seen::default();
    let receiver = receiver(ledger.clone(), &seen);
    let (at_a, at_b) = tokio::join!(
        receiver.dispatch(event(a, PaymentStatus::Paid)),
        receiver.dispatch(event(b, PaymentStatus::Paid))
    );
    assert!(matches!(at_a.outcome, Outcome::Mismatch(_)), "{:?}", at_a.outcome);
    assert!(matches!(at_b.outcome, Outcome::Mismatch(_)), "{:?}", at_b.outcome);
    assert!(seen.handled_paid().is_empty(), "never handled twice; here not at all: a person decides");
    let mut kinds = seen.mismatches();
    kinds.sort_by_key(|(gateway, _)| *gateway);
    let mut expected = vec![(a, MismatchKind::PaidTwice { other: b }), (b, MismatchKind::PaidTwice { other: a })];
    expected.sort_by_key(|(gateway, _)| *gateway);
    assert_eq!(kinds, expected);
    assert_eq!(state(ledger.as_ref(), a).await, WatchState::Mismatch);
    assert_eq!(state(ledger.as_ref(), b).await, WatchState::Mismatch);
}

/// One delivery of the generated sequence: which gateway, paid or pending.
type Step = (usize, bool);

/// Events of `ORDER` at 2–3 gateways, paid or pending, in any order, each possibly delivered
/// several times.
fn steps() -> impl Strategy<Value = (usize, Vec<Step>, bool)> {
    (2_usize..=3).prop_flat_map(|gateways| {
        (Just(gateways), prop::collection::vec((0..gateways, any::<bool>()), 1..14), any::<bool>())
    })
}

/// Delivers `steps` to a fresh receiver, one after another or all at once; checks that `handle`
/// sees paid at most once, each paid event reaches the handler or `mismatch` exactly once, and
/// (one after another) that every paid event after the first is a `PaidTwice` mismatch.
fn run(gateways: usize, steps: &[Step], concurrent: bool) -> Result<(), TestCaseError> {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let seen = Seen::default();
    runtime.block_on(async {
        let records: Vec<WatchedPayment> =
            GATEWAYS[..gateways].iter().map(|g| attempt(*g, WatchState::Pending)).collect();
        let ledger = ledger_with(&records).await;
        let receiver = receiver(ledger, &seen);
        let status = |paid: bool| if paid { PaymentStatus::Paid } else { PaymentStatus::Pending };
        if concurrent {
            let all = steps.iter().map(|(g, paid)| {
                let receiver = receiver.clone();
                let event = event(GATEWAYS[*g], status(*paid));
                tokio::spawn(async move { receiver.dispatch(event).await })
            });
            for delivery in futures_util::future::join_all(all).await {
                let delivery = delivery.unwrap();
                prop_assert_eq!(delivery.ack.status, 200, "{:?}", delivery.outcome);
            }
        } else {
            for (g, paid) in steps {
                let delivery = receiver.dispatch(event(GATEWAYS[*g], status(*paid))).await;
                prop_assert_eq!(delivery.ack.status, 200, "{:?}", delivery.outcome);
            }
        }
        Ok(())
    })?;
    let paid: BTreeSet<ProviderId> = steps.iter().filter(|(_, paid)| *paid).map(|(g, _)| GATEWAYS[*g]).collect();
    let handled = seen.handled_paid();
    let mismatches = seen.mismatches();
    prop_assert!(handled.len() <= 1, "handle saw paid {} times: {:?}", handled.len(), handled);
    // Each paid event (a gateway's paid news, however often delivered) reached one of the two, once.
    let mut reached: Vec<ProviderId> = handled.iter().copied().chain(mismatches.iter().map(|(g, _)| *g)).collect();
    reached.sort();
    prop_assert_eq!(reached, paid.iter().copied().collect::<Vec<_>>());
    for (gateway, kind) in &mismatches {
        let MismatchKind::PaidTwice { other } = kind else { return Err(TestCaseError::fail(format!("{kind:?}"))) };
        prop_assert!(other != gateway && paid.contains(other), "{} paid twice with {}", gateway, other);
    }
    if !concurrent {
        // One after another, the first paid gateway is handled and every later one is a mismatch.
        let first = steps.iter().find(|(_, paid)| *paid).map(|(g, _)| GATEWAYS[*g]);
        prop_assert_eq!(handled.first().copied(), first);
        prop_assert_eq!(mismatches.len(), paid.len().saturating_sub(1));
    }
    Ok(())
}

#[test]
fn interleaved_paid_and_pending_events_at_several_gateways_are_handled_paid_at_most_once() {
    let mut runner = TestRunner::new(Config { cases: 96, ..Config::default() });
    runner.run(&steps(), |(gateways, steps, concurrent)| run(gateways, &steps, concurrent)).unwrap();
}
