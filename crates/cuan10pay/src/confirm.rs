//! Confirming a verified webhook with a status call: the one defence against the forgery the
//! webhook signature leaves open (see [`WebhookVerifier`](crate::WebhookVerifier), "Residual
//! risk").

use gerbang_core::{Error, Money, WebhookEvent};

use crate::client::Cuan10payClient;
use crate::convert::{idr, payment_status};
use crate::wire::Deposit;

impl Cuan10payClient {
    /// Confirms a webhook already verified by the [`WebhookVerifier`](crate::WebhookVerifier):
    /// asks `deposit_status` for the webhook's reference and returns the event only if the
    /// gateway holds that deposit with the same status (normalised: the answer writes `paid`
    /// where the webhook writes `PAID`) and the same amount.
    ///
    /// The client's [`verify_webhook`](gerbang_core::PaymentProvider::verify_webhook) calls it on
    /// every webhook when the config says
    /// [`confirm_webhooks_with_status`](crate::Cuan10payConfigBuilder::confirm_webhooks_with_status);
    /// call it yourself to confirm only some (the paid ones, say). Each call spends one request
    /// of the [rate budget](crate::RateBudget).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidSignature`] when the gateway knows no deposit by that reference (a forged
    /// reference, or the webhook of an order, which `deposit_status` does not hold), or holds it
    /// with another status or amount, or without an amount to compare: the webhook is not to be
    /// trusted. Any error of the call itself ([`Error::RateLimited`], [`Error::Transport`], …) as
    /// it is: answering the gateway with it makes it try again later.
    pub async fn confirm_webhook(&self, event: WebhookEvent) -> Result<WebhookEvent, Error> {
        let reference = event
            .provider_reference
            .as_deref()
            .ok_or_else(|| Error::invalid_signature("the webhook names no deposit to confirm it with"))?;
        let deposit = self.deposit_status(reference).await.map_err(|e| match e {
            Error::NotFound { .. } => Error::invalid_signature(
                "Cuan10pay knows no deposit by the webhook's reference; the webhook is not trusted",
            ),
            other => other,
        })?;
        check_agrees(&event, reference, &deposit)?;
        Ok(event)
    }
}

/// Whether the deposit the gateway holds says what the webhook says.
fn check_agrees(event: &WebhookEvent, reference: &str, deposit: &Deposit) -> Result<(), Error> {
    let refuse = |what: &str| {
        Err(Error::invalid_signature(format!(
            "the webhook's {what} is not the one Cuan10pay's deposit_status gives for its reference; the webhook is not trusted"
        )))
    };
    if deposit.deposit_id != reference {
        return refuse("reference");
    }
    if payment_status(&deposit.status) != event.status {
        return refuse("status");
    }
    let held: Option<Money> = idr(deposit.amount, "amount")?;
    match (&held, &event.amount) {
        (Some(held), Some(claimed)) if held == claimed => Ok(()),
        _ => refuse("amount"),
    }
}
