//! Notification verification against bodies signed by `fixtures/webhook/gen.py` (Python
//! `cryptography`): every bad notification is the right `Error` and the right acknowledgement,
//! never a panic.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests may unwrap: see clippy.toml.

mod common;

use std::sync::Arc;
use std::time::Duration;

use gerbang_cashin::{
    ACK_INVALID_FIELD_FORMAT_BODY, ACK_SUCCESS_BODY, ACK_UNAUTHORIZED_BODY, NotificationSigner, PrivateKey,
    WebhookVerifier, rejection,
};
use gerbang_core::http::{HeaderMap, HeaderValue, Method};
use gerbang_core::{
    Error, FixedClock, MAX_WEBHOOK_BODY_BYTES, Money, PaymentStatus, ProviderId, WebhookEvent, WebhookRequest,
};
use proptest::prelude::*;

use common::{NOW, fixture, fixture_bytes};

const PATH: &str = "/v1.0/debit/notify";

/// One line of `signatures.txt`: body file, timestamp, signature.
struct Signed {
    body: Vec<u8>,
    timestamp: String,
    signature: String,
}

fn signed(name: &str) -> Signed {
    let text = fixture("webhook/signatures.txt");
    let line = text.lines().find(|l| l.starts_with(&format!("{name} |"))).unwrap_or_else(|| panic!("no vector {name}"));
    let parts: Vec<&str> = line.split(" | ").collect();
    Signed {
        body: fixture_bytes(&format!("webhook/{}", parts[1])),
        timestamp: parts[2].into(),
        signature: parts[3].into(),
    }
}

fn headers(timestamp: &str, signature: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert("x-partner-id", HeaderValue::from_static("CID17304190397339244f"));
    headers.insert("x-external-id", HeaderValue::from_static("3fa85f64-5717-4562-b3fc-2c963f66afa6"));
    headers.insert("channel-id", HeaderValue::from_static("9552"));
    headers.insert("x-timestamp", HeaderValue::from_str(timestamp).unwrap());
    headers.insert("x-signature", HeaderValue::from_str(signature).unwrap());
    headers
}

fn verifier_at(now: i64) -> WebhookVerifier {
    WebhookVerifier::from_pem(&fixture("webhook/cashin_public_spki.pem"))
        .unwrap()
        .with_clock(Arc::new(FixedClock::at_unix(now)))
}

fn verify_with(verifier: &WebhookVerifier, vector: &Signed) -> Result<WebhookEvent, Error> {
    let headers = headers(&vector.timestamp, &vector.signature);
    verifier.verify(&WebhookRequest::new(Method::POST, PATH, &headers, &vector.body))
}

fn verify(name: &str) -> Result<WebhookEvent, Error> {
    verify_with(&verifier_at(NOW), &signed(name))
}

/// The error, and that it produces the expected acknowledgement.
fn refused(result: Result<WebhookEvent, Error>, status: u16, body: &str) -> Error {
    let err = result.expect_err("the notification should be refused");
    let ack = rejection(&err);
    assert_eq!((ack.status, &*ack.body), (status, body), "{err:?}");
    err
}

#[test]
fn the_documents_example_verifies_pretty_printed_with_its_misspellings() {
    let event = verify("paid_pretty").unwrap();
    assert_eq!(event.provider, ProviderId::CashIn);
    assert_eq!(event.reference.as_deref(), Some("TRX-MERCHANT-0001"));
    assert_eq!(event.provider_reference.as_deref(), Some("PAY12345678910"));
    assert_eq!(event.status, PaymentStatus::Paid);
    assert_eq!(event.provider_status, "00");
    assert_eq!(event.amount, Some(Money::idr(1000)));
    assert_eq!(event.occurred_at.map(|t| t.unix_timestamp()), Some(NOW));
    assert_eq!(
        (event.ack().status, &*event.ack().body, event.ack().content_type),
        (200, ACK_SUCCESS_BODY, "application/json")
    );
    assert_eq!(event.raw["orgiginalExternalId"], "123232144");
    insta::assert_json_snapshot!("event_paid", event);
}

