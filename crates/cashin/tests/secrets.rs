//! No secret key, and no customer phone, ever appears in logs, `Debug` or error messages, even at
//! TRACE level and on failing calls; nor does a refused notification echo its body. During a key
//! rotation, the log says which of Cash In's keys verified a notification, never the key.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests may unwrap: see clippy.toml.

mod common;

use std::time::Duration;

use gerbang_cashin::{
    CashinClient, CheckoutCustomer, CheckoutRequest, NOTIFY_PATH, NotificationSigner, PrivateKey, WebhookVerifier,
};
use gerbang_core::http::{HeaderMap, HeaderValue, Method};
use gerbang_core::{
    HttpClient, KeyUsed, Money, PaymentProvider, PaymentRequest, ProviderId, RetryPolicy, WebhookRequest,
};
use gerbang_testkit::{Shown, answer_with_errors, closed_base_url};
use httpmock::MockServer;

use common::{CLIENT_ID, NOW_TEXT, SECRET_KEY, builder, client, client_at, fixture, fixture_bytes};

const PHONE: &str = "081299990000";

#[tokio::test(flavor = "multi_thread")]
async fn the_secret_key_and_customer_details_never_reach_logs_debug_or_errors() {
    let mut shown = Shown::capture(ProviderId::CashIn);
    let server = MockServer::start_async().await;
    let answers =
        [("/pg/fo/payment", 401, fixture("error_401.json")), ("/pg/fo/payment/status", 500, fixture("error_500.json"))];
    answer_with_errors(&server, &answers).await;

    // Cash In's key being rotated out: a public key, but no `Debug` or log needs its text.
    let previous_private = PrivateKey::from_pem(&fixture("webhook/rotation_previous_private_pkcs8.pem")).unwrap();
    let previous_pem = previous_private.public_key().to_pem();
    let previous_text = previous_pem.lines().nth(2).unwrap().to_owned();
    let config = builder(&server.url("/pg/fo")).previous_public_key_pem(previous_pem.clone()).build().unwrap();
    shown.debug(&config);
    shown.debug(&builder(&server.url("/pg/fo")).previous_public_key_pem(previous_pem));
    let rotating = CashinClient::new(config);
    shown.debug(&rotating);
    shown.debug(&rotating.webhook_verifier().unwrap());
    let current_private = PrivateKey::from_pem(&fixture("webhook/cashin_private_pkcs8.pem")).unwrap();
    let body = fixture_bytes("webhook/paid_compact.json");
    for (key, expected) in [(current_private, KeyUsed::Current), (previous_private, KeyUsed::Previous)] {
        let headers = NotificationSigner::new(key, CLIENT_ID).headers(NOTIFY_PATH, &body, NOW_TEXT).unwrap();
        let event = rotating.verify_webhook(&WebhookRequest::new(Method::POST, NOTIFY_PATH, &headers, &body)).await;
        shown.verification(event, Some(expected));
    }
    let client = client(&server);
    shown.debug(&client);
    let customer = CheckoutCustomer::new("CUST-1", PHONE);
    let checkout =
        CheckoutRequest::new("TRX-1", 10_000, 30, "https://shop.example/ok", "https://shop.example/back", customer);
    shown.debug(&checkout);

    let request = PaymentRequest::builder("TRX-2", Money::idr(10_000))
        .channel("qris".parse().unwrap())
        .customer_id("CUST-1")
        .customer_phone(PHONE)
        .return_url("https://shop.example/back")
        .build()
        .unwrap();
    let mut errors = vec![
        client.create_checkout(&checkout).await.unwrap_err(),
        client.create_payment(&request).await.unwrap_err(),
        client.checkout_status("TRX-1").await.unwrap_err(),
    ];

    // A timeout, and a connection refused.
    let impatient =
        HttpClient::builder().timeout(Duration::from_millis(100)).retry(RetryPolicy::none()).build().unwrap();
    server
        .mock_async(|when, then| {
            when.path("/slow/payment/status");
            then.status(200).delay(Duration::from_millis(500)).body(fixture("status_success.json"));
        })
        .await;
    let slow = CashinClient::new(builder(&server.url("/slow")).http_client(impatient).build().unwrap());
    errors.push(slow.checkout_status("TRX-1").await.unwrap_err());
    let refused = client_at(&closed_base_url("/pg/fo"));
    errors.push(refused.create_payment(&request).await.unwrap_err());

    // A notification with a forged signature, carrying the phone in its body.
    let verifier = WebhookVerifier::from_pem(&fixture("webhook/cashin_public_spki.pem")).unwrap();
    let mut headers = HeaderMap::new();
    headers.insert("x-timestamp", HeaderValue::from_static("2024-11-04T10:00:00+07:00"));
    headers.insert("x-signature", HeaderValue::from_static("Zm9yZ2Vk"));
    let body = format!(r#"{{"originalReferenceNo":"TRX-1","latestTransactionStatus":"00","phone":"{PHONE}"}}"#);
    let notification = WebhookRequest::new(Method::POST, "/v1.0/debit/notify", &headers, body.as_bytes());
    errors.push(verifier.verify(&notification).unwrap_err());
    shown.errors(&errors);

    // The calls were traced, and the key each notification verified with is logged.
    let logged = ["gerbang.http", "hyper", r#"key="current""#, r#"key="previous""#];
    shown.assert_nothing_leaks(&logged, &[SECRET_KEY, PHONE, &previous_text]);
}
