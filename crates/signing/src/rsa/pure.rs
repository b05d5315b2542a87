//! The pure-Rust backend (feature `rsa-pure`): the `rsa` crate 0.9, for targets where aws-lc-rs
//! cannot build. About ten times slower to verify than aws-lc-rs, five times slower to sign.
//!
//! Signing always goes through `sign_with_rng`, which blinds the private-key operation with a
//! fresh random value: in `rsa` 0.9 the plain `sign` does not, and RUSTSEC-2023-0071 (Marvin, a
//! timing side channel in the crate's private-key arithmetic) has no patched release. Blinding is
//! the mitigation the crate offers. Verification only touches the public key. The crate reads
//! public keys of at most 4096 bits.

use std::sync::Arc;

use ::rsa::pkcs1::{DecodeRsaPrivateKey, DecodeRsaPublicKey};
use ::rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey};
use ::rsa::sha2::{Digest, Sha256};
use ::rsa::{Pkcs1v15Sign, RsaPrivateKey, RsaPublicKey};
use zeroize::Zeroizing;

use super::{PrivateInner, PublicInner, RsaBackend};

/// The `rsa` crate backend.
pub(super) struct Pure;

impl RsaBackend for Pure {
    /// Shared by clones, as aws-lc's are: a key is read once and handed around.
    type Public = Arc<RsaPublicKey>;
    type Private = Arc<RsaPrivateKey>;

    fn public_from_pkcs1(der: &[u8]) -> Option<Self::Public> {
        RsaPublicKey::from_pkcs1_der(der).ok().map(Arc::new)
    }

    fn public_spki_der(key: &Self::Public) -> Option<Vec<u8>> {
        Some(key.to_public_key_der().ok()?.into_vec())
    }

    fn private_from_pkcs8(der: &[u8]) -> Option<Self::Private> {
        RsaPrivateKey::from_pkcs8_der(der).ok().map(Arc::new)
    }

    fn private_from_pkcs1(der: &[u8]) -> Option<Self::Private> {
        RsaPrivateKey::from_pkcs1_der(der).ok().map(Arc::new)
    }

    fn generate(bits: usize) -> Option<Self::Private> {
        RsaPrivateKey::new(&mut rand::rngs::OsRng, bits).ok().map(Arc::new)
    }

    fn public_of(key: &Self::Private) -> Option<Self::Public> {
        Some(Arc::new(key.to_public_key()))
    }

    fn private_pkcs8_der(key: &Self::Private) -> Option<Zeroizing<Vec<u8>>> {
        Some(Zeroizing::new(key.to_pkcs8_der().ok()?.as_bytes().to_vec()))
    }

    fn sign(key: &Self::Private, message: &[u8]) -> Option<Vec<u8>> {
        let digest = Sha256::digest(message);
        key.sign_with_rng(&mut rand::rngs::OsRng, Pkcs1v15Sign::new::<Sha256>(), &digest).ok()
    }

    fn verify(key: &Self::Public, message: &[u8], signature: &[u8]) -> bool {
        let digest = Sha256::digest(message);
        key.verify(Pkcs1v15Sign::new::<Sha256>(), &digest, signature).is_ok()
    }

    fn wrap_public(key: Self::Public) -> PublicInner {
        PublicInner::Pure(key)
    }

    fn wrap_private(key: Self::Private) -> PrivateInner {
        PrivateInner::Pure(key)
    }
}
