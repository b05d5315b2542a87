//! Both calls of PROVIDERS.md §2: method, path, every header, the signature, the body, and the
//! answers of the document parsed (the `data` wrapper and the flat form).

use gerbang_cashin::{CheckoutCustomer, CheckoutRequest, HmacAlgorithm, PaymentChannel};
use gerbang_core::Decimal;
use httpmock::Method::POST;
use httpmock::{Mock, MockServer};

use crate::common::{CLIENT_ID, NOW_TEXT, builder, client, fixture, signed_correctly};

fn checkout_request() -> CheckoutRequest {
    CheckoutRequest::new(
        "ORDER-1001",
        150_000,
        30,
        "https://shop.example.com/orders/ORDER-1001/paid",
        "https://shop.example.com/cart",
        CheckoutCustomer::new("CUST-42", "081234567890"),
    )
    .payment_channel(PaymentChannel::Qris)
}

/// A mock answering `answer` to a correctly signed POST of exactly `requests/{body}` to `path`.
async fn signed_post<'a>(
    server: &'a MockServer,
    path: &'static str,
    body: &str,
    answer: &str,
    sha512: bool,
) -> Mock<'a> {
    let body = fixture(&format!("requests/{body}"));
    let answer = fixture(answer);
    server
        .mock_async(|when, then| {
            when.method(POST)
                .path(format!("/pg/fo{path}"))
                .query_param_count(".*", ".*", 0)
                .header("x-client-id", CLIENT_ID)
                .header("x-timestamp", NOW_TEXT)
                .header_exists("x-request-id")
                .header("content-type", "application/json")
                .body(body)
                .is_true(move |req| signed_correctly(req, path, sha512));
            then.status(200).header("content-type", "application/json").body(answer);
        })
        .await
}

#[tokio::test]
async fn create_checkout_sends_every_header_and_the_documented_body() {
    let server = MockServer::start_async().await;
    let mock = signed_post(&server, "/payment", "checkout.json", "checkout_data.json", false).await;
    let checkout = client(&server).create_checkout(&checkout_request()).await.unwrap();
    mock.assert_async().await;
    assert!(checkout.payment_url.starts_with("https://dev-checkout.cashin.co.id/payment/"));
    assert_eq!(checkout.message.as_deref(), Some("Successful"));
    insta::assert_json_snapshot!("checkout_data", checkout);
}

#[tokio::test]
async fn the_documents_flat_checkout_answer_parses_too() {
    let server = MockServer::start_async().await;
    let mock = signed_post(&server, "/payment", "checkout.json", "checkout_flat.json", false).await;
    let checkout = client(&server).create_checkout(&checkout_request()).await.unwrap();
    mock.assert_async().await;
    assert_eq!(checkout.message, None);
    assert!(checkout.extra.is_empty());
    insta::assert_json_snapshot!("checkout_flat", checkout);
}

#[tokio::test]
async fn checkout_status_posts_the_trx_no_and_reads_the_documents_answer() {
    let server = MockServer::start_async().await;
    let mock = signed_post(&server, "/payment/status", "status.json", "status_success.json", false).await;
    let status = client(&server).checkout_status("ORDER-1001").await.unwrap();
    mock.assert_async().await;
    assert_eq!(status.trx_no, "TRX001");
    assert_eq!(status.status, "SUCCESS");
    // The document's example sends "QRIS " with a trailing space.
    assert_eq!(status.payment_method.as_deref(), Some("QRIS"));
    // 4000.00 exactly as written, never through a float.
    assert_eq!(status.amount, Some(Decimal::new(400_000, 2)));
    insta::assert_json_snapshot!("status_success", status);
}

#[tokio::test]
async fn a_flat_status_answer_with_a_string_amount_parses() {
    let server = MockServer::start_async().await;
    let mock = signed_post(&server, "/payment/status", "status.json", "status_open_flat.json", false).await;
    let status = client(&server).checkout_status("ORDER-1001").await.unwrap();
    mock.assert_async().await;
    assert_eq!(status.status, "OPEN");
    assert_eq!(status.payment_method, None, "a blank method is no method");
    assert_eq!(status.amount, Some(Decimal::new(15_000_000, 2)));
}

#[tokio::test]
async fn unknown_fields_are_kept_in_extra() {
    let server = MockServer::start_async().await;
    signed_post(&server, "/payment/status", "status.json", "status_failed.json", false).await;
    let status = client(&server).checkout_status("ORDER-1001").await.unwrap();
    assert_eq!(status.extra["failedReason"], "expired");
}

#[tokio::test]
async fn the_sha512_switch_signs_with_hmac_sha512() {
    let server = MockServer::start_async().await;
    let mock = signed_post(&server, "/payment/status", "status.json", "status_success.json", true).await;
    let client =
        gerbang_cashin::CashinClient::new(builder(&server.url("/pg/fo")).hmac(HmacAlgorithm::Sha512).build().unwrap());
    client.checkout_status("ORDER-1001").await.unwrap();
    mock.assert_async().await;
}

#[tokio::test]
async fn every_request_gets_a_fresh_request_id() {
    let server = MockServer::start_async().await;
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let record = std::sync::Arc::clone(&seen);
    server
        .mock_async(move |when, then| {
            when.path("/pg/fo/payment/status").is_true(move |req| {
                let id = req.headers().get("x-request-id").unwrap().to_str().unwrap().to_owned();
                record.lock().unwrap().push(id);
                true
            });
            then.status(200).body(fixture("status_success.json"));
        })
        .await;
    let client = client(&server);
    for _ in 0..3 {
        client.checkout_status("ORDER-1001").await.unwrap();
    }
    let mut ids = seen.lock().unwrap().clone();
    assert!(ids.len() >= 3);
    ids.sort();
    ids.dedup();
    assert!(ids.len() >= 3, "request ids repeat: {ids:?}");
}

#[tokio::test]
async fn an_invalid_checkout_is_refused_before_sending() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.any_request();
            then.status(200).body(fixture("checkout_data.json"));
        })
        .await;
    let client = client(&server);
    let customer = || CheckoutCustomer::new("CUST-42", "081234567890");
    let make = |trx: &str, amount, duration, customer| {
        CheckoutRequest::new(trx, amount, duration, "https://a.example/ok", "https://a.example/no", customer)
    };
    let cases = [
        (make("ORDER-1", 0, 30, customer()), "amount"),
        (make(" ", 1000, 30, customer()), "trxNo"),
        (make(&"X".repeat(65), 1000, 30, customer()), "trxNo"),
        (make("ORDER-1", 1000, 0, customer()), "duration"),
        (make("ORDER-1", 1000, 30, CheckoutCustomer::new("", "0812")), "customer.id"),
        (make("ORDER-1", 1000, 30, CheckoutCustomer::new("C", "08123456789012345")), "customer.phoneNumber"),
    ];
    for (request, expected) in cases {
        let err = client.create_checkout(&request).await.unwrap_err();
        assert!(matches!(&err, gerbang_core::Error::Validation { field, .. } if field == expected), "{err:?}");
    }
    assert!(client.checkout_status(" ").await.is_err());
    assert_eq!(mock.calls_async().await, 0);
}
