//! End to end over real HTTP against `gerbang-sandbox`: create an invoice, play the customer
//! paying it, learn of it with `wait_for_payment`, see it as paid and the balance credited; cancel
//! one; withdraw, have the admin approve or reject, and walk the history.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests may unwrap: see clippy.toml.

use std::time::Duration;

use futures_util::TryStreamExt;
use gerbang_core::{Error, Money, PaymentProvider, PaymentRequest, PaymentStatus, ProviderId};
use gerbang_qris::{
    InvoiceStatus, PollPolicy, QrisClient, QrisConfig, WithdrawHistoryQuery, WithdrawRequest, WithdrawalStatus,
};
use gerbang_sandbox::qris::{API_KEY, DEFAULT_BALANCE, WithdrawalState};
use gerbang_sandbox::{Sandbox, SandboxHandle};

async fn setup() -> (SandboxHandle, QrisClient) {
    let sandbox = Sandbox::builder().start().await.unwrap();
    let config = QrisConfig::builder(API_KEY)
        .base_url(sandbox.base_url(ProviderId::Qris))
        .poll_policy(PollPolicy::new(Duration::from_millis(5), Duration::from_millis(20)))
        .build()
        .unwrap();
    (sandbox, QrisClient::new(config))
}

#[tokio::test(flavor = "multi_thread")]
async fn create_pay_wait_and_status_against_the_sandbox() {
    let (sandbox, client) = setup().await;
    let request = PaymentRequest::builder("ORDER-1001", Money::idr(150_000)).build().unwrap();
    let created = client.create_payment(&request).await.unwrap();
    assert_eq!(created.status, PaymentStatus::Pending);
    assert_eq!(created.reference.as_deref(), Some("ORDER-1001"));
    assert_eq!(created.amount, Some(Money::idr(150_000)));
    assert_eq!(created.total, Some(Money::idr(150_000 + 1_050)));
    assert!(created.expires_at.is_some());
    let image = created.qr_image_url.clone().unwrap();
    assert_eq!(reqwest_status(&image).await, 200, "the QR image is served");
    let invoice_id = created.provider_reference.clone().unwrap();

    let waiting = {
        let client = client.clone();
        let id = invoice_id.clone();
        tokio::spawn(async move { client.wait_for_payment(&id, Duration::from_secs(10)).await })
    };
    tokio::time::sleep(Duration::from_millis(30)).await;
    sandbox.pay(ProviderId::Qris, &invoice_id).await.unwrap();
    let paid = waiting.await.unwrap().unwrap();
    assert_eq!(paid.status, InvoiceStatus::Paid);

    let status = client.payment_status(&invoice_id).await.unwrap();
    assert_eq!((status.status, status.provider_status.as_str()), (PaymentStatus::Paid, "paid"));
    assert!(status.created_at.is_some());
    assert_eq!(client.balance().await.unwrap().balance, Money::idr(DEFAULT_BALANCE as i64 + 150_000));

    // A paid invoice cannot be cancelled: the gateway's message, verbatim.
    let err = client.cancel_payment(&invoice_id).await.unwrap_err();
    assert_eq!(
        err,
        Error::Api {
            status: Some(400),
            code: None,
            message: "Invoice tidak bisa dibatalkan, status saat ini: paid".into()
        }
    );
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cancelled_invoice_is_cancelled_then_reads_expired() {
    let (sandbox, client) = setup().await;
    let invoice = client.create_invoice(10_000).await.unwrap();
    let cancelled = client.cancel_payment(&invoice.invoice_id).await.unwrap();
    assert_eq!((cancelled.status, cancelled.provider_status.as_str()), (PaymentStatus::Cancelled, "expired"));
    let later = client.wait_for_payment(&invoice.invoice_id, Duration::from_secs(5)).await.unwrap();
    assert_eq!(later.status, InvoiceStatus::Expired);
    assert_eq!(client.payment_status(&invoice.invoice_id).await.unwrap().status, PaymentStatus::Expired);
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn waiting_on_an_unpaid_invoice_times_out() {
    let (sandbox, client) = setup().await;
    let invoice = client.create_invoice(10_000).await.unwrap();
    let err = client.wait_for_payment(&invoice.invoice_id, Duration::from_millis(100)).await.unwrap_err();
    assert_eq!(err, Error::Timeout { operation: "wait_for_payment".into() });
    assert!(matches!(client.invoice_status("000000000000000000000000").await, Err(Error::NotFound { .. })));
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn withdrawals_are_approved_or_rejected_and_listed() {
    let (sandbox, client) = setup().await;
    let first = client.withdraw_dana(&WithdrawRequest::new(100_000, "081234567890", "John Doe")).await.unwrap();
    assert_eq!(first.status, WithdrawalStatus::Pending);
    assert_eq!(first.total_deduct, Some(Money::idr(101_000)));
    assert_eq!(first.new_balance, Some(Money::idr(899_000)));
    let mut ids = vec![first.withdraw_id.clone()];
    for amount in [20_000, 30_000, 40_000, 50_000] {
        ids.push(
            client.withdraw_dana(&WithdrawRequest::new(amount, "081234567890", "John Doe")).await.unwrap().withdraw_id,
        );
    }
    assert_eq!(sandbox.qris_approve_withdrawal(&ids[0]).await, Ok(WithdrawalState::Success));
    assert_eq!(sandbox.qris_reject_withdrawal(&ids[1], None).await, Ok(WithdrawalState::Rejected));

    let approved = client.withdraw_status(&ids[0]).await.unwrap();
    assert_eq!(approved.status, WithdrawalStatus::Success);
    assert!(approved.processed_at.is_some());
    assert_eq!(approved.account_number.as_deref(), Some("081234567890"));
    let rejected = client.withdraw_status(&ids[1]).await.unwrap();
    assert_eq!(
        (rejected.status, rejected.admin_note.as_deref()),
        (WithdrawalStatus::Rejected, Some("Ditolak oleh admin"))
    );

    // Five withdrawals, two a page: three pages, newest first.
    let all: Vec<_> = client.withdraw_history_stream(WithdrawHistoryQuery::new().limit(2)).try_collect().await.unwrap();
    let listed: Vec<_> = all.iter().map(|w| w.withdraw_id.clone()).collect();
    assert_eq!(listed, ids.iter().rev().cloned().collect::<Vec<_>>());
    let pending: Vec<_> = client
        .withdraw_history_stream(WithdrawHistoryQuery::new().status(WithdrawalStatus::Pending))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(pending.len(), 3);

    // What left the balance: the approved and pending ones, fees included; the rejected one came back.
    let taken = 101_000 + 31_000 + 41_000 + 51_000;
    assert_eq!(client.balance().await.unwrap().balance, Money::idr(DEFAULT_BALANCE as i64 - taken));
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_sandbox_refuses_a_client_with_the_wrong_key() {
    let sandbox = Sandbox::builder().start().await.unwrap();
    let config =
        QrisConfig::builder("not-the-sandbox-key").base_url(sandbox.base_url(ProviderId::Qris)).build().unwrap();
    let err = QrisClient::new(config).balance().await.unwrap_err();
    assert_eq!(err, Error::Unauthorized { message: "API key tidak valid".into() });
    sandbox.shutdown().await;
}

/// The HTTP status of a plain GET, through gerbang-core's transport (this crate has no other
/// HTTP client).
async fn reqwest_status(url: &str) -> u16 {
    use gerbang_core::http::Method;
    use gerbang_core::transport::{Call, HttpRequest};
    let url: url::Url = url.parse().unwrap();
    let response = gerbang_core::HttpClient::new()
        .send(Call::safe(ProviderId::Qris, "qr_image"), || Ok(HttpRequest::new(Method::GET, url.clone())))
        .await
        .unwrap();
    response.status.as_u16()
}
