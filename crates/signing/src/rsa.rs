//! SHA256withRSA signatures (RSASSA-PKCS1-v1_5 over SHA-256), base64-encoded: SNAP's
//! asymmetric signature, used by Cash In's payment notifications (`PROVIDERS.md` §2).
//!
//! Keys are read from PEM: public keys as SPKI (`PUBLIC KEY`) or PKCS#1 (`RSA PUBLIC KEY`),
//! private keys as unencrypted PKCS#8 (`PRIVATE KEY`) or PKCS#1 (`RSA PRIVATE KEY`). Neither
//! key type ever shows its material: not in `Debug`, not in an error.
//!
//! Signing always goes through `sign_with_rng`, which blinds the private-key operation with a
//! fresh random value: in `rsa` 0.9 the plain `sign` does not, and RUSTSEC-2023-0071 (Marvin, a
//! timing side channel in the crate's private-key arithmetic) has no patched release. Blinding
//! is the mitigation the crate offers. Verification only touches the public key.

use std::fmt;

use ::rsa::pkcs1::{DecodeRsaPrivateKey, DecodeRsaPublicKey};
use ::rsa::pkcs8::der::zeroize::Zeroizing;
use ::rsa::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey, LineEnding};
use ::rsa::sha2::{Digest, Sha256};
use ::rsa::traits::PublicKeyParts;
use ::rsa::{Pkcs1v15Sign, RsaPrivateKey, RsaPublicKey};

use crate::SignatureError;
use crate::encoding::{base64_encode, decode_base64};

/// Smallest key [`PrivateKey::generate`] makes. Keys read from PEM may be smaller: a gateway's
/// key is what it is, and refusing it would only break the integration.
const MIN_GENERATED_BITS: usize = 2048;

/// An RSA public key, to verify signatures.
///
/// `Debug` shows only the modulus size: `PublicKey { bits: 2048 }`.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey {
    key: RsaPublicKey,
    /// SPKI PEM, encoded once when the key is made so that [`PublicKey::to_pem`] cannot fail.
    pem: String,
}

/// An RSA private key, to make signatures. Its public half is [`PrivateKey::public_key`].
///
/// `Debug` prints `PrivateKey { .. }`; the key material is wiped from memory on drop.
#[derive(Clone)]
pub struct PrivateKey {
    key: RsaPrivateKey,
    /// PKCS#8 PEM, encoded once when the key is made so that [`PrivateKey::to_pem`] cannot fail.
    pem: Zeroizing<String>,
    public: PublicKey,
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicKey").field("bits", &self.key.n().bits()).finish()
    }
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrivateKey").finish_non_exhaustive()
    }
}

const PUBLIC_FORMATS: &str = "expected a PEM \"PUBLIC KEY\" (SPKI) or \"RSA PUBLIC KEY\" (PKCS#1) block";
const PRIVATE_FORMATS: &str =
    "expected an unencrypted PEM \"PRIVATE KEY\" (PKCS#8) or \"RSA PRIVATE KEY\" (PKCS#1) block";

impl PublicKey {
    /// Reads a public key from PEM: SPKI (`-----BEGIN PUBLIC KEY-----`, what
    /// `openssl rsa -pubout` writes) or PKCS#1 (`-----BEGIN RSA PUBLIC KEY-----`). Whitespace
    /// around the block is ignored.
    ///
    /// # Errors
    ///
    /// [`SignatureError::InvalidKey`], saying which formats are accepted; the message never
    /// quotes the input.
    ///
    /// ```
    /// use gerbang_signing::{SignatureError, rsa::{PrivateKey, PublicKey}};
    ///
    /// let pem = PrivateKey::generate(2048)?.public_key().to_pem();
    /// let key = PublicKey::from_pem(&pem)?;
    /// assert_eq!(format!("{key:?}"), "PublicKey { bits: 2048 }");
    ///
    /// assert!(matches!(PublicKey::from_pem("not a key"), Err(SignatureError::InvalidKey { .. })));
    /// # Ok::<(), SignatureError>(())
    /// ```
    pub fn from_pem(pem: &str) -> Result<Self, SignatureError> {
        let pem = pem.trim();
        let key = match pem_label(pem) {
            Some("PUBLIC KEY") => RsaPublicKey::from_public_key_pem(pem)
                .map_err(|_| invalid(format!("the \"PUBLIC KEY\" block is not an RSA key; {PUBLIC_FORMATS}")))?,
            Some("RSA PUBLIC KEY") => RsaPublicKey::from_pkcs1_pem(pem)
                .map_err(|_| invalid(format!("the \"RSA PUBLIC KEY\" block is not valid PKCS#1; {PUBLIC_FORMATS}")))?,
            Some("PRIVATE KEY" | "RSA PRIVATE KEY" | "ENCRYPTED PRIVATE KEY") => {
                return Err(invalid(format!("this is a private key, not a public key; {PUBLIC_FORMATS}")));
            }
            Some("CERTIFICATE") => {
                return Err(invalid(format!(
                    "X.509 certificates are not read, extract their key with `openssl x509 -pubkey -noout`; {PUBLIC_FORMATS}"
                )));
            }
            label => return Err(not_pem(pem, label, PUBLIC_FORMATS)),
        };
        Self::new(key)
    }

