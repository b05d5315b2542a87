//! SHA256withRSA signatures (RSASSA-PKCS1-v1_5 over SHA-256), base64-encoded: SNAP's
//! asymmetric signature, used by Cash In's payment notifications (`PROVIDERS.md` §2).
//!
//! Keys are read from PEM: public keys as SPKI (`PUBLIC KEY`) or PKCS#1 (`RSA PUBLIC KEY`),
//! private keys as unencrypted PKCS#8 (`PRIVATE KEY`) or PKCS#1 (`RSA PRIVATE KEY`). Neither
//! key type ever shows its material: not in `Debug`, not in an error.
//!
//! ## Backends
//!
//! The RSA arithmetic runs on one of two [`Backend`]s, behind one seam: everything else (PEM,
//! the key formats, their errors, base64, the key-size bounds) is shared, so both read the same
//! keys and give the same answers, which the tests check on the same vectors.
//!
//! - [`Backend::AwsLc`] (feature `rsa`, the default): aws-lc-rs, which reqwest's rustls already
//!   builds into every gerbang binary. A [`PublicKey`] holds the key parsed into aws-lc's form
//!   once, when it is read, so a verification costs only the RSA operation: about 15 µs for
//!   2048 bits on a 2-core machine, against 167 µs with the `rsa` crate.
//! - [`Backend::Pure`] (feature `rsa-pure`): the pure-Rust `rsa` crate 0.9, for targets where
//!   aws-lc-rs cannot build. Its private-key arithmetic is open to RUSTSEC-2023-0071 (Marvin);
//!   signing is always blinded (`sign_with_rng`), the mitigation the crate offers.
//!
//! Public keys of 1024 to 8192 bits are read (the pure backend reads at most 4096): a gateway's
//! key is what it is, and refusing it would only break the integration.

use std::fmt;

use zeroize::Zeroizing;

use crate::SignatureError;
use crate::encoding::{base64_encode, decode_base64};

#[cfg(feature = "rsa")]
mod aws_lc;
mod der;
mod pem;
#[cfg(feature = "rsa-pure")]
mod pure;

/// Smallest key [`PrivateKey::generate`] makes.
const MIN_GENERATED_BITS: usize = 2048;
/// Smallest public key read: below it, aws-lc does not verify at all.
const MIN_PUBLIC_BITS: usize = 1024;
/// Largest public key read.
const MAX_PUBLIC_BITS: usize = 8192;

/// Which implementation of RSA a key runs on; see the [module documentation](self).
///
/// Keys read with [`PublicKey::from_pem`] and [`PrivateKey::from_pem`] use [`Backend::DEFAULT`];
/// the `*_with` constructors choose. Keys of either backend sign and verify alike, and two
/// [`PublicKey`]s of the same key are equal whatever their backends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Backend {
    /// aws-lc-rs (feature `rsa`).
    #[cfg(feature = "rsa")]
    AwsLc,
    /// The pure-Rust `rsa` crate (feature `rsa-pure`).
    #[cfg(feature = "rsa-pure")]
    Pure,
}

impl Backend {
    /// The backend of keys read without choosing one: aws-lc-rs when the `rsa` feature is on,
    /// else the pure-Rust one.
    #[cfg(feature = "rsa")]
    pub const DEFAULT: Self = Self::AwsLc;
    /// The backend of keys read without choosing one: aws-lc-rs when the `rsa` feature is on,
    /// else the pure-Rust one.
    #[cfg(not(feature = "rsa"))]
    pub const DEFAULT: Self = Self::Pure;

    /// Every backend compiled in, the default first.
    ///
    /// ```
    /// use gerbang_signing::rsa::Backend;
    ///
    /// assert_eq!(Backend::ALL[0], Backend::DEFAULT);
    /// ```
    pub const ALL: &'static [Self] = &[
        #[cfg(feature = "rsa")]
        Self::AwsLc,
        #[cfg(feature = "rsa-pure")]
        Self::Pure,
    ];
}

