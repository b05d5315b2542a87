//! The transport against a local server: timeouts, refused connections, retries and their limits.
// Helpers below are test code too; clippy's allow-in-tests only covers #[test] functions.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use gerbang_core::transport::{Call, HttpRequest};
use gerbang_core::{Error, HttpClient, ProviderId, RetryPolicy};
use http::Method;
use httpmock::prelude::*;

const STATUS: Call = Call::safe(ProviderId::Cuan10pay, "deposit_status");
const CREATE: Call = Call::once(ProviderId::Cuan10pay, "deposit_create");

fn quick_client() -> HttpClient {
    HttpClient::builder()
        .timeout(Duration::from_millis(500))
        .retry(
            RetryPolicy::default()
                .max_retries(3)
                .initial_backoff(Duration::from_millis(10))
                .max_backoff(Duration::from_millis(20)),
        )
        .build()
        .unwrap()
}

fn get(url: &str) -> impl FnMut() -> Result<HttpRequest, Error> + '_ {
    move || Ok(HttpRequest::new(Method::GET, url.parse().unwrap()))
}

#[tokio::test]
async fn sends_user_agent_headers_and_body_as_given() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/v1/x")
                .header("user-agent", gerbang_core::transport::USER_AGENT)
                .header("x-api-key", "k")
                .header("content-type", "application/json")
                .body(r#"{"a":1}"#);
            then.status(201).header("x-echo", "yes").body("done");
        })
        .await;
    let url = server.url("/v1/x");
    let resp = quick_client()
        .send(CREATE, || {
            Ok(HttpRequest::new(Method::POST, url.parse().unwrap())
                .header("x-api-key", "k")?
                .body("application/json", r#"{"a":1}"#))
        })
        .await
        .unwrap();
    mock.assert_async().await;
    assert_eq!(resp.status.as_u16(), 201);
    assert_eq!(&resp.body[..], b"done");
    assert_eq!(resp.headers.get("x-echo").unwrap(), "yes");
}

#[tokio::test]
async fn a_503_is_retried_for_a_status_call_until_it_succeeds() {
    let server = MockServer::start_async().await;
    let failing = server
        .mock_async(|when, then| {
            when.path("/status");
            then.status(503);
        })
        .await;
    let url = server.url("/status");
    let client = quick_client();
    let resp = client.send(STATUS, get(&url)).await.unwrap();
    assert_eq!(resp.status.as_u16(), 503, "after the retries run out the last answer is returned");
    assert_eq!(failing.calls_async().await, 4, "1 attempt + 3 retries");
    failing.delete_async().await;

    let ok = server
        .mock_async(|when, then| {
            when.path("/status");
            then.status(200).body("{}");
        })
        .await;
    assert_eq!(client.send(STATUS, get(&url)).await.unwrap().status.as_u16(), 200);
    assert_eq!(ok.calls_async().await, 1);
}

#[tokio::test]
async fn a_create_is_never_retried() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.path("/create");
            then.status(503);
        })
        .await;
    let url = server.url("/create");
    let resp = quick_client().send(CREATE, get(&url)).await.unwrap();
    assert_eq!(resp.status.as_u16(), 503);
    assert_eq!(mock.calls_async().await, 1);
}

#[tokio::test]
async fn retry_after_on_429_is_waited_out() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.path("/status");
            then.status(429).header("retry-after", "1");
        })
        .await;
    let url = server.url("/status");
    let client = HttpClient::builder()
        .retry(RetryPolicy::default().max_retries(1).initial_backoff(Duration::from_millis(1)))
        .build()
        .unwrap();
    let started = Instant::now();
    let resp = client.send(STATUS, get(&url)).await.unwrap();
    let waited = started.elapsed();
    assert_eq!(mock.calls_async().await, 2);
    assert!(waited >= Duration::from_secs(1), "waited only {waited:?}, Retry-After said 1 s");
    let err = resp.error(None, None);
    assert_eq!(err, Error::RateLimited { retry_after: Some(Duration::from_secs(1)) });
}

#[tokio::test]
async fn a_retry_after_beyond_the_cap_goes_back_to_the_caller_at_once() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.path("/status");
            then.status(429).header("retry-after", "3600");
        })
        .await;
    let url = server.url("/status");
    let started = Instant::now();
    let resp = quick_client().send(STATUS, get(&url)).await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(mock.calls_async().await, 1);
    assert_eq!(resp.error(None, None), Error::RateLimited { retry_after: Some(Duration::from_secs(3600)) });
}

#[tokio::test]
async fn a_slow_answer_is_a_timeout_and_is_retried_only_when_safe() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.path("/slow");
            then.status(200).delay(Duration::from_secs(2));
        })
        .await;
    let url = server.url("/slow");
    let client = HttpClient::builder()
        .timeout(Duration::from_millis(200))
        .retry(RetryPolicy::default().max_retries(1).initial_backoff(Duration::from_millis(1)))
        .build()
        .unwrap();

    let err = client.send(CREATE, get(&url)).await.unwrap_err();
    assert_eq!(err, Error::Timeout { operation: "deposit_create".into() });
    assert_eq!(mock.calls_async().await, 1);

    let err = client.send(STATUS, get(&url)).await.unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }));
    assert_eq!(mock.calls_async().await, 3, "the status call was tried twice");
}

#[tokio::test]
async fn connection_refused_is_a_transport_error_without_the_url() {
    // Bind then drop a listener: the port is closed for the test.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("http://127.0.0.1:{port}/api/v1/balance?apikey=SECRET-KEY-123");
    let err = quick_client().send(STATUS, get(&url)).await.unwrap_err();
    let Error::Transport { message } = &err else { panic!("expected a transport error, got {err:?}") };
    for text in [err.to_string(), format!("{err:?}"), message.clone()] {
        assert!(!text.contains("SECRET-KEY-123"), "{text}");
        assert!(!text.contains("/api/v1/balance"), "{text}");
    }
    assert!(message.contains("connect"), "{message}");
}

#[tokio::test]
async fn an_answer_over_the_size_limit_is_refused() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.path("/big");
            then.status(200).body(vec![b'x'; 10_000]);
        })
        .await;
    let url = server.url("/big");
    let client = HttpClient::builder().max_response_bytes(1_000).build().unwrap();
    assert!(matches!(client.send(STATUS, get(&url)).await, Err(Error::Decode { .. })));
}

#[test]
fn status_errors_keep_the_gateways_message() {
    let resp = |status: u16| gerbang_core::transport::HttpResponse {
        status: http::StatusCode::from_u16(status).unwrap(),
        headers: http::HeaderMap::new(),
        body: bytes::Bytes::new(),
    };
    assert_eq!(
        resp(401).error(None, Some("Invalid signature".into())),
        Error::Unauthorized { message: "Invalid signature".into() }
    );
    assert_eq!(
        resp(404).error(None, Some("Deposit not found".into())),
        Error::NotFound { message: "Deposit not found".into() }
    );
    assert_eq!(
        resp(500).error(Some("E1".into()), Some("boom".into())),
        Error::Api { status: Some(500), code: Some("E1".into()), message: "boom".into() }
    );
    assert_eq!(
        resp(502).error(None, None),
        Error::Api { status: Some(502), code: None, message: "Bad Gateway".into() }
    );
}
