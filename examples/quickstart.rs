//! The whole flow, for every gateway: create a payment, pay it, receive and verify the signed
//! webhook, read the status back.
//!
//! ```sh
//! cargo run --example quickstart
//! ```
//!
//! With no credentials in the environment it starts the sandbox in-process and runs against it.
//! With a gateway's credentials set (`GERBANG_CUAN10PAY_API_KEY`, …) that gateway is the real one:
//! the payment is created for real, and the steps that need a customer or a public webhook URL
//! are shown as what to do next instead.
#![allow(clippy::print_stdout, clippy::print_stderr)] // printing is this program's job

use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use gerbang::cashin::{CashinClient, NOTIFY_PATH};
use gerbang::ciputra::CiputraClient;
use gerbang::crypto_invoice::CryptoInvoiceClient;
use gerbang::cuan10pay::Cuan10payClient;
use gerbang::qris::QrisClient;
use gerbang::sandbox::{Sandbox, SandboxHandle};
use gerbang::{
    Bank, Channel, Error, Money, PaymentProvider, PaymentRequest, PaymentRequestBuilder, ProviderId, WebhookRequest,
    env_var,
};
use gerbang_examples::{
    WebhookInbox, cashin_sandbox_client, ciputra_sandbox_client, crypto_invoice_sandbox_client,
    cuan10pay_sandbox_client, qris_sandbox_client,
};

/// How long to wait for the sandbox's webhook, or for a polled payment.
const WAIT: Duration = Duration::from_secs(10);

/// One line of the table.
struct Row {
    gateway: ProviderId,
    mode: &'static str,
    payment: String,
    created: String,
    paid: String,
    webhook: String,
    status: String,
}

impl Row {
    fn new(gateway: ProviderId, live: bool) -> Self {
        let dash = || "-".to_owned();
        let mode = if live { "live" } else { "sandbox" };
        Self { gateway, mode, payment: dash(), created: dash(), paid: dash(), webhook: dash(), status: dash() }
    }

    fn cells(&self) -> [String; 7] {
        [
            self.gateway.to_string(),
            self.mode.to_owned(),
            self.payment.clone(),
            self.created.clone(),
            self.paid.clone(),
            self.webhook.clone(),
            self.status.clone(),
        ]
    }
}

/// Where the sandbox run of each gateway sends its webhooks. Cash In's notification goes to the
/// path its document names, which the signature covers.
fn webhook_path(gateway: ProviderId) -> String {
    match gateway {
        ProviderId::CashIn => NOTIFY_PATH.to_owned(),
        other => format!("/webhooks/{other}"),
    }
}

