//! The common payment flow ([`PaymentProvider`]) on top of Cuan10pay's deposits.

use async_trait::async_trait;
use gerbang_core::{
    Capabilities, Error, Payment, PaymentProvider, PaymentRequest, ProviderId, WebhookEvent, WebhookRequest,
    WebhookSupport,
};

use gerbang_core::{ChannelKind, CreateLimits, Field, Refusal, SafeRefusal};

use crate::client::Cuan10payClient;
use crate::convert;

/// What `deposit_create` takes (`seeds/000_b443c682d4d25840.txt`, deposit create: "amount
/// 10 000 – 10 000 000", `channel_code` QRIS or a bank's virtual account, required): a router
/// skips Cuan10pay for anything else without calling it.
pub const CREATE_LIMITS: CreateLimits = CreateLimits::none()
    .currencies(&["IDR"])
    .whole_amount_between(crate::MIN_DEPOSIT_IDR, crate::MAX_DEPOSIT_IDR)
    .channels(&[ChannelKind::Qris, ChannelKind::VirtualAccount, ChannelKind::Other], true)
    // One `return_url`, the webhook URL set in the dashboard, no customer id (convert.rs refuses
    // each of these; `tests/limits.rs` of gerbang-router holds the two to the same list).
    .refuses(&[Field::SuccessUrl, Field::CancelUrl, Field::CallbackUrl, Field::CustomerId])
    .source("seeds/000_b443c682d4d25840.txt: deposit_create, amount 10 000 - 10 000 000, channel_code");

/// The refusals of `deposit_create` after which no deposit exists, so another gateway may be
/// tried: the document's error table (`seeds/000_b443c682d4d25840.txt`, "Error codes") lists
/// them as refusals of the request. (The client's own budget, which sends nothing, is
/// [`Error::BudgetSpent`](gerbang_core::Error::BudgetSpent): safe for every gateway.)
pub const SAFE_REFUSALS: &[SafeRefusal] = &[
    SafeRefusal::new(Refusal::Status(400), "seeds/000: \"400 Bad Request - Validation error\""),
    SafeRefusal::new(Refusal::Unauthorized, "seeds/000: \"401 Unauthorized - Invalid or missing API key/signature\""),
    SafeRefusal::new(Refusal::RateLimited, "seeds/000: \"429 Too Many - Rate limit exceeded\""),
];

/// A payment is a Cuan10pay deposit:
///
/// - `create_payment` is `deposit_create`. The channel is required (`qris`, `va:<bank>` or a
///   Cuan10pay code), the amount must be 10 000 to 10 000 000 whole rupiah, and `success_url`,
///   `cancel_url`, `callback_url` and `customer.id` are refused (Cuan10pay has no such fields;
///   its webhook URL is set in its dashboard). The description, or else the merchant reference,
///   goes into the deposit's `notes`.
/// - `payment_status` takes the **`deposit_id`** (the payment's `provider_reference`).
/// - `cancel_payment` is [`Error::Unsupported`]: Cuan10pay has no such call.
/// - `verify_webhook` is the synchronous [`WebhookVerifier`](crate::WebhookVerifier), then, when
///   the config says
///   [`confirm_webhooks_with_status`](crate::Cuan10payConfigBuilder::confirm_webhooks_with_status)
///   (off by default), a `deposit_status` call that must agree with the webhook
///   ([`Cuan10payClient::confirm_webhook`]): one request of the hourly budget per webhook.
#[async_trait]
impl PaymentProvider for Cuan10payClient {
    fn id(&self) -> ProviderId {
        ProviderId::Cuan10pay
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::new(WebhookSupport::Signed).with_limits(CREATE_LIMITS).with_safe_refusals(SAFE_REFUSALS)
    }

    async fn create_payment(&self, request: &PaymentRequest) -> Result<Payment, Error> {
        let deposit_request = convert::deposit_request(request, &self.config().clock)?;
        let (deposit, raw) = self
            .deposit_create_with_raw(&deposit_request)
            .await
            .map_err(|e| e.about_payment(&request.reference, self.capabilities().lookup))?;
        let mut payment = convert::deposit_payment(deposit, raw)?;
        payment.reference = Some(request.reference.clone());
        // The answer carries no expiry; the one asked for is the one the deposit was made with.
        payment.expires_at = deposit_request.expired_time.and_then(convert::jakarta_time);
        convert::check_amount(&payment, deposit_request.amount)?;
        Ok(payment)
    }

    async fn payment_status(&self, deposit_id: &str) -> Result<Payment, Error> {
        let (deposit, raw) =
            self.deposit_status_with_raw(deposit_id).await.map_err(|e| e.with_lookup_hint(convert::LOOKUP_HINT))?;
        convert::deposit_payment(deposit, raw)
    }

    async fn cancel_payment(&self, _deposit_id: &str) -> Result<Payment, Error> {
        Err(Error::Unsupported { provider: ProviderId::Cuan10pay, operation: "cancel_payment" })
    }

    fn verify_webhook_now(&self, request: &WebhookRequest<'_>) -> Option<Result<WebhookEvent, Error>> {
        // With a confirming status call, not at once.
        (!self.config().confirm_webhooks_with_status).then(|| self.webhook_verifier().verify(request))
    }

    async fn verify_webhook(&self, request: &WebhookRequest<'_>) -> Result<WebhookEvent, Error> {
        let event = self.webhook_verifier().verify(request)?;
        if !self.config().confirm_webhooks_with_status {
            return Ok(event);
        }
        // Boxed: the status call's future is large, and `async_trait` boxes this whole future
        // (copying it in) for every webhook, also those that need no status call.
        Box::pin(self.confirm_webhook(event)).await
    }
}
