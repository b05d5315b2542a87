//! End to end over real HTTP against `gerbang-sandbox`: create a payment, play the customer
//! paying, receive the callback in a small axum receiver and confirm it with the client, see the
//! status as paid; tokens that expire mid-run, refreshed before expiry and after a 401; cancel and
//! registration.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests may unwrap: see clippy.toml.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::routing::post;
use gerbang_ciputra::{CiputraClient, CiputraConfig, PayCode, PayType, TransactionRequest};
use gerbang_core::{
    Error, FixedClock, Money, PaymentProvider, PaymentRequest, PaymentStatus, ProviderId, SharedClock, WebhookEvent,
    WebhookRequest,
};
use gerbang_sandbox::{Sandbox, SandboxHandle, ciputra};
use tokio::sync::mpsc;

const NOW: i64 = 1_760_000_000;

type Received = mpsc::UnboundedSender<Result<WebhookEvent, Error>>;

/// A merchant's callback endpoint: confirm with the client, answer with the ack (or the
/// rejection), pass the outcome on.
async fn receive(
    State((client, events)): State<(CiputraClient, Received)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    let outcome = client.verify_webhook(&WebhookRequest::new(method, uri.path(), &headers, &body)).await;
    let ack = match &outcome {
        Ok(event) => event.ack().clone(),
        Err(error) => client.reject_webhook(error),
    };
    let _ = events.send(outcome);
    (StatusCode::from_u16(ack.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR), ack.body.into_owned())
}

fn client_of(sandbox: &SandboxHandle, clock: SharedClock) -> CiputraClient {
    let config = CiputraConfig::builder(ciputra::API_KEY, ciputra::API_SECRET)
        .base_url(sandbox.base_url(ProviderId::Ciputra))
        .clock(clock)
        .build()
        .unwrap();
    CiputraClient::new(config)
}

