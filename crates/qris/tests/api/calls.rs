//! Every call of PROVIDERS.md §3: method, path, exact query string (the key last), body, and its
//! answer parsed.

use gerbang_core::Money;
use gerbang_qris::{InvoiceStatus, WithdrawHistoryQuery, WithdrawRequest, WithdrawalStatus};
use httpmock::Method::{GET, POST};
use httpmock::{Mock, MockServer};

use crate::common::{API_KEY, client, fixture};

/// A mock answering `answer` to `method path?query` exactly (the query string byte for byte),
/// with no body.
async fn exact<'a>(
    server: &'a MockServer,
    method: httpmock::Method,
    path: &str,
    query: &str,
    answer: &str,
) -> Mock<'a> {
    let answer = fixture(answer);
    let query = query.to_owned();
    server
        .mock_async(|when, then| {
            when.method(method)
                .path(format!("/gw{path}"))
                .header("accept", "application/json")
                .header_missing("content-type")
                .is_true(move |req| req.uri().query() == Some(query.as_str()) && req.body().is_empty());
            then.status(200).header("content-type", "application/json").body(answer);
        })
        .await
}

#[tokio::test]
async fn balance_is_a_get_with_only_the_key() {
    let server = MockServer::start_async().await;
    let mock = exact(&server, GET, "/api/v1/balance", &format!("apikey={API_KEY}"), "balance.json").await;
    let balance = client(&server).balance().await.unwrap();
    mock.assert_async().await;
    assert_eq!(balance.balance, Money::idr(100_000));
}

#[tokio::test]
async fn create_invoice_sends_the_amount_then_the_key() {
    let server = MockServer::start_async().await;
    let query = format!("amount=10000&apikey={API_KEY}");
    let mock = exact(&server, GET, "/api/v1/invoice/create", &query, "invoice_create.json").await;
    let invoice = client(&server).create_invoice(10_000).await.unwrap();
    mock.assert_async().await;
    insta::assert_json_snapshot!("invoice_created", invoice);
    assert_eq!(invoice.status, InvoiceStatus::Pending, "the create answer has no status: a new invoice is pending");
}

#[tokio::test]
async fn invoice_status_sends_the_id_form_encoded() {
    let server = MockServer::start_async().await;
    let query = format!("invoice_id=64c8d9e+%26x&apikey={API_KEY}");
    let mock = exact(&server, GET, "/api/v1/invoice/status", &query, "invoice_status.json").await;
    let invoice = client(&server).invoice_status("64c8d9e &x").await.unwrap();
    mock.assert_async().await;
    insta::assert_json_snapshot!("invoice_status", invoice);
}

#[tokio::test]
async fn cancel_invoice_is_a_post_with_the_id_in_the_query_as_the_document_shows() {
    let server = MockServer::start_async().await;
    let query = format!("invoice_id=64c8d9e...&apikey={API_KEY}");
    let mock = exact(&server, POST, "/api/v1/invoice/cancel", &query, "invoice_cancel.json").await;
    let cancelled = client(&server).cancel_invoice("64c8d9e...").await.unwrap();
    mock.assert_async().await;
    assert_eq!(cancelled.invoice_id, "64c8d9e...");
    assert_eq!(cancelled.status, InvoiceStatus::Expired);
    assert_eq!(cancelled.message.as_deref(), Some("Invoice berhasil dibatalkan"));
    assert_eq!(cancelled.extra["success"], true);
}

#[tokio::test]
async fn withdraw_dana_posts_the_documents_json_body() {
    let server = MockServer::start_async().await;
    let body = fixture("requests/withdraw_dana.json");
    let query = format!("apikey={API_KEY}");
    let mock = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/gw/api/v1/withdraw/dana")
                .header("content-type", "application/json")
                .is_true(move |req| req.uri().query() == Some(query.as_str()))
                .body(body);
            then.status(200).body(fixture("withdraw_dana.json"));
        })
        .await;
    let withdrawal =
        client(&server).withdraw_dana(&WithdrawRequest::new(100_000, "081234567890", "John Doe")).await.unwrap();
    mock.assert_async().await;
    insta::assert_json_snapshot!("withdrawal_requested", withdrawal);
    assert_eq!(withdrawal.fee, Some(Money::idr(1_000)));
    assert_eq!(withdrawal.total_deduct, Some(Money::idr(101_000)));
    assert_eq!(withdrawal.new_balance, Some(Money::idr(899_000)));
}

