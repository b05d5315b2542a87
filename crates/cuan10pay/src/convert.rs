//! The one place where Cuan10pay's words become gerbang's: statuses, channels, amounts, times,
//! and the mapping of a [`PaymentRequest`] to a deposit and of a deposit to a [`Payment`].

use gerbang_core::{
    Channel, Currency, Error, Money, Payment, PaymentRequest, PaymentStatus, Problems, ProviderId, RawJson, SharedClock,
};
use rust_decimal::Decimal;
use time::OffsetDateTime;

use crate::request::DepositRequest;
use crate::wire::Deposit;

/// Cuan10pay's status word, normalised.
///
/// The document shows `pending` in the deposit answer and `PAID` in the webhook
/// (`seeds/000_b443c682d4d25840.txt`), so the match ignores case. The other words are those of
/// the payment processors behind it (`unpaid`, `success`, `settlement`); any word not known here
/// is [`PaymentStatus::Unknown`] holding it, never an error and never taken for pending.
///
/// ```
/// use gerbang_cuan10pay::payment_status;
/// use gerbang_core::PaymentStatus;
///
/// assert_eq!(payment_status("PAID"), PaymentStatus::Paid);
/// assert_eq!(payment_status("unpaid"), PaymentStatus::Pending);
/// assert_eq!(payment_status("on_hold"), PaymentStatus::Unknown("on_hold".into()));
/// ```
pub fn payment_status(raw: &str) -> PaymentStatus {
    // Compared without case, so that reading a status (on every webhook) allocates nothing.
    const WORDS: [(&str, PaymentStatus); 10] = [
        ("pending", PaymentStatus::Pending),
        ("unpaid", PaymentStatus::Pending),
        ("paid", PaymentStatus::Paid),
        ("success", PaymentStatus::Paid),
        ("settlement", PaymentStatus::Paid),
        ("expired", PaymentStatus::Expired),
        ("cancelled", PaymentStatus::Cancelled),
        ("canceled", PaymentStatus::Cancelled),
        ("failed", PaymentStatus::Failed),
        ("refunded", PaymentStatus::Refunded),
    ];
    let word = raw.trim();
    WORDS
        .iter()
        .find(|(known, _)| known.eq_ignore_ascii_case(word))
        .map_or_else(|| PaymentStatus::Unknown(raw.to_owned()), |(_, status)| status.clone())
}

/// The status words a Cuan10pay webhook may carry, exactly as written (upper case): the closed
/// list the [`WebhookVerifier`](crate::WebhookVerifier) accepts. A signed webhook with any other
/// word, or with one of these in another case, is refused, never passed on as unknown.
///
/// **Decision** (`PROVIDERS.md` §1). The document (`seeds/000_b443c682d4d25840.txt`) shows one
/// webhook, with `"status": "PAID"`, and a deposit answer with `"status": "pending"`. The other
/// words are the deposit's other moves in the same upper-case spelling, the ones the sandbox
/// sends (`crates/sandbox/src/cuan10pay/store.rs`, `webhook_status`). Adding a word is a one-line
/// change here, under one rule:
///
/// **No word may end with another word of the list.** The signature covers
/// `reference + status + amount + timestamp` with nothing between the fields and the reference
/// is free text, so the characters at the end of the reference and the start of the status can
/// trade places: with `UNPAID` beside `PAID`, a genuine `UNPAID` webhook for `XYZ` would verify as
/// a `PAID` one for `XYZUN`. `UNPAID` is left out for that reason, and
/// `webhook_status_words_are_letters_and_none_ends_with_another` checks the rule. The list cannot
/// protect against a word the gateway sends but the list does not hold (a genuine `UNPAID` still
/// carries a signature over `…XYZUNPAID…`): for that, confirm webhooks with a status call
/// ([`Cuan10payConfigBuilder::confirm_webhooks_with_status`](crate::Cuan10payConfigBuilder::confirm_webhooks_with_status)).
pub const WEBHOOK_STATUS_WORDS: &[&str] = &["PAID", "PENDING", "EXPIRED", "CANCELLED", "FAILED"];

/// A webhook's status word, normalised, when it is one of [`WEBHOOK_STATUS_WORDS`] exactly.
pub(crate) fn webhook_status(word: &str) -> Option<PaymentStatus> {
    WEBHOOK_STATUS_WORDS.contains(&word).then(|| payment_status(word))
}

/// The `channel_code` for a normalised channel: `QRIS`, a bank's code upper-cased (`BCA`), or a
/// Cuan10pay code given as [`Channel::Other`], passed through. The document's table lists
/// "QRIS, BCA, etc." only, so other kinds of channel are refused rather than guessed.
pub(crate) fn channel_code(channel: Option<&Channel>) -> Result<String, Error> {
    const ACCEPTED: &str = "use qris, va:<bank> (such as va:bca) or a Cuan10pay channel code";
    match channel {
        None => Err(Error::validation("channel", format!("Cuan10pay needs a channel_code; {ACCEPTED}"))),
        Some(Channel::Qris) => Ok("QRIS".to_owned()),
        Some(Channel::VirtualAccount(bank)) => Ok(bank.as_str().to_ascii_uppercase()),
        Some(Channel::Other(code)) if !code.trim().is_empty() => Ok(code.trim().to_owned()),
        Some(other) => Err(Error::validation("channel", format!("Cuan10pay does not offer {other}; {ACCEPTED}"))),
    }
}

