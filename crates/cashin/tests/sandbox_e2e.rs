//! End to end over real HTTP against `gerbang-sandbox`: create a checkout, play the customer
//! paying, receive the SNAP notification in a small axum receiver and verify it with the client,
//! then see the status as paid.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests may unwrap: see clippy.toml.

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::routing::post;
use gerbang_cashin::{ACK_SUCCESS_BODY, CashinClient, CashinConfig, HmacAlgorithm};
use gerbang_core::{
    Channel, Error, Money, PaymentProvider, PaymentRequest, PaymentStatus, ProviderId, WebhookEvent, WebhookRequest,
};
use gerbang_sandbox::{Sandbox, SandboxHandle, cashin};
use tokio::sync::mpsc;

type Received = mpsc::UnboundedSender<Result<WebhookEvent, Error>>;

/// The merchant's notify endpoint: verify the raw bytes with the client, answer with the ack (or
/// the rejection), and pass the outcome on.
async fn receive(
    State((client, events)): State<(CashinClient, Received)>,
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

fn client_of(sandbox: &SandboxHandle, secret: &str) -> CashinClient {
    CashinClient::new(
        CashinConfig::builder(cashin::CLIENT_ID, secret)
            .base_url(sandbox.base_url(ProviderId::CashIn))
            .public_key_pem(cashin::public_key_pem())
            .build()
            .unwrap(),
    )
}

async fn setup() -> (SandboxHandle, CashinClient, mpsc::UnboundedReceiver<Result<WebhookEvent, Error>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let notify_url = format!("http://{}/v1.0/debit/notify", listener.local_addr().unwrap());
    let sandbox = Sandbox::builder().webhook_url(ProviderId::CashIn, notify_url).start().await.unwrap();
    let client = client_of(&sandbox, cashin::SECRET_KEY);
    let (events, received) = mpsc::unbounded_channel();
    let app = axum::Router::new().route("/v1.0/debit/notify", post(receive)).with_state((client.clone(), events));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (sandbox, client, received)
}

async fn next_event(received: &mut mpsc::UnboundedReceiver<Result<WebhookEvent, Error>>) -> WebhookEvent {
    let outcome =
        tokio::time::timeout(Duration::from_secs(10), received.recv()).await.expect("a notification within 10 s");
    outcome.expect("the receiver is running").expect("the notification verifies")
}

fn order(reference: &str) -> PaymentRequest {
    PaymentRequest::builder(reference, Money::idr(150_000))
        .channel(Channel::Qris)
        .customer_id("CUST-42")
        .customer_phone("081234567890")
        .success_url("https://shop.example.com/paid")
        .cancel_url("https://shop.example.com/cart")
        .expires_in(Duration::from_secs(30 * 60))
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn create_pay_notification_and_status_against_the_sandbox() {
    let (sandbox, client, mut received) = setup().await;

    let created = client.create_payment(&order("ORDER-1001")).await.unwrap();
    assert_eq!(created.status, PaymentStatus::Pending);
    assert_eq!(created.reference.as_deref(), Some("ORDER-1001"));
    let page = fetch_page(created.checkout_url.as_deref().unwrap()).await;
    assert!(page.contains("ORDER-1001"));
    assert_eq!(client.payment_status("ORDER-1001").await.unwrap().status, PaymentStatus::Pending);

    sandbox.pay(ProviderId::CashIn, "ORDER-1001").await.unwrap();
    let event = next_event(&mut received).await;
    assert_eq!(event.status, PaymentStatus::Paid);
    assert_eq!(event.reference.as_deref(), Some("ORDER-1001"));
    assert_eq!(event.amount, Some(Money::idr(150_000)));

    let paid = client.payment_status("ORDER-1001").await.unwrap();
    assert_eq!(paid.status, PaymentStatus::Paid);
    assert_eq!(paid.provider_reference, event.provider_reference);
    assert_eq!(paid.amount, Some(Money::idr(150_000)));

    // The receiver answered with the SNAP ack: one delivery, accepted.
    let deliveries = sandbox.wait_for_deliveries(1, Duration::from_secs(5)).await.unwrap();
    assert!(deliveries.iter().all(|d| d.succeeded()), "{deliveries:?}");
    assert_eq!(event.ack().body, ACK_SUCCESS_BODY);
    sandbox.shutdown().await;
}

/// The checkout page, fetched without a client crate of its own (axum's `hyper` is not exposed):
/// a plain HTTP/1.0 GET over a socket.
async fn fetch_page(url: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let url = url::Url::parse(url).unwrap();
    let mut stream = tokio::net::TcpStream::connect((url.host_str().unwrap(), url.port().unwrap())).await.unwrap();
    stream.write_all(format!("GET {} HTTP/1.0\r\nHost: localhost\r\n\r\n", url.path()).as_bytes()).await.unwrap();
    let mut page = String::new();
    stream.read_to_string(&mut page).await.unwrap();
    page
}

#[tokio::test(flavor = "multi_thread")]
async fn expiry_and_failure_are_notified_and_reported() {
    let (sandbox, client, mut received) = setup().await;
    client.create_payment(&order("ORDER-EXP")).await.unwrap();
    sandbox.expire(ProviderId::CashIn, "ORDER-EXP").await.unwrap();
    let event = next_event(&mut received).await;
    assert_eq!((event.status, event.provider_status.as_str()), (PaymentStatus::Expired, "05"));
    // The status call knows only OPEN, SUCCESS and FAILED.
    assert_eq!(client.payment_status("ORDER-EXP").await.unwrap().status, PaymentStatus::Failed);

    client.create_payment(&order("ORDER-FAIL")).await.unwrap();
    sandbox.fail(ProviderId::CashIn, "ORDER-FAIL").await.unwrap();
    assert_eq!(next_event(&mut received).await.status, PaymentStatus::Failed);
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_sandbox_refuses_a_wrong_secret_or_hash_and_an_unknown_trx_no() {
    let sandbox = Sandbox::builder().start().await.unwrap();
    let err = client_of(&sandbox, "not-the-secret").payment_status("ORDER-1").await.unwrap_err();
    assert!(matches!(&err, Error::Unauthorized { message } if message == "Invalid signature"), "{err:?}");
    let sha512 = CashinClient::new(
        CashinConfig::builder(cashin::CLIENT_ID, cashin::SECRET_KEY)
            .base_url(sandbox.base_url(ProviderId::CashIn))
            .hmac(HmacAlgorithm::Sha512)
            .build()
            .unwrap(),
    );
    assert!(matches!(sha512.payment_status("ORDER-1").await, Err(Error::Unauthorized { .. })));
    let err = client_of(&sandbox, cashin::SECRET_KEY).payment_status("ORDER-NOPE").await.unwrap_err();
    assert_eq!(err, Error::NotFound { message: "Transaction not found".into() });
    // A duplicate trxNo is the gateway's refusal, with its message.
    let client = client_of(&sandbox, cashin::SECRET_KEY);
    client.create_payment(&order("ORDER-DUP")).await.unwrap();
    let err = client.create_payment(&order("ORDER-DUP")).await.unwrap_err();
    assert!(matches!(&err, Error::Api { status: Some(409), message, .. } if message.contains("trxNo")), "{err:?}");
    sandbox.shutdown().await;
}
