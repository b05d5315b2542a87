//! End to end over real HTTP against `gerbang-sandbox`: create a payment, play the customer
//! paying, receive the signed webhook in a small axum receiver and verify it with the client,
//! then see the status as paid. Also every catalogue and order call, to prove that the sandbox
//! accepts the client's signatures on queries and bodies.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests may unwrap: see clippy.toml.

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::routing::post;
use gerbang_core::{
    Channel, Error, Money, PaymentProvider, PaymentRequest, PaymentStatus, ProviderId, WebhookEvent, WebhookRequest,
};
use gerbang_cuan10pay::{
    Cuan10payClient, Cuan10payConfig, DepositRequest, PpobOrderRequest, SmmOrderRequest, VoucherOrderRequest,
};
use gerbang_sandbox::{Sandbox, SandboxHandle, cuan10pay};
use tokio::sync::mpsc;

/// What the receiver hands the test: every webhook, verified or not.
type Received = mpsc::UnboundedSender<Result<WebhookEvent, Error>>;

/// A merchant's webhook endpoint: verify the raw bytes with the client, answer with the ack the
/// gateway expects (or the rejection), and pass the outcome on.
async fn receive(
    State((client, events)): State<(Cuan10payClient, Received)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    let request = WebhookRequest::new(method, uri.path(), &headers, &body);
    let outcome = client.verify_webhook(&request).await;
    let ack = match &outcome {
        Ok(event) => event.ack().clone(),
        Err(error) => client.reject_webhook(error),
    };
    let _ = events.send(outcome);
    (StatusCode::from_u16(ack.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR), ack.body.into_owned())
}

/// A sandbox whose Cuan10pay webhooks go to a receiver verifying them with a client of it.
async fn setup() -> (SandboxHandle, Cuan10payClient, mpsc::UnboundedReceiver<Result<WebhookEvent, Error>>) {
    setup_confirming(false).await
}

/// The same, the client confirming each webhook with a status call when `confirm` is set.
async fn setup_confirming(
    confirm: bool,
) -> (SandboxHandle, Cuan10payClient, mpsc::UnboundedReceiver<Result<WebhookEvent, Error>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook_url = format!("http://{}/webhooks/cuan10pay", listener.local_addr().unwrap());
    let sandbox = Sandbox::builder().webhook_url(ProviderId::Cuan10pay, hook_url).start().await.unwrap();
    let config = Cuan10payConfig::builder(cuan10pay::API_KEY, cuan10pay::PRIVATE_KEY)
        .base_url(sandbox.base_url(ProviderId::Cuan10pay))
        .without_rate_budget()
        .confirm_webhooks_with_status(confirm)
        .build()
        .unwrap();
    let client = Cuan10payClient::new(config);
    let (events, received) = mpsc::unbounded_channel();
    let app = axum::Router::new().route("/webhooks/cuan10pay", post(receive)).with_state((client.clone(), events));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (sandbox, client, received)
}

async fn next_event(received: &mut mpsc::UnboundedReceiver<Result<WebhookEvent, Error>>) -> WebhookEvent {
    let outcome = tokio::time::timeout(Duration::from_secs(10), received.recv()).await.expect("a webhook within 10 s");
    outcome.expect("the receiver is running").expect("the webhook verifies")
}

