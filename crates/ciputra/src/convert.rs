//! The one place where Ciputra's words become gerbang's: statuses, channels, amounts, times, and
//! the mapping of a [`PaymentRequest`] to a charge and of the answers to a [`Payment`].

use gerbang_core::{Channel, Currency, Error, Money, Payment, PaymentRequest, PaymentStatus, ProviderId, RawJson};
use rust_decimal::Decimal;
use time::OffsetDateTime;

use crate::request::{Description, Expiry, PayCode, PayType, TransactionRequest};
use crate::wire::{TransactionResult, TransactionStatus};

const PROVIDER: ProviderId = ProviderId::Ciputra;

/// Ciputra's status word (`status` of the transaction status, `status_payment` of the
/// transaction answer), normalised.
///
/// The document (`seeds/004_627801bf8e050898.txt`) shows `paid` and `cancel` only; the other
/// words are those of the payment processors behind such gateways. Case is ignored; any word not
/// known here is [`PaymentStatus::Unknown`] holding it, never taken for pending.
///
/// ```
/// use gerbang_ciputra::payment_status;
/// use gerbang_core::PaymentStatus;
///
/// assert_eq!(payment_status("paid"), PaymentStatus::Paid);
/// assert_eq!(payment_status("cancel"), PaymentStatus::Cancelled);
/// assert_eq!(payment_status("on_hold"), PaymentStatus::Unknown("on_hold".into()));
/// ```
pub fn payment_status(raw: &str) -> PaymentStatus {
    match raw.trim().to_ascii_lowercase().as_str() {
        "pending" | "unpaid" | "waiting" | "waiting_payment" | "process" => PaymentStatus::Pending,
        "paid" | "success" | "settlement" | "settled" | "capture" => PaymentStatus::Paid,
        "expired" | "expire" => PaymentStatus::Expired,
        "cancel" | "canceled" | "cancelled" => PaymentStatus::Cancelled,
        "failed" | "fail" | "deny" | "denied" | "rejected" => PaymentStatus::Failed,
        "refund" | "refunded" => PaymentStatus::Refunded,
        _ => PaymentStatus::Unknown(raw.to_owned()),
    }
}

/// The paytype and paycode of a normalised channel: `qris` → `qris`/`all`, `va:<bank>` →
/// `va`/bank, `ewallet:<name>` → `ewallet`/name, `retail:<name>` → `otc`/name, `card` →
/// `cc`/`credit_card`; none → `all`/`all` (the cashier page offers every channel). A gateway
/// code given as [`Channel::Other`] is read as `paytype:paycode` (`ib:mandiri`) or a paytype
/// alone (`ib`, with `all`). Anything else is [`Error::Validation`] on `channel`.
pub(crate) fn channel_codes(channel: Option<&Channel>) -> Result<(PayType, PayCode), Error> {
    const ACCEPTED: &str = "use qris, card, va:<bank>, ewallet:<gopay|ovo|dana>, retail:<alfamart|indomaret>, or paytype:paycode such as ib:mandiri";
    let refuse = |what: &dyn std::fmt::Display| {
        Error::validation("channel", format!("Ciputra does not offer {what}; {ACCEPTED}"))
    };
    let code = |text: &str, what: &dyn std::fmt::Display| text.parse::<PayCode>().map_err(|_| refuse(what));
    let (paytype, paycode) = match channel {
        None => (PayType::All, PayCode::All),
        Some(Channel::Qris) => (PayType::Qris, PayCode::All),
        Some(Channel::CreditCard) => (PayType::Cc, PayCode::CreditCard),
        Some(c @ Channel::VirtualAccount(bank)) => (PayType::Va, code(bank.as_str(), c)?),
        Some(c @ Channel::EWallet(wallet)) => (PayType::Ewallet, code(wallet.as_str(), c)?),
        Some(c @ Channel::Retail(outlet)) => (PayType::Otc, code(outlet.as_str(), c)?),
        Some(c @ Channel::Other(text)) => match text.split_once(':') {
            Some((paytype, paycode)) => {
                (paytype.parse::<PayType>().map_err(|_| refuse(c))?, paycode.parse::<PayCode>().map_err(|_| refuse(c))?)
            }
            None => (text.parse::<PayType>().map_err(|_| refuse(c))?, PayCode::All),
        },
        Some(other) => return Err(refuse(other)),
    };
    if !paytype.accepts(paycode) {
        return Err(Error::validation("channel", format!("{paycode} is not a channel of paytype {paytype}")));
    }
    Ok((paytype, paycode))
}

