//! `wait_for_payment` over HTTP, with short waits (the backoff itself is tested under tokio's
//! paused clock in `src/poll.rs`, where no socket is involved).

use std::time::Duration;

use gerbang_core::Error;
use gerbang_qris::{InvoiceStatus, PollPolicy, QrisClient};
use httpmock::MockServer;
use serde_json::json;

use crate::common::builder;

fn quick_client(server: &MockServer) -> QrisClient {
    let poll = PollPolicy::new(Duration::from_millis(2), Duration::from_millis(10));
    QrisClient::new(builder(&server.url("/gw")).poll_policy(poll).build().unwrap())
}

fn invoice(status: &str) -> String {
    json!({"invoice_id": "64c8d9e", "amount": 10000, "fee": 123, "total": 10123, "status": status}).to_string()
}

#[tokio::test]
async fn returns_the_invoice_once_it_is_paid() {
    let server = MockServer::start_async().await;
    let pending = server
        .mock_async(|when, then| {
            when.path("/gw/api/v1/invoice/status").query_param("invoice_id", "64c8d9e");
            then.status(200).body(invoice("pending"));
        })
        .await;
    let client = quick_client(&server);
    let waiting = tokio::spawn(async move { client.wait_for_payment("64c8d9e", Duration::from_secs(10)).await });
    while pending.calls_async().await < 3 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    pending.delete_async().await;
    server
        .mock_async(|when, then| {
            when.path("/gw/api/v1/invoice/status").query_param("invoice_id", "64c8d9e");
            then.status(200).body(invoice("paid"));
        })
        .await;
    let paid = waiting.await.unwrap().unwrap();
    assert_eq!(paid.status, InvoiceStatus::Paid);
}

#[tokio::test]
async fn an_expired_invoice_ends_the_wait_too() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.path("/gw/api/v1/invoice/status");
            then.status(200).body(invoice("expired"));
        })
        .await;
    let expired = quick_client(&server).wait_for_payment("64c8d9e", Duration::from_secs(10)).await.unwrap();
    assert_eq!(expired.status, InvoiceStatus::Expired);
}

#[tokio::test]
async fn still_pending_at_the_timeout_is_a_timeout_error() {
    let server = MockServer::start_async().await;
    let pending = server
        .mock_async(|when, then| {
            when.path("/gw/api/v1/invoice/status");
            then.status(200).body(invoice("pending"));
        })
        .await;
    let err = quick_client(&server).wait_for_payment("64c8d9e", Duration::from_millis(100)).await.unwrap_err();
    assert_eq!(err, Error::Timeout { operation: "wait_for_payment".into() });
    assert!(pending.calls_async().await >= 2, "it polled more than once");
}

#[tokio::test]
async fn an_unknown_invoice_ends_the_wait_at_once() {
    let server = MockServer::start_async().await;
    let gone = server
        .mock_async(|when, then| {
            when.path("/gw/api/v1/invoice/status");
            then.status(404).body(r#"{"error":"Invoice tidak ditemukan"}"#);
        })
        .await;
    let err = quick_client(&server).wait_for_payment("nope", Duration::from_secs(10)).await.unwrap_err();
    assert_eq!(err, Error::NotFound { message: "Invoice tidak ditemukan".into() });
    assert_eq!(gone.calls_async().await, 1);
}
