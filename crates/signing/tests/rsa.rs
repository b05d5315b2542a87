//! SHA256withRSA against `fixtures/rsa.txt`: a key pair made by `openssl`, signatures made by
//! Python `cryptography` and by `openssl dgst -sha256 -sign`.
#![cfg(feature = "rsa")]

mod common;

use gerbang_signing::SignatureError;
use gerbang_signing::rsa::{PrivateKey, PublicKey, sign_sha256_rsa, verify_sha256_rsa};

const FILE: &str = "rsa.txt";

fn private_key() -> PrivateKey {
    PrivateKey::from_pem(&common::fixture_text("rsa_private_pkcs8.pem"))
        .unwrap_or_else(|err| panic!("fixture key: {err}"))
}

fn public_key() -> PublicKey {
    PublicKey::from_pem(&common::fixture_text("rsa_public_spki.pem")).unwrap_or_else(|err| panic!("fixture key: {err}"))
}

#[test]
fn all_pem_forms_of_the_openssl_key_load_and_agree() {
    let pkcs8 = private_key();
    let pkcs1 = PrivateKey::from_pem(&common::fixture_text("rsa_private_pkcs1.pem")).unwrap();
    let spki = public_key();
    let public_pkcs1 = PublicKey::from_pem(&common::fixture_text("rsa_public_pkcs1.pem")).unwrap();
    assert_eq!(spki, public_pkcs1);
    assert_eq!(pkcs8.public_key(), spki);
    assert_eq!(pkcs1.public_key(), spki);
    // to_pem writes the same forms openssl does: PKCS#8 and SPKI.
    assert_eq!(pkcs8.to_pem(), common::fixture_text("rsa_private_pkcs8.pem"));
    assert_eq!(pkcs1.to_pem(), common::fixture_text("rsa_private_pkcs8.pem"));
    assert_eq!(public_pkcs1.to_pem(), common::fixture_text("rsa_public_spki.pem"));
}

#[test]
fn pem_with_crlf_and_surrounding_whitespace_loads() {
    let crlf = common::fixture_text("rsa_public_spki.pem").replace('\n', "\r\n");
    assert_eq!(PublicKey::from_pem(&format!("\n  {crlf}\n\n")).unwrap(), public_key());
}

#[test]
fn python_and_openssl_signatures_verify() {
    let key = public_key();
    let vectors = common::vectors(FILE);
    assert_eq!(vectors.len(), 2);
    for v in vectors {
        let message = v.get("message").as_bytes();
        assert_eq!(verify_sha256_rsa(&key, message, v.get("cryptography_signature")), Ok(()), "[{}]", v.name);
        assert_eq!(verify_sha256_rsa(&key, message, v.get("openssl_signature")), Ok(()), "[{}]", v.name);
    }
}

#[test]
fn signatures_made_here_equal_python_and_openssl_ones() {
    // PKCS#1 v1.5 is deterministic, so a blinded signature is still byte for byte the same.
    for key in [private_key(), PrivateKey::from_pem(&common::fixture_text("rsa_private_pkcs1.pem")).unwrap()] {
        for v in common::vectors(FILE) {
            let signature = sign_sha256_rsa(&key, v.get("message").as_bytes()).unwrap();
            assert_eq!(signature, v.get("openssl_signature"), "[{}]", v.name);
        }
    }
}

#[test]
fn notification_message_is_the_snap_string_of_the_fixture_body() {
    let v = common::vector(FILE, "cashin_notification");
    let body = common::fixture_bytes("cashin_notify_pretty.json");
    let s = gerbang_signing::snap::asymmetric_string_to_sign(
        "POST",
        "/v1.0/debit/notify",
        &body,
        "2024-11-04T10:00:00+07:00",
    )
    .unwrap();
    assert_eq!(s, v.get("message"));
}

#[test]
fn rejects_tampered_message() {
    let v = common::vector(FILE, "cashin_notification");
    let tampered = v.get("message").replace("10:00:00", "10:00:01");
    assert_eq!(
        verify_sha256_rsa(&public_key(), tampered.as_bytes(), v.get("openssl_signature")),
        Err(SignatureError::Mismatch)
    );
}

