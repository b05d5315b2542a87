//! Ciputra Life e-payment: a premium charged through a BCA virtual account, its status, the
//! customer paying, the callback received and confirmed by a status call, and an auto-debit
//! registration with its status.
//!
//! ```sh
//! cargo run --example ciputra
//! ```
//!
//! Runs against the in-process sandbox, or the real gateway when `GERBANG_CIPUTRA_API_KEY`,
//! `GERBANG_CIPUTRA_API_SECRET` and `GERBANG_CIPUTRA_BASE_URL` are set (then nobody plays the
//! customer: the example stops after the status).
#![allow(clippy::print_stdout)] // printing is this program's job

use std::time::Duration;

use gerbang::ciputra::{CiputraClient, PayCode, PayType, TransactionRequest};
use gerbang::sandbox::Sandbox;
use gerbang::{Money, PaymentProvider, PaymentRequest, ProviderId, WebhookRequest, env_var};
use gerbang_examples::{WebhookInbox, ciputra_sandbox_client};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let live = env_var(gerbang::ciputra::ENV_API_KEY)?.is_some();
    let sandbox = if live { None } else { Some(Sandbox::builder().start().await?) };
    let client = match &sandbox {
        None => CiputraClient::from_env()?,
        Some(sandbox) => ciputra_sandbox_client(sandbox)?,
    };
    println!("{client:?}\n");
    let mut inbox = WebhookInbox::start().await?;

    // A premium, through the common flow: the reference is Ciputra's external_id.
    let reference = format!("POLIS-0001-{}", std::process::id());
    let request = PaymentRequest::builder(&reference, Money::idr(350_000))
        .channel("va:bca".parse()?)
        .customer_name("Budi Santoso")
        .description("Premi Januari 2025")
        .callback_url(inbox.url("/hooks/ciputra"))
        .expires_in(Duration::from_secs(24 * 3600))
        .build()?;
    let payment = client.create_payment(&request).await?;
    println!("created {reference}: order {:?}, pay into VA {:?}", payment.provider_reference, payment.payment_code);
    println!("status: {}", client.payment_status(&reference).await?.status);

    let Some(sandbox) = sandbox else { return Ok(()) };

    // Play the customer paying; the gateway posts its (unsigned) callback.
    sandbox.pay(ProviderId::Ciputra, &reference).await?;
    let received = inbox.next(Duration::from_secs(10)).await.ok_or("no callback within 10 s")?;
    println!("\ncallback received: {}", String::from_utf8_lossy(&received.body));
    // verify_webhook reads the external_id and asks the gateway: the state comes from its answer.
    let event = client
        .verify_webhook(&WebhookRequest::new(received.method, &received.path, &received.headers, &received.body))
        .await?;
    println!(
        "confirmed by the status call: {} is {} ({:?}); answer {}",
        reference,
        event.status,
        event.amount,
        event.ack().status
    );

    // Ciputra's own calls: an auto-debit registration and its status.
    let registration =
        TransactionRequest::registration(format!("REG-{reference}"), "Budi Santoso", PayType::Va, PayCode::Bca);
    let created = client.transaction(&registration).await?;
    println!("\nregistration {:?}: register at {:?}", created.order_id, created.shortlink);
    sandbox.pay(ProviderId::Ciputra, &registration.external_id).await?;
    let status = client.registration_status(&registration.external_id).await?;
    println!("registration status: {:?} via {:?}: {:?}", status.status, status.registration_channel, status.remark);
    Ok(())
}
