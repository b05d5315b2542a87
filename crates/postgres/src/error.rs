//! Turning driver and pool failures into [`Error::Store`], with nothing secret in the message.

use std::error::Error as _;
use std::fmt;

use gerbang_core::Error;
use secrecy::{ExposeSecret, SecretString};

/// Which store, in every [`Error::Store`] this crate returns.
pub(crate) const STORE: &str = "postgres";

/// What went wrong below a call, before it is told as an [`Error`].
#[derive(Debug)]
pub(crate) enum Failure {
    /// The driver or the server failed.
    Postgres(tokio_postgres::Error),
    /// The pool gave no connection.
    Pool(deadpool_postgres::PoolError),
    /// The operation took longer than its timeout.
    TimedOut(std::time::Duration),
    /// A row holds what this version cannot read back (written by hand, or by a newer version).
    Corrupt(String),
}

impl From<tokio_postgres::Error> for Failure {
    fn from(e: tokio_postgres::Error) -> Self {
        Self::Postgres(e)
    }
}

impl From<deadpool_postgres::PoolError> for Failure {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        Self::Pool(e)
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Postgres(e) => f.write_str(&describe(e)),
            Self::Pool(deadpool_postgres::PoolError::Backend(e)) => f.write_str(&describe(e)),
            Self::Pool(deadpool_postgres::PoolError::Timeout(kind)) => {
                let what = match kind {
                    deadpool_postgres::TimeoutType::Wait => "waiting for a free connection of the pool",
                    deadpool_postgres::TimeoutType::Create => "connecting to the server",
                    deadpool_postgres::TimeoutType::Recycle => "checking a pooled connection",
                };
                write!(f, "timed out {what}")
            }
            Self::Pool(e) => write!(f, "the connection pool failed: {e}"),
            Self::TimedOut(after) => write!(f, "no answer within {after:?} (the operation timeout)"),
            Self::Corrupt(what) => write!(f, "a stored row cannot be read: {what}"),
        }
    }
}

impl Failure {
    /// Whether the server *refused* in a way no retry changes until the configuration does: the
    /// SQLSTATE classes 28 (a wrong password or user, no `pg_hba.conf` entry), 3D (no such
    /// database), 3F (no such schema) and 42 (no right to create or use the table, and other
    /// errors in what was asked). Everything else (a server that cannot be reached, is starting
    /// or shutting down, has no free connection, or timed out) may work later: [`Error::Store`].
    /// This is the one place that tells the two apart.
    pub(crate) fn refused(&self) -> bool {
        let error = match self {
            Self::Postgres(e) | Self::Pool(deadpool_postgres::PoolError::Backend(e)) => e,
            _ => return false,
        };
        crate::tls::refused(error)
            || error.as_db_error().is_some_and(|db| {
                let code = db.code().code();
                ["28", "3D", "3F", "42"].iter().any(|class| code.starts_with(class))
            })
    }

    /// Whether the failure closed the connection: the driver saw it close, or the server said
    /// FATAL (a terminated backend, a server shutting down), after which it closes it.
    pub(crate) fn broke_connection(&self) -> bool {
        match self {
            Self::Postgres(e) => {
                e.is_closed()
                    || e.as_db_error().is_some_and(|db| {
                        matches!(
                            db.parsed_severity(),
                            Some(tokio_postgres::error::Severity::Fatal | tokio_postgres::error::Severity::Panic)
                        )
                    })
            }
            _ => false,
        }
    }

    /// What to check, for a refusal.
    fn refusal_hint(&self) -> &'static str {
        match self {
            Self::Postgres(e) | Self::Pool(deadpool_postgres::PoolError::Backend(e)) if crate::tls::without_tls(e) => {
                "the store URL's sslmode requires TLS (verify-full is the default off this machine): enable ssl on \
                 the server, or add sslmode=disable to the URL if the network between is private and trusted"
            }
            Self::Postgres(e) | Self::Pool(deadpool_postgres::PoolError::Backend(e)) if crate::tls::refused(e) => {
                "check the store URL's sslmode and sslrootcert (or --store-ca) against the server's certificate"
            }
            _ => "check the user, password, database and table of the store URL, and the role's rights",
        }
    }
}

