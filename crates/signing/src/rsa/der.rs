//! The little DER the RSA keys need, shared by both backends: the RSA key inside an SPKI
//! (`PUBLIC KEY`) block, and the size of a modulus.
//!
//! An SPKI block is unwrapped here rather than by each backend, so that both accept exactly the
//! same blocks (rsaEncryption keys only) and give the same errors. Only lengths and tags are read;
//! the integers themselves are checked by the backend that parses the key.

/// The DER tags met in an RSA public key.
const SEQUENCE: u8 = 0x30;
const INTEGER: u8 = 0x02;
const BIT_STRING: u8 = 0x03;
const OBJECT_IDENTIFIER: u8 = 0x06;
const NULL: u8 = 0x05;

/// rsaEncryption, 1.2.840.113549.1.1.1 (RFC 8017, appendix C), the content of its OID.
const RSA_ENCRYPTION: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];

/// Why an SPKI block gave no RSA key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SpkiError {
    /// Not DER of a SubjectPublicKeyInfo at all.
    Malformed,
    /// A well-formed SPKI of another algorithm (an EC key, say).
    NotRsa,
}

/// The `RSAPublicKey` (PKCS#1) DER inside an SPKI of algorithm rsaEncryption (RFC 5280 §4.1,
/// RFC 3279 §2.3.1: its parameters are NULL, or absent as some encoders write them).
pub(super) fn spki_rsa_public_key(spki: &[u8]) -> Result<&[u8], SpkiError> {
    let (info, rest) = element(spki, SEQUENCE).ok_or(SpkiError::Malformed)?;
    if !rest.is_empty() {
        return Err(SpkiError::Malformed);
    }
    let (algorithm, info) = element(info, SEQUENCE).ok_or(SpkiError::Malformed)?;
    let (oid, parameters) = element(algorithm, OBJECT_IDENTIFIER).ok_or(SpkiError::Malformed)?;
    let (key, rest) = element(info, BIT_STRING).ok_or(SpkiError::Malformed)?;
    if !rest.is_empty() {
        return Err(SpkiError::Malformed);
    }
    if oid != RSA_ENCRYPTION {
        return Err(SpkiError::NotRsa);
    }
    match element(parameters, NULL) {
        Some((null, rest)) if null.is_empty() && rest.is_empty() => {}
        _ if parameters.is_empty() => {}
        _ => return Err(SpkiError::Malformed),
    }
    // A BIT STRING starts with the count of unused bits in its last byte: none for a DER key.
    match key.split_first() {
        Some((0, key)) => Ok(key),
        _ => Err(SpkiError::Malformed),
    }
}

/// Whether `der` has the shape of an `RSAPublicKey` (RFC 8017 §A.1.1): one SEQUENCE of two
/// INTEGERs, modulus and exponent, and nothing after it. Checked before a backend sees the key,
/// because aws-lc would also take an SPKI here: a block is read as what its label says.
pub(super) fn is_rsa_public_key(der: &[u8]) -> bool {
    let Some((fields, rest)) = element(der, SEQUENCE) else { return false };
    let Some((_, fields)) = element(fields, INTEGER) else { return false };
    let Some((_, fields)) = element(fields, INTEGER) else { return false };
    rest.is_empty() && fields.is_empty()
}

/// The size in bits of the modulus of an `RSAPublicKey` (PKCS#1) DER: the position of the
/// highest bit set, so that a 2048-bit key is 2048 whatever its encoding's leading zero byte.
pub(super) fn modulus_bits(rsa_public_key: &[u8]) -> Option<usize> {
    let (fields, _) = element(rsa_public_key, SEQUENCE)?;
    let (modulus, _) = element(fields, INTEGER)?;
    let first = modulus.iter().position(|&byte| byte != 0)?;
    let top = modulus[first];
    Some((modulus.len() - first - 1) * 8 + (8 - top.leading_zeros() as usize))
}

