//! Standard Webhooks (<https://www.standardwebhooks.com>) symmetric signatures: what `gerbang
//! webhook serve --forward-to` puts on each event it sends to the application, so that the
//! application can tell it came from us, and what a Rust application checks them with.
//!
//! A message carries three headers:
//!
//! | header | value |
//! |---|---|
//! | `webhook-id` | the message's id, the same on every attempt to deliver it ([`message_id`]) |
//! | `webhook-timestamp` | the attempt's time, unix seconds |
//! | `webhook-signature` | `v1,` and the standard base64 of HMAC-SHA256(`{id}.{timestamp}.{body}`), one per secret, space-separated |
//!
//! The secret is `whsec_` and the standard base64 of 24 to 64 random bytes ([`WebhookSecret`]).
//! During a rotation both the new and the old secret sign ([`signature_header`]); an
//! application holding either one verifies.
//!
//! ```
//! use gerbang_signing::standard_webhooks::{Headers, WebhookSecret, message_id, signature_header};
//! use std::time::Duration;
//!
//! let text = WebhookSecret::generate()?;
//! let secret = WebhookSecret::parse(&text)?;
//! let id = message_id("cuan10pay:D-1:paid");
//! let body = br#"{"status":"paid"}"#;
//! let signature = signature_header(std::slice::from_ref(&secret), &id, 1_730_689_200, body);
//! let headers = Headers { id: &id, timestamp: "1730689200", signature: &signature };
//! assert_eq!(secret.verify(&headers, body, 1_730_689_230, Duration::from_secs(300)), Ok(()));
//! # Ok::<(), gerbang_signing::SignatureError>(())
//! ```

use std::time::Duration;

use base64::Engine as _;
use base64::alphabet;
use base64::engine::GeneralPurpose;
use base64::engine::general_purpose::{PAD_INDIFFERENT, STANDARD};
use rand::RngCore as _;
use sha2::{Digest as _, Sha256};
use zeroize::Zeroizing;

use crate::encoding::{decode_base64, hex_lower};
use crate::{HmacSha256Key, SignatureError, ct_eq};

/// What every secret's text starts with.
pub const SECRET_PREFIX: &str = "whsec_";

/// How many random bytes [`WebhookSecret::generate`] draws: 256 bits.
pub const GENERATED_SECRET_BYTES: usize = 32;

/// The fewest bytes a secret may hold (the specification's minimum, 192 bits).
pub const MIN_SECRET_BYTES: usize = 24;

/// The most bytes a secret may hold (the specification's maximum, 512 bits).
pub const MAX_SECRET_BYTES: usize = 64;

/// How far a message's timestamp may be from now, as every reference library checks it.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(5 * 60);

/// The most signatures one `webhook-signature` header may hold: more is not a rotation but a
/// way to make the verifier compute and compare without end.
pub const MAX_SIGNATURES: usize = 8;

/// The longest `webhook-signature` header [`WebhookSecret::verify`] reads.
const MAX_SIGNATURE_HEADER_BYTES: usize = 1024;

/// The secrets' base64: standard alphabet, with or without its `=` padding, as the reference
/// libraries read it.
const SECRET_BASE64: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, PAD_INDIFFERENT);

/// What a malformed secret is told: never the value, always the shape and how to make one.
const SECRET_SHAPE: &str = "a Standard Webhooks secret is `whsec_` followed by the standard base64 of 24 to 64 \
                            random bytes; make one with `gerbang webhook secret` (or `WebhookSecret::generate`)";

/// A Standard Webhooks signing secret (`whsec_…`), kept only as its HMAC key, whose state is
/// wiped when it is dropped. `Debug` shows none of it, and no method gives it back.
#[derive(Clone)]
pub struct WebhookSecret {
    key: HmacSha256Key,
}

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSecret(<redacted>)")
    }
}

