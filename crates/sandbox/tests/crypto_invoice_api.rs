//! The crypto invoice emulator over HTTP, driven the way the document shows (JSON and form
//! bodies built by hand here, independently of the client crate): keys, validation, look-ups,
//! states, and the callback with its retries.
#![allow(clippy::unwrap_used)] // helpers below are test code: a panic is the failing test

mod common;

use std::time::Duration;

use common::{Receiver, answer};
use gerbang_core::ProviderId;
use gerbang_sandbox::crypto_invoice::{PRIVATE_KEY, PUBLIC_KEY, WEBHOOK_ATTEMPTS};
use gerbang_sandbox::{PaymentState, Sandbox, SandboxError};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(10);

/// A JSON POST of `body` (with the sandbox's keys added) to `path` under the sandbox's prefix.
async fn post_json(base: &str, path: &str, mut body: Value) -> common::Answer {
    body["public_key"] = json!(PUBLIC_KEY);
    body["private_key"] = json!(PRIVATE_KEY);
    answer(
        reqwest::Client::new()
            .post(format!("{base}{path}"))
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .unwrap(),
    )
    .await
}

/// The invoices of `order_id`, decoded from the string `message` holds.
async fn invoices(base: &str, order_id: &str) -> Vec<Value> {
    let answer = post_json(base, "/get_invoices", json!({ "order_id": order_id })).await;
    assert_eq!(answer.status, 200, "{:?}", answer.json);
    serde_json::from_str(answer.json["message"].as_str().expect("message is a string")).unwrap()
}

fn assert_error(answer: &common::Answer, status: u16, first: &str) {
    assert_eq!(answer.status, status, "{:?}", answer.json);
    assert_eq!(answer.json["status"], "error");
    assert_eq!(answer.json["message"][0], first, "{:?}", answer.json);
}

#[tokio::test]
async fn create_answers_the_invoice_url_and_the_page_is_served() {
    let sandbox = Sandbox::builder().start().await.unwrap();
    let base = sandbox.base_url(ProviderId::CryptoInvoice);
    let created = post_json(&base, "/create_invoice", json!({ "price_amount": 725, "order_id": 11, "test": 1 })).await;
    assert_eq!(created.status, 200, "{:?}", created.json);
    assert_eq!(created.json["status"], "success");
    let url = created.json["message"].as_str().unwrap().to_owned();
    assert!(url.starts_with(&format!("{base}/invoice/")), "{url}");
    let page = reqwest::get(&url).await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("725 USD"));

    let listed = invoices(&base, "11").await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["status"], "pending");
    assert_eq!(listed[0]["price_amount"], "725");
    assert_eq!(listed[0]["test"], 1);
    assert_eq!(listed[0]["invoice_url"], url.as_str());
    assert!(invoices(&base, "12").await.is_empty());
    sandbox.shutdown().await;
}

