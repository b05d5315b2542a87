//! `gerbang ciputra create|status|cancel`, `gerbang ciputra registration status ID`.

use clap::{Args, Subcommand};
use gerbang::ciputra::{CiputraClient, CiputraConfigBuilder};
use gerbang::{Error, PaymentProvider, WebhookEvent, WebhookRequest};

use crate::common::{PaymentCommand, print_json, run_payment_command};
use crate::stores;

#[derive(Debug, Args)]
pub(crate) struct CiputraArgs {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    #[command(flatten)]
    Payment(PaymentCommand),
    /// Auto-debit registrations.
    Registration {
        #[command(subcommand)]
        command: RegistrationCommand,
    },
}

#[derive(Debug, Subcommand)]
enum RegistrationCommand {
    /// A registration's state.
    Status {
        /// The registration's `external_id`.
        external_id: String,
    },
}

/// The client from the environment, its token in the store `GERBANG_STORE_URL` names (one token
/// for every process given a Redis URL; see [`crate::stores`]).
pub(crate) async fn client(base_url: Option<&str>) -> Result<CiputraClient, Error> {
    let mut builder = CiputraConfigBuilder::from_env()?;
    if let Some(url) = base_url {
        builder = builder.base_url(url);
    }
    if let Some(store) = stores::token_store().await? {
        builder = builder.token_store(store);
    }
    Ok(CiputraClient::new(builder.build().map_err(super::name_the_flag)?))
}

/// Ciputra's callback is unsigned: it is confirmed by fetching the transaction's status, so this
/// needs the API credentials.
pub(crate) async fn verify_webhook(
    request: &WebhookRequest<'_>,
    base_url: Option<&str>,
) -> Result<WebhookEvent, Error> {
    client(base_url).await?.verify_webhook(request).await
}

impl CiputraArgs {
    pub(crate) async fn run(self, base_url: Option<&str>) -> Result<(), Error> {
        let client = client(base_url).await?;
        match self.command {
            Command::Payment(command) => run_payment_command(&client, &command).await,
            Command::Registration { command: RegistrationCommand::Status { external_id } } => {
                print_json(&client.registration_status(&external_id).await?)
            }
        }
    }
}
