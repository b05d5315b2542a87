//! `gerbang crypto-invoice create|status`: invoices priced in fiat, paid in coins.

use clap::Args;
use gerbang::crypto_invoice::{CryptoInvoiceClient, CryptoInvoiceConfigBuilder, WebhookVerifier};
use gerbang::{Error, WebhookEvent, WebhookRequest};

use crate::common::{PaymentCommand, run_payment_command};

#[derive(Debug, Args)]
pub(crate) struct CryptoInvoiceArgs {
    #[command(subcommand)]
    command: PaymentCommand,
}

pub(crate) fn client(base_url: Option<&str>) -> Result<CryptoInvoiceClient, Error> {
    let mut builder = CryptoInvoiceConfigBuilder::from_env()?;
    if let Some(url) = base_url {
        builder = builder.base_url(url);
    }
    Ok(CryptoInvoiceClient::new(builder.build().map_err(super::name_the_flag)?))
}

/// Needs only `GERBANG_CRYPTO_INVOICE_PRIVATE_KEY`, the secret the callback carries. The callback
/// has no timestamp, so there is no tolerance to apply.
pub(crate) fn verify_webhook(request: &WebhookRequest<'_>) -> Result<WebhookEvent, Error> {
    WebhookVerifier::from_env()?.verify(request)
}

impl CryptoInvoiceArgs {
    pub(crate) async fn run(self, base_url: Option<&str>) -> Result<(), Error> {
        run_payment_command(&client(base_url)?, &self.command).await
    }
}
