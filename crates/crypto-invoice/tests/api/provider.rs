//! The common payment flow (`PaymentProvider`) against the mock server.

use std::time::Duration;

use gerbang_core::{
    Channel, Currency, Decimal, Error, Money, PaymentProvider, PaymentRequest, PaymentStatus, ProviderId,
};
use httpmock::Method::POST;
use httpmock::MockServer;

use crate::common::{NOW, client, fixture};

fn usd(value: &str) -> Money {
    Money::new(Decimal::from_str_exact(value).unwrap(), Currency::USD).unwrap()
}

#[tokio::test]
async fn create_payment_sends_the_reference_as_order_id_and_the_price_exactly() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(POST).path("/api/v1/create_invoice").body(
                r#"{"public_key":"test-public-key-AK9f3xQ","private_key":"test-private-key-PK7q1","email":"budi@example.com","order_id":"ORDER-1001","customer_id":42,"price_amount":725.50,"price_currency":"USD","description":"2 x Kopi Susu","callback_url":"https://shop.example/cb","cancel_url":"https://shop.example/cancel","success_url":"https://shop.example/ok","expiration_date":2}"#,
            );
            then.status(200).body(fixture("create_invoice.json"));
        })
        .await;
    let request = PaymentRequest::builder("ORDER-1001", usd("725.50"))
        .channel(Channel::Crypto)
        .customer_email("budi@example.com")
        .customer_id("42")
        .description("2 x Kopi Susu")
        .callback_url("https://shop.example/cb")
        .cancel_url("https://shop.example/cancel")
        .success_url("https://shop.example/ok")
        .expires_in(Duration::from_secs(2 * 3600))
        .build()
        .unwrap();
    let payment = client(&server).create_payment(&request).await.unwrap();
    mock.assert_async().await;
    assert_eq!(payment.status, PaymentStatus::Pending);
    assert_eq!(payment.expires_at.unwrap().unix_timestamp(), NOW + 2 * 3600);
    insta::assert_json_snapshot!("payment_created", payment);
}

#[tokio::test]
async fn create_payment_refuses_what_the_gateway_cannot_honour() {
    let server = MockServer::start_async().await;
    let client = client(&server);
    let base = || PaymentRequest::builder("ORDER-1", Money::idr(150_000));
    let cases = [
        (base().return_url("https://shop.example/back"), "return_url"),
        (base().customer_name("Budi"), "customer.name"),
        (base().customer_phone("0812"), "customer.phone"),
        (base().customer_id("cust-7"), "customer.id"),
        (base().channel(Channel::Qris), "channel"),
        (base().expires_in(Duration::from_secs(30 * 60)), "expires_in"),
        (base().expires_in(Duration::from_secs(13 * 3600)), "expires_in"),
    ];
    for (builder, field) in cases {
        let err = client.create_payment(&builder.build().unwrap()).await.unwrap_err();
        assert!(matches!(&err, Error::Validation { field: f, .. } if f == field), "{field}: {err:?}");
    }
}

#[tokio::test]
async fn payment_status_looks_the_order_up_and_maps_the_status() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/api/v1/get_invoices").body_includes(r#""order_id":"11""#);
            then.status(200).body(fixture("get_invoices.json"));
        })
        .await;
    let payment = client(&server).payment_status("11").await.unwrap();
    assert_eq!(payment.status, PaymentStatus::Paid);
    assert_eq!(payment.amount, Some(usd("725.00")));
    assert_eq!(payment.raw["network"], "TRC20");
    insta::assert_json_snapshot!("payment_paid", payment);
}

#[tokio::test]
async fn an_unknown_status_is_kept_raw_and_treated_as_pending() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/api/v1/get_invoices");
            then.status(200).body(fixture("get_invoices_unknown_status.json"));
        })
        .await;
    // Two invoices, none paid: the last listed is the order's payment.
    let payment = client(&server).payment_status("11").await.unwrap();
    assert_eq!(payment.status, PaymentStatus::Pending);
    assert_eq!(payment.provider_status, "waiting_confirmations");
    assert_eq!(payment.provider_reference.as_deref(), Some("4711"));
}

#[tokio::test]
async fn an_order_without_invoices_is_not_found() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/api/v1/get_invoices");
            then.status(200).body(fixture("get_invoices_empty.json"));
        })
        .await;
    assert!(matches!(client(&server).payment_status("11").await, Err(Error::NotFound { .. })));
}

#[tokio::test]
async fn cancel_is_unsupported_and_capabilities_say_so() {
    let server = MockServer::start_async().await;
    let client = client(&server);
    assert_eq!(client.id(), ProviderId::CryptoInvoice);
    let caps = client.capabilities();
    assert!(caps.create_payment && caps.payment_status && !caps.cancel_payment);
    assert_eq!(caps.lookup, gerbang_core::LookupKey::Reference);
    let err = client.cancel_payment("11").await.unwrap_err();
    assert_eq!(err, Error::Unsupported { provider: ProviderId::CryptoInvoice, operation: "cancel_payment" });
}
