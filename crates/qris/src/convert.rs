//! The one place where QRIS invoices meet gerbang's common types: a [`PaymentRequest`] as an
//! invoice amount, an [`Invoice`] as a [`Payment`], and the gateway's status words.

use gerbang_core::{Channel, Error, Payment, PaymentRequest, PaymentStatus, ProviderId, RawJson};

use crate::types::{CancelledInvoice, Invoice, InvoiceStatus};

const PROVIDER: ProviderId = ProviderId::Qris;

/// The gateway's invoice status as gerbang's: `pending`, `paid` and `expired` as themselves; a
/// word the document does not list is [`PaymentStatus::Unknown`] (the word is kept in
/// `provider_status`). A cancelled invoice reads `expired` at the gateway: only the answer of the
/// cancel itself is reported as [`PaymentStatus::Cancelled`].
pub fn payment_status(status: &InvoiceStatus) -> PaymentStatus {
    match status {
        InvoiceStatus::Pending => PaymentStatus::Pending,
        InvoiceStatus::Paid => PaymentStatus::Paid,
        InvoiceStatus::Expired => PaymentStatus::Expired,
        other => PaymentStatus::Unknown(other.as_str().to_owned()),
    }
}

/// The invoice amount for a [`PaymentRequest`]: whole rupiah. `invoice/create` takes an amount
/// and nothing else (`seeds/002_70371d71cc9c4025.txt`), so every optional field is refused with
/// [`Error::Validation`] rather than dropped, and a channel other than QRIS too. The merchant
/// reference is echoed in [`Payment::reference`] only: the gateway has nowhere to keep it.
pub(crate) fn invoice_amount(request: &PaymentRequest) -> Result<i64, Error> {
    let amount = request.amount.require_whole_idr("amount")?;
    if amount <= 0 {
        return Err(Error::validation("amount", "must be a positive whole number of rupiah"));
    }
    match &request.channel {
        None | Some(Channel::Qris) => {}
        Some(other) => {
            return Err(Error::validation("channel", format!("the QRIS gateway takes QRIS only, not {other}")));
        }
    }
    let customer = &request.customer;
    for (field, value) in [
        ("customer.name", &customer.name),
        ("customer.email", &customer.email),
        ("customer.phone", &customer.phone),
        ("customer.id", &customer.id),
        ("description", &request.description),
        ("success_url", &request.success_url),
        ("cancel_url", &request.cancel_url),
        ("return_url", &request.return_url),
    ] {
        PaymentRequest::refuse_if_set(value, field, PROVIDER)?;
    }
    PaymentRequest::refuse_if_set(&request.callback_url, "callback_url", PROVIDER).map_err(|_| {
        Error::validation(
            "callback_url",
            "the QRIS gateway sends no webhook; use wait_for_payment to learn of a payment",
        )
    })?;
    PaymentRequest::refuse_if_set(&request.expires_in, "expires_in", PROVIDER).map_err(|_| {
        Error::validation("expires_in", "the QRIS gateway sets the expiry itself (expired_at in its answer)")
    })?;
    Ok(amount)
}

/// What an invoice the gateway does not know is looked up by: its own `invoice_id`, never the
/// merchant's reference (`invoice/status/{invoice_id}`; the invoice has no field for a reference).
pub(crate) const LOOKUP_HINT: &str =
    "QRIS looks invoices up by their invoice_id, printed as `provider_reference` by create, not by your reference";

/// An invoice as a [`Payment`]: the QRIS image is `qr_image_url`; `raw` is the answer as
/// received.
pub(crate) fn invoice_payment(invoice: &Invoice, raw: RawJson) -> Payment {
    let mut payment = Payment::new(PROVIDER, payment_status(&invoice.status), invoice.status.as_str());
    payment.provider_reference = Some(invoice.invoice_id.clone());
    payment.amount = Some(invoice.amount.clone());
    payment.fee = invoice.fee.clone();
    payment.total = invoice.total.clone();
    payment.qr_image_url = invoice.qris_image.clone();
    payment.expires_at = invoice.expired_at;
    payment.created_at = invoice.created_at;
    payment.raw = raw;
    payment
}

/// The answer of a cancel as a [`Payment`]: [`PaymentStatus::Cancelled`], with the gateway's
/// word (`expired`) kept in `provider_status`. The answer carries no amounts: they are `None`.
pub(crate) fn cancelled_payment(cancelled: &CancelledInvoice, raw: RawJson) -> Payment {
    let mut payment = Payment::new(PROVIDER, PaymentStatus::Cancelled, cancelled.status.as_str());
    payment.provider_reference = Some(cancelled.invoice_id.clone());
    payment.raw = raw;
    payment
}

/// Checks that the gateway made the invoice for the amount asked, as hyperswitch does: a
/// mismatch is an error naming the invoice, so that it can be looked at rather than shown.
pub(crate) fn check_amount(invoice: &Invoice, asked: i64) -> Result<(), Error> {
    if invoice.amount.whole_units() == Some(asked) {
        return Ok(());
    }
    Err(Error::Api {
        status: Some(200),
        code: None,
        message: format!(
            "the QRIS gateway made invoice {} for {} instead of the {asked} IDR asked for; cancel it or check it before showing it",
            invoice.invoice_id, invoice.amount
        ),
    })
}

#[cfg(test)]
mod tests {
    use gerbang_core::{Bank, Decimal, Money};

    use super::*;

    #[test]
    fn status_words_map_and_unknown_ones_are_kept() {
        assert_eq!(payment_status(&InvoiceStatus::parse("pending")), PaymentStatus::Pending);
        assert_eq!(payment_status(&InvoiceStatus::parse("PAID")), PaymentStatus::Paid);
        assert_eq!(payment_status(&InvoiceStatus::parse("expired")), PaymentStatus::Expired);
        assert_eq!(payment_status(&InvoiceStatus::parse("refund")), PaymentStatus::Unknown("refund".into()));
    }

    #[test]
    fn a_request_with_fields_the_gateway_cannot_take_is_refused() {
        let field = |request: PaymentRequest| match invoice_amount(&request) {
            Err(Error::Validation { field, .. }) => field,
            other => panic!("expected a validation error, got {other:?}"),
        };
        let base = || PaymentRequest::builder("ORDER-1", Money::idr(10_000));
        assert_eq!(invoice_amount(&base().build().unwrap()).unwrap(), 10_000);
        assert_eq!(invoice_amount(&base().channel(Channel::Qris).build().unwrap()).unwrap(), 10_000);
        assert_eq!(field(base().channel(Channel::VirtualAccount(Bank::Bca)).build().unwrap()), "channel");
        assert_eq!(field(base().customer_name("Budi").build().unwrap()), "customer.name");
        assert_eq!(field(base().description("Kopi").build().unwrap()), "description");
        assert_eq!(field(base().callback_url("https://shop.example/hook").build().unwrap()), "callback_url");
        assert_eq!(field(base().expires_in(std::time::Duration::from_secs(60)).build().unwrap()), "expires_in");
        let usd = Money::new(Decimal::from(5), gerbang_core::Currency::USD).unwrap();
        assert_eq!(field(PaymentRequest::builder("ORDER-2", usd).build().unwrap()), "amount");
    }
}