    /// The key as SPKI PEM (`-----BEGIN PUBLIC KEY-----`, LF line endings).
    ///
    /// ```
    /// use gerbang_signing::rsa::PrivateKey;
    ///
    /// let pem = PrivateKey::generate(2048)?.public_key().to_pem();
    /// assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----\n"));
    /// # Ok::<(), gerbang_signing::SignatureError>(())
    /// ```
    #[must_use]
    pub fn to_pem(&self) -> String {
        self.pem.clone()
    }

    fn new(key: RsaPublicKey) -> Result<Self, SignatureError> {
        let pem = key
            .to_public_key_pem(LineEnding::LF)
            .map_err(|_| invalid("the RSA public key cannot be encoded as SPKI"))?;
        Ok(Self { key, pem })
    }
}

impl PrivateKey {
    /// Reads a private key from PEM: unencrypted PKCS#8 (`-----BEGIN PRIVATE KEY-----`, what
    /// `openssl genpkey` writes) or PKCS#1 (`-----BEGIN RSA PRIVATE KEY-----`). Whitespace
    /// around the block is ignored.
    ///
    /// # Errors
    ///
    /// [`SignatureError::InvalidKey`], saying which formats are accepted; the message never
    /// quotes the input.
    ///
    /// ```
    /// use gerbang_signing::{SignatureError, rsa::PrivateKey};
    ///
    /// let pem = PrivateKey::generate(2048)?.to_pem();
    /// let key = PrivateKey::from_pem(&pem)?;
    /// assert_eq!(format!("{key:?}"), "PrivateKey { .. }");
    ///
    /// let err = PrivateKey::from_pem("-----BEGIN PRIVATE KEY-----\nc2VjcmV0\n-----END PRIVATE KEY-----").unwrap_err();
    /// assert!(!err.to_string().contains("c2VjcmV0"));
    /// # Ok::<(), SignatureError>(())
    /// ```
    pub fn from_pem(pem: &str) -> Result<Self, SignatureError> {
        let pem = pem.trim();
        let key = match pem_label(pem) {
            Some("PRIVATE KEY") => RsaPrivateKey::from_pkcs8_pem(pem)
                .map_err(|_| invalid(format!("the \"PRIVATE KEY\" block is not an RSA key; {PRIVATE_FORMATS}")))?,
            Some("RSA PRIVATE KEY") => RsaPrivateKey::from_pkcs1_pem(pem).map_err(|_| {
                invalid(format!("the \"RSA PRIVATE KEY\" block is not valid PKCS#1; {PRIVATE_FORMATS}"))
            })?,
            Some("ENCRYPTED PRIVATE KEY") => {
                return Err(invalid(format!(
                    "encrypted keys are not read, decrypt it with `openssl pkcs8 -in KEY -out PLAIN`; {PRIVATE_FORMATS}"
                )));
            }
            Some("PUBLIC KEY" | "RSA PUBLIC KEY" | "CERTIFICATE") => {
                return Err(invalid(format!(
                    "this is a public key or certificate, not a private key; {PRIVATE_FORMATS}"
                )));
            }
            label => return Err(not_pem(pem, label, PRIVATE_FORMATS)),
        };
        Self::new(key)
    }

    /// Generates a new key of `bits` bits (at least 2048) with the public exponent 65537, from
    /// the operating system's random source. Meant for tests and sandboxes.
    ///
    /// # Errors
    ///
    /// [`SignatureError::InvalidKey`] if `bits` is below 2048 or the `rsa` crate refuses the
    /// size.
    ///
    /// # Panics
    ///
    /// Only if the operating system's random source fails (`rand`'s `OsRng` panics then).
    ///
    /// ```
    /// use gerbang_signing::rsa::PrivateKey;
    ///
    /// let key = PrivateKey::generate(2048)?;
    /// assert_eq!(format!("{:?}", key.public_key()), "PublicKey { bits: 2048 }");
    /// assert!(PrivateKey::generate(1024).is_err());
    /// # Ok::<(), gerbang_signing::SignatureError>(())
    /// ```
    pub fn generate(bits: usize) -> Result<Self, SignatureError> {
        if bits < MIN_GENERATED_BITS {
            return Err(invalid(format!(
                "RSA keys of fewer than {MIN_GENERATED_BITS} bits are not generated (asked for {bits})"
            )));
        }
        let key = RsaPrivateKey::new(&mut rand::rngs::OsRng, bits)
            .map_err(|_| invalid(format!("could not generate an RSA key of {bits} bits")))?;
        Self::new(key)
    }

    /// The public half of this key, to give to whoever verifies.
    #[must_use]
    pub fn public_key(&self) -> PublicKey {
        self.public.clone()
    }

