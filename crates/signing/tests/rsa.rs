//! SHA256withRSA against `fixtures/rsa.txt`: a key pair made by `openssl`, signatures made by
//! Python `cryptography` and by `openssl dgst -sha256 -sign`.
//!
//! Every test runs on every backend compiled in (`Backend::ALL`: aws-lc-rs with feature `rsa`,
//! the `rsa` crate with `rsa-pure`), on the same vectors; `cargo test -p gerbang-signing
//! --all-features` runs both.
#![cfg(any(feature = "rsa", feature = "rsa-pure"))]

mod common;

use gerbang_signing::SignatureError;
use gerbang_signing::rsa::{Backend, PrivateKey, PublicKey, sign_sha256_rsa, verify_sha256_rsa};

const FILE: &str = "rsa.txt";

fn private_key_on(backend: Backend, file: &str) -> PrivateKey {
    PrivateKey::from_pem_with(&common::fixture_text(file), backend)
        .unwrap_or_else(|err| panic!("fixture key {file} on {backend:?}: {err}"))
}

fn public_key_on(backend: Backend, file: &str) -> PublicKey {
    PublicKey::from_pem_with(&common::fixture_text(file), backend)
        .unwrap_or_else(|err| panic!("fixture key {file} on {backend:?}: {err}"))
}

fn private_key() -> PrivateKey {
    private_key_on(Backend::DEFAULT, "rsa_private_pkcs8.pem")
}

fn public_key() -> PublicKey {
    public_key_on(Backend::DEFAULT, "rsa_public_spki.pem")
}

#[test]
fn keys_are_read_on_the_default_backend() {
    assert_eq!(Backend::ALL.first(), Some(&Backend::DEFAULT));
    assert_eq!(private_key().backend(), Backend::DEFAULT);
    assert_eq!(public_key().backend(), Backend::DEFAULT);
    #[cfg(feature = "rsa")]
    assert_eq!(Backend::DEFAULT, Backend::AwsLc, "aws-lc-rs is the default whenever it is compiled in");
}

#[test]
fn all_pem_forms_of_the_openssl_key_load_and_agree() {
    for &backend in Backend::ALL {
        let pkcs8 = private_key_on(backend, "rsa_private_pkcs8.pem");
        let pkcs1 = private_key_on(backend, "rsa_private_pkcs1.pem");
        let spki = public_key_on(backend, "rsa_public_spki.pem");
        let public_pkcs1 = public_key_on(backend, "rsa_public_pkcs1.pem");
        assert_eq!(spki, public_pkcs1, "{backend:?}");
        assert_eq!(pkcs8.public_key(), spki, "{backend:?}");
        assert_eq!(pkcs1.public_key(), spki, "{backend:?}");
        assert_eq!((spki.backend(), pkcs8.backend(), pkcs8.public_key().backend()), (backend, backend, backend));
        assert_eq!(spki.bits(), 2048);
        // to_pem writes the same forms openssl does: PKCS#8 and SPKI.
        assert_eq!(pkcs8.to_pem(), common::fixture_text("rsa_private_pkcs8.pem"), "{backend:?}");
        assert_eq!(pkcs1.to_pem(), common::fixture_text("rsa_private_pkcs8.pem"), "{backend:?}");
        assert_eq!(public_pkcs1.to_pem(), common::fixture_text("rsa_public_spki.pem"), "{backend:?}");
    }
}

#[test]
fn pem_with_crlf_and_surrounding_whitespace_loads() {
    let crlf = common::fixture_text("rsa_public_spki.pem").replace('\n', "\r\n");
    for &backend in Backend::ALL {
        assert_eq!(PublicKey::from_pem_with(&format!("\n  {crlf}\n\n"), backend).unwrap(), public_key());
    }
}

#[test]
fn python_and_openssl_signatures_verify() {
    for &backend in Backend::ALL {
        for file in ["rsa_public_spki.pem", "rsa_public_pkcs1.pem"] {
            let key = public_key_on(backend, file);
            let vectors = common::vectors(FILE);
            assert_eq!(vectors.len(), 2);
            for v in vectors {
                let message = v.get("message").as_bytes();
                let ok = |signature| verify_sha256_rsa(&key, message, signature);
                assert_eq!(ok(v.get("cryptography_signature")), Ok(()), "[{}] {backend:?} {file}", v.name);
                assert_eq!(ok(v.get("openssl_signature")), Ok(()), "[{}] {backend:?} {file}", v.name);
            }
        }
    }
}

