//! The one place where the gateway's words become gerbang's: statuses, the mapping of a
//! [`PaymentRequest`] to an invoice request, and of an invoice to a [`Payment`].

use std::time::Duration;

use gerbang_core::{
    Channel, Currency, Decimal, Error, Money, Payment, PaymentRequest, PaymentStatus, ProviderId, RawJson, SharedClock,
};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::request::{CreateInvoiceRequest, DEFAULT_EXPIRATION_HOURS, MAX_EXPIRATION_HOURS, MIN_EXPIRATION_HOURS};
use crate::wire::{CreatedInvoice, Invoice};

const PROVIDER: ProviderId = ProviderId::CryptoInvoice;

/// The `provider_status` of a freshly created invoice: the `create_invoice` answer carries no
/// status, and an invoice starts out waiting for its payment.
pub(crate) const CREATED_STATUS: &str = "pending";

/// The gateway's invoice status word, normalised.
///
/// **Decision** (`PROVIDERS.md` §4): `get_invoices`' statuses are not documented. The words that
/// crypto invoice gateways use are mapped, ignoring case; any other word (or none) is
/// [`PaymentStatus::Pending`], since the document says a payment is only final once the
/// gateway calls back on success. The word itself is always kept in `provider_status`.
///
/// ```
/// use gerbang_crypto_invoice::payment_status;
/// use gerbang_core::PaymentStatus;
///
/// assert_eq!(payment_status("Paid"), PaymentStatus::Paid);
/// assert_eq!(payment_status("expired"), PaymentStatus::Expired);
/// assert_eq!(payment_status("confirming"), PaymentStatus::Pending); // unknown: pending
/// ```
pub fn payment_status(raw: &str) -> PaymentStatus {
    match raw.trim().to_ascii_lowercase().as_str() {
        "paid" | "success" | "successful" | "completed" | "complete" | "confirmed" | "finished" => PaymentStatus::Paid,
        "expired" => PaymentStatus::Expired,
        "cancelled" | "canceled" => PaymentStatus::Cancelled,
        "failed" | "error" => PaymentStatus::Failed,
        "refunded" => PaymentStatus::Refunded,
        _ => PaymentStatus::Pending,
    }
}

/// A [`PaymentRequest`] as a `create_invoice` request. Fields the gateway cannot honour are
/// refused, never dropped: `return_url` (it has success and cancel URLs), `customer.name` and
/// `customer.phone` (no such fields), a `customer.id` that is not a whole number (the document
/// types it "Integer"), a channel other than [`Channel::Crypto`] (the customer picks the coin on
/// the invoice page), and an expiry that is not a whole number of hours from 1 to 12.
pub(crate) fn invoice_request(request: &PaymentRequest) -> Result<CreateInvoiceRequest, Error> {
    PaymentRequest::refuse_if_set(&request.return_url, "return_url", PROVIDER)?;
    PaymentRequest::refuse_if_set(&request.customer.name, "customer.name", PROVIDER)?;
    PaymentRequest::refuse_if_set(&request.customer.phone, "customer.phone", PROVIDER)?;
    match &request.channel {
        None | Some(Channel::Crypto) => {}
        Some(other) => {
            return Err(Error::validation(
                "channel",
                format!(
                    "the crypto invoice gateway takes crypto only, not {other}; leave the channel out or use crypto"
                ),
            ));
        }
    }
    let mut invoice = CreateInvoiceRequest::new(request.amount.value())
        .price_currency(request.amount.currency().clone())
        .order_id(request.reference.clone());
    invoice.email = request.customer.email.clone();
    invoice.description = request.description.clone();
    invoice.callback_url = request.callback_url.clone();
    invoice.success_url = request.success_url.clone();
    invoice.cancel_url = request.cancel_url.clone();
    if let Some(id) = &request.customer.id {
        invoice.customer_id = Some(id.trim().parse().map_err(|_| {
            Error::validation("customer.id", "the crypto invoice gateway takes a whole-number customer id")
        })?);
    }
    if let Some(expires_in) = request.expires_in {
        invoice.expiration_hours = Some(whole_hours(expires_in)?);
    }
    invoice.validate()?;
    Ok(invoice)
}

fn whole_hours(d: Duration) -> Result<u8, Error> {
    let hours = d.as_secs() / 3600;
    let whole = d.as_secs().is_multiple_of(3600) && d.subsec_nanos() == 0;
    match u8::try_from(hours) {
        Ok(h) if whole && (MIN_EXPIRATION_HOURS..=MAX_EXPIRATION_HOURS).contains(&h) => Ok(h),
        _ => Err(Error::validation(
            "expires_in",
            format!(
                "the crypto invoice gateway takes whole hours from {MIN_EXPIRATION_HOURS} to {MAX_EXPIRATION_HOURS} (1h to 12h)"
            ),
        )),
    }
}

