//! Cuan10pay signatures: lowercase hex HMAC-SHA256 under the merchant's private key.
//!
//! Contract in `PROVIDERS.md` §1, from `seeds/000_b443c682d4d25840.txt`:
//!
//! - every API call carries `X-SIGNATURE` = hex HMAC-SHA256 of
//!   `timestamp + METHOD + path + body` ([`sign_request`]);
//! - every webhook carries `signature` = hex HMAC-SHA256 of
//!   `reference + status + amount + timestamp` ([`sign_webhook`]).
//!
//! The document's PHP example signs `merchant_code + merchant_ref + amount` for a form post to
//! `deposit_create.php`: an older scheme that the SDK does not implement.

use crate::encoding::{hex_lower, matches_hex};
use crate::{HmacSha256Key, SignatureError};

/// Signs a Cuan10pay API request: lowercase hex of
/// HMAC-SHA256(`private_key`, `timestamp` + `method` + `path_and_query` + `body`).
///
/// - `timestamp` is the Unix time in seconds sent as `X-TIMESTAMP`, written in decimal.
/// - `method` is the HTTP method exactly as sent (`GET`, `POST`): it is not upper-cased for you.
/// - `path_and_query` is the path after the base URL *including* the query string,
///   `/v1/deposit_status?ref=CP-1`. **Decision** (`PROVIDERS.md` §1): the document's example
///   only shows a POST without query; signing what is actually requested is the safe reading.
/// - `body` is the exact bytes sent, empty for a GET. It is never re-serialised or minified.
///
/// ```
/// use gerbang_signing::cuan10pay::{sign_request, verify_request};
///
/// let body = br#"{"amount": 100000, "customer_name": "John Doe"}"#;
/// let signature = sign_request(b"your_private_key", 1_730_689_200, "POST", "/v1/deposit_create", body);
/// assert_eq!(signature.len(), 64);
/// assert!(verify_request(b"your_private_key", 1_730_689_200, "POST", "/v1/deposit_create", body, &signature).is_ok());
/// ```
#[must_use]
pub fn sign_request(private_key: &[u8], timestamp: i64, method: &str, path_and_query: &str, body: &[u8]) -> String {
    sign_request_with_key(&HmacSha256Key::new(private_key), timestamp, method, path_and_query, body)
}

/// [`sign_request`] under a key made ready once: what a client that signs every call uses.
///
/// ```
/// use gerbang_signing::HmacSha256Key;
/// use gerbang_signing::cuan10pay::{sign_request, sign_request_with_key};
///
/// let key = HmacSha256Key::new(b"your_private_key");
/// let path = "/v1/deposit_status?ref=CP-1";
/// assert_eq!(sign_request_with_key(&key, 1_730_689_200, "GET", path, b""), sign_request(b"your_private_key", 1_730_689_200, "GET", path, b""));
/// ```
#[must_use]
pub fn sign_request_with_key(
    key: &HmacSha256Key,
    timestamp: i64,
    method: &str,
    path_and_query: &str,
    body: &[u8],
) -> String {
    hex_lower(&request_mac(key, timestamp, method, path_and_query, body))
}

/// Checks a Cuan10pay request signature made by [`sign_request`].
///
/// `signature_hex` may be in either case. The MAC bytes are compared in constant time.
///
/// # Errors
///
/// [`SignatureError::Malformed`] if `signature_hex` is not 64 hex digits,
/// [`SignatureError::Mismatch`] if it is not the signature of this request under this key.
///
/// ```
/// use gerbang_signing::{SignatureError, cuan10pay::verify_request};
///
/// let wrong = "00".repeat(32);
/// let result = verify_request(b"key", 1_730_689_200, "GET", "/v1/invoice_status?ref=INV123", b"", &wrong);
/// assert_eq!(result, Err(SignatureError::Mismatch));
/// ```
pub fn verify_request(
    private_key: &[u8],
    timestamp: i64,
    method: &str,
    path_and_query: &str,
    body: &[u8],
    signature_hex: &str,
) -> Result<(), SignatureError> {
    let expected = request_mac(&HmacSha256Key::new(private_key), timestamp, method, path_and_query, body);
    matches_hex(&expected, signature_hex)
}