impl WebhookSecret {
    /// Reads a secret's text: `whsec_` and the standard base64 (padded or not) of 24 to 64
    /// bytes, surrounding whitespace ignored.
    ///
    /// # Errors
    ///
    /// [`SignatureError::InvalidKey`] for anything else, saying what a secret looks like and
    /// how to make one, never what was given.
    pub fn parse(text: &str) -> Result<Self, SignatureError> {
        let refused = |what: &str| SignatureError::InvalidKey { reason: format!("{what}: {SECRET_SHAPE}") };
        let text = text.trim();
        let Some(encoded) = text.strip_prefix(SECRET_PREFIX) else {
            return Err(refused(if text.is_empty() {
                "the secret is empty"
            } else {
                "the secret does not start with `whsec_`"
            }));
        };
        // Checked before decoding: a huge value never becomes a huge buffer.
        if encoded.len() > MAX_SECRET_BYTES.div_ceil(3) * 4 {
            return Err(refused("the secret is longer than 64 bytes"));
        }
        // Decoded into a buffer that is wiped when dropped, sized once so that it never moves.
        let mut bytes = Zeroizing::new(Vec::with_capacity(MAX_SECRET_BYTES + 3));
        SECRET_BASE64
            .decode_vec(encoded, &mut bytes)
            .map_err(|_| refused("the part after `whsec_` is not standard base64"))?;
        if bytes.len() < MIN_SECRET_BYTES {
            return Err(refused("the secret is shorter than 24 bytes"));
        }
        Ok(Self { key: HmacSha256Key::new(&bytes) })
    }

    /// A fresh secret's text: `whsec_` and the standard base64 of [`GENERATED_SECRET_BYTES`]
    /// bytes from the operating system's random number generator, wiped when dropped. Read it
    /// with [`parse`](Self::parse).
    ///
    /// # Errors
    ///
    /// [`SignatureError::InvalidKey`] if the operating system gives no random bytes.
    pub fn generate() -> Result<Zeroizing<String>, SignatureError> {
        let mut bytes = Zeroizing::new([0_u8; GENERATED_SECRET_BYTES]);
        rand::rngs::OsRng.try_fill_bytes(bytes.as_mut()).map_err(|_| SignatureError::InvalidKey {
            reason: "the operating system's random number generator gave no bytes".to_owned(),
        })?;
        let mut text =
            Zeroizing::new(String::with_capacity(SECRET_PREFIX.len() + GENERATED_SECRET_BYTES.div_ceil(3) * 4));
        text.push_str(SECRET_PREFIX);
        STANDARD.encode_string(bytes.as_ref(), &mut text);
        Ok(text)
    }

    /// The raw MAC of `{id}.{timestamp}.{body}`.
    fn mac(&self, id: &str, timestamp: &str, body: &[u8]) -> [u8; 32] {
        self.key.mac(&[id.as_bytes(), b".", timestamp.as_bytes(), b".", body])
    }

    /// This secret's signature of a message: `v1,` and the standard base64 of
    /// HMAC-SHA256(`{id}.{timestamp}.{body}`).
    ///
    /// `id` must hold no `.` (a verifier refuses it: the signed string could then be cut into
    /// id, timestamp and body another way); [`message_id`]'s never do.
    #[must_use]
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        let mac = self.mac(id, &timestamp.to_string(), body);
        let mut signature = String::with_capacity(3 + 44);
        signature.push_str("v1,");
        STANDARD.encode_string(mac, &mut signature);
        signature
    }

    /// Checks a message's headers and body, `now` being unix seconds: the timestamp is within
    /// `tolerance` of `now`, and one of the `v1` signatures is this secret's (compared in
    /// constant time). Signatures of other schemes (`v1a,…`) are passed over.
    ///
    /// # Errors
    ///
    /// - [`SignatureError::Malformed`]: an empty id, a signature header longer than 1 KiB or
    ///   with more than [`MAX_SIGNATURES`] signatures, or no well-formed `v1` signature in it.
    /// - [`SignatureError::NonCanonical`]: an id holding a `.`, or a timestamp that is not a
    ///   plain decimal integer (a sign, a leading zero, a fraction).
    /// - [`SignatureError::Timestamp`]: the timestamp is further than `tolerance` from `now`.
    /// - [`SignatureError::Mismatch`]: no signature is this secret's over this message.
    pub fn verify(
        &self,
        headers: &Headers<'_>,
        body: &[u8],
        now: i64,
        tolerance: Duration,
    ) -> Result<(), SignatureError> {
        if headers.id.is_empty() {
            return Err(SignatureError::Malformed { reason: "empty webhook-id" });
        }
        if headers.id.contains('.') {
            return Err(SignatureError::NonCanonical { field: "webhook-id" });
        }
        let timestamp = canonical_timestamp(headers.timestamp)?;
        let skew = now.abs_diff(timestamp);
        if skew > tolerance.as_secs() {
            return Err(SignatureError::Timestamp {
                reason: if timestamp < now {
                    "webhook-timestamp is older than the tolerance allows"
                } else {
                    "webhook-timestamp is further ahead than the tolerance allows"
                },
            });
        }
        if headers.signature.len() > MAX_SIGNATURE_HEADER_BYTES {
            return Err(SignatureError::Malformed { reason: "webhook-signature is longer than 1 KiB" });
        }
        let entries: Vec<&str> = headers.signature.split(' ').filter(|entry| !entry.is_empty()).collect();
        if entries.len() > MAX_SIGNATURES {
            return Err(SignatureError::Malformed { reason: "webhook-signature holds too many signatures" });
        }
        let expected = self.mac(headers.id, headers.timestamp, body);
        let mut well_formed = false;
        for entry in entries {
            let Some(("v1", encoded)) = entry.split_once(',') else { continue };
            let Ok(given) = decode_base64(encoded, expected.len()) else { continue };
            well_formed = true;
            if ct_eq(&expected, &given) {
                return Ok(());
            }
        }
        Err(if well_formed {
            SignatureError::Mismatch
        } else {
            SignatureError::Malformed { reason: "webhook-signature holds no well-formed v1 signature" }
        })
    }
}

