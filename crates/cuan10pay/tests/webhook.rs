//! Webhook verification: every bad webhook is the right `Error`, never a panic.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests may unwrap: see clippy.toml.

mod common;

use std::sync::Arc;
use std::time::Duration;

use gerbang_core::http::{HeaderMap, Method};
use gerbang_core::{Error, FixedClock, MAX_WEBHOOK_BODY_BYTES, Money, PaymentStatus, ProviderId, WebhookRequest};
use gerbang_cuan10pay::{WEBHOOK_STATUS_WORDS, WebhookVerifier};
use proptest::prelude::*;

use common::{NOW, PRIVATE_KEY, fixture_bytes};

fn verifier_at(now: i64) -> WebhookVerifier {
    WebhookVerifier::new(PRIVATE_KEY).with_clock(Arc::new(FixedClock::at_unix(now)))
}

fn verify_with(verifier: &WebhookVerifier, body: &[u8]) -> Result<gerbang_core::WebhookEvent, Error> {
    let headers = HeaderMap::new();
    verifier.verify(&WebhookRequest::new(Method::POST, "/webhooks/cuan10pay", &headers, body))
}

fn verify(body: &[u8]) -> Result<gerbang_core::WebhookEvent, Error> {
    verify_with(&verifier_at(NOW), body)
}

#[test]
fn accepts_a_webhook_signed_with_the_private_key() {
    let event = verify(&fixture_bytes("webhook/paid.json")).unwrap();
    assert_eq!(event.provider, ProviderId::Cuan10pay);
    assert_eq!(event.provider_reference.as_deref(), Some("CP-20250928-38B575"));
    assert_eq!(event.reference, None);
    assert_eq!(event.status, PaymentStatus::Paid);
    assert_eq!(event.provider_status, "PAID");
    assert_eq!(event.amount, Some(Money::idr(100_000)));
    assert_eq!(event.occurred_at.map(|t| t.unix_timestamp()), Some(NOW));
    assert_eq!((event.ack().status, &*event.ack().body), (200, "OK"));
    assert_eq!(event.raw["reference"], "CP-20250928-38B575");
    insta::assert_json_snapshot!("webhook_paid", event);
}

#[test]
fn refuses_numbers_sent_as_strings_even_when_signed() {
    // Signed over "250000" and "1759053750", but as strings: a string may carry leading zeros,
    // so digits could move between amount and timestamp; only JSON integers are read.
    let err = verify(&fixture_bytes("webhook/quoted_numbers.json")).unwrap_err();
    assert!(matches!(&err, Error::Decode { context } if context.contains("`amount`")), "{err:?}");
}

/// The issue's genuine webhook: `CP-20261201-ABC123`, `PAID`, 150 000 rupiah, at [`NOW`].
const GENUINE_REFERENCE: &str = "CP-20261201-ABC123";

