//! Cuan10pay signatures against `fixtures/cuan10pay.txt` (Python `hmac`, PROVIDERS.md §1).

mod common;

use gerbang_signing::SignatureError;
use gerbang_signing::cuan10pay::{sign_request, sign_webhook, verify_request, verify_webhook};

const FILE: &str = "cuan10pay.txt";

fn request_vectors() -> Vec<common::Vector> {
    common::vectors(FILE).into_iter().filter(|v| v.name.starts_with("request_")).collect()
}

fn webhook_vectors() -> Vec<common::Vector> {
    common::vectors(FILE).into_iter().filter(|v| v.name.starts_with("webhook_")).collect()
}

fn timestamp(v: &common::Vector) -> i64 {
    v.get("timestamp").parse().unwrap_or_else(|err| panic!("[{}] timestamp: {err}", v.name))
}

#[test]
fn request_signatures_match_python_hmac() {
    let vectors = request_vectors();
    assert_eq!(vectors.len(), 4);
    for v in vectors {
        let signature =
            sign_request(v.get("key").as_bytes(), timestamp(&v), v.get("method"), v.get("path_and_query"), &v.body());
        assert_eq!(signature, v.get("signature"), "[{}]", v.name);
    }
}

#[test]
fn get_with_query_signs_the_query_and_an_empty_body() {
    let v = common::vector(FILE, "request_get_with_query");
    assert!(v.get("path_and_query").contains('?'));
    assert!(v.body().is_empty());
    let signature = sign_request(v.get("key").as_bytes(), timestamp(&v), "GET", v.get("path_and_query"), b"");
    assert_eq!(signature, v.get("signature"));
    // Without the query it is another request, and another signature.
    let without_query = sign_request(v.get("key").as_bytes(), timestamp(&v), "GET", "/v1/deposit_status", b"");
    assert_ne!(without_query, v.get("signature"));
}

#[test]
fn post_body_is_signed_as_sent_not_minified() {
    let v = common::vector(FILE, "request_post_with_body");
    let body = v.body();
    assert!(body.contains(&b' '), "the document's json.dumps body has spaces");
    let minified = gerbang_signing::snap::minify_json(&body).unwrap();
    let signed_minified =
        sign_request(v.get("key").as_bytes(), timestamp(&v), "POST", v.get("path_and_query"), &minified);
    assert_ne!(signed_minified, v.get("signature"));
}

#[test]
fn request_signatures_verify_in_either_hex_case() {
    for v in request_vectors() {
        let (key, path, body) = (v.get("key").as_bytes(), v.get("path_and_query"), v.body());
        let expected = v.get("signature");
        assert_eq!(verify_request(key, timestamp(&v), v.get("method"), path, &body, expected), Ok(()), "[{}]", v.name);
        let upper = expected.to_ascii_uppercase();
        assert_eq!(verify_request(key, timestamp(&v), v.get("method"), path, &body, &upper), Ok(()), "[{}]", v.name);
    }
}

#[test]
fn rejects_request_with_another_timestamp_method_or_key() {
    let v = common::vector(FILE, "request_post_with_body");
    let (key, path, body, signature) = (v.get("key").as_bytes(), v.get("path_and_query"), v.body(), v.get("signature"));
    let ts = timestamp(&v);
    assert_eq!(verify_request(key, ts + 1, "POST", path, &body, signature), Err(SignatureError::Mismatch));
    assert_eq!(verify_request(key, ts, "PUT", path, &body, signature), Err(SignatureError::Mismatch));
    assert_eq!(verify_request(b"another key", ts, "POST", path, &body, signature), Err(SignatureError::Mismatch));
    assert_eq!(verify_request(key, ts, "POST", path, b"{}", signature), Err(SignatureError::Mismatch));
}

#[test]
fn rejects_request_signature_that_is_not_64_hex_digits() {
    let v = common::vector(FILE, "request_get_with_query");
    let check = |signature: &str| {
        verify_request(v.get("key").as_bytes(), timestamp(&v), "GET", v.get("path_and_query"), b"", signature)
    };
    let good = v.get("signature");
    for bad in ["", "zz", &good[..62], &format!("{good}00"), &format!("{}g", &good[..63])] {
        assert!(matches!(check(bad), Err(SignatureError::Malformed { .. })), "{bad:?}");
    }
}

#[test]
fn webhook_signatures_match_python_hmac_and_verify() {
    let vectors = webhook_vectors();
    assert_eq!(vectors.len(), 3);
    for v in vectors {
        let key = v.get("key").as_bytes();
        let fields = [v.get("reference"), v.get("status"), v.get("amount"), v.get("timestamp")];
        let signature = sign_webhook(key, fields[0], fields[1], fields[2], fields[3]);
        assert_eq!(signature, v.get("signature"), "[{}]", v.name);
        assert_eq!(verify_webhook(key, fields[0], fields[1], fields[2], fields[3], &signature), Ok(()));
    }
}

#[test]
fn rejects_webhook_with_changed_status_or_amount() {
    let v = common::vector(FILE, "webhook_document_example");
    let (key, reference, ts, signature) =
        (v.get("key").as_bytes(), v.get("reference"), v.get("timestamp"), v.get("signature"));
    assert_eq!(verify_webhook(key, reference, "PAID", "100000", ts, signature), Ok(()));
    assert_eq!(verify_webhook(key, reference, "FAILED", "100000", ts, signature), Err(SignatureError::Mismatch));
    assert_eq!(verify_webhook(key, reference, "PAID", "1000000", ts, signature), Err(SignatureError::Mismatch));
    assert!(matches!(
        verify_webhook(key, reference, "PAID", "100000", ts, "HMAC_SHA256"),
        Err(SignatureError::Malformed { .. })
    ));
}

#[test]
fn refuses_webhook_amount_or_timestamp_not_in_canonical_form() {
    // The document example's signature over `INV123PAID1000001700000000`: the same string cut
    // as amount 10 and timestamp 00001700000000, or amount 0100000, must not verify.
    let v = common::vector(FILE, "webhook_document_example");
    let (key, reference, ts, signature) =
        (v.get("key").as_bytes(), v.get("reference"), v.get("timestamp"), v.get("signature"));
    let timestamp_with_zeros = format!("0000{ts}");
    for (amount, timestamp, field) in [
        ("10", timestamp_with_zeros.as_str(), "timestamp"),
        ("0100000", ts, "amount"),
        ("+100000", ts, "amount"),
        ("100000.0", ts, "amount"),
        ("-100000", ts, "amount"),
        ("", ts, "amount"),
        ("100000", "-0", "timestamp"),
        ("100000", "1.7e9", "timestamp"),
    ] {
        assert_eq!(
            verify_webhook(key, reference, "PAID", amount, timestamp, signature),
            Err(SignatureError::NonCanonical { field }),
            "{amount:?} {timestamp:?}"
        );
    }
}
