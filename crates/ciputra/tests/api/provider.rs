//! The common payment flow (`PaymentProvider`) on Ciputra transactions, and the callback confirmed
//! by a status call.

use std::time::Duration;

use gerbang_core::http::{HeaderMap, HeaderValue, Method};
use gerbang_core::{
    Channel, Currency, Error, Money, PaymentProvider, PaymentRequest, PaymentRequestBuilder, PaymentStatus, ProviderId,
    WebhookRequest, WebhookSupport,
};
use httpmock::Method::POST;
use httpmock::MockServer;

use crate::common::{client, doc_bearer, fixture, serve_doc_token};

fn order() -> PaymentRequestBuilder {
    PaymentRequest::builder("ECL00001", Money::idr(350_000)).customer_name("Budi Santoso")
}

#[tokio::test]
async fn create_payment_sends_a_charge_and_returns_the_payment() {
    let server = MockServer::start_async().await;
    serve_doc_token(&server).await;
    let body = "action=charge&paytype=va&paycode=bca&external_id=ECL00001&name=Budi+Santoso\
                &email=budi%40example.com&phone=081298765432&refno=POLIS-77\
                &description%5Btext_1%5D=Premi+Januari&amount=350000&exptype=H&expval=2\
                &redirect_url=https%3A%2F%2Fshop.example.com%2Fok&callback_url=https%3A%2F%2Fshop.example.com%2Fhook\
                &back_url=https%3A%2F%2Fshop.example.com%2Fback";
    let mock = server
        .mock_async(|when, then| {
            when.method(POST).path("/api/transaction").header("authorization", doc_bearer()).body(body);
            then.status(200).body(fixture("transaction_charge.json"));
        })
        .await;
    let request = order()
        .channel("va:bca".parse().unwrap())
        .customer_email("budi@example.com")
        .customer_phone("081298765432")
        .customer_id("POLIS-77")
        .description("Premi Januari")
        .success_url("https://shop.example.com/ok")
        .return_url("https://shop.example.com/back")
        .callback_url("https://shop.example.com/hook")
        .expires_in(Duration::from_secs(7200))
        .build()
        .unwrap();
    let payment = client(&server).create_payment(&request).await.unwrap();
    mock.assert_async().await;
    assert_eq!(payment.reference.as_deref(), Some("ECL00001"));
    assert_eq!(payment.provider_reference.as_deref(), Some("TE202100000002"));
    assert_eq!(payment.status, PaymentStatus::Pending);
    assert_eq!(payment.amount, Some(Money::idr(350_000)));
    assert_eq!(payment.payment_code.as_deref(), Some("8808000011112222"));
    assert_eq!(payment.checkout_url.as_deref(), Some("https://epayment.example.co.id/s/Xk29aQ"));
    let answer: serde_json::Value = serde_json::from_str(&fixture("transaction_charge.json")).unwrap();
    assert_eq!(payment.raw, answer["data"]);
    insta::assert_json_snapshot!("payment_created", payment);
}

#[tokio::test]
async fn a_charge_answer_without_a_status_word_is_pending_with_a_null_word() {
    // The answer shape PROVIDERS.md cites from real code: the payment details, no status_payment.
    let server = MockServer::start_async().await;
    serve_doc_token(&server).await;
    let answer = r#"{"code":"00","status":true,"message":"Success","data":{"order_id":"TE202100000003",
        "external_id":"ECL00001","shortlink":"https://epayment.example.co.id/s/Yz","virtual_account_number":"8808"}}"#;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/api/transaction");
            then.status(200).body(answer);
        })
        .await;
    let request = order().channel("va:bca".parse().unwrap()).build().unwrap();
    let payment = client(&server).create_payment(&request).await.unwrap();
    assert_eq!(payment.status, PaymentStatus::Pending);
    let shown = serde_json::to_value(&payment).unwrap();
    assert_eq!((&shown["status"], &shown["provider_status"]), (&"pending".into(), &serde_json::Value::Null));
    assert_eq!(shown["checkout_url"], "https://epayment.example.co.id/s/Yz");
}

