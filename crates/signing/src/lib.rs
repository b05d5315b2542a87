//! Every signature scheme of the gerbang gateways, as pure functions.
//!
//! Nothing here does I/O, allocates a client or reads a clock: each function takes the exact
//! bytes and strings that go on the wire and returns a signature, or checks one. The provider
//! crates decide *which* bytes to sign; this crate only makes sure they are signed correctly and
//! compared safely.
//!
//! | module | scheme |
//! |---|---|
//! | [`cuan10pay`] | Cuan10pay request and webhook signatures (hex HMAC-SHA256) |
//! | [`snap`] | SNAP (Bank Indonesia open API): JSON minification, body digests, symmetric HMAC-SHA512 signatures, the asymmetric string to sign |
//! | [`cashin`] | Cash In's "non-SNAP" symmetric signature (base64 HMAC-SHA256 or -SHA512) |
//! | `rsa` (feature `rsa`, on by default, or `rsa-pure`) | SHA256withRSA (PKCS#1 v1.5) signatures and PEM keys |
//! | [`jakarta`] | Western Indonesia Time (+07:00) timestamps |
//! | `standard_webhooks` (feature `standard-webhooks`, on by default) | Standard Webhooks `webhook-signature` (base64 HMAC-SHA256 under a `whsec_` secret), what gerbang signs the events it forwards with |
//!
//! Every `verify_*` function compares MAC bytes in constant time ([`ct_eq`]) and returns a
//! [`SignatureError`]; no error ever holds a secret, a key or a signature.
//!
//! The `rsa` feature runs RSA on aws-lc-rs, already in every gerbang build through reqwest's
//! rustls; gateways that only use HMAC turn it off (`default-features = false`). The `rsa-pure`
//! feature runs it on the pure-Rust `rsa` crate instead, for targets where aws-lc-rs cannot build
//! (see [`rsa::Backend`] when both are on).
//!
//! ```
//! let signature = gerbang_signing::cuan10pay::sign_request(
//!     b"private-key",
//!     1_730_689_200,
//!     "GET",
//!     "/v1/deposit_status?ref=CP-1",
//!     b"",
//! );
//! assert_eq!(signature.len(), 64);
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod cashin;
pub mod cuan10pay;
mod encoding;
mod error;
pub mod jakarta;
#[cfg(any(feature = "rsa", feature = "rsa-pure"))]
pub mod rsa;
pub mod snap;
#[cfg(feature = "standard-webhooks")]
pub mod standard_webhooks;

pub use error::SignatureError;

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Sha256, Sha512};
use subtle::{Choice, ConstantTimeEq};

/// Compares two byte strings in constant time.
///
/// Slices of different lengths are unequal, and that answer is given at once: the *length* of
/// the expected value may leak through timing, its *contents* never do. Every MAC length in this
/// crate is public anyway (32 or 64 bytes).
///
/// ```
/// use gerbang_signing::ct_eq;
///
/// assert!(ct_eq(b"same", b"same"));
/// assert!(!ct_eq(b"same", b"sane"));
/// assert!(!ct_eq(b"short", b"longer"));
/// ```
#[must_use]
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    // Eight bytes at a time: `subtle` puts an optimisation barrier after every element it
    // compares, and a barrier per byte is most of the cost of checking a MAC.
    let ((a_words, a_rest), (b_words, b_rest)) = (a.as_chunks::<8>(), b.as_chunks::<8>());
    let words = a_words
        .iter()
        .zip(b_words)
        .fold(Choice::from(1), |equal, (x, y)| equal & u64::from_ne_bytes(*x).ct_eq(&u64::from_ne_bytes(*y)));
    (words & a_rest.ct_eq(b_rest)).into()
}

