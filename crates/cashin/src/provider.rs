//! The common payment flow ([`PaymentProvider`]) on top of Cash In's checkout page.

use async_trait::async_trait;
use gerbang_core::{
    Ack, Capabilities, Error, LookupKey, Payment, PaymentProvider, PaymentRequest, ProviderId, WebhookEvent,
    WebhookRequest, WebhookSupport,
};

use gerbang_core::{ChannelKind, CreateLimits, Field};

use crate::client::CashinClient;
use crate::convert;

/// What `POST /payment` takes (`seeds/001_3ab17dd2bbbc66f1.txt`; PROVIDERS.md §2): whole rupiah,
/// QRIS or bank transfer (or the customer's choice), the customer's id and phone, a page for
/// each outcome (`return_url` standing in for either), and no field for the customer's name or
/// e-mail, a description or a callback URL (the notification URL is set in the dashboard).
/// `convert::checkout_request` refuses the same; `tests/limits.rs` of gerbang-router holds the
/// two to the same list.
pub const CREATE_LIMITS: CreateLimits = CreateLimits::none()
    .currencies(&["IDR"])
    .channels(&[ChannelKind::Qris, ChannelKind::VirtualAccount, ChannelKind::Other], false)
    .refuses(&[Field::CustomerName, Field::CustomerEmail, Field::Description, Field::CallbackUrl])
    .requires(&[
        &[Field::CustomerId],
        &[Field::CustomerPhone],
        &[Field::SuccessUrl, Field::ReturnUrl],
        &[Field::CancelUrl, Field::ReturnUrl],
    ])
    .source(
        "seeds/001_3ab17dd2bbbc66f1.txt: POST /payment (trxNo, amount, customer {id, phoneNumber}, callback pages)",
    );

/// A payment is a Cash In checkout page:
///
/// - `create_payment` is `POST /payment`. The merchant reference is the `trxNo`; the customer's
///   id and phone are required; `success_url` and `cancel_url` (or `return_url` for either) are
///   the pages the customer comes back to; the channel may be `qris`, `va:<bank>` (sent as
///   `BANK_TRANSFER`: the bank is chosen on Cash In's page) or absent (the customer chooses);
///   `expires_in` is rounded up to whole minutes (30 when absent). The customer's name and
///   e-mail, a description and a callback URL are refused: Cash In has no field for them.
/// - `payment_status` takes the merchant's **`trxNo`** (the payment's `reference`): `OPEN` is
///   pending, `SUCCESS` paid, `FAILED` failed.
/// - `cancel_payment` is [`Error::Unsupported`]: Cash In has no such call.
/// - `verify_webhook` is the synchronous [`WebhookVerifier`](crate::WebhookVerifier) (it needs
///   the public key); `reject_webhook` answers in Cash In's SNAP codes ([`rejection`](crate::rejection)).
#[async_trait]
impl PaymentProvider for CashinClient {
    fn id(&self) -> ProviderId {
        ProviderId::CashIn
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::new(WebhookSupport::Signed).looked_up_by(LookupKey::Reference).with_limits(CREATE_LIMITS)
    }

    async fn create_payment(&self, request: &PaymentRequest) -> Result<Payment, Error> {
        let checkout_request = convert::checkout_request(request)?;
        let (checkout, raw) = self
            .create_checkout_with_raw(&checkout_request)
            .await
            .map_err(|e| e.about_payment(&request.reference, self.capabilities().lookup))?;
        Ok(convert::created_payment(&checkout_request, &checkout, raw, &self.config().clock))
    }

    async fn payment_status(&self, trx_no: &str) -> Result<Payment, Error> {
        let (status, raw) = self.checkout_status_with_raw(trx_no).await?;
        convert::status_payment(&status, raw)
    }

    async fn cancel_payment(&self, _trx_no: &str) -> Result<Payment, Error> {
        Err(Error::Unsupported { provider: ProviderId::CashIn, operation: "cancel_payment" })
    }

    async fn verify_webhook(&self, request: &WebhookRequest<'_>) -> Result<WebhookEvent, Error> {
        self.webhook_verifier()?.verify(request)
    }

    fn verify_webhook_now(&self, request: &WebhookRequest<'_>) -> Option<Result<WebhookEvent, Error>> {
        Some(self.webhook_verifier().and_then(|verifier| verifier.verify(request)))
    }

    fn reject_webhook(&self, error: &Error) -> Ack {
        crate::webhook::rejection(error)
    }
}