#[tokio::test]
async fn each_channel_becomes_its_paytype_and_paycode() {
    let cases = [
        (None, "paytype=all&paycode=all"),
        (Some("qris"), "paytype=qris&paycode=all"),
        (Some("card"), "paytype=cc&paycode=credit_card"),
        (Some("ewallet:gopay"), "paytype=ewallet&paycode=gopay"),
        (Some("retail:alfamart"), "paytype=otc&paycode=alfamart"),
        (Some("ib:mandiri"), "paytype=ib&paycode=mandiri"),
    ];
    for (channel, codes) in cases {
        let server = MockServer::start_async().await;
        serve_doc_token(&server).await;
        let body = format!("action=charge&{codes}&external_id=ECL00001&name=Budi+Santoso&amount=350000");
        let mock = server
            .mock_async(|when, then| {
                when.path("/api/transaction").body(body);
                then.status(200).body(fixture("transaction_charge.json"));
            })
            .await;
        let mut request = order();
        if let Some(channel) = channel {
            request = request.channel(channel.parse().unwrap());
        }
        client(&server).create_payment(&request.build().unwrap()).await.unwrap();
        mock.assert_async().await;
    }
}

#[tokio::test]
async fn what_ciputra_cannot_honour_is_refused_before_sending() {
    let server = MockServer::start_async().await;
    let any = server
        .mock_async(|when, then| {
            when.any_request();
            then.status(200).body(fixture("token.json"));
        })
        .await;
    let client = client(&server);
    let usd = Money::new(5.into(), Currency::USD).unwrap();
    let cases: Vec<(PaymentRequestBuilder, &str)> = vec![
        (PaymentRequest::builder("ECL00001", Money::idr(10_000)), "customer.name"),
        (PaymentRequest::builder("ECL00001", usd).customer_name("Budi"), "amount"),
        (order().channel(Channel::Crypto), "channel"),
        (order().channel("ewallet:shopeepay".parse().unwrap()), "channel"),
        (order().channel("va:gopay".parse().unwrap()), "channel"),
        (order().cancel_url("https://a.example/x").return_url("https://a.example/y"), "cancel_url"),
    ];
    for (request, expected) in cases {
        let err = client.create_payment(&request.build().unwrap()).await.expect_err("refused");
        assert!(matches!(&err, Error::Validation { field, .. } if field == expected), "{expected}: {err:?}");
    }
    any.assert_calls_async(0).await;
}

#[tokio::test]
async fn payment_status_and_cancel_take_the_external_id() {
    let server = MockServer::start_async().await;
    serve_doc_token(&server).await;
    let status = server
        .mock_async(|when, then| {
            when.path("/api/transaction/status").body("external_id=TEST00001111114");
            then.status(200).body(fixture("transaction_status_paid.json"));
        })
        .await;
    let cancel = server
        .mock_async(|when, then| {
            when.path("/api/transaction").body("action=cancel&external_id=TEST00001111114");
            then.status(200).body(fixture("transaction_cancel.json"));
        })
        .await;
    let client = client(&server);
    let paid = client.payment_status("TEST00001111114").await.unwrap();
    status.assert_async().await;
    assert_eq!(paid.status, PaymentStatus::Paid);
    assert_eq!(paid.reference.as_deref(), Some("TEST00001111114"));
    assert_eq!(paid.provider_reference.as_deref(), Some("TE202100000001"));
    assert_eq!(paid.amount, Some(Money::idr(300_000)));
    assert_eq!(paid.payment_code, None);
    insta::assert_json_snapshot!("payment_paid", paid);

    let cancelled = client.cancel_payment("TEST00001111114").await.unwrap();
    cancel.assert_async().await;
    assert_eq!(cancelled.status, PaymentStatus::Cancelled);
    assert_eq!(cancelled.provider_status, "cancel");
    assert_eq!(cancelled.reference.as_deref(), Some("TEST00001111114"));
}

