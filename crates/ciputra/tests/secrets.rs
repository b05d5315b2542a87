//! No key, secret or token, and no customer e-mail or phone, ever appears in logs, `Debug` or
//! error messages, even at TRACE level and on failing calls.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests may unwrap: see clippy.toml.

mod common;

use gerbang_ciputra::{CiputraClient, PayCode, PayType, TransactionRequest};
use gerbang_core::{Money, PaymentProvider, PaymentRequest, ProviderId};
use gerbang_testkit::{Shown, answer_with_errors};
use httpmock::MockServer;

use common::{API_KEY, API_SECRET, builder, doc_token, fixture, serve_doc_token};

const EMAIL: &str = "siti.rahma.secret@example.com";
const PHONE: &str = "081299990000";

#[tokio::test(flavor = "multi_thread")]
async fn credentials_tokens_and_customer_details_never_reach_logs_debug_or_errors() {
    let mut shown = Shown::capture(ProviderId::Ciputra);

    let server = MockServer::start_async().await;
    serve_doc_token(&server).await;
    let answers = [
        ("/api/transaction/status", 401, fixture("error_401.json")),
        ("/api/transaction", 200, fixture("error_under_200.json")),
    ];
    answer_with_errors(&server, &answers).await;

    let config = builder(&server.url("/api")).build().unwrap();
    shown.debug(&config);
    shown.debug(&builder(&server.url("/api")));
    let client = CiputraClient::new(config);

    let charge =
        TransactionRequest::charge("E-1", "Siti", 10_000, PayType::Qris, PayCode::All).email(EMAIL).phone(PHONE);
    shown.debug(&charge);
    let request = PaymentRequest::builder("E-2", Money::idr(10_000))
        .customer_name("Siti")
        .customer_email(EMAIL)
        .customer_phone(PHONE)
        .build()
        .unwrap();
    let errors = [
        client.transaction(&charge).await.unwrap_err(),
        client.transaction_status("E-1").await.unwrap_err(),
        client.create_payment(&request).await.unwrap_err(),
    ];
    shown.errors(&errors);
    // Its `Debug` once it holds the token it fetched.
    shown.debug(&client);
    let status: gerbang_ciputra::TransactionStatus =
        serde_json::from_value(serde_json::json!({"phone": PHONE, "name": "Siti", "status": "paid"})).unwrap();
    shown.debug(&status);

    // The calls were traced.
    let token = doc_token();
    shown.assert_nothing_leaks(&["gerbang.http"], &[API_KEY, API_SECRET, token.as_str(), EMAIL, PHONE]);
}
