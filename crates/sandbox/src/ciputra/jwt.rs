//! The sandbox's tokens: JWT-shaped (`header.payload.signature`, base64url without padding), with
//! `iat` and `exp` claims, signed HS256 with a key of this sandbox's own, so that a token from
//! elsewhere, a forged one or an expired one is refused.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gerbang_signing::{ct_eq, hmac_sha256};
use serde::{Deserialize, Serialize};

/// base64url without padding (RFC 4648 §5), as JWTs use it.
fn encode(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The inverse of [`encode`]; `None` for anything that is not canonical base64url (one token, one
/// spelling).
fn decode(text: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(text).ok()
}

/// The claims of a sandbox token.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct Claims {
    pub(super) iss: String,
    pub(super) sub: String,
    pub(super) iat: i64,
    pub(super) exp: i64,
}

/// The JWT header every sandbox token has (`{"typ":"JWT","alg":"HS256"}`, as the document's).
const HEADER: &str = r#"{"typ":"JWT","alg":"HS256"}"#;

/// A signed token carrying `claims`.
pub(super) fn issue(key: &[u8], claims: &Claims) -> String {
    let payload = serde_json::to_vec(claims).unwrap_or_default();
    let signing_input = format!("{}.{}", encode(HEADER.as_bytes()), encode(&payload));
    let signature = hmac_sha256(key, &[signing_input.as_bytes()]);
    format!("{signing_input}.{}", encode(&signature))
}

/// Why a token is refused.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Refused {
    /// Not a token of this sandbox (malformed, forged, or from another sandbox).
    Invalid,
    /// Its `exp` has passed.
    Expired,
}

/// Checks a token's signature, then its expiry against `now` (Unix seconds).
pub(super) fn verify(key: &[u8], token: &str, now: i64) -> Result<Claims, Refused> {
    let (signing_input, signature) = token.rsplit_once('.').ok_or(Refused::Invalid)?;
    let (_, payload) = signing_input.split_once('.').ok_or(Refused::Invalid)?;
    let signature = decode(signature).ok_or(Refused::Invalid)?;
    if !ct_eq(&signature, &hmac_sha256(key, &[signing_input.as_bytes()])) {
        return Err(Refused::Invalid);
    }
    let claims: Claims =
        serde_json::from_slice(&decode(payload).ok_or(Refused::Invalid)?).map_err(|_| Refused::Invalid)?;
    if now >= claims.exp {
        return Err(Refused::Expired);
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documents_token_payload_decodes() {
        let payload = "eyJpc3MiOiJsdW1lbi1qd3QiLCJzdWIiOiJvdUF5SURnR3N6QWtJV2hYZHp4Umswc0JxQUZycDNBWGpqUThqN1g4MjNSaVg3TVowWDNSTXZsczNZQ3ZwR2o3IiwiaWF0IjoxNjE0NjcwOTM5LCJleHAiOjE2MTQ2NzQ1Mzl9";
        let claims: Claims = serde_json::from_slice(&decode(payload).unwrap()).unwrap();
        assert_eq!((claims.iss.as_str(), claims.iat, claims.exp), ("lumen-jwt", 1_614_670_939, 1_614_674_539));
    }

    #[test]
    fn tokens_are_refused_when_forged_foreign_or_expired() {
        let claims = Claims { iss: "gerbang-sandbox".into(), sub: "s".into(), iat: 100, exp: 200 };
        let token = issue(b"key", &claims);
        assert_eq!(verify(b"key", &token, 150).map(|c| c.exp), Ok(200));
        assert_eq!(verify(b"key", &token, 200).map(|c| c.exp), Err(Refused::Expired));
        assert_eq!(verify(b"other", &token, 150).map(|c| c.exp), Err(Refused::Invalid));
        let longer = issue(b"key", &Claims { exp: 9_999, ..claims });
        let (forged_head, _) = longer.rsplit_once('.').unwrap();
        let (_, signature) = token.rsplit_once('.').unwrap();
        assert_eq!(verify(b"key", &format!("{forged_head}.{signature}"), 150).map(|c| c.exp), Err(Refused::Invalid));
        assert_eq!(verify(b"key", "garbage", 150).map(|c| c.exp), Err(Refused::Invalid));
    }
}
