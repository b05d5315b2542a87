//! Confirming webhooks with a status call (`confirm_webhooks_with_status`): what the signature
//! alone cannot tell, the gateway's own record of the deposit does.

use gerbang_core::http::{HeaderMap, Method};
use gerbang_core::{Error, Money, PaymentProvider, PaymentStatus, WebhookEvent, WebhookRequest};
use gerbang_cuan10pay::{Cuan10payClient, WebhookVerifier};
use httpmock::Method::GET;
use httpmock::{Mock, MockServer};

use crate::common::{NOW, PRIVATE_KEY, builder, fixture};

/// The deposit of `deposit_status_paid.json`: paid, 50 000 rupiah.
const DEPOSIT: &str = "CP-20250928-38B575";

fn confirming(server: &MockServer) -> Cuan10payClient {
    Cuan10payClient::new(builder(&server.url("/api")).confirm_webhooks_with_status(true).build().unwrap())
}

async fn deposit_status<'a>(server: &'a MockServer, reference: &str, status: u16, answer: &str) -> Mock<'a> {
    let reference = reference.to_owned();
    let answer = fixture(answer);
    server
        .mock_async(move |when, then| {
            when.method(GET).path("/api/v1/deposit_status").query_param("ref", reference);
            then.status(status).body(answer);
        })
        .await
}

async fn verify(client: &Cuan10payClient, body: &str) -> Result<WebhookEvent, Error> {
    let headers = HeaderMap::new();
    client.verify_webhook(&WebhookRequest::new(Method::POST, "/webhooks/cuan10pay", &headers, body.as_bytes())).await
}

fn signed(reference: &str, status: &str, amount: u64) -> String {
    WebhookVerifier::new(PRIVATE_KEY).signed_body(reference, status, amount, NOW)
}

#[tokio::test]
async fn confirms_a_webhook_the_deposit_status_agrees_with() {
    let server = MockServer::start_async().await;
    let status = deposit_status(&server, DEPOSIT, 200, "deposit_status_paid.json").await;
    let event = verify(&confirming(&server), &signed(DEPOSIT, "PAID", 50_000)).await.unwrap();
    assert_eq!(event.status, PaymentStatus::Paid);
    assert_eq!(event.amount, Some(Money::idr(50_000)));
    assert_eq!(status.calls_async().await, 1);
}

#[tokio::test]
async fn without_the_option_no_status_call_is_made() {
    let server = MockServer::start_async().await;
    let status = deposit_status(&server, DEPOSIT, 200, "deposit_status_paid.json").await;
    let client = crate::common::client(&server);
    assert!(!client.config().confirms_webhooks_with_status());
    verify(&client, &signed(DEPOSIT, "PAID", 50_000)).await.unwrap();
    assert_eq!(status.calls_async().await, 0);
}

#[tokio::test]
async fn refuses_a_webhook_whose_status_the_deposit_status_contradicts() {
    let server = MockServer::start_async().await;
    deposit_status(&server, DEPOSIT, 200, "deposit_status_paid.json").await;
    let err = verify(&confirming(&server), &signed(DEPOSIT, "EXPIRED", 50_000)).await.unwrap_err();
    assert!(matches!(&err, Error::InvalidSignature { reason } if reason.contains("status")), "{err:?}");
}

#[tokio::test]
async fn refuses_a_webhook_whose_amount_the_deposit_status_contradicts() {
    let server = MockServer::start_async().await;
    deposit_status(&server, DEPOSIT, 200, "deposit_status_paid.json").await;
    let err = verify(&confirming(&server), &signed(DEPOSIT, "PAID", 500_000)).await.unwrap_err();
    assert!(matches!(&err, Error::InvalidSignature { reason } if reason.contains("amount")), "{err:?}");
}

#[tokio::test]
async fn refuses_an_unpaid_webhook_shifted_to_paid_for_a_reference_the_gateway_does_not_know() {
    // The gateway's genuine `UNPAID` webhook for `CP-20261201-XYZ` signs
    // `CP-20261201-XYZUNPAID…`, which also reads as `PAID` for `CP-20261201-XYZUN`. The signature
    // cannot tell them apart; the gateway knows no such deposit.
    let server = MockServer::start_async().await;
    let unknown = deposit_status(&server, "CP-20261201-XYZUN", 404, "error_404.json").await;
    let genuine = signed("CP-20261201-XYZ", "UNPAID", 150_000);
    let signature = serde_json::from_str::<serde_json::Value>(&genuine).unwrap()["signature"].clone();
    let forged = serde_json::json!({
        "reference": "CP-20261201-XYZUN", "status": "PAID", "amount": 150_000, "timestamp": NOW, "signature": signature,
    })
    .to_string();

    // The signature alone accepts it: the residual risk the option is for.
    let plain = crate::common::client(&server);
    assert_eq!(verify(&plain, &forged).await.unwrap().status, PaymentStatus::Paid);

    let err = verify(&confirming(&server), &forged).await.unwrap_err();
    assert!(matches!(&err, Error::InvalidSignature { reason } if reason.contains("no deposit")), "{err:?}");
    assert_eq!(unknown.calls_async().await, 1);
}

#[tokio::test]
async fn each_confirmation_spends_one_request_of_the_budget() {
    let server = MockServer::start_async().await;
    deposit_status(&server, DEPOSIT, 200, "deposit_status_paid.json").await;
    let client = Cuan10payClient::new(
        builder(&server.url("/api")).confirm_webhooks_with_status(true).rate_budget_per_hour(1).build().unwrap(),
    );
    let body = signed(DEPOSIT, "PAID", 50_000);
    verify(&client, &body).await.unwrap();
    let err = verify(&client, &body).await.unwrap_err();
    assert!(matches!(err, Error::BudgetSpent { .. }), "{err:?}");
}

#[tokio::test]
async fn an_event_verified_elsewhere_can_be_confirmed_by_hand() {
    let server = MockServer::start_async().await;
    deposit_status(&server, DEPOSIT, 200, "deposit_status_paid.json").await;
    let headers = HeaderMap::new();
    let body = signed(DEPOSIT, "PAID", 50_000);
    let client = crate::common::client(&server);
    let event = client
        .webhook_verifier()
        .verify(&WebhookRequest::new(Method::POST, "/hook", &headers, body.as_bytes()))
        .unwrap();
    assert_eq!(client.confirm_webhook(event).await.unwrap().status, PaymentStatus::Paid);
}
