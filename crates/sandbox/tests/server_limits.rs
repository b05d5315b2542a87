//! The sandbox as a server left running on a shared machine (issue 10): memory is bounded, and
//! the links it hands out never come from the request's `Host` header.
#![allow(clippy::unwrap_used)] // helpers below are test code: a panic is the failing test

mod common;

use gerbang_core::ProviderId;
use gerbang_sandbox::qris::API_KEY;
use gerbang_sandbox::{Sandbox, SandboxError, SandboxHandle};
use serde_json::Value;

/// `GET /qris/api/v1/invoice/create?amount=…` with a forged `Host`; the answer's JSON.
async fn create_qris_invoice(sandbox: &SandboxHandle, host: &str) -> Value {
    let url = format!("{}/api/v1/invoice/create?amount=10000&apikey={API_KEY}", sandbox.base_url(ProviderId::Qris));
    let response = reqwest::Client::new().get(url).header(reqwest::header::HOST, host).send().await.unwrap();
    assert_eq!(response.status(), 200);
    serde_json::from_slice(&response.bytes().await.unwrap()).unwrap()
}

#[tokio::test]
async fn links_use_the_sandbox_address_never_the_host_header() {
    let sandbox = Sandbox::builder().start().await.unwrap();
    let invoice = create_qris_invoice(&sandbox, "evil.example").await;
    let image = invoice["qris_image"].as_str().unwrap();
    assert!(image.starts_with(&format!("{}/qris/invoice/", sandbox.url())), "{image}");
    assert!(!image.contains("evil"), "{image}");

    // Crypto invoices: the invoice URL is the whole answer.
    let body = format!(
        "public_key={}&private_key={}&price_amount=10&order_id=HOST-1",
        gerbang_sandbox::crypto_invoice::PUBLIC_KEY,
        gerbang_sandbox::crypto_invoice::PRIVATE_KEY
    );
    let response = reqwest::Client::new()
        .post(format!("{}/create_invoice", sandbox.base_url(ProviderId::CryptoInvoice)))
        .header(reqwest::header::HOST, "evil.example:666")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    let answer: Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
    let url = answer["message"].as_str().unwrap();
    assert!(url.starts_with(&format!("{}/crypto-invoice/invoice/", sandbox.url())), "{answer}");
}

#[tokio::test]
async fn links_use_the_public_url_when_one_is_set() {
    let sandbox = Sandbox::builder().public_url("https://sandbox.example:8443/").start().await.unwrap();
    let invoice = create_qris_invoice(&sandbox, "evil.example").await;
    let image = invoice["qris_image"].as_str().unwrap();
    assert!(image.starts_with("https://sandbox.example:8443/qris/invoice/"), "{image}");
}

#[tokio::test]
async fn the_oldest_payments_are_forgotten_past_max_payments() {
    let sandbox = Sandbox::builder().max_payments(2).start().await.unwrap();
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(create_qris_invoice(&sandbox, "sandbox").await["invoice_id"].as_str().unwrap().to_owned());
    }
    let status = |id: &str| {
        let url =
            format!("{}/api/v1/invoice/status?invoice_id={id}&apikey={API_KEY}", sandbox.base_url(ProviderId::Qris));
        async move { reqwest::get(url).await.unwrap().status().as_u16() }
    };
    assert_eq!(status(&ids[0]).await, 404, "the oldest invoice is forgotten");
    assert_eq!(status(&ids[1]).await, 200);
    assert_eq!(status(&ids[2]).await, 200);
    assert!(matches!(sandbox.pay(ProviderId::Qris, &ids[0]).await, Err(SandboxError::UnknownPayment { .. })));
    sandbox.pay(ProviderId::Qris, &ids[2]).await.unwrap();

    // Cuan10pay, signed requests: the same limit, per gateway.
    let base = sandbox.base_url(ProviderId::Cuan10pay);
    let mut deposits = Vec::new();
    for _ in 0..3 {
        deposits.push(common::create_deposit(&base, "QRIS", 10_000).await["deposit_id"].as_str().unwrap().to_owned());
    }
    let first = common::call(&base, "GET", &format!("/v1/deposit_status?ref={}", deposits[0]), "").await;
    assert_eq!(first.status, 404, "{:?}", first.json);
    let last = common::call(&base, "GET", &format!("/v1/deposit_status?ref={}", deposits[2]), "").await;
    assert_eq!(last.status, 200, "{:?}", last.json);
    // QRIS kept its two newest: the gateways do not share the limit.
    assert_eq!(status(&ids[1]).await, 200);
}
