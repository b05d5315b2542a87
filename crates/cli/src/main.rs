//! `gerbang`: create payments, check their status, verify webhooks and run the sandbox, from a
//! shell. Results are JSON on stdout; an error is one line on stderr with exit code 1, and bad
//! usage exits with 2. Credentials come from the environment (`GERBANG_<GATEWAY>_*`).
#![forbid(unsafe_code)]
// The command enums are built once per process by clap: their variants' sizes do not matter.
#![allow(clippy::large_enum_variant)]

mod common;
mod events;
mod forward;
mod listen;
mod logging;
mod providers;
mod receive;
mod route;
mod sandbox;
mod service;
mod stores;
mod watched;
mod webhook;

use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

/// Indonesian payment gateways from the command line.
#[derive(Debug, Parser)]
#[command(name = "gerbang", version, about, long_about = None)]
struct Cli {
    /// Use this base URL instead of the gateway's (the sandbox's, a test server…).
    #[arg(long, global = true)]
    base_url: Option<String>,
    /// How log lines on stderr are written: `text`, or `json` (one object per line, the
    /// command's own lines included). The level is `RUST_LOG`'s (default: `info` for `webhook
    /// serve` and `sandbox serve`, `warn` otherwise).
    #[arg(long, global = true, env = "GERBANG_LOG_FORMAT", value_enum, default_value_t = logging::LogFormat::Text)]
    log_format: logging::LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Cuan10pay: deposits, invoices, PPOB, SMM and vouchers.
    Cuan10pay(providers::cuan10pay::Cuan10payArgs),
    /// Cash In: hosted checkout (QRIS, bank transfer) and its status.
    Cashin(providers::cashin::CashinArgs),
    /// QRIS invoices, balance and withdrawals to DANA.
    Qris(providers::qris::QrisArgs),
    /// Crypto invoices, priced in fiat and paid in coins.
    CryptoInvoice(providers::crypto_invoice::CryptoInvoiceArgs),
    /// Ciputra Life e-payment: transactions and auto-debit registrations.
    Ciputra(providers::ciputra::CiputraArgs),
    /// Webhooks.
    Webhook {
        #[command(subcommand)]
        command: WebhookCommand,
    },
    /// One payment through several gateways, failing over only when it provably does not exist.
    Route {
        #[command(subcommand)]
        command: route::RouteCommand,
    },
    /// The payments the ledger watches (recorded by `create --store`), as JSON.
    Watched(watched::WatchedArgs),
    /// The events `webhook serve --forward-to` delivers: their history, and replay.
    Events {
        #[command(subcommand)]
        command: events::EventsCommand,
    },
    /// The local gateway emulator.
    Sandbox {
        #[command(subcommand)]
        command: sandbox::SandboxCommand,
    },
}

#[derive(Debug, Subcommand)]
enum WebhookCommand {
    /// Verify a webhook and print the event.
    Verify(webhook::VerifyArgs),
    /// Receive webhooks for every configured gateway; print each new event as a JSON line.
    Serve(receive::ServeArgs),
    /// Print a fresh `whsec_…` secret (32 random bytes from the operating system) for
    /// `webhook serve --forward-secret` and the application that verifies what it forwards.
    Secret,
}

async fn run(cli: Cli) -> Result<(), common::Failed> {
    let base_url = cli.base_url.as_deref();
    let done = match cli.command {
        Command::Cuan10pay(args) => args.run(base_url).await,
        Command::Cashin(args) => args.run(base_url).await,
        Command::Qris(args) => args.run(base_url).await,
        Command::CryptoInvoice(args) => args.run(base_url).await,
        Command::Ciputra(args) => args.run(base_url).await,
        Command::Webhook { command: WebhookCommand::Verify(args) } => common::print_json(&args.run(base_url).await?),
        Command::Webhook { command: WebhookCommand::Serve(args) } => args.run().await,
        Command::Webhook { command: WebhookCommand::Secret } => webhook::print_secret(),
        Command::Route { command } => return command.run().await,
        Command::Watched(args) => args.run().await,
        Command::Events { command } => command.run().await,
        Command::Sandbox { command } => command.run().await,
    };
    Ok(done?)
}

impl Cli {
    /// What clap cannot check by itself: a usage error, if any (exit code 2).
    fn usage_error(&self) -> Option<clap::Error> {
        let Command::Route { command: route::RouteCommand::Create(args) } = &self.command else { return None };
        let error = |message: String| Some(Cli::command().error(clap::error::ErrorKind::ArgumentConflict, message));
        if self.base_url.is_some() {
            return error(
                "route create talks to several gateways: set each one's base URL in its variable \
                 (GERBANG_CUAN10PAY_BASE_URL, GERBANG_CASHIN_BASE_URL, …) instead of --base-url"
                    .to_owned(),
            );
        }
        args.repeated_gateway().and_then(|id| error(format!("--via names {id} twice: give each gateway once")))
    }

    /// The level logged when `RUST_LOG` is not set: a service's decisions for the commands that
    /// run as one, only what went wrong for the others (their result is on stdout).
    fn default_log_level(&self) -> tracing_subscriber::filter::LevelFilter {
        use tracing_subscriber::filter::LevelFilter;
        match &self.command {
            Command::Webhook { command: WebhookCommand::Serve(_) } => LevelFilter::INFO,
            Command::Sandbox { command: sandbox::SandboxCommand::Serve(_) } => LevelFilter::INFO,
            _ => LevelFilter::WARN,
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse(); // exits with 2 on bad usage
    if let Some(error) = cli.usage_error() {
        error.exit(); // 2 as well
    }
    let traces = logging::init(cli.log_format, cli.default_log_level());
    let code = match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(common::Failed(error)) => {
            // One line, whatever the message holds.
            logging::say(logging::Level::Error, &format!("error: {error}"));
            ExitCode::FAILURE
        }
    };
    // The spans still queued go out now (after a drain: its spans included), within 5 s; off the
    // runtime's threads, since it waits for the collector.
    if let Some(traces) = traces {
        let _ = tokio::task::spawn_blocking(move || drop(traces)).await;
    }
    code
}
