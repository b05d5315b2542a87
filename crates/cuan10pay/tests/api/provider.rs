//! The common payment flow (`PaymentProvider`) on Cuan10pay deposits.

use std::time::Duration;

use gerbang_core::http::{HeaderMap, Method};
use gerbang_core::{
    Bank, Channel, Currency, Error, Money, PaymentProvider, PaymentRequest, PaymentRequestBuilder, PaymentStatus,
    ProviderId, WebhookRequest, WebhookSupport,
};
use httpmock::Method::POST;
use httpmock::MockServer;

use crate::common::{API_KEY, NOW, client, fixture, signature};

fn order() -> PaymentRequestBuilder {
    PaymentRequest::builder("ORDER-1001", Money::idr(10_000)).channel(Channel::VirtualAccount(Bank::Bca))
}

#[tokio::test]
async fn create_payment_sends_a_deposit_and_returns_the_payment() {
    let server = MockServer::start_async().await;
    let body = fixture("requests/create_payment.json").trim_end().to_owned();
    let mock = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/api/v1/deposit_create")
                .header("x-api-key", API_KEY)
                .header("x-timestamp", NOW.to_string())
                .header("x-signature", signature(NOW, "POST", "/v1/deposit_create", &body))
                .header("content-type", "application/json")
                .body(body);
            then.status(200).body(fixture("deposit_create.json"));
        })
        .await;
    let request = order()
        .customer_name("Budi Santoso")
        .customer_email("budi@example.com")
        .customer_phone("081298765432")
        .description("2 x Kopi Susu")
        .return_url("https://shop.example.com/orders/ORDER-1001")
        .expires_in(Duration::from_secs(3600))
        .build()
        .unwrap();
    let payment = client(&server).create_payment(&request).await.unwrap();
    mock.assert_async().await;

    assert_eq!(payment.reference.as_deref(), Some("ORDER-1001"));
    assert_eq!(payment.provider_reference.as_deref(), Some("CP-20250928-38B575"));
    assert_eq!(payment.status, PaymentStatus::Pending);
    assert_eq!(payment.checkout_url.as_deref(), Some("https://tripay.co.id/checkout/abc123def456"));
    assert_eq!(payment.created_at.map(|t| t.unix_timestamp()), Some(NOW));
    assert_eq!(payment.expires_at.map(|t| t.unix_timestamp()), Some(NOW + 3600));
    let answer: serde_json::Value = serde_json::from_str(&fixture("deposit_create.json")).unwrap();
    assert_eq!(payment.raw, answer["data"]);
    insta::assert_json_snapshot!("payment_created", payment);
}

#[tokio::test]
async fn without_a_description_the_merchant_reference_goes_into_notes() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.path("/api/v1/deposit_create").body(r#"{"channel_code":"QRIS","amount":10000,"notes":"ORDER-1001"}"#);
            then.status(200).body(fixture("deposit_create.json"));
        })
        .await;
    let request = PaymentRequest::builder("ORDER-1001", Money::idr(10_000)).channel(Channel::Qris).build().unwrap();
    client(&server).create_payment(&request).await.unwrap();
    mock.assert_async().await;
}

#[tokio::test]
async fn a_cuan10pay_channel_code_is_passed_through() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.path("/api/v1/deposit_create").json_body_includes(r#"{"channel_code":"QRIS2"}"#);
            then.status(200).body(fixture("deposit_create.json"));
        })
        .await;
    let request = PaymentRequest::builder("ORDER-1001", Money::idr(10_000))
        .channel(Channel::Other("QRIS2".into()))
        .build()
        .unwrap();
    client(&server).create_payment(&request).await.unwrap();
    mock.assert_async().await;
}

