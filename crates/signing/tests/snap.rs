//! SNAP minification, digests and signatures against `fixtures/snap.txt` (a Python regex
//! minifier checked with `json.loads`, `hashlib`, `hmac`).

mod common;

use std::borrow::Cow;

use gerbang_signing::SignatureError;
use gerbang_signing::snap::{
    asymmetric_string_to_sign, body_sha256_base64, body_sha256_hex, minify_json, sign_symmetric,
    symmetric_string_to_sign, verify_symmetric,
};

const FILE: &str = "snap.txt";

#[test]
fn minify_matches_python_for_every_vector() {
    let vectors = common::vectors(FILE);
    assert_eq!(vectors.len(), 5);
    for v in vectors {
        assert_eq!(&*minify_json(&v.body()).unwrap(), v.get("minified").as_bytes(), "[{}]", v.name);
    }
}

#[test]
fn minify_keeps_strings_escapes_and_number_spelling_of_the_notification() {
    let v = common::vector(FILE, "cashin_notification");
    let body = v.body();
    let minified = minify_json(&body).unwrap();
    let text = std::str::from_utf8(&minified).unwrap();
    assert!(matches!(minified, Cow::Owned(_)));
    // Spaces inside strings survive, around tokens they go.
    assert!(text.contains(r#""note":"Toko  \"Maju Jaya\"  , Jl. Sudirman : 1""#));
    assert!(text.contains(r#""path":"C:\\kasir\\01\\""#));
    assert!(text.contains(r#""escaped":"caf\u00e9 \ud83d\ude00 \/ \t""#));
    assert!(text.contains("Budi Santoso — café 😀"));
    assert!(text.contains(r#""amount":{"value":"1000.00","currency":"IDR"}"#));
    assert!(text.contains(r#""emptyArray":[],"list":[1,2.50,-3e2,true,false,null]"#));
    // Key order is the document's, not sorted.
    assert!(text.starts_with(r#"{"originalPartnerReferenceNo":"PAY12345678910","originalReferenceNo""#));
}

#[test]
fn minify_removes_crlf_and_tabs() {
    let v = common::vector(FILE, "crlf_and_tabs");
    assert!(v.body().contains(&b'\r') && v.body().contains(&b'\t'));
    assert_eq!(&*minify_json(&v.body()).unwrap(), v.get("minified").as_bytes());
}

#[test]
fn minify_of_minimal_json_borrows_the_input() {
    for v in common::vectors(FILE) {
        let minified = v.get("minified").as_bytes();
        let again = minify_json(minified).unwrap();
        assert!(matches!(again, Cow::Borrowed(_)), "[{}]", v.name);
        assert_eq!(&*again, minified);
    }
    assert!(matches!(minify_json(b""), Ok(Cow::Borrowed(_))));
}

#[test]
fn minify_rejects_an_unterminated_string() {
    let err = minify_json(b"{\"trxNo\": \"TRX001}").unwrap_err();
    assert!(matches!(err, SignatureError::InvalidJson { .. }));
    // Digests and strings to sign pass the error on.
    assert!(matches!(body_sha256_hex(b"\"abc"), Err(SignatureError::InvalidJson { .. })));
    assert!(matches!(
        asymmetric_string_to_sign("POST", "/", b"\"abc\\\"", "t"),
        Err(SignatureError::InvalidJson { .. })
    ));
}

#[test]
fn body_digests_match_python() {
    for v in common::vectors(FILE) {
        assert_eq!(body_sha256_hex(&v.body()).unwrap(), v.get("sha256_hex"), "[{}]", v.name);
        assert_eq!(body_sha256_base64(&v.body()).unwrap(), v.get("sha256_base64"), "[{}]", v.name);
    }
}

#[test]
fn asymmetric_strings_to_sign_match_python() {
    for v in common::vectors(FILE) {
        let s = asymmetric_string_to_sign(v.get("method"), v.get("path"), &v.body(), v.get("timestamp")).unwrap();
        assert_eq!(s, v.get("asymmetric_string_to_sign"), "[{}]", v.name);
    }
}

#[test]
fn timestamp_is_used_exactly_as_given() {
    let v = common::vector(FILE, "crlf_and_tabs");
    assert_eq!(v.get("timestamp"), "2024-11-04T10:00:00Z");
    let s = asymmetric_string_to_sign("POST", v.get("path"), &v.body(), v.get("timestamp")).unwrap();
    assert!(s.ends_with(":2024-11-04T10:00:00Z"));
}

fn symmetric_vectors() -> Vec<common::Vector> {
    common::vectors(FILE).into_iter().filter(|v| v.has("secret")).collect()
}

#[test]
fn symmetric_signatures_match_python_hmac_sha512() {
    let vectors = symmetric_vectors();
    assert_eq!(vectors.len(), 4);
    for v in vectors {
        let (method, path, token, ts) = (v.get("method"), v.get("path"), v.get("access_token"), v.get("timestamp"));
        let s = symmetric_string_to_sign(method, path, token, &v.body(), ts).unwrap();
        assert_eq!(s, v.get("symmetric_string_to_sign"), "[{}]", v.name);
        let signature = sign_symmetric(v.get("secret").as_bytes(), method, path, token, &v.body(), ts).unwrap();
        assert_eq!(signature, v.get("symmetric_signature"), "[{}]", v.name);
    }
}

#[test]
fn python_symmetric_signatures_verify() {
    for v in symmetric_vectors() {
        let result = verify_symmetric(
            v.get("secret").as_bytes(),
            v.get("method"),
            v.get("path"),
            v.get("access_token"),
            &v.body(),
            v.get("timestamp"),
            v.get("symmetric_signature"),
        );
        assert_eq!(result, Ok(()), "[{}]", v.name);
    }
}

#[test]
fn pretty_and_compact_bodies_verify_alike_but_another_body_does_not() {
    let v = common::vector(FILE, "qr_mpm_generate");
    let (secret, token, ts, sig) =
        (v.get("secret").as_bytes(), v.get("access_token"), v.get("timestamp"), v.get("symmetric_signature"));
    let path = v.get("path");
    let compact = v.get("minified").as_bytes();
    assert_eq!(verify_symmetric(secret, "POST", path, token, compact, ts, sig), Ok(()));
    let changed = v.get("minified").replace("12345678.00", "12345679.00");
    assert_eq!(
        verify_symmetric(secret, "POST", path, token, changed.as_bytes(), ts, sig),
        Err(SignatureError::Mismatch)
    );
    assert_eq!(verify_symmetric(secret, "POST", path, "other-token", compact, ts, sig), Err(SignatureError::Mismatch));
    assert_eq!(verify_symmetric(b"other", "POST", path, token, compact, ts, sig), Err(SignatureError::Mismatch));
}

#[test]
fn rejects_symmetric_signature_that_is_not_base64_of_64_bytes() {
    let v = common::vector(FILE, "empty_body_get");
    let check = |signature: &str| {
        verify_symmetric(
            v.get("secret").as_bytes(),
            "GET",
            v.get("path"),
            v.get("access_token"),
            b"",
            v.get("timestamp"),
            signature,
        )
    };
    let good = v.get("symmetric_signature");
    assert_eq!(check(good), Ok(()));
    let short = &good[..44];
    let hex = "ab".repeat(64);
    for bad in ["", short, &hex, &format!("{}*==", &good[..85])] {
        assert!(matches!(check(bad), Err(SignatureError::Malformed { .. })), "{bad:?}");
    }
}