#[test]
fn rejects_signature_checked_with_another_key() {
    let other = PublicKey::from_pem(&common::fixture_text("other_public_spki.pem")).unwrap();
    let v = common::vector(FILE, "short_message");
    assert_eq!(verify_sha256_rsa(&other, b"hello", v.get("openssl_signature")), Err(SignatureError::Mismatch));
}

#[test]
fn rejects_garbage_base64_as_malformed() {
    let key = public_key();
    let good = common::vector(FILE, "short_message").get("openssl_signature").to_owned();
    let not_base64 = "%".repeat(good.len());
    for bad in ["", "not base64 at all", not_base64.as_str(), &good[..good.len() - 4], &format!("{good}AAAA")] {
        assert!(matches!(verify_sha256_rsa(&key, b"hello", bad), Err(SignatureError::Malformed { .. })), "{bad:?}");
    }
}

#[test]
fn generated_keys_round_trip_through_pem() {
    let key = PrivateKey::generate(2048).unwrap();
    let again = PrivateKey::from_pem(&key.to_pem()).unwrap();
    let public = PublicKey::from_pem(&key.public_key().to_pem()).unwrap();
    let signature = sign_sha256_rsa(&again, b"message").unwrap();
    assert_eq!(verify_sha256_rsa(&public, b"message", &signature), Ok(()));
    assert!(matches!(PrivateKey::generate(1024), Err(SignatureError::InvalidKey { .. })));
}

#[test]
fn debug_never_shows_key_material() {
    assert_eq!(format!("{:?}", public_key()), "PublicKey { bits: 2048 }");
    assert_eq!(format!("{:?}", private_key()), "PrivateKey { .. }");
    assert_eq!(format!("{:#?}", private_key()), "PrivateKey { .. }");
}

fn assert_invalid_key_without_echo(result: Result<impl std::fmt::Debug, SignatureError>, secret: &str) {
    let Err(err) = result else { panic!("garbage PEM was accepted") };
    let SignatureError::InvalidKey { reason } = &err else { panic!("expected InvalidKey, got {err:?}") };
    assert!(reason.contains("expected"), "says which formats are accepted: {reason}");
    for shown in [err.to_string(), format!("{err:?}")] {
        assert!(!shown.contains(secret), "the error echoes the input: {shown}");
    }
}

#[test]
fn garbage_pem_is_invalid_key_without_echoing_it() {
    let secret = "c3VwZXJzZWNyZXRrZXltYXRlcmlhbA";
    let garbage = [
        format!("-----BEGIN PRIVATE KEY-----\n{secret}\n-----END PRIVATE KEY-----\n"),
        format!("-----BEGIN RSA PRIVATE KEY-----\n{secret}\n-----END RSA PRIVATE KEY-----\n"),
        format!("-----BEGIN {secret}-----\n{secret}\n-----END {secret}-----\n"),
        secret.to_owned(),
        format!("-----BEGIN PRIVATE KEY-----\\n{secret}\\n-----END PRIVATE KEY-----"),
    ];
    for pem in &garbage {
        assert_invalid_key_without_echo(PrivateKey::from_pem(pem), secret);
        assert_invalid_key_without_echo(PublicKey::from_pem(&pem.replace("PRIVATE", "PUBLIC")), secret);
    }
}

#[test]
fn a_key_of_the_wrong_kind_is_named_in_the_error() {
    let err = PublicKey::from_pem(&common::fixture_text("rsa_private_pkcs8.pem")).unwrap_err();
    assert!(err.to_string().contains("private key"), "{err}");
    let err = PrivateKey::from_pem(&common::fixture_text("rsa_public_spki.pem")).unwrap_err();
    assert!(err.to_string().contains("not a private key"), "{err}");
    let key_body = common::fixture_text("rsa_private_pkcs8.pem");
    let key_line = key_body.lines().nth(1).unwrap();
    assert!(!err.to_string().contains(key_line));
}
