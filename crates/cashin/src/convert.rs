//! The one place where Cash In's words become gerbang's: statuses, channels, amounts, durations,
//! and the mapping of a [`PaymentRequest`] to a checkout and of the answers to a [`Payment`].

use std::time::Duration;

use gerbang_core::{
    Channel, Currency, Error, Money, Payment, PaymentRequest, PaymentStatus, Problems, ProviderId, RawJson, SharedClock,
};
use rust_decimal::Decimal;

use crate::request::{CheckoutCustomer, CheckoutRequest, PaymentChannel};
use crate::wire::{Checkout, CheckoutStatus};

const PROVIDER: ProviderId = ProviderId::CashIn;

/// The status word of the status call, normalised: `OPEN` (ready to be paid) is pending,
/// `SUCCESS` paid, `FAILED` failed (`seeds/001_3ab17dd2bbbc66f1.txt`, status answer). Case and
/// surrounding spaces are ignored; any other word is [`PaymentStatus::Unknown`] holding it.
///
/// ```
/// use gerbang_cashin::payment_status;
/// use gerbang_core::PaymentStatus;
///
/// assert_eq!(payment_status("OPEN"), PaymentStatus::Pending);
/// assert_eq!(payment_status("SUCCESS"), PaymentStatus::Paid);
/// assert_eq!(payment_status("REVERSED"), PaymentStatus::Unknown("REVERSED".into()));
/// ```
pub fn payment_status(raw: &str) -> PaymentStatus {
    match raw.trim().to_ascii_uppercase().as_str() {
        "OPEN" => PaymentStatus::Pending,
        "SUCCESS" => PaymentStatus::Paid,
        "FAILED" => PaymentStatus::Failed,
        _ => PaymentStatus::Unknown(raw.to_owned()),
    }
}

/// A notification's `latestTransactionStatus`, normalised: the eight SNAP codes
/// (`PROVIDERS.md` §2).
///
/// | code | SNAP meaning | status |
/// |---|---|---|
/// | `00` | success | paid |
/// | `01` | initiated | pending |
/// | `02` | paying | pending |
/// | `03` | pending | pending |
/// | `04` | refunded | refunded |
/// | `05` | cancelled | **expired** |
/// | `06` | failed | failed |
/// | `07` | not found | unknown (`07`) |
///
/// **Decision** (`05`): SNAP calls it "cancelled", but Cash In's document says what it means
/// here: "05 = Cancelled, the payment has been closed because it is expired"
/// (`seeds/001_3ab17dd2bbbc66f1.txt`), and Cash In has no call that cancels. So it is
/// [`PaymentStatus::Expired`].
/// **Decision** (`07`): "not found" is not a state of a payment; it is kept as
/// [`PaymentStatus::Unknown`], so that the merchant checks with
/// [`checkout_status`](crate::CashinClient::checkout_status) rather than acting on it.
///
/// ```
/// use gerbang_cashin::notification_status;
/// use gerbang_core::PaymentStatus;
///
/// assert_eq!(notification_status("00"), PaymentStatus::Paid);
/// assert_eq!(notification_status("05"), PaymentStatus::Expired);
/// assert_eq!(notification_status("99"), PaymentStatus::Unknown("99".into()));
/// ```
pub fn notification_status(code: &str) -> PaymentStatus {
    match code.trim() {
        "00" => PaymentStatus::Paid,
        "01" | "02" | "03" => PaymentStatus::Pending,
        "04" => PaymentStatus::Refunded,
        "05" => PaymentStatus::Expired,
        "06" => PaymentStatus::Failed,
        _ => PaymentStatus::Unknown(code.to_owned()),
    }
}

/// **Decision** (`PROVIDERS.md` §2): how long a checkout page stays open when the
/// [`PaymentRequest`] gives no `expires_in`. `duration` is mandatory and the document gives no
/// default; 30 minutes is the value of its own example request.
pub const DEFAULT_DURATION_MINUTES: u32 = 30;

/// `expires_in` as Cash In's `duration` in minutes. **Decision**: rounded *up* to a whole minute,
/// so the customer never has less time than asked (90 s is 2 minutes); absent, it is
/// [`DEFAULT_DURATION_MINUTES`].
pub(crate) fn duration_minutes(expires_in: Option<Duration>) -> Result<u32, Error> {
    let Some(expires_in) = expires_in else {
        return Ok(DEFAULT_DURATION_MINUTES);
    };
    // A started second counts, then a started minute.
    let seconds = expires_in.as_secs().saturating_add(u64::from(expires_in.subsec_nanos() > 0));
    let minutes = seconds.div_ceil(60).max(1);
    u32::try_from(minutes).map_err(|_| Error::validation("expires_in", "is too long for Cash In's duration in minutes"))
}

