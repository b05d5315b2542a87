//! The keys never show in `Debug`, errors, or the client's messages.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests may unwrap: see clippy.toml.

mod common;

use common::{PRIVATE_KEY, PUBLIC_KEY, builder, fixture};
use gerbang_core::{Decimal, PaymentProvider};
use gerbang_crypto_invoice::{CreateInvoiceRequest, CryptoInvoiceClient, WebhookVerifier};
use httpmock::MockServer;

fn assert_clean(text: &str) {
    assert!(!text.contains(PUBLIC_KEY) && !text.contains(PRIVATE_KEY), "a key leaked: {text}");
}

#[tokio::test]
async fn no_debug_or_error_shows_a_key() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.any_request();
            then.status(401).body(fixture("error_401.json"));
        })
        .await;
    let client = CryptoInvoiceClient::new(builder(&server.url("/api/v1")).build().unwrap());
    assert_clean(&format!("{client:?}"));
    assert_clean(&format!("{:?}", client.config()));
    assert_clean(&format!("{:?}", WebhookVerifier::new(PRIVATE_KEY)));
    let request = CreateInvoiceRequest::new(Decimal::ONE).email("budi@example.com");
    let shown = format!("{request:?}");
    assert!(!shown.contains("budi@"), "{shown}");
    let err = client.create_invoice(&request).await.unwrap_err();
    assert_clean(&err.to_string());
    assert_clean(&format!("{err:?}"));
    let err = client.payment_status("11").await.unwrap_err();
    assert_clean(&err.to_string());
}
