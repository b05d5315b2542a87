//! One module per gateway: its client from the environment and its own commands.

pub(crate) mod cuan10pay;

use std::time::Duration;

use gerbang::{Error, ProviderId, WebhookEvent, WebhookRequest};

/// Verifies a webhook with the gateway's verifier, built from the environment. Only the secret
/// the verification needs is read, so a webhook host need not hold the API key.
pub(crate) async fn verify_webhook(
    provider: ProviderId,
    request: &WebhookRequest<'_>,
    tolerance: Option<Duration>,
) -> Result<WebhookEvent, Error> {
    match provider {
        ProviderId::Cuan10pay => cuan10pay::verify_webhook(request, tolerance),
        other => Err(Error::Unsupported { provider: other, operation: "webhook verification in this build" }),
    }
}