/// The normalised channel as Cash In's `paymentChannel`: `qris` is `QRIS`, any `va:<bank>` is
/// `BANK_TRANSFER` (the bank is then chosen by the customer on Cash In's page: the document has
/// no field for it), and Cash In's own codes `QRIS` / `BANK_TRANSFER` given as a gateway code pass
/// through. No channel: the customer chooses on the page. Anything else is refused.
pub(crate) fn payment_channel(channel: Option<&Channel>) -> Result<Option<PaymentChannel>, Error> {
    const ACCEPTED: &str = "Cash In's page offers qris and bank transfer (va:<bank>, the bank being chosen on the page); leave the channel out to let the customer choose";
    match channel {
        None => Ok(None),
        Some(Channel::Qris) => Ok(Some(PaymentChannel::Qris)),
        Some(Channel::VirtualAccount(_)) => Ok(Some(PaymentChannel::BankTransfer)),
        Some(Channel::Other(code)) => PaymentChannel::from_code(code)
            .map(Some)
            .ok_or_else(|| Error::validation("channel", format!("Cash In has no channel `{code}`; {ACCEPTED}"))),
        Some(other) => Err(Error::validation("channel", format!("Cash In does not offer {other}; {ACCEPTED}"))),
    }
}

/// A [`PaymentRequest`] as a checkout. Cash In needs the customer's id and phone number and a
/// page for each outcome; it has no field for the customer's name or e-mail, a description, or a
/// callback URL (the notification URL is set in Cash In's dashboard): those are refused.
///
/// `success_url` and `cancel_url` become `successCallbackUrl` and `cancelCallbackUrl`;
/// `return_url` stands in for whichever of the two is missing (and is refused when both are
/// set, since it would then be dropped).
pub(crate) fn checkout_request(request: &PaymentRequest) -> Result<CheckoutRequest, Error> {
    // Every problem is reported at once, so that one try finds them all.
    let mut problems = Problems::new();
    problems.check(PaymentRequest::refuse_if_set(&request.customer.name, "customer.name", PROVIDER));
    problems.check(PaymentRequest::refuse_if_set(&request.customer.email, "customer.email", PROVIDER));
    problems.check(PaymentRequest::refuse_if_set(&request.description, "description", PROVIDER));
    if request.callback_url.is_some() {
        problems.add(
            "callback_url",
            "Cash In sends its notification to the URL set in its dashboard; leave callback_url out",
        );
    }
    if request.success_url.is_some() && request.cancel_url.is_some() && request.return_url.is_some() {
        problems
            .add("return_url", "Cash In has only a success and a cancel page, both set already; leave return_url out");
    }
    let page = |url: &Option<String>, field: &str| {
        url.clone().or_else(|| request.return_url.clone()).ok_or_else(|| {
            Error::validation(field, "Cash In needs a page for the customer to come back to; set it, or return_url")
        })
    };
    let success = problems.check(page(&request.success_url, "success_url"));
    let cancel = problems.check(page(&request.cancel_url, "cancel_url"));
    let customer_id = problems.check(
        request
            .customer
            .id
            .clone()
            .ok_or_else(|| Error::validation("customer.id", "Cash In requires the merchant's id for the customer")),
    );
    let phone = problems.check(
        request
            .customer
            .phone
            .clone()
            .ok_or_else(|| Error::validation("customer.phone", "Cash In requires the customer's phone number")),
    );
    let amount =
        problems.check(request.amount.require_whole_idr("amount").and_then(|amount| {
            u64::try_from(amount).map_err(|_| Error::validation("amount", "must be more than zero"))
        }));
    let duration = problems.check(duration_minutes(request.expires_in));
    let channel = problems.check(payment_channel(request.channel.as_ref()));
    problems.finish()?;
    let (Some(success), Some(cancel), Some(customer_id), Some(phone), Some(amount), Some(duration), Some(channel)) =
        (success, cancel, customer_id, phone, amount, duration, channel)
    else {
        // `finish` returned every problem: each value is here.
        return Err(Error::validation("request", "could not be checked"));
    };
    let mut checkout = CheckoutRequest::new(
        request.reference.clone(),
        amount,
        duration,
        success,
        cancel,
        CheckoutCustomer::new(customer_id, phone),
    );
    checkout.payment_channel = channel;
    checkout.validate().map_err(|e| e.rename_fields(|field| caller_field(field).map(str::to_owned)))?;
    Ok(checkout)
}

/// The [`PaymentRequest`] name of a checkout field, where it differs.
fn caller_field(field: &str) -> Option<&'static str> {
    match field {
        "trxNo" => Some("reference"),
        "duration" => Some("expires_in"),
        "successCallbackUrl" => Some("success_url"),
        "cancelCallbackUrl" => Some("cancel_url"),
        "customer.phoneNumber" => Some("customer.phone"),
        _ => None,
    }
}