#[tokio::test]
async fn fields_cuan10pay_cannot_honour_are_refused_before_sending() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.any_request();
            then.status(200).body(fixture("deposit_create.json"));
        })
        .await;
    let client = client(&server);
    let usd = Money::new(5.into(), Currency::USD).unwrap();
    let cases: Vec<(PaymentRequestBuilder, &str)> = vec![
        (order().success_url("https://shop.example.com/ok"), "success_url"),
        (order().cancel_url("https://shop.example.com/cancel"), "cancel_url"),
        (order().callback_url("https://shop.example.com/hook"), "callback_url"),
        (order().customer_id("CUST-9"), "customer.id"),
        (PaymentRequest::builder("ORDER-1001", Money::idr(10_000)), "channel"),
        (order().channel(Channel::CreditCard), "channel"),
        (order().channel("ewallet:ovo".parse().unwrap()), "channel"),
        (PaymentRequest::builder("ORDER-1001", usd).channel(Channel::Qris), "amount"),
        (PaymentRequest::builder("ORDER-1001", Money::idr(9_999)).channel(Channel::Qris), "amount"),
        (PaymentRequest::builder("ORDER-1001", Money::idr(10_000_001)).channel(Channel::Qris), "amount"),
    ];
    for (request, expected) in cases {
        let err = client.create_payment(&request.build().unwrap()).await.expect_err("refused");
        assert!(matches!(&err, Error::Validation { field, .. } if field == expected), "{expected}: {err:?}");
    }
    assert_eq!(mock.calls_async().await, 0);
}

#[tokio::test]
async fn a_deposit_made_for_another_amount_is_an_error_naming_it() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.path("/api/v1/deposit_create");
            then.status(200).body(fixture("deposit_create.json"));
        })
        .await;
    let request = PaymentRequest::builder("ORDER-1001", Money::idr(20_000)).channel(Channel::Qris).build().unwrap();
    let err = client(&server).create_payment(&request).await.expect_err("amount differs");
    assert!(
        matches!(&err, Error::Api { status: Some(200), message, .. } if message.contains("CP-20250928-38B575")),
        "{err:?}"
    );
}

#[tokio::test]
async fn payment_status_looks_the_deposit_up_by_its_id() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.path("/api/v1/deposit_status").query_param("ref", "CP-20250928-38B575");
            then.status(200).body(fixture("deposit_status_paid.json"));
        })
        .await;
    let payment = client(&server).payment_status("CP-20250928-38B575").await.unwrap();
    mock.assert_async().await;
    assert_eq!(payment.status, PaymentStatus::Paid);
    assert_eq!(payment.provider_status, "PAID");
    assert_eq!(payment.reference, None);
    // No checkout_url: Cuan10pay's own link_url is the page.
    assert_eq!(payment.checkout_url.as_deref(), Some("https://cuan10pay.com/pay.php?ref=CP-20250928-38B575"));
    insta::assert_json_snapshot!("payment_paid", payment);
}

#[tokio::test]
async fn a_status_answer_that_echoes_the_notes_gives_the_merchant_reference_back() {
    let server = MockServer::start_async().await;
    let mut answer: serde_json::Value = serde_json::from_str(&fixture("deposit_status_paid.json")).unwrap();
    for (notes, reference) in
        [("ORDER-1001\n2 x Kopi Susu", Some("ORDER-1001")), ("ORDER-7", Some("ORDER-7")), ("", None)]
    {
        answer["data"]["notes"] = serde_json::json!(notes);
        let mock = server
            .mock_async(|when, then| {
                when.path("/api/v1/deposit_status");
                then.status(200).body(answer.to_string());
            })
            .await;
        let payment = client(&server).payment_status("CP-20250928-38B575").await.unwrap();
        assert_eq!(payment.reference.as_deref(), reference, "{notes:?}");
        mock.delete_async().await;
    }
}

#[tokio::test]
async fn cancel_is_unsupported_and_capabilities_say_so() {
    let server = MockServer::start_async().await;
    let client = client(&server);
    assert_eq!(client.id(), ProviderId::Cuan10pay);
    let caps = client.capabilities();
    assert!(caps.create_payment && caps.payment_status && !caps.cancel_payment);
    assert_eq!(caps.lookup, gerbang_core::LookupKey::ProviderReference);
    assert_eq!(caps.webhook, WebhookSupport::Signed);
    let err = client.cancel_payment("CP-1").await.expect_err("no cancel");
    assert!(matches!(err, Error::Unsupported { provider: ProviderId::Cuan10pay, operation: "cancel_payment" }));
}

#[tokio::test]
async fn verify_webhook_uses_the_clients_key_and_clock() {
    let server = MockServer::start_async().await;
    let client = client(&server);
    let body = fixture("webhook/paid.json");
    let headers = HeaderMap::new();
    let event = client
        .verify_webhook(&WebhookRequest::new(Method::POST, "/hooks/cuan10pay", &headers, body.as_bytes()))
        .await
        .unwrap();
    assert_eq!(event.status, PaymentStatus::Paid);
    assert_eq!(event.provider_reference.as_deref(), Some("CP-20250928-38B575"));
}