/// The three headers of a message, as received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Headers<'a> {
    /// `webhook-id`.
    pub id: &'a str,
    /// `webhook-timestamp`: unix seconds.
    pub timestamp: &'a str,
    /// `webhook-signature`: space-separated `version,signature` entries.
    pub signature: &'a str,
}

/// The `webhook-signature` header of a message signed by every one of `secrets` (the current
/// one and, during a rotation, the previous one), space-separated, in their order.
#[must_use]
pub fn signature_header(secrets: &[WebhookSecret], id: &str, timestamp: i64, body: &[u8]) -> String {
    secrets.iter().map(|secret| secret.sign(id, timestamp, body)).collect::<Vec<_>>().join(" ")
}

/// The `webhook-id` of the event whose dedup key is stored as `stored_key` (gerbang-core's
/// `EventKey::stored`): `msg_` and the first 16 bytes of the key's SHA-256, in lowercase hex.
///
/// The same event has the same id on every attempt, in every replica and after a restart: an
/// application deduplicating by `webhook-id` sees one event once. The key itself is not used
/// because it holds the gateway's id, which may hold a `.` (the specification forbids one in an
/// id: the signed string could be cut another way), spaces a proxy may trim, or 200 bytes; the
/// digest is always 36 header-safe characters. 128 bits make a collision between two events
/// practically impossible.
///
/// ```
/// use gerbang_signing::standard_webhooks::message_id;
///
/// let id = message_id("cuan10pay:D-1:paid");
/// assert!(id.starts_with("msg_") && id.len() == 36);
/// assert_eq!(id, message_id("cuan10pay:D-1:paid"));
/// assert_ne!(id, message_id("cuan10pay:D-1:pending"));
/// ```
#[must_use]
pub fn message_id(stored_key: &str) -> String {
    let digest = Sha256::digest(stored_key.as_bytes());
    format!("msg_{}", hex_lower(&digest[..16]))
}

/// Reads a timestamp written as a plain decimal integer: digits only, no leading zero (but
/// `0`), fitting an `i64`. Anything else could be read as the same number by one verifier and
/// signed as different text by another.
fn canonical_timestamp(text: &str) -> Result<i64, SignatureError> {
    let non_canonical = SignatureError::NonCanonical { field: "webhook-timestamp" };
    let digits_only = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
    if !digits_only || (text.len() > 1 && text.starts_with('0')) {
        return Err(non_canonical);
    }
    text.parse().map_err(|_| non_canonical)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_must_be_canonical() {
        assert_eq!(canonical_timestamp("0"), Ok(0));
        assert_eq!(canonical_timestamp("1730689200"), Ok(1_730_689_200));
        for bad in
            ["", "01730689200", "+1730689200", "-1", "1730689200.5", " 1730689200", "1e9", "99999999999999999999"]
        {
            assert_eq!(
                canonical_timestamp(bad),
                Err(SignatureError::NonCanonical { field: "webhook-timestamp" }),
                "{bad:?}"
            );
        }
    }
}
