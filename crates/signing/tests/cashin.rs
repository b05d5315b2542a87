//! Cash In symmetric signatures against `fixtures/cashin.txt` (Python `hashlib`/`hmac`,
//! PROVIDERS.md §2 "Decision (symmetric method)").

mod common;

use gerbang_signing::SignatureError;
use gerbang_signing::cashin::{HmacAlgorithm, sign, string_to_sign, verify};

const FILE: &str = "cashin.txt";

fn build(v: &common::Vector) -> String {
    string_to_sign(&v.body(), v.get("client_id"), v.get("request_id"), v.get("relative_path"), v.get("timestamp"))
        .unwrap_or_else(|err| panic!("[{}]: {err}", v.name))
}

#[test]
fn string_to_sign_matches_python_for_every_vector() {
    let vectors = common::vectors(FILE);
    assert_eq!(vectors.len(), 3);
    for v in vectors {
        assert_eq!(build(&v), v.get("string_to_sign"), "[{}]", v.name);
    }
}

#[test]
fn string_to_sign_has_the_shape_of_the_signature_page_example() {
    // Cash In's page: ckv17xKxGwsyZpR56NAS5GRPFCVHCmxSJFwHyWNG5mM=:shop_01:0194e94b-e2e3-7dd3-815e-ce4b07522fd7:/payment:2025-02-09T13:00:52.195+07:00
    let v = common::vector(FILE, "signature_page_shape");
    let s = build(&v);
    let (digest, rest) = s.split_at(44);
    assert!(digest.ends_with('='), "a base64 SHA-256 digest, not hex");
    assert_eq!(digest, v.get("body_sha256_base64"));
    assert_eq!(rest, ":shop_01:0194e94b-e2e3-7dd3-815e-ce4b07522fd7:/payment:2025-02-09T13:00:52.195+07:00");
}

#[test]
fn pretty_document_bodies_are_minified_before_hashing() {
    for name in ["checkout_example", "status_example"] {
        let v = common::vector(FILE, name);
        let body = v.body();
        let minified = gerbang_signing::snap::minify_json(&body).unwrap();
        assert_eq!(&*minified, v.get("minified").as_bytes(), "[{name}]");
        // The status example keeps the leading space inside its string: " TRX001".
        assert_eq!(gerbang_signing::snap::body_sha256_base64(&v.body()).unwrap(), v.get("body_sha256_base64"));
    }
    let compact = common::vector(FILE, "checkout_example").get("minified").to_owned();
    let v = common::vector(FILE, "checkout_example");
    let from_compact =
        string_to_sign(compact.as_bytes(), v.get("client_id"), v.get("request_id"), "/payment", v.get("timestamp"))
            .unwrap();
    assert_eq!(from_compact, v.get("string_to_sign"));
}

#[test]
fn hmac_sha256_signatures_match_python() {
    for v in common::vectors(FILE) {
        let signature = sign(v.get("secret").as_bytes(), v.get("string_to_sign"), HmacAlgorithm::Sha256);
        assert_eq!(signature, v.get("hmac_sha256"), "[{}]", v.name);
        assert_eq!(signature.len(), 44);
    }
}

#[test]
fn hmac_sha512_signatures_match_python() {
    for v in common::vectors(FILE) {
        let signature = sign(v.get("secret").as_bytes(), v.get("string_to_sign"), HmacAlgorithm::Sha512);
        assert_eq!(signature, v.get("hmac_sha512"), "[{}]", v.name);
        assert_eq!(signature.len(), 88);
    }
}

#[test]
fn sha256_is_the_default_algorithm() {
    assert_eq!(HmacAlgorithm::default(), HmacAlgorithm::Sha256);
}

#[test]
fn python_signatures_verify_with_both_algorithms() {
    for v in common::vectors(FILE) {
        let (secret, s) = (v.get("secret").as_bytes(), v.get("string_to_sign"));
        assert_eq!(verify(secret, s, HmacAlgorithm::Sha256, v.get("hmac_sha256")), Ok(()), "[{}]", v.name);
        assert_eq!(verify(secret, s, HmacAlgorithm::Sha512, v.get("hmac_sha512")), Ok(()), "[{}]", v.name);
    }
}

#[test]
fn rejects_signature_over_another_string_or_with_another_secret() {
    let v = common::vector(FILE, "checkout_example");
    let (secret, s) = (v.get("secret").as_bytes(), v.get("string_to_sign"));
    let other = s.replace("/payment", "/payment/status");
    assert_eq!(verify(secret, &other, HmacAlgorithm::Sha256, v.get("hmac_sha256")), Err(SignatureError::Mismatch));
    assert_eq!(verify(b"wrong", s, HmacAlgorithm::Sha512, v.get("hmac_sha512")), Err(SignatureError::Mismatch));
}

#[test]
fn rejects_signature_of_the_other_length_or_not_base64() {
    let v = common::vector(FILE, "status_example");
    let (secret, s) = (v.get("secret").as_bytes(), v.get("string_to_sign"));
    let malformed = |algorithm, signature: &str| {
        matches!(verify(secret, s, algorithm, signature), Err(SignatureError::Malformed { .. }))
    };
    assert!(malformed(HmacAlgorithm::Sha256, v.get("hmac_sha512")));
    assert!(malformed(HmacAlgorithm::Sha512, v.get("hmac_sha256")));
    assert!(malformed(HmacAlgorithm::Sha256, &v.get("hmac_sha256").replace('=', "")));
    assert!(malformed(HmacAlgorithm::Sha256, &"!".repeat(44)));
    assert!(malformed(HmacAlgorithm::Sha256, ""));
}
