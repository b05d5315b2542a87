//! Paying and expiring Cuan10pay deposits, and the webhooks that follow.

mod common;

use std::time::Duration;

use common::{Receiver, call, create_deposit};
use gerbang_core::ProviderId;
use gerbang_sandbox::cuan10pay::PRIVATE_KEY;
use gerbang_sandbox::{PaymentState, Sandbox, SandboxError};
use gerbang_signing::cuan10pay::verify_webhook;
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(10);

#[allow(clippy::unwrap_used)] // a test helper: a panic is the failing test
fn assert_signed(body: &str) -> Value {
    let json: Value = serde_json::from_str(body).unwrap();
    let amount = json["amount"].as_u64().unwrap().to_string();
    let timestamp = json["timestamp"].as_i64().unwrap().to_string();
    let result = verify_webhook(
        PRIVATE_KEY.as_bytes(),
        json["reference"].as_str().unwrap(),
        json["status"].as_str().unwrap(),
        &amount,
        &timestamp,
        json["signature"].as_str().unwrap(),
    );
    assert_eq!(result, Ok(()), "{body}");
    json
}

#[tokio::test]
async fn paying_a_deposit_marks_it_paid_and_sends_a_signed_webhook() {
    let receiver = Receiver::start(&[]).await;
    let sandbox = Sandbox::builder().webhook_url(ProviderId::Cuan10pay, &receiver.url).start().await.unwrap();
    let base = sandbox.base_url(ProviderId::Cuan10pay);
    let id = create_deposit(&base, "BCA", 150_000).await["deposit_id"].as_str().unwrap().to_owned();

    assert_eq!(sandbox.pay(ProviderId::Cuan10pay, &id).await, Ok(PaymentState::Paid));

    let status = call(&base, "GET", &format!("/v1/deposit_status?ref={id}"), "").await;
    assert_eq!(status.json["data"]["status"], "paid");
    assert!(status.json["data"]["paid_at"].is_string());

    let deliveries = sandbox.wait_for_deliveries(1, WAIT).await.unwrap();
    assert_eq!(deliveries.len(), 1);
    let delivery = &deliveries[0];
    assert_eq!((delivery.provider, delivery.attempt, delivery.status), (ProviderId::Cuan10pay, 1, Some(200)));
    assert_eq!(delivery.reference, id);
    assert_eq!(delivery.url, receiver.url);
    assert!(delivery.succeeded());

    let received = receiver.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0], delivery.body);
    let json = assert_signed(&received[0]);
    assert_eq!(json["reference"], id.as_str());
    assert_eq!(json["status"], "PAID");
    // The deposit amount, as the document's example shows it (an integer, without the fee).
    assert_eq!(json["amount"], 150_000);
}

#[tokio::test]
async fn expiring_a_deposit_sends_an_expired_webhook() {
    let receiver = Receiver::start(&[]).await;
    let sandbox = Sandbox::builder().webhook_url(ProviderId::Cuan10pay, &receiver.url).start().await.unwrap();
    let base = sandbox.base_url(ProviderId::Cuan10pay);
    let id = create_deposit(&base, "QRIS", 20_000).await["deposit_id"].as_str().unwrap().to_owned();

    assert_eq!(sandbox.expire(ProviderId::Cuan10pay, &id).await, Ok(PaymentState::Expired));
    let deliveries = sandbox.wait_for_deliveries(1, WAIT).await.unwrap();
    let json = assert_signed(&deliveries[0].body);
    assert_eq!(json["status"], "EXPIRED");
    let status = call(&base, "GET", &format!("/v1/deposit_status?ref={id}"), "").await;
    assert_eq!(status.json["data"]["status"], "expired");
}

