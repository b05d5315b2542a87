//! One module per gateway: its client from the environment and its own commands.

pub(crate) mod cashin;
pub(crate) mod ciputra;
pub(crate) mod crypto_invoice;
pub(crate) mod cuan10pay;
pub(crate) mod qris;

use std::sync::Arc;
use std::time::Duration;

use gerbang::{Error, PaymentProvider, ProviderId, WebhookEvent, WebhookRequest};

/// The client of gateway `id`, from its variables (`GERBANG_<GATEWAY>_*`, its base URL
/// included), as its own commands build it: Cuan10pay's rate budget and Ciputra's token in the
/// shared store, when there is one.
pub(crate) async fn client(id: ProviderId) -> Result<Arc<dyn PaymentProvider>, Error> {
    Ok(match id {
        ProviderId::Cuan10pay => Arc::new(cuan10pay::client(None).await?),
        ProviderId::CashIn => Arc::new(cashin::client(None)?),
        ProviderId::Qris => Arc::new(qris::client(None)?),
        ProviderId::CryptoInvoice => Arc::new(crypto_invoice::client(None)?),
        ProviderId::Ciputra => Arc::new(ciputra::client(None).await?),
        other => return Err(Error::Unsupported { provider: other, operation: "payments in this build" }),
    })
}

/// A client's configuration error, naming the `--base-url` flag beside the variable where the
/// base URL is what is missing (QRIS and Ciputra publish no host: it must be given).
pub(crate) fn name_the_flag(error: Error) -> Error {
    match error {
        Error::Config { message } if message.contains("base URL") || message.contains("_BASE_URL") => {
            Error::config(format!("{message}; or pass --base-url URL"))
        }
        other => other,
    }
}

/// Verifies a webhook with the gateway's verifier, built from the environment. Only the secret
/// the verification needs is read, so a webhook host need not hold the API key (except for
/// Ciputra, whose unsigned callback is confirmed by asking the gateway).
pub(crate) async fn verify_webhook(
    provider: ProviderId,
    request: &WebhookRequest<'_>,
    tolerance: Option<Duration>,
    base_url: Option<&str>,
) -> Result<WebhookEvent, Error> {
    match provider {
        ProviderId::Cuan10pay => cuan10pay::verify_webhook(request, tolerance),
        ProviderId::CashIn => cashin::verify_webhook(request, tolerance),
        ProviderId::CryptoInvoice => crypto_invoice::verify_webhook(request),
        ProviderId::Ciputra => ciputra::verify_webhook(request, base_url).await,
        other => Err(Error::Unsupported { provider: other, operation: "webhook verification in this build" }),
    }
}