impl Default for Backend {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// What a backend does; the seam between the shared code here and `aws_lc` or `pure`. Public
/// keys reach a backend as PKCS#1 `RSAPublicKey` DER (an SPKI is unwrapped by [`der`]),
/// private keys as PKCS#8 or PKCS#1 DER; `None` means "not a key this backend reads or makes".
trait RsaBackend {
    /// A public key, parsed for verifying.
    type Public: Clone + Send + Sync;
    /// A private key, parsed for signing.
    type Private: Clone + Send + Sync;

    fn public_from_pkcs1(der: &[u8]) -> Option<Self::Public>;
    /// The key as SPKI DER: the canonical form keys are compared and written in.
    fn public_spki_der(key: &Self::Public) -> Option<Vec<u8>>;
    fn private_from_pkcs8(der: &[u8]) -> Option<Self::Private>;
    fn private_from_pkcs1(der: &[u8]) -> Option<Self::Private>;
    /// A new key of `bits` bits, public exponent 65537.
    fn generate(bits: usize) -> Option<Self::Private>;
    fn public_of(key: &Self::Private) -> Option<Self::Public>;
    fn private_pkcs8_der(key: &Self::Private) -> Option<Zeroizing<Vec<u8>>>;
    /// The raw signature (the modulus's size) of SHA256withRSA over `message`, blinded.
    fn sign(key: &Self::Private, message: &[u8]) -> Option<Vec<u8>>;
    /// Whether `signature` (already of the modulus's size) is this key's over `message`.
    fn verify(key: &Self::Public, message: &[u8], signature: &[u8]) -> bool;
    fn wrap_public(key: Self::Public) -> PublicInner;
    fn wrap_private(key: Self::Private) -> PrivateInner;
}

#[derive(Clone)]
enum PublicInner {
    #[cfg(feature = "rsa")]
    AwsLc(<aws_lc::AwsLc as RsaBackend>::Public),
    #[cfg(feature = "rsa-pure")]
    Pure(<pure::Pure as RsaBackend>::Public),
}

#[derive(Clone)]
enum PrivateInner {
    #[cfg(feature = "rsa")]
    AwsLc(<aws_lc::AwsLc as RsaBackend>::Private),
    #[cfg(feature = "rsa-pure")]
    Pure(<pure::Pure as RsaBackend>::Private),
}

/// An RSA public key, to verify signatures. Cheap to clone: with aws-lc-rs, the parsed key is
/// shared.
///
/// `Debug` shows only the modulus size: `PublicKey { bits: 2048 }`. Two keys are equal when they
/// are the same RSA key, whatever PEM form or backend they were read with.
#[derive(Clone)]
pub struct PublicKey {
    inner: PublicInner,
    bits: usize,
    /// SPKI PEM, encoded once when the key is made so that [`PublicKey::to_pem`] cannot fail; also
    /// what keys are compared by (DER is canonical).
    pem: String,
}

/// An RSA private key, to make signatures. Its public half is [`PrivateKey::public_key`].
///
/// `Debug` prints `PrivateKey { .. }`; the key material is wiped from memory on drop.
#[derive(Clone)]
pub struct PrivateKey {
    inner: PrivateInner,
    /// PKCS#8 PEM, encoded once when the key is made so that [`PrivateKey::to_pem`] cannot fail.
    pem: Zeroizing<String>,
    public: PublicKey,
}

impl PartialEq for PublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.pem == other.pem
    }
}

