//! The common payment flow ([`PaymentProvider`]) on top of crypto invoices.

use async_trait::async_trait;
use gerbang_core::{
    Capabilities, Error, LookupKey, Payment, PaymentProvider, PaymentRequest, ProviderId, WebhookEvent, WebhookRequest,
    WebhookSupport,
};
use gerbang_core::{ChannelKind, CreateLimits, Field, Refusal, SafeRefusal};

use crate::client::CryptoInvoiceClient;
use crate::convert;

/// What `create_invoice` takes (`seeds/003_344fd773d4347651.txt`): a price in a fiat currency,
/// the customer's e-mail and numeric id, a description, success/cancel/callback URLs, and no
/// field for a return page, the customer's name or phone (`convert::invoice_request` refuses
/// those). The customer picks the coin on the invoice page: the channel is crypto or none.
pub const CREATE_LIMITS: CreateLimits = CreateLimits::none()
    .channels(&[ChannelKind::Crypto], false)
    .refuses(&[Field::ReturnUrl, Field::CustomerName, Field::CustomerPhone])
    .source(
        "seeds/003_344fd773d4347651.txt: create_invoice (order_id, price_amount, price_currency, customer_id, email)",
    );

/// The refusals of `create_invoice` after which no invoice exists: the document
/// (`seeds/003_344fd773d4347651.txt`) answers `status: error` with a list of messages where a
/// created invoice gets its URL; PROVIDERS.md §4 records that answer as HTTP 422 (validation).
pub const SAFE_REFUSALS: &[SafeRefusal] = &[SafeRefusal::new(
    Refusal::Status(422),
    "seeds/003: status \"error\" with messages, no invoice URL (PROVIDERS.md 4: HTTP 422)",
)];

/// A payment is an invoice:
///
/// - `create_payment` is `create_invoice`, with the merchant reference as `order_id`, the
///   amount as `price_amount` in its own currency (any fiat currency the gateway takes; IDR in
///   whole rupiah), the customer's e-mail and numeric id, the description, the three URLs, and
///   an expiry of 1 to 12 whole hours. `return_url`, `customer.name`, `customer.phone` and a
///   channel other than `crypto` are refused. The payment is pending, with the invoice URL as
///   `checkout_url` and no `provider_reference` (the answer carries only the URL).
/// - `payment_status` takes the **`order_id`** (the merchant reference) and looks it up with
///   `get_invoices`: a paid invoice of the order wins, else the last listed. No invoice is
///   [`Error::NotFound`].
/// - `cancel_payment` is [`Error::Unsupported`]: the gateway has no such call.
/// - `verify_webhook` is the synchronous [`WebhookVerifier`](crate::WebhookVerifier).

#[async_trait]
impl PaymentProvider for CryptoInvoiceClient {
    fn id(&self) -> ProviderId {
        ProviderId::CryptoInvoice
    }

    fn capabilities(&self) -> Capabilities {
        // Create and status; no cancel; a callback checked by the key it carries.
        Capabilities::new(WebhookSupport::Signed)
            .looked_up_by(LookupKey::Reference)
            .with_limits(CREATE_LIMITS)
            .with_safe_refusals(SAFE_REFUSALS)
    }

    async fn create_payment(&self, request: &PaymentRequest) -> Result<Payment, Error> {
        let invoice = convert::invoice_request(request)?;
        let created = self
            .create_invoice(&invoice)
            .await
            .map_err(|e| e.about_payment(&request.reference, self.capabilities().lookup))?;
        convert::created_payment(&invoice, &created, self.config().clock())
    }

    async fn payment_status(&self, order_id: &str) -> Result<Payment, Error> {
        let invoices = self.get_invoices_with_raw(order_id).await?;
        let (invoice, raw) = convert::pick_invoice(invoices)
            .ok_or_else(|| Error::NotFound { message: "the gateway lists no invoice for this order_id".to_owned() })?;
        convert::invoice_payment(&invoice, raw)
    }

    async fn cancel_payment(&self, _order_id: &str) -> Result<Payment, Error> {
        Err(Error::Unsupported { provider: ProviderId::CryptoInvoice, operation: "cancel_payment" })
    }

    async fn verify_webhook(&self, request: &WebhookRequest<'_>) -> Result<WebhookEvent, Error> {
        self.webhook_verifier().verify(request)
    }

    fn verify_webhook_now(&self, request: &WebhookRequest<'_>) -> Option<Result<WebhookEvent, Error>> {
        Some(self.webhook_verifier().verify(request))
    }
}