#[test]
fn the_compact_body_verifies_with_the_same_signature() {
    let (pretty, compact) = (signed("paid_pretty"), signed("paid_compact"));
    assert_eq!(pretty.signature, compact.signature);
    assert_ne!(pretty.body, compact.body);
    assert_eq!(verify("paid_compact").unwrap(), verify("paid_pretty").unwrap());
}

#[test]
fn the_typed_notification_reads_both_spellings_and_the_headers() {
    let vector = signed("paid_pretty");
    let headers = headers(&vector.timestamp, &vector.signature);
    let notification =
        verifier_at(NOW).verify_notification(&WebhookRequest::new(Method::POST, PATH, &headers, &vector.body)).unwrap();
    assert_eq!(notification.original_external_id.as_deref(), Some("123232144"));
    assert_eq!(notification.transaction_status_desc.as_deref(), Some("Success"));
    assert_eq!(notification.channel_id.as_deref(), Some("9552"));
    assert_eq!(notification.timestamp, "2024-11-04T10:00:00+07:00");
    insta::assert_json_snapshot!("notification_paid", notification);
}

#[test]
fn timestamps_with_milliseconds_or_z_verify_as_received() {
    for name in ["expired_millis", "expired_zulu"] {
        let event = verify(name).unwrap();
        assert_eq!(event.status, PaymentStatus::Expired, "{name}");
        assert_eq!(event.provider_status, "05");
        assert_eq!(event.amount, Some(Money::idr(150_000)), "a string value with decimals");
        assert_eq!(event.raw["additionalInfo"]["channel"], "QRIS");
    }
}

#[test]
fn a_public_key_in_pkcs1_verifies_too() {
    let verifier = WebhookVerifier::from_pem(&fixture("webhook/cashin_public_pkcs1.pem"))
        .unwrap()
        .with_clock(Arc::new(FixedClock::at_unix(NOW)));
    assert!(verify_with(&verifier, &signed("paid_pretty")).is_ok());
}

#[test]
fn rejects_a_tampered_body() {
    let mut vector = signed("paid_pretty");
    vector.body =
        String::from_utf8(vector.body).unwrap().replace("TRX-MERCHANT-0001", "TRX-MERCHANT-0002").into_bytes();
    refused(verify_with(&verifier_at(NOW), &vector), 401, ACK_UNAUTHORIZED_BODY);
}

#[test]
fn rejects_a_tampered_amount() {
    let err = refused(verify("tampered_amount"), 401, ACK_UNAUTHORIZED_BODY);
    assert!(matches!(err, Error::InvalidSignature { .. }));
}

#[test]
fn rejects_a_notification_signed_with_another_key() {
    let other = WebhookVerifier::from_pem(&fixture("webhook/other_public_spki.pem"))
        .unwrap()
        .with_clock(Arc::new(FixedClock::at_unix(NOW)));
    refused(verify_with(&other, &signed("paid_pretty")), 401, ACK_UNAUTHORIZED_BODY);
}

#[test]
fn rejects_another_path_or_method_or_timestamp_text() {
    let vector = signed("paid_pretty");
    let h = headers(&vector.timestamp, &vector.signature);
    let verifier = verifier_at(NOW);
    for request in [
        WebhookRequest::new(Method::POST, "/webhooks/cashin", &h, &vector.body),
        WebhookRequest::new(Method::PUT, PATH, &h, &vector.body),
    ] {
        refused(verifier.verify(&request), 401, ACK_UNAUTHORIZED_BODY);
    }
    // The same instant written otherwise is another string to sign.
    let h = headers("2024-11-04T03:00:00Z", &vector.signature);
    refused(verifier.verify(&WebhookRequest::new(Method::POST, PATH, &h, &vector.body)), 401, ACK_UNAUTHORIZED_BODY);
}

#[test]
fn rejects_a_stale_timestamp_and_one_from_the_future() {
    let err = refused(verify_with(&verifier_at(NOW + 301), &signed("paid_pretty")), 401, ACK_UNAUTHORIZED_BODY);
    assert_eq!(err, Error::StaleTimestamp { skew_seconds: -301, tolerance_seconds: 300 });
    let err = refused(verify_with(&verifier_at(NOW - 301), &signed("paid_pretty")), 401, ACK_UNAUTHORIZED_BODY);
    assert_eq!(err, Error::StaleTimestamp { skew_seconds: 301, tolerance_seconds: 300 });
    // At the edges of the window it is still accepted.
    assert!(verify_with(&verifier_at(NOW + 300), &signed("paid_pretty")).is_ok());
    assert!(verify_with(&verifier_at(NOW - 300), &signed("paid_pretty")).is_ok());
}

