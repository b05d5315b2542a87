//! The common payment flow (`PaymentProvider`) on Cash In's checkout page.

use std::time::Duration;

use gerbang_cashin::{ACK_INVALID_FIELD_FORMAT_BODY, ACK_UNAUTHORIZED_BODY};
use gerbang_core::http::{HeaderMap, Method};
use gerbang_core::{
    Bank, Channel, Currency, Error, Money, PaymentProvider, PaymentRequest, PaymentRequestBuilder, PaymentStatus,
    ProviderId, WebhookRequest, WebhookSupport,
};
use httpmock::Method::POST;
use httpmock::MockServer;

use crate::common::{CLIENT_ID, NOW, NOW_TEXT, client, fixture, signed_correctly};

fn order() -> PaymentRequestBuilder {
    PaymentRequest::builder("ORDER-1001", Money::idr(150_000))
        .customer_id("CUST-42")
        .customer_phone("081234567890")
        .success_url("https://shop.example.com/orders/ORDER-1001/paid")
        .cancel_url("https://shop.example.com/cart")
}

async fn checkout_mock(server: &MockServer, body: impl Into<String>) -> httpmock::Mock<'_> {
    let body = body.into();
    server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/pg/fo/payment")
                .header("x-client-id", CLIENT_ID)
                .header("x-timestamp", NOW_TEXT)
                .body(body)
                .is_true(|req| signed_correctly(req, "/payment", false));
            then.status(200).body(fixture("checkout_data.json"));
        })
        .await
}

#[tokio::test]
async fn create_payment_sends_a_checkout_and_returns_the_page() {
    let server = MockServer::start_async().await;
    let body = fixture("requests/checkout.json");
    let mock = checkout_mock(&server, body).await;
    let request = order().channel(Channel::Qris).expires_in(Duration::from_secs(30 * 60)).build().unwrap();
    let payment = client(&server).create_payment(&request).await.unwrap();
    mock.assert_async().await;

    assert_eq!(payment.provider, ProviderId::CashIn);
    assert_eq!(payment.reference.as_deref(), Some("ORDER-1001"));
    assert_eq!(payment.status, PaymentStatus::Pending);
    assert_eq!(payment.provider_status, "OPEN");
    assert_eq!(payment.amount, Some(Money::idr(150_000)));
    assert!(payment.checkout_url.as_deref().unwrap().starts_with("https://dev-checkout.cashin.co.id/payment/"));
    assert_eq!(payment.expires_at.map(|t| t.unix_timestamp()), Some(NOW + 30 * 60));
    let answer: serde_json::Value = serde_json::from_str(&fixture("checkout_data.json")).unwrap();
    assert_eq!(payment.raw, answer["data"]);
    insta::assert_json_snapshot!("payment_created", payment);
}

#[tokio::test]
async fn channels_durations_and_return_url_map_as_documented() {
    let server = MockServer::start_async().await;
    let body = r#"{"amount":150000,"trxNo":"ORDER-1001","duration":2,"successCallbackUrl":"https://shop.example.com/back","cancelCallbackUrl":"https://shop.example.com/back","paymentChannel":"BANK_TRANSFER","customer":{"id":"CUST-42","phoneNumber":"081234567890"}}"#;
    let mock = checkout_mock(&server, body).await;
    let request = PaymentRequest::builder("ORDER-1001", Money::idr(150_000))
        .customer_id("CUST-42")
        .customer_phone("081234567890")
        .return_url("https://shop.example.com/back")
        .channel(Channel::VirtualAccount(Bank::Bca))
        .expires_in(Duration::from_secs(90))
        .build()
        .unwrap();
    client(&server).create_payment(&request).await.unwrap();
    mock.assert_async().await;
}

#[tokio::test]
async fn without_a_channel_or_expiry_the_customer_chooses_within_thirty_minutes() {
    let server = MockServer::start_async().await;
    let body = r#"{"amount":150000,"trxNo":"ORDER-1001","duration":30,"successCallbackUrl":"https://shop.example.com/orders/ORDER-1001/paid","cancelCallbackUrl":"https://shop.example.com/cart","customer":{"id":"CUST-42","phoneNumber":"081234567890"}}"#;
    let mock = checkout_mock(&server, body).await;
    client(&server).create_payment(&order().build().unwrap()).await.unwrap();
    mock.assert_async().await;
}

