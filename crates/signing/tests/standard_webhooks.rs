//! Standard Webhooks signatures: the specification's own test vector, round trips, rotation, and
//! the attacks (a tampered body, id or timestamp, another secret's signature, a replayed old
//! message) tried by property tests. Malformed secrets are refused without being echoed.
#![cfg(feature = "standard-webhooks")]
#![allow(clippy::unwrap_used)] // Test code.

use std::time::Duration;

use gerbang_signing::SignatureError;
use gerbang_signing::standard_webhooks::{
    DEFAULT_TOLERANCE, Headers, MAX_SIGNATURES, WebhookSecret, message_id, signature_header,
};
use proptest::prelude::*;

const NOW: i64 = 1_730_689_200;

fn fresh() -> WebhookSecret {
    WebhookSecret::parse(&WebhookSecret::generate().unwrap()).unwrap()
}

fn check(
    secret: &WebhookSecret,
    id: &str,
    timestamp: &str,
    signature: &str,
    body: &[u8],
) -> Result<(), SignatureError> {
    secret.verify(&Headers { id, timestamp, signature }, body, NOW, DEFAULT_TOLERANCE)
}

/// The vector every reference library (Python, JavaScript, Go, PHP…) tests against.
#[test]
fn the_reference_libraries_vector_is_reproduced() {
    let secret = WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
    let body = br#"{"test": 2432232314}"#;
    let signature = secret.sign("msg_p5jXN8AQM9LWM0D4loKWxJek", 1_614_265_330, body);
    assert_eq!(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    let headers = Headers { id: "msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp: "1614265330", signature: &signature };
    assert_eq!(secret.verify(&headers, body, 1_614_265_330 + 299, DEFAULT_TOLERANCE), Ok(()));
}

#[test]
fn generated_secrets_are_fresh_32_byte_whsec_values() {
    let (a, b) = (WebhookSecret::generate().unwrap(), WebhookSecret::generate().unwrap());
    assert_ne!(*a, *b);
    for text in [&a, &b] {
        assert!(text.starts_with("whsec_") && text.len() == 6 + 44 && text.ends_with('='), "{}", text.len());
        WebhookSecret::parse(text).unwrap();
    }
    // Nothing of it in Debug.
    assert_eq!(format!("{:?}", WebhookSecret::parse(&a).unwrap()), "WebhookSecret(<redacted>)");
}

#[test]
fn a_rotation_header_verifies_with_either_secret_alone() {
    let (current, previous, other) = (fresh(), fresh(), fresh());
    let body = br#"{"status":"paid"}"#;
    let id = message_id("cuan10pay:D-1:paid");
    let header = signature_header(&[current.clone(), previous.clone()], &id, NOW, body);
    assert_eq!(header.split(' ').count(), 2);
    assert!(header.split(' ').all(|s| s.starts_with("v1,")));
    let timestamp = NOW.to_string();
    assert_eq!(check(&current, &id, &timestamp, &header, body), Ok(()));
    assert_eq!(check(&previous, &id, &timestamp, &header, body), Ok(()));
    assert_eq!(check(&other, &id, &timestamp, &header, body), Err(SignatureError::Mismatch));
    // An asymmetric signature or junk beside it is passed over, not fatal.
    let mixed = format!("v1a,AAAA  junk {header}");
    assert_eq!(check(&previous, &id, &timestamp, &mixed, body), Ok(()));
}

#[test]
fn the_timestamp_must_be_within_the_tolerance() {
    let secret = fresh();
    let body = b"{}";
    for (at, ok) in [(NOW - 300, true), (NOW + 300, true), (NOW - 301, false), (NOW + 301, false), (0, false)] {
        let signature = secret.sign("msg_1", at, body);
        let result = check(&secret, "msg_1", &at.to_string(), &signature, body);
        assert_eq!(result.is_ok(), ok, "{at}: {result:?}");
        if !ok {
            assert!(matches!(result, Err(SignatureError::Timestamp { .. })), "{result:?}");
        }
    }
    let signature = secret.sign("msg_1", NOW, body);
    let zero = Duration::ZERO;
    let headers = Headers { id: "msg_1", timestamp: &NOW.to_string(), signature: &signature };
    assert_eq!(secret.verify(&headers, body, NOW, zero), Ok(()));
    assert!(secret.verify(&headers, body, NOW + 1, zero).is_err());
}

#[test]
fn odd_headers_are_refused_before_any_mac() {
    let secret = fresh();
    let body = b"{}";
    let signature = secret.sign("a.b", NOW, body);
    assert_eq!(
        check(&secret, "a.b", &NOW.to_string(), &signature, body),
        Err(SignatureError::NonCanonical { field: "webhook-id" })
    );
    assert!(matches!(check(&secret, "", &NOW.to_string(), &signature, body), Err(SignatureError::Malformed { .. })));
    let signature = secret.sign("msg_1", NOW, body);
    assert_eq!(
        check(&secret, "msg_1", &format!("0{NOW}"), &signature, body),
        Err(SignatureError::NonCanonical { field: "webhook-timestamp" })
    );
    let many = [signature.as_str(); MAX_SIGNATURES + 1].join(" ");
    assert!(matches!(check(&secret, "msg_1", &NOW.to_string(), &many, body), Err(SignatureError::Malformed { .. })));
    for junk in ["", "v1", "v1,", "v1,not base64!", "v2,AAAA", "g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="] {
        assert!(
            matches!(check(&secret, "msg_1", &NOW.to_string(), junk, body), Err(SignatureError::Malformed { .. })),
            "{junk:?}"
        );
    }
}

#[test]
fn malformed_secrets_are_refused_saying_how_to_make_one_never_what_was_given() {
    let cases = [
        ("", "empty"),
        ("   ", "empty"),
        ("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "does not start with `whsec_`"),
        ("whsk_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "does not start"),
        ("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2La!aSw", "not standard base64"),
        ("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLa_w", "not standard base64"),
        ("whsec_c2hvcnQtc2VjcmV0LXRlc3Q=", "shorter than 24 bytes"),
        ("whsec_", "shorter than 24 bytes"),
    ];
    let long = format!("whsec_{}", "QUFB".repeat(30));
    for (text, why) in cases.iter().copied().chain([(long.as_str(), "longer than 64 bytes")]) {
        let error = WebhookSecret::parse(text).unwrap_err();
        let said = error.to_string();
        assert!(said.contains(why), "{text:?}: {said}");
        assert!(said.contains("`gerbang webhook secret`") && said.contains("24 to 64"), "{said}");
        let value = text.trim().trim_start_matches("whsec_");
        assert!(value.len() < 4 || !said.contains(value), "{text:?} echoed: {said}");
    }
    // Unpadded base64 and surrounding whitespace are read, as the reference libraries do.
    let unpadded = WebhookSecret::generate().unwrap().trim_end_matches('=').to_owned();
    WebhookSecret::parse(&format!(" {unpadded}\n")).unwrap();
}

#[test]
fn message_ids_are_stable_header_safe_and_dotless() {
    let odd = "qris:INV.7 x:paid";
    let id = message_id(odd);
    assert_eq!(id, message_id(odd));
    assert_eq!(id.len(), 36);
    assert!(id.starts_with("msg_") && id[4..].bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
}

/// One way of changing a signed message.
#[derive(Debug, Clone)]
enum Tamper {
    /// One bit of the body flipped.
    BodyBit(usize, u8),
    /// A byte added to the body's end (a trailing newline, say).
    BodyAppend(u8),
    /// The body cut short.
    BodyTruncate(usize),
    /// Another id, dotless (a dotted one is refused anyway).
    Id(String),
    /// The timestamp moved, within the tolerance.
    Timestamp(i64),
    /// The signature of another secret over the very same message.
    OtherSecret,
    /// One bit of the signature flipped.
    SignatureBit(usize, u8),
}

fn tamper() -> impl Strategy<Value = Tamper> {
    prop_oneof![
        (any::<usize>(), 0_u8..8).prop_map(|(i, bit)| Tamper::BodyBit(i, bit)),
        any::<u8>().prop_map(Tamper::BodyAppend),
        any::<usize>().prop_map(Tamper::BodyTruncate),
        "[A-Za-z0-9_]{1,40}".prop_map(Tamper::Id),
        (-300_i64..=300).prop_filter("moved", |d| *d != 0).prop_map(Tamper::Timestamp),
        Just(Tamper::OtherSecret),
        (0_usize..32, 0_u8..8).prop_map(|(i, bit)| Tamper::SignatureBit(i, bit)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    /// Whatever is signed verifies, with the secret alone and in a rotation with another.
    #[test]
    fn what_is_signed_verifies(
        body in prop::collection::vec(any::<u8>(), 0..512),
        key in "[ -~]{1,120}",
        skew in -300_i64..=300,
        previous_first in any::<bool>(),
    ) {
        let (secret, previous) = (fresh(), fresh());
        let id = message_id(&key);
        let at = NOW + skew;
        let secrets = if previous_first { [previous, secret.clone()] } else { [secret.clone(), previous] };
        let header = signature_header(&secrets, &id, at, &body);
        prop_assert_eq!(check(&secret, &id, &at.to_string(), &header, &body), Ok(()));
        prop_assert_eq!(check(&secrets[0], &id, &at.to_string(), &header, &body), Ok(()));
    }

    /// The attack: a message changed in any way (body, id, timestamp, signature), or signed by
    /// a secret the application does not hold, never verifies.
    #[test]
    fn a_tampered_message_never_verifies(
        body in prop::collection::vec(any::<u8>(), 1..512),
        key in "[ -~]{1,120}",
        change in tamper(),
    ) {
        let secret = fresh();
        let id = message_id(&key);
        let mut signature = secret.sign(&id, NOW, &body);
        let (mut forged_body, mut forged_id, mut at) = (body.clone(), id.clone(), NOW);
        match change.clone() {
            Tamper::BodyBit(i, bit) => forged_body[i % body.len()] ^= 1 << bit,
            Tamper::BodyAppend(byte) => forged_body.push(byte),
            Tamper::BodyTruncate(i) => forged_body.truncate(i % body.len()),
            Tamper::Id(other) => {
                prop_assume!(other != id);
                forged_id = other;
            }
            Tamper::Timestamp(delta) => at += delta,
            Tamper::OtherSecret => signature = fresh().sign(&id, NOW, &body),
            Tamper::SignatureBit(i, bit) => {
                use base64::Engine as _;
                let engine = base64::engine::general_purpose::STANDARD;
                let mut mac = engine.decode(&signature[3..]).unwrap();
                mac[i] ^= 1 << bit;
                signature = format!("v1,{}", engine.encode(mac));
            }
        }
        let result = check(&secret, &forged_id, &at.to_string(), &signature, &forged_body);
        prop_assert_eq!(result, Err(SignatureError::Mismatch), "{:?}", change);
    }

    /// A genuine message replayed after the tolerance is refused, however it is signed.
    #[test]
    fn an_old_message_is_refused(late in 301_i64..10_000_000, body in prop::collection::vec(any::<u8>(), 0..64)) {
        let secret = fresh();
        let signature = secret.sign("msg_1", NOW - late, &body);
        let result = check(&secret, "msg_1", &(NOW - late).to_string(), &signature, &body);
        prop_assert!(matches!(result, Err(SignatureError::Timestamp { .. })), "{:?}", result);
    }

    /// Hostile headers never panic, and verify only if they hold this secret's signature.
    #[test]
    fn hostile_headers_never_panic(id in "\\PC{0,40}", timestamp in "\\PC{0,24}", signature in "\\PC{0,200}") {
        let secret = fresh();
        let result = check(&secret, &id, &timestamp, &signature, b"{}");
        prop_assert!(result.is_err());
    }

    /// A malformed secret is refused without its value in the error.
    #[test]
    fn a_malformed_secret_is_never_echoed(value in "[A-Za-z0-9+/!_-]{8,100}") {
        for text in [value.clone(), format!("whsec_{value}!"), format!("whsk_{value}")] {
            let error = WebhookSecret::parse(&text).unwrap_err().to_string();
            prop_assert!(!error.contains(&value), "{}", error);
        }
    }
}
