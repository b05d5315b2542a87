//! Hex and base64 at the edges of the signature functions.
//!
//! Decoding is strict (one canonical form per value, apart from hex case) and checks the length
//! before decoding, so that a huge header never makes a huge allocation.

use crate::SignatureError;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";

/// Lowercase hex, built in one allocation of the exact size.
pub(crate) fn hex_lower(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for &byte in bytes {
        out.push(char::from(HEX_DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(HEX_DIGITS[usize::from(byte & 0x0f)]));
    }
    out
}

/// Decodes hex of either case into exactly `N` bytes.
pub(crate) fn decode_hex<const N: usize>(text: &str) -> Result<[u8; N], SignatureError> {
    if text.len() != N * 2 {
        return Err(SignatureError::Malformed { reason: "wrong length for this hex signature" });
    }
    let mut out = [0_u8; N];
    hex::decode_to_slice(text, &mut out).map_err(|_| SignatureError::Malformed { reason: "not valid hex" })?;
    Ok(out)
}

/// Standard base64 with padding.
pub(crate) fn base64_encode(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// Decodes standard, padded base64 that must hold exactly `len` bytes.
pub(crate) fn decode_base64(text: &str, len: usize) -> Result<Vec<u8>, SignatureError> {
    if text.len() != len.div_ceil(3) * 4 {
        return Err(SignatureError::Malformed { reason: "wrong length for this base64 signature" });
    }
    let bytes = STANDARD.decode(text).map_err(|_| SignatureError::Malformed { reason: "not valid standard base64" })?;
    if bytes.len() != len {
        // Right text length but too much padding, e.g. `==` where the scheme needs one byte more.
        return Err(SignatureError::Malformed { reason: "wrong length for this base64 signature" });
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_lower_matches_the_hex_crate() {
        let bytes: Vec<u8> = (0..=255).collect();
        assert_eq!(hex_lower(&bytes), hex::encode(&bytes));
    }

    #[test]
    fn decode_hex_accepts_both_cases_and_rejects_bad_lengths() {
        assert_eq!(decode_hex::<2>("aBcD"), Ok([0xab, 0xcd]));
        assert!(matches!(decode_hex::<2>("abc"), Err(SignatureError::Malformed { .. })));
        assert!(matches!(decode_hex::<2>("abcg"), Err(SignatureError::Malformed { .. })));
        assert!(matches!(decode_hex::<2>("é1"), Err(SignatureError::Malformed { .. })));
    }

    #[test]
    fn decode_base64_checks_length_before_and_after() {
        assert_eq!(decode_base64("AAE=", 2), Ok(vec![0, 1]));
        assert!(decode_base64("AA==", 2).is_err());
        assert!(decode_base64("AAE", 2).is_err());
        assert!(decode_base64("AA!=", 2).is_err());
    }
}