/// **Decision** (`PROVIDERS.md` §5): where the fields of a [`PaymentRequest`] go in a charge.
///
/// - `reference` → `external_id` (what the status calls take); `amount` → `amount`, whole rupiah;
///   `customer.name` → `name` (required by the gateway: its absence is refused);
///   `customer.email`/`phone` → `email`/`phone`; `customer.id` → `refno`, the policy number,
///   the insurer's id for its customer.
/// - `description` → `description.text_1`.
/// - `success_url` → `redirect_url`; `cancel_url` or `return_url` → `back_url` (both, if they
///   differ, are refused: there is one back link); `callback_url` → `callback_url`.
/// - `expires_in` → `exptype`/`expval` in the largest exact unit ([`Expiry::from_duration`]).
pub(crate) fn charge_request(request: &PaymentRequest) -> Result<TransactionRequest, Error> {
    let (paytype, paycode) = channel_codes(request.channel.as_ref())?;
    let amount = request.amount.require_whole_idr("amount")?;
    let name = request
        .customer
        .name
        .clone()
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| Error::validation("customer.name", "Ciputra requires the customer's name"))?;
    let mut charge = TransactionRequest::charge(request.reference.clone(), name, amount, paytype, paycode);
    charge.email = request.customer.email.clone();
    charge.phone = request.customer.phone.clone();
    charge.refno = request.customer.id.clone();
    charge.description = request.description.clone().map(Description::new).unwrap_or_default();
    charge.redirect_url = request.success_url.clone();
    charge.back_url = match (&request.cancel_url, &request.return_url) {
        (Some(cancel), Some(back)) if cancel != back => {
            return Err(Error::validation(
                "cancel_url",
                "Ciputra has one back_url: give cancel_url or return_url, or the same URL for both",
            ));
        }
        (Some(url), _) | (None, Some(url)) => Some(url.clone()),
        (None, None) => None,
    };
    charge.callback_url = request.callback_url.clone();
    if let Some(expires_in) = request.expires_in {
        charge.expiry = Some(
            Expiry::from_duration(expires_in)
                .ok_or_else(|| Error::validation("expires_in", "is too far in the future"))?,
        );
    }
    charge.validate()?;
    Ok(charge)
}

/// A transaction answer (charge or cancel) as a [`Payment`]; `raw` is the answer's `data`.
///
/// **Decision** (`PROVIDERS.md` §5): a charge answer may carry no `status_payment` (the real
/// answer seen in public code had only `shortlink` and `virtual_account_number`). The gateway
/// answered success, so the transaction it accepted is `accepted` (pending for a charge,
/// cancelled for a cancel); `provider_status` stays empty, which serialises as `null`.
pub(crate) fn result_payment(result: &TransactionResult, raw: RawJson, accepted: PaymentStatus) -> Payment {
    let word = result.status_payment.clone().filter(|w| !w.trim().is_empty()).unwrap_or_default();
    let status = if word.is_empty() { accepted } else { payment_status(&word) };
    let mut payment = Payment::new(PROVIDER, status, word);
    payment.reference = result.external_id.clone();
    payment.provider_reference = result.order_id.clone();
    payment.checkout_url = non_empty(&result.shortlink);
    payment.payment_code = non_empty(&result.virtual_account_number);
    payment.expires_at = result.expired_date.as_deref().and_then(local_time);
    payment.raw = raw;
    payment
}

