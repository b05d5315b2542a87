//! Cash In's symmetric ("non-SNAP") request signature.
//!
//! **Decision** (`PROVIDERS.md` §2, "Decision (symmetric method)"; the API pages are
//! `seeds/001_3ab17dd2bbbc66f1.txt`): the seed only says "Signature generated using Symmetric
//! Method". Cash In's own "non-SNAP signature" page defines
//!
//! ```text
//! stringToSign = base64(SHA-256(minify(body))) ":" clientId ":" X-REQUEST-ID ":" relativePath ":" X-TIMESTAMP
//! X-SIGNATURE  = base64(HMAC(secretKey, stringToSign))
//! ```
//!
//! with the example
//! `ckv17xKxGwsyZpR56NAS5GRPFCVHCmxSJFwHyWNG5mM=:shop_01:0194e94b-e2e3-7dd3-815e-ce4b07522fd7:/payment:2025-02-09T13:00:52.195+07:00`.
//! Note that, unlike SNAP's, this body digest is *base64*, not hex. The HMAC hash is
//! contradictory (see [`HmacAlgorithm`]). Cash In's payment notifications use the SNAP
//! asymmetric signature instead: see [`crate::snap::asymmetric_string_to_sign`].

use crate::SignatureError;
use crate::encoding::{base64_encode, decode_base64};

/// The hash of Cash In's request HMAC.
///
/// **Decision** (`PROVIDERS.md` §2, `seeds/001_3ab17dd2bbbc66f1.txt`): Cash In's text says
/// SHA-256 and the seed's status example signature is 32 bytes, but its checkout example is
/// 64 bytes (SHA-512). SHA-256 is the default; this switch is the one place to change it once
/// the gateway's behaviour is confirmed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum HmacAlgorithm {
    /// HMAC-SHA256: a 32-byte MAC, 44 base64 characters.
    #[default]
    Sha256,
    /// HMAC-SHA512: a 64-byte MAC, 88 base64 characters.
    Sha512,
}

impl HmacAlgorithm {
    /// The MAC length in bytes.
    const fn output_len(self) -> usize {
        match self {
            Self::Sha256 => 32,
            Self::Sha512 => 64,
        }
    }
}

/// Builds Cash In's string to sign:
/// `base64(SHA-256(minify(body))):client_id:request_id:relative_path:timestamp`.
///
/// - `body` is the JSON body as sent; it is minified first (whitespace between tokens removed,
///   key order kept), see [`crate::snap::minify_json`].
/// - `request_id` is the `X-REQUEST-ID` header (a fresh UUID per call).
/// - `relative_path` is the documented "relative path url for signature": `/payment` or
///   `/payment/status`, not the full URL.
/// - `timestamp` is the `X-TIMESTAMP` header exactly as sent (`2024-11-04T10:00:00+07:00`).
///
/// # Errors
///
/// [`SignatureError::InvalidJson`] if the body ends inside a string.
///
/// ```
/// use gerbang_signing::cashin::string_to_sign;
///
/// let s = string_to_sign(
///     b"{\n\"trxNo\": \" TRX001\"\n}",
///     "shop_01",
///     "0194e94b-e2e3-7dd3-815e-ce4b07522fd7",
///     "/payment/status",
///     "2025-02-09T13:00:52.195+07:00",
/// )?;
/// let parts: Vec<&str> = s.split(':').collect();
/// assert_eq!(parts[0].len(), 44); // base64 of a SHA-256 digest
/// assert_eq!(&parts[1..4], ["shop_01", "0194e94b-e2e3-7dd3-815e-ce4b07522fd7", "/payment/status"]);
/// assert!(s.ends_with(":/payment/status:2025-02-09T13:00:52.195+07:00"));
/// # Ok::<(), gerbang_signing::SignatureError>(())
/// ```
pub fn string_to_sign(
    body: &[u8],
    client_id: &str,
    request_id: &str,
    relative_path: &str,
    timestamp: &str,
) -> Result<String, SignatureError> {
    let digest = crate::snap::body_sha256_base64(body)?;
    Ok(format!("{digest}:{client_id}:{request_id}:{relative_path}:{timestamp}"))
}

