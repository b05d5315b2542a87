//! The JSON shapes of the design (what the CLI prints and users store), pinned by snapshots.

use gerbang_core::time::macros::datetime;
use gerbang_core::{Ack, Currency, Decimal, Money, Payment, PaymentStatus, ProviderId, WebhookEvent};

fn paid_payment() -> Payment {
    let mut p = Payment::new(ProviderId::Cuan10pay, PaymentStatus::Paid, "paid");
    p.reference = Some("ORDER-1001".into());
    p.provider_reference = Some("CP-20250928-38B575".into());
    p.amount = Some(Money::idr(10_000));
    p.fee = Some(Money::idr(2_500));
    p.total = Some(Money::idr(12_500));
    p.payment_code = Some("1234567890123456".into());
    p.checkout_url = Some("https://tripay.co.id/checkout/abc123def456".into());
    p.created_at = Some(datetime!(2025-09-28 17:02:30 +07:00));
    p.raw = serde_json::json!({"not": "serialised"}).into();
    p
}

#[test]
fn payment_shape() {
    insta::assert_json_snapshot!(paid_payment());
}

#[test]
fn payment_shape_with_every_optional_field_absent() {
    insta::assert_json_snapshot!(Payment::new(
        ProviderId::CryptoInvoice,
        PaymentStatus::Unknown("partially_paid".into()),
        "partially_paid"
    ));
}

#[test]
fn webhook_event_shape() {
    let mut e = WebhookEvent::new(
        ProviderId::CashIn,
        PaymentStatus::Paid,
        "00",
        Ack::json(200, r#"{"responseCode":"2005600","responseMessage":"Successful"}"#),
    );
    e.reference = Some("TRX-MERCHANT-0001".into());
    e.provider_reference = Some("PAY12345678910".into());
    e.amount = Some(Money::new(Decimal::new(100_000, 2), Currency::IDR).unwrap());
    e.occurred_at = Some(datetime!(2024-11-04 10:00:00 +07:00));
    insta::assert_json_snapshot!(e);
    assert_eq!(
        e.dedup_key().ok().as_deref(),
        Some("cashin:PAY12345678910:paid"),
        "the normalised status, not the raw `00`"
    );
}

#[test]
fn payment_json_round_trips() {
    let mut p = paid_payment();
    let back: Payment = serde_json::from_str(&serde_json::to_string(&p).unwrap()).unwrap();
    p.raw = gerbang_core::RawJson::null(); // the raw answer is not part of the shape
    assert_eq!(back, p);
}