#[tokio::test]
async fn form_bodies_are_read_like_the_documents_php_example() {
    let sandbox = Sandbox::builder().start().await.unwrap();
    let base = sandbox.base_url(ProviderId::CryptoInvoice);
    let form = format!(
        "public_key={PUBLIC_KEY}&private_key={PRIVATE_KEY}&price_amount=725.50&price_currency=EUR&order_id=F-1\
         &banned_coins=%5B%22BTC%22%5D&white_label=1&expiration_date=3"
    );
    let response = reqwest::Client::new()
        .post(format!("{base}/create_invoice"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .unwrap();
    let created = answer(response).await;
    assert_eq!(created.status, 200, "{:?}", created.json);
    let coins = created.json["message"].as_array().unwrap();
    assert!(coins.iter().all(|c| c["coin"] != "BTC" && c["address"].is_string()), "{coins:?}");
    let listed = invoices(&base, "F-1").await;
    assert_eq!(
        (listed[0]["price_amount"].as_str(), listed[0]["price_currency"].as_str()),
        (Some("725.50"), Some("EUR"))
    );
    sandbox.shutdown().await;
}

#[tokio::test]
async fn wrong_or_missing_keys_are_refused_in_the_gateways_shape() {
    let sandbox = Sandbox::builder().start().await.unwrap();
    let base = sandbox.base_url(ProviderId::CryptoInvoice);
    let client = reqwest::Client::new();
    let wrong = json!({ "public_key": PUBLIC_KEY, "private_key": "guess", "price_amount": 1 });
    let refused = answer(
        client
            .post(format!("{base}/create_invoice"))
            .header("content-type", "application/json")
            .body(wrong.to_string())
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_error(&refused, 401, "Invalid public key or private key.");
    let missing = answer(
        client
            .post(format!("{base}/get_invoices"))
            .header("content-type", "application/json")
            .body("{}")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_error(&missing, 422, "The public key field is required.");
    assert_eq!(missing.json["message"][1], "The private key field is required.");
    sandbox.shutdown().await;
}

#[tokio::test]
async fn every_validation_problem_is_listed_with_http_422() {
    let sandbox = Sandbox::builder().start().await.unwrap();
    let base = sandbox.base_url(ProviderId::CryptoInvoice);
    let bad =
        json!({ "expiration_date": 13, "callback_url": "nowhere", "banned_coins": "BTC", "price_currency": "XAU" });
    let refused = post_json(&base, "/create_invoice", bad).await;
    assert_error(&refused, 422, "The price amount field is required.");
    let messages: Vec<&str> = refused.json["message"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    for expected in [
        "The selected price currency is invalid.",
        "The expiration date must be between 1 and 12.",
        "The banned coins must be a valid JSON array of coin codes.",
        "The callback url must be a valid URL.",
    ] {
        assert!(messages.contains(&expected), "{expected} missing from {messages:?}");
    }
    let lookup = post_json(&base, "/get_invoices", json!({})).await;
    assert_error(&lookup, 422, "The order id field is required.");
    sandbox.shutdown().await;
}

#[tokio::test]
async fn paying_sends_the_documents_callback_with_the_key_and_retries_after_a_500() {
    let receiver = Receiver::start(&[500]).await;
    let sandbox = Sandbox::builder().webhook_retry(WEBHOOK_ATTEMPTS, Duration::from_millis(50)).start().await.unwrap();
    let base = sandbox.base_url(ProviderId::CryptoInvoice);
    let body = json!({ "price_amount": "10.5", "order_id": "ORDER-9", "email": "budi@example.com", "callback_url": receiver.url });
    assert_eq!(post_json(&base, "/create_invoice", body).await.status, 200);
    let id = invoices(&base, "ORDER-9").await[0]["id"].as_u64().unwrap();

    assert_eq!(sandbox.pay(ProviderId::CryptoInvoice, &id.to_string()).await, Ok(PaymentState::Paid));
    let deliveries = sandbox.wait_for_deliveries(2, WAIT).await.unwrap();
    assert_eq!(deliveries.iter().map(|d| (d.attempt, d.status)).collect::<Vec<_>>(), [(1, Some(500)), (2, Some(200))]);
    let received = receiver.received();
    assert_eq!(received.len(), 2);
    assert_eq!(received[0], received[1]);
    let callback: Value = serde_json::from_str(&received[0]).unwrap();
    assert_eq!(callback["private_key"], PRIVATE_KEY);
    for field in [
        "id",
        "email",
        "merchant_id",
        "order_id",
        "customer_id",
        "price_amount",
        "price_currency",
        "amount",
        "amount_currency",
        "add_fee_to_price",
        "title",
        "description",
        "ref_url",
        "cancel_url",
        "success_url",
        "callback_url",
        "ip",
        "test",
        "created_at",
        "expiration_date",
    ] {
        assert!(callback.get(field).is_some(), "the callback lacks `{field}`: {callback}");
    }
    assert_eq!((callback["id"].as_u64(), callback["amount"].as_str()), (Some(id), Some("10.5")));
    assert_eq!(invoices(&base, "ORDER-9").await[0]["status"], "paid");
    sandbox.shutdown().await;
}

#[tokio::test]
async fn a_callback_is_tried_three_times_in_all() {
    let receiver = Receiver::start(&[503, 503, 503, 503]).await;
    let sandbox = Sandbox::builder().webhook_retry(WEBHOOK_ATTEMPTS, Duration::from_millis(20)).start().await.unwrap();
    let base = sandbox.base_url(ProviderId::CryptoInvoice);
    post_json(&base, "/create_invoice", json!({ "price_amount": 1, "order_id": "R", "callback_url": receiver.url }))
        .await;
    sandbox.pay(ProviderId::CryptoInvoice, "R").await.unwrap();
    let deliveries = sandbox.wait_for_deliveries(3, WAIT).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(sandbox.deliveries().len(), 3, "{deliveries:?}");
    assert_eq!(WEBHOOK_ATTEMPTS, 3);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn invoices_expire_without_a_callback_and_cannot_fail() {
    let receiver = Receiver::start(&[]).await;
    let sandbox = Sandbox::builder().start().await.unwrap();
    let base = sandbox.base_url(ProviderId::CryptoInvoice);
    post_json(&base, "/create_invoice", json!({ "price_amount": 1, "order_id": "E", "callback_url": receiver.url }))
        .await;
    assert!(matches!(
        sandbox.fail(ProviderId::CryptoInvoice, "E").await,
        Err(SandboxError::UnsupportedTransition { .. })
    ));
    assert_eq!(sandbox.expire(ProviderId::CryptoInvoice, "E").await, Ok(PaymentState::Expired));
    assert!(matches!(sandbox.pay(ProviderId::CryptoInvoice, "E").await, Err(SandboxError::NotPending { .. })));
    assert!(matches!(sandbox.pay(ProviderId::CryptoInvoice, "NOPE").await, Err(SandboxError::UnknownPayment { .. })));
    assert_eq!(invoices(&base, "E").await[0]["status"], "expired");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(sandbox.deliveries().is_empty() && receiver.received().is_empty());
    sandbox.shutdown().await;
}

#[tokio::test]
async fn an_invoice_past_its_expiration_date_is_expired_by_the_sandbox_clock() {
    let clock = std::sync::Arc::new(gerbang_core::FixedClock::at_unix(1_759_053_750));
    let sandbox = Sandbox::builder().clock(clock.clone()).start().await.unwrap();
    let base = sandbox.base_url(ProviderId::CryptoInvoice);
    post_json(&base, "/create_invoice", json!({ "price_amount": 1, "order_id": "T", "expiration_date": 1 })).await;
    assert_eq!(invoices(&base, "T").await[0]["created_at"], "2025-09-28T10:02:30Z");
    clock.advance(Duration::from_secs(3600));
    assert_eq!(invoices(&base, "T").await[0]["status"], "expired");
    sandbox.shutdown().await;
}
