//! Cuan10pay's own calls, beyond the common flow: invoices, deposits with every field, and the
//! PPOB, SMM and voucher catalogues with an order.
//!
//! ```sh
//! cargo run --example cuan10pay
//! ```
//!
//! Runs against the sandbox, or the real gateway when `GERBANG_CUAN10PAY_API_KEY` and
//! `GERBANG_CUAN10PAY_PRIVATE_KEY` are set (an order then costs real money: it is skipped).
#![allow(clippy::print_stdout)] // printing is this program's job

use gerbang::cuan10pay::{Cuan10payClient, DepositRequest, PpobOrderRequest};
use gerbang::env_var;
use gerbang::sandbox::Sandbox;
use gerbang_examples::cuan10pay_sandbox_client;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let live = env_var(gerbang::cuan10pay::ENV_API_KEY)?.is_some();
    let sandbox = if live { None } else { Some(Sandbox::builder().start().await?) };
    let client = match &sandbox {
        None => Cuan10payClient::from_env()?,
        Some(sandbox) => cuan10pay_sandbox_client(sandbox)?,
    };
    println!("{client:?}\n");

    // A deposit into a BCA virtual account, with the gateway's own fields.
    let deposit = client
        .deposit_create(
            &DepositRequest::new("BCA", 250_000)
                .customer_name("Siti Rahma")
                .customer_email("siti@example.com")
                .notes("Invoice INV-2041"),
        )
        .await?;
    println!(
        "deposit {}: pay {} into VA {:?}",
        deposit.deposit_id,
        deposit.total.unwrap_or_default(),
        deposit.payment_code
    );
    let invoice = client.invoice_status(&deposit.deposit_id).await?;
    println!("invoice status: {:?}\n", invoice.status);

    // The catalogues. Their answers are undocumented, so every field is optional.
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    for p in client.ppob_products(Some("telkomsel")).await?.iter().take(3) {
        println!("PPOB    {:<14} {:<32} {:>8}", text(&p.code), text(&p.name), p.price.unwrap_or_default());
    }
    for s in client.smm_services(Some("instagram")).await?.iter().take(3) {
        println!("SMM     {:<14} {:<32} {:>8}", s.id.unwrap_or_default(), text(&s.name), s.price.unwrap_or_default());
    }
    for v in client.voucher_products(Some("ml")).await?.iter().take(3) {
        println!("voucher {:<14} {:<32} {:>8}", text(&v.code), text(&v.name), v.price.unwrap_or_default());
    }

    if sandbox.is_some() {
        let order =
            client.ppob_order(&PpobOrderRequest::new("PULSA_50K", "081234567890").reference("ORDER123")).await?;
        println!("\nPPOB order {:?}: {:?}", order.order_id, order.status);
    }
    Ok(())
}
