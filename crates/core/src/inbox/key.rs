//! How a verified event becomes its dedup key, and how a key is kept in a store.
//!
//! The key is `{gateway}:{id}:{status}`, or `{gateway}:ref:{reference}:{status}` when the
//! event carries no gateway id and is named by the merchant's reference: a gateway's id and a
//! merchant's reference are different namespaces, and the invoice `100000` of one order must
//! not meet another order whose reference is `100000`. It is injective: two events share a key
//! only if they have the same gateway, the same id of the same kind, and the same status.
//! Every part between the `:` is free of `:` (the id and an unknown status word are escaped),
//! so the parts, and how many there are, can be read back from the key.

use std::borrow::Cow;
use std::fmt::Write as _;

use sha2::{Digest, Sha256};

use crate::{Error, PaymentStatus, WebhookEvent};

/// The longest key (in bytes) a store keeps as it is; a longer one is stored as its digest.
/// Far below what Postgres can index (about 2 700 bytes per B-tree row), and what an operator
/// still reads in a table or `redis-cli`.
pub const MAX_PLAIN_STORED_BYTES: usize = 200;

/// Which of an event's two ids names its payment.
enum PaymentId<'a> {
    /// The gateway's own id.
    Gateway(&'a str),
    /// The merchant's reference, where the gateway's id is missing or blank.
    Reference(&'a str),
}

/// The id that names the event's payment: the gateway's id unless it is missing or blank, else
/// the merchant's reference unless it is missing or blank. A blank value is never taken while
/// the other is there, and the id is kept as sent (untrimmed): `" A"` and `"A"` stay apart.
fn payment_id(event: &WebhookEvent) -> Option<PaymentId<'_>> {
    event.gateway_id().map(PaymentId::Gateway).or_else(|| event.merchant_reference().map(PaymentId::Reference))
}

/// The event's dedup key; see [`WebhookEvent::dedup_key`].
pub(crate) fn dedup_key(event: &WebhookEvent) -> Result<String, Error> {
    let mut key = String::with_capacity(48);
    key.push_str(event.provider.as_str());
    key.push(':');
    match payment_id(event) {
        Some(PaymentId::Gateway(id)) => escape_into(&mut key, id),
        Some(PaymentId::Reference(reference)) => {
            key.push_str("ref:");
            escape_into(&mut key, reference);
        }
        None => {
            return Err(Error::decode(format!(
                "{} webhook event: it names no payment (the gateway's id and the merchant's reference are both \
                 missing or blank), so it cannot be told apart from another payment's; it is refused",
                event.provider
            )));
        }
    }
    key.push(':');
    match &event.status {
        // An unmapped status keeps the gateway's word, so that two different unknown states
        // (`on_hold`, then `chargeback`) are two events. Trimmed, but with the gateway's case:
        // lower-casing could merge two words a gateway tells apart (one event lost), while a
        // gateway spelling one word two ways costs at most a second handler call.
        PaymentStatus::Unknown(word) => {
            let word =
                [event.provider_status.as_str(), word.as_str()].into_iter().map(str::trim).find(|w| !w.is_empty());
            key.push_str("unknown(");
            escape_into(&mut key, word.unwrap_or_default());
            key.push(')');
        }
        // A known status keeps its normalised word, so that a webhook and a status check that
        // spell it differently share the key.
        known => key.push_str(known.as_str()),
    }
    Ok(key)
}

/// Appends `text` with `%`, `:` and control characters percent-encoded (their UTF-8 bytes, as
/// `%XX`): `:` then only separates, and no key can forge a line in a log.
fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        if c == '%' || c == ':' || c.is_control() {
            let mut bytes = [0; 4];
            for b in c.encode_utf8(&mut bytes).bytes() {
                // Writing to a String cannot fail.
                let _ = write!(out, "%{b:02X}");
            }
        } else {
            out.push(c);
        }
    }
}

/// `key` in the form every store keeps: as it is when it is short printable ASCII (at most
/// [`MAX_PLAIN_STORED_BYTES`], `' '` to `'~'`, not starting with `#`), else `#` and the
/// SHA-256 of its bytes in lowercase hex (65 bytes). A plain key never starts with `#`, so a
/// plain key and a digest never meet.
pub(crate) fn stored(key: &str) -> Cow<'_, str> {
    let plain = !key.is_empty()
        && key.len() <= MAX_PLAIN_STORED_BYTES
        && !key.starts_with('#')
        // `' '` to `'~'`; every byte checked (no early exit), which the compiler does in wide steps.
        && key.bytes().fold(true, |plain, b| plain & (b' '..=b'~').contains(&b));
    if plain {
        return Cow::Borrowed(key);
    }
    let mut digest = String::with_capacity(65);
    digest.push('#');
    let hash = Sha256::digest(key.as_bytes());
    for b in hash.iter() {
        let _ = write!(digest, "{b:02x}");
    }
    Cow::Owned(digest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Ack, ProviderId};

    fn event(
        provider_reference: Option<&str>,
        reference: Option<&str>,
        status: PaymentStatus,
        word: &str,
    ) -> WebhookEvent {
        let mut event = WebhookEvent::new(ProviderId::CashIn, status, word, Ack::text(200, "OK"));
        event.provider_reference = provider_reference.map(str::to_owned);
        event.reference = reference.map(str::to_owned);
        event
    }

    #[test]
    fn an_ordinary_key_stays_readable() {
        let paid = event(Some("PAY-1"), Some("ORD-1"), PaymentStatus::Paid, "00");
        assert_eq!(dedup_key(&paid).ok().as_deref(), Some("cashin:PAY-1:paid"));
        let by_reference = event(None, Some("ORD-1"), PaymentStatus::Paid, "00");
        assert_eq!(dedup_key(&by_reference).ok().as_deref(), Some("cashin:ref:ORD-1:paid"));
        let odd = event(Some("a:b%c\n"), None, PaymentStatus::Unknown("on:hold".into()), " on:hold ");
        assert_eq!(dedup_key(&odd).ok().as_deref(), Some("cashin:a%3Ab%25c%0A:unknown(on%3Ahold)"));
    }

    #[test]
    fn a_blank_id_is_passed_over_and_two_blank_ids_are_refused() {
        let blank_gateway_id = event(Some(" "), Some("ORD-1"), PaymentStatus::Paid, "00");
        assert_eq!(dedup_key(&blank_gateway_id).ok().as_deref(), Some("cashin:ref:ORD-1:paid"));
        for (id, reference) in [(Some(""), Some(" \t")), (None, Some("")), (Some(" "), None), (None, None)] {
            let blank = event(id, reference, PaymentStatus::Paid, "00");
            assert!(matches!(dedup_key(&blank), Err(Error::Decode { .. })), "{id:?} {reference:?}");
        }
    }

    #[test]
    fn a_key_is_stored_plain_or_as_a_digest() {
        assert_eq!(stored("cashin:PAY-1:paid"), "cashin:PAY-1:paid");
        let at_limit = "x".repeat(MAX_PLAIN_STORED_BYTES);
        assert_eq!(stored(&at_limit), at_limit.as_str());
        for odd in ["", "#plain", "nul\0byte", "é", "tab\there", &"x".repeat(MAX_PLAIN_STORED_BYTES + 1)] {
            let digest = stored(odd);
            assert!(digest.starts_with('#') && digest.len() == 65, "{odd:?} -> {digest}");
            assert!(digest[1..].bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        }
        // The SHA-256 of the empty string (FIPS 180-2), so the digest is the standard one.
        assert_eq!(stored(""), "#e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    }
}