#[test]
fn signatures_made_here_equal_python_and_openssl_ones() {
    // PKCS#1 v1.5 is deterministic, so a blinded signature is still byte for byte the same.
    for &backend in Backend::ALL {
        for file in ["rsa_private_pkcs8.pem", "rsa_private_pkcs1.pem"] {
            let key = private_key_on(backend, file);
            for v in common::vectors(FILE) {
                let signature = sign_sha256_rsa(&key, v.get("message").as_bytes()).unwrap();
                assert_eq!(signature, v.get("openssl_signature"), "[{}] {backend:?} {file}", v.name);
            }
        }
    }
}

/// With both features on: one backend's keys and signatures are the other's.
#[cfg(all(feature = "rsa", feature = "rsa-pure"))]
#[test]
fn both_backends_agree_on_the_same_vectors() {
    let aws_public = public_key_on(Backend::AwsLc, "rsa_public_spki.pem");
    let pure_public = public_key_on(Backend::Pure, "rsa_public_pkcs1.pem");
    assert_eq!(aws_public, pure_public, "the same key, whichever backend read it");
    let aws_private = private_key_on(Backend::AwsLc, "rsa_private_pkcs1.pem");
    let pure_private = private_key_on(Backend::Pure, "rsa_private_pkcs8.pem");
    assert_eq!(aws_private.to_pem(), pure_private.to_pem());
    for v in common::vectors(FILE) {
        let message = v.get("message").as_bytes();
        let by_aws = sign_sha256_rsa(&aws_private, message).unwrap();
        let by_pure = sign_sha256_rsa(&pure_private, message).unwrap();
        assert_eq!(by_aws, by_pure, "[{}]", v.name);
        assert_eq!(by_aws, v.get("cryptography_signature"), "[{}]", v.name);
        assert_eq!(verify_sha256_rsa(&pure_public, message, &by_aws), Ok(()), "[{}]", v.name);
        assert_eq!(verify_sha256_rsa(&aws_public, message, &by_pure), Ok(()), "[{}]", v.name);
        let tampered = [message, b" "].concat();
        for key in [&aws_public, &pure_public] {
            assert_eq!(verify_sha256_rsa(key, &tampered, &by_aws), Err(SignatureError::Mismatch), "[{}]", v.name);
        }
    }
    // A key generated on one backend is read by the other.
    let generated = PrivateKey::generate_with(2048, Backend::AwsLc).unwrap();
    let again = PrivateKey::from_pem_with(&generated.to_pem(), Backend::Pure).unwrap();
    assert_eq!(again.public_key(), generated.public_key());
    let signature = sign_sha256_rsa(&generated, b"message").unwrap();
    assert_eq!(verify_sha256_rsa(&again.public_key(), b"message", &signature), Ok(()));
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
    for &backend in Backend::ALL {
        let key = public_key_on(backend, "rsa_public_spki.pem");
        assert_eq!(
            verify_sha256_rsa(&key, tampered.as_bytes(), v.get("openssl_signature")),
            Err(SignatureError::Mismatch),
            "{backend:?}"
        );
    }
}

#[test]
fn rejects_signature_checked_with_another_key() {
    let v = common::vector(FILE, "short_message");
    for &backend in Backend::ALL {
        let other = public_key_on(backend, "other_public_spki.pem");
        assert_ne!(other, public_key());
        assert_eq!(verify_sha256_rsa(&other, b"hello", v.get("openssl_signature")), Err(SignatureError::Mismatch));
    }
}

#[test]
fn rejects_garbage_base64_as_malformed() {
    let good = common::vector(FILE, "short_message").get("openssl_signature").to_owned();
    let not_base64 = "%".repeat(good.len());
    for &backend in Backend::ALL {
        let key = public_key_on(backend, "rsa_public_spki.pem");
        for bad in ["", "not base64 at all", not_base64.as_str(), &good[..good.len() - 4], &format!("{good}AAAA")] {
            let result = verify_sha256_rsa(&key, b"hello", bad);
            assert!(matches!(result, Err(SignatureError::Malformed { .. })), "{backend:?} {bad:?}");
        }
    }
}

#[test]
fn rejects_a_well_formed_signature_that_is_not_one() {
    let good = common::vector(FILE, "short_message").get("openssl_signature").to_owned();
    // Same length, valid base64, but not a signature: all zeros, all ones, one bit off.
    let mut flipped = good.into_bytes();
    flipped[10] = if flipped[10] == b'A' { b'B' } else { b'A' };
    let flipped = String::from_utf8(flipped).unwrap();
    let zeros = format!("{}==", "A".repeat(342));
    let ones = format!("{}w==", "/".repeat(341));
    for &backend in Backend::ALL {
        let key = public_key_on(backend, "rsa_public_spki.pem");
        for bad in [&flipped, &zeros, &ones] {
            assert_eq!(verify_sha256_rsa(&key, b"hello", bad), Err(SignatureError::Mismatch), "{backend:?} {bad}");
        }
    }
}