#[test]
fn the_tolerance_is_configurable() {
    let strict = verifier_at(NOW + 31).with_tolerance(Duration::from_secs(30));
    assert!(matches!(
        verify_with(&strict, &signed("paid_pretty")),
        Err(Error::StaleTimestamp { tolerance_seconds: 30, .. })
    ));
}

#[test]
fn rejects_missing_or_malformed_authentication_headers() {
    let vector = signed("paid_pretty");
    let verifier = verifier_at(NOW);
    for missing in ["x-timestamp", "x-signature"] {
        let mut h = headers(&vector.timestamp, &vector.signature);
        h.remove(missing);
        let err = refused(
            verifier.verify(&WebhookRequest::new(Method::POST, PATH, &h, &vector.body)),
            401,
            ACK_UNAUTHORIZED_BODY,
        );
        assert!(err.to_string().contains(missing), "{err}");
    }
    for (timestamp, signature) in [
        (vector.timestamp.as_str(), "not base64!"),
        (vector.timestamp.as_str(), "AAAA"),
        ("yesterday", vector.signature.as_str()),
    ] {
        let h = headers(timestamp, signature);
        refused(
            verifier.verify(&WebhookRequest::new(Method::POST, PATH, &h, &vector.body)),
            401,
            ACK_UNAUTHORIZED_BODY,
        );
    }
}

#[test]
fn a_signed_body_missing_the_amount_is_malformed() {
    let err = refused(verify("missing_amount"), 400, ACK_INVALID_FIELD_FORMAT_BODY);
    assert!(matches!(&err, Error::Decode { context } if context.contains("`amount`")), "{err:?}");
    let err = refused(verify("fraction_amount"), 400, ACK_INVALID_FIELD_FORMAT_BODY);
    assert!(matches!(&err, Error::Decode { context } if context.contains("rupiah")), "{err:?}");
}