/// **Decision**: the provider status of a checkout just created. The checkout answer carries no
/// status; a new page is what the status call calls `OPEN` ("Ready to be paid").
pub(crate) const CREATED_STATUS: &str = "OPEN";

/// A created checkout as a [`Payment`]: pending, with the page as `checkout_url`, the amount
/// asked and the expiry computed from the duration sent. Cash In's own reference number is not
/// known until the status call; the payment token stays in `raw`.
pub(crate) fn created_payment(
    request: &CheckoutRequest,
    checkout: &Checkout,
    raw: RawJson,
    clock: &SharedClock,
) -> Payment {
    let mut payment = Payment::new(PROVIDER, payment_status(CREATED_STATUS), CREATED_STATUS);
    payment.reference = Some(request.trx_no.clone());
    payment.amount = i64::try_from(request.amount).ok().map(Money::idr);
    payment.checkout_url = Some(checkout.payment_url.clone());
    let duration = time::Duration::minutes(i64::from(request.duration));
    payment.expires_at =
        clock.now().checked_add(duration).map(|t| t.checked_to_offset(gerbang_signing::jakarta::OFFSET).unwrap_or(t));
    payment.raw = raw;
    payment
}

/// A status answer as a [`Payment`].
pub(crate) fn status_payment(status: &CheckoutStatus, raw: RawJson) -> Result<Payment, Error> {
    let mut payment = Payment::new(PROVIDER, payment_status(&status.status), status.status.clone());
    payment.reference = Some(status.trx_no.clone());
    payment.provider_reference = status.reference_no.clone();
    payment.amount = idr(status.amount, "payment/status answer: `amount`")?;
    payment.raw = raw;
    Ok(payment)
}

/// Whole rupiah from an answer (`4000.00` is 4000); a fraction of a rupiah means the answer is
/// not what we think.
pub(crate) fn idr(value: Option<Decimal>, what: &str) -> Result<Option<Money>, Error> {
    value
        .map(|v| {
            Money::new(v, Currency::IDR).map_err(|_| Error::decode(format!("{what} is not a whole number of rupiah")))
        })
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;
    use gerbang_core::{Bank, EWallet};

    #[test]
    fn durations_round_up_to_whole_minutes() {
        assert_eq!(duration_minutes(None).unwrap(), 30);
        assert_eq!(duration_minutes(Some(Duration::from_secs(1))).unwrap(), 1);
        assert_eq!(duration_minutes(Some(Duration::from_secs(60))).unwrap(), 1);
        assert_eq!(duration_minutes(Some(Duration::from_millis(60_500))).unwrap(), 2);
        assert_eq!(duration_minutes(Some(Duration::from_secs(90))).unwrap(), 2);
        assert_eq!(duration_minutes(Some(Duration::from_secs(24 * 3600))).unwrap(), 1440);
        assert!(duration_minutes(Some(Duration::from_secs(u64::MAX))).is_err());
    }

    #[test]
    fn channels_map_to_cash_in_codes() {
        assert_eq!(payment_channel(None).unwrap(), None);
        assert_eq!(payment_channel(Some(&Channel::Qris)).unwrap(), Some(PaymentChannel::Qris));
        assert_eq!(
            payment_channel(Some(&Channel::VirtualAccount(Bank::Mandiri))).unwrap(),
            Some(PaymentChannel::BankTransfer)
        );
        assert_eq!(
            payment_channel(Some(&Channel::Other("bank_transfer".into()))).unwrap(),
            Some(PaymentChannel::BankTransfer)
        );
        for refused in
            [Channel::CreditCard, Channel::Crypto, Channel::EWallet(EWallet::Ovo), Channel::Other("VA".into())]
        {
            let result = payment_channel(Some(&refused));
            assert!(matches!(&result, Err(Error::Validation { field, .. }) if field == "channel"), "{result:?}");
        }
    }

    #[test]
    fn status_words_map_and_unknown_ones_are_kept() {
        assert_eq!(payment_status(" open "), PaymentStatus::Pending);
        assert_eq!(payment_status("FAILED"), PaymentStatus::Failed);
        assert_eq!(payment_status("EXPIRED"), PaymentStatus::Unknown("EXPIRED".into()));
    }

    #[test]
    fn all_eight_snap_codes_map() {
        use PaymentStatus::{Expired, Failed, Paid, Pending, Refunded, Unknown};
        let mapped: Vec<PaymentStatus> =
            ["00", "01", "02", "03", "04", "05", "06", "07"].iter().map(|c| notification_status(c)).collect();
        assert_eq!(mapped, [Paid, Pending, Pending, Pending, Refunded, Expired, Failed, Unknown("07".into())]);
    }
}
