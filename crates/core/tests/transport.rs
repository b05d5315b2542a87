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

/// A server that answers every connection with `answer` and closes it: for answers no HTTP
/// library would send (cut short, half a status line).
async fn raw_server(answer: &'static [u8]) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0_u8; 4096];
                let _ = socket.read(&mut buf).await;
                let _ = socket.write_all(answer).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    format!("http://{addr}/create")
}

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
    let Error::OutcomeUnknown { operation, reason, .. } = &err else { panic!("expected outcome unknown, got {err:?}") };
    assert_eq!((operation.as_str(), reason.as_str()), ("deposit_create", "no answer within 0.2 s"));
    assert!(!err.to_string().contains("could not reach"), "{err}");
    assert!(!err.is_transient(), "a create whose answer was lost must not be repeated blindly");
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
    let resp = |status: u16| {
        gerbang_core::transport::HttpResponse::new(
            http::StatusCode::from_u16(status).unwrap(),
            http::HeaderMap::new(),
            bytes::Bytes::new(),
        )
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

#[tokio::test]
async fn an_answer_cut_short_leaves_a_create_outcome_unknown() {
    let cut = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{\"status\":\"succ";
    let url = raw_server(cut).await;
    let err = quick_client().send(CREATE, get(&url)).await.unwrap_err();
    assert!(matches!(&err, Error::OutcomeUnknown { operation, .. } if operation == "deposit_create"), "{err:?}");
    let message = err.about_payment("ORDER-7", gerbang_core::LookupKey::Reference).to_string();
    assert!(message.contains("deposit_create for ORDER-7"), "{message}");
    assert!(message.contains("the payment may exist: check with `status ORDER-7`"), "{message}");
    assert!(!message.contains("could not reach"), "{message}");
}

#[tokio::test]
async fn a_connection_closed_before_any_answer_leaves_a_create_outcome_unknown() {
    let url = raw_server(b"").await;
    let err = quick_client().send(CREATE, get(&url)).await.unwrap_err();
    assert!(matches!(err, Error::OutcomeUnknown { .. }), "{err:?}");
    let message = err.about_payment("CP-1", gerbang_core::LookupKey::ProviderReference).to_string();
    assert!(message.contains("look for CP-1 in the gateway's dashboard"), "{message}");
}

#[tokio::test]
async fn a_look_up_whose_answer_is_cut_is_retried() {
    static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let url = raw_server(b"HTTP/1.1 200 OK\r\ncontent-length: 50\r\n\r\n{").await;
    let client = quick_client();
    let err = client
        .send(STATUS, || {
            CALLS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            get(&url)()
        })
        .await
        .unwrap_err();
    assert!(matches!(err, Error::OutcomeUnknown { .. }), "{err:?}");
    assert_eq!(CALLS.load(std::sync::atomic::Ordering::SeqCst), 4, "1 attempt + 3 retries");
}

#[tokio::test]
async fn no_redirect_is_followed_and_nothing_reaches_its_target() {
    let target = MockServer::start_async().await;
    let elsewhere = target
        .mock_async(|_, then| {
            then.status(200).body("{}");
        })
        .await;
    let gateway = MockServer::start_async().await;
    for status in [301, 302, 303, 307, 308] {
        let location = format!("http://localhost:{}/steal?apikey=SECRET-KEY-123", target.port());
        let redirect = gateway
            .mock_async(|when, then| {
                when.path("/create");
                then.status(status).header("location", &location);
            })
            .await;
        let url = gateway.url("/create");
        for call in [CREATE, STATUS] {
            let err = quick_client()
                .send(call, || {
                    Ok(HttpRequest::new(Method::POST, url.parse().unwrap())
                        .header("x-api-key", "SECRET-KEY-123")?
                        .body("application/json", r#"{"amount":1}"#))
                })
                .await
                .unwrap_err();
            assert_eq!(
                err,
                Error::Redirect { operation: call.operation.into(), status, host: Some("localhost".into()) },
                "HTTP {status}"
            );
            let message = err.to_string();
            assert!(message.contains(&format!("redirect (HTTP {status} to host localhost)")), "{message}");
            assert!(!message.contains("SECRET") && !message.contains("/steal"), "{message}");
        }
        assert_eq!(redirect.calls_async().await, 2, "HTTP {status}: a redirect is not a reason to retry");
        redirect.delete_async().await;
    }
    assert_eq!(elsewhere.calls_async().await, 0, "nothing may reach the redirect's target");
}

#[test]
fn errors_from_gateway_text_are_scrubbed_of_secrets_and_contact_details() {
    let mut customer = gerbang_core::Customer::default();
    customer.email = Some("budi@example.com".into());
    customer.phone = Some("081234567890".into());
    let redactions = gerbang_core::Redactions::new([gerbang_core::secrecy::SecretString::from("SECRET-KEY-123")])
        .with_customer(&customer);
    let echo = "bad request: apikey=SECRET-KEY-123&email=budi%40example.com&phone=%2B6281234567890".to_owned();
    for status in [400, 401, 404, 500] {
        let response = gerbang_core::transport::HttpResponse::new(
            http::StatusCode::from_u16(status).unwrap(),
            http::HeaderMap::new(),
            bytes::Bytes::new(),
        )
        .redacting(&redactions);
        let err = response.error(Some("SECRET-KEY-123".into()), Some(echo.clone()));
        let shown = format!("{err} {err:?}");
        for secret in ["SECRET-KEY-123", "budi", "81234567890"] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        assert!(shown.contains("bad request: apikey=<redacted>"), "{shown}");
    }
}

#[tokio::test]
async fn a_gate_refusing_a_retry_stops_it_before_it_goes_out() {
    let server = MockServer::start_async().await;
    let busy = server
        .mock_async(|when, then| {
            when.path("/status");
            then.status(503);
        })
        .await;
    let url = server.url("/status");
    let mut gated = Vec::new();
    let err = quick_client()
        .send_gated(
            STATUS,
            |attempt| {
                gated.push(attempt);
                std::future::ready(if attempt < 3 { Ok(()) } else { Err(Error::RateLimited { retry_after: None }) })
            },
            get(&url),
        )
        .await
        .unwrap_err();
    assert_eq!(err, Error::RateLimited { retry_after: None });
    assert_eq!(gated, [1, 2, 3], "the gate is asked before every attempt");
    assert_eq!(busy.calls_async().await, 2, "the third attempt never went out");
}
