//! Properties: minification agrees with `serde_json`, and nothing panics on hostile input.

use std::borrow::Cow;

use gerbang_signing::snap::minify_json;
use gerbang_signing::{SignatureError, cashin, cuan10pay, jakarta, snap};
use proptest::prelude::*;
use serde_json::Value;

/// Arbitrary JSON values: every scalar kind (strings with any Unicode, quotes, backslashes and
/// control characters that serde_json escapes), nested arrays and objects.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_filter_map("finite", |f| serde_json::Number::from_f64(f).map(Value::Number)),
        any::<String>().prop_map(Value::String),
        "[ \"\\\\\\t\\n:,{}\\[\\]]{0,8}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::btree_map(any::<String>(), inner, 0..8)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn minify_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = minify_json(&bytes);
    }

    #[test]
    fn minify_of_pretty_json_is_serde_compact_json(value in json_value()) {
        let pretty = serde_json::to_vec_pretty(&value).unwrap();
        let compact = serde_json::to_vec(&value).unwrap();
        prop_assert_eq!(&*minify_json(&pretty).unwrap(), &compact[..]);
        // Compact JSON is already minimal: returned as is, without a copy.
        prop_assert!(matches!(minify_json(&compact).unwrap(), Cow::Borrowed(_)));
    }

    #[test]
    fn minify_is_idempotent(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        if let Ok(once) = minify_json(&bytes) {
            let twice = minify_json(&once).unwrap();
            prop_assert!(matches!(twice, Cow::Borrowed(_)));
            prop_assert_eq!(&*twice, &*once);
        }
    }

    #[test]
    fn hmac_verifiers_never_panic(signature in any::<String>(), body in prop::collection::vec(any::<u8>(), 0..64)) {
        let hex = cuan10pay::verify_request(b"k", 1, "POST", "/v1/x", &body, &signature);
        prop_assert!(hex.is_err());
        prop_assert!(cuan10pay::verify_webhook(b"k", "r", "PAID", "1", "2", &signature).is_err());
        prop_assert!(snap::verify_symmetric(b"k", "POST", "/v1.0/x", "t", &body, "ts", &signature).is_err());
        prop_assert!(cashin::verify(b"k", "s", cashin::HmacAlgorithm::Sha256, &signature).is_err());
        prop_assert!(cashin::verify(b"k", "s", cashin::HmacAlgorithm::Sha512, &signature).is_err());
    }

    #[test]
    fn hmac_verifiers_never_panic_on_well_formed_lengths(bytes in prop::collection::vec(any::<u8>(), 64)) {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD.encode(&bytes);
        let b64_short = base64::engine::general_purpose::STANDARD.encode(&bytes[..32]);
        prop_assert_eq!(cuan10pay::verify_webhook(b"k", "r", "PAID", "1", "2", &hex::encode(&bytes[..32])), Err(SignatureError::Mismatch));
        prop_assert_eq!(snap::verify_symmetric(b"k", "GET", "/", "t", b"", "ts", &b64), Err(SignatureError::Mismatch));
        prop_assert_eq!(cashin::verify(b"k", "s", cashin::HmacAlgorithm::Sha256, &b64_short), Err(SignatureError::Mismatch));
    }

    #[test]
    fn parse_timestamp_never_panics(s in any::<String>()) {
        let _ = jakarta::parse_timestamp(&s);
        let _ = jakarta::parse_local_datetime(&s);
    }

    #[test]
    fn parse_timestamp_never_panics_on_near_misses(s in "[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,12})?(Z|[+-][0-9]{2}:[0-9]{2})?") {
        if let Ok(t) = jakarta::parse_timestamp(&s) {
            // Whatever parses formats again without panicking.
            let _ = jakarta::format_timestamp_millis(t);
        }
        let _ = jakarta::parse_local_datetime(&s);
    }

    #[test]
    fn jakarta_round_trip(seconds in -62_135_596_800_i64..253_402_300_799, millis in 0_u16..1000) {
        let t = time::OffsetDateTime::from_unix_timestamp(seconds).unwrap()
            + time::Duration::milliseconds(i64::from(millis));
        prop_assert_eq!(jakarta::parse_timestamp(&jakarta::format_timestamp_millis(t)), Ok(t));
    }
}

#[cfg(any(feature = "rsa", feature = "rsa-pure"))]
mod rsa {
    use super::*;
    use gerbang_signing::rsa::{Backend, PrivateKey, PublicKey, verify_sha256_rsa};

    fn key() -> PublicKey {
        let pem = include_str!("fixtures/rsa_public_spki.pem");
        PublicKey::from_pem(pem).unwrap_or_else(|err| panic!("fixture key: {err}"))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn rsa_verify_never_panics(signature in any::<String>()) {
            prop_assert!(verify_sha256_rsa(&key(), b"message", &signature).is_err());
        }

        #[test]
        fn rsa_verify_never_panics_on_well_formed_lengths(bytes in prop::collection::vec(any::<u8>(), 256)) {
            use base64::Engine as _;
            let b64 = base64::engine::general_purpose::STANDARD.encode(&bytes);
            prop_assert_eq!(verify_sha256_rsa(&key(), b"message", &b64), Err(SignatureError::Mismatch));
        }

        /// Any bytes as the DER of a key block: refused with `InvalidKey` on every backend, never
        /// a panic (the SPKI unwrapping and modulus sizing read lengths from the input).
        #[test]
        fn reading_arbitrary_der_never_panics(der in prop::collection::vec(any::<u8>(), 0..600)) {
            use base64::Engine as _;
            let b64 = base64::engine::general_purpose::STANDARD.encode(&der);
            for &backend in Backend::ALL {
                for label in ["PUBLIC KEY", "RSA PUBLIC KEY"] {
                    let pem = format!("-----BEGIN {label}-----\n{b64}\n-----END {label}-----\n");
                    let result = PublicKey::from_pem_with(&pem, backend);
                    prop_assert!(matches!(result, Err(SignatureError::InvalidKey { .. })), "{:?}", result);
                }
                for label in ["PRIVATE KEY", "RSA PRIVATE KEY"] {
                    let pem = format!("-----BEGIN {label}-----\n{b64}\n-----END {label}-----\n");
                    let result = PrivateKey::from_pem_with(&pem, backend);
                    prop_assert!(matches!(result, Err(SignatureError::InvalidKey { .. })), "{:?}", result);
                }
            }
        }

        #[test]
        fn reading_arbitrary_text_never_panics(text in any::<String>()) {
            for &backend in Backend::ALL {
                prop_assert!(PublicKey::from_pem_with(&text, backend).is_err());
                prop_assert!(PrivateKey::from_pem_with(&text, backend).is_err());
            }
        }
    }
}