/// How the run learns that the sandbox's customer paid.
enum Arrival<'a> {
    /// The gateway's webhook, received by the inbox and verified.
    Webhook(&'a mut WebhookInbox),
    /// No webhook exists (QRIS): poll the status until it is final.
    Poll(&'a QrisClient),
}

/// The common flow through the trait: what every gateway shares.
async fn walk(
    gateway: &dyn PaymentProvider,
    request: PaymentRequest,
    sandbox: Option<(&SandboxHandle, Arrival<'_>)>,
    row: &mut Row,
) -> Result<(), Error> {
    let payment = gateway.create_payment(&request).await?;
    // The id status takes: the gateway's own, or the merchant's reference (its capabilities say).
    let id = payment.lookup_id(gateway.capabilities().lookup).unwrap_or_default().to_owned();
    row.payment = id.clone();
    row.created = payment.status.to_string();

    let Some((sandbox, arrival)) = sandbox else {
        row.paid = format!("pay at {}", payment.checkout_url.as_deref().unwrap_or("the gateway"));
        row.webhook = "arrives at your public URL".into();
        row.status = gateway.payment_status(&id).await?.status.to_string();
        return Ok(());
    };

    let paid = sandbox.pay(gateway.id(), &id).await.map_err(|e| Error::config(format!("sandbox: {e}")))?;
    row.paid = paid.to_string();

    row.webhook = match arrival {
        Arrival::Webhook(inbox) => {
            let delivery = inbox.next(WAIT).await.ok_or_else(|| Error::decode("webhook: none arrived in time"))?;
            let request = WebhookRequest::new(delivery.method, &delivery.path, &delivery.headers, &delivery.body);
            let event = gateway.verify_webhook(&request).await?;
            format!("{} verified, ack {}", event.provider_status, event.ack().status)
        }
        Arrival::Poll(client) => {
            let invoice = client.wait_for_payment(&id, WAIT).await?;
            format!("none: polled until {}", invoice.status)
        }
    };

    row.status = gateway.payment_status(&id).await?.status.to_string();
    Ok(())
}

fn order_reference(gateway: ProviderId) -> String {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default();
    format!("QS-{}-{now}", gateway.as_str().to_uppercase())
}

/// Whether a gateway runs live (its credentials are in the environment) or against the built-in
/// sandbox, said on one line with the reason: which variable decided, and a warning when it holds
/// the sandbox's own published test key (a shell left with `eval "$(gerbang sandbox env)"`).
fn is_live(gateway: ProviderId, variable: &str, sandbox_key: &str) -> bool {
    let found = env_var(variable).ok().flatten();
    let why = match &found {
        None => format!("sandbox: {variable} is not set"),
        Some(value) if value == sandbox_key => format!(
            "live: {variable} is set, to the sandbox's published test key; its base URL variable decides where \
             calls go. To use the built-in sandbox instead, `unset {variable}`"
        ),
        Some(_) => format!("live: {variable} is set, so this is the real gateway"),
    };
    println!("  {:<15} {why}", gateway.as_str());
    found.is_some()
}

/// The order every gateway is asked to charge, plus what `extra` adds for that gateway.
fn order(
    gateway: ProviderId,
    extra: impl FnOnce(PaymentRequestBuilder) -> PaymentRequestBuilder,
) -> Result<PaymentRequest, Error> {
    extra(PaymentRequest::builder(order_reference(gateway), Money::idr(150_000))).build()
}

/// Runs one gateway's row: the client from the environment when `live`, else the sandbox's.
async fn row<P: PaymentProvider>(
    gateway: ProviderId,
    live: bool,
    client: Result<P, Error>,
    request: Result<PaymentRequest, Error>,
    sandbox: Option<(&SandboxHandle, Arrival<'_>)>,
) -> Row {
    let mut row = Row::new(gateway, live);
    let result = match (client, request) {
        (Ok(client), Ok(request)) => walk(&client, request, sandbox.filter(|_| !live), &mut row).await,
        (Err(e), _) | (_, Err(e)) => Err(e),
    };
    if let Err(error) = result {
        row.status = format!("FAILED: {error}");
    }
    row
}

async fn cuan10pay(sandbox: &SandboxHandle, inbox: &mut WebhookInbox) -> Row {
    let live = is_live(ProviderId::Cuan10pay, gerbang::cuan10pay::ENV_API_KEY, gerbang::sandbox::cuan10pay::API_KEY);
    let client = if live { Cuan10payClient::from_env() } else { cuan10pay_sandbox_client(sandbox) };
    let request = order(ProviderId::Cuan10pay, |b| {
        b.channel(Channel::Qris)
            .customer_name("Budi Santoso")
            .description("Quickstart: 2 x Kopi Susu")
            .expires_in(Duration::from_secs(30 * 60))
    });
    row(ProviderId::Cuan10pay, live, client, request, Some((sandbox, Arrival::Webhook(inbox)))).await
}

async fn cashin(sandbox: &SandboxHandle, inbox: &mut WebhookInbox) -> Row {
    let live = is_live(ProviderId::CashIn, gerbang::cashin::ENV_CLIENT_ID, gerbang::sandbox::cashin::CLIENT_ID);
    let client = if live { CashinClient::from_env() } else { cashin_sandbox_client(sandbox) };
    // Cash In needs the customer's id and phone, and a page to send the customer back to.
    let request = order(ProviderId::CashIn, |b| {
        b.channel(Channel::Qris)
            .customer_id("CUST-42")
            .customer_phone("081234567890")
            .return_url("https://shop.example/orders/42")
            .expires_in(Duration::from_secs(15 * 60))
    });
    row(ProviderId::CashIn, live, client, request, Some((sandbox, Arrival::Webhook(inbox)))).await
}

async fn qris(sandbox: &SandboxHandle) -> Row {
    let live = is_live(ProviderId::Qris, gerbang::qris::ENV_API_KEY, gerbang::sandbox::qris::API_KEY);
    let client = if live { QrisClient::from_env() } else { qris_sandbox_client(sandbox) };
    // The invoice takes an amount and nothing else.
    let request = order(ProviderId::Qris, |b| b);
    let poller = client.as_ref().ok().cloned();
    let sandbox = poller.as_ref().map(|poller| (sandbox, Arrival::Poll(poller)));
    row(ProviderId::Qris, live, client, request, sandbox).await
}

async fn crypto_invoice(sandbox: &SandboxHandle, inbox: &mut WebhookInbox) -> Row {
    let live = is_live(
        ProviderId::CryptoInvoice,
        gerbang::crypto_invoice::ENV_PUBLIC_KEY,
        gerbang::sandbox::crypto_invoice::PUBLIC_KEY,
    );
    let client = if live { CryptoInvoiceClient::from_env() } else { crypto_invoice_sandbox_client(sandbox) };
    // The callback URL travels with each invoice.
    let callback = inbox.url(&webhook_path(ProviderId::CryptoInvoice));
    let request = order(ProviderId::CryptoInvoice, |b| {
        let b = b.customer_email("budi@example.com").description("Quickstart: 2 x Kopi Susu");
        if live { b } else { b.callback_url(callback) }
    });
    row(ProviderId::CryptoInvoice, live, client, request, Some((sandbox, Arrival::Webhook(inbox)))).await
}

async fn ciputra(sandbox: &SandboxHandle, inbox: &mut WebhookInbox) -> Row {
    let live = is_live(ProviderId::Ciputra, gerbang::ciputra::ENV_API_KEY, gerbang::sandbox::ciputra::API_KEY);
    let client = if live { CiputraClient::from_env() } else { ciputra_sandbox_client(sandbox) };
    let callback = inbox.url(&webhook_path(ProviderId::Ciputra));
    let request = order(ProviderId::Ciputra, |b| {
        let b = b.channel(Channel::VirtualAccount(Bank::Bca)).customer_name("Budi Santoso");
        if live { b } else { b.callback_url(callback) }
    });
    row(ProviderId::Ciputra, live, client, request, Some((sandbox, Arrival::Webhook(inbox)))).await
}

fn print_table(rows: &[Row]) {
    let header = ["gateway", "mode", "payment", "created", "paid", "webhook", "status"].map(str::to_owned);
    let lines: Vec<[String; 7]> = std::iter::once(header).chain(rows.iter().map(Row::cells)).collect();
    let widths: Vec<usize> = (0..7).map(|c| lines.iter().map(|l| l[c].chars().count()).max().unwrap_or(0)).collect();
    for (i, line) in lines.iter().enumerate() {
        let cells: Vec<String> = line.iter().zip(&widths).map(|(cell, w)| format!("{cell:<w$}")).collect();
        println!("{}", cells.join(" | ").trim_end());
        if i == 0 {
            println!("{}", widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>().join("-+-"));
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let setup = async {
        let inbox = WebhookInbox::start().await?;
        // Cuan10pay and Cash In take their webhook URL from the merchant's dashboard: the
        // sandbox's builder plays the dashboard. The others take it in each request.
        let sandbox = Sandbox::builder()
            .webhook_url(ProviderId::Cuan10pay, inbox.url(&webhook_path(ProviderId::Cuan10pay)))
            .webhook_url(ProviderId::CashIn, inbox.url(&webhook_path(ProviderId::CashIn)))
            .start()
            .await?;
        Ok::<_, std::io::Error>((inbox, sandbox))
    };
    let (mut inbox, sandbox) = match setup.await {
        Ok(started) => started,
        Err(e) => {
            eprintln!("could not start the sandbox on loopback: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("gerbang quickstart: sandbox at {}", sandbox.url());
    println!("mode of each gateway:");

    let rows = vec![
        cuan10pay(&sandbox, &mut inbox).await,
        cashin(&sandbox, &mut inbox).await,
        qris(&sandbox).await,
        crypto_invoice(&sandbox, &mut inbox).await,
        ciputra(&sandbox, &mut inbox).await,
    ];
    println!();
    print_table(&rows);

    let failed = rows.iter().filter(|r| r.status.starts_with("FAILED")).count();
    if failed > 0 {
        eprintln!("\n{failed} gateway(s) failed");
        return ExitCode::FAILURE;
    }
    println!("\nEvery gateway went create -> pay -> webhook verified (or status polled) -> status.");
    ExitCode::SUCCESS
}
