//! No key (the previous private key of a rotation included), and no customer e-mail or phone,
//! ever appears in logs, `Debug` or error messages, even at TRACE level and on failing calls.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests may unwrap: see clippy.toml.

mod common;

use gerbang_core::http::{HeaderMap, Method};
use gerbang_core::{Channel, KeyUsed, Money, PaymentProvider, PaymentRequest, ProviderId, WebhookRequest};
use gerbang_cuan10pay::{Cuan10payClient, Cuan10payConfig, DepositRequest, PpobOrderRequest, WebhookVerifier};
use gerbang_testkit::{Shown, answer_with_errors, closed_base_url};
use httpmock::MockServer;

use common::{API_KEY, NOW, PRIVATE_KEY, builder, client_at, fixture};

/// The private key being rotated out: as secret as the current one.
const PREVIOUS_KEY: &str = "test-previous-key-PV3m8";

const EMAIL: &str = "siti.rahma.secret@example.com";
const PHONE: &str = "081299990000";

#[tokio::test(flavor = "multi_thread")]
async fn keys_and_customer_details_never_reach_logs_debug_or_errors() {
    let mut shown = Shown::capture(ProviderId::Cuan10pay);

    let server = MockServer::start_async().await;
    let answers = [
        ("/api/v1/deposit_status", 401, fixture("error_401.json")),
        // A gateway that quotes the previous key back in an error.
        ("/api/v1/invoice_status", 400, format!(r#"{{"status":"error","message":"key {PREVIOUS_KEY} was revoked"}}"#)),
        ("/api/v1/deposit_create", 500, fixture("error_500.json")),
        ("/api/v1/ppob_order", 401, fixture("error_401.json")),
    ];
    answer_with_errors(&server, &answers).await;

    let config =
        builder(&server.url("/api")).previous_private_key(PREVIOUS_KEY).rate_budget_per_hour(100).build().unwrap();
    shown.debug(&config);
    shown.debug(&builder(&server.url("/api")).previous_private_key(PREVIOUS_KEY));
    let client = Cuan10payClient::new(config);
    shown.debug(&client);
    shown.debug(&client.webhook_verifier());
    shown.debug(&WebhookVerifier::new(PRIVATE_KEY).with_previous_key(PREVIOUS_KEY));

    // Webhooks under each key, and one under neither: the verification log says which key,
    // never the key.
    let headers = HeaderMap::new();
    for (key, expected) in
        [(PRIVATE_KEY, Some(KeyUsed::Current)), (PREVIOUS_KEY, Some(KeyUsed::Previous)), ("other-key", None)]
    {
        let body = WebhookVerifier::new(key).signed_body("CP-1", "PAID", 50_000, NOW);
        let request = WebhookRequest::new(Method::POST, "/webhooks/cuan10pay", &headers, body.as_bytes());
        shown.verification(client.verify_webhook(&request).await, expected);
    }

    let deposit = DepositRequest::new("QRIS", 50_000).customer_email(EMAIL).customer_phone(PHONE);
    shown.debug(&deposit);
    let ppob = PpobOrderRequest::new("PULSA_50K", PHONE);
    shown.debug(&ppob);
    let payment = PaymentRequest::builder("ORDER-1", Money::idr(50_000))
        .channel(Channel::Qris)
        .customer_email(EMAIL)
        .customer_phone(PHONE)
        .build()
        .unwrap();
    shown.debug(&payment);

    let mut errors = vec![
        client.invoice_status("INV-1").await.unwrap_err(),
        client.deposit_status("CP-1").await.unwrap_err(),
        client.deposit_create(&deposit).await.unwrap_err(),
        client.create_payment(&payment).await.unwrap_err(),
        client.ppob_order(&ppob).await.unwrap_err(),
    ];

    // Nothing listens there: a transport error.
    let refused = client_at(&closed_base_url("/api"));
    errors.push(refused.deposit_status("CP-1").await.unwrap_err());
    errors.push(refused.create_payment(&payment).await.unwrap_err());

    // And the configuration errors.
    errors.push(
        Cuan10payConfig::builder(API_KEY, PRIVATE_KEY)
            .base_url(format!("https://u:{PRIVATE_KEY}@x.com"))
            .build()
            .unwrap_err(),
    );
    errors.push(
        Cuan10payConfig::builder(API_KEY, PRIVATE_KEY)
            .base_url(format!("https://x.com/?k={API_KEY}"))
            .build()
            .unwrap_err(),
    );

    errors.push(Cuan10payConfig::builder(API_KEY, PRIVATE_KEY).previous_private_key("").build().unwrap_err());
    assert!(errors[0].to_string().contains("<redacted> was revoked"), "{}", errors[0]);
    assert!(errors.iter().any(|e| matches!(e, gerbang_core::Error::Unauthorized { .. })));
    assert!(errors.iter().any(|e| matches!(e, gerbang_core::Error::Transport { .. })));
    shown.errors(&errors);

    // The calls were traced, and the key each webhook verified with is logged.
    let logged = ["gerbang.http", "hyper", r#"key="current""#, r#"key="previous""#];
    shown.assert_nothing_leaks(&logged, &[API_KEY, PRIVATE_KEY, PREVIOUS_KEY, EMAIL, PHONE]);
}
