//! SNAP (Bank Indonesia's open-API standard, *Standar Nasional Open API Pembayaran*) helpers.
//!
//! SNAP signs a digest of the request body, not the body itself: the lowercase hex SHA-256 of the
//! body *minified*, that is with the insignificant whitespace between JSON tokens removed. Both
//! sides minify, so a pretty-printed body and its compact form sign the same. Minification here
//! is lexical ([`minify_json`]): keys keep their order and strings keep their bytes, because a
//! re-serialising minifier (sorting keys, rewriting `\u00e9` as `é` or `1.0` as `1`) would produce
//! a digest the gateway never computed.
//!
//! - asymmetric signatures (SHA256withRSA, used for notifications):
//!   [`asymmetric_string_to_sign`], then `rsa::sign_sha256_rsa` / `rsa::verify_sha256_rsa`;
//! - symmetric signatures (HMAC-SHA512, used for service calls): [`sign_symmetric`],
//!   [`verify_symmetric`].

use std::borrow::Cow;

use sha2::{Digest, Sha256};

use crate::SignatureError;
use crate::encoding::{base64_encode, decode_base64, hex_lower};

/// Removes the insignificant whitespace of a JSON text and keeps every other byte.
///
/// Space, tab, line feed and carriage return between tokens are dropped; everything inside a
/// string (including its escapes, `\"` and `\\` among them) is copied byte for byte; keys keep
/// their order (never sorted), numbers keep their spelling. When there is nothing to remove the
/// input is returned as [`Cow::Borrowed`], without copying.
///
/// The minifier is lexical: it does not check that the input is JSON. It only needs to know
/// where strings start and end, so the one error is a string that never ends.
///
/// # Errors
///
/// [`SignatureError::InvalidJson`] if the input ends inside a string.
///
/// ```
/// use std::borrow::Cow;
/// use gerbang_signing::snap::minify_json;
///
/// let pretty = b"{\n  \"trxNo\": \" TRX001\",\n  \"amount\": {\"value\": \"1000.00\"}\n}";
/// assert_eq!(&*minify_json(pretty)?, br#"{"trxNo":" TRX001","amount":{"value":"1000.00"}}"#);
///
/// // Already minimal: nothing is copied.
/// assert!(matches!(minify_json(br#"{"a":[1,2]}"#)?, Cow::Borrowed(_)));
/// # Ok::<(), gerbang_signing::SignatureError>(())
/// ```
pub fn minify_json(body: &[u8]) -> Result<Cow<'_, [u8]>, SignatureError> {
    let mut scanner = Scanner::default();
    // First pass without a copy: most bodies the SDK itself sends are already compact.
    for (index, &byte) in body.iter().enumerate() {
        if scanner.keep(byte) {
            continue;
        }
        let mut out = Vec::with_capacity(body.len());
        out.extend_from_slice(&body[..index]);
        for &byte in &body[index + 1..] {
            if scanner.keep(byte) {
                out.push(byte);
            }
        }
        scanner.finish()?;
        return Ok(Cow::Owned(out));
    }
    scanner.finish()?;
    Ok(Cow::Borrowed(body))
}

/// Where the minifier is: outside strings, inside one, or just after a backslash inside one.
#[derive(Default)]
struct Scanner {
    in_string: bool,
    escaped: bool,
}

impl Scanner {
    /// Whether `byte` belongs in the minified output; advances the state.
    fn keep(&mut self, byte: u8) -> bool {
        if self.in_string {
            if self.escaped {
                self.escaped = false;
            } else if byte == b'\\' {
                self.escaped = true;
            } else if byte == b'"' {
                self.in_string = false;
            }
            true
        } else {
            match byte {
                // The four whitespace characters of RFC 8259 §2. Other Unicode spaces are not
                // JSON whitespace and are kept (they would make the JSON invalid anyway).
                b' ' | b'\t' | b'\n' | b'\r' => false,
                b'"' => {
                    self.in_string = true;
                    true
                }
                _ => true,
            }
        }
    }

