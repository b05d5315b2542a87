//! Answers recorded from the sandbox, kept as files in `tests/fixtures/sandbox/`.
//!
//! Normally this checks two things: every recorded answer still parses with the client's own
//! parser, and the sandbox still answers in the recorded shape (the same keys with the same JSON
//! types; ids and times differ from run to run). `cargo xtask fixtures` (which sets
//! `GERBANG_REGENERATE_FIXTURES=1`) records the answers anew, for review in `git diff`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use gerbang_core::http::{HeaderMap, Method, StatusCode};
use gerbang_core::transport::HttpResponse;
use gerbang_core::{ProviderId, WebhookRequest};
use gerbang_crypto_invoice::{WebhookVerifier, parse_create_invoice, parse_get_invoices};
use gerbang_sandbox::Sandbox;
use gerbang_sandbox::crypto_invoice::{PRIVATE_KEY, PUBLIC_KEY};
use gerbang_testkit::check_sandbox_fixtures;
use serde_json::{Value, json};

/// A JSON call to the sandbox with its keys, returning the status and body.
async fn call(base: &str, path: &str, mut body: Value) -> (u16, Value) {
    body["public_key"] = json!(PUBLIC_KEY);
    body["private_key"] = json!(PRIVATE_KEY);
    call_raw(base, path, body).await
}

async fn call_raw(base: &str, path: &str, body: Value) -> (u16, Value) {
    let response = gerbang_core::HttpClient::new()
        .send(gerbang_core::transport::Call::once(ProviderId::CryptoInvoice, "fixture"), || {
            Ok(gerbang_core::transport::HttpRequest::new(Method::POST, format!("{base}{path}").parse().unwrap())
                .body("application/json", body.to_string()))
        })
        .await
        .unwrap();
    (response.status.as_u16(), serde_json::from_slice(&response.body).unwrap())
}

/// Every answer worth recording, by fixture name, with its HTTP status.
async fn record() -> Vec<(&'static str, u16, Value)> {
    let sandbox = Sandbox::builder().webhook_retry(1, Duration::ZERO).start().await.unwrap();
    let base = sandbox.base_url(ProviderId::CryptoInvoice);
    let b = base.as_str();
    let hook = "http://127.0.0.1:9/unused";
    let mut answers = Vec::new();
    let (s, v) =
        call(b, "/create_invoice", json!({"price_amount": 725, "order_id": "11", "test": 1, "callback_url": hook}))
            .await;
    answers.push(("create_invoice", s, v));
    let (s, v) = call(
        b,
        "/create_invoice",
        json!({"price_amount": 725, "order_id": "12", "white_label": 1, "banned_coins": "[\"BTC\"]"}),
    )
    .await;
    answers.push(("create_invoice_white_label", s, v));
    sandbox.pay(ProviderId::CryptoInvoice, "11").await.unwrap();
    let (s, v) = call(b, "/get_invoices", json!({"order_id": "11"})).await;
    answers.push(("get_invoices_paid", s, v));
    let (s, v) = call(b, "/create_invoice", json!({"expiration_date": 13})).await;
    answers.push(("error_422", s, v));
    let (s, v) =
        call_raw(b, "/get_invoices", json!({"public_key": PUBLIC_KEY, "private_key": "wrong", "order_id": "11"})).await;
    answers.push(("error_401", s, v));
    let callback = sandbox.wait_for_deliveries(1, Duration::from_secs(5)).await.unwrap();
    answers.push(("callback_paid", 200, serde_json::from_str(&callback[0].body).unwrap()));
    sandbox.shutdown().await;
    answers
}

fn parse_with_client(name: &str, status: u16, value: &Value) {
    let response =
        HttpResponse::new(StatusCode::from_u16(status).unwrap(), HeaderMap::new(), serde_json::to_vec(value).unwrap());
    match name {
        "create_invoice" => assert!(parse_create_invoice(&response).unwrap().invoice_url.is_some()),
        "create_invoice_white_label" => assert!(parse_create_invoice(&response).unwrap().coins.is_some()),
        "get_invoices_paid" => assert_eq!(parse_get_invoices(&response).unwrap()[0].0.status.as_deref(), Some("paid")),
        "callback_paid" => {
            let headers = HeaderMap::new();
            let body = value.to_string();
            let request = WebhookRequest::new(Method::POST, "/cb", &headers, body.as_bytes());
            assert!(WebhookVerifier::new(PRIVATE_KEY).verify_callback(&request).unwrap().is_test());
        }
        _ => {
            let error = parse_get_invoices(&response).expect_err(name);
            let message = value["message"][0].as_str().unwrap();
            assert!(error.to_string().contains(message), "{name}: {error} lost `{message}`");
        }
    }
}

#[tokio::test]
async fn sandbox_answers_match_the_recorded_fixtures() {
    for (name, status, body) in check_sandbox_fixtures(env!("CARGO_MANIFEST_DIR"), &record().await) {
        parse_with_client(&name, status, &body);
    }
}
