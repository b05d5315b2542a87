//! `gerbang qris create|status|cancel|balance`, `gerbang qris withdraw create|status|history`.

use clap::{Args, Subcommand};
use futures_util::TryStreamExt;
use gerbang::Error;
use gerbang::qris::{QrisClient, QrisConfigBuilder, WithdrawHistoryQuery, WithdrawRequest, WithdrawalStatus};

use crate::common::{PaymentCommand, print_json, run_payment_command};

#[derive(Debug, Args)]
pub(crate) struct QrisArgs {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    #[command(flatten)]
    Payment(PaymentCommand),
    /// The merchant's balance.
    Balance,
    /// Withdrawals to a DANA account.
    Withdraw {
        #[command(subcommand)]
        command: WithdrawCommand,
    },
}

#[derive(Debug, Subcommand)]
enum WithdrawCommand {
    /// Withdraw to a DANA account.
    Create {
        /// Whole rupiah.
        #[arg(long)]
        amount: i64,
        /// The DANA account's phone number (digits).
        #[arg(long)]
        account_number: String,
        /// The account holder's name.
        #[arg(long)]
        account_name: String,
    },
    /// A withdrawal's state.
    Status {
        /// The `withdraw_id` the gateway gave it.
        withdraw_id: String,
    },
    /// Past withdrawals: one page, or every page with `--all` (printed as one JSON list).
    History {
        /// The page, from 1.
        #[arg(long, conflicts_with = "all")]
        page: Option<u32>,
        /// Withdrawals per page.
        #[arg(long)]
        limit: Option<u32>,
        /// Only this status: pending, success or rejected.
        #[arg(long)]
        status: Option<String>,
        /// Walk every page.
        #[arg(long)]
        all: bool,
    },
}

pub(crate) fn client(base_url: Option<&str>) -> Result<QrisClient, Error> {
    let mut builder = QrisConfigBuilder::from_env()?;
    if let Some(url) = base_url {
        builder = builder.base_url(url);
    }
    Ok(QrisClient::new(builder.build().map_err(super::name_the_flag)?))
}

impl QrisArgs {
    pub(crate) async fn run(self, base_url: Option<&str>) -> Result<(), Error> {
        let client = client(base_url)?;
        match self.command {
            Command::Payment(command) => run_payment_command(&client, &command).await,
            Command::Balance => print_json(&client.balance().await?),
            Command::Withdraw { command } => withdraw(&client, command).await,
        }
    }
}

async fn withdraw(client: &QrisClient, command: WithdrawCommand) -> Result<(), Error> {
    match command {
        WithdrawCommand::Create { amount, account_number, account_name } => {
            print_json(&client.withdraw_dana(&WithdrawRequest::new(amount, account_number, account_name)).await?)
        }
        WithdrawCommand::Status { withdraw_id } => print_json(&client.withdraw_status(&withdraw_id).await?),
        WithdrawCommand::History { page, limit, status, all } => {
            let mut query = WithdrawHistoryQuery::new();
            if let Some(page) = page {
                query = query.page(page);
            }
            if let Some(limit) = limit {
                query = query.limit(limit);
            }
            if let Some(status) = status {
                query = query.status(WithdrawalStatus::parse(&status));
            }
            if all {
                let every: Vec<_> = client.withdraw_history_stream(query).try_collect().await?;
                print_json(&every)
            } else {
                print_json(&client.withdraw_history(&query).await?)
            }
        }
    }
}
