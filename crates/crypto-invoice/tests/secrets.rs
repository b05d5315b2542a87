//! The keys, which travel in every request body, and the customer's e-mail never show in logs
//! (at TRACE level), `Debug` or errors, even on failing calls.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests may unwrap: see clippy.toml.

mod common;

use common::{PRIVATE_KEY, PUBLIC_KEY, builder, fixture};
use gerbang_core::{Decimal, PaymentProvider};
use gerbang_crypto_invoice::{CreateInvoiceRequest, CryptoInvoiceClient, WebhookVerifier};
use gerbang_testkit::{LogCapture, assert_nothing_leaks};
use httpmock::MockServer;

const EMAIL: &str = "budi.secret@example.com";

#[tokio::test(flavor = "multi_thread")]
async fn no_log_debug_or_error_shows_a_key_or_the_email() {
    let logs = LogCapture::install();
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.any_request();
            then.status(401).body(fixture("error_401.json"));
        })
        .await;
    let client = CryptoInvoiceClient::new(builder(&server.url("/api/v1")).build().unwrap());
    let request = CreateInvoiceRequest::new(Decimal::ONE).email(EMAIL);
    let mut shown = vec![
        format!("{client:?}"),
        format!("{:?}", client.config()),
        format!("{:?}", WebhookVerifier::new(PRIVATE_KEY)),
        format!("{request:?}"),
    ];
    let errors = [client.create_invoice(&request).await.unwrap_err(), client.payment_status("11").await.unwrap_err()];
    for error in &errors {
        shown.push(error.to_string());
        shown.push(format!("{error:?}"));
    }
    let logs = logs.text();
    assert!(logs.contains("gerbang.http"), "the calls were traced: {logs}");
    shown.push(logs);
    assert_nothing_leaks(&shown, &[PUBLIC_KEY, PRIVATE_KEY, EMAIL]);
}
