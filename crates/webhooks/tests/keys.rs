//! The receiver keys each event by its payment: a genuine notification that names no payment is
//! refused with the gateway's rejection (never claimed as `cashin::paid`, which would drop every
//! later such payment as a duplicate), different payments are each handled, and two unknown
//! states of one payment are two events.
#![allow(clippy::unwrap_used)] // Test code.

use std::sync::{Arc, Mutex};

use gerbang_cashin::{CashinClient, CashinConfig, NotificationSigner, PrivateKey, format_timestamp};
use gerbang_core::http::{HeaderMap, Method};
use gerbang_core::inbox::MemoryInbox;
use gerbang_core::{Ack, Clock, FixedClock, Payment, PaymentProvider, PaymentStatus, ProviderId, WebhookEvent};
use gerbang_webhooks::{Outcome, Receiver, handler_fn};

const PATH: &str = "/v1.0/debit/notify";
const NOW: i64 = 1_730_689_200;

/// Plays Cash In: signs notifications with a key of its own, whose public half the receiver's
/// Cash In client holds.
struct CashIn {
    signer: NotificationSigner,
    client: Arc<dyn PaymentProvider>,
    timestamp: String,
}

fn cash_in() -> CashIn {
    let key = PrivateKey::generate(2048).unwrap();
    let clock = Arc::new(FixedClock::at_unix(NOW));
    let config = CashinConfig::builder("CID-keys-test", "keys-test-secret")
        .public_key(key.public_key())
        .clock(clock.clone())
        .build()
        .unwrap();
    CashIn {
        signer: NotificationSigner::new(key, "CID-keys-test"),
        client: Arc::new(CashinClient::new(config)),
        timestamp: format_timestamp(clock.now()),
    }
}

impl CashIn {
    /// A paid notification, correctly signed, with these two ids as sent.
    fn notification(&self, partner_reference: &str, reference: &str) -> (HeaderMap, Vec<u8>) {
        let body = serde_json::json!({
            "originalPartnerReferenceNo": partner_reference,
            "originalReferenceNo": reference,
            "latestTransactionStatus": "00",
            "transactionStatusDesc": "Success",
            "amount": {"value": "150000.00", "currency": "IDR"},
        })
        .to_string()
        .into_bytes();
        let headers = self.signer.headers(PATH, &body, &self.timestamp).unwrap();
        (headers, body)
    }
}

/// A receiver for `gateways` recording the events its handler was given.
fn recording(gateways: Vec<Arc<dyn PaymentProvider>>) -> (Receiver, Arc<Mutex<Vec<WebhookEvent>>>) {
    let handled = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&handled);
    let receiver =
        Receiver::builder(Arc::new(MemoryInbox::new())).providers(gateways).build(handler_fn(move |event| {
            let seen = Arc::clone(&seen);
            async move {
                seen.lock().unwrap().push(event);
                Ok::<(), std::io::Error>(())
            }
        }));
    (receiver, handled)
}