    fn finish(&self) -> Result<(), SignatureError> {
        if self.in_string { Err(SignatureError::InvalidJson { reason: "unterminated string" }) } else { Ok(()) }
    }
}

/// Lowercase hex SHA-256 of the minified body: the body digest of SNAP's strings to sign.
///
/// An empty body (a GET) hashes the empty string.
///
/// # Errors
///
/// [`SignatureError::InvalidJson`] if the body ends inside a string (see [`minify_json`]).
///
/// ```
/// use gerbang_signing::snap::body_sha256_hex;
///
/// // Whitespace between tokens does not change the digest.
/// assert_eq!(body_sha256_hex(b"{ \"a\" : 1 }")?, body_sha256_hex(br#"{"a":1}"#)?);
/// assert_eq!(
///     body_sha256_hex(b"")?,
///     "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
/// );
/// # Ok::<(), gerbang_signing::SignatureError>(())
/// ```
pub fn body_sha256_hex(body: &[u8]) -> Result<String, SignatureError> {
    Ok(hex_lower(&minified_sha256(body)?))
}

/// Standard base64 (with padding) of the SHA-256 of the minified body.
///
/// # Errors
///
/// [`SignatureError::InvalidJson`] if the body ends inside a string (see [`minify_json`]).
///
/// ```
/// use gerbang_signing::snap::body_sha256_base64;
///
/// assert_eq!(body_sha256_base64(b"")?, "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
/// # Ok::<(), gerbang_signing::SignatureError>(())
/// ```
pub fn body_sha256_base64(body: &[u8]) -> Result<String, SignatureError> {
    Ok(base64_encode(&minified_sha256(body)?))
}

fn minified_sha256(body: &[u8]) -> Result<[u8; 32], SignatureError> {
    Ok(Sha256::digest(minify_json(body)?).into())
}

/// The SNAP asymmetric string to sign:
/// `METHOD:path:lowercase-hex(SHA-256(minify(body))):timestamp`.
///
/// `method` is used as given (send it upper-case, as on the wire); `path` is the request path
/// without the host (`/v1.0/debit/notify`); `timestamp` is the `X-TIMESTAMP` header *exactly*
/// as sent or received, never re-formatted (it may carry milliseconds, `+07:00` or `Z`).
///
/// # Errors
///
/// [`SignatureError::InvalidJson`] if the body ends inside a string (see [`minify_json`]).
///
/// ```
/// use gerbang_signing::snap::asymmetric_string_to_sign;
///
/// let s = asymmetric_string_to_sign("POST", "/v1.0/debit/notify", b"", "2024-11-04T10:00:00+07:00")?;
/// assert_eq!(
///     s,
///     "POST:/v1.0/debit/notify:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855:2024-11-04T10:00:00+07:00",
/// );
/// # Ok::<(), gerbang_signing::SignatureError>(())
/// ```
pub fn asymmetric_string_to_sign(
    method: &str,
    path: &str,
    body: &[u8],
    timestamp: &str,
) -> Result<String, SignatureError> {
    let digest = body_sha256_hex(body)?;
    Ok(format!("{method}:{path}:{digest}:{timestamp}"))
}

/// The SNAP symmetric (service) string to sign:
/// `METHOD:path:access_token:lowercase-hex(SHA-256(minify(body))):timestamp`.
///
/// `access_token` is the B2B token without the `Bearer ` prefix. The other arguments are as for
/// [`asymmetric_string_to_sign`].
///
/// # Errors
///
/// [`SignatureError::InvalidJson`] if the body ends inside a string (see [`minify_json`]).
///
/// ```
/// use gerbang_signing::snap::symmetric_string_to_sign;
///
/// let s = symmetric_string_to_sign("GET", "/v1.0/balance", "token", b"", "2024-11-04T10:00:00+07:00")?;
/// assert!(s.starts_with("GET:/v1.0/balance:token:e3b0c442"));
/// assert!(s.ends_with(":2024-11-04T10:00:00+07:00"));
/// # Ok::<(), gerbang_signing::SignatureError>(())
/// ```
pub fn symmetric_string_to_sign(
    method: &str,
    path: &str,
    access_token: &str,
    body: &[u8],
    timestamp: &str,
) -> Result<String, SignatureError> {
    let digest = body_sha256_hex(body)?;
    Ok(format!("{method}:{path}:{access_token}:{digest}:{timestamp}"))
}

