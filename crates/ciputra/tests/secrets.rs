//! No key, secret or token, and no customer e-mail or phone, ever appears in logs, `Debug` or
//! error messages, even at TRACE level and on failing calls.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests may unwrap: see clippy.toml.

mod common;

use gerbang_ciputra::{CiputraClient, PayCode, PayType, TransactionRequest};
use gerbang_core::{Money, PaymentProvider, PaymentRequest};
use gerbang_testkit::{LogCapture, assert_nothing_leaks};
use httpmock::MockServer;

use common::{API_KEY, API_SECRET, builder, doc_token, fixture};

const EMAIL: &str = "siti.rahma.secret@example.com";
const PHONE: &str = "081299990000";

#[tokio::test(flavor = "multi_thread")]
async fn credentials_tokens_and_customer_details_never_reach_logs_debug_or_errors() {
    let logs = LogCapture::install();

    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.path("/api/auth/token");
            then.status(200).body(fixture("token.json"));
        })
        .await;
    server
        .mock_async(|when, then| {
            when.path("/api/transaction/status");
            then.status(401).body(fixture("error_401.json"));
        })
        .await;
    server
        .mock_async(|when, then| {
            when.path("/api/transaction");
            then.status(200).body(fixture("error_under_200.json"));
        })
        .await;

    let mut shown = Vec::<String>::new();
    let config = builder(&server.url("/api")).build().unwrap();
    shown.push(format!("{config:?}"));
    shown.push(format!("{:?}", builder(&server.url("/api"))));
    let client = CiputraClient::new(config);

    let charge =
        TransactionRequest::charge("E-1", "Siti", 10_000, PayType::Qris, PayCode::All).email(EMAIL).phone(PHONE);
    shown.push(format!("{charge:?}"));
    shown.push(client.transaction(&charge).await.unwrap_err().to_string());
    shown.push(format!("{client:?}"));
    shown.push(client.transaction_status("E-1").await.unwrap_err().to_string());
    let request = PaymentRequest::builder("E-2", Money::idr(10_000))
        .customer_name("Siti")
        .customer_email(EMAIL)
        .customer_phone(PHONE)
        .build()
        .unwrap();
    shown.push(format!("{:?}", client.create_payment(&request).await.unwrap_err()));
    let status: gerbang_ciputra::TransactionStatus =
        serde_json::from_value(serde_json::json!({"phone": PHONE, "name": "Siti", "status": "paid"})).unwrap();
    shown.push(format!("{status:?}"));

    let logs = logs.text();
    assert!(logs.contains("gerbang.http"), "the calls were traced: {logs}");
    let token = doc_token();
    shown.push(logs);
    assert_nothing_leaks(&shown, &[API_KEY, API_SECRET, token.as_str(), EMAIL, PHONE]);
}
