//! The one error type of the crate.

/// Why a signature could not be made or did not check out.
///
/// No variant ever carries a secret, a key, a signature or the signed message: an error is safe
/// to log and to show. The reasons are short fixed phrases meant for a developer reading logs;
/// match on the variant, not on the text.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignatureError {
    /// The signature is well formed but was not made with this key over this message.
    #[error("signature does not match")]
    Mismatch,
    /// The signature is not valid hex or base64, or does not have the length the scheme
    /// produces.
    #[error("malformed signature: {reason}")]
    Malformed {
        /// What is wrong with it, e.g. `"not valid hex"`.
        reason: &'static str,
    },
    /// A body given for minification cannot be JSON (an unterminated string, for example).
    #[error("invalid JSON body: {reason}")]
    InvalidJson {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A key could not be read or made. The reason says which formats are accepted; it never
    /// holds key material.
    #[error("invalid key: {reason}")]
    InvalidKey {
        /// What is wrong with it, and what was expected.
        reason: String,
    },
    /// A signed field is not in its one canonical spelling (an integer with a leading zero, say),
    /// so the signed string could have been cut into fields another way: refused before any
    /// MAC is computed.
    #[error("signed field `{field}` is not in its canonical form")]
    NonCanonical {
        /// The field, by the name the scheme gives it (`amount`).
        field: &'static str,
    },
    /// A timestamp is not in the expected format.
    #[error("invalid timestamp: {reason}")]
    Timestamp {
        /// What was expected.
        reason: &'static str,
    },
}