/// **Decision** (`PROVIDERS.md` §1): Cuan10pay's `deposit_create` has no field for the
/// merchant's reference, so the deposit's `notes` carry it, on their first line, followed by the
/// description on the next when there is one: the deposit can be matched to its order in the
/// Cuan10pay dashboard, and a status answer that echoes the notes gives the reference back
/// ([`reference_in_notes`]). A reference holds no control character (the request's builder
/// refuses one), so its line ends where the notes' first line does.
pub(crate) fn deposit_notes(request: &PaymentRequest) -> String {
    match &request.description {
        Some(description) => format!("{}\n{description}", request.reference),
        None => request.reference.clone(),
    }
}

/// The merchant's reference a deposit's notes carry: their first line, as
/// [`PaymentProvider::create_payment`](gerbang_core::PaymentProvider::create_payment) writes
/// them; `None` for empty notes.
///
/// ```
/// assert_eq!(gerbang_cuan10pay::reference_in_notes("ORDER-1\nTwo coffees"), Some("ORDER-1"));
/// assert_eq!(gerbang_cuan10pay::reference_in_notes("ORDER-1"), Some("ORDER-1"));
/// assert_eq!(gerbang_cuan10pay::reference_in_notes(""), None);
/// ```
pub fn reference_in_notes(notes: &str) -> Option<&str> {
    notes.lines().next().map(str::trim).filter(|line| !line.is_empty())
}

/// A [`PaymentRequest`] as a deposit. Fields Cuan10pay cannot honour are refused, never dropped:
/// `success_url` and `cancel_url` (it has one `return_url`), `callback_url` (the webhook URL is
/// set in the Cuan10pay dashboard) and `customer.id`.
pub(crate) fn deposit_request(request: &PaymentRequest, clock: &SharedClock) -> Result<DepositRequest, Error> {
    let provider = ProviderId::Cuan10pay;
    // Every problem is reported at once, so that one try finds them all.
    let mut problems = Problems::new();
    problems.check(PaymentRequest::refuse_if_set(&request.success_url, "success_url", provider));
    problems.check(PaymentRequest::refuse_if_set(&request.cancel_url, "cancel_url", provider));
    if request.callback_url.is_some() {
        problems
            .add("callback_url", "Cuan10pay sends its webhook to the URL set in its dashboard; leave callback_url out");
    }
    problems.check(PaymentRequest::refuse_if_set(&request.customer.id, "customer.id", provider));
    let channel = problems.check(channel_code(request.channel.as_ref()));
    let amount = problems.check(request.amount.require_whole_idr("amount"));
    problems.finish()?;
    let (Some(channel), Some(amount)) = (channel, amount) else {
        // `finish` returned every problem: each value is here.
        return Err(Error::validation("request", "could not be checked"));
    };
    let mut deposit = DepositRequest::new(channel, amount).notes(deposit_notes(request));
    deposit.customer_name = request.customer.name.clone();
    deposit.customer_email = request.customer.email.clone();
    deposit.customer_phone = request.customer.phone.clone();
    deposit.return_url = request.return_url.clone();
    if let Some(expires_in) = request.expires_in {
        let at = time::Duration::try_from(expires_in).ok().and_then(|d| clock.now().checked_add(d));
        deposit.expired_time =
            Some(at.ok_or_else(|| Error::validation("expires_in", "is too far in the future"))?.unix_timestamp());
    }
    deposit.validate()?;
    Ok(deposit)
}

/// What a deposit the gateway does not know is looked up by: its own `deposit_id`, never the
/// merchant's reference (`deposit_status?ref=` takes the id, per the seed's `CP-…` example).
pub(crate) const LOOKUP_HINT: &str = "Cuan10pay looks deposits up by their deposit_id (CP-…), printed as `provider_reference` by create, not by your reference";

/// A deposit as a [`Payment`]; `raw` is the answer's `data` as received.
pub(crate) fn deposit_payment(deposit: Deposit, raw: RawJson) -> Result<Payment, Error> {
    let status = payment_status(&deposit.status);
    let mut payment = Payment::new(ProviderId::Cuan10pay, status, deposit.status);
    payment.provider_reference = Some(deposit.deposit_id);
    payment.amount = idr(deposit.amount, "amount")?;
    payment.fee = idr(deposit.fee, "fee")?;
    payment.total = idr(deposit.total, "total")?;
    // `checkout_url` is the processor's page (tripay.co.id in the document's example) and
    // `link_url` Cuan10pay's own: either takes the payment; prefer the one named for it.
    payment.checkout_url = deposit.checkout_url.or(deposit.link_url);
    payment.payment_code = deposit.payment_code.filter(|c| !c.is_empty());
    payment.created_at = deposit.created_at.as_deref().and_then(local_time);
    payment.reference = deposit.notes.as_deref().and_then(reference_in_notes).map(str::to_owned);
    payment.raw = raw;
    Ok(payment)
}

