//! The answer parsers against arbitrary input: never a panic, always an `Error` or a value.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests may unwrap: see clippy.toml.

use gerbang_core::http::{HeaderMap, StatusCode};
use gerbang_core::transport::HttpResponse;
use gerbang_cuan10pay::{Deposit, Invoice, Order, PpobProduct, SmmService, VoucherProduct, parse_answer};
use proptest::prelude::*;

fn response(status: u16, body: Vec<u8>) -> HttpResponse {
    HttpResponse::new(StatusCode::from_u16(status).unwrap_or(StatusCode::OK), HeaderMap::new(), body)
}

fn parse_all(status: u16, body: &[u8]) {
    let r = response(status, body.to_vec());
    let _ = parse_answer::<Deposit>("deposit_status", &r);
    let _ = parse_answer::<Invoice>("invoice_status", &r);
    let _ = parse_answer::<Vec<PpobProduct>>("ppob_products", &r);
    let _ = parse_answer::<Vec<SmmService>>("smm_services", &r);
    let _ = parse_answer::<Vec<VoucherProduct>>("voucher_products", &r);
    let _ = parse_answer::<Order>("ppob_order", &r);
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
        Just("status".to_owned()),
        Just("message".to_owned()),
        Just("data".to_owned()),
        Just("deposit_id".to_owned()),
        Just("reference".to_owned()),
        Just("amount".to_owned()),
        Just("price".to_owned()),
        Just("service_id".to_owned()),
        Just("min".to_owned()),
        Just("payment_code".to_owned()),
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

    #[test]
    fn arbitrary_data_in_a_success_envelope_never_panics(data in json_value()) {
        let body = serde_json::json!({"status": "success", "message": "ok", "data": data});
        parse_all(200, &serde_json::to_vec(&body).unwrap());
    }
}

#[test]
fn both_ids_present_keep_deposit_id_and_the_other_in_extra() {
    let body = br#"{"status":"success","data":{"deposit_id":"CP-1","reference":"CP-OLD","status":"pending"}}"#;
    let deposit: Deposit = parse_answer("deposit_status", &response(200, body.to_vec())).unwrap();
    assert_eq!(deposit.deposit_id, "CP-1");
    assert_eq!(deposit.extra["reference"], "CP-OLD");
}

#[test]
fn two_spellings_of_a_field_never_fail_and_the_first_wins() {
    let body = br#"{"status":"success","data":[{"code":"A","product_code":"B","name":null,"product_name":"Pulsa"}]}"#;
    let products: Vec<PpobProduct> = parse_answer("ppob_products", &response(200, body.to_vec())).unwrap();
    assert_eq!(products[0].code.as_deref(), Some("A"));
    assert_eq!(products[0].extra["product_code"], "B");
    assert_eq!(products[0].name.as_deref(), Some("Pulsa"));
}
