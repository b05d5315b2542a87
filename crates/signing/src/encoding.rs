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

/// Checks that `given` is the hex of `expected`, in either case, without decoding it: the given
/// text is lower-cased (it is public, so that may branch on it) and compared with `expected`'s
/// lowercase digits in constant time.
pub(crate) fn matches_hex<const N: usize>(expected: &[u8; N], given: &str) -> Result<(), SignatureError> {
    if given.len() != N * 2 {
        return Err(SignatureError::Malformed { reason: "wrong length for this hex signature" });
    }
    let mut given_digits = [[0_u8; 2]; N];
    for (digit, &byte) in given_digits.as_flattened_mut().iter_mut().zip(given.as_bytes()) {
        *digit = match byte {
            b'0'..=b'9' | b'a'..=b'f' => byte,
            b'A'..=b'F' => byte.to_ascii_lowercase(),
            _ => return Err(SignatureError::Malformed { reason: "not valid hex" }),
        };
    }
    let expected_digits =
        expected.map(|byte| [HEX_DIGITS[usize::from(byte >> 4)], HEX_DIGITS[usize::from(byte & 0x0f)]]);
    if crate::ct_eq(expected_digits.as_flattened(), given_digits.as_flattened()) {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
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
    fn matches_hex_takes_either_case_and_refuses_what_is_not_hex() {
        assert_eq!(matches_hex(&[0xab, 0xcd], "abcd"), Ok(()));
        assert_eq!(matches_hex(&[0xab, 0xcd], "aBcD"), Ok(()));
        assert_eq!(matches_hex(&[0xab, 0xcd], "abce"), Err(SignatureError::Mismatch));
        assert_eq!(
            matches_hex(&[0xab, 0xcd], "abcdab"),
            Err(SignatureError::Malformed { reason: "wrong length for this hex signature" })
        );
        for bad in ["abc", "abcg", "é1", "ab d", "+bcd", "abcD\n"] {
            assert!(matches!(matches_hex(&[0xab, 0xcd], bad), Err(SignatureError::Malformed { .. })), "{bad:?}");
        }
        // Every byte value, both cases.
        let bytes: [u8; 256] = std::array::from_fn(|i| u8::try_from(i).unwrap_or_default());
        assert_eq!(matches_hex(&bytes, &hex::encode(bytes)), Ok(()));
        assert_eq!(matches_hex(&bytes, &hex::encode_upper(bytes)), Ok(()));
    }

    #[test]
    fn decode_base64_checks_length_before_and_after() {
        assert_eq!(decode_base64("AAE=", 2), Ok(vec![0, 1]));
        assert!(decode_base64("AA==", 2).is_err());
        assert!(decode_base64("AAE", 2).is_err());
        assert!(decode_base64("AA!=", 2).is_err());
    }
}
