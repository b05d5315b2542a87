//! `gerbang cashin create|status`: Cash In's hosted checkout through the common commands.

use std::time::Duration;

use clap::Args;
use gerbang::cashin::{CashinClient, CashinConfigBuilder, WebhookVerifier};
use gerbang::{Error, WebhookEvent, WebhookRequest};

use crate::common::{PaymentCommand, run_payment_command};

#[derive(Debug, Args)]
pub(crate) struct CashinArgs {
    #[command(subcommand)]
    command: PaymentCommand,
}

/// The path Cash In posts its notification to, and signs, unless told otherwise.
pub(crate) use gerbang::cashin::NOTIFY_PATH;

pub(crate) fn client(base_url: Option<&str>) -> Result<CashinClient, Error> {
    let mut builder = CashinConfigBuilder::from_env()?;
    if let Some(url) = base_url {
        builder = builder.base_url(url);
    }
    Ok(CashinClient::new(builder.build().map_err(super::name_the_flag)?))
}

/// Needs only `GERBANG_CASHIN_PUBLIC_KEY`: a host that receives notifications need not hold the
/// secret key.
pub(crate) fn verify_webhook(request: &WebhookRequest<'_>, tolerance: Option<Duration>) -> Result<WebhookEvent, Error> {
    let mut verifier = WebhookVerifier::from_env()?;
    if let Some(t) = tolerance {
        verifier = verifier.with_tolerance(t);
    }
    verifier.verify(request)
}

impl CashinArgs {
    pub(crate) async fn run(self, base_url: Option<&str>) -> Result<(), Error> {
        run_payment_command(&client(base_url)?, &self.command).await
    }
}
