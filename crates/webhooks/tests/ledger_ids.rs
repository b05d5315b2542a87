//! The receiver looks an event's gateway id up as a gateway id and its reference as a
//! reference: a merchant reference that is another payment's gateway id never turns a genuine
//! payment into a mismatch (issue 19, item 4).
#![allow(clippy::unwrap_used)] // Test code.

use std::sync::{Arc, Mutex};

use gerbang_core::PaymentProvider;
use gerbang_core::http::{HeaderMap, Method};
use gerbang_core::inbox::MemoryInbox;
use gerbang_core::ledger::{Ledger, MemoryLedger, WatchState, WatchedPayment};
use gerbang_core::time::OffsetDateTime;
use gerbang_core::{Money, ProviderId};
use gerbang_crypto_invoice::{CryptoInvoiceClient, CryptoInvoiceConfig};
use gerbang_webhooks::{Handler, HandlerError, Mismatch, MismatchKind, Outcome, Receiver};

const PRIVATE_KEY: &str = "ledger-ids-private-key";

fn crypto_invoice() -> Arc<dyn PaymentProvider> {
    let config = CryptoInvoiceConfig::builder("ledger-ids-public-key", PRIVATE_KEY).build().unwrap();
    Arc::new(CryptoInvoiceClient::new(config))
}

/// The gateway's genuine paid callback of invoice `id`, the merchant's `order_id`, for `price` rupiah.
fn callback(id: u64, order_id: &str, price: u64) -> String {
    serde_json::json!({
        "privatekey": PRIVATE_KEY,
        "id": id,
        "order_id": order_id,
        "price_amount": price.to_string(),
        "price_currency": "IDR",
        "amount": "9.42",
        "amount_currency": "USDT",
        "test": 0,
    })
    .to_string()
}

/// What reached the handler: `handle`d references and mismatches.
#[derive(Clone, Default)]
struct Seen {
    handled: Arc<Mutex<Vec<Option<String>>>>,
    mismatches: Arc<Mutex<Vec<MismatchKind>>>,
}

#[gerbang_core::async_trait]
impl Handler for Seen {
    async fn handle(&self, event: &gerbang_core::WebhookEvent) -> Result<(), HandlerError> {
        self.handled.lock().unwrap().push(event.reference.clone());
        Ok(())
    }

    async fn mismatch(&self, mismatch: &Mismatch) -> Result<(), HandlerError> {
        self.mismatches.lock().unwrap().push(mismatch.kind.clone());
        Ok(())
    }
}

fn pending(reference: &str, gateway_id: Option<&str>, rupiah: i64) -> WatchedPayment {
    let mut record = WatchedPayment::new(
        ProviderId::CryptoInvoice,
        reference,
        Money::idr(rupiah),
        WatchState::Pending,
        OffsetDateTime::now_utc(),
    );
    record.provider_reference = gateway_id.map(str::to_owned);
    record
}

async fn receiver_with(records: &[WatchedPayment]) -> (Receiver, Arc<MemoryLedger>, Seen) {
    let ledger = Arc::new(MemoryLedger::new());
    for record in records {
        ledger.record(record).await.unwrap();
    }
    let seen = Seen::default();
    let receiver = Receiver::builder(Arc::new(MemoryInbox::new()))
        .provider(crypto_invoice())
        .ledger(ledger.clone())
        .require_known_payments(true)
        .build(seen.clone());
    (receiver, ledger, seen)
}

async fn deliver(receiver: &Receiver, body: &str) -> gerbang_webhooks::Delivery {
    receiver
        .receive("crypto-invoice", Method::POST, "/webhooks/crypto-invoice", &HeaderMap::new(), body.as_bytes())
        .await
}

async fn state(ledger: &MemoryLedger, reference: &str) -> WatchState {
    ledger.find_by_reference(ProviderId::CryptoInvoice, reference).await.unwrap().unwrap().state
}