/// Signs a Cuan10pay webhook: lowercase hex of
/// HMAC-SHA256(`private_key`, `reference` + `status` + `amount` + `timestamp`).
///
/// **Decision** (`PROVIDERS.md` §1): the document shows a `signature` field but not what it
/// covers; this is the assumed string. `amount` and `timestamp` are the decimal text of the
/// integers in the webhook JSON (`"100000"`, `"1700000000"`).
///
/// Nothing separates the fields, so the same string can be cut into fields in more than one
/// way (`"150000" + "1700000000"` is also `"15" + "00001700000000"`). [`verify_webhook`] therefore
/// takes `amount` and `timestamp` only in their one canonical spelling; the caller must also
/// keep `status` to a closed list of words none of which ends with another (the Cuan10pay crate
/// does).
///
/// ```
/// use gerbang_signing::cuan10pay::{sign_webhook, verify_webhook};
///
/// let signature = sign_webhook(b"your_private_key", "INV123", "PAID", "100000", "1700000000");
/// assert!(verify_webhook(b"your_private_key", "INV123", "PAID", "100000", "1700000000", &signature).is_ok());
/// ```
#[must_use]
pub fn sign_webhook(private_key: &[u8], reference: &str, status: &str, amount: &str, timestamp: &str) -> String {
    sign_webhook_with_key(&HmacSha256Key::new(private_key), reference, status, amount, timestamp)
}

/// [`sign_webhook`] under a key made ready once.
#[must_use]
pub fn sign_webhook_with_key(
    key: &HmacSha256Key,
    reference: &str,
    status: &str,
    amount: &str,
    timestamp: &str,
) -> String {
    hex_lower(&webhook_mac(key, reference, status, amount, timestamp))
}

/// Checks a Cuan10pay webhook signature made by [`sign_webhook`].
///
/// `amount` and `timestamp` must be canonical decimal integers, as an integer is written back
/// out: digits only (a `-` before a timestamp's), no leading zero, no `+`, fraction or exponent.
/// Any other spelling could be digits moved across the amount/timestamp boundary, and is refused
/// before the MAC is computed. `signature_hex` may be in either case. The MAC bytes are compared
/// in constant time. The freshness of `timestamp` is the caller's business (it owns the clock):
/// with a window of minutes, a timestamp that gained or lost digits to the amount is years away.
///
/// # Errors
///
/// [`SignatureError::NonCanonical`] if `amount` or `timestamp` is not in its canonical spelling,
/// [`SignatureError::Malformed`] if `signature_hex` is not 64 hex digits,
/// [`SignatureError::Mismatch`] if it does not sign these fields under this key.
///
/// ```
/// use gerbang_signing::{SignatureError, cuan10pay::{sign_webhook, verify_webhook}};
///
/// let signature = sign_webhook(b"key", "INV123", "PAID", "100000", "1700000000");
/// // Someone changed the amount.
/// let result = verify_webhook(b"key", "INV123", "PAID", "900000", "1700000000", &signature);
/// assert_eq!(result, Err(SignatureError::Mismatch));
/// // The same signed string cut differently: 10 rupiah, and a timestamp with leading zeros.
/// let result = verify_webhook(b"key", "INV123", "PAID", "10", "00001700000000", &signature);
/// assert_eq!(result, Err(SignatureError::NonCanonical { field: "timestamp" }));
/// ```
pub fn verify_webhook(
    private_key: &[u8],
    reference: &str,
    status: &str,
    amount: &str,
    timestamp: &str,
    signature_hex: &str,
) -> Result<(), SignatureError> {
    verify_webhook_with_key(&HmacSha256Key::new(private_key), reference, status, amount, timestamp, signature_hex)
}