#[tokio::test(flavor = "multi_thread")]
async fn create_pay_webhook_and_status_against_the_sandbox() {
    let (sandbox, client, mut received) = setup().await;

    let request = PaymentRequest::builder("ORDER-1001", Money::idr(150_000))
        .channel(Channel::Qris)
        .customer_name("Budi Santoso")
        .customer_email("budi@example.com")
        .description("2 x Kopi Susu")
        .expires_in(Duration::from_secs(30 * 60))
        .build()
        .unwrap();
    let created = client.create_payment(&request).await.unwrap();
    assert_eq!(created.status, PaymentStatus::Pending);
    assert_eq!(created.reference.as_deref(), Some("ORDER-1001"));
    assert_eq!(created.amount, Some(Money::idr(150_000)));
    assert!(created.checkout_url.is_some());
    let deposit_id = created.provider_reference.clone().unwrap();

    sandbox.pay(ProviderId::Cuan10pay, &deposit_id).await.unwrap();
    let event = next_event(&mut received).await;
    assert_eq!(event.status, PaymentStatus::Paid);
    assert_eq!(event.provider_reference.as_deref(), Some(deposit_id.as_str()));
    assert_eq!(event.amount, Some(Money::idr(150_000)));

    let paid = client.payment_status(&deposit_id).await.unwrap();
    assert_eq!(paid.status, PaymentStatus::Paid);

    // The receiver's answer was the ack: the sandbox recorded one delivery, accepted.
    let deliveries = sandbox.wait_for_deliveries(1, Duration::from_secs(5)).await.unwrap();
    assert!(deliveries.iter().all(|d| d.succeeded()), "{deliveries:?}");
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_deposit_sends_an_expired_webhook() {
    let (sandbox, client, mut received) = setup().await;
    let deposit = client.deposit_create(&DepositRequest::new("BCA", 25_000).notes("ORDER-1002")).await.unwrap();
    sandbox.expire(ProviderId::Cuan10pay, &deposit.deposit_id).await.unwrap();
    assert_eq!(next_event(&mut received).await.status, PaymentStatus::Expired);
    assert_eq!(client.deposit_status(&deposit.deposit_id).await.unwrap().status.to_ascii_lowercase(), "expired");
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn webhooks_confirmed_with_a_status_call_agree_with_the_sandbox() {
    // The sandbox's webhook says `PAID` or `EXPIRED`, its deposit_status `paid` or `expired`:
    // the same status, once normalised, and the same amount.
    let (sandbox, client, mut received) = setup_confirming(true).await;
    let paid = client.deposit_create(&DepositRequest::new("QRIS", 40_000)).await.unwrap();
    sandbox.pay(ProviderId::Cuan10pay, &paid.deposit_id).await.unwrap();
    let event = next_event(&mut received).await;
    assert_eq!((event.status, event.amount), (PaymentStatus::Paid, Some(Money::idr(40_000))));

    let expired = client.deposit_create(&DepositRequest::new("BCA", 30_000)).await.unwrap();
    sandbox.expire(ProviderId::Cuan10pay, &expired.deposit_id).await.unwrap();
    assert_eq!(next_event(&mut received).await.status, PaymentStatus::Expired);
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn every_call_is_accepted_by_the_sandbox() {
    let (sandbox, client, _received) = setup().await;
    let deposit = client.deposit_create(&DepositRequest::new("QRIS", 10_000)).await.unwrap();
    let invoice = client.invoice_status(&deposit.deposit_id).await.unwrap();
    assert_eq!(invoice.reference.as_deref(), Some(deposit.deposit_id.as_str()));

    let products = client.ppob_products(Some("telkomsel")).await.unwrap();
    assert!(!products.is_empty() && products.iter().all(|p| p.operator.as_deref() == Some("telkomsel")));
    let code = products[0].code.clone().unwrap();
    let order = client.ppob_order(&PpobOrderRequest::new(code, "081234567890").reference("ORDER123")).await.unwrap();
    assert_eq!(order.reference.as_deref(), Some("ORDER123"));
    assert!(order.order_id.is_some());

    let services = client.smm_services(Some("instagram")).await.unwrap();
    let service = services[0].id.unwrap();
    client
        .smm_order(&SmmOrderRequest::new(service, "https://instagram.com/p/xxxx", services[0].min.unwrap_or(1000)))
        .await
        .unwrap();

    let vouchers = client.voucher_products(Some("ml")).await.unwrap();
    let code = vouchers[0].code.clone().unwrap();
    client.voucher_order(&VoucherOrderRequest::new(code, "12345678").server_id("9001")).await.unwrap();

    // An unknown deposit is the sandbox's 404, in the gateway's shape.
    assert!(matches!(client.deposit_status("CP-19700101-000000").await, Err(Error::NotFound { .. })));
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_sandbox_refuses_a_client_with_the_wrong_key() {
    let sandbox = Sandbox::builder().start().await.unwrap();
    let config = Cuan10payConfig::builder(cuan10pay::API_KEY, "not-the-sandbox-key")
        .base_url(sandbox.base_url(ProviderId::Cuan10pay))
        .build()
        .unwrap();
    let err = Cuan10payClient::new(config).ppob_products(None).await.unwrap_err();
    assert!(matches!(&err, Error::Unauthorized { message } if message == "Invalid signature"), "{err:?}");
    sandbox.shutdown().await;
}
