//! The keys, which travel in every request body, and the customer's e-mail never show in logs
//! (at TRACE level), `Debug` or errors, even on failing calls; nor does the previous private key
//! of a rotation, while the log says which key a callback carried.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests may unwrap: see clippy.toml.

mod common;

use common::{PRIVATE_KEY, PUBLIC_KEY, builder, fixture};
use gerbang_core::http::{HeaderMap, Method};
use gerbang_core::{Decimal, KeyUsed, PaymentProvider, WebhookRequest};
use gerbang_crypto_invoice::{CreateInvoiceRequest, CryptoInvoiceClient, WebhookVerifier};
use gerbang_testkit::{LogCapture, answer_with_errors, assert_nothing_leaks, show_verification};
use httpmock::MockServer;

const EMAIL: &str = "budi.secret@example.com";
/// The private key being rotated out: as secret as the current one.
const PREVIOUS_KEY: &str = "test-previous-key-PV3m8";

#[tokio::test(flavor = "multi_thread")]
async fn no_log_debug_or_error_shows_a_key_or_the_email() {
    let logs = LogCapture::install();
    let server = MockServer::start_async().await;
    // A gateway that quotes the previous key back in an error.
    let revoked = format!(r#"{{"status":"error","message":["key {PREVIOUS_KEY} was revoked"]}}"#);
    answer_with_errors(&server, &[("/api/v1/get_invoices", 401, revoked)]).await;
    server
        .mock_async(|when, then| {
            when.any_request();
            then.status(401).body(fixture("error_401.json"));
        })
        .await;
    let client =
        CryptoInvoiceClient::new(builder(&server.url("/api/v1")).previous_private_key(PREVIOUS_KEY).build().unwrap());
    let request = CreateInvoiceRequest::new(Decimal::ONE).email(EMAIL);
    let mut shown = vec![
        format!("{client:?}"),
        format!("{:?}", client.config()),
        format!("{:?}", builder(&server.url("/api/v1")).previous_private_key(PREVIOUS_KEY)),
        format!("{:?}", WebhookVerifier::new(PRIVATE_KEY).with_previous_key(PREVIOUS_KEY)),
        format!("{request:?}"),
    ];
    // Callbacks carrying each key, and one carrying neither.
    let headers = HeaderMap::new();
    for (key, expected) in
        [(PRIVATE_KEY, Some(KeyUsed::Current)), (PREVIOUS_KEY, Some(KeyUsed::Previous)), ("other-key", None)]
    {
        let body = format!(r#"{{"private_key":"{key}","id":4711,"order_id":"ORDER-1"}}"#);
        let callback = WebhookRequest::new(Method::POST, "/callbacks/crypto", &headers, body.as_bytes());
        show_verification(&mut shown, client.verify_webhook(&callback).await, expected);
    }
    let errors = [
        client.create_invoice(&request).await.unwrap_err(),
        client.payment_status("11").await.unwrap_err(),
        gerbang_crypto_invoice::CryptoInvoiceConfig::builder(PUBLIC_KEY, PRIVATE_KEY)
            .previous_private_key(" ")
            .build()
            .unwrap_err(),
    ];
    assert!(errors[1].to_string().contains("<redacted> was revoked"), "{}", errors[1]);
    for error in &errors {
        shown.push(error.to_string());
        shown.push(format!("{error:?}"));
    }
    let logs = logs.text();
    assert!(logs.contains("gerbang.http"), "the calls were traced: {logs}");
    assert!(logs.contains(r#"key="current""#) && logs.contains(r#"key="previous""#), "the key used is logged: {logs}");
    shown.push(logs);
    assert_nothing_leaks(&shown, &[PUBLIC_KEY, PRIVATE_KEY, PREVIOUS_KEY, EMAIL]);
}