/// [`verify_webhook`] under a key made ready once: what a receiver that checks every webhook
/// uses.
///
/// # Errors
///
/// As [`verify_webhook`].
///
/// ```
/// use gerbang_signing::HmacSha256Key;
/// use gerbang_signing::cuan10pay::{sign_webhook, verify_webhook_with_key};
///
/// let key = HmacSha256Key::new(b"your_private_key");
/// let signature = sign_webhook(b"your_private_key", "INV123", "PAID", "100000", "1700000000");
/// assert!(verify_webhook_with_key(&key, "INV123", "PAID", "100000", "1700000000", &signature).is_ok());
/// ```
pub fn verify_webhook_with_key(
    key: &HmacSha256Key,
    reference: &str,
    status: &str,
    amount: &str,
    timestamp: &str,
    signature_hex: &str,
) -> Result<(), SignatureError> {
    if !is_canonical_integer(amount, false) {
        return Err(SignatureError::NonCanonical { field: "amount" });
    }
    if !is_canonical_integer(timestamp, true) {
        return Err(SignatureError::NonCanonical { field: "timestamp" });
    }
    matches_hex(&webhook_mac(key, reference, status, amount, timestamp), signature_hex)
}

fn request_mac(key: &HmacSha256Key, timestamp: i64, method: &str, path_and_query: &str, body: &[u8]) -> [u8; 32] {
    let mut digits = [0_u8; I64_MAX_DIGITS];
    let timestamp = format_i64(timestamp, &mut digits);
    key.mac(&[timestamp, method.as_bytes(), path_and_query.as_bytes(), body])
}

fn webhook_mac(key: &HmacSha256Key, reference: &str, status: &str, amount: &str, timestamp: &str) -> [u8; 32] {
    key.mac(&[reference.as_bytes(), status.as_bytes(), amount.as_bytes(), timestamp.as_bytes()])
}

/// Whether `text` is an integer as Rust (and every JSON writer) writes one: `0`, or digits not
/// starting with `0`, after a `-` when `signed` (and never `-0`).
fn is_canonical_integer(text: &str, signed: bool) -> bool {
    let digits = match text.strip_prefix('-') {
        Some(rest) if signed => rest,
        Some(_) => return false,
        None => text,
    };
    let well_formed = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
    let no_leading_zero = (digits == "0" && digits.len() == text.len()) || !digits.starts_with('0');
    well_formed && no_leading_zero
}

/// `i64::MIN` is the longest: a sign and 19 digits.
const I64_MAX_DIGITS: usize = 20;

/// Writes `value` in decimal at the end of `buf` and returns the written part. A stack buffer
/// instead of `to_string()`: `sign_request` sits on every API call and is benchmarked against a
/// bare HMAC, so it must not allocate more than the hex output.
fn format_i64(value: i64, buf: &mut [u8; I64_MAX_DIGITS]) -> &[u8] {
    let mut rest = value.unsigned_abs();
    let mut start = buf.len();
    loop {
        start -= 1;
        // `rest % 10` is below 10, so the cast cannot truncate.
        buf[start] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    if value < 0 {
        start -= 1;
        buf[start] = b'-';
    }
    &buf[start..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_integers_are_the_ones_display_writes() {
        for value in [0_i64, 1, 9, 10, 150_000, 1_759_053_750, i64::MAX, -1, -10, i64::MIN] {
            assert!(is_canonical_integer(&value.to_string(), true), "{value}");
            assert_eq!(is_canonical_integer(&value.to_string(), false), value >= 0, "{value}");
        }
        for text in ["", "-", "-0", "00", "0150000", "+1", "1.0", "1e5", " 1", "1 ", "1_000", "١"] {
            assert!(!is_canonical_integer(text, true), "{text:?}");
        }
    }

    #[test]
    fn format_i64_agrees_with_display() {
        let values = [0, 1, -1, 9, 10, -10, 1_700_000_000, 1_730_689_200, i64::MAX, i64::MIN, i64::MIN + 1];
        for value in values {
            let mut buf = [0_u8; I64_MAX_DIGITS];
            assert_eq!(format_i64(value, &mut buf), value.to_string().as_bytes());
        }
    }
}
