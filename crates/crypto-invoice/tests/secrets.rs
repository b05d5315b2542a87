//! The keys, which travel in every request body, and the customer's e-mail never show in logs
//! (at TRACE level), `Debug` or errors, even on failing calls; nor does the previous private key
//! of a rotation, while the log says which key a callback carried.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests may unwrap: see clippy.toml.

mod common;

use common::{PRIVATE_KEY, PUBLIC_KEY, builder, fixture};
use gerbang_core::http::{HeaderMap, Method};
use gerbang_core::{Decimal, KeyUsed, PaymentProvider, ProviderId, WebhookRequest};
use gerbang_crypto_invoice::{CreateInvoiceRequest, CryptoInvoiceClient, WebhookVerifier};
use gerbang_testkit::{Shown, answer_with_errors};
use httpmock::MockServer;

const EMAIL: &str = "budi.secret@example.com";
/// The private key being rotated out: as secret as the current one.
const PREVIOUS_KEY: &str = "test-previous-key-PV3m8";

#[tokio::test(flavor = "multi_thread")]
async fn no_log_debug_or_error_shows_a_key_or_the_email() {
    let mut shown = Shown::capture(ProviderId::CryptoInvoice);
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
    shown.debug(&client);
    shown.debug(client.config());
    shown.debug(&builder(&server.url("/api/v1")).previous_private_key(PREVIOUS_KEY));
    shown.debug(&WebhookVerifier::new(PRIVATE_KEY).with_previous_key(PREVIOUS_KEY));
    shown.debug(&request);
    // Callbacks carrying each key, and one carrying neither.
    let headers = HeaderMap::new();
    for (key, expected) in
        [(PRIVATE_KEY, Some(KeyUsed::Current)), (PREVIOUS_KEY, Some(KeyUsed::Previous)), ("other-key", None)]
    {
        let body = format!(r#"{{"private_key":"{key}","id":4711,"order_id":"ORDER-1"}}"#);
        let callback = WebhookRequest::new(Method::POST, "/callbacks/crypto", &headers, body.as_bytes());
        shown.verification(client.verify_webhook(&callback).await, expected);
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
    shown.errors(&errors);

    // The calls were traced, and the key each callback carried is logged.
    let logged = ["gerbang.http", r#"key="current""#, r#"key="previous""#];
    shown.assert_nothing_leaks(&logged, &[PUBLIC_KEY, PRIVATE_KEY, PREVIOUS_KEY, EMAIL]);
}
