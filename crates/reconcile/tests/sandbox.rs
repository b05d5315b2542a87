//! The reconciler against the sandbox over real HTTP: payments whose webhooks were lost (or that
//! have none) reach the handler once, by reconciliation; a webhook arriving afterwards is a
//! duplicate; a create whose answer was cut is resolved; background checks never take the
//! merchant's share of the Cuan10pay budget.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests may unwrap: see clippy.toml.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use gerbang_cashin::{CashinClient, CashinConfig};
use gerbang_ciputra::{CiputraClient, CiputraConfig};
use gerbang_core::inbox::MemoryInbox;
use gerbang_core::ledger::{Ledger, MemoryLedger, WatchState, Watched, WatchedPayment};
use gerbang_core::{Bank, Channel, Error, Money, PaymentProvider, PaymentRequest, ProviderId};
use gerbang_crypto_invoice::{CryptoInvoiceClient, CryptoInvoiceConfig};
use gerbang_cuan10pay::{Cuan10payClient, Cuan10payConfig};
use gerbang_qris::{QrisClient, QrisConfig};
use gerbang_reconcile::{CheckOutcome, Reconciler};
use gerbang_sandbox::{DeliveryPlan, Sandbox, SandboxHandle, cashin, ciputra, crypto_invoice, cuan10pay, qris};
use gerbang_webhooks::{Mismatch, Receiver, handler_fn};

/// What the merchant's handler saw: each event's dedup key, as many times as it was called.
#[derive(Clone, Default)]
struct Seen {
    events: Arc<Mutex<Vec<String>>>,
    mismatches: Arc<Mutex<Vec<String>>>,
}

impl Seen {
    fn calls(&self, provider: ProviderId) -> usize {
        self.events.lock().unwrap().iter().filter(|k| k.starts_with(&format!("{provider}:"))).count()
    }
}

struct MismatchCounting(Seen);

#[gerbang_core::async_trait]
impl gerbang_webhooks::Handler for MismatchCounting {
    async fn handle(&self, event: &gerbang_core::WebhookEvent) -> Result<(), gerbang_webhooks::HandlerError> {
        self.0.events.lock().unwrap().push(event.dedup_key().unwrap());
        Ok(())
    }
    async fn mismatch(&self, mismatch: &Mismatch) -> Result<(), gerbang_webhooks::HandlerError> {
        self.0.mismatches.lock().unwrap().push(mismatch.to_string());
        Ok(())
    }
}

struct Clients {
    cuan10pay: Cuan10payClient,
    cashin: CashinClient,
    qris: QrisClient,
    crypto: CryptoInvoiceClient,
    ciputra: CiputraClient,
}

fn clients(sandbox: &SandboxHandle, cashin_base: Option<String>) -> Clients {
    let base = |p| sandbox.base_url(p);
    Clients {
        cuan10pay: Cuan10payClient::new(
            Cuan10payConfig::builder(cuan10pay::API_KEY, cuan10pay::PRIVATE_KEY)
                .base_url(base(ProviderId::Cuan10pay))
                .build()
                .unwrap(),
        ),
        cashin: CashinClient::new(
            CashinConfig::builder(cashin::CLIENT_ID, cashin::SECRET_KEY)
                .base_url(cashin_base.unwrap_or_else(|| base(ProviderId::CashIn)))
                .public_key_pem(cashin::public_key_pem())
                .build()
                .unwrap(),
        ),
        qris: QrisClient::new(QrisConfig::builder(qris::API_KEY).base_url(base(ProviderId::Qris)).build().unwrap()),
        crypto: CryptoInvoiceClient::new(
            CryptoInvoiceConfig::builder(crypto_invoice::PUBLIC_KEY, crypto_invoice::PRIVATE_KEY)
                .base_url(base(ProviderId::CryptoInvoice))
                .test_mode(true)
                .build()
                .unwrap(),
        ),
        ciputra: CiputraClient::new(
            CiputraConfig::builder(ciputra::API_KEY, ciputra::API_SECRET)
                .base_url(base(ProviderId::Ciputra))
                .build()
                .unwrap(),
        ),
    }
}