/// Checks that the gateway created the deposit for the amount asked, as hyperswitch does: a
/// mismatch is an error naming the deposit, so that it can be looked at rather than taken.
pub(crate) fn check_amount(payment: &Payment, asked: i64) -> Result<(), Error> {
    match &payment.amount {
        Some(amount) if amount.value() != Decimal::from(asked) => Err(Error::Api {
            status: Some(200),
            code: None,
            message: format!(
                "Cuan10pay created deposit {} for {amount} instead of the {asked} IDR asked for; check it in the dashboard before using it",
                payment.provider_reference.as_deref().unwrap_or("?")
            ),
        }),
        _ => Ok(()),
    }
}

/// Whole rupiah from an answer; a fraction of a rupiah means the answer is not what we think.
pub(crate) fn idr(value: Option<Decimal>, field: &str) -> Result<Option<Money>, Error> {
    value
        .map(|v| {
            Money::new(v, Currency::IDR)
                .map_err(|_| Error::decode(format!("Cuan10pay answer: `{field}` is not a whole number of rupiah")))
        })
        .transpose()
}

/// A Unix time at Jakarta's offset, the one the gateway writes its own times in.
pub(crate) fn jakarta_time(unix_seconds: i64) -> Option<OffsetDateTime> {
    let t = OffsetDateTime::from_unix_timestamp(unix_seconds).ok()?;
    Some(t.checked_to_offset(gerbang_signing::jakarta::OFFSET).unwrap_or(t))
}

/// `created_at` as the document writes it (`2025-09-28 17:02:30`, Jakarta time), or RFC 3339.
/// An unreadable time is left out (it stays in `raw`) rather than failing a call whose deposit
/// was made.
fn local_time(text: &str) -> Option<OffsetDateTime> {
    gerbang_signing::jakarta::parse_local_datetime(text.trim())
        .ok()
        .or_else(|| OffsetDateTime::parse(text.trim(), &time::format_description::well_known::Rfc3339).ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use gerbang_core::Bank;

    #[test]
    fn status_words_map_case_insensitively() {
        let cases = [
            ("pending", PaymentStatus::Pending),
            ("UNPAID", PaymentStatus::Pending),
            ("PAID", PaymentStatus::Paid),
            ("Success", PaymentStatus::Paid),
            ("settlement", PaymentStatus::Paid),
            ("EXPIRED", PaymentStatus::Expired),
            ("canceled", PaymentStatus::Cancelled),
            ("CANCELLED", PaymentStatus::Cancelled),
            ("failed", PaymentStatus::Failed),
            ("refunded", PaymentStatus::Refunded),
        ];
        for (word, status) in cases {
            assert_eq!(payment_status(word), status, "{word}");
        }
        assert_eq!(payment_status("PARTIAL"), PaymentStatus::Unknown("PARTIAL".into()));
    }

    #[test]
    fn webhook_status_words_are_letters_and_none_ends_with_another() {
        for word in WEBHOOK_STATUS_WORDS {
            // Letters only: no digit of the amount can join a status word, nor one of its
            // characters the amount.
            assert!(!word.is_empty() && word.bytes().all(|b| b.is_ascii_uppercase()), "{word}");
            for other in WEBHOOK_STATUS_WORDS {
                assert!(word == other || !word.ends_with(other), "{word} ends with {other}");
            }
        }
    }

    #[test]
    fn every_webhook_status_word_has_a_known_meaning() {
        for word in WEBHOOK_STATUS_WORDS {
            let status = webhook_status(word).unwrap();
            assert!(!matches!(status, PaymentStatus::Unknown(_)), "{word}");
        }
        for refused in ["UNPAID", "paid", "Paid", " PAID", "PAID ", "23PAID", ""] {
            assert_eq!(webhook_status(refused), None, "{refused:?}");
        }
    }

    #[test]
    fn channels_map_to_cuan10pay_codes() {
        assert_eq!(channel_code(Some(&Channel::Qris)).unwrap(), "QRIS");
        assert_eq!(channel_code(Some(&Channel::VirtualAccount(Bank::Bca))).unwrap(), "BCA");
        assert_eq!(channel_code(Some(&Channel::Other("QRIS2".into()))).unwrap(), "QRIS2");
        for refused in [None, Some(Channel::CreditCard), Some(Channel::Crypto)] {
            assert!(
                matches!(channel_code(refused.as_ref()), Err(Error::Validation { field, .. }) if field == "channel")
            );
        }
    }

    #[test]
    fn created_at_reads_jakarta_time() {
        let t = local_time("2025-09-28 17:02:30").unwrap();
        assert_eq!(t.unix_timestamp(), 1_759_053_750);
        assert_eq!(local_time("yesterday"), None);
    }
}