/// HMAC-SHA256 of the concatenation of `parts`, under `key`.
///
/// The parts are fed to the MAC one after the other, so a signature over
/// `timestamp + method + path + body` never builds that string in memory.
///
/// ```
/// use gerbang_signing::hmac_sha256;
///
/// // The parts are concatenated: splitting the message differently gives the same MAC.
/// assert_eq!(hmac_sha256(b"key", &[b"hello ", b"world"]), hmac_sha256(b"key", &[b"hello world"]));
/// ```
#[must_use]
pub fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    finish(new_mac::<Sha256>(key), parts).into()
}

/// An HMAC-SHA256 key, made ready once, for a key that signs or checks many messages (every
/// request, every webhook).
///
/// HMAC hashes the key's inner and outer pads before any message. This does it when the key is
/// made, so that each MAC afterwards costs only its message's SHA-256 blocks: for a short
/// Cuan10pay webhook, two compressions instead of [`hmac_sha256`]'s four. Its state is wiped
/// when it is dropped, and `Debug` shows none of it.
///
/// ```
/// use gerbang_signing::{HmacSha256Key, hmac_sha256};
///
/// let key = HmacSha256Key::new(b"key");
/// assert_eq!(key.mac(&[b"hello ", b"world"]), hmac_sha256(b"key", &[b"hello world"]));
/// ```
#[derive(Clone)]
pub struct HmacSha256Key(Hmac<Sha256>);

impl HmacSha256Key {
    /// The key, its pads hashed.
    #[must_use]
    pub fn new(key: &[u8]) -> Self {
        Self(new_mac(key))
    }

    /// HMAC-SHA256 of the concatenation of `parts`, as [`hmac_sha256`] under this key.
    #[must_use]
    pub fn mac(&self, parts: &[&[u8]]) -> [u8; 32] {
        finish(self.0.clone(), parts).into()
    }
}

impl std::fmt::Debug for HmacSha256Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HmacSha256Key(<redacted>)")
    }
}

/// An HMAC-SHA512 key, made ready once: [`HmacSha256Key`] for SHA-512.
///
/// ```
/// use gerbang_signing::{HmacSha512Key, hmac_sha512};
///
/// let key = HmacSha512Key::new(b"key");
/// assert_eq!(key.mac(&[b"hello ", b"world"]), hmac_sha512(b"key", &[b"hello world"]));
/// ```
#[derive(Clone)]
pub struct HmacSha512Key(Hmac<Sha512>);

impl HmacSha512Key {
    /// The key, its pads hashed.
    #[must_use]
    pub fn new(key: &[u8]) -> Self {
        Self(new_mac(key))
    }

    /// HMAC-SHA512 of the concatenation of `parts`, as [`hmac_sha512`] under this key.
    #[must_use]
    pub fn mac(&self, parts: &[&[u8]]) -> [u8; 64] {
        finish(self.0.clone(), parts).into()
    }
}

impl std::fmt::Debug for HmacSha512Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HmacSha512Key(<redacted>)")
    }
}

fn finish<D>(mut mac: Hmac<D>, parts: &[&[u8]]) -> hmac::digest::Output<Hmac<D>>
where
    D: hmac::EagerHash,
    Hmac<D>: Mac,
{
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes()
}

/// HMAC-SHA512 of the concatenation of `parts`, under `key`.
///
/// ```
/// use gerbang_signing::hmac_sha512;
///
/// let mac = hmac_sha512(b"secret", &[b"POST:/v1.0/qr/qr-mpm-generate:", b"token"]);
/// assert_eq!(mac.len(), 64);
/// ```
#[must_use]
pub fn hmac_sha512(key: &[u8], parts: &[&[u8]]) -> [u8; 64] {
    finish(new_mac::<Sha512>(key), parts).into()
}

fn new_mac<D>(key: &[u8]) -> Hmac<D>
where
    D: hmac::EagerHash,
    Hmac<D>: KeyInit,
{
    match Hmac::<D>::new_from_slice(key) {
        Ok(mac) => mac,
        // HMAC takes keys of any length (RFC 2104 hashes long keys and pads short ones), and
        // `hmac` 0.13 never returns this error for `Hmac`: the branch is compiled out.
        Err(_) => unreachable!("HMAC accepts keys of any length"),
    }
}
