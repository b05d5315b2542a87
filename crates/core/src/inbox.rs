//! The event inbox: each change a gateway reports is handled once, however many times, by however
//! many replicas, it arrives.
//!
//! A receiver [claims](Inbox::claim) an event's [`EventKey`] with a lease before it calls the
//! merchant's handler. The first claim wins ([`Claim::New`]); a claim of a key that is
//! [done](Inbox::complete) is [`Claim::Done`] (answer the gateway's retry with its success ack,
//! do nothing else); a claim of a key that someone else holds is [`Claim::InFlight`] (answer
//! non-2xx: the gateway retries later, and by then the key is done or the holder died). A holder
//! that dies never completes nor releases: its lease expires and the next delivery is handled. A
//! handler that fails [releases](Inbox::release) the claim, so the gateway's retry is handled.
//!
//! Guarantee: at most one handler call per event while a lease holds, at least one overall while
//! the store keeps its data. [`MemoryInbox`] is the default, for one process; `gerbang-redis` and
//! `gerbang-postgres` share one inbox between replicas.

use std::borrow::Cow;
use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;

use crate::{Error, ProviderId, WebhookEvent};

pub(crate) mod key;
mod memory;

pub use key::MAX_PLAIN_STORED_BYTES;
pub(crate) use key::dedup_key;
pub use memory::MemoryInbox;

/// The identity of one change: the gateway and the event's
/// [`dedup_key`](WebhookEvent::dedup_key) (the gateway's payment id and the normalised status),
/// the same whether the change was learnt from a webhook or from a status check.
///
/// Build it from an event with [`EventKey::of`], which refuses an event that names no payment.
/// Every inbox keeps it in the form of [`stored`](EventKey::stored), so that any key, however
/// long or odd, is accepted by every store, the same way.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EventKey {
    /// The gateway.
    pub provider: ProviderId,
    /// The change, within the gateway.
    pub key: String,
}

impl EventKey {
    /// The key of a verified event.
    ///
    /// # Errors
    ///
    /// [`Error::Decode`] when the event names no payment (its gateway id and the merchant's
    /// reference are both missing or blank): such events could not be told apart, so a
    /// receiver refuses them with the gateway's rejection; see [`WebhookEvent::dedup_key`].
    pub fn of(event: &WebhookEvent) -> Result<Self, Error> {
        Ok(Self { provider: event.provider, key: event.dedup_key()? })
    }

    /// The key as every inbox stores it: [`key`](Self::key) itself when it is short printable
    /// ASCII (at most [`MAX_PLAIN_STORED_BYTES`] bytes from `' '` to `'~'`, not starting with
    /// `#`), else `#` and the SHA-256 of its bytes in lowercase hex. A NUL byte (which Postgres
    /// text refuses), control characters, non-ASCII text (which a database in another encoding
    /// refuses) and 10 KB ids (past what Postgres can index) are all stored, as their digest.
    ///
    /// ```
    /// use gerbang_core::inbox::EventKey;
    /// use gerbang_core::ProviderId;
    ///
    /// let plain = EventKey { provider: ProviderId::Qris, key: "qris:INV-7:paid".into() };
    /// assert_eq!(plain.stored(), "qris:INV-7:paid");
    /// let odd = EventKey { provider: ProviderId::Qris, key: "qris:INV\0:paid".into() };
    /// assert!(odd.stored().starts_with('#') && odd.stored().len() == 65);
    /// ```
    pub fn stored(&self) -> Cow<'_, str> {
        key::stored(&self.key)
    }
}

impl fmt::Display for EventKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.provider, self.key)
    }
}

/// A claim that was granted: the key, who holds it, and for how long.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// The event claimed.
    pub key: EventKey,
    /// A token unique to this claim: only its holder can complete or release it, so a holder
    /// whose lease ran out cannot undo the claim of the one who took over.
    pub holder: String,
    /// How long the claim was granted for.
    pub duration: Duration,
}

impl Lease {
    /// A lease of `key` for `duration` with a fresh holder token.
    pub fn new(key: EventKey, duration: Duration) -> Self {
        Self { key, holder: holder_token(), duration }
    }
}

/// What [`Inbox::claim`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// Nobody had it: it is yours until the lease runs out. Handle the event, then
    /// [complete](Inbox::complete) it (or [release](Inbox::release) it if handling failed).
    New(Lease),
    /// It was handled already: acknowledge the delivery, do nothing else.
    Done,
    /// Someone holds it now: answer so that the gateway delivers it again later.
    InFlight,
}

/// Where claims and done markers live. Implementations: [`MemoryInbox`] here, Redis and
/// Postgres in their crates.
#[async_trait]
pub trait Inbox: Send + Sync + fmt::Debug {
    /// Claims `key` for `lease`, unless it is done or held by a lease that has not run out.
    async fn claim(&self, key: &EventKey, lease: Duration) -> Result<Claim, Error>;

    /// Marks the claimed event done, for good (or for the store's retention): its handler ran.
    /// Returns `true` when the claim was still this lease's (or its lease had run out and
    /// nobody had taken the key over).
    ///
    /// Returns `false` when it was done already, or when the lease had run out and another
    /// holder had taken the key over. The event is then handled more than once, which the
    /// handler must tolerate (at least once). The event is marked done all the same, over the
    /// other holder's claim: a handler ran to the end, so a later delivery is a duplicate, and
    /// the other holder, when it finishes, is told so (its `complete` or `release` answers
    /// `false`). Keeping its claim instead would lose this completion whenever that holder
    /// failed, and have the event handled a third time. On Redis it also makes a completion
    /// one plain command, with nothing to compare first.
    ///
    /// Complete only a lease that was not [released](Self::release): what a store does with
    /// one is its own (the key may be another holder's, or gone).
    async fn complete(&self, lease: &Lease) -> Result<bool, Error>;

