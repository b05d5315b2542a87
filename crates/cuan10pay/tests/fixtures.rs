//! Answers recorded from the sandbox, kept as files in `tests/fixtures/sandbox/`.
//!
//! Normally this checks two things: every recorded answer still parses with the client's own
//! parser, and the sandbox still answers in the recorded shape (the same keys with the same JSON
//! types; ids and times differ from run to run). A change on either side fails here instead of
//! drifting apart. `cargo xtask fixtures` (which sets `GERBANG_REGENERATE_FIXTURES=1`) records
//! the answers anew, for review in `git diff`.
// Helpers below are test code too; clippy's allow-in-tests only covers #[test] functions.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use gerbang_core::http::Method;
use gerbang_core::transport::{Call, HttpRequest, HttpResponse};
use gerbang_core::{HttpClient, ProviderId};
use gerbang_cuan10pay::{Deposit, Invoice, Order, PpobProduct, SmmService, VoucherProduct, parse_answer};
use gerbang_sandbox::Sandbox;
use gerbang_sandbox::cuan10pay::{API_KEY, PRIVATE_KEY};
use gerbang_testkit::check_sandbox_fixtures;
use serde_json::Value;

/// A signed call to the sandbox, returning the raw answer.
async fn call(http: &HttpClient, base: &str, method: Method, path: &str, body: &str) -> HttpResponse {
    let url: url::Url = format!("{base}{path}").parse().unwrap();
    http.send(Call::once(ProviderId::Cuan10pay, "fixture"), || {
        let timestamp = gerbang_core::time::OffsetDateTime::now_utc().unix_timestamp();
        let signature = gerbang_signing::cuan10pay::sign_request(
            PRIVATE_KEY.as_bytes(),
            timestamp,
            method.as_str(),
            path,
            body.as_bytes(),
        );
        let request = HttpRequest::new(method.clone(), url.clone())
            .header("x-api-key", API_KEY)?
            .header("x-timestamp", &timestamp.to_string())?
            .header("x-signature", &signature)?;
        Ok(if body.is_empty() { request } else { request.body("application/json", body.to_owned()) })
    })
    .await
    .unwrap()
}

/// Every answer worth recording, by fixture name, with its HTTP status.
async fn record() -> Vec<(&'static str, u16, Value)> {
    let sandbox = Sandbox::builder()
        .webhook_url(ProviderId::Cuan10pay, "http://127.0.0.1:9/unused")
        .webhook_retry(1, Duration::ZERO)
        .start()
        .await
        .unwrap();
    let base = sandbox.base_url(ProviderId::Cuan10pay);
    let http = HttpClient::new();
    let mut answers = Vec::new();
    let mut keep = |name, response: HttpResponse| {
        let value: Value = serde_json::from_slice(&response.body).unwrap();
        answers.push((name, response.status.as_u16(), value.clone()));
        value
    };
    const GET: Method = Method::GET;
    const POST: Method = Method::POST;
    let (h, b) = (&http, base.as_str());

    let created = keep(
        "deposit_create",
        call(
            h,
            b,
            POST,
            "/v1/deposit_create",
            r#"{"channel_code":"BCA","amount":150000,"customer_name":"Budi Santoso"}"#,
        )
        .await,
    );
    let id = created["data"]["deposit_id"].as_str().unwrap().to_owned();
    sandbox.pay(ProviderId::Cuan10pay, &id).await.unwrap();
    keep("deposit_status_paid", call(h, b, GET, &format!("/v1/deposit_status?ref={id}"), "").await);
    keep("invoice_status", call(h, b, GET, &format!("/v1/invoice_status?ref={id}"), "").await);
    keep("ppob_products", call(h, b, GET, "/v1/ppob_products?operator=telkomsel", "").await);
    keep(
        "ppob_order",
        call(h, b, POST, "/v1/ppob_order", r#"{"product_code":"PULSA_50K","target":"081234567890","ref":"ORDER123"}"#)
            .await,
    );
    keep("smm_services", call(h, b, GET, "/v1/smm_services?category=instagram", "").await);
    keep(
        "smm_order",
        call(
            h,
            b,
            POST,
            "/v1/smm_order",
            r#"{"service_id":123,"link":"https://instagram.com/p/xxxx","quantity":1000,"ref":"SMM123"}"#,
        )
        .await,
    );
    keep("voucher_products", call(h, b, GET, "/v1/voucher_products?game=ml", "").await);
    keep(
        "voucher_order",
        call(
            h,
            b,
            POST,
            "/v1/voucher_order",
            r#"{"product_code":"ML_86_DIAMOND","player_id":"12345678","server_id":"9001","ref":"VCHR123"}"#,
        )
        .await,
    );
    keep("error_not_found", call(h, b, GET, "/v1/deposit_status?ref=CP-NOPE", "").await);
    keep("error_amount", call(h, b, POST, "/v1/deposit_create", r#"{"channel_code":"QRIS","amount":5000}"#).await);
    let unsigned = http
        .send(Call::once(ProviderId::Cuan10pay, "fixture"), || {
            HttpRequest::new(GET, format!("{base}/v1/ppob_products").parse().unwrap())
                .header("x-api-key", "wrong")?
                .header("x-timestamp", "1")?
                .header("x-signature", "00")
        })
        .await
        .unwrap();
    keep("error_unauthorized", unsigned);
    let webhook = sandbox.wait_for_deliveries(1, Duration::from_secs(5)).await.unwrap();
    answers.push(("webhook_paid", 200, serde_json::from_str(&webhook[0].body).unwrap()));
    answers
}

fn parse_with_client(name: &str, status: u16, value: &Value) {
    let response = HttpResponse::new(
        gerbang_core::http::StatusCode::from_u16(status).unwrap(),
        Default::default(),
        serde_json::to_vec(value).unwrap(),
    );
    let parsed = match name {
        "deposit_create" | "deposit_status_paid" => parse_answer::<Deposit>(name, &response).map(drop),
        "invoice_status" => parse_answer::<Invoice>(name, &response).map(drop),
        "ppob_products" => parse_answer::<Vec<PpobProduct>>(name, &response).map(drop),
        "smm_services" => parse_answer::<Vec<SmmService>>(name, &response).map(drop),
        "voucher_products" => parse_answer::<Vec<VoucherProduct>>(name, &response).map(drop),
        "ppob_order" | "smm_order" | "voucher_order" => parse_answer::<Order>(name, &response).map(drop),
        "webhook_paid" => return,
        _ => {
            // The error answers must map to an error that keeps the gateway's message.
            let error = parse_answer::<Value>(name, &response).expect_err(name);
            let message = value["message"].as_str().unwrap();
            assert!(error.to_string().contains(message), "{name}: {error} lost `{message}`");
            return;
        }
    };
    parsed.unwrap_or_else(|e| panic!("{name}: the client cannot parse the sandbox's answer: {e}"));
}

#[tokio::test]
async fn sandbox_answers_match_the_recorded_fixtures() {
    for (name, status, body) in check_sandbox_fixtures(env!("CARGO_MANIFEST_DIR"), &record().await) {
        parse_with_client(&name, status, &body);
    }
}