impl Eq for PublicKey {}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicKey").field("bits", &self.bits).finish()
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
    /// around the block is ignored, and so are CRLF line endings. The key is parsed here, once,
    /// for every verification made with it (and its clones).
    ///
    /// # Errors
    ///
    /// [`SignatureError::InvalidKey`], saying which formats are accepted; the message never
    /// quotes the input. A key of fewer than 1024 or more than 8192 bits is refused.
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
        Self::from_pem_with(pem, Backend::DEFAULT)
    }

    /// The same as [`from_pem`](Self::from_pem), on the given backend.
    ///
    /// # Errors
    ///
    /// As [`from_pem`](Self::from_pem).
    pub fn from_pem_with(pem: &str, backend: Backend) -> Result<Self, SignatureError> {
        let pem = pem.trim();
        match backend {
            #[cfg(feature = "rsa")]
            Backend::AwsLc => read_public::<aws_lc::AwsLc>(pem),
            #[cfg(feature = "rsa-pure")]
            Backend::Pure => read_public::<pure::Pure>(pem),
        }
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

    /// The size of the modulus in bits (2048 for a 2048-bit key); a signature is that many bits.
    #[must_use]
    pub fn bits(&self) -> usize {
        self.bits
    }

    /// The backend this key runs on.
    #[must_use]
    pub fn backend(&self) -> Backend {
        match self.inner {
            #[cfg(feature = "rsa")]
            PublicInner::AwsLc(_) => Backend::AwsLc,
            #[cfg(feature = "rsa-pure")]
            PublicInner::Pure(_) => Backend::Pure,
        }
    }

    fn new<B: RsaBackend>(key: B::Public) -> Result<Self, SignatureError> {
        let cannot_encode = || invalid("the RSA public key cannot be encoded as SPKI");
        let der = B::public_spki_der(&key).ok_or_else(cannot_encode)?;
        // Sized from the backend's own canonical encoding, the same way for both backends.
        let bits = der::spki_rsa_public_key(&der).ok().and_then(der::modulus_bits).ok_or_else(cannot_encode)?;
        if !(MIN_PUBLIC_BITS..=MAX_PUBLIC_BITS).contains(&bits) {
            return Err(invalid(format!(
                "RSA keys of {bits} bits are not read: {MIN_PUBLIC_BITS} to {MAX_PUBLIC_BITS} bits are"
            )));
        }
        // Not secret: taken out of its wiping wrapper.
        let pem = std::mem::take(&mut *pem::encode("PUBLIC KEY", &der));
        Ok(Self { inner: B::wrap_public(key), bits, pem })
    }
}