#[tokio::test]
async fn a_reference_that_is_another_invoices_number_does_not_make_its_paid_callback_a_mismatch() {
    // Invoice ORD-A, numbered 100000 by the gateway; then an order whose reference is 100000,
    // for 990 000 (its own invoice not numbered yet, or numbered otherwise).
    let (receiver, ledger, seen) =
        receiver_with(&[pending("ORD-A", Some("100000"), 150_000), pending("100000", None, 990_000)]).await;

    let delivery = deliver(&receiver, &callback(100_000, "ORD-A", 150_000)).await;
    assert!(matches!(delivery.outcome, Outcome::Handled(_)), "the genuine payment is handled: {delivery:?}");
    assert_eq!(delivery.ack.status, 200);
    assert_eq!(*seen.handled.lock().unwrap(), [Some("ORD-A".to_owned())]);
    assert!(seen.mismatches.lock().unwrap().is_empty());
    assert_eq!(state(&ledger, "ORD-A").await, WatchState::Paid);
    assert_eq!(state(&ledger, "100000").await, WatchState::Pending, "the other order is untouched");

    // The other order, paid as its own invoice 100001, is handled too.
    let mut other = pending("100000", Some("100001"), 990_000);
    other.recorded_at = OffsetDateTime::now_utc();
    ledger.record(&other).await.unwrap();
    let delivery = deliver(&receiver, &callback(100_001, "100000", 990_000)).await;
    assert!(matches!(delivery.outcome, Outcome::Handled(_)), "{delivery:?}");
    assert_eq!(state(&ledger, "100000").await, WatchState::Paid);
}

#[tokio::test]
async fn an_underpaid_callback_is_still_a_mismatch_against_its_own_record() {
    let (receiver, ledger, seen) =
        receiver_with(&[pending("ORD-A", Some("100000"), 150_000), pending("100000", None, 15_000)]).await;
    // 15 000 is the other order's amount, not ORD-A's: the id is looked up as an id.
    let delivery = deliver(&receiver, &callback(100_000, "ORD-A", 15_000)).await;
    assert!(matches!(delivery.outcome, Outcome::Mismatch(_)), "{delivery:?}");
    assert!(matches!(seen.mismatches.lock().unwrap()[..], [MismatchKind::Amount { .. }]));
    assert!(seen.handled.lock().unwrap().is_empty());
    assert_eq!(state(&ledger, "ORD-A").await, WatchState::Mismatch);
    assert_eq!(state(&ledger, "100000").await, WatchState::Pending);
}

#[tokio::test]
async fn a_callback_whose_id_and_reference_name_two_payments_is_not_passed_on_as_paid() {
    // Invoice 100000 is ORD-A's in the ledger, but the callback says it is ORD-B's.
    let (receiver, ledger, seen) =
        receiver_with(&[pending("ORD-A", Some("100000"), 150_000), pending("ORD-B", Some("200000"), 150_000)]).await;
    let delivery = deliver(&receiver, &callback(100_000, "ORD-B", 150_000)).await;
    let Outcome::Mismatch(mismatch) = &delivery.outcome else { panic!("{delivery:?}") };
    assert_eq!(mismatch.kind, MismatchKind::Conflict { by_gateway_id: "ORD-A".into() });
    let said = mismatch.to_string();
    assert!(said.contains("100000") && said.contains("ORD-A") && said.contains("ORD-B"), "{said}");
    assert_eq!(delivery.ack.status, 200, "the delivery was genuine: acknowledged");
    assert!(seen.handled.lock().unwrap().is_empty(), "neither order is shipped");
    assert_eq!(state(&ledger, "ORD-A").await, WatchState::Mismatch, "for a person to look at");
    assert_eq!(state(&ledger, "ORD-B").await, WatchState::Pending);
}

#[tokio::test]
async fn an_invoice_the_ledger_holds_by_reference_only_is_found_by_its_reference() {
    // A create whose answer was lost: no gateway id recorded.
    let (receiver, ledger, seen) = receiver_with(&[pending("ORD-L", None, 150_000)]).await;
    let delivery = deliver(&receiver, &callback(300_000, "ORD-L", 150_000)).await;
    assert!(matches!(delivery.outcome, Outcome::Handled(_)), "{delivery:?}");
    assert_eq!(*seen.handled.lock().unwrap(), [Some("ORD-L".to_owned())]);
    let record = ledger.find_by_reference(ProviderId::CryptoInvoice, "ORD-L").await.unwrap().unwrap();
    assert_eq!((record.state, record.provider_reference.as_deref()), (WatchState::Paid, Some("300000")));
}
