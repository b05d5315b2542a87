//! Answers recorded from the sandbox, kept as files in `tests/fixtures/sandbox/`.
//!
//! Normally this checks two things: every recorded answer still parses with the client's own
//! parser (and a recorded notification still reads as one), and the sandbox still answers in the
//! recorded shape (the same keys with the same JSON types; ids and times differ from run to run).
//! `cargo xtask fixtures` (which sets `GERBANG_REGENERATE_FIXTURES=1`) records them anew.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use gerbang_cashin::{parse_checkout, parse_checkout_status};
use gerbang_core::http::Method;
use gerbang_core::transport::{Call, HttpRequest, HttpResponse};
use gerbang_core::{HttpClient, ProviderId};
use gerbang_sandbox::Sandbox;
use gerbang_sandbox::cashin::{CLIENT_ID, SECRET_KEY};
use gerbang_testkit::check_sandbox_fixtures;
use serde_json::Value;

/// A call to the sandbox signed with `secret`, returning the raw answer.
async fn call(http: &HttpClient, base: &str, path: &str, body: &str, secret: &str) -> HttpResponse {
    let url: url::Url = format!("{base}{path}").parse().unwrap();
    http.send(Call::once(ProviderId::CashIn, "fixture"), || {
        let request_id = uuid_like();
        let timestamp = gerbang_signing::jakarta::format_timestamp(gerbang_core::time::OffsetDateTime::now_utc());
        let message =
            gerbang_signing::cashin::string_to_sign(body.as_bytes(), CLIENT_ID, &request_id, path, &timestamp).unwrap();
        let signature = gerbang_signing::cashin::sign(secret.as_bytes(), &message, Default::default());
        HttpRequest::new(Method::POST, url.clone())
            .header("x-client-id", CLIENT_ID)?
            .header("x-request-id", &request_id)?
            .header("x-timestamp", &timestamp)?
            .header("x-signature", &signature)
            .map(|r| r.body("application/json", body.to_owned()))
    })
    .await
    .unwrap()
}

/// A request id unique within the run.
fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("00000000-0000-4000-8000-{:012}", std::process::id() as u64 * 1000 + n)
}

async fn record() -> Vec<(&'static str, u16, Value)> {
    let receiver = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/v1.0/debit/notify", receiver.local_addr().unwrap());
    let app = axum::Router::new().route("/v1.0/debit/notify", axum::routing::post(|| async { "ok" }));
    tokio::spawn(async move { axum::serve(receiver, app).await });
    let sandbox = Sandbox::builder().webhook_url(ProviderId::CashIn, url).start().await.unwrap();
    let base = sandbox.base_url(ProviderId::CashIn);
    let http = HttpClient::new();
    let mut answers = Vec::new();
    let mut keep = |name, response: HttpResponse| {
        answers.push((name, response.status.as_u16(), serde_json::from_slice(&response.body).unwrap()));
    };
    let checkout = r#"{"amount":150000,"trxNo":"ORDER-1001","duration":30,"successCallbackUrl":"https://shop.example.com/paid","cancelCallbackUrl":"https://shop.example.com/cart","paymentChannel":"QRIS","customer":{"id":"CUST-42","phoneNumber":"081234567890"}}"#;
    keep("checkout", call(&http, &base, "/payment", checkout, SECRET_KEY).await);
    keep("status_open", call(&http, &base, "/payment/status", r#"{"trxNo":"ORDER-1001"}"#, SECRET_KEY).await);
    sandbox.pay(ProviderId::CashIn, "ORDER-1001").await.unwrap();
    keep("status_paid", call(&http, &base, "/payment/status", r#"{"trxNo":"ORDER-1001"}"#, SECRET_KEY).await);
    keep("error_not_found", call(&http, &base, "/payment/status", r#"{"trxNo":"NOPE"}"#, SECRET_KEY).await);
    keep("error_unauthorized", call(&http, &base, "/payment/status", r#"{"trxNo":"NOPE"}"#, "wrong").await);
    keep("error_field", call(&http, &base, "/payment", r#"{"amount":0}"#, SECRET_KEY).await);
    let delivery = sandbox.wait_for_deliveries(1, Duration::from_secs(5)).await.unwrap();
    answers.push(("notification_paid", 200, serde_json::from_str(&delivery[0].body).unwrap()));
    sandbox.shutdown().await;
    answers
}

fn parse_with_client(name: &str, status: u16, value: &Value) {
    let response = HttpResponse::new(
        gerbang_core::http::StatusCode::from_u16(status).unwrap(),
        Default::default(),
        serde_json::to_vec(value).unwrap(),
    );
    match name {
        "checkout" => drop(parse_checkout(&response).unwrap()),
        "status_open" | "status_paid" => drop(parse_checkout_status(&response).unwrap()),
        "notification_paid" => {
            for field in ["originalPartnerReferenceNo", "originalReferenceNo", "latestTransactionStatus"] {
                assert!(value[field].is_string(), "{name}: {field}");
            }
        }
        _ => {
            let error = parse_checkout_status(&response).expect_err(name);
            let message = value["message"].as_str().unwrap();
            assert!(error.to_string().contains(message), "{name}: {error} lost `{message}`");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn sandbox_answers_match_the_recorded_fixtures() {
    for (name, status, body) in check_sandbox_fixtures(env!("CARGO_MANIFEST_DIR"), &record().await) {
        parse_with_client(&name, status, &body);
    }
}