    /// Gives the claim up, so that the next delivery is handled. Returns `false` when the lease
    /// was no longer this holder's.
    async fn release(&self, lease: &Lease) -> Result<bool, Error>;

    /// [`claim`](Self::claim) answered at once, by an inbox that answers without waiting for
    /// anything (one in this process's memory); `None`, the default, to be asked through
    /// `claim`. A receiver asks this first: an answer here spares the boxed future each call of
    /// an `async` trait method costs, a good part of what a memory inbox adds to an event.
    /// When it answers, it answers as `claim` would.
    fn claim_now(&self, key: &EventKey, lease: Duration) -> Option<Result<Claim, Error>> {
        let _ = (key, lease);
        None
    }

    /// [`complete`](Self::complete) answered at once, as [`claim_now`](Self::claim_now) is.
    fn complete_now(&self, lease: &Lease) -> Option<Result<bool, Error>> {
        let _ = lease;
        None
    }

    /// Whether the store answers: one cheap round trip (Redis `PING`, Postgres `SELECT 1`), for
    /// a readiness check. The caller bounds how long it waits. By default `Ok(())`: an inbox in
    /// this process's memory is always there.
    ///
    /// # Errors
    ///
    /// The store's error when it cannot be reached or fails ([`Error::Store`]), or refuses the
    /// connection ([`Error::Config`]).
    async fn ping(&self) -> Result<(), Error> {
        Ok(())
    }
}

/// A token no other claim has: a per-process random prefix (from the standard library's hasher
/// seed) and a counter, `{prefix:016x}-{counter}`. The prefix is written once; each token is
/// the prefix and the counter's digits, without the formatting machinery (a claim pays for it).
pub(crate) fn holder_token() -> String {
    numbered_holder().1
}

/// A fresh [holder token](holder_token) and its counter.
pub(crate) fn numbered_holder() -> (u64, String) {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let (prefix, number) = (holder_prefix(), COUNTER.fetch_add(1, Ordering::Relaxed));
    let mut token = String::with_capacity(prefix.len() + 20);
    token.push_str(prefix);
    push_decimal(&mut token, number);
    (number, token)
}

/// The counter of `token`, if it is a [holder token](holder_token) of this process: two tokens
/// of this process are the same text exactly when they have the same counter, so an inbox in
/// this process's memory keeps the number, not the text.
pub(crate) fn holder_number(token: &str) -> Option<u64> {
    let digits = token.strip_prefix(holder_prefix())?;
    // As `push_decimal` writes them: digits only, without a sign or a leading zero.
    let canonical = digits.bytes().all(|b| b.is_ascii_digit()) && (digits == "0" || !digits.starts_with('0'));
    digits.parse().ok().filter(|_| canonical)
}

/// This process's `{prefix:016x}-`.
fn holder_prefix() -> &'static str {
    static PREFIX: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    PREFIX.get_or_init(|| {
        let mut hasher = RandomState::new().build_hasher();
        hasher.write_u128(std::process::id().into());
        format!("{:016x}-", hasher.finish())
    })
}

/// Appends `n` in decimal, as `n.to_string()` writes it.
fn push_decimal(out: &mut String, mut n: u64) {
    // The digits, last first: a u64 has at most 20.
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend(digits[start..].iter().map(|&d| char::from(d)));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holder_tokens_differ_and_keep_their_form() {
        let (first, second) = (holder_token(), holder_token());
        assert_ne!(first, second);
        for token in [first, second] {
            let (prefix, counter) = token.split_once('-').unwrap();
            assert!(prefix.len() == 16 && prefix.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
            assert_eq!(counter.parse::<u64>().unwrap().to_string(), counter, "{token}");
        }
    }

    #[test]
    fn a_holder_token_gives_back_its_number_and_no_other_text_does() {
        let (number, token) = numbered_holder();
        assert_eq!(holder_number(&token), Some(number));
        let (next, again) = numbered_holder();
        assert!(next > number);
        assert_eq!(holder_number(&again), Some(next));
        let prefix = holder_prefix();
        for other in [
            format!("{prefix}0{number}"),
            format!("{prefix}+{number}"),
            format!("{prefix}{number} "),
            prefix.to_string(),
            format!("{prefix}18446744073709551616"),
            format!("0000000000000000-{number}"),
            format!("x{prefix}{number}"),
        ] {
            assert_eq!(holder_number(&other), None, "{other:?}");
        }
        assert_eq!(holder_number(&format!("{prefix}0")), Some(0));
        assert_eq!(holder_number(&format!("{prefix}{}", u64::MAX)), Some(u64::MAX));
    }

    #[test]
    fn decimals_are_written_as_to_string_writes_them() {
        for n in [0, 1, 9, 10, 99, 100, 12_345, u64::from(u32::MAX), u64::MAX - 1, u64::MAX] {
            let mut out = String::from("x");
            push_decimal(&mut out, n);
            assert_eq!(out, format!("x{n}"));
        }
    }
}