/// A transaction status as a [`Payment`]; `raw` is the answer's `data`.
pub(crate) fn status_payment(status: &TransactionStatus, raw: RawJson) -> Result<Payment, Error> {
    let word =
        status.status.clone().ok_or_else(|| Error::decode("transaction_status answer: missing field `status`"))?;
    let mut payment = Payment::new(PROVIDER, payment_status(&word), word);
    payment.reference = status.external_id.clone();
    payment.provider_reference = status.order_id.clone();
    payment.amount = idr(status.amount)?;
    payment.payment_code = non_empty(&status.virtual_account);
    payment.created_at = status.created_time.as_deref().and_then(local_time);
    payment.expires_at = status.expired_time.as_deref().and_then(local_time);
    payment.raw = raw;
    Ok(payment)
}

/// Whole rupiah from an answer; a fraction of a rupiah means the answer is not what we think.
pub(crate) fn idr(value: Option<Decimal>) -> Result<Option<Money>, Error> {
    value
        .map(|v| {
            Money::new(v, Currency::IDR)
                .map_err(|_| Error::decode("Ciputra answer: `amount` is not a whole number of rupiah"))
        })
        .transpose()
}

/// **Decision** (`PROVIDERS.md` §5): the document's times (`2021-11-03 04:38:41`) carry no
/// offset; they are read as Jakarta wall-clock time (+07:00), the gateway's home. An unreadable
/// or empty time is left out (it stays in `raw`) rather than failing the call.
pub(crate) fn local_time(text: &str) -> Option<OffsetDateTime> {
    let text = text.trim();
    gerbang_signing::jakarta::parse_local_datetime(text)
        .ok()
        .or_else(|| OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok())
}

fn non_empty(value: &Option<String>) -> Option<String> {
    value.clone().filter(|v| !v.trim().is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channels_map_to_paytype_and_paycode() {
        let codes = |text: &str| channel_codes(Some(&text.parse::<Channel>().unwrap()));
        assert_eq!(channel_codes(None).unwrap(), (PayType::All, PayCode::All));
        assert_eq!(codes("qris").unwrap(), (PayType::Qris, PayCode::All));
        assert_eq!(codes("card").unwrap(), (PayType::Cc, PayCode::CreditCard));
        assert_eq!(codes("va:bca").unwrap(), (PayType::Va, PayCode::Bca));
        assert_eq!(codes("va:cimb_niaga").unwrap(), (PayType::Va, PayCode::CimbNiaga));
        assert_eq!(codes("ewallet:gopay").unwrap(), (PayType::Ewallet, PayCode::Gopay));
        assert_eq!(codes("retail:alfamart").unwrap(), (PayType::Otc, PayCode::Alfamart));
        assert_eq!(codes("ib:mandiri").unwrap(), (PayType::Ib, PayCode::Mandiri));
        assert_eq!(codes("ib").unwrap(), (PayType::Ib, PayCode::All));
        for refused in ["crypto", "ewallet:shopeepay", "va:seabank", "va:gopay", "ib:ovo", "bitcoin"] {
            assert!(matches!(codes(refused), Err(Error::Validation { field, .. }) if field == "channel"), "{refused}");
        }
    }

    #[test]
    fn status_words_map_case_insensitively() {
        assert_eq!(payment_status("PAID"), PaymentStatus::Paid);
        assert_eq!(payment_status("pending"), PaymentStatus::Pending);
        assert_eq!(payment_status("Expired"), PaymentStatus::Expired);
        assert_eq!(payment_status("cancel"), PaymentStatus::Cancelled);
        assert_eq!(payment_status("failed"), PaymentStatus::Failed);
        assert_eq!(payment_status("refund"), PaymentStatus::Refunded);
    }

    #[test]
    fn times_are_jakarta_wall_clock() {
        assert_eq!(local_time("2021-11-03 04:38:41").unwrap().unix_timestamp(), 1_635_889_121);
        assert_eq!(local_time(""), None);
    }
}
