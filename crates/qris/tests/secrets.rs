//! The API key travels in the query string, so the URL must never be logged, traced or put into
//! an error: failing calls (connection refused, 401, 500, timeout) with a recognisable key, and the
//! key in no error's `Display` or `Debug`, no `Debug` of the config or client, and no line of
//! tracing output at TRACE level (from this crate, gerbang-core, reqwest and hyper).
#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests may unwrap: see clippy.toml.

mod common;

use std::time::Duration;

use gerbang_core::{Error, HttpClient, Money, PaymentProvider, PaymentRequest, ProviderId, RetryPolicy};
use gerbang_qris::{QrisClient, QrisConfig, WithdrawHistoryQuery, WithdrawRequest};
use gerbang_testkit::{Shown, answer_with_errors, closed_base_url};
use httpmock::MockServer;

use common::{API_KEY, builder, client_at, fixture};

/// The DANA account number: a phone number, personal data too.
const PHONE: &str = "081299990000";

#[tokio::test(flavor = "multi_thread")]
async fn the_key_never_reaches_logs_debug_or_errors() {
    let mut shown = Shown::capture(ProviderId::Qris);

    let server = MockServer::start_async().await;
    let answers = [
        ("/gw/api/v1/invoice/status", 401, fixture("error_401.json")),
        ("/gw/api/v1/invoice/create", 500, fixture("error_500.json")),
        ("/gw/api/v1/withdraw/dana", 401, fixture("error_401.json")),
    ];
    answer_with_errors(&server, &answers).await;
    server
        .mock_async(|when, then| {
            when.path("/gw/api/v1/balance");
            then.status(200).delay(Duration::from_millis(500)).body(fixture("balance.json"));
        })
        .await;

    let config = builder(&server.url("/gw")).build().unwrap();
    shown.debug(&config);
    shown.debug(&builder(&server.url("/gw")));
    let client = QrisClient::new(config);
    shown.debug(&client);
    let withdraw = WithdrawRequest::new(50_000, PHONE, "John Doe");
    shown.debug(&withdraw);

    let mut errors = vec![
        client.invoice_status("64c8d9e").await.unwrap_err(),
        client.create_invoice(10_000).await.unwrap_err(),
        client
            .create_payment(&PaymentRequest::builder("ORDER-1", Money::idr(10_000)).build().unwrap())
            .await
            .unwrap_err(),
        client.withdraw_dana(&withdraw).await.unwrap_err(),
        client.wait_for_payment("64c8d9e", Duration::from_secs(5)).await.unwrap_err(),
    ];

    // A timeout: the answer comes after the client's 100 ms.
    let impatient =
        HttpClient::builder().timeout(Duration::from_millis(100)).retry(RetryPolicy::none()).build().unwrap();
    let slow = QrisClient::new(builder(&server.url("/gw")).http_client(impatient).build().unwrap());
    errors.push(slow.balance().await.unwrap_err());

    // Nothing listens there: a transport error, with and without retries.
    let base = closed_base_url("/gw");
    let refused = client_at(&base);
    errors.push(refused.balance().await.unwrap_err());
    errors.push(refused.withdraw_history(&WithdrawHistoryQuery::new()).await.unwrap_err());
    let retrying = HttpClient::builder()
        .retry(RetryPolicy::default().max_retries(1).initial_backoff(Duration::from_millis(1)))
        .build()
        .unwrap();
    errors.push(QrisClient::new(builder(&base).http_client(retrying).build().unwrap()).balance().await.unwrap_err());

    // And a configuration error with the key where a URL should be.
    errors.push(
        QrisConfig::builder(API_KEY).base_url(format!("https://x.example/?apikey={API_KEY}")).build().unwrap_err(),
    );

    assert!(errors.iter().any(|e| matches!(e, Error::Unauthorized { .. })));
    assert!(errors.iter().any(|e| matches!(e, Error::Api { status: Some(500), .. })));
    assert!(errors.iter().any(|e| matches!(e, Error::Timeout { .. })));
    assert!(errors.iter().any(|e| matches!(e, Error::Transport { .. })));
    shown.errors(&errors);

    // The calls were traced, down to hyper.
    shown.assert_nothing_leaks(&["gerbang.http", "hyper"], &[API_KEY, PHONE]);
}
