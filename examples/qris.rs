//! The QRIS invoice gateway beyond the common flow: an invoice paid and learnt of by polling
//! (the gateway sends no webhook), the balance, a withdrawal to DANA approved by the gateway's
//! admin, and the withdrawal history walked page after page.
//!
//! ```sh
//! cargo run --example qris
//! ```
//!
//! Runs against the sandbox, or the real gateway when `GERBANG_QRIS_API_KEY` and
//! `GERBANG_QRIS_BASE_URL` are set (then the invoice waits for a real customer, and no money is
//! withdrawn).
#![allow(clippy::print_stdout)] // printing is this program's job

use std::time::Duration;

use gerbang::qris::stream::TryStreamExt;
use gerbang::qris::{QrisClient, WithdrawHistoryQuery, WithdrawRequest};
use gerbang::sandbox::Sandbox;
use gerbang::{ProviderId, env_var};
use gerbang_examples::qris_sandbox_client;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let live = env_var(gerbang::qris::ENV_API_KEY)?.is_some();
    let sandbox = if live { None } else { Some(Sandbox::builder().start().await?) };
    let client = match &sandbox {
        None => QrisClient::from_env()?,
        Some(sandbox) => qris_sandbox_client(sandbox)?,
    };
    println!("{client:?}\n");

    // An invoice: show its QR image, then wait until it is paid or expired.
    let invoice = client.create_invoice(25_000).await?;
    let total = invoice.total.clone().unwrap_or_else(|| invoice.amount.clone());
    println!(
        "invoice {}: the customer pays {total}, QR image {}",
        invoice.invoice_id,
        invoice.qris_image.as_deref().unwrap_or("-")
    );
    let waiting = client.wait_for_payment(&invoice.invoice_id, Duration::from_secs(15 * 60));
    let settled = match &sandbox {
        Some(sandbox) => {
            // Play the customer scanning the code while the client polls.
            let (settled, paid) = tokio::join!(waiting, async {
                tokio::time::sleep(Duration::from_millis(500)).await;
                sandbox.pay(ProviderId::Qris, &invoice.invoice_id).await
            });
            paid?;
            settled?
        }
        None => waiting.await?,
    };
    println!("invoice {} is {}\n", settled.invoice_id, settled.status);

    println!("balance: {}", client.balance().await?.balance);
    if let Some(sandbox) = &sandbox {
        // A withdrawal to DANA: pending until the gateway's admin acts on it.
        let withdrawal = client.withdraw_dana(&WithdrawRequest::new(100_000, "081234567890", "John Doe")).await?;
        let shown = |m: &Option<gerbang::Money>| m.as_ref().map_or_else(|| "-".to_owned(), ToString::to_string);
        println!(
            "withdrawal {}: {}, fee {}, {} deducted, balance now {}",
            withdrawal.withdraw_id,
            withdrawal.status,
            shown(&withdrawal.fee),
            shown(&withdrawal.total_deduct),
            shown(&withdrawal.new_balance)
        );
        sandbox.qris_approve_withdrawal(&withdrawal.withdraw_id).await?;
        let now = client.withdraw_status(&withdrawal.withdraw_id).await?;
        let processed = now.processed_at.map_or_else(|| "-".to_owned(), |t| t.to_string());
        println!("withdrawal {} is {} (processed at {processed})\n", now.withdraw_id, now.status);
    }

    // The history, every page, fetched as it is read.
    let mut history = std::pin::pin!(client.withdraw_history_stream(WithdrawHistoryQuery::new().limit(20)));
    while let Some(withdrawal) = history.try_next().await? {
        println!("history: {} {} {}", withdrawal.withdraw_id, withdrawal.amount, withdrawal.status);
    }
    Ok(())
}
