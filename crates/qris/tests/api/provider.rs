//! The common payment flow over invoices: create, status, cancel, and no webhook.

use gerbang_core::http::{HeaderMap, Method};
use gerbang_core::{
    Capabilities, Channel, Error, Money, PaymentProvider, PaymentRequest, PaymentStatus, ProviderId, WebhookRequest,
    WebhookSupport,
};
use httpmock::Method::{GET, POST};
use httpmock::MockServer;

use crate::common::{API_KEY, client, fixture};

#[tokio::test]
async fn create_payment_makes_an_invoice_and_echoes_the_reference() {
    let server = MockServer::start_async().await;
    let query = format!("amount=10000&apikey={API_KEY}");
    let mock = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/gw/api/v1/invoice/create")
                .is_true(move |req| req.uri().query() == Some(query.as_str()));
            then.status(200).body(fixture("invoice_create.json"));
        })
        .await;
    let client = client(&server);
    let request = PaymentRequest::builder("ORDER-1001", Money::idr(10_000)).channel(Channel::Qris).build().unwrap();
    let payment = client.create_payment(&request).await.unwrap();
    mock.assert_async().await;
    insta::assert_json_snapshot!("payment_created", payment);
    assert_eq!(payment.raw["success"], true, "raw keeps the whole answer");
}

#[tokio::test]
async fn an_invoice_for_another_amount_than_asked_is_an_error() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.path("/gw/api/v1/invoice/create");
            then.status(200).body(fixture("invoice_create.json"));
        })
        .await;
    let request = PaymentRequest::builder("ORDER-1", Money::idr(20_000)).build().unwrap();
    let err = client(&server).create_payment(&request).await.unwrap_err();
    assert!(matches!(&err, Error::Api { message, .. } if message.contains("64c8d9e...")), "{err:?}");
}

#[tokio::test]
async fn payment_status_takes_the_invoice_id() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.path("/gw/api/v1/invoice/status").query_param("invoice_id", "64c8d9e...");
            then.status(200).body(fixture("invoice_status.json"));
        })
        .await;
    let payment = client(&server).payment_status("64c8d9e...").await.unwrap();
    insta::assert_json_snapshot!("payment_pending", payment);
}

#[tokio::test]
async fn cancel_payment_is_cancelled_with_the_raw_status_kept() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/gw/api/v1/invoice/cancel").query_param("invoice_id", "64c8d9e...");
            then.status(200).body(fixture("invoice_cancel.json"));
        })
        .await;
    let payment = client(&server).cancel_payment("64c8d9e...").await.unwrap();
    assert_eq!(payment.status, PaymentStatus::Cancelled);
    assert_eq!(payment.provider_status, "expired");
    assert_eq!(payment.provider_reference.as_deref(), Some("64c8d9e..."));
    assert_eq!(payment.raw["message"], "Invoice berhasil dibatalkan");
}

#[tokio::test]
async fn cancelling_a_paid_invoice_is_the_gateways_refusal() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.path("/gw/api/v1/invoice/cancel");
            then.status(400).body(fixture("invoice_cancel_paid.json"));
        })
        .await;
    let err = client(&server).cancel_payment("64c8d9e...").await.unwrap_err();
    assert_eq!(err.to_string(), "the gateway answered HTTP 400: Invoice tidak bisa dibatalkan, status saat ini: paid");
}

#[tokio::test]
async fn there_is_no_webhook() {
    let server = MockServer::start_async().await;
    let client = client(&server);
    assert_eq!(client.id(), ProviderId::Qris);
    assert_eq!(
        client.capabilities(),
        Capabilities::new(WebhookSupport::None).with_cancel().with_limits(gerbang_qris::CREATE_LIMITS)
    );
    let headers = HeaderMap::new();
    let request = WebhookRequest::new(Method::POST, "/webhooks/qris", &headers, b"{}");
    let err = client.verify_webhook(&request).await.unwrap_err();
    assert_eq!(err, Error::Unsupported { provider: ProviderId::Qris, operation: "verify_webhook" });
}

#[tokio::test]
async fn another_currency_or_channel_is_refused_before_sending() {
    let server = MockServer::start_async().await;
    let any = server
        .mock_async(|when, then| {
            when.any_request();
            then.status(200).body(fixture("invoice_create.json"));
        })
        .await;
    let client = client(&server);
    let usd = Money::new(gerbang_core::Decimal::from(10), gerbang_core::Currency::USD).unwrap();
    for request in [
        PaymentRequest::builder("ORDER-1", usd).build().unwrap(),
        PaymentRequest::builder("ORDER-1", Money::idr(10_000)).channel("va:bca".parse().unwrap()).build().unwrap(),
        PaymentRequest::builder("ORDER-1", Money::idr(10_000)).customer_email("budi@example.com").build().unwrap(),
    ] {
        assert!(matches!(client.create_payment(&request).await, Err(Error::Validation { .. })));
    }
    // A fractional rupiah amount cannot even be built.
    assert!(Money::new(gerbang_core::Decimal::new(10_0005, 1), gerbang_core::Currency::IDR).is_err());
    assert_eq!(any.calls_async().await, 0);
}
