//! The gateway's callback: accepted with our key under either spelling, refused otherwise, read
//! into a typed callback whose id stays the same on every try.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests may unwrap: see clippy.toml.

mod common;

use gerbang_core::http::{HeaderMap, Method};
use gerbang_core::{Currency, Decimal, Error, Money, PaymentProvider, PaymentStatus, WebhookRequest};
use gerbang_crypto_invoice::{Callback, WebhookVerifier};

use common::{PRIVATE_KEY, fixture_bytes};

fn verify(body: &[u8]) -> Result<Callback, Error> {
    let headers = HeaderMap::new();
    WebhookVerifier::new(PRIVATE_KEY).verify_callback(&WebhookRequest::new(Method::POST, "/cb", &headers, body))
}

#[test]
fn a_callback_with_our_key_is_read_into_every_typed_field() {
    let callback = verify(&fixture_bytes("callback/paid.json")).unwrap();
    assert_eq!(callback.id, "4711");
    assert_eq!(callback.order_id.as_deref(), Some("11"));
    assert_eq!(callback.price_amount, Some(Decimal::from(725)));
    assert_eq!(callback.amount.unwrap().to_string(), "725.123456789012345678");
    assert_eq!(callback.paid().unwrap().currency().as_str(), "USDT");
    assert!(callback.add_fee_to_price);
    assert!(callback.is_test());
    assert_eq!(callback.ref_url, None);
    // The key is kept nowhere, and the test flag is in `raw`.
    assert!(!callback.raw.to_string().contains(PRIVATE_KEY));
    assert_eq!(callback.raw["test"], 1);
    let shown = format!("{callback:?}");
    assert!(!shown.contains("budi@") && !shown.contains("203.0.113.7"), "{shown}");
}

#[test]
fn the_event_is_paid_with_a_dedup_key_from_the_invoice_id() {
    let headers = HeaderMap::new();
    let body = fixture_bytes("callback/paid.json");
    let event =
        WebhookVerifier::new(PRIVATE_KEY).verify(&WebhookRequest::new(Method::POST, "/cb", &headers, &body)).unwrap();
    assert_eq!(event.status, PaymentStatus::Paid);
    assert_eq!(event.provider_status, "paid");
    assert_eq!(event.reference.as_deref(), Some("11"));
    assert_eq!(event.provider_reference.as_deref(), Some("4711"));
    assert_eq!(event.amount, Some(Money::new(Decimal::from(725), Currency::USD).unwrap()));
    assert_eq!((event.ack().status, &*event.ack().body), (200, "OK"));
    assert_eq!(event.dedup_key().unwrap(), "crypto-invoice:4711:paid");
    assert_eq!(event.raw["test"], 1);
    insta::assert_json_snapshot!("callback_event", event);
}

#[test]
fn the_live_flag_is_read_too() {
    assert!(!verify(&fixture_bytes("callback/live.json")).unwrap().is_test());
}

#[test]
fn the_privatekey_spelling_of_the_documents_handlers_is_accepted() {
    assert_eq!(verify(&fixture_bytes("callback/paid_privatekey.json")).unwrap().id, "4711");
    assert_eq!(verify(&fixture_bytes("callback/paid_both_spellings.json")).unwrap().id, "4711");
}

#[test]
fn a_callback_with_another_key_is_refused() {
    for name in ["callback/wrong_key.json", "callback/both_spellings_one_wrong.json"] {
        let err = verify(&fixture_bytes(name)).unwrap_err();
        assert!(matches!(err, Error::InvalidSignature { .. }), "{name}: {err:?}");
        assert!(!err.to_string().contains(PRIVATE_KEY) && !err.to_string().contains("someone-elses-key"), "{err}");
    }
}

#[test]
fn a_callback_without_a_key_is_refused() {
    let err = verify(&fixture_bytes("callback/missing_key.json")).unwrap_err();
    assert!(matches!(&err, Error::InvalidSignature { reason } if reason.contains("no `private_key`")), "{err:?}");
    // An empty key is no key.
    let err = verify(br#"{"private_key":"","id":1}"#).unwrap_err();
    assert!(matches!(err, Error::InvalidSignature { .. }), "{err:?}");
}

#[test]
fn garbage_is_a_decode_error_not_a_panic() {
    for body in [fixture_bytes("callback/garbage.bin"), fixture_bytes("callback/not_an_object.json"), b"{".to_vec()] {
        assert!(matches!(verify(&body), Err(Error::Decode { .. })), "{body:?}");
    }
    assert!(matches!(verify(b""), Err(Error::Decode { .. })));
    assert!(matches!(verify(&vec![b' '; 70 * 1024]), Err(Error::Decode { .. })));
}

#[test]
fn refuses_a_verified_callback_with_a_wrongly_typed_field() {
    // Our key, so authentic; but `"id": true` is no invoice id, and a text field holding a
    // boolean, a list or an object is not what the document sends.
    let paid: serde_json::Value = serde_json::from_slice(&fixture_bytes("callback/paid.json")).unwrap();
    for (field, value) in [
        ("id", serde_json::json!(true)),
        ("id", serde_json::json!(false)),
        ("id", serde_json::json!([4711])),
        ("order_id", serde_json::json!(true)),
        ("email", serde_json::json!(false)),
        ("merchant_id", serde_json::json!({"id": 1})),
    ] {
        let mut body = paid.clone();
        body[field] = value;
        let err = verify(body.to_string().as_bytes()).unwrap_err();
        assert!(
            matches!(&err, Error::Decode { context } if context.contains(&format!("`{field}`"))),
            "{body}: {err:?}"
        );
    }
}

#[test]
fn a_verified_callback_without_an_id_is_a_decode_error() {
    let err = verify(&fixture_bytes("callback/missing_id.json")).unwrap_err();
    assert!(matches!(&err, Error::Decode { context } if context.contains("`id`")), "{err:?}");
}

#[tokio::test]
async fn the_client_verifies_with_its_own_private_key() {
    let client =
        gerbang_crypto_invoice::CryptoInvoiceClient::new(common::builder("http://127.0.0.1:9").build().unwrap());
    let headers = HeaderMap::new();
    let body = fixture_bytes("callback/paid.json");
    let event = client.verify_webhook(&WebhookRequest::new(Method::POST, "/cb", &headers, &body)).await.unwrap();
    assert_eq!(event.provider_reference.as_deref(), Some("4711"));
    let forged = fixture_bytes("callback/wrong_key.json");
    let err = client.verify_webhook(&WebhookRequest::new(Method::POST, "/cb", &headers, &forged)).await.unwrap_err();
    assert_eq!(client.reject_webhook(&err).status, 401);
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn any_bytes_give_an_error_or_an_event_never_a_panic(body in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = verify(&body);
        }

        #[test]
        fn any_other_key_is_refused(key in "[ -~]{0,64}") {
            prop_assume!(key != PRIVATE_KEY);
            let body = serde_json::json!({ "private_key": key, "id": 1 }).to_string();
            prop_assert!(
                matches!(verify(body.as_bytes()), Err(Error::InvalidSignature { .. })),
                "accepted a wrong key"
            );
        }
    }
}