impl Clients {
    fn all(&self) -> Vec<Arc<dyn PaymentProvider>> {
        vec![
            Arc::new(self.cuan10pay.clone()),
            Arc::new(self.cashin.clone()),
            Arc::new(self.qris.clone()),
            Arc::new(self.crypto.clone()),
            Arc::new(self.ciputra.clone()),
        ]
    }
}

/// An order each gateway accepts, for 150 000 rupiah.
fn order(provider: ProviderId, reference: &str, webhooks: &str) -> PaymentRequest {
    let b = PaymentRequest::builder(reference, Money::idr(150_000));
    let b = match provider {
        ProviderId::Cuan10pay => b.channel(Channel::Qris),
        ProviderId::CashIn => b
            .channel(Channel::Qris)
            .customer_id("CUST-42")
            .customer_phone("081234567890")
            .return_url("https://shop.example/orders/42"),
        ProviderId::CryptoInvoice => {
            b.customer_email("budi@example.com").callback_url(format!("{webhooks}/crypto-invoice"))
        }
        ProviderId::Ciputra => b
            .channel(Channel::VirtualAccount(Bank::Bca))
            .customer_name("Budi")
            .callback_url(format!("{webhooks}/ciputra")),
        _ => b,
    };
    b.build().unwrap()
}

struct World {
    sandbox: SandboxHandle,
    clients: Clients,
    ledger: Arc<dyn Ledger>,
    receiver: Receiver,
    seen: Seen,
    webhooks: String,
}

/// A sandbox whose webhooks go to a receiver (axum, on loopback) sharing one ledger with the
/// reconciler. The answers of Cash In's first `cut_cashin_creates` creates are lost on the way
/// back (a proxy between the client and the sandbox).
async fn world(cut_cashin_creates: usize) -> (World, gerbang_testkit::Cutting) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let webhooks = format!("http://{}/webhooks", listener.local_addr().unwrap());
    let mut builder = Sandbox::builder().cuan10pay_rate_limit(None);
    for provider in [ProviderId::Cuan10pay, ProviderId::CashIn] {
        builder = builder.webhook_url(provider, format!("{webhooks}/{provider}"));
    }
    let sandbox = builder.start().await.unwrap();
    let cutting =
        gerbang_testkit::Cutting::start(sandbox.addr(), gerbang_cashin::CHECKOUT_PATH, cut_cashin_creates).await;
    let cashin_base = url::Url::parse(&sandbox.base_url(ProviderId::CashIn)).unwrap();
    let clients = clients(&sandbox, Some(cutting.url(cashin_base.path())));
    let ledger: Arc<dyn Ledger> = Arc::new(MemoryLedger::new());
    let seen = Seen::default();
    let receiver = Receiver::builder(Arc::new(MemoryInbox::new()))
        .providers(clients.all())
        .ledger(Arc::clone(&ledger))
        .build(MismatchCounting(seen.clone()));
    let app = gerbang_webhooks::router(receiver.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (World { sandbox, clients, ledger, receiver, seen, webhooks }, cutting)
}

fn reconciler(world: &World) -> Reconciler {
    Reconciler::builder(&world.receiver)
        .pace(Duration::from_millis(50))
        .poll_every(Duration::from_millis(20))
        .build()
        .unwrap()
}

/// Runs passes until `done` holds, or panics after 20 s.
async fn reconcile_until(reconciler: &Reconciler, mut done: impl FnMut() -> bool) -> Vec<CheckOutcome> {
    let mut outcomes = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(tokio::time::Instant::now() < deadline, "not reconciled in 20 s: {outcomes:?}");
        outcomes.extend(reconciler.run_once().await.unwrap().into_iter().map(|c| c.outcome));
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    outcomes
}

async fn record(ledger: &dyn Ledger, provider: ProviderId, reference: &str) -> WatchedPayment {
    ledger.find_by_reference(provider, reference).await.unwrap().expect("recorded")
}