#[tokio::test]
async fn capabilities_say_cancel_and_a_callback_confirmed_by_status() {
    let server = MockServer::start_async().await;
    let client = client(&server);
    assert_eq!(client.id(), ProviderId::Ciputra);
    let caps = client.capabilities();
    assert!(caps.create_payment && caps.payment_status && caps.cancel_payment);
    assert_eq!(caps.lookup, gerbang_core::LookupKey::Reference);
    assert_eq!(caps.webhook, WebhookSupport::ConfirmedByStatus);
}

/// A server whose status call says the transaction is paid.
async fn paid_server() -> MockServer {
    let server = MockServer::start_async().await;
    serve_doc_token(&server).await;
    server
        .mock_async(|when, then| {
            when.path("/api/transaction/status").body("external_id=TEST00001111114");
            then.status(200).body(fixture("transaction_status_paid.json"));
        })
        .await;
    server
}

fn callback(headers: &HeaderMap, body: &'static [u8]) -> WebhookRequest<'static> {
    // The headers outlive the test's request: leak them, it is a test.
    let headers: &'static HeaderMap = Box::leak(Box::new(headers.clone()));
    WebhookRequest::new(Method::POST, "/hooks/ciputra", headers, body)
}

#[tokio::test]
async fn a_callback_is_confirmed_by_the_status_call_not_by_its_body() {
    let server = paid_server().await;
    let client = client(&server);
    // The body claims the payment failed; the gateway's status says paid: paid it is.
    let body = b"external_id=TEST00001111114&order_id=TE202100000001&status=failed";
    let mut headers = HeaderMap::new();
    headers.insert("content-type", HeaderValue::from_static("application/x-www-form-urlencoded"));
    let event = client.verify_webhook(&callback(&headers, body)).await.unwrap();
    assert_eq!(event.status, PaymentStatus::Paid);
    assert_eq!(event.provider_status, "paid");
    assert_eq!(event.reference.as_deref(), Some("TEST00001111114"));
    assert_eq!(event.provider_reference.as_deref(), Some("TE202100000001"));
    assert_eq!(event.amount, Some(Money::idr(300_000)));
    assert_eq!(event.occurred_at.map(|t| t.unix_timestamp()), Some(1_635_889_121));
    assert_eq!(event.ack().status, 200);
    // `raw` is what was verified, the status answer; the callback is kept apart, as unverified.
    assert_eq!(event.raw["status"], "paid");
    assert_eq!(event.raw["order_id"], "TE202100000001");
    assert_eq!(event.unverified.as_ref().map(|body| &body["status"]), Some(&serde_json::json!("failed")));
}

#[tokio::test]
async fn a_json_callback_is_read_too() {
    let server = paid_server().await;
    let event = client(&server)
        .verify_webhook(&callback(&HeaderMap::new(), br#"{"external_id":"TEST00001111114","status":"paid"}"#))
        .await
        .unwrap();
    assert_eq!(event.status, PaymentStatus::Paid);
}

#[tokio::test]
async fn a_callback_that_names_another_order_or_no_transaction_is_refused() {
    let server = paid_server().await;
    let client = client(&server);
    let forged = b"external_id=TEST00001111114&order_id=TE209999999999&status=paid";
    let err = client.verify_webhook(&callback(&HeaderMap::new(), forged)).await.unwrap_err();
    assert!(matches!(err, Error::InvalidSignature { .. }), "{err:?}");
    assert_eq!(client.reject_webhook(&err).status, 401);

    let anonymous = b"order_id=TE202100000001&status=paid";
    let err = client.verify_webhook(&callback(&HeaderMap::new(), anonymous)).await.unwrap_err();
    assert!(matches!(&err, Error::Decode { context } if context.contains("external_id")), "{err:?}");
}
