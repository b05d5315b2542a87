//! The answer parsers against the document's examples and arbitrary input: the examples parse,
//! and nothing ever panics (always an `Error` or a value).
#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests may unwrap: see clippy.toml.

mod common;

use gerbang_core::http::{HeaderMap, StatusCode};
use gerbang_core::transport::HttpResponse;
use gerbang_core::{Error, Money};
use gerbang_qris::{
    Balance, CancelledInvoice, Invoice, InvoiceStatus, Withdrawal, WithdrawalPage, WithdrawalStatus, parse_answer,
};
use proptest::prelude::*;

use common::fixture;

fn response(status: u16, body: Vec<u8>) -> HttpResponse {
    HttpResponse::new(StatusCode::from_u16(status).unwrap_or(StatusCode::OK), HeaderMap::new(), body)
}

fn parse_all(status: u16, body: &[u8]) {
    let r = response(status, body.to_vec());
    let _ = parse_answer::<Balance>("balance", &r);
    let _ = parse_answer::<Invoice>("invoice_status", &r);
    let _ = parse_answer::<CancelledInvoice>("invoice_cancel", &r);
    let _ = parse_answer::<Withdrawal>("withdraw_status", &r);
    let _ = parse_answer::<WithdrawalPage>("withdraw_history", &r);
}

#[test]
fn every_example_answer_of_the_document_parses() {
    let ok = |name: &str| response(200, fixture(name).into_bytes());
    assert_eq!(parse_answer::<Balance>("balance", &ok("balance.json")).unwrap().balance, Money::idr(100_000));
    let created: Invoice = parse_answer("invoice_create", &ok("invoice_create.json")).unwrap();
    assert_eq!((created.invoice_id.as_str(), created.total), ("64c8d9e...", Some(Money::idr(10_123))));
    let status: Invoice = parse_answer("invoice_status", &ok("invoice_status.json")).unwrap();
    assert_eq!(status.status, InvoiceStatus::Pending);
    assert_eq!(status.created_at.unwrap().unix_timestamp(), 1_735_705_800, "2025-01-01 11:30:00 in Jakarta");
    let cancelled: CancelledInvoice = parse_answer("invoice_cancel", &ok("invoice_cancel.json")).unwrap();
    assert_eq!(cancelled.status, InvoiceStatus::Expired);
    let refused = parse_answer::<CancelledInvoice>("invoice_cancel", &ok("invoice_cancel_paid.json")).unwrap_err();
    assert!(
        matches!(refused, Error::Api { message, .. } if message == "Invoice tidak bisa dibatalkan, status saat ini: paid")
    );
    let requested: Withdrawal = parse_answer("withdraw_dana", &ok("withdraw_dana.json")).unwrap();
    assert_eq!(requested.new_balance, Some(Money::idr(899_000)));
    let done: Withdrawal = parse_answer("withdraw_status", &ok("withdraw_status.json")).unwrap();
    assert_eq!((done.status, done.processed_at.unwrap().unix_timestamp()), (WithdrawalStatus::Success, 1_736_950_800));
    let page: WithdrawalPage = parse_answer("withdraw_history", &ok("withdraw_history.json")).unwrap();
    assert_eq!((page.data.len(), page.pagination.total_pages), (1, Some(1)));
}

#[test]
fn serialised_values_read_back_the_same() {
    let ok = |name: &str| response(200, fixture(name).into_bytes());
    let invoice: Invoice = parse_answer("invoice_status", &ok("invoice_status.json")).unwrap();
    assert_eq!(serde_json::from_value::<Invoice>(serde_json::to_value(&invoice).unwrap()).unwrap(), invoice);
    let page: WithdrawalPage = parse_answer("withdraw_history", &ok("withdraw_history.json")).unwrap();
    assert_eq!(serde_json::from_value::<WithdrawalPage>(serde_json::to_value(&page).unwrap()).unwrap(), page);
}

#[test]
fn unknown_status_words_and_fields_are_kept() {
    let body = br#"{"invoice_id":"x","amount":"5000","status":"REFUNDED","qris_image":null,"merchant":"Toko"}"#;
    let invoice: Invoice = parse_answer("invoice_status", &response(200, body.to_vec())).unwrap();
    assert_eq!(invoice.status, InvoiceStatus::Other("REFUNDED".into()));
    assert_eq!(invoice.amount, Money::idr(5_000));
    assert_eq!(invoice.extra["merchant"], "Toko");
}

/// Any JSON value, nested a little, with the field names the parsers look for.
fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<u64>().prop_map(serde_json::Value::from),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(serde_json::Value::from),
        "\\PC{0,16}".prop_map(serde_json::Value::from),
        "-?[0-9]{1,30}(\\.[0-9]{1,30})?".prop_map(serde_json::Value::from),
    ];
    let key = prop_oneof![
        Just("error".to_owned()),
        Just("success".to_owned()),
        Just("invoice_id".to_owned()),
        Just("withdraw_id".to_owned()),
        Just("amount".to_owned()),
        Just("status".to_owned()),
        Just("expired_at".to_owned()),
        Just("data".to_owned()),
        Just("pagination".to_owned()),
        Just("total_pages".to_owned()),
        "[a-z_]{1,8}",
    ];
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..5).prop_map(serde_json::Value::from),
            proptest::collection::btree_map(key.clone(), inner, 0..6)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(status in prop_oneof![Just(200u16), Just(400), Just(401), Just(404), Just(429), Just(500)], body in proptest::collection::vec(any::<u8>(), 0..512)) {
        parse_all(status, &body);
    }

    #[test]
    fn arbitrary_json_never_panics(status in prop_oneof![Just(200u16), Just(201), Just(400), Just(500)], value in json_value()) {
        parse_all(status, &serde_json::to_vec(&value).unwrap());
    }
}