#[tokio::test]
async fn every_gateway_paid_without_its_webhook_reaches_the_handler_once_by_reconciliation() {
    let (world, _) = world(0).await;
    let ledger = &world.ledger;
    let mut ids = HashMap::new();
    for client in world.clients.all() {
        let provider = client.id();
        let reference = format!("REC-{}", provider.as_str().to_uppercase());
        let watched = Watched::new(Arc::clone(&client), Arc::clone(ledger));
        let payment = watched.create_payment(&order(provider, &reference, &world.webhooks)).await.unwrap();
        assert_eq!(record(ledger.as_ref(), provider, &reference).await.state, WatchState::Pending, "{provider}");
        let id = payment.lookup_id(client.capabilities().lookup).unwrap().to_owned();
        // Paid at the gateway; its webhook lost for good (QRIS has none at all).
        let plan = DeliveryPlan::new().drop(provider != ProviderId::Qris);
        world.sandbox.pay_with(provider, &id, plan).await.unwrap();
        ids.insert(provider, (reference, id));
    }
    let reconciler = reconciler(&world);
    let seen = world.seen.clone();
    reconcile_until(&reconciler, || ProviderId::ALL.iter().all(|p| seen.calls(*p) >= 1)).await;
    for provider in ProviderId::ALL {
        assert_eq!(seen.calls(provider), 1, "{provider}: one handler call");
        let (reference, _) = &ids[&provider];
        let record = record(ledger.as_ref(), provider, reference).await;
        assert_eq!((record.state, record.next_check), (WatchState::Paid, None), "{provider}: paid, no longer checked");
    }
    assert!(seen.mismatches.lock().unwrap().is_empty(), "the amounts agree: {:?}", seen.mismatches.lock().unwrap());

    // The lost webhooks, arriving after all: acknowledged, not handled again.
    for provider in [ProviderId::Cuan10pay, ProviderId::CashIn] {
        let (_, id) = &ids[&provider];
        world.sandbox.resend_webhook(provider, id, DeliveryPlan::new()).await.unwrap();
    }
    // Four dropped before (QRIS sends none), two now.
    let deliveries = world.sandbox.wait_for_deliveries(6, Duration::from_secs(10)).await.unwrap();
    let answered: Vec<_> = deliveries.iter().filter(|d| !d.dropped).collect();
    assert_eq!(answered.len(), 2, "{deliveries:?}");
    assert!(answered.iter().all(|d| d.status == Some(200)), "acked: {deliveries:?}");
    for provider in ProviderId::ALL {
        assert_eq!(seen.calls(provider), 1, "{provider}: still one handler call");
    }
    // Nothing left to check.
    assert!(reconciler.run_once().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_webhook_first_then_a_check_calls_the_handler_once_and_stops_the_checks() {
    let (world, _) = world(0).await;
    let watched = Watched::new(Arc::new(world.clients.cuan10pay.clone()), Arc::clone(&world.ledger));
    let payment = watched.create_payment(&order(ProviderId::Cuan10pay, "REC-WEBHOOK-FIRST", "")).await.unwrap();
    let id = payment.provider_reference.clone().unwrap();
    world.sandbox.pay(ProviderId::Cuan10pay, &id).await.unwrap();
    world.sandbox.wait_for_deliveries(1, Duration::from_secs(10)).await.unwrap();
    assert_eq!(world.seen.calls(ProviderId::Cuan10pay), 1);
    let record = record(world.ledger.as_ref(), ProviderId::Cuan10pay, "REC-WEBHOOK-FIRST").await;
    assert_eq!(record.state, WatchState::Paid, "the webhook settled the record");
    assert!(reconciler(&world).run_once().await.unwrap().is_empty(), "a settled payment is not checked");
    assert_eq!(world.seen.calls(ProviderId::Cuan10pay), 1);
}

#[tokio::test]
async fn a_cash_in_create_whose_answer_was_cut_is_resolved_by_reconciliation() {
    // The first create reaches the sandbox; its answer never comes back.
    let (world, cutting) = world(1).await;
    let cashin: Arc<dyn PaymentProvider> = Arc::new(world.clients.cashin.clone());
    let watched = Watched::new(Arc::clone(&cashin), Arc::clone(&world.ledger));
    let lost = watched.create_payment(&order(ProviderId::CashIn, "REC-CUT", "")).await.unwrap_err();
    assert!(matches!(lost, Error::OutcomeUnknown { .. }), "{lost:?}");
    assert_eq!(cutting.cut(), 1);
    assert_eq!(record(world.ledger.as_ref(), ProviderId::CashIn, "REC-CUT").await.state, WatchState::Unknown);
    // And one that was never made at all, recorded by hand as unknown.
    let ghost = WatchedPayment::new(ProviderId::CashIn, "REC-GHOST", Money::idr(150_000), WatchState::Unknown, now());
    world.ledger.record(&ghost).await.unwrap();

    let reconciler = reconciler(&world);
    let ledger = Arc::clone(&world.ledger);
    let states = move || {
        let ledger = Arc::clone(&ledger);
        async move {
            let cut = ledger.find_by_reference(ProviderId::CashIn, "REC-CUT").await.unwrap().unwrap().state;
            let ghost = ledger.find_by_reference(ProviderId::CashIn, "REC-GHOST").await.unwrap().unwrap().state;
            (cut, ghost)
        }
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while states().await != (WatchState::Pending, WatchState::NotCreated) {
        assert!(tokio::time::Instant::now() < deadline, "not resolved: {:?}", states().await);
        reconciler.run_once().await.unwrap();
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    let ghost = record(world.ledger.as_ref(), ProviderId::CashIn, "REC-GHOST").await;
    assert!(ghost.note.unwrap().contains("did not take effect"));
    assert_eq!(world.seen.calls(ProviderId::CashIn), 0, "an unknown create found pending is no event");

    // The payment did happen: once paid (its notification lost), reconciliation hands it on.
    world.sandbox.pay_with(ProviderId::CashIn, "REC-CUT", DeliveryPlan::new().drop(true)).await.unwrap();
    let seen = world.seen.clone();
    reconcile_until(&reconciler, || seen.calls(ProviderId::CashIn) == 1).await;
    assert_eq!(record(world.ledger.as_ref(), ProviderId::CashIn, "REC-CUT").await.state, WatchState::Paid);
}

#[tokio::test]
async fn a_cuan10pay_create_whose_answer_was_cut_stays_unknown_with_a_note() {
    let (world, _) = world(0).await;
    // Cuan10pay looks deposits up by its own id, which only the lost answer carried.
    let mut lost =
        WatchedPayment::new(ProviderId::Cuan10pay, "REC-LOST", Money::idr(150_000), WatchState::Unknown, now());
    lost.note = Some("no answer".into());
    world.ledger.record(&lost).await.unwrap();
    let reconciler = reconciler(&world);
    let ledger = Arc::clone(&world.ledger);
    let mut outcomes = Vec::new();
    for _ in 0..50 {
        outcomes.extend(reconciler.run_once().await.unwrap().into_iter().map(|c| c.outcome));
        if outcomes.contains(&CheckOutcome::Unresolvable) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    assert!(outcomes.contains(&CheckOutcome::Unresolvable), "{outcomes:?}");
    let record = ledger.find_by_reference(ProviderId::Cuan10pay, "REC-LOST").await.unwrap().unwrap();
    assert_eq!((record.state, record.next_check), (WatchState::Unknown, None));
    assert!(record.note.unwrap().contains("dashboard"));
}

#[tokio::test]
async fn with_a_budget_of_10_per_hour_the_checks_wait_and_the_merchants_calls_go_through() {
    let (world, _) = world(0).await;
    // The payments were made earlier, by a client of its own.
    let creator = Watched::new(Arc::new(world.clients.cuan10pay.clone()), Arc::clone(&world.ledger));
    let mut ids = Vec::new();
    for n in 0..30 {
        let payment =
            creator.create_payment(&order(ProviderId::Cuan10pay, &format!("REC-BUDGET-{n}"), "")).await.unwrap();
        ids.push(payment.provider_reference.unwrap());
    }
    // Now the receiver's and the merchant's calls share a budget of 10 per hour.
    let budgeted = Cuan10payClient::new(
        Cuan10payConfig::builder(cuan10pay::API_KEY, cuan10pay::PRIVATE_KEY)
            .base_url(world.sandbox.base_url(ProviderId::Cuan10pay))
            .rate_budget_per_hour(10)
            .build()
            .unwrap(),
    );
    let receiver = Receiver::builder(Arc::new(MemoryInbox::new()))
        .provider(Arc::new(budgeted.clone()))
        .ledger(Arc::clone(&world.ledger))
        .build(handler_fn(|_| async { Ok::<(), std::io::Error>(()) }));
    let reconciler = Reconciler::builder(&receiver).pace(Duration::from_millis(10)).batch(100).build().unwrap();
    let mut checked = std::collections::BTreeSet::new();
    for _ in 0..10 {
        for check in reconciler.run_once().await.unwrap() {
            match check.outcome {
                CheckOutcome::Unchanged { .. } => assert!(checked.insert(check.reference)),
                CheckOutcome::Waiting | CheckOutcome::Deferred => {}
                other => panic!("unexpected {other:?}"),
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(checked.len(), 8, "background checks stop at 80 % of the budget: {checked:?}");
    // Every payment now waits for the budget to come back (T = 6 minutes per call).
    for n in 0..30 {
        let record =
            world.ledger.find_by_reference(ProviderId::Cuan10pay, &format!("REC-BUDGET-{n}")).await.unwrap().unwrap();
        assert!(record.next_check.unwrap() > now() + time::Duration::minutes(5), "{record:?}");
        assert_eq!(record.checks, u32::from(checked.contains(&record.reference)));
    }
    // The merchant's own calls still go through: the reserve is theirs.
    for id in &ids[..2] {
        budgeted.payment_status(id).await.expect("the merchant's status call goes through");
    }
    assert!(matches!(budgeted.payment_status(&ids[2]).await, Err(Error::BudgetSpent { .. })), "and the budget ends");
}

fn now() -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc()
}

#[tokio::test]
async fn a_paid_event_with_another_amount_than_recorded_is_a_mismatch_not_a_payment() {
    let (world, _) = world(0).await;
    let watched = Watched::new(Arc::new(world.clients.cuan10pay.clone()), Arc::clone(&world.ledger));
    let payment = watched.create_payment(&order(ProviderId::Cuan10pay, "REC-MISMATCH", "")).await.unwrap();
    // The merchant's record says 149 000: the gateway's 150 000 disagrees.
    let mut record = record(world.ledger.as_ref(), ProviderId::Cuan10pay, "REC-MISMATCH").await;
    record.amount = Money::idr(149_000);
    world.ledger.record(&record).await.unwrap();
    let id = payment.provider_reference.unwrap();
    world.sandbox.pay_with(ProviderId::Cuan10pay, &id, DeliveryPlan::new().copies(3)).await.unwrap();
    let deliveries = world.sandbox.wait_for_deliveries(3, Duration::from_secs(10)).await.unwrap();
    assert!(deliveries.iter().all(|d| d.status == Some(200)), "acknowledged: {deliveries:?}");
    assert_eq!(world.seen.calls(ProviderId::Cuan10pay), 0, "never passed on as paid");
    let mismatches = world.seen.mismatches.lock().unwrap().clone();
    assert_eq!(mismatches.len(), 1, "reported once: {mismatches:?}");
    assert!(mismatches[0].contains("150000 IDR") && mismatches[0].contains("149000 IDR"), "{mismatches:?}");
    let record = world.ledger.find_by_reference(ProviderId::Cuan10pay, "REC-MISMATCH").await.unwrap().unwrap();
    assert_eq!((record.state, record.next_check), (WatchState::Mismatch, None));
}

#[tokio::test]
async fn where_the_ledger_is_the_record_a_paid_event_it_does_not_know_is_a_mismatch() {
    let (world, _) = world(0).await;
    let seen = Seen::default();
    let strict = Receiver::builder(Arc::new(MemoryInbox::new()))
        .provider(Arc::new(world.clients.qris.clone()))
        .ledger(Arc::clone(&world.ledger))
        .require_known_payments(true)
        .build(MismatchCounting(seen.clone()));
    // A QRIS invoice made behind the ledger's back, paid, then learnt of by a status check.
    let invoice = world.clients.qris.create_payment(&order(ProviderId::Qris, "REC-STRAY", "")).await.unwrap();
    let id = invoice.provider_reference.unwrap();
    world.sandbox.pay(ProviderId::Qris, &id).await.unwrap();
    let paid = world.clients.qris.payment_status(&id).await.unwrap();
    let delivery = strict.dispatch(gerbang_core::WebhookEvent::from_payment(&paid)).await;
    assert!(matches!(delivery.outcome, gerbang_webhooks::Outcome::Mismatch(_)), "{delivery:?}");
    assert_eq!((seen.calls(ProviderId::Qris), seen.mismatches.lock().unwrap().len()), (0, 1));
    assert!(seen.mismatches.lock().unwrap()[0].contains("does not know"));
}