fn read_public<B: RsaBackend>(pem: &str) -> Result<PublicKey, SignatureError> {
    let label = match pem::label(pem) {
        Some(label @ ("PUBLIC KEY" | "RSA PUBLIC KEY")) => label,
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
    let der = decode_block(pem, label, PUBLIC_FORMATS)?;
    let pkcs1 = if label == "PUBLIC KEY" {
        der::spki_rsa_public_key(&der).map_err(|e| match e {
            der::SpkiError::NotRsa => {
                invalid(format!("the \"PUBLIC KEY\" block holds a key that is not RSA; {PUBLIC_FORMATS}"))
            }
            der::SpkiError::Malformed => {
                invalid(format!("the \"PUBLIC KEY\" block is not valid SPKI; {PUBLIC_FORMATS}"))
            }
        })?
    } else {
        &der
    };
    let not_read = || {
        let what = if label == "PUBLIC KEY" { "not a valid RSA key" } else { "not valid PKCS#1" };
        invalid(format!("the \"{label}\" block is {what}; {PUBLIC_FORMATS}"))
    };
    if !der::is_rsa_public_key(pkcs1) {
        return Err(not_read());
    }
    let key = B::public_from_pkcs1(pkcs1).ok_or_else(not_read)?;
    PublicKey::new::<B>(key)
}

impl PrivateKey {
    /// Reads a private key from PEM: unencrypted PKCS#8 (`-----BEGIN PRIVATE KEY-----`, what
    /// `openssl genpkey` writes) or PKCS#1 (`-----BEGIN RSA PRIVATE KEY-----`). Whitespace
    /// around the block is ignored, and so are CRLF line endings.
    ///
    /// # Errors
    ///
    /// [`SignatureError::InvalidKey`], saying which formats are accepted; the message never
    /// quotes the input. aws-lc-rs signs with keys of 2048 to 8192 bits only.
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
        Self::from_pem_with(pem, Backend::DEFAULT)
    }

    /// The same as [`from_pem`](Self::from_pem), on the given backend.
    ///
    /// # Errors
    ///
    /// As [`from_pem`](Self::from_pem).
    pub fn from_pem_with(pem: &str, backend: Backend) -> Result<Self, SignatureError> {
        let pem = pem.trim();
        match backend {
            #[cfg(feature = "rsa")]
            Backend::AwsLc => read_private::<aws_lc::AwsLc>(pem),
            #[cfg(feature = "rsa-pure")]
            Backend::Pure => read_private::<pure::Pure>(pem),
        }
    }

    /// Generates a new key of `bits` bits (at least 2048) with the public exponent 65537, from
    /// the operating system's random source. Meant for tests and sandboxes.
    ///
    /// # Errors
    ///
    /// [`SignatureError::InvalidKey`] if `bits` is below 2048 or the backend does not make keys
    /// of that size (aws-lc-rs makes 2048, 3072, 4096 and 8192 bits), or if the random source
    /// fails (aws-lc-rs).
    ///
    /// # Panics
    ///
    /// With the pure backend, if the operating system's random source fails (`rand`'s `OsRng`
    /// panics then).
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
        Self::generate_with(bits, Backend::DEFAULT)
    }

    /// The same as [`generate`](Self::generate), on the given backend.
    ///
    /// # Errors
    ///
    /// As [`generate`](Self::generate).
    ///
    /// # Panics
    ///
    /// As [`generate`](Self::generate).
    pub fn generate_with(bits: usize, backend: Backend) -> Result<Self, SignatureError> {
        if bits < MIN_GENERATED_BITS {
            return Err(invalid(format!(
                "RSA keys of fewer than {MIN_GENERATED_BITS} bits are not generated (asked for {bits})"
            )));
        }
        match backend {
            #[cfg(feature = "rsa")]
            Backend::AwsLc => generate::<aws_lc::AwsLc>(bits),
            #[cfg(feature = "rsa-pure")]
            Backend::Pure => generate::<pure::Pure>(bits),
        }
    }

    /// The public half of this key, to give to whoever verifies.
    #[must_use]
    pub fn public_key(&self) -> PublicKey {
        self.public.clone()
    }

    /// The backend this key runs on.
    #[must_use]
    pub fn backend(&self) -> Backend {
        match self.inner {
            #[cfg(feature = "rsa")]
            PrivateInner::AwsLc(_) => Backend::AwsLc,
            #[cfg(feature = "rsa-pure")]
            PrivateInner::Pure(_) => Backend::Pure,
        }
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

    fn new<B: RsaBackend>(key: B::Private) -> Result<Self, SignatureError> {
        let der =
            B::private_pkcs8_der(&key).ok_or_else(|| invalid("the RSA private key cannot be encoded as PKCS#8"))?;
        let pem = pem::encode("PRIVATE KEY", &der);
        let public = B::public_of(&key).ok_or_else(|| invalid("the RSA private key has no usable public half"))?;
        let public = PublicKey::new::<B>(public)?;
        Ok(Self { inner: B::wrap_private(key), pem, public })
    }
}

fn read_private<B: RsaBackend>(pem: &str) -> Result<PrivateKey, SignatureError> {
    let label = match pem::label(pem) {
        Some(label @ ("PRIVATE KEY" | "RSA PRIVATE KEY")) => label,
        Some("ENCRYPTED PRIVATE KEY") => {
            return Err(invalid(format!(
                "encrypted keys are not read, decrypt it with `openssl pkcs8 -in KEY -out PLAIN`; {PRIVATE_FORMATS}"
            )));
        }
        Some("PUBLIC KEY" | "RSA PUBLIC KEY" | "CERTIFICATE") => {
            return Err(invalid(format!("this is a public key or certificate, not a private key; {PRIVATE_FORMATS}")));
        }
        label => return Err(not_pem(pem, label, PRIVATE_FORMATS)),
    };
    let der = decode_block(pem, label, PRIVATE_FORMATS)?;
    let key = if label == "PRIVATE KEY" {
        B::private_from_pkcs8(&der)
            .ok_or_else(|| invalid(format!("the \"PRIVATE KEY\" block is not an RSA key; {PRIVATE_FORMATS}")))?
    } else {
        B::private_from_pkcs1(&der)
            .ok_or_else(|| invalid(format!("the \"RSA PRIVATE KEY\" block is not valid PKCS#1; {PRIVATE_FORMATS}")))?
    };
    PrivateKey::new::<B>(key)
}