/// The content of the DER element of tag `tag` at the start of `input`, and what follows it.
/// Definite lengths only, in at most four length bytes (no RSA key comes near 4 GiB).
fn element(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (&found, input) = input.split_first()?;
    if found != tag {
        return None;
    }
    let (&first, mut input) = input.split_first()?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 || input.len() < count {
            return None;
        }
        let (bytes, rest) = input.split_at(count);
        input = rest;
        bytes.iter().fold(0_usize, |len, &byte| (len << 8) | usize::from(byte))
    };
    (input.len() >= len).then(|| input.split_at(len))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SPKI of a toy key: modulus 0x00C1 (8 bits once its sign byte is dropped), exponent 3.
    const TOY_PKCS1: &[u8] = &[0x30, 0x07, 0x02, 0x02, 0x00, 0xc1, 0x02, 0x01, 0x03];

    fn spki(oid: &[u8], parameters: &[u8], key: &[u8]) -> Vec<u8> {
        let mut algorithm = vec![OBJECT_IDENTIFIER, oid.len() as u8];
        algorithm.extend_from_slice(oid);
        algorithm.extend_from_slice(parameters);
        let mut info = vec![SEQUENCE, algorithm.len() as u8];
        info.extend(algorithm);
        info.extend([BIT_STRING, key.len() as u8 + 1, 0]);
        info.extend_from_slice(key);
        let mut out = vec![SEQUENCE, info.len() as u8];
        out.extend(info);
        out
    }

    #[test]
    fn unwraps_an_rsa_spki_with_null_or_absent_parameters() {
        assert_eq!(spki_rsa_public_key(&spki(RSA_ENCRYPTION, &[NULL, 0], TOY_PKCS1)), Ok(TOY_PKCS1));
        assert_eq!(spki_rsa_public_key(&spki(RSA_ENCRYPTION, &[], TOY_PKCS1)), Ok(TOY_PKCS1));
    }

    #[test]
    fn tells_another_algorithm_from_broken_der() {
        let ec_public_key = [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
        assert_eq!(spki_rsa_public_key(&spki(&ec_public_key, &[NULL, 0], TOY_PKCS1)), Err(SpkiError::NotRsa));
        let good = spki(RSA_ENCRYPTION, &[NULL, 0], TOY_PKCS1);
        for broken in [&good[..good.len() - 1], &[good.as_slice(), &[0]].concat(), TOY_PKCS1, &[]] {
            assert_eq!(spki_rsa_public_key(broken), Err(SpkiError::Malformed), "{broken:02x?}");
        }
    }

    #[test]
    fn an_rsa_public_key_is_a_sequence_of_two_integers() {
        assert!(is_rsa_public_key(TOY_PKCS1));
        assert!(!is_rsa_public_key(&spki(RSA_ENCRYPTION, &[NULL, 0], TOY_PKCS1)));
        assert!(!is_rsa_public_key(&[TOY_PKCS1, &[0]].concat()), "trailing byte");
        assert!(!is_rsa_public_key(&[SEQUENCE, 0x03, INTEGER, 0x01, 0x05]), "one integer");
        assert!(!is_rsa_public_key(&[SEQUENCE, 0x09, INTEGER, 0x01, 0x05, INTEGER, 0x01, 0x03, INTEGER, 0x01, 0x01]));
    }

    #[test]
    fn counts_modulus_bits_from_the_highest_bit_set() {
        assert_eq!(modulus_bits(TOY_PKCS1), Some(8));
        // A long-form length (0x82 0x01 0x01: 257 bytes), as every 2048-bit key has.
        let mut long = vec![SEQUENCE, 0x82, 0x01, 0x08, INTEGER, 0x82, 0x01, 0x01, 0x00, 0x80];
        long.extend([0xff; 255]);
        long.extend([INTEGER, 0x01, 0x03]);
        assert_eq!(modulus_bits(&long), Some(2048));
        assert_eq!(modulus_bits(&[SEQUENCE, 0x03, INTEGER, 0x01, 0x00]), None, "a zero modulus has no size");
        assert_eq!(modulus_bits(&[SEQUENCE, 0x84, 0xff]), None);
    }
}
