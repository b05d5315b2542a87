//! Answers recorded from the sandbox, kept as files in `tests/fixtures/sandbox/`.
//!
//! Normally this checks two things: every recorded answer still parses with the client's own
//! parser (the error ones into an error keeping the gateway's message), and the sandbox still
//! answers in the recorded shape (the same keys with the same JSON types; ids and times differ
//! from run to run). `cargo xtask fixtures` (which sets `GERBANG_REGENERATE_FIXTURES=1`) records
//! the answers anew, for review in `git diff`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use gerbang_core::http::{Method, StatusCode};
use gerbang_core::transport::{Call, HttpRequest, HttpResponse};
use gerbang_core::{HttpClient, ProviderId};
use gerbang_qris::{Balance, CancelledInvoice, Invoice, Withdrawal, WithdrawalPage, parse_answer};
use gerbang_sandbox::Sandbox;
use gerbang_sandbox::qris::API_KEY;
use gerbang_testkit::check_sandbox_fixtures;
use serde_json::Value;

/// A call to the sandbox with `path?query` (the key appended unless `key` is `None`).
async fn call(base: &str, method: Method, path_and_query: &str, key: Option<&str>, body: Option<&str>) -> HttpResponse {
    let sep = if path_and_query.contains('?') { '&' } else { '?' };
    let url = match key {
        Some(key) => format!("{base}{path_and_query}{sep}apikey={key}"),
        None => format!("{base}{path_and_query}"),
    };
    let url: url::Url = url.parse().unwrap();
    HttpClient::new()
        .send(Call::once(ProviderId::Qris, "fixture"), || {
            let request = HttpRequest::new(method.clone(), url.clone());
            Ok(match body {
                Some(body) => request.body("application/json", body.to_owned()),
                None => request,
            })
        })
        .await
        .unwrap()
}

/// Every answer worth recording, by fixture name, with its HTTP status.
async fn record() -> Vec<(&'static str, u16, Value)> {
    let sandbox = Sandbox::builder().start().await.unwrap();
    let b = sandbox.base_url(ProviderId::Qris);
    let (get, post, key) = (Method::GET, Method::POST, Some(API_KEY));
    let mut answers = Vec::new();
    let mut keep = |name, response: HttpResponse| {
        let value: Value = serde_json::from_slice(&response.body).unwrap();
        answers.push((name, response.status.as_u16(), value.clone()));
        value
    };

    keep("balance", call(&b, get.clone(), "/api/v1/balance", key, None).await);
    let created = keep("invoice_create", call(&b, get.clone(), "/api/v1/invoice/create?amount=10000", key, None).await);
    let id = created["invoice_id"].as_str().unwrap().to_owned();
    let status = format!("/api/v1/invoice/status?invoice_id={id}");
    keep("invoice_status_pending", call(&b, get.clone(), &status, key, None).await);
    sandbox.pay(ProviderId::Qris, &id).await.unwrap();
    keep("invoice_status_paid", call(&b, get.clone(), &status, key, None).await);
    let cancel = format!("/api/v1/invoice/cancel?invoice_id={id}");
    keep("error_cancel_paid", call(&b, post.clone(), &cancel, key, None).await);
    let other = call(&b, get.clone(), "/api/v1/invoice/create?amount=25000", key, None).await;
    let other: Value = serde_json::from_slice(&other.body).unwrap();
    let cancel = format!("/api/v1/invoice/cancel?invoice_id={}", other["invoice_id"].as_str().unwrap());
    keep("invoice_cancel", call(&b, post.clone(), &cancel, key, None).await);

    let body = r#"{"amount":100000,"accountNumber":"081234567890","accountName":"John Doe"}"#;
    let withdrawn = keep("withdraw_dana", call(&b, post.clone(), "/api/v1/withdraw/dana", key, Some(body)).await);
    let withdraw_id = withdrawn["withdraw_id"].as_str().unwrap().to_owned();
    sandbox.qris_approve_withdrawal(&withdraw_id).await.unwrap();
    let status = format!("/api/v1/withdraw/status?withdraw_id={withdraw_id}");
    keep("withdraw_status_success", call(&b, get.clone(), &status, key, None).await);
    keep("withdraw_history", call(&b, get.clone(), "/api/v1/withdraw/history?page=1&limit=10", key, None).await);

    keep("error_unauthorized", call(&b, get.clone(), "/api/v1/balance?apikey=wrong", None, None).await);
    let missing = "/api/v1/invoice/status?invoice_id=000000000000000000000000";
    keep("error_not_found", call(&b, get.clone(), missing, key, None).await);
    let poor = r#"{"amount":99000000,"accountNumber":"081234567890","accountName":"John Doe"}"#;
    keep("error_balance", call(&b, post, "/api/v1/withdraw/dana", key, Some(poor)).await);
    sandbox.shutdown().await;
    answers
}

fn parse_with_client(name: &str, status: u16, value: &Value) {
    let response = HttpResponse::new(
        StatusCode::from_u16(status).unwrap(),
        Default::default(),
        serde_json::to_vec(value).unwrap(),
    );
    let parsed = match name {
        "balance" => parse_answer::<Balance>(name, &response).map(drop),
        "invoice_create" | "invoice_status_pending" | "invoice_status_paid" => {
            parse_answer::<Invoice>(name, &response).map(drop)
        }
        "invoice_cancel" => parse_answer::<CancelledInvoice>(name, &response).map(drop),
        "withdraw_dana" | "withdraw_status_success" => parse_answer::<Withdrawal>(name, &response).map(drop),
        "withdraw_history" => parse_answer::<WithdrawalPage>(name, &response).map(drop),
        _ => {
            let error = parse_answer::<Value>(name, &response).expect_err(name);
            let message = value["error"].as_str().unwrap();
            assert!(error.to_string().contains(message), "{name}: {error} lost `{message}`");
            return;
        }
    };
    parsed.unwrap_or_else(|e| panic!("{name}: the client cannot parse the sandbox's answer: {e}"));
}

#[tokio::test(flavor = "multi_thread")]
async fn sandbox_answers_match_the_recorded_fixtures() {
    for (name, status, body) in check_sandbox_fixtures(env!("CARGO_MANIFEST_DIR"), &record().await) {
        parse_with_client(&name, status, &body);
    }
}