    /// The key as unencrypted PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`, LF line endings).
    ///
    /// The returned `String` is an ordinary copy of the secret: the caller decides where it goes.
    ///
    /// ```
    /// use gerbang_signing::rsa::PrivateKey;
    ///
    /// let pem = PrivateKey::generate(2048)?.to_pem();
    /// assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
    /// # Ok::<(), gerbang_signing::SignatureError>(())
    /// ```
    #[must_use]
    pub fn to_pem(&self) -> String {
        String::clone(&self.pem)
    }

    fn new(key: RsaPrivateKey) -> Result<Self, SignatureError> {
        let pem =
            key.to_pkcs8_pem(LineEnding::LF).map_err(|_| invalid("the RSA private key cannot be encoded as PKCS#8"))?;
        let public = PublicKey::new(key.to_public_key())?;
        Ok(Self { key, pem, public })
    }
}

/// Signs `message` with SHA256withRSA (PKCS#1 v1.5) and returns the signature in standard
/// base64. PKCS#1 v1.5 is deterministic: the same key and message always give the same
/// signature, blinding or not.
///
/// # Errors
///
/// [`SignatureError::InvalidKey`] if the key cannot make the signature (far too small a key).
///
/// # Panics
///
/// Only if the operating system's random source, used for blinding, fails.
///
/// ```
/// use gerbang_signing::rsa::{PrivateKey, sign_sha256_rsa, verify_sha256_rsa};
/// use gerbang_signing::snap::asymmetric_string_to_sign;
///
/// let key = PrivateKey::generate(2048)?;
/// let body = br#"{"originalReferenceNo":"TRX-MERCHANT-0001","latestTransactionStatus":"00"}"#;
/// let message = asymmetric_string_to_sign("POST", "/v1.0/debit/notify", body, "2024-11-04T10:00:00+07:00")?;
/// let signature = sign_sha256_rsa(&key, message.as_bytes())?;
/// verify_sha256_rsa(&key.public_key(), message.as_bytes(), &signature)?;
/// # Ok::<(), gerbang_signing::SignatureError>(())
/// ```
pub fn sign_sha256_rsa(key: &PrivateKey, message: &[u8]) -> Result<String, SignatureError> {
    let digest = Sha256::digest(message);
    let signature = key
        .key
        .sign_with_rng(&mut rand::rngs::OsRng, Pkcs1v15Sign::new::<Sha256>(), &digest)
        .map_err(|_| invalid("the RSA key could not make a SHA-256 signature"))?;
    Ok(base64_encode(&signature))
}

/// Checks a SHA256withRSA (PKCS#1 v1.5) signature given in standard base64.
///
/// # Errors
///
/// [`SignatureError::Malformed`] if `signature_b64` is not standard padded base64 of exactly the
/// key's size, [`SignatureError::Mismatch`] if it is not this key's signature of `message`.
///
/// ```
/// use gerbang_signing::{SignatureError, rsa::{PrivateKey, sign_sha256_rsa, verify_sha256_rsa}};
///
/// let key = PrivateKey::generate(2048)?;
/// let signature = sign_sha256_rsa(&key, b"POST:/v1.0/debit/notify:...")?;
/// assert_eq!(
///     verify_sha256_rsa(&key.public_key(), b"POST:/v1.0/debit/notify:tampered", &signature),
///     Err(SignatureError::Mismatch),
/// );
/// # Ok::<(), SignatureError>(())
/// ```
pub fn verify_sha256_rsa(key: &PublicKey, message: &[u8], signature_b64: &str) -> Result<(), SignatureError> {
    let signature = decode_base64(signature_b64, key.key.size())?;
    let digest = Sha256::digest(message);
    key.key.verify(Pkcs1v15Sign::new::<Sha256>(), &digest, &signature).map_err(|_| SignatureError::Mismatch)
}

fn invalid(reason: impl Into<String>) -> SignatureError {
    SignatureError::InvalidKey { reason: reason.into() }
}

/// The label of a PEM block (`RSA PUBLIC KEY` in `-----BEGIN RSA PUBLIC KEY-----`), if the text
/// starts with one made only of upper-case letters and spaces. The label is safe to name in an
/// error; nothing else of the input is.
fn pem_label(pem: &str) -> Option<&str> {
    let rest = pem.strip_prefix("-----BEGIN ")?;
    let label = &rest[..rest.find("-----")?];
    let plain = label.len() <= 40 && label.bytes().all(|b| b.is_ascii_uppercase() || b == b' ');
    plain.then_some(label)
}

fn not_pem(pem: &str, label: Option<&str>, formats: &str) -> SignatureError {
    let what = match label {
        Some(label) => return invalid(format!("a PEM \"{label}\" block is not read; {formats}")),
        // Keys kept in environment variables or JSON often arrive with their line breaks
        // written as the two characters `\n`.
        None if pem.contains("\\n") && !pem.contains('\n') => {
            "not PEM text: line breaks are written as the two characters \\n"
        }
        None if pem.starts_with("-----BEGIN ") => "unrecognised PEM label",
        None => "not PEM text (no -----BEGIN line)",
    };
    invalid(format!("{what}; {formats}"))
}