#[tokio::test]
async fn a_receiver_failing_twice_gets_three_attempts() {
    let receiver = Receiver::start(&[500, 500]).await;
    let sandbox = Sandbox::builder()
        .webhook_url(ProviderId::Cuan10pay, &receiver.url)
        .webhook_retry(3, Duration::from_millis(50))
        .start()
        .await
        .unwrap();
    let base = sandbox.base_url(ProviderId::Cuan10pay);
    let id = create_deposit(&base, "BCA", 10_000).await["deposit_id"].as_str().unwrap().to_owned();
    sandbox.pay(ProviderId::Cuan10pay, &id).await.unwrap();

    let deliveries = sandbox.wait_for_deliveries(3, WAIT).await.unwrap();
    let attempts: Vec<_> = deliveries.iter().map(|d| (d.attempt, d.status)).collect();
    assert_eq!(attempts, [(1, Some(500)), (2, Some(500)), (3, Some(200))]);
    // The same signed body every time, so that the receiver can recognise a repeat.
    assert!(deliveries.iter().all(|d| d.body == deliveries[0].body));
    assert_eq!(receiver.received().len(), 3);
    // Nothing more once accepted.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(sandbox.deliveries().len(), 3);
}

#[tokio::test]
async fn delivery_stops_after_the_last_attempt_and_records_connection_errors() {
    // A port nothing listens on: bind one, note it, free it.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/webhook", listener.local_addr().unwrap());
    drop(listener);
    let sandbox = Sandbox::builder()
        .webhook_url(ProviderId::Cuan10pay, &url)
        .webhook_retry(2, Duration::from_millis(20))
        .start()
        .await
        .unwrap();
    let base = sandbox.base_url(ProviderId::Cuan10pay);
    let id = create_deposit(&base, "BRI", 10_000).await["deposit_id"].as_str().unwrap().to_owned();
    sandbox.pay(ProviderId::Cuan10pay, &id).await.unwrap();

    let deliveries = sandbox.wait_for_deliveries(2, WAIT).await.unwrap();
    assert!(deliveries.iter().all(|d| d.status.is_none() && d.error.is_some() && !d.succeeded()));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(sandbox.deliveries().len(), 2);
}

#[tokio::test]
async fn only_pending_deposits_can_be_paid_or_expired() {
    let sandbox = Sandbox::builder().start().await.unwrap();
    let base = sandbox.base_url(ProviderId::Cuan10pay);
    let id = create_deposit(&base, "BCA", 10_000).await["deposit_id"].as_str().unwrap().to_owned();

    let unknown = sandbox.pay(ProviderId::Cuan10pay, "CP-20250101-NOPE00").await.unwrap_err();
    assert!(matches!(unknown, SandboxError::UnknownPayment { .. }), "{unknown}");

    sandbox.pay(ProviderId::Cuan10pay, &id).await.unwrap();
    let again = sandbox.expire(ProviderId::Cuan10pay, &id).await.unwrap_err();
    assert!(matches!(again, SandboxError::NotPending { status: PaymentState::Paid, .. }), "{again}");
    assert!(again.to_string().contains("is paid"), "{again}");

    let other = sandbox.pay(ProviderId::Qris, &id).await.unwrap_err();
    assert!(matches!(other, SandboxError::UnknownPayment { provider: ProviderId::Qris, .. }), "{other}");

    // No webhook URL configured: nothing sent, nothing recorded.
    assert!(sandbox.deliveries().is_empty());
}

#[tokio::test]
async fn an_order_reports_its_completion_to_its_callback_url() {
    let receiver = Receiver::start(&[]).await;
    let sandbox = Sandbox::builder().start().await.unwrap();
    let base = sandbox.base_url(ProviderId::Cuan10pay);
    let body =
        format!(r#"{{"product_code": "PULSA_10K", "target": "081234567890", "callback_url": "{}"}}"#, receiver.url);
    let order = call(&base, "POST", "/v1/ppob_order", &body).await;
    assert_eq!(order.status, 200, "{:?}", order.json);

    let deliveries = sandbox.wait_for_deliveries(1, WAIT).await.unwrap();
    let json = assert_signed(&deliveries[0].body);
    assert_eq!(json["reference"], order.json["data"]["order_id"]);
    assert_eq!(json["status"], "SUCCESS");
    assert_eq!(json["amount"], order.json["data"]["price"]);
}
