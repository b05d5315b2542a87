//! `gerbang webhook serve` as a separate process, fed by the in-process sandbox: each new event is
//! one JSON line on stdout, a duplicate is acknowledged and not printed, and `--forward-to` hands
//! events to the application through the outbox: the gateway is acknowledged at once, and the
//! application's refusal is retried by the deliverer, not by the gateway.
#![allow(clippy::unwrap_used)] // Test code.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use gerbang::ProviderId;
use gerbang::sandbox::{Sandbox, cuan10pay};
use serde_json::Value;
use tokio::sync::mpsc;

use common::{FORWARD_SECRET, Serve, free_port, next_event, paid_deposit};

#[tokio::test]
async fn each_new_event_is_one_json_line_and_a_duplicate_is_acked_silently() {
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}/webhooks/cuan10pay");
    let sandbox = Sandbox::builder().webhook_url(ProviderId::Cuan10pay, url.clone()).start().await.unwrap();
    let (tx, mut events) = mpsc::unbounded_channel();
    let mut serve = Serve::start(port, &[], tx).await;

    let id = paid_deposit(&sandbox, "SERVE-1").await;
    let (_, event) = next_event(&mut events, Duration::from_secs(20)).await.expect("one line for the new event");
    assert_eq!(event["provider"], "cuan10pay");
    assert_eq!(event["provider_reference"], id.as_str());
    assert_eq!(event["status"], "paid");
    assert_eq!(event["dedup_key"], format!("cuan10pay:{id}:paid"));
    assert_eq!(event["ack"]["status"], 200);

    // The gateway delivers the same webhook again: acknowledged, not printed.
    let delivered = sandbox.wait_for_deliveries(1, Duration::from_secs(10)).await.unwrap();
    let again = reqwest::Client::new().post(&url).body(delivered[0].body.clone()).send().await.unwrap();
    assert_eq!(again.status(), 200);
    assert_eq!(again.text().await.unwrap(), "OK");
    assert!(next_event(&mut events, Duration::from_millis(500)).await.is_none(), "a duplicate is not a new event");
    serve.child.kill().await.unwrap();
}

#[tokio::test]
async fn an_application_that_refuses_the_forwarded_event_gets_it_again_on_the_outboxs_retry() {
    // The application: refuses the first event it is handed, accepts the rest.
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&seen);
    let app = axum::Router::new().route(
        "/events",
        axum::routing::post(move |body: String| {
            let counter = Arc::clone(&counter);
            async move {
                let event: Value = serde_json::from_str(&body).unwrap();
                assert_eq!(event["status"], "paid");
                if counter.fetch_add(1, Ordering::SeqCst) == 0 {
                    axum::http::StatusCode::SERVICE_UNAVAILABLE
                } else {
                    axum::http::StatusCode::OK
                }
            }
        }),
    );
    let app_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let app_url = format!("http://{}/events", app_listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(app_listener, app).await });

    let port = free_port();
    let url = format!("http://127.0.0.1:{port}/webhooks/cuan10pay");
    let sandbox = Sandbox::builder().webhook_url(ProviderId::Cuan10pay, url).start().await.unwrap();
    let (tx, mut events) = mpsc::unbounded_channel();
    let flags = ["--forward-to", &app_url, "--forward-secret", FORWARD_SECRET, "--forward-retry", "1s"];
    let mut serve = Serve::start(port, &flags, tx).await;

    paid_deposit(&sandbox, "SERVE-2").await;
    let (_, event) = next_event(&mut events, Duration::from_secs(20)).await.expect("printed once in the outbox");
    assert_eq!(event["status"], "paid");
    let attempts = sandbox.wait_for_deliveries(1, Duration::from_secs(10)).await.unwrap();
    assert_eq!(attempts[0].status, Some(200), "the gateway is acknowledged, whatever the application says");
    // The deliverer retries after 1 s.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while seen.load(Ordering::SeqCst) < 2 {
        assert!(tokio::time::Instant::now() < deadline, "not retried");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(seen.load(Ordering::SeqCst), 2, "refused once, accepted on the retry, not sent again");
    assert_eq!(sandbox.deliveries().len(), 1, "the gateway sent it once");
    assert!(next_event(&mut events, Duration::from_millis(100)).await.is_none(), "printed once");
    serve.child.kill().await.unwrap();
}

#[tokio::test]
async fn an_unknown_store_is_a_clear_error() {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_gerbang"))
        .args(["webhook", "serve", "--port", "0", "--store", "mongodb://x"])
        .env("GERBANG_CUAN10PAY_API_KEY", cuan10pay::API_KEY)
        .env("GERBANG_CUAN10PAY_PRIVATE_KEY", cuan10pay::PRIVATE_KEY)
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("unknown kind of store `mongodb`"), "{stderr}");
}