fn generate<B: RsaBackend>(bits: usize) -> Result<PrivateKey, SignatureError> {
    let key = B::generate(bits).ok_or_else(|| invalid(format!("could not generate an RSA key of {bits} bits")))?;
    PrivateKey::new::<B>(key)
}

/// Signs `message` with SHA256withRSA (PKCS#1 v1.5) and returns the signature in standard
/// base64. PKCS#1 v1.5 is deterministic: the same key and message always give the same
/// signature, on either backend, blinding or not.
///
/// # Errors
///
/// [`SignatureError::InvalidKey`] if the key cannot make the signature.
///
/// # Panics
///
/// With the pure backend, only if the operating system's random source, used for blinding, fails.
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
    let signature = match &key.inner {
        #[cfg(feature = "rsa")]
        PrivateInner::AwsLc(key) => aws_lc::AwsLc::sign(key, message),
        #[cfg(feature = "rsa-pure")]
        PrivateInner::Pure(key) => pure::Pure::sign(key, message),
    };
    let signature = signature.ok_or_else(|| invalid("the RSA key could not make a SHA-256 signature"))?;
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
    let signature = decode_base64(signature_b64, key.bits.div_ceil(8))?;
    let genuine = match &key.inner {
        #[cfg(feature = "rsa")]
        PublicInner::AwsLc(key) => aws_lc::AwsLc::verify(key, message, &signature),
        #[cfg(feature = "rsa-pure")]
        PublicInner::Pure(key) => pure::Pure::verify(key, message, &signature),
    };
    if genuine { Ok(()) } else { Err(SignatureError::Mismatch) }
}

fn invalid(reason: impl Into<String>) -> SignatureError {
    SignatureError::InvalidKey { reason: reason.into() }
}

/// The DER of a block whose label is known good, or the error saying why there is none.
fn decode_block(pem: &str, label: &str, formats: &str) -> Result<Zeroizing<Vec<u8>>, SignatureError> {
    pem::decode(pem, label).ok_or_else(|| {
        if escaped_line_breaks(pem) {
            invalid(format!("the \"{label}\" block has its line breaks written as the two characters \\n; {formats}"))
        } else {
            invalid(format!(
                "the \"{label}\" block is not valid PEM (base64 lines between BEGIN and END lines of the same label); {formats}"
            ))
        }
    })
}

/// Keys kept in environment variables or JSON often arrive with their line breaks written as the
/// two characters `\n`.
fn escaped_line_breaks(pem: &str) -> bool {
    pem.contains("\\n") && !pem.contains('\n')
}

fn not_pem(pem: &str, label: Option<&str>, formats: &str) -> SignatureError {
    let what = match label {
        Some(label) => return invalid(format!("a PEM \"{label}\" block is not read; {formats}")),
        None if escaped_line_breaks(pem) => "not PEM text: line breaks are written as the two characters \\n",
        None if pem.starts_with("-----BEGIN ") => "unrecognised PEM label",
        None => "not PEM text (no -----BEGIN line)",
    };
    invalid(format!("{what}; {formats}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A config holds a key and hands clones to its verifiers: they must share the key parsed
    /// once, not parse or copy it again.
    #[test]
    fn clones_share_the_key_parsed_once() {
        let key = PrivateKey::generate(2048).unwrap_or_else(|e| panic!("{e}"));
        for public in
            [key.public_key(), PublicKey::from_pem(&key.public_key().to_pem()).unwrap_or_else(|e| panic!("{e}"))]
        {
            let clone = public.clone();
            let shared = match (&public.inner, &clone.inner) {
                #[cfg(feature = "rsa")]
                (PublicInner::AwsLc(a), PublicInner::AwsLc(b)) => std::sync::Arc::ptr_eq(a, b),
                #[cfg(feature = "rsa-pure")]
                (PublicInner::Pure(a), PublicInner::Pure(b)) => std::sync::Arc::ptr_eq(a, b),
                #[allow(unreachable_patterns)] // with one backend compiled in, there is no other pair
                _ => false,
            };
            assert!(shared);
        }
    }
}