#[tokio::test]
async fn withdraw_status_sends_the_withdraw_id() {
    let server = MockServer::start_async().await;
    let query = format!("withdraw_id=65a1b2c3d4e5f6...&apikey={API_KEY}");
    let mock = exact(&server, GET, "/api/v1/withdraw/status", &query, "withdraw_status.json").await;
    let withdrawal = client(&server).withdraw_status("65a1b2c3d4e5f6...").await.unwrap();
    mock.assert_async().await;
    insta::assert_json_snapshot!("withdrawal_status", withdrawal);
    assert_eq!(withdrawal.status, WithdrawalStatus::Success);
    let shown = format!("{withdrawal:?}");
    assert!(!shown.contains("081234567890"), "Debug hides the account number: {shown}");
}

#[tokio::test]
async fn withdraw_history_sends_page_limit_and_status() {
    let server = MockServer::start_async().await;
    let query = format!("page=1&limit=10&apikey={API_KEY}");
    let all = exact(&server, GET, "/api/v1/withdraw/history", &query, "withdraw_history.json").await;
    let query = format!("page=3&limit=25&status=rejected&apikey={API_KEY}");
    let filtered = exact(&server, GET, "/api/v1/withdraw/history", &query, "withdraw_history.json").await;
    let client = client(&server);

    let page = client.withdraw_history(&WithdrawHistoryQuery::new()).await.unwrap();
    all.assert_async().await;
    insta::assert_json_snapshot!("withdrawal_history", page);

    let query = WithdrawHistoryQuery::new().page(3).limit(25).status(WithdrawalStatus::Rejected);
    client.withdraw_history(&query).await.unwrap();
    filtered.assert_async().await;
}

#[tokio::test]
async fn bad_arguments_are_refused_before_anything_is_sent() {
    let server = MockServer::start_async().await;
    let any = server
        .mock_async(|when, then| {
            when.any_request();
            then.status(200).body("{}");
        })
        .await;
    let client = client(&server);
    let field = |e: gerbang_core::Error| match e {
        gerbang_core::Error::Validation { field, .. } => field,
        other => panic!("expected a validation error, got {other:?}"),
    };
    assert_eq!(field(client.create_invoice(0).await.unwrap_err()), "amount");
    assert_eq!(field(client.create_invoice(-5).await.unwrap_err()), "amount");
    assert_eq!(field(client.invoice_status(" ").await.unwrap_err()), "invoice_id");
    assert_eq!(field(client.cancel_invoice("").await.unwrap_err()), "invoice_id");
    assert_eq!(field(client.withdraw_status("").await.unwrap_err()), "withdraw_id");
    for (request, expected) in [
        (WithdrawRequest::new(0, "081234567890", "John Doe"), "amount"),
        (WithdrawRequest::new(50_000, "0812-3456-7890", "John Doe"), "account_number"),
        (WithdrawRequest::new(50_000, "+6281234567890", "John Doe"), "account_number"),
        (WithdrawRequest::new(50_000, "0812", "John Doe"), "account_number"),
        (WithdrawRequest::new(50_000, "081234567890", "  "), "account_name"),
    ] {
        let err = client.withdraw_dana(&request).await.unwrap_err();
        assert!(!err.to_string().contains("0812"), "the number is not repeated: {err}");
        assert_eq!(field(err), expected);
    }
    assert_eq!(field(client.withdraw_history(&WithdrawHistoryQuery::new().page(0)).await.unwrap_err()), "page");
    assert_eq!(field(client.withdraw_history(&WithdrawHistoryQuery::new().limit(0)).await.unwrap_err()), "limit");
    assert_eq!(any.calls_async().await, 0);
}
