//! Cash In's own calls, beyond the common flow: a checkout page with every field, its status
//! before and after the customer pays.
//!
//! ```sh
//! cargo run --example cashin
//! ```
//!
//! Runs against the in-process sandbox, or against Cash In when `GERBANG_CASHIN_CLIENT_ID` and
//! `GERBANG_CASHIN_SECRET_KEY` are set (its sandbox by default; `GERBANG_CASHIN_ENVIRONMENT=production`
//! for real money). Paying is played by the sandbox only.
#![allow(clippy::print_stdout)] // printing is this program's job

use gerbang::cashin::{CashinClient, CheckoutCustomer, CheckoutRequest, PaymentChannel};
use gerbang::sandbox::Sandbox;
use gerbang::{ProviderId, env_var};
use gerbang_examples::cashin_sandbox_client;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let live = env_var(gerbang::cashin::ENV_CLIENT_ID)?.is_some();
    let sandbox = if live { None } else { Some(Sandbox::builder().start().await?) };
    let client = match &sandbox {
        None => CashinClient::from_env()?,
        Some(sandbox) => cashin_sandbox_client(sandbox)?,
    };
    println!("{client:?}\n");

    // The merchant's transaction number is what Cash In looks the payment up by.
    let trx_no = format!("INV-{}", gerbang::time::OffsetDateTime::now_utc().unix_timestamp());
    let request = CheckoutRequest::new(
        &trx_no,
        250_000,
        15,
        "https://shop.example.com/orders/INV-2041/paid",
        "https://shop.example.com/cart",
        CheckoutCustomer::new("CUST-42", "081234567890"),
    )
    .payment_channel(PaymentChannel::BankTransfer); // the bank is chosen on Cash In's page
    let page = client.create_checkout(&request).await?;
    println!("checkout {trx_no}: send the customer to {}", page.payment_url);

    let status = client.checkout_status(&trx_no).await?;
    println!("status: {} (method {:?}, Cash In ref {:?})", status.status, status.payment_method, status.reference_no);

    if let Some(sandbox) = &sandbox {
        sandbox.pay(ProviderId::CashIn, &trx_no).await?;
        let status = client.checkout_status(&trx_no).await?;
        println!("after paying: {} (method {:?}, amount {:?})", status.status, status.payment_method, status.amount);
    }
    Ok(())
}
