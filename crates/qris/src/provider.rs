//! The common payment flow ([`PaymentProvider`]) on top of QRIS invoices.

use async_trait::async_trait;
use gerbang_core::{
    Capabilities, Error, Payment, PaymentProvider, PaymentRequest, ProviderId, WebhookEvent, WebhookRequest,
    WebhookSupport,
};

use gerbang_core::{ChannelKind, CreateLimits, Field};

use crate::client::QrisClient;
use crate::convert;

/// What `invoice/create` takes (`seeds/002_70371d71cc9c4025.txt`: QRIS deposit invoices, an
/// amount in rupiah): a router skips this gateway for another channel or currency without a
/// call. Its document lists no refusal that creates nothing, so it has no safe-refusal table.
pub const CREATE_LIMITS: CreateLimits = CreateLimits::none()
    .currencies(&["IDR"])
    .channels(&[ChannelKind::Qris], false)
    // The invoice takes an amount and nothing else (convert.rs refuses every other field).
    .refuses(&Field::ALL)
    .source("seeds/002_70371d71cc9c4025.txt: Membuat Invoice Deposit (QRIS, amount in rupiah)");

/// A payment is a QRIS invoice:
///
/// - `create_payment` is `invoice/create`: IDR whole rupiah only (another currency or a fraction
///   is [`Error::Validation`]); the channel, if given, must be QRIS; every optional field
///   (customer, description, URLs, `callback_url`, `expires_in`) is refused, since the gateway
///   takes an amount and nothing else. The merchant reference is echoed in
///   [`Payment::reference`]. The QR code to show is [`Payment::qr_image_url`].
/// - `payment_status` takes the gateway's **`invoice_id`** (the payment's `provider_reference`).
/// - `cancel_payment` takes the `invoice_id` too, and works on a pending invoice only; the
///   answer is [`PaymentStatus::Cancelled`](gerbang_core::PaymentStatus::Cancelled) with the
///   gateway's word, `expired`, in `provider_status`. Later look-ups read `expired`.
/// - `verify_webhook` is [`Error::Unsupported`]: the gateway sends none. Poll with
///   [`QrisClient::wait_for_payment`].

#[async_trait]
impl PaymentProvider for QrisClient {
    fn id(&self) -> ProviderId {
        ProviderId::Qris
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::new(WebhookSupport::None).with_cancel().with_limits(CREATE_LIMITS)
    }

    async fn create_payment(&self, request: &PaymentRequest) -> Result<Payment, Error> {
        let amount = convert::invoice_amount(request)?;
        let (invoice, raw) = self
            .create_invoice_with_raw(amount)
            .await
            .map_err(|e| e.about_payment(&request.reference, self.capabilities().lookup))?;
        convert::check_amount(&invoice, amount)?;
        let mut payment = convert::invoice_payment(&invoice, raw);
        payment.reference = Some(request.reference.clone());
        Ok(payment)
    }

    async fn payment_status(&self, invoice_id: &str) -> Result<Payment, Error> {
        let (invoice, raw) =
            self.invoice_status_with_raw(invoice_id).await.map_err(|e| e.with_lookup_hint(convert::LOOKUP_HINT))?;
        Ok(convert::invoice_payment(&invoice, raw))
    }

    async fn cancel_payment(&self, invoice_id: &str) -> Result<Payment, Error> {
        let (cancelled, raw) =
            self.cancel_invoice_with_raw(invoice_id).await.map_err(|e| e.with_lookup_hint(convert::LOOKUP_HINT))?;
        Ok(convert::cancelled_payment(&cancelled, raw))
    }

    async fn verify_webhook(&self, _request: &WebhookRequest<'_>) -> Result<WebhookEvent, Error> {
        Err(Error::Unsupported { provider: ProviderId::Qris, operation: "verify_webhook" })
    }

    fn verify_webhook_now(&self, _request: &WebhookRequest<'_>) -> Option<Result<WebhookEvent, Error>> {
        Some(Err(Error::Unsupported { provider: ProviderId::Qris, operation: "verify_webhook" }))
    }
}