#[tokio::test]
async fn fields_cash_in_cannot_honour_are_refused_before_sending() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.any_request();
            then.status(200).body(fixture("checkout_data.json"));
        })
        .await;
    let client = client(&server);
    let usd = Money::new(5.into(), Currency::USD).unwrap();
    let bare = || PaymentRequest::builder("ORDER-1001", Money::idr(150_000));
    let cases: Vec<(PaymentRequestBuilder, &str)> = vec![
        (order().customer_name("Budi"), "customer.name"),
        (order().customer_email("budi@example.com"), "customer.email"),
        (order().description("2 x Kopi Susu"), "description"),
        (order().callback_url("https://shop.example.com/hook"), "callback_url"),
        (order().return_url("https://shop.example.com/back"), "return_url"),
        (
            bare().customer_phone("0812").success_url("https://a.example/ok").cancel_url("https://a.example/no"),
            "customer.id",
        ),
        (
            bare().customer_id("C").success_url("https://a.example/ok").cancel_url("https://a.example/no"),
            "customer.phone",
        ),
        (bare().customer_id("C").customer_phone("0812").cancel_url("https://a.example/no"), "success_url"),
        (bare().customer_id("C").customer_phone("0812").success_url("https://a.example/ok"), "cancel_url"),
        (order().customer_phone("08123456789012345"), "customer.phone"),
        (order().channel(Channel::CreditCard), "channel"),
        (order().channel("ewallet:ovo".parse().unwrap()), "channel"),
        (order().channel(Channel::Other("ALFAMART".into())), "channel"),
        (
            PaymentRequest::builder("ORDER-1001", usd)
                .customer_id("C")
                .customer_phone("0812")
                .return_url("https://a.example/"),
            "amount",
        ),
    ];
    for (request, expected) in cases {
        let err = client.create_payment(&request.build().unwrap()).await.expect_err("refused");
        assert!(matches!(&err, Error::Validation { field, .. } if field == expected), "{expected}: {err:?}");
    }
    assert_eq!(mock.calls_async().await, 0);
}

#[tokio::test]
async fn payment_status_looks_the_payment_up_by_trx_no() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.path("/pg/fo/payment/status").body(r#"{"trxNo":"TRX001"}"#);
            then.status(200).body(fixture("status_success.json"));
        })
        .await;
    let payment = client(&server).payment_status("TRX001").await.unwrap();
    mock.assert_async().await;
    assert_eq!(payment.status, PaymentStatus::Paid);
    assert_eq!(payment.provider_status, "SUCCESS");
    assert_eq!(payment.reference.as_deref(), Some("TRX001"));
    assert_eq!(payment.provider_reference.as_deref(), Some("PAY123"));
    assert_eq!(payment.amount, Some(Money::idr(4000)));
    insta::assert_json_snapshot!("payment_paid", payment);
}

#[tokio::test]
async fn failed_and_unknown_statuses_map() {
    for (fixture_name, status, word) in [
        ("status_failed.json", PaymentStatus::Failed, "FAILED"),
        ("status_open_flat.json", PaymentStatus::Pending, "OPEN"),
        ("status_unknown_word.json", PaymentStatus::Unknown("REFUNDED".into()), "REFUNDED"),
    ] {
        let server = MockServer::start_async().await;
        server
            .mock_async(|when, then| {
                when.path("/pg/fo/payment/status");
                then.status(200).body(fixture(fixture_name));
            })
            .await;
        let payment = client(&server).payment_status("X").await.unwrap();
        assert_eq!((payment.status, payment.provider_status.as_str()), (status, word), "{fixture_name}");
    }
}

#[tokio::test]
async fn cancel_is_unsupported_and_capabilities_say_so() {
    let server = MockServer::start_async().await;
    let client = client(&server);
    assert_eq!(client.id(), ProviderId::CashIn);
    let caps = client.capabilities();
    assert!(caps.create_payment && caps.payment_status && !caps.cancel_payment);
    assert_eq!(caps.lookup, gerbang_core::LookupKey::Reference);
    assert_eq!(caps.webhook, WebhookSupport::Signed);
    let err = client.cancel_payment("TRX001").await.expect_err("no cancel");
    assert!(matches!(err, Error::Unsupported { provider: ProviderId::CashIn, operation: "cancel_payment" }));
}

#[tokio::test]
async fn reject_webhook_answers_in_cash_ins_snap_codes() {
    let server = MockServer::start_async().await;
    let client = client(&server);
    let headers = HeaderMap::new();
    let body = fixture("webhook/paid_pretty.json");
    let err = client
        .verify_webhook(&WebhookRequest::new(Method::POST, "/v1.0/debit/notify", &headers, body.as_bytes()))
        .await
        .unwrap_err();
    let ack = client.reject_webhook(&err);
    assert_eq!((ack.status, &*ack.body, ack.content_type), (401, ACK_UNAUTHORIZED_BODY, "application/json"));
    let ack = client.reject_webhook(&Error::decode("x"));
    assert_eq!((ack.status, &*ack.body), (400, ACK_INVALID_FIELD_FORMAT_BODY));
}

#[tokio::test]
async fn verify_webhook_without_a_public_key_is_a_config_error() {
    let server = MockServer::start_async().await;
    let config = gerbang_cashin::CashinConfig::builder(CLIENT_ID, "s").base_url(server.url("/pg/fo")).build().unwrap();
    let client = gerbang_cashin::CashinClient::new(config);
    let headers = HeaderMap::new();
    let err = client
        .verify_webhook(&WebhookRequest::new(Method::POST, "/v1.0/debit/notify", &headers, b"{}"))
        .await
        .unwrap_err();
    assert!(matches!(&err, Error::Config { message } if message.contains("GERBANG_CASHIN_PUBLIC_KEY")), "{err:?}");
    assert_eq!(client.reject_webhook(&err).status, 500);
}