/// The [`Payment`] of a created invoice. The answer is only the invoice URL, so the rest comes
/// from the request: the price, the order id as the reference, and the expiry the gateway was
/// asked for (its default, 12 hours, when none was), counted from the client's clock.
pub(crate) fn created_payment(
    request: &CreateInvoiceRequest,
    created: &CreatedInvoice,
    clock: &SharedClock,
) -> Result<Payment, Error> {
    let mut payment = Payment::new(PROVIDER, PaymentStatus::Pending, CREATED_STATUS);
    payment.reference = request.order_id.clone();
    payment.amount = Some(Money::new(request.price_amount, request.price_currency.clone().unwrap_or(Currency::USD))?);
    payment.checkout_url = created.invoice_url.clone();
    let hours = request.expiration_hours.unwrap_or(DEFAULT_EXPIRATION_HOURS);
    payment.expires_at = clock.now().checked_add(time::Duration::hours(i64::from(hours)));
    payment.raw = RawJson::from(serde_json::json!({ "message": created.raw }));
    Ok(payment)
}

/// **Decision**: which of the invoices `get_invoices` lists for an order id is "the" payment. An
/// order may have several (one per attempt); a paid one wins (the order is paid), otherwise the
/// last one listed (the newest, as the gateway appends them).
pub(crate) fn pick_invoice(invoices: Vec<(Invoice, RawJson)>) -> Option<(Invoice, RawJson)> {
    let paid =
        invoices.iter().rposition(|(i, _)| payment_status(i.status.as_deref().unwrap_or("")) == PaymentStatus::Paid);
    let index = paid.or_else(|| invoices.len().checked_sub(1))?;
    invoices.into_iter().nth(index)
}

/// An invoice as a [`Payment`]; `raw` is the invoice's JSON as received.
pub(crate) fn invoice_payment(invoice: &Invoice, raw: RawJson) -> Result<Payment, Error> {
    let word = invoice.status.clone().unwrap_or_default();
    let mut payment = Payment::new(PROVIDER, payment_status(&word), word);
    payment.reference = invoice.order_id.clone();
    payment.provider_reference = invoice.id.clone();
    payment.amount = price(invoice.price_amount, invoice.price_currency.as_deref())?;
    payment.checkout_url =
        ["invoice_url", "url"].iter().find_map(|k| invoice.extra.get(*k)?.as_str()).map(str::to_owned);
    payment.created_at = invoice.created_at.as_deref().and_then(gateway_time);
    payment.expires_at = invoice.expiration_date.as_deref().and_then(gateway_time);
    payment.raw = raw;
    Ok(payment)
}

/// The price as [`Money`], in USD when no currency is given (the document's default).
pub(crate) fn price(amount: Option<Decimal>, currency: Option<&str>) -> Result<Option<Money>, Error> {
    let Some(amount) = amount else { return Ok(None) };
    let currency = match currency.map(str::trim).filter(|c| !c.is_empty()) {
        Some(code) => {
            Currency::new(code).map_err(|_| Error::decode("crypto invoice: `price_currency` is not a currency code"))?
        }
        None => Currency::USD,
    };
    Money::new(amount, currency)
        .map(Some)
        .map_err(|_| Error::decode("crypto invoice: `price_amount` is not a whole number of rupiah"))
}

/// A time as the gateway writes it. Its format is not documented: RFC 3339 (what a Laravel
/// backend writes, `2025-09-28T10:02:30.000000Z`) is read; anything else is left out of the
/// typed field and stays in `raw`.
pub(crate) fn gateway_time(text: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(text.trim(), &Rfc3339).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_words_map_and_unknown_ones_are_pending() {
        for (word, status) in [
            ("paid", PaymentStatus::Paid),
            ("SUCCESS", PaymentStatus::Paid),
            ("expired", PaymentStatus::Expired),
            ("canceled", PaymentStatus::Cancelled),
            ("failed", PaymentStatus::Failed),
            ("waiting", PaymentStatus::Pending),
            ("", PaymentStatus::Pending),
        ] {
            assert_eq!(payment_status(word), status, "{word}");
        }
    }

    #[test]
    fn expiry_is_whole_hours_from_one_to_twelve() {
        assert_eq!(whole_hours(Duration::from_secs(3600)).ok(), Some(1));
        assert_eq!(whole_hours(Duration::from_secs(12 * 3600)).ok(), Some(12));
        for bad in [30 * 60, 90 * 60, 13 * 3600, 0] {
            assert!(whole_hours(Duration::from_secs(bad)).is_err(), "{bad}");
        }
    }
}