#[tokio::test]
async fn a_signed_cash_in_notification_naming_no_payment_is_refused_and_never_handled() {
    let cash_in = cash_in();
    let (receiver, handled) = recording(vec![Arc::clone(&cash_in.client)]);
    for (partner_reference, reference) in [("", ""), (" ", " "), ("", "\t"), ("  ", "")] {
        let (headers, body) = cash_in.notification(partner_reference, reference);
        let delivery = receiver.receive("cashin", Method::POST, PATH, &headers, &body).await;
        assert!(
            matches!(&delivery.outcome, Outcome::Rejected(gerbang_core::Error::Decode { context }) if context.contains("names no payment")),
            "{partner_reference:?}/{reference:?}: {delivery:?}"
        );
        // Cash In's own answer to a malformed notification: a 4xx, so that it does not retry.
        assert_eq!(delivery.ack, gerbang_cashin::ack_invalid_field_format());
    }
    assert!(handled.lock().unwrap().is_empty(), "the handler was never called");

    // A genuine payment after them is handled: nothing was claimed in their name.
    let (headers, body) = cash_in.notification("PAY-1", "ORD-1");
    let delivery = receiver.receive("cashin", Method::POST, PATH, &headers, &body).await;
    assert!(matches!(delivery.outcome, Outcome::Handled(_)), "{delivery:?}");
    assert_eq!(handled.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn two_genuine_cash_in_payments_are_both_handled_even_with_a_blank_gateway_id() {
    let cash_in = cash_in();
    let (receiver, handled) = recording(vec![Arc::clone(&cash_in.client)]);
    // Two payments Cash In numbered, and two it sent with a blank id of its own: each blank one
    // is named by the merchant's reference, never by its blank id (which made both `cashin::paid`).
    let payments = [("PAY-1", "ORD-1"), ("PAY-2", "ORD-2"), ("", "ORD-3"), (" ", "ORD-4")];
    for (partner_reference, reference) in payments {
        let (headers, body) = cash_in.notification(partner_reference, reference);
        let delivery = receiver.receive("cashin", Method::POST, PATH, &headers, &body).await;
        assert!(matches!(delivery.outcome, Outcome::Handled(_)), "{reference}: {delivery:?}");
        assert_eq!(delivery.ack.status, 200);
        // Its retry is a duplicate, acknowledged.
        let again = receiver.receive("cashin", Method::POST, PATH, &headers, &body).await;
        assert!(matches!(again.outcome, Outcome::Duplicate(_)), "{reference}: {again:?}");
    }
    let keys: Vec<String> = handled.lock().unwrap().iter().map(|e| e.dedup_key().unwrap()).collect();
    assert_eq!(keys, ["cashin:PAY-1:paid", "cashin:PAY-2:paid", "cashin:ref:ORD-3:paid", "cashin:ref:ORD-4:paid"]);
}

#[tokio::test]
async fn two_unknown_states_of_one_payment_are_both_handled() {
    // Ciputra's `on_hold`, then `chargeback`: neither is a status the mapping knows. As a status
    // check hands them to the receiver (the reconciler's path; Ciputra's callback takes it too).
    let (receiver, handled) = recording(Vec::new());
    let event = |word: &str| {
        let mut payment = Payment::new(ProviderId::Ciputra, PaymentStatus::Unknown(word.into()), word);
        payment.provider_reference = Some("CIP-ORDER-9".into());
        payment.reference = Some("ORD-9".into());
        WebhookEvent::from_payment(&payment)
    };
    for word in ["on_hold", "chargeback"] {
        let delivery = receiver.dispatch(event(word)).await;
        assert!(matches!(delivery.outcome, Outcome::Handled(_)), "{word}: {delivery:?}");
    }
    let again = receiver.dispatch(event("chargeback")).await;
    assert!(matches!(again.outcome, Outcome::Duplicate(_)), "{again:?}");
    let words: Vec<String> = handled.lock().unwrap().iter().map(|e| e.provider_status.clone()).collect();
    assert_eq!(words, ["on_hold", "chargeback"]);
}

#[tokio::test]
async fn an_event_naming_no_payment_is_refused_by_dispatch_too() {
    // The reconciler's path: a status answer with blank ids is not claimed either.
    let (receiver, handled) = recording(Vec::new());
    let mut blank = WebhookEvent::new(ProviderId::Ciputra, PaymentStatus::Paid, "paid", Ack::text(200, "OK"));
    blank.provider_reference = Some(String::new());
    blank.reference = Some(" ".into());
    let delivery = receiver.dispatch(blank).await;
    assert!(matches!(delivery.outcome, Outcome::Rejected(_)), "{delivery:?}");
    assert!((400..500).contains(&delivery.ack.status), "{delivery:?}");
    assert!(handled.lock().unwrap().is_empty());
}