/// A sandbox issuing 4-second tokens, on a clock the test moves (shared with the client), and a
/// receiver for the callbacks at `hook_url`.
async fn setup()
-> (SandboxHandle, CiputraClient, Arc<FixedClock>, String, mpsc::UnboundedReceiver<Result<WebhookEvent, Error>>) {
    let clock = Arc::new(FixedClock::at_unix(NOW));
    let sandbox =
        Sandbox::builder().clock(clock.clone()).ciputra_token_lifetime(Duration::from_secs(4)).start().await.unwrap();
    let client = client_of(&sandbox, clock.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook_url = format!("http://{}/hooks/ciputra", listener.local_addr().unwrap());
    let (events, received) = mpsc::unbounded_channel();
    let app = axum::Router::new().route("/hooks/ciputra", post(receive)).with_state((client.clone(), events));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (sandbox, client, clock, hook_url, received)
}

#[tokio::test(flavor = "multi_thread")]
async fn charge_pay_callback_and_status_against_the_sandbox() {
    let (sandbox, client, _clock, hook_url, mut received) = setup().await;
    let request = PaymentRequest::builder("POLIS-0001-2025-01", Money::idr(350_000))
        .channel("va:bca".parse().unwrap())
        .customer_name("Budi Santoso")
        .customer_phone("081298765432")
        .description("Premi Januari 2025")
        .callback_url(hook_url)
        .expires_in(Duration::from_secs(86_400))
        .build()
        .unwrap();
    let created = client.create_payment(&request).await.unwrap();
    assert_eq!(created.status, PaymentStatus::Pending);
    assert_eq!(created.reference.as_deref(), Some("POLIS-0001-2025-01"));
    assert!(created.payment_code.as_deref().is_some_and(|va| va.starts_with("8808")));
    assert!(created.checkout_url.is_some());
    assert_eq!(created.expires_at.map(|t| t.unix_timestamp()), Some(NOW + 86_400));

    sandbox.pay(ProviderId::Ciputra, "POLIS-0001-2025-01").await.unwrap();
    let event = tokio::time::timeout(Duration::from_secs(10), received.recv()).await.unwrap().unwrap().unwrap();
    assert_eq!(event.status, PaymentStatus::Paid);
    assert_eq!(event.reference.as_deref(), Some("POLIS-0001-2025-01"));
    assert_eq!(event.provider_reference, created.provider_reference);
    assert_eq!(event.amount, Some(Money::idr(350_000)));

    let paid = client.payment_status("POLIS-0001-2025-01").await.unwrap();
    assert_eq!(paid.status, PaymentStatus::Paid);
    let deliveries = sandbox.wait_for_deliveries(1, Duration::from_secs(5)).await.unwrap();
    assert!(deliveries.iter().all(|d| d.succeeded()), "{deliveries:?}");
    assert_eq!(client.token_fetches(), 1, "one token served every call");
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_is_replaced_before_it_expires_mid_run() {
    let (sandbox, client, clock, _hook, _received) = setup().await;
    client.transaction(&TransactionRequest::charge("E-1", "Budi", 10_000, PayType::Qris, PayCode::All)).await.unwrap();
    assert_eq!(client.token_expires_at().await.map(|t| t.unix_timestamp()), Some(NOW + 4));
    // Past half its 4-second life: the client fetches a new one before calling.
    clock.advance(Duration::from_secs(3));
    assert_eq!(client.payment_status("E-1").await.unwrap().status, PaymentStatus::Pending);
    assert_eq!(client.token_fetches(), 2);
    assert_eq!(client.token_expires_at().await.map(|t| t.unix_timestamp()), Some(NOW + 7));
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_expired_at_the_gateway_is_refreshed_after_its_401() {
    let sandbox_clock = Arc::new(FixedClock::at_unix(NOW));
    let sandbox = Sandbox::builder()
        .clock(sandbox_clock.clone())
        .ciputra_token_lifetime(Duration::from_secs(4))
        .start()
        .await
        .unwrap();
    // The client's clock stands still: it believes its token is fresh; the gateway does not.
    let client = client_of(&sandbox, Arc::new(FixedClock::at_unix(NOW)));
    client.transaction(&TransactionRequest::charge("E-2", "Budi", 10_000, PayType::Qris, PayCode::All)).await.unwrap();
    sandbox_clock.advance(Duration::from_secs(10));
    let status = client.transaction_status("E-2").await.unwrap();
    assert_eq!(status.status.as_deref(), Some("pending"));
    assert_eq!(client.token_fetches(), 2);
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn cancel_registration_and_refusals_against_the_sandbox() {
    let (sandbox, client, _clock, _hook, _received) = setup().await;
    let charge = TransactionRequest::charge("E-3", "Budi", 10_000, PayType::Ewallet, PayCode::Gopay);
    client.transaction(&charge).await.unwrap();
    // The same external_id again: the sandbox refuses it under HTTP 200.
    let err = client.transaction(&charge).await.unwrap_err();
    assert!(matches!(&err, Error::Api { status: Some(200), code: Some(code), .. } if code == "03"), "{err:?}");

    let cancelled = client.cancel_payment("E-3").await.unwrap();
    assert_eq!(cancelled.status, PaymentStatus::Cancelled);
    assert_eq!(client.payment_status("E-3").await.unwrap().status, PaymentStatus::Cancelled);

    let registration = TransactionRequest::registration("REG-1", "Jhone", PayType::Va, PayCode::Bca);
    client.transaction(&registration).await.unwrap();
    assert_eq!(client.registration_status("REG-1").await.unwrap().status.as_deref(), Some("pending"));
    sandbox.pay(ProviderId::Ciputra, "REG-1").await.unwrap();
    let done = client.registration_status("REG-1").await.unwrap();
    assert_eq!(done.status.as_deref(), Some("success"));
    assert_eq!(done.registration_channel.as_deref(), Some("autodebet_bca"));
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_sandbox_refuses_a_client_with_the_wrong_secret() {
    let sandbox = Sandbox::builder().start().await.unwrap();
    let config = CiputraConfig::builder(ciputra::API_KEY, "not-the-sandbox-secret")
        .base_url(sandbox.base_url(ProviderId::Ciputra))
        .build()
        .unwrap();
    let err = CiputraClient::new(config).payment_status("E-1").await.unwrap_err();
    assert!(matches!(&err, Error::Unauthorized { message } if message == "Invalid api-key or api-secret"), "{err:?}");
    sandbox.shutdown().await;
}
