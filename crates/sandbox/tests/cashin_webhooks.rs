//! Paying, expiring and failing Cash In checkouts, and the SNAP notifications that follow.

mod cashin_support;

use std::time::Duration;

use cashin_support::{Receiver, create, status};
use gerbang_core::ProviderId;
use gerbang_sandbox::cashin::{CLIENT_ID, public_key_pem};
use gerbang_sandbox::{PaymentState, Sandbox, SandboxError};
use gerbang_signing::rsa::{PublicKey, verify_sha256_rsa};
use gerbang_signing::snap::asymmetric_string_to_sign;
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(10);

/// Checks a notification's signature with the sandbox's public key, as PROVIDERS.md §2 says, and
/// returns its body.
#[allow(clippy::unwrap_used)] // a test helper: a panic is the failing test
fn assert_signed(headers: &axum::http::HeaderMap, body: &str) -> Value {
    let header = |name: &str| headers.get(name).unwrap().to_str().unwrap();
    let message =
        asymmetric_string_to_sign("POST", "/v1.0/debit/notify", body.as_bytes(), header("x-timestamp")).unwrap();
    let key = PublicKey::from_pem(&public_key_pem()).unwrap();
    assert_eq!(verify_sha256_rsa(&key, message.as_bytes(), header("x-signature")), Ok(()), "{body}");
    assert_eq!(header("x-partner-id"), CLIENT_ID);
    assert_eq!(header("channel-id"), "9552");
    assert_eq!(header("x-external-id").len(), 36);
    assert!(gerbang_signing::jakarta::parse_timestamp(header("x-timestamp")).is_ok());
    serde_json::from_str(body).unwrap()
}

#[tokio::test]
async fn paying_sends_a_signed_success_notification_and_the_status_becomes_success() {
    let receiver = Receiver::start(&[]).await;
    let sandbox = Sandbox::builder().webhook_url(ProviderId::CashIn, &receiver.url).start().await.unwrap();
    let base = sandbox.base_url(ProviderId::CashIn);
    create(&base, "ORDER-1001", 150_000, None).await;

    assert_eq!(sandbox.pay(ProviderId::CashIn, "ORDER-1001").await, Ok(PaymentState::Paid));
    let data = status(&base, "ORDER-1001").await;
    assert_eq!(data["status"], "SUCCESS");
    assert_eq!(data["paymentMethod"], "QRIS", "a customer left to choose pays by QRIS");

    let deliveries = sandbox.wait_for_deliveries(1, WAIT).await.unwrap();
    let delivery = &deliveries[0];
    assert_eq!((delivery.provider, delivery.attempt, delivery.status), (ProviderId::CashIn, 1, Some(200)));
    assert_eq!(delivery.reference, "ORDER-1001");
    let received = receiver.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].1, delivery.body);
    let json = assert_signed(&received[0].0, &received[0].1);
    assert_eq!(json["originalReferenceNo"], "ORDER-1001");
    assert_eq!(json["originalPartnerReferenceNo"], data["referenceNo"]);
    assert_eq!(json["latestTransactionStatus"], "00");
    assert_eq!(json["transactionStatusDesc"], "Success");
    assert_eq!(json["amount"], serde_json::json!({"value": "150000.00", "currency": "IDR"}));
    assert!(json["originalExternalId"].as_str().is_some_and(|id| id.len() == 36));
    let keys: Vec<&str> = json.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys.len(), 8, "{keys:?}");
}

#[tokio::test]
async fn expiring_and_failing_send_05_and_06_and_the_status_becomes_failed() {
    let receiver = Receiver::start(&[]).await;
    let sandbox = Sandbox::builder().webhook_url(ProviderId::CashIn, &receiver.url).start().await.unwrap();
    let base = sandbox.base_url(ProviderId::CashIn);
    create(&base, "ORDER-EXP", 25_000, Some("BANK_TRANSFER")).await;
    create(&base, "ORDER-FAIL", 25_000, None).await;

    assert_eq!(sandbox.expire(ProviderId::CashIn, "ORDER-EXP").await, Ok(PaymentState::Expired));
    sandbox.wait_for_deliveries(1, WAIT).await.unwrap();
    assert_eq!(sandbox.fail(ProviderId::CashIn, "ORDER-FAIL").await, Ok(PaymentState::Failed));
    sandbox.wait_for_deliveries(2, WAIT).await.unwrap();

    assert_eq!(status(&base, "ORDER-EXP").await["status"], "FAILED");
    assert_eq!(status(&base, "ORDER-FAIL").await["status"], "FAILED");
    let codes: Vec<(String, String)> = receiver
        .received()
        .iter()
        .map(|(headers, body)| {
            let json = assert_signed(headers, body);
            (
                json["originalReferenceNo"].as_str().unwrap().to_owned(),
                json["latestTransactionStatus"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(codes, [("ORDER-EXP".to_owned(), "05".to_owned()), ("ORDER-FAIL".to_owned(), "06".to_owned())]);
}

#[tokio::test]
async fn only_open_checkouts_move_and_cancel_is_not_a_move() {
    let sandbox = Sandbox::builder().start().await.unwrap();
    let base = sandbox.base_url(ProviderId::CashIn);
    create(&base, "ORDER-1", 10_000, None).await;
    assert!(matches!(sandbox.pay(ProviderId::CashIn, "NOPE").await, Err(SandboxError::UnknownPayment { .. })));
    sandbox.pay(ProviderId::CashIn, "ORDER-1").await.unwrap();
    assert!(matches!(
        sandbox.expire(ProviderId::CashIn, "ORDER-1").await,
        Err(SandboxError::NotPending { status: PaymentState::Paid, .. })
    ));
    // No URL configured: no notification, and no error.
    assert!(sandbox.deliveries().is_empty());
    // The control API over HTTP, as `gerbang sandbox pay cashin REF` uses it.
    create(&base, "ORDER-2", 10_000, None).await;
    let response = reqwest::Client::new()
        .post(format!("{}/_sandbox/cashin/payments/ORDER-2/fail", sandbox.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn a_receiver_failing_twice_gets_three_attempts_of_the_same_notification() {
    let receiver = Receiver::start(&[500, 503]).await;
    let sandbox = Sandbox::builder()
        .webhook_url(ProviderId::CashIn, &receiver.url)
        .webhook_retry(3, Duration::from_millis(10))
        .start()
        .await
        .unwrap();
    create(&sandbox.base_url(ProviderId::CashIn), "ORDER-R", 10_000, None).await;
    sandbox.pay(ProviderId::CashIn, "ORDER-R").await.unwrap();
    let deliveries = sandbox.wait_for_deliveries(3, WAIT).await.unwrap();
    assert_eq!(deliveries.iter().map(|d| d.status).collect::<Vec<_>>(), [Some(500), Some(503), Some(200)]);
    let received = receiver.received();
    assert!(received.windows(2).all(|w| w[0].1 == w[1].1 && w[0].0["x-signature"] == w[1].0["x-signature"]));
}

#[test]
fn the_public_key_is_one_per_process_and_reads_as_spki() {
    let pem = public_key_pem();
    assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----"));
    assert_eq!(pem, public_key_pem());
    assert!(PublicKey::from_pem(&pem).is_ok());
}

#[test]
fn the_default_retry_is_three_attempts() {
    assert_eq!(gerbang_sandbox::cashin::WEBHOOK_ATTEMPTS, 3);
}