/// hex HMAC-SHA256(private key, reference + status + amount + timestamp), computed here with
/// `hmac` and `sha2` rather than with the code under test.
fn genuine_signature(reference: &str, status: &str, amount: &str, timestamp: &str) -> String {
    use hmac::{Hmac, KeyInit, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(PRIVATE_KEY.as_bytes()).unwrap();
    mac.update(format!("{reference}{status}{amount}{timestamp}").as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// A body with the four signed fields written as given (raw JSON) and the genuine signature of
/// `CP-20261201-ABC123` `PAID` 150000 at [`NOW`].
fn forged(reference: &str, status: &str, amount: &str, timestamp: &str) -> Vec<u8> {
    let signature = genuine_signature(GENUINE_REFERENCE, "PAID", "150000", &NOW.to_string());
    format!(
        r#"{{"reference":{reference},"status":{status},"amount":{amount},"timestamp":{timestamp},"signature":"{signature}"}}"#
    )
    .into_bytes()
}

#[test]
fn refuses_a_body_that_names_a_signed_field_twice() {
    // The genuine signature, and a second amount (or status) after it: a reader that took the
    // first for the signature and the last for the event would pay 9 000 000 for 150 000.
    let signature = genuine_signature(GENUINE_REFERENCE, "PAID", "150000", &NOW.to_string());
    for extra in [r#""amount":9000000"#, r#""status":"PAID""#, r#""reference":"CP-OTHER""#] {
        let body = format!(
            r#"{{"reference":"{GENUINE_REFERENCE}","status":"PAID","amount":150000,"timestamp":{NOW},"signature":"{signature}",{extra}}}"#
        );
        let err = verify(body.as_bytes()).unwrap_err();
        assert!(matches!(&err, Error::Decode { context } if context.contains("duplicate")), "{extra}: {err:?}");
    }
}

#[test]
fn the_genuine_webhook_of_the_shift_tests_verifies() {
    let body = forged(r#""CP-20261201-ABC123""#, r#""PAID""#, "150000", &NOW.to_string());
    let event = verify(&body).unwrap();
    assert_eq!(event.amount, Some(Money::idr(150_000)));
}

#[test]
fn refuses_amount_shifted_into_timestamp() {
    // "150000" + T reads as "15" + "0000T": a payment of 15 rupiah under the same signature.
    let body = forged(r#""CP-20261201-ABC123""#, r#""PAID""#, "15", &format!(r#""0000{NOW}""#));
    assert!(verify(&body).is_err(), "{}", String::from_utf8_lossy(&body));
}

#[test]
fn refuses_amount_sent_as_string_with_digits_moved_into_timestamp() {
    let body = forged(r#""CP-20261201-ABC123""#, r#""PAID""#, r#""1500""#, &format!(r#""00{NOW}""#));
    assert!(verify(&body).is_err(), "{}", String::from_utf8_lossy(&body));
}

#[test]
fn refuses_reference_characters_shifted_into_the_status() {
    // Verified before, and reported as an `unknown` status: now not read at all.
    let body = forged(r#""CP-20261201-ABC1""#, r#""23PAID""#, "150000", &NOW.to_string());
    let err = verify(&body).unwrap_err();
    assert!(matches!(&err, Error::Decode { context } if context.contains("`status`")), "{err:?}");
}

#[test]
fn refuses_a_signed_status_word_that_is_not_in_the_list() {
    for word in ["PARTIAL", "paid", "Paid", " PAID", "PAID ", "UNPAID"] {
        let body = verifier_at(NOW).signed_body("CP-20261201-ABC123", word, 150_000, NOW);
        let err = verify(body.as_bytes()).unwrap_err();
        assert!(matches!(&err, Error::Decode { context } if context.contains("`status`")), "{word}: {err:?}");
    }
}

#[test]
fn refuses_a_reference_that_is_not_a_json_string() {
    let body = format!(
        r#"{{"reference":123,"status":"PAID","amount":150000,"timestamp":{NOW},"signature":"{}"}}"#,
        genuine_signature("123", "PAID", "150000", &NOW.to_string())
    );
    let err = verify(body.as_bytes()).unwrap_err();
    assert!(matches!(&err, Error::Decode { context } if context.contains("`reference`")), "{err:?}");
}

#[test]
fn refuses_an_amount_or_timestamp_with_a_fraction_or_an_exponent() {
    for (amount, timestamp) in
        [("150000.0", NOW.to_string()), ("1.5e5", NOW.to_string()), ("150000", format!("{NOW}.0"))]
    {
        let body = forged(r#""CP-20261201-ABC123""#, r#""PAID""#, amount, &timestamp);
        assert!(matches!(verify(&body), Err(Error::Decode { .. })), "{}", String::from_utf8_lossy(&body));
    }
}

#[test]
fn rejects_a_webhook_whose_amount_was_changed() {
    assert!(matches!(verify(&fixture_bytes("webhook/tampered_amount.json")), Err(Error::InvalidSignature { .. })));
}

#[test]
fn rejects_a_webhook_signed_with_another_key() {
    assert!(matches!(verify(&fixture_bytes("webhook/wrong_key.json")), Err(Error::InvalidSignature { .. })));
    let other = WebhookVerifier::new("another-private-key").with_clock(Arc::new(FixedClock::at_unix(NOW)));
    assert!(matches!(verify_with(&other, &fixture_bytes("webhook/paid.json")), Err(Error::InvalidSignature { .. })));
}

#[test]
fn rejects_a_signature_that_is_not_hex() {
    // The document's own example carries the placeholder "HMAC_SHA256".
    assert!(matches!(verify(&fixture_bytes("webhook/bad_hex_signature.json")), Err(Error::InvalidSignature { .. })));
}

#[test]
fn rejects_a_stale_timestamp() {
    let err = verify_with(&verifier_at(NOW + 301), &fixture_bytes("webhook/paid.json")).unwrap_err();
    assert_eq!(err, Error::StaleTimestamp { skew_seconds: -301, tolerance_seconds: 300 });
    // At the edge of the window it is still accepted.
    assert!(verify_with(&verifier_at(NOW + 300), &fixture_bytes("webhook/paid.json")).is_ok());
}

#[test]
fn rejects_a_timestamp_from_the_future() {
    let err = verify_with(&verifier_at(NOW - 301), &fixture_bytes("webhook/paid.json")).unwrap_err();
    assert_eq!(err, Error::StaleTimestamp { skew_seconds: 301, tolerance_seconds: 300 });
}

#[test]
fn the_tolerance_is_configurable() {
    let strict = verifier_at(NOW + 31).with_tolerance(Duration::from_secs(30));
    assert!(matches!(
        verify_with(&strict, &fixture_bytes("webhook/paid.json")),
        Err(Error::StaleTimestamp { tolerance_seconds: 30, .. })
    ));
}

#[test]
fn rejects_a_webhook_missing_a_field() {
    let err = verify(&fixture_bytes("webhook/missing_amount.json")).unwrap_err();
    assert!(matches!(&err, Error::Decode { context } if context.contains("`amount`")), "{err:?}");
}

#[test]
fn rejects_a_body_that_is_not_utf8() {
    let err = verify(&fixture_bytes("webhook/not_utf8.bin")).unwrap_err();
    assert!(matches!(&err, Error::Decode { context } if context.contains("UTF-8")), "{err:?}");
}

#[test]
fn rejects_an_empty_body() {
    assert!(matches!(verify(b""), Err(Error::Decode { .. })));
}

#[test]
fn rejects_a_body_over_the_size_cap_before_parsing() {
    let mut body = fixture_bytes("webhook/paid.json");
    body.resize(MAX_WEBHOOK_BODY_BYTES + 1, b' ');
    let err = verify(&body).unwrap_err();
    assert!(matches!(&err, Error::Decode { context } if context.contains("limit")), "{err:?}");
}

#[test]
fn rejects_bodies_of_the_wrong_shape() {
    for body in [
        &b"[]"[..],
        b"null",
        b"\"PAID\"",
        br#"{"reference":1.5e400}"#,
        br#"{"reference":"R","status":"PAID","amount":-5,"timestamp":1,"signature":"00"}"#,
    ] {
        assert!(matches!(verify(body), Err(Error::Decode { .. })), "{}", String::from_utf8_lossy(body));
    }
}

#[test]
fn sign_agrees_with_the_independently_signed_fixture() {
    let expected: serde_json::Value = serde_json::from_slice(&fixture_bytes("webhook/paid.json")).unwrap();
    let verifier = verifier_at(NOW);
    assert_eq!(verifier.sign("CP-20250928-38B575", "PAID", 100_000, NOW), expected["signature"]);
    let body = verifier.signed_body("CP-1", "FAILED", 10_000, NOW - 60);
    assert_eq!(verify_with(&verifier, body.as_bytes()).unwrap().status, PaymentStatus::Failed);
}

#[test]
fn debug_of_the_verifier_hides_the_key() {
    let shown = format!("{:?}", verifier_at(NOW));
    assert!(!shown.contains(PRIVATE_KEY), "{shown}");
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = verify(&body);
    }

    #[test]
    fn arbitrary_json_objects_never_panic(
        object in proptest::collection::btree_map(
            prop_oneof![Just("reference".to_owned()), Just("status".to_owned()), Just("amount".to_owned()), Just("timestamp".to_owned()), Just("signature".to_owned()), "[a-z]{1,8}"],
            json_value(),
            0..7,
        )
    ) {
        let body = serde_json::to_vec(&object).unwrap();
        if let Ok(event) = verify(&body) {
            // Only a correctly signed body may pass, and an arbitrary one is not.
            prop_assert!(false, "an unsigned body was accepted: {event:?}");
        }
    }

    #[test]
    fn correctly_signed_webhooks_with_any_reference_and_listed_status_verify(reference in "\\PC{1,40}", status in proptest::sample::select(WEBHOOK_STATUS_WORDS), amount in any::<u64>(), skew in -300i64..=300) {
        let verifier = verifier_at(NOW);
        let body = verifier.signed_body(&reference, status, amount, NOW + skew);
        let event = verify_with(&verifier, body.as_bytes()).unwrap();
        prop_assert_eq!(event.provider_reference.as_deref(), Some(reference.as_str()));
        prop_assert_eq!(event.provider_status.as_str(), status);
    }

    #[test]
    fn correctly_signed_webhooks_with_a_status_not_in_the_list_are_refused(status in "[A-Za-z_ ]{1,12}") {
        prop_assume!(!WEBHOOK_STATUS_WORDS.contains(&status.as_str()));
        let verifier = verifier_at(NOW);
        let body = verifier.signed_body("CP-20250928-38B575", &status, 100_000, NOW);
        let refused = matches!(verify_with(&verifier, body.as_bytes()), Err(Error::Decode { .. }));
        prop_assert!(refused, "{}", body);
    }
}

/// Any JSON value, nested a little.
pub fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<u64>().prop_map(serde_json::Value::from),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(serde_json::Value::from),
        "\\PC{0,24}".prop_map(serde_json::Value::from),
        "[0-9a-f]{64}".prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
            proptest::collection::btree_map("[a-z_]{1,10}", inner, 0..4)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}
