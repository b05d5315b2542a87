//! Signing and verifying through gerbang-signing against the bare crates on the same bytes,
//! interleaved batch by batch (the order alternating, so neither always meets a warmer cache):
//! HMAC against `hmac`, RSA against aws-lc-rs with a key parsed once, as a careful hand-written
//! integration would hold it.

use std::hint::black_box;
use std::time::{Duration, Instant};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeyPair;
use aws_lc_rs::signature::{self, ParsedPublicKey};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use gerbang_signing::rsa::{PrivateKey, PublicKey, sign_sha256_rsa, verify_sha256_rsa};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::{Result, median};

const HMAC_BATCHES: usize = 200;
const HMAC_PER_BATCH: usize = 2_000;
const VERIFY_BATCHES: usize = 60;
const VERIFY_PER_BATCH: usize = 100;
const SIGN_BATCHES: usize = 40;
const SIGN_PER_BATCH: usize = 10;

/// Per-operation medians: gerbang's, and the bare crate's.
pub(crate) struct Pair {
    pub(crate) ours: Duration,
    pub(crate) bare: Duration,
}

impl Pair {
    /// Bare time over ours: the throughput of ours relative to the bare crate's (1.0: the same).
    pub(crate) fn throughput_ratio(&self) -> f64 {
        self.bare.as_secs_f64() / self.ours.as_secs_f64()
    }
}

/// Runs `ours` and `bare` `per_batch` times each, batch after batch, and gives the median of
/// each per operation.
fn interleaved(batches: usize, per_batch: usize, mut ours: impl FnMut(), mut bare: impl FnMut()) -> Pair {
    let (mut our_times, mut bare_times) = (Vec::with_capacity(batches), Vec::with_capacity(batches));
    for batch in 0..batches {
        for turn in 0..2 {
            let started = Instant::now();
            if (turn == 0) == (batch % 2 == 0) {
                (0..per_batch).for_each(|_| ours());
                our_times.push(started.elapsed());
            } else {
                (0..per_batch).for_each(|_| bare());
                bare_times.push(started.elapsed());
            }
        }
    }
    let per = u32::try_from(per_batch).unwrap_or(u32::MAX);
    Pair { ours: median(&mut our_times) / per, bare: median(&mut bare_times) / per }
}

/// Cuan10pay request signing (hex HMAC-SHA256 of timestamp, method, path and body).
pub(crate) fn hmac_signing() -> Pair {
    let key = b"cp_live_0123456789abcdef0123456789abcdef";
    let body = br#"{"channel_code":"QRIS","amount":150000,"notes":"ORDER-1001","customer_name":"Budi Santoso","return_url":"https://shop.example.com/thanks"}"#;
    let (path, timestamp) = ("/v1/deposit_create", 1_730_689_200_i64);
    interleaved(
        HMAC_BATCHES,
        HMAC_PER_BATCH,
        || {
            black_box(gerbang_signing::cuan10pay::sign_request(
                black_box(key),
                timestamp,
                "POST",
                path,
                black_box(body),
            ));
        },
        || {
            let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(black_box(key))
                .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
            mac.update(timestamp.to_string().as_bytes());
            mac.update(b"POST");
            mac.update(path.as_bytes());
            mac.update(black_box(body));
            black_box(hex::encode(mac.finalize().into_bytes()));
        },
    )
}

/// One RSA-2048 key as both sides hold it, and a Cash In notification's string to sign.
pub(crate) struct RsaSetup {
    ours: PrivateKey,
    our_public: PublicKey,
    bare: KeyPair,
    bare_public: ParsedPublicKey,
    message: String,
    signature: String,
}

impl RsaSetup {
    pub(crate) fn new() -> Result<Self> {
        let ours = PrivateKey::generate(2048)?;
        let our_public = PublicKey::from_pem(&ours.public_key().to_pem())?;
        // The bare side reads the same key from the same PEM, once: DER out of the armour by hand.
        let bare = KeyPair::from_pkcs8(&pem_der(&ours.to_pem())?).map_err(|e| format!("aws-lc-rs key: {e}"))?;
        let bare_public = ParsedPublicKey::new(&signature::RSA_PKCS1_2048_8192_SHA256, pem_der(&our_public.to_pem())?)
            .map_err(|e| format!("aws-lc-rs public key: {e}"))?;
        let body = crate::webhooks::CASHIN_BODY.as_bytes();
        let message = gerbang_signing::snap::asymmetric_string_to_sign(
            "POST",
            "/v1.0/debit/notify",
            body,
            "2024-11-04T10:00:00+07:00",
        )?;
        let signature = sign_sha256_rsa(&ours, message.as_bytes())?;
        // Both sides must accept it, or the loops would time the error paths.
        verify_sha256_rsa(&our_public, message.as_bytes(), &signature)?;
        bare_verify(&bare_public, message.as_bytes(), &signature)?;
        if bare_sign(&bare, message.as_bytes())? != signature {
            return Err("aws-lc-rs and gerbang-signing signed the same bytes differently".into());
        }
        Ok(Self { ours, our_public, bare, bare_public, message, signature })
    }
}

fn pem_der(pem: &str) -> Result<Vec<u8>> {
    let base64: String = pem.lines().filter(|line| !line.starts_with("-----")).collect();
    Ok(STANDARD.decode(base64)?)
}

/// What a merchant writes with aws-lc-rs alone: decode the header's base64, verify.
fn bare_verify(key: &ParsedPublicKey, message: &[u8], signature_b64: &str) -> Result<()> {
    let signature = STANDARD.decode(signature_b64)?;
    key.verify_sig(message, &signature).map_err(|_| "aws-lc-rs refused the signature".into())
}

/// And to sign: sign into a buffer of the modulus's size, encode in base64.
fn bare_sign(key: &KeyPair, message: &[u8]) -> Result<String> {
    let mut signature = vec![0; key.public_modulus_len()];
    key.sign(&signature::RSA_PKCS1_SHA256, &SystemRandom::new(), message, &mut signature)
        .map_err(|_| "aws-lc-rs could not sign")?;
    Ok(STANDARD.encode(signature))
}

/// SHA256withRSA verification of a Cash In notification signature (base64 in, verdict out).
pub(crate) fn rsa_verify(setup: &RsaSetup) -> Pair {
    let (message, signature) = (setup.message.as_bytes(), setup.signature.as_str());
    interleaved(
        VERIFY_BATCHES,
        VERIFY_PER_BATCH,
        || {
            let _ = black_box(verify_sha256_rsa(&setup.our_public, black_box(message), black_box(signature)));
        },
        || {
            let _ = black_box(bare_verify(&setup.bare_public, black_box(message), black_box(signature)));
        },
    )
}

/// SHA256withRSA signing of the same string (bytes in, base64 out), as the sandbox signs.
pub(crate) fn rsa_sign(setup: &RsaSetup) -> Pair {
    let message = setup.message.as_bytes();
    interleaved(
        SIGN_BATCHES,
        SIGN_PER_BATCH,
        || {
            let _ = black_box(sign_sha256_rsa(&setup.ours, black_box(message)));
        },
        || {
            let _ = black_box(bare_sign(&setup.bare, black_box(message)));
        },
    )
}
