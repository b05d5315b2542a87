//! The default backend: aws-lc-rs, which reqwest's rustls already builds into every gerbang
//! binary. A public key is parsed once, into aws-lc's own form, when it is read; each
//! verification then costs only the RSA operation (about 15 µs for 2048 bits, against 167 µs in
//! the `rsa` crate 0.9 on the same machine). aws-lc blinds its private-key operations and is not
//! affected by RUSTSEC-2023-0071.

use std::sync::Arc;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::{self, KeyPair as _, ParsedPublicKey};
use zeroize::Zeroizing;

use super::{PrivateInner, PublicInner, RsaBackend};

/// PKCS#1 v1.5 with SHA-256 over keys of 1024 to 8192 bits. aws-lc-rs calls the range from 1024
/// bits "legacy"; the key is the gateway's, and [`super::MIN_PUBLIC_BITS`] is 1024 on purpose.
static VERIFY: &signature::RsaParameters = &signature::RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY;

/// The aws-lc-rs backend.
pub(super) struct AwsLc;

impl RsaBackend for AwsLc {
    /// Parsed once, shared by every clone (a config, its verifier).
    type Public = Arc<ParsedPublicKey>;
    type Private = KeyPair;

    fn public_from_pkcs1(der: &[u8]) -> Option<Self::Public> {
        ParsedPublicKey::new(VERIFY, der).ok().map(Arc::new)
    }

    fn public_spki_der(key: &Self::Public) -> Option<Vec<u8>> {
        Some(key.as_der().ok()?.as_ref().to_vec())
    }

    fn private_from_pkcs8(der: &[u8]) -> Option<KeyPair> {
        KeyPair::from_pkcs8(der).ok()
    }

    fn private_from_pkcs1(der: &[u8]) -> Option<KeyPair> {
        KeyPair::from_der(der).ok()
    }

    fn generate(bits: usize) -> Option<KeyPair> {
        let size = match bits {
            2048 => KeySize::Rsa2048,
            3072 => KeySize::Rsa3072,
            4096 => KeySize::Rsa4096,
            8192 => KeySize::Rsa8192,
            _ => return None,
        };
        KeyPair::generate(size).ok()
    }

    fn public_of(key: &KeyPair) -> Option<Self::Public> {
        // `public_key()` is the PKCS#1 `RSAPublicKey` DER of the key pair.
        Self::public_from_pkcs1(key.public_key().as_ref())
    }

    fn private_pkcs8_der(key: &KeyPair) -> Option<Zeroizing<Vec<u8>>> {
        Some(Zeroizing::new(key.as_der().ok()?.as_ref().to_vec()))
    }

    fn sign(key: &KeyPair, message: &[u8]) -> Option<Vec<u8>> {
        let mut signature = vec![0; key.public_modulus_len()];
        // aws-lc-rs takes a random source to match *ring*'s signature and ignores it: aws-lc
        // draws its blinding values itself.
        key.sign(&signature::RSA_PKCS1_SHA256, &SystemRandom::new(), message, &mut signature).ok()?;
        Some(signature)
    }

    fn verify(key: &Self::Public, message: &[u8], signature: &[u8]) -> bool {
        key.verify_sig(message, signature).is_ok()
    }

    fn wrap_public(key: Self::Public) -> PublicInner {
        PublicInner::AwsLc(key)
    }

    fn wrap_private(key: Self::Private) -> PrivateInner {
        PrivateInner::AwsLc(key)
    }
}
