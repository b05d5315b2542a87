//! Where a store keeps a key: under its prefix, readable when the key is tame, hashed when it is
//! not. An event's claim: `PREFIX` + gateway + `:` + the event's key; a rate budget or a token:
//! `PREFIX` + the key the gateway crate gives (`cuan10pay:` and 16 hex digits).

use gerbang_core::inbox::EventKey;
use sha2::{Digest, Sha256};

/// Longest event key kept as it is; a longer one is hashed.
pub(crate) const MAX_READABLE: usize = 128;

/// The Redis key of `key` under `prefix`: `prefix` + gateway + `:` + the event's
/// [stored](EventKey::stored) key (the one every inbox keeps), as [`tame_key`] keeps or hashes
/// it (`gerbang:inbox:cuan10pay:cuan10pay:CP-1:paid`). A stored digest (`#` + SHA-256 in hex)
/// is kept as it is: it is the digest [`tame_key`] would take of the same key.
pub(crate) fn redis_key(prefix: &str, key: &EventKey) -> String {
    let stored = key.stored();
    let prefix = [prefix, key.provider.as_str(), ":"];
    // Only a digest starts with `#`: a plain stored key never does.
    if stored.starts_with('#') {
        let mut out = joined(&prefix, stored.len());
        out.push_str(&stored);
        out
    } else {
        tame_key(&prefix, &stored)
    }
}

/// The pieces of `prefix`, joined, then `key`, kept as it is when it is tame, hashed when it is
/// not. Written into one `String` of the right size: a claim and its completion each make a key,
/// and formatting the prefix and then the whole key cost more than the rest of a claim.
///
/// A key of at most [`MAX_READABLE`] bytes of ASCII letters, digits and `-_.:/@+=,~` is kept as
/// it is, so that an operator can find it with `redis-cli`. Any other (longer; spaces, quotes,
/// control or non-ASCII bytes; the glob characters `*?[]` that would make `SCAN MATCH` patterns
/// lie; the `{}` of a Redis Cluster hash tag, which would pin keys to one slot) becomes `#` + the
/// SHA-256 of its bytes in hex. `#` is never in a readable key, so a readable key and a hashed
/// one never meet.
pub(crate) fn tame_key(prefix: &[&str], key: &str) -> String {
    let mut out = joined(prefix, key.len().max(DIGEST_LEN));
    if !key.is_empty() && key.len() <= MAX_READABLE && key.bytes().all(is_tame) {
        out.push_str(key);
    } else {
        out.push('#');
        out.push_str(&hex::encode(Sha256::digest(key.as_bytes())));
    }
    out
}

/// `parts` joined, with room for `more` bytes after them.
fn joined(parts: &[&str], more: usize) -> String {
    let mut out = String::with_capacity(parts.iter().map(|part| part.len()).sum::<usize>() + more);
    parts.iter().for_each(|part| out.push_str(part));
    out
}

/// `#` and a SHA-256 in hex: what a key that is not tame becomes.
const DIGEST_LEN: usize = 65;

fn is_tame(b: u8) -> bool {
    matches!(b, b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b':' | b'/' | b'@' | b'+' | b'=' | b',' | b'~')
}

#[cfg(test)]
mod tests {
    use super::*;
    use gerbang_core::ProviderId;

    fn key(s: &str) -> EventKey {
        EventKey { provider: ProviderId::Qris, key: s.to_owned() }
    }

    #[test]
    fn a_tame_key_stays_readable() {
        assert_eq!(redis_key("gerbang:inbox:", &key("qris:INV-1:paid")), "gerbang:inbox:qris:qris:INV-1:paid");
    }

    #[test]
    fn an_odd_or_long_key_is_hashed() {
        for odd in ["a b", "a*", "{tag}x", "é", "a\r\nDEL x", "", "#sha"] {
            let k = redis_key("p:", &key(odd));
            assert!(k.starts_with("p:qris:#") && k.len() == "p:qris:#".len() + 64, "{odd:?} -> {k}");
        }
        let long = "x".repeat(MAX_READABLE + 1);
        assert!(redis_key("p:", &key(&long)).contains('#'));
        assert!(!redis_key("p:", &key(&long[1..])).contains('#'));
    }

    #[test]
    fn a_key_hashed_by_the_core_is_hashed_as_before() {
        // Keys whose stored form is a digest: the Redis key is the one this crate always made,
        // so that done markers written before the core's digest are still found.
        for odd in ["nul\0byte", "é", "", "#sha", &"y".repeat(300), &"é".repeat(150)] {
            let before = format!("p:qris:#{}", hex::encode(Sha256::digest(odd.as_bytes())));
            assert_eq!(redis_key("p:", &key(odd)), before, "{odd:?}");
        }
    }

    #[test]
    fn different_keys_and_gateways_differ() {
        assert_ne!(redis_key("p:", &key("a b")), redis_key("p:", &key("a  b")));
        let other = EventKey { provider: ProviderId::Ciputra, key: "k".into() };
        assert_ne!(redis_key("p:", &key("k")), redis_key("p:", &other));
    }

    #[test]
    fn a_store_key_is_kept_after_the_prefix_or_hashed() {
        assert_eq!(
            tame_key(&["gerbang:rate:"], "cuan10pay:4f2a27b23b7c18df"),
            "gerbang:rate:cuan10pay:4f2a27b23b7c18df"
        );
        assert!(tame_key(&["gerbang:rate:"], "egress ip*").starts_with("gerbang:rate:#"));
    }
}
