//! The common payment flow ([`PaymentProvider`]) on top of Ciputra's transactions.

use async_trait::async_trait;
use gerbang_core::{
    Capabilities, ClaimedId, Error, LookupKey, Payment, PaymentProvider, PaymentRequest, PaymentStatus, ProviderId,
    WebhookEvent, WebhookRequest, WebhookSupport,
};
use serde_json::Value;

use crate::callback::{ack, parse_callback};
use gerbang_core::{ChannelKind, CreateLimits, Field};

use crate::client::CiputraClient;
use crate::convert;
use crate::request::TransactionRequest;

/// What a charge takes (`seeds/004_627801bf8e050898.txt`; PROVIDERS.md §5): whole rupiah, the
/// customer's name (required by the gateway), and a place for every other field
/// (`convert::charge_request`, whose decision says where each goes).
pub const CREATE_LIMITS: CreateLimits = CreateLimits::none()
    .currencies(&["IDR"])
    .channels(
        &[
            ChannelKind::Qris,
            ChannelKind::VirtualAccount,
            ChannelKind::EWallet,
            ChannelKind::CreditCard,
            ChannelKind::Retail,
            ChannelKind::Other,
        ],
        false,
    )
    .requires(&[&[Field::CustomerName]])
    .source("seeds/004_627801bf8e050898.txt: transaction, action=charge (name, amount, paytype, paycode)");

/// A payment is a Ciputra transaction, keyed by the merchant's **`external_id`**:
///
/// - `create_payment` is the transaction call with `action=charge`; the payment's `reference`
///   becomes `external_id`, the channel `paytype`/`paycode` (`qris`, `card`, `va:<bank>`,
///   `ewallet:<gopay|ovo|dana>`, `retail:<alfamart|indomaret>`, `paytype:paycode`, or none for
///   the cashier page with every channel), the amount a string of whole rupiah, and
///   `customer.name` is required. See the crate docs for where every other field goes.
/// - `payment_status` and `cancel_payment` take the **`external_id`** (the payment's
///   `reference`); cancel is the transaction call with `action=cancel`.
/// - `verify_webhook` reads the (undocumented, unsigned) callback only for its `external_id`,
///   then **fetches the transaction's status** and builds the event from that answer: the body is
///   never trusted for the state ([`WebhookSupport::ConfirmedByStatus`]). The event's `raw` is
///   the status answer's `data` (what was verified); the callback body is in its `unverified`.
///   The status calls callbacks cost are shared per `external_id` and bounded (see the crate
///   docs, "The callback"); `webhook_claims` names the `external_id` so that a receiver with a
///   ledger can refuse an unknown one before any call.
#[async_trait]
impl PaymentProvider for CiputraClient {
    fn id(&self) -> ProviderId {
        ProviderId::Ciputra
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::new(WebhookSupport::ConfirmedByStatus)
            .with_cancel()
            .looked_up_by(LookupKey::Reference)
            .with_limits(CREATE_LIMITS)
    }

    async fn create_payment(&self, request: &PaymentRequest) -> Result<Payment, Error> {
        let charge = convert::charge_request(request)?;
        let (result, raw) = self
            .transaction_with_raw(&charge)
            .await
            .map_err(|e| e.about_payment(&request.reference, self.capabilities().lookup))?;
        let mut payment = convert::result_payment(&result, raw, PaymentStatus::Pending);
        payment.reference = Some(request.reference.clone());
        // The charge's answer carries no amount: it is the one asked for, which the gateway
        // accepted.
        payment.amount = Some(request.amount.clone());
        Ok(payment)
    }

    async fn payment_status(&self, external_id: &str) -> Result<Payment, Error> {
        let (status, raw) = self.transaction_status_with_raw(external_id).await?;
        convert::status_payment(&status, raw)
    }

    async fn cancel_payment(&self, external_id: &str) -> Result<Payment, Error> {
        let (result, raw) = self.transaction_with_raw(&TransactionRequest::cancel(external_id)).await?;
        let mut payment = convert::result_payment(&result, raw, PaymentStatus::Cancelled);
        payment.reference.get_or_insert_with(|| external_id.to_owned());
        Ok(payment)
    }

    async fn verify_webhook(&self, request: &WebhookRequest<'_>) -> Result<WebhookEvent, Error> {
        let (hint, body) = parse_callback(request)?;
        let external_id = hint.external_id.ok_or_else(|| {
            Error::decode("Ciputra callback: no `external_id` in it, so there is no transaction to confirm it with")
        })?;
        let (status, raw) = self.confirming_status(&external_id).await?;
        if let (Some(claimed), Some(actual)) = (&hint.order_id, &status.order_id)
            && claimed != actual
        {
            return Err(Error::invalid_signature(
                "the callback's order_id is not the one the gateway holds for its external_id; it is not trusted",
            ));
        }
        let payment = convert::status_payment(&status, raw)?;
        let mut event = WebhookEvent::new(ProviderId::Ciputra, payment.status, payment.provider_status, ack());
        event.reference = payment.reference.or(Some(external_id));
        event.provider_reference = payment.provider_reference;
        event.amount = payment.amount;
        event.occurred_at = status.transaction_time.as_deref().and_then(convert::local_time);
        // What was verified is the status answer; the callback is kept apart, named as such.
        event.raw = payment.raw;
        event.unverified = Some(Value::Object(body));
        Ok(event)
    }

    /// The callback's `external_id`, the merchant's reference, read without any call.
    fn webhook_claims(&self, request: &WebhookRequest<'_>) -> Option<ClaimedId> {
        let (hint, _) = parse_callback(request).ok()?;
        Some(ClaimedId::new(hint.external_id?, LookupKey::Reference))
    }
}