/// Signs a SNAP service call: standard base64 of HMAC-SHA512(`secret`,
/// [`symmetric_string_to_sign`]).
///
/// # Errors
///
/// [`SignatureError::InvalidJson`] if the body ends inside a string (see [`minify_json`]).
///
/// ```
/// use gerbang_signing::snap::{sign_symmetric, verify_symmetric};
///
/// let body = br#"{"partnerReferenceNo":"2020102900000000000001","amount":{"value":"12345678.00","currency":"IDR"}}"#;
/// let ts = "2024-11-04T10:00:00+07:00";
/// let signature = sign_symmetric(b"client-secret", "POST", "/v1.0/qr/qr-mpm-generate", "token", body, ts)?;
/// assert_eq!(signature.len(), 88); // 64 bytes in base64
/// verify_symmetric(b"client-secret", "POST", "/v1.0/qr/qr-mpm-generate", "token", body, ts, &signature)?;
/// # Ok::<(), gerbang_signing::SignatureError>(())
/// ```
pub fn sign_symmetric(
    secret: &[u8],
    method: &str,
    path: &str,
    access_token: &str,
    body: &[u8],
    timestamp: &str,
) -> Result<String, SignatureError> {
    let mac = symmetric_mac(secret, method, path, access_token, body, timestamp)?;
    Ok(base64_encode(&mac))
}

/// Checks a SNAP service signature made by [`sign_symmetric`]; the MAC bytes are compared in
/// constant time.
///
/// # Errors
///
/// [`SignatureError::InvalidJson`] if the body ends inside a string,
/// [`SignatureError::Malformed`] if `signature_b64` is not standard padded base64 of 64 bytes,
/// [`SignatureError::Mismatch`] if it does not sign this request under this secret.
///
/// ```
/// use gerbang_signing::{SignatureError, snap::verify_symmetric};
///
/// let result = verify_symmetric(b"secret", "GET", "/v1.0/balance", "token", b"", "2024-11-04T10:00:00+07:00", "not base64");
/// assert!(matches!(result, Err(SignatureError::Malformed { .. })));
/// ```
pub fn verify_symmetric(
    secret: &[u8],
    method: &str,
    path: &str,
    access_token: &str,
    body: &[u8],
    timestamp: &str,
    signature_b64: &str,
) -> Result<(), SignatureError> {
    let given = decode_base64(signature_b64, 64)?;
    let expected = symmetric_mac(secret, method, path, access_token, body, timestamp)?;
    if crate::ct_eq(&expected, &given) { Ok(()) } else { Err(SignatureError::Mismatch) }
}

fn symmetric_mac(
    secret: &[u8],
    method: &str,
    path: &str,
    access_token: &str,
    body: &[u8],
    timestamp: &str,
) -> Result<[u8; 64], SignatureError> {
    let string_to_sign = symmetric_string_to_sign(method, path, access_token, body, timestamp)?;
    Ok(crate::hmac_sha512(secret, &[string_to_sign.as_bytes()]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaped_quote_does_not_end_a_string() {
        let body = br#"{ "a" : "x\" y" , "b" : "\\" }"#;
        assert_eq!(&*minify_json(body).unwrap(), br#"{"a":"x\" y","b":"\\"}"#);
    }

    #[test]
    fn unterminated_strings_are_invalid() {
        for body in [&br#"{"a":"x"#[..], br#"{"a":"x\"}"#, b"\"", b" \"\\"] {
            assert_eq!(
                minify_json(body),
                Err(SignatureError::InvalidJson { reason: "unterminated string" }),
                "{body:?}"
            );
        }
    }

    #[test]
    fn empty_and_whitespace_only_bodies() {
        assert!(matches!(minify_json(b""), Ok(Cow::Borrowed(b""))));
        assert_eq!(&*minify_json(b" \r\n\t").unwrap(), b"");
    }
}
