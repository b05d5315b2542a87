//! Redis errors as [`gerbang_core::Error::Store`], and URLs fit to show.

use std::time::Duration;

use gerbang_core::Error;

/// The store's name in [`Error::Store`].
pub(crate) const STORE: &str = "redis";

/// `operation` failed with `error`. The message is the client's description of the failure
/// (connection refused, timed out, a server error such as `WRONGPASS` or `OOM`), never the URL;
/// `secrets` (the URL's password, as written and decoded) are blotted out all the same, in case
/// a future client version quotes its input.
///
/// A server that *refuses* (a wrong password or user, an ACL that forbids the command, a database
/// number it does not have, a URL asking for what this client cannot do, such as TLS) gives
/// [`Error::Config`]: trying again changes nothing until the configuration does. Anything else
/// (refused or dropped connections, timeouts, a server still loading) is [`Error::Store`], which
/// may work later. This is the one place that tells the two apart.
pub(crate) fn store_error(operation: &'static str, error: &redis::RedisError, secrets: &[&str]) -> Error {
    count(operation);
    let mut message = format!("{operation}: {error}");
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        message = message.replace(secret, "***");
    }
    // Debug: the caller that decides what the failure means logs it, with the gateway and key.
    if refuses(error) {
        tracing::debug!(store = STORE, error = %message, "redis refused the connection");
        return Error::Config {
            message: format!(
                "the redis store refused: {message}; check the user, password and database number of the store URL"
            ),
        };
    }
    tracing::debug!(store = STORE, error = %message, "redis store error");
    Error::Store { store: STORE, message }
}

/// Counts a failed `operation` in `gerbang_store_errors_total{store="redis", operation}`: every
/// failure comes through one of the three functions above. The token and circuit stores'
/// operations, named in words in messages, are labelled in snake case.
pub(crate) fn count(operation: &'static str) {
    let label = match operation {
        "get token" => "token_get",
        "put token" => "token_put",
        "lock token" => "token_lock",
        "unlock token" => "token_unlock",
        "circuit admit" => "circuit_admit",
        "circuit record" => "circuit_record",
        other => other,
    };
    gerbang_core::metrics::store_error(STORE, label);
}

/// Whether `error` is a refusal that no retry would change: see [`store_error`].
pub(crate) fn refuses(error: &redis::RedisError) -> bool {
    use redis::{ErrorKind, ServerErrorKind};
    if matches!(
        error.kind(),
        ErrorKind::AuthenticationFailed | ErrorKind::InvalidClientConfig | ErrorKind::Server(ServerErrorKind::NoPerm)
    ) {
        return true;
    }
    match error.code() {
        Some("NOAUTH" | "WRONGPASS" | "NOPERM") => true,
        // `SELECT 99` on a server with 16 databases.
        Some("ERR") => error.detail().is_some_and(|d| d.contains("DB index is out of range")),
        _ => false,
    }
}

/// `operation` did not finish within `limit` (reconnecting included).
pub(crate) fn timed_out(operation: &'static str, limit: Duration) -> Error {
    count(operation);
    let message = format!("{operation}: no answer within {limit:?}");
    tracing::debug!(store = STORE, error = %message, "redis store error");
    Error::Store { store: STORE, message }
}

/// `operation` found `what` stored in a shape it cannot read (a record written by hand, or by
/// another version): the message names the problem and where, with the values serde_json quotes
/// left out ([`Error::decode_json`]).
pub(crate) fn unreadable(operation: &'static str, what: &str, error: &serde_json::Error) -> Error {
    count(operation);
    let message = format!("{operation}: {}", Error::decode_json(what, error));
    tracing::debug!(store = STORE, error = %message, "redis store error");
    Error::Store { store: STORE, message }
}

/// `url` with its password, if any, replaced by `***`: what `Debug` and `Display` show.
/// An unparseable URL is shown as `<unparseable redis URL>`, since it cannot be known which part
/// of it is the password.
pub(crate) fn redacted_url(url: &str) -> String {
    match redis::parse_redis_url(url) {
        Some(mut parsed) => {
            if parsed.password().is_some() {
                // Cannot fail: a URL with a password has a host.
                let _ = parsed.set_password(Some("***"));
            }
            // A `redis+unix:///run/redis.sock?pass=…` URL carries it in the query instead.
            if parsed.query_pairs().any(|(k, _)| k == "pass" || k == "password") {
                let pairs: Vec<(String, String)> = parsed
                    .query_pairs()
                    .map(|(k, v)| {
                        let v = if k == "pass" || k == "password" { "***".into() } else { v.into_owned() };
                        (k.into_owned(), v)
                    })
                    .collect();
                parsed.query_pairs_mut().clear().extend_pairs(pairs);
            }
            parsed.to_string()
        }
        None => "<unparseable redis URL>".to_owned(),
    }
}

/// The URL's password as written (percent-encoded) and decoded, to blot out of messages.
pub(crate) fn url_secrets(url: &str) -> Vec<String> {
    let mut secrets = Vec::new();
    if let Some(parsed) = redis::parse_redis_url(url) {
        if let Some(raw) = parsed.password() {
            secrets.push(raw.to_owned());
            let decoded = percent_decode(raw);
            if decoded != raw {
                secrets.push(decoded);
            }
        }
        for (k, v) in parsed.query_pairs() {
            if k == "pass" || k == "password" {
                secrets.push(v.into_owned());
            }
        }
    }
    secrets
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1).copied().and_then(hex), bytes.get(i + 2).copied().and_then(hex)) {
            (b'%', Some(hi), Some(lo)) => {
                out.push((hi * 16 + lo) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_is_redacted_wherever_it_is() {
        assert_eq!(redacted_url("redis://:s3cret@localhost:6379/0"), "redis://:***@localhost:6379/0");
        assert_eq!(redacted_url("redis://app:s3cret@localhost/2"), "redis://app:***@localhost/2");
        assert_eq!(redacted_url("redis://localhost:6379"), "redis://localhost:6379");
        let unix = redacted_url("redis+unix:///run/redis.sock?db=1&pass=s3cret");
        assert!(!unix.contains("s3cret") && unix.contains("db=1"), "{unix}");
        assert_eq!(redacted_url("http://:s3cret@x"), "<unparseable redis URL>");
    }

    #[test]
    fn secrets_include_the_decoded_password() {
        assert_eq!(url_secrets("redis://:p%40ss@h/0"), ["p%40ss", "p@ss"]);
        assert!(url_secrets("redis://h/0").is_empty());
    }

    #[test]
    fn a_crossslot_answer_is_a_store_error() {
        use redis::{ErrorKind, ServerErrorKind};
        let e = redis::RedisError::from((
            ErrorKind::Server(ServerErrorKind::CrossSlot),
            "Keys in request don't hash to the same slot",
        ));
        let Error::Store { store, message } = store_error("due", &e, &[]) else { panic!("a store error") };
        assert_eq!(store, "redis");
        assert!(message.starts_with("due: ") && message.contains("same slot"), "{message}");
    }

    #[test]
    fn secrets_are_blotted_out_of_messages() {
        let e = redis::RedisError::from((redis::ErrorKind::Client, "failed", "with hunter22 inside".to_owned()));
        let Error::Store { store, message } = store_error("connect", &e, &["hunter22"]) else { panic!() };
        assert_eq!(store, "redis");
        assert!(message.starts_with("connect: ") && !message.contains("hunter22"), "{message}");
    }
}
