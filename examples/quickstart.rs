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

use gerbang::cuan10pay::Cuan10payClient;
use gerbang::sandbox::{Sandbox, SandboxHandle};
use gerbang::{Channel, Error, Money, PaymentProvider, PaymentRequest, ProviderId, WebhookRequest, env_var};
use gerbang_examples::{WebhookInbox, cuan10pay_sandbox_client};

/// How long to wait for the sandbox's webhook.
const WEBHOOK_WAIT: Duration = Duration::from_secs(10);

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
    fn new(gateway: ProviderId, mode: &'static str) -> Self {
        let dash = || "-".to_owned();
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

/// Where the sandbox run of each gateway sends its webhooks.
fn webhook_path(gateway: ProviderId) -> String {
    format!("/webhooks/{gateway}")
}

/// The common flow through the trait: what every gateway shares.
async fn walk(
    gateway: &dyn PaymentProvider,
    request: PaymentRequest,
    sandbox: Option<(&SandboxHandle, &mut WebhookInbox)>,
    row: &mut Row,
) -> Result<(), Error> {
    let payment = gateway.create_payment(&request).await?;
    let id = payment.provider_reference.clone().unwrap_or_default();
    row.payment = id.clone();
    row.created = payment.status.to_string();

    let Some((sandbox, inbox)) = sandbox else {
        row.paid = format!("pay at {}", payment.checkout_url.as_deref().unwrap_or("the gateway"));
        row.webhook = "arrives at your public URL".into();
        row.status = gateway.payment_status(&id).await?.status.to_string();
        return Ok(());
    };

    let paid = sandbox.pay(gateway.id(), &id).await.map_err(|e| Error::config(format!("sandbox: {e}")))?;
    row.paid = paid.to_string();

    let delivery = inbox.next(WEBHOOK_WAIT).await.ok_or_else(|| Error::decode("webhook: none arrived in time"))?;
    let request = WebhookRequest::new(delivery.method, &delivery.path, &delivery.headers, &delivery.body);
    let event = gateway.verify_webhook(&request).await?;
    row.webhook = format!("{} verified, ack {}", event.provider_status, event.ack().status);

    row.status = gateway.payment_status(&id).await?.status.to_string();
    Ok(())
}

fn order_reference() -> String {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default();
    format!("QUICKSTART-{now}")
}

async fn cuan10pay(sandbox: &SandboxHandle, inbox: &mut WebhookInbox) -> Row {
    let live = matches!(env_var(gerbang::cuan10pay::ENV_API_KEY), Ok(Some(_)));
    let mut row = Row::new(ProviderId::Cuan10pay, if live { "live" } else { "sandbox" });
    let client = if live { Cuan10payClient::from_env() } else { cuan10pay_sandbox_client(sandbox) };
    let request = PaymentRequest::builder(order_reference(), Money::idr(150_000))
        .channel(Channel::Qris)
        .customer_name("Budi Santoso")
        .description("Quickstart: 2 x Kopi Susu")
        .expires_in(Duration::from_secs(30 * 60))
        .build();
    let result = match (client, request) {
        (Ok(client), Ok(request)) => walk(&client, request, (!live).then_some((sandbox, inbox)), &mut row).await,
        (Err(e), _) | (_, Err(e)) => Err(e),
    };
    if let Err(error) = result {
        row.status = format!("FAILED: {error}");
    }
    row
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
        let sandbox = Sandbox::builder()
            .webhook_url(ProviderId::Cuan10pay, inbox.url(&webhook_path(ProviderId::Cuan10pay)))
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
    println!("gerbang quickstart: sandbox at {}\n", sandbox.url());

    let rows = vec![cuan10pay(&sandbox, &mut inbox).await];
    print_table(&rows);

    let failed = rows.iter().filter(|r| r.status.starts_with("FAILED")).count();
    if failed > 0 {
        eprintln!("\n{failed} gateway(s) failed");
        return ExitCode::FAILURE;
    }
    println!("\nEvery gateway went create -> pay -> signed webhook verified -> status.");
    ExitCode::SUCCESS
}