#[test]
fn generated_keys_round_trip_through_pem() {
    for &backend in Backend::ALL {
        let key = PrivateKey::generate_with(2048, backend).unwrap();
        let again = PrivateKey::from_pem_with(&key.to_pem(), backend).unwrap();
        let public = PublicKey::from_pem_with(&key.public_key().to_pem(), backend).unwrap();
        assert_eq!(public, key.public_key());
        let signature = sign_sha256_rsa(&again, b"message").unwrap();
        assert_eq!(verify_sha256_rsa(&public, b"message", &signature), Ok(()), "{backend:?}");
        assert_eq!(signature, sign_sha256_rsa(&key, b"message").unwrap(), "{backend:?}");
        assert!(matches!(PrivateKey::generate_with(1024, backend), Err(SignatureError::InvalidKey { .. })));
    }
}

#[test]
fn debug_never_shows_key_material() {
    for &backend in Backend::ALL {
        assert_eq!(format!("{:?}", public_key_on(backend, "rsa_public_spki.pem")), "PublicKey { bits: 2048 }");
        let private = private_key_on(backend, "rsa_private_pkcs8.pem");
        assert_eq!(format!("{private:?}"), "PrivateKey { .. }");
        assert_eq!(format!("{private:#?}"), "PrivateKey { .. }");
    }
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
    for &backend in Backend::ALL {
        for pem in &garbage {
            assert_invalid_key_without_echo(PrivateKey::from_pem_with(pem, backend), secret);
            assert_invalid_key_without_echo(
                PublicKey::from_pem_with(&pem.replace("PRIVATE", "PUBLIC"), backend),
                secret,
            );
        }
    }
}

#[test]
fn escaped_line_breaks_are_named_in_the_error() {
    let pem = common::fixture_text("rsa_public_spki.pem").trim().replace('\n', "\\n");
    for &backend in Backend::ALL {
        let err = PublicKey::from_pem_with(&pem, backend).unwrap_err();
        assert!(err.to_string().contains("the two characters \\n"), "{backend:?}: {err}");
    }
}

#[test]
fn a_key_of_the_wrong_kind_is_named_in_the_error() {
    for &backend in Backend::ALL {
        let err = PublicKey::from_pem_with(&common::fixture_text("rsa_private_pkcs8.pem"), backend).unwrap_err();
        assert!(err.to_string().contains("private key"), "{err}");
        let err = PrivateKey::from_pem_with(&common::fixture_text("rsa_public_spki.pem"), backend).unwrap_err();
        assert!(err.to_string().contains("not a private key"), "{err}");
        let key_body = common::fixture_text("rsa_private_pkcs8.pem");
        let key_line = key_body.lines().nth(1).unwrap();
        assert!(!err.to_string().contains(key_line));
    }
}

#[test]
fn a_public_block_of_the_other_form_is_refused() {
    // An SPKI body under the PKCS#1 label, and the reverse: a key is read as what its label says.
    let spki = common::fixture_text("rsa_public_spki.pem");
    let pkcs1 = common::fixture_text("rsa_public_pkcs1.pem");
    for &backend in Backend::ALL {
        let swapped = spki.replace("PUBLIC KEY", "RSA PUBLIC KEY");
        let err = PublicKey::from_pem_with(&swapped, backend).unwrap_err();
        assert!(err.to_string().contains("not valid PKCS#1"), "{backend:?}: {err}");
        let swapped = pkcs1.replace("RSA PUBLIC KEY", "PUBLIC KEY");
        let err = PublicKey::from_pem_with(&swapped, backend).unwrap_err();
        assert!(err.to_string().contains("not valid SPKI"), "{backend:?}: {err}");
    }
}

#[test]
fn keys_of_1024_bits_and_up_verify_and_smaller_ones_are_refused() {
    for &backend in Backend::ALL {
        for v in common::vectors("rsa_sizes.txt") {
            let pem = common::fixture_text(v.get("public_key_file"));
            let bits: usize = v.get("bits").parse().unwrap();
            match PublicKey::from_pem_with(&pem, backend) {
                Ok(key) => {
                    assert!(bits >= 1024, "[{}] {backend:?}: a {bits}-bit key was read", v.name);
                    assert_eq!(key.bits(), bits);
                    let message = v.get("message").as_bytes();
                    assert_eq!(verify_sha256_rsa(&key, message, v.get("openssl_signature")), Ok(()), "[{}]", v.name);
                    assert_eq!(
                        verify_sha256_rsa(&key, b"another message", v.get("openssl_signature")),
                        Err(SignatureError::Mismatch)
                    );
                }
                Err(err) => {
                    assert!(bits < 1024, "[{}] {backend:?}: {err}", v.name);
                    assert!(err.to_string().contains("512 bits are not read"), "{err}");
                }
            }
        }
    }
}