/// Signs a Cash In string to sign: standard base64 (with padding) of
/// HMAC-`algorithm`(`secret_key`, `string_to_sign`).
///
/// ```
/// use gerbang_signing::cashin::{HmacAlgorithm, sign, string_to_sign, verify};
///
/// let s = string_to_sign(br#"{"trxNo":"TRX001"}"#, "CID1234567890", "3fa85f64-5717-4562-b3fc-2c963f66afa6",
///     "/payment/status", "2025-04-11T10:42:53.352+07:00")?;
/// let signature = sign(b"secret-key", &s, HmacAlgorithm::default());
/// assert_eq!(signature.len(), 44);
/// verify(b"secret-key", &s, HmacAlgorithm::Sha256, &signature)?;
/// # Ok::<(), gerbang_signing::SignatureError>(())
/// ```
#[must_use]
pub fn sign(secret_key: &[u8], string_to_sign: &str, algorithm: HmacAlgorithm) -> String {
    SigningKey::new(secret_key, algorithm).sign(string_to_sign)
}

/// A Cash In secret key made ready once for its algorithm, for a client that signs every
/// request with it: [`sign`] without hashing the key's pads each time.
///
/// ```
/// use gerbang_signing::cashin::{HmacAlgorithm, SigningKey, sign};
///
/// for algorithm in [HmacAlgorithm::Sha256, HmacAlgorithm::Sha512] {
///     let key = SigningKey::new(b"secret-key", algorithm);
///     assert_eq!(key.sign("a string to sign"), sign(b"secret-key", "a string to sign", algorithm));
/// }
/// ```
#[derive(Clone)]
pub struct SigningKey(Prepared);

#[derive(Clone)]
enum Prepared {
    Sha256(crate::HmacSha256Key),
    Sha512(crate::HmacSha512Key),
}

impl SigningKey {
    /// `secret_key`, ready to sign with `algorithm`.
    #[must_use]
    pub fn new(secret_key: &[u8], algorithm: HmacAlgorithm) -> Self {
        Self(match algorithm {
            HmacAlgorithm::Sha256 => Prepared::Sha256(crate::HmacSha256Key::new(secret_key)),
            HmacAlgorithm::Sha512 => Prepared::Sha512(crate::HmacSha512Key::new(secret_key)),
        })
    }

    /// The signature of `string_to_sign`, as [`sign`] makes it.
    #[must_use]
    pub fn sign(&self, string_to_sign: &str) -> String {
        match &self.0 {
            Prepared::Sha256(key) => base64_encode(&key.mac(&[string_to_sign.as_bytes()])),
            Prepared::Sha512(key) => base64_encode(&key.mac(&[string_to_sign.as_bytes()])),
        }
    }
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(<redacted>)")
    }
}

/// Checks a Cash In signature made by [`sign`]; the MAC bytes are compared in constant time.
///
/// # Errors
///
/// [`SignatureError::Malformed`] if `signature_b64` is not standard padded base64 of the MAC
/// length of `algorithm` (so a SHA-512 signature checked as SHA-256 is `Malformed`),
/// [`SignatureError::Mismatch`] if it does not sign `string_to_sign` under this key.
///
/// ```
/// use gerbang_signing::{SignatureError, cashin::{HmacAlgorithm, sign, verify}};
///
/// let signature = sign(b"secret-key", "a string to sign", HmacAlgorithm::Sha512);
/// assert_eq!(
///     verify(b"another-key", "a string to sign", HmacAlgorithm::Sha512, &signature),
///     Err(SignatureError::Mismatch),
/// );
/// ```
pub fn verify(
    secret_key: &[u8],
    string_to_sign: &str,
    algorithm: HmacAlgorithm,
    signature_b64: &str,
) -> Result<(), SignatureError> {
    let given = decode_base64(signature_b64, algorithm.output_len())?;
    let message = [string_to_sign.as_bytes()];
    let equal = match algorithm {
        HmacAlgorithm::Sha256 => crate::ct_eq(&crate::hmac_sha256(secret_key, &message), &given),
        HmacAlgorithm::Sha512 => crate::ct_eq(&crate::hmac_sha512(secret_key, &message), &given),
    };
    if equal { Ok(()) } else { Err(SignatureError::Mismatch) }
}