/// A driver error in words: the server's severity, SQLSTATE and message, or the driver's kind and
/// its cause (`error connecting to server: Connection refused (os error 111)`). Neither carries
/// the connection string.
fn describe(e: &tokio_postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return format!("{} {}: {}", db.severity(), db.code().code(), db.message());
    }
    match e.source() {
        Some(cause) => format!("{e}: {cause}"),
        None => e.to_string(),
    }
}

/// Builds [`Error::Store`] messages for one store, scrubbing its password out of them in case a
/// cause ever quotes it.
#[derive(Clone, Default)]
pub(crate) struct Scrubber {
    password: Option<SecretString>,
}

impl Scrubber {
    pub(crate) fn new(password: Option<&[u8]>) -> Self {
        let password = password.map(|p| SecretString::from(String::from_utf8_lossy(p).into_owned()));
        Self { password }
    }

    /// `Error::Store` for a failure while doing `what`; `Error::Config` when the server refused
    /// (see [`Failure::refused`]).
    pub(crate) fn store(&self, what: &str, failure: &Failure) -> Error {
        count(what);
        let mut message = format!("{what}: {failure}");
        if let Some(password) = &self.password {
            let password = password.expose_secret();
            // Shorter ones would blank out ordinary words; no cause is known to quote it anyway.
            if password.len() >= 4 {
                message = message.replace(password, "***");
            }
        }
        if failure.refused() {
            return Error::Config {
                message: format!("the postgres store refused: {message}; {}", failure.refusal_hint()),
            };
        }
        Error::Store { store: STORE, message }
    }
}

/// Counts a failure while doing `what` in `gerbang_store_errors_total{store="postgres",
/// operation}`, under a short fixed name: the phrases of this crate's messages are mapped one by
/// one, so no text of a message (which may name a table) becomes a label; one not listed is
/// `other`.
pub(crate) fn count(what: &str) {
    gerbang_core::metrics::store_error(STORE, operation_label(what));
}

/// The `operation` label of a failure while doing `what`.
fn operation_label(what: &str) -> &'static str {
    match what {
        "claiming an event" => "claim",
        "marking an event done" => "complete",
        "releasing a claim" => "release",
        "checking that the server answers" => "ping",
        "purging done markers" | "purging final records" => "purge",
        "recording a payment" => "record",
        "beginning a create" => "begin_create",
        "finding a payment" | "finding a payment at other gateways" => "find",
        "taking the payments due" => "due",
        "listing payments" | "listing messages" => "list",
        "enqueueing a message" => "enqueue",
        "taking the messages due" => "take",
        "settling a message" => "settle",
        "replaying messages" => "replay",
        "pruning messages" => "prune",
        "counting messages" => "stats",
        what if what.starts_with("checking the ") && what.ends_with(" table") => "check_table",
        _ => "other",
    }
}

impl fmt::Debug for Scrubber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Scrubber")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every phrase this crate's operations are told by (the first argument of `run`,
    /// `run_mut`, `by_holder`, `records`, `store_error` and `timed_out`) has a label of its own:
    /// none falls to `other`.
    #[test]
    fn every_operation_of_the_crate_has_a_label() {
        let sources =
            [include_str!("inbox.rs"), include_str!("ledger.rs"), include_str!("outbox.rs"), include_str!("conn.rs")];
        let mut phrases = Vec::new();
        for source in sources {
            for call in [".run(\"", ".run_mut(\"", "by_holder(\"", "records(\"", "store_error(\"", "timed_out(\""] {
                for (at, _) in source.match_indices(call) {
                    let rest = &source[at + call.len()..];
                    phrases.push(rest[..rest.find('"').unwrap()].to_owned());
                }
            }
        }
        assert!(phrases.len() >= 10, "{phrases:?}");
        for phrase in &phrases {
            assert_ne!(operation_label(phrase), "other", "{phrase:?} has no label");
        }
        assert_eq!(operation_label("checking the gerbang_inbox table"), "check_table");
        assert_eq!(operation_label("something new"), "other");
    }

    #[test]
    fn a_quoted_password_is_scrubbed() {
        let scrubber = Scrubber::new(Some(b"hunter22"));
        let failure = Failure::TimedOut(std::time::Duration::from_secs(1));
        let Error::Store { store, message } = scrubber.store("claiming hunter22", &failure) else { panic!() };
        assert_eq!(store, "postgres");
        assert_eq!(message, "claiming ***: no answer within 1s (the operation timeout)");
    }
}