#[test]
fn refuses_a_signed_notification_with_a_zero_or_negative_amount() {
    // Correctly signed (with the fixture key, by the signer that agrees with Python), but a
    // payment of nothing, or of less than nothing, is not a payment.
    let signer = NotificationSigner::new(
        PrivateKey::from_pem(&fixture("webhook/cashin_private_pkcs8.pem")).unwrap(),
        "CID17304190397339244f",
    );
    let paid = String::from_utf8(fixture_bytes("webhook/paid_compact.json")).unwrap();
    for value in ["0", "\"0.00\"", "-1000", "\"-1000\"", "-0"] {
        let body = paid.replace(r#""value":1000"#, &format!(r#""value":{value}"#));
        assert_ne!(body, paid);
        let headers = signer.headers(PATH, body.as_bytes(), common::NOW_TEXT).unwrap();
        let result = verifier_at(NOW).verify(&WebhookRequest::new(Method::POST, PATH, &headers, body.as_bytes()));
        let err = refused(result, 400, ACK_INVALID_FIELD_FORMAT_BODY);
        assert!(matches!(&err, Error::Decode { context } if context.contains("amount")), "{value}: {err:?}");
    }
}

#[test]
fn refuses_a_signed_notification_whose_status_is_not_a_snap_code() {
    // Authentic, but a status the SDK cannot read is refused rather than passed on as unknown.
    let signer = NotificationSigner::new(
        PrivateKey::from_pem(&fixture("webhook/cashin_private_pkcs8.pem")).unwrap(),
        "CID17304190397339244f",
    );
    let paid = String::from_utf8(fixture_bytes("webhook/paid_compact.json")).unwrap();
    for code in ["99", "08", "0", "000", "PAID", ""] {
        let body = paid.replace(r#""latestTransactionStatus":"00""#, &format!(r#""latestTransactionStatus":"{code}""#));
        assert_ne!(body, paid);
        let headers = signer.headers(PATH, body.as_bytes(), common::NOW_TEXT).unwrap();
        let result = verifier_at(NOW).verify(&WebhookRequest::new(Method::POST, PATH, &headers, body.as_bytes()));
        let err = refused(result, 400, ACK_INVALID_FIELD_FORMAT_BODY);
        assert!(
            matches!(&err, Error::Decode { context } if context.contains("latestTransactionStatus")),
            "{code}: {err:?}"
        );
    }
    // The eight SNAP codes all read, `07` ("not found") as unknown by the documented decision.
    for code in ["00", "01", "02", "03", "04", "05", "06", "07"] {
        let body = paid.replace(r#""latestTransactionStatus":"00""#, &format!(r#""latestTransactionStatus":"{code}""#));
        let headers = signer.headers(PATH, body.as_bytes(), common::NOW_TEXT).unwrap();
        let event =
            verifier_at(NOW).verify(&WebhookRequest::new(Method::POST, PATH, &headers, body.as_bytes())).unwrap();
        assert_eq!(event.provider_status, code);
    }
}

#[test]
fn a_body_that_is_not_utf8_is_refused_without_a_panic() {
    // Correctly signed: authentic, but malformed.
    let err = refused(verify("not_utf8"), 400, ACK_INVALID_FIELD_FORMAT_BODY);
    assert!(matches!(&err, Error::Decode { context } if context.contains("UTF-8")), "{err:?}");
    // Signed for another body: not authentic, so never parsed.
    let mut vector = signed("not_utf8");
    vector.signature = signed("paid_pretty").signature;
    refused(verify_with(&verifier_at(NOW), &vector), 401, ACK_UNAUTHORIZED_BODY);
}

#[test]
fn empty_oversized_and_unterminated_bodies_are_malformed() {
    let vector = signed("paid_pretty");
    let h = headers(&vector.timestamp, &vector.signature);
    let mut big = vector.body.clone();
    big.resize(MAX_WEBHOOK_BODY_BYTES + 1, b' ');
    for body in [Vec::new(), big, b"{\"a\":\"never ends".to_vec()] {
        refused(
            verifier_at(NOW).verify(&WebhookRequest::new(Method::POST, PATH, &h, &body)),
            400,
            ACK_INVALID_FIELD_FORMAT_BODY,
        );
    }
}

#[test]
fn the_signer_agrees_with_python() {
    // PKCS#1 v1.5 is deterministic: the same key, message and timestamp give Python's signature.
    let key = PrivateKey::from_pem(&fixture("webhook/cashin_private_pkcs8.pem")).unwrap();
    let signer = NotificationSigner::new(key.clone(), "CID1234567890");
    let vector = signed("expired_millis");
    assert_eq!(signer.signature(PATH, &vector.body, &vector.timestamp).unwrap(), vector.signature);
    let h = signer.headers(PATH, &vector.body, &vector.timestamp).unwrap();
    assert_eq!(h["x-partner-id"], "CID1234567890");
    assert_eq!(h["channel-id"], "9552");
    assert_eq!(h["content-type"], "application/json");
    assert_eq!(h["x-external-id"].len(), 36);
    let event = verifier_at(NOW).verify(&WebhookRequest::new(Method::POST, PATH, &h, &vector.body)).unwrap();
    assert_eq!(event.status, PaymentStatus::Expired);
}

#[test]
fn debug_of_the_signer_and_verifier_shows_no_key_material() {
    let pem = fixture("webhook/cashin_private_pkcs8.pem");
    let signer = NotificationSigner::from_pem(&pem, "CID1").unwrap();
    let line = pem.lines().nth(1).unwrap();
    for shown in [format!("{signer:?}"), format!("{:?}", verifier_at(NOW))] {
        assert!(!shown.contains(line) && !shown.contains("MII"), "{shown}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn arbitrary_bodies_and_headers_never_panic(body in proptest::collection::vec(any::<u8>(), 0..512), timestamp in "\\PC{0,40}", signature in "[A-Za-z0-9+/=]{0,400}") {
        let mut h = HeaderMap::new();
        if let Ok(v) = HeaderValue::from_str(&timestamp) { h.insert("x-timestamp", v); }
        if let Ok(v) = HeaderValue::from_str(&signature) { h.insert("x-signature", v); }
        let result = verifier_at(NOW).verify(&WebhookRequest::new(Method::POST, PATH, &h, &body));
        prop_assert!(result.is_err());
        let _ = rejection(&result.unwrap_err());
    }
}
