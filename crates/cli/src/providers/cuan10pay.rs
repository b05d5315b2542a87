//! `gerbang cuan10pay …`: the common commands plus invoices and the three catalogues.

use std::time::Duration;

use clap::{Args, Subcommand};
use gerbang::cuan10pay::{
    Cuan10payClient, Cuan10payConfigBuilder, PpobOrderRequest, SmmOrderRequest, VoucherOrderRequest, WebhookVerifier,
};
use gerbang::{Error, WebhookEvent, WebhookRequest};

use crate::common::{PaymentCommand, print_json, run_payment_command};
use crate::stores;

#[derive(Debug, Args)]
pub(crate) struct Cuan10payArgs {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    #[command(flatten)]
    Payment(PaymentCommand),
    /// Invoices.
    Invoice {
        #[command(subcommand)]
        command: InvoiceCommand,
    },
    /// PPOB: phone credit, data and bills.
    Ppob {
        #[command(subcommand)]
        command: PpobCommand,
    },
    /// SMM: social-media services.
    Smm {
        #[command(subcommand)]
        command: SmmCommand,
    },
    /// Game vouchers.
    Voucher {
        #[command(subcommand)]
        command: VoucherCommand,
    },
}

#[derive(Debug, Subcommand)]
enum InvoiceCommand {
    /// An invoice's payment status.
    Status {
        /// The invoice reference.
        reference: String,
    },
}

/// `--ref` and `--callback-url`, shared by the three kinds of order.
#[derive(Debug, Args)]
struct OrderOptions {
    /// Your own reference for the order.
    #[arg(long = "ref")]
    reference: Option<String>,
    /// Where Cuan10pay sends the order's webhook.
    #[arg(long)]
    callback_url: Option<String>,
}

#[derive(Debug, Subcommand)]
enum PpobCommand {
    /// The PPOB catalogue.
    Products {
        /// Only this operator's products (telkomsel, xl, …).
        #[arg(long)]
        operator: Option<String>,
    },
    /// Order a PPOB product.
    Order {
        /// The product code.
        #[arg(long)]
        product_code: String,
        /// The phone number or account id to top up.
        #[arg(long)]
        target: String,
        #[command(flatten)]
        options: OrderOptions,
    },
}

#[derive(Debug, Subcommand)]
enum SmmCommand {
    /// The SMM catalogue.
    Services {
        /// Only this category's services.
        #[arg(long)]
        category: Option<String>,
    },
    /// Order an SMM service.
    Order {
        /// The service id.
        #[arg(long)]
        service_id: u64,
        /// The link, username or post URL.
        #[arg(long)]
        link: String,
        /// How many to deliver.
        #[arg(long)]
        quantity: u64,
        #[command(flatten)]
        options: OrderOptions,
    },
}

#[derive(Debug, Subcommand)]
enum VoucherCommand {
    /// The voucher catalogue.
    Products {
        /// Only this game's vouchers (ml, ff, pubg, …).
        #[arg(long)]
        game: Option<String>,
    },
    /// Order a voucher.
    Order {
        /// The product code.
        #[arg(long)]
        product_code: String,
        /// The player's id.
        #[arg(long)]
        player_id: String,
        /// The player's server or zone, where the game has them.
        #[arg(long)]
        server_id: Option<String>,
        #[command(flatten)]
        options: OrderOptions,
    },
}

impl OrderOptions {
    /// Applies the shared options to any order request that has `reference` and `callback_url`.
    fn fill(self, reference: &mut Option<String>, callback_url: &mut Option<String>) {
        *reference = self.reference;
        *callback_url = self.callback_url;
    }
}

/// The client from the environment, its rate budget in the store `GERBANG_STORE_URL` names (one
/// budget for every process given a Redis URL; see [`crate::stores`]).
pub(crate) async fn client(base_url: Option<&str>) -> Result<Cuan10payClient, Error> {
    let mut builder = Cuan10payConfigBuilder::from_env()?;
    if let Some(url) = base_url {
        builder = builder.base_url(url);
    }
    if let Some(store) = stores::rate_store().await? {
        builder = builder.rate_store(store);
    }
    Ok(Cuan10payClient::new(builder.build().map_err(super::name_the_flag)?))
}

pub(crate) fn verify_webhook(request: &WebhookRequest<'_>, tolerance: Option<Duration>) -> Result<WebhookEvent, Error> {
    let mut verifier = WebhookVerifier::from_env()?;
    if let Some(t) = tolerance {
        verifier = verifier.with_tolerance(t);
    }
    verifier.verify(request)
}

impl Cuan10payArgs {
    pub(crate) async fn run(self, base_url: Option<&str>) -> Result<(), Error> {
        let client = client(base_url).await?;
        match self.command {
            Command::Payment(command) => run_payment_command(&client, &command).await,
            Command::Invoice { command: InvoiceCommand::Status { reference } } => {
                print_json(&client.invoice_status(&reference).await?)
            }
            Command::Ppob { command: PpobCommand::Products { operator } } => {
                print_json(&client.ppob_products(operator.as_deref()).await?)
            }
            Command::Ppob { command: PpobCommand::Order { product_code, target, options } } => {
                let mut request = PpobOrderRequest::new(product_code, target);
                options.fill(&mut request.reference, &mut request.callback_url);
                print_json(&client.ppob_order(&request).await?)
            }
            Command::Smm { command: SmmCommand::Services { category } } => {
                print_json(&client.smm_services(category.as_deref()).await?)
            }
            Command::Smm { command: SmmCommand::Order { service_id, link, quantity, options } } => {
                let mut request = SmmOrderRequest::new(service_id, link, quantity);
                options.fill(&mut request.reference, &mut request.callback_url);
                print_json(&client.smm_order(&request).await?)
            }
            Command::Voucher { command: VoucherCommand::Products { game } } => {
                print_json(&client.voucher_products(game.as_deref()).await?)
            }
            Command::Voucher { command: VoucherCommand::Order { product_code, player_id, server_id, options } } => {
                let mut request = VoucherOrderRequest::new(product_code, player_id);
                request.server_id = server_id;
                options.fill(&mut request.reference, &mut request.callback_url);
                print_json(&client.voucher_order(&request).await?)
            }
        }
    }
}
