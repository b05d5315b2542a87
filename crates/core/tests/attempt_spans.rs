//! The transport's spans (issue 20, item 5): each attempt of a call is a CLIENT span under the
//! call's span, with the attributes of OpenTelemetry's HTTP client conventions, read here by a
//! `tracing` layer that keeps every span's fields as a `tracing-opentelemetry` layer would see
//! them.
#![allow(clippy::unwrap_used)] // Test code.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use gerbang_core::transport::{Call, HttpRequest};
use gerbang_core::{Error, HttpClient, ProviderId, RetryPolicy};
use gerbang_testkit::{SeenSpan, SpanCapture};
use http::Method;

const API_KEY: &str = "key-Zx81-never-traced";
const REFERENCE: &str = "CP-20261206-SECRET";

/// The attempts' spans of what `f` did.
async fn attempts_of(f: impl std::future::Future<Output = ()>) -> (Vec<SeenSpan>, Vec<SeenSpan>) {
    let (capture, ()) = SpanCapture::run(f).await;
    (capture.spans(), capture.named("gerbang.http.attempt"))
}

/// A server answering the connections it is given with `answers` in turn (the last one from then
/// on), each connection closed after its answer.
async fn server(answers: &'static [&'static [u8]]) -> std::net::SocketAddr {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let served = Arc::new(AtomicUsize::new(0));
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let n = served.fetch_add(1, Ordering::SeqCst);
            let answer = answers[n.min(answers.len() - 1)];
            tokio::spawn(async move {
                let mut buf = [0_u8; 8192];
                let _ = socket.read(&mut buf).await;
                let _ = socket.write_all(answer).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    addr
}

const UNAVAILABLE: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";
const OK: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}";
const REDIRECT: &[u8] =
    b"HTTP/1.1 302 Found\r\nlocation: http://elsewhere.example/x?apikey=1\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";

fn client() -> HttpClient {
    HttpClient::builder()
        .timeout(Duration::from_millis(400))
        .retry(RetryPolicy::default().initial_backoff(Duration::from_millis(10)).max_backoff(Duration::from_millis(20)))
        .build()
        .unwrap()
}

/// A look-up whose URL holds the key and the reference in its query, as QRIS's and Cuan10pay's do.
fn lookup(addr: std::net::SocketAddr) -> impl FnMut() -> Result<HttpRequest, Error> {
    let url = format!("http://{addr}/api/v1/invoice/status?invoice_id={REFERENCE}&apikey={API_KEY}");
    move || HttpRequest::new(Method::GET, url.parse().unwrap()).header("x-api-key", API_KEY)
}

const STATUS: Call = Call::safe(ProviderId::Qris, "invoice_status").at("/api/v1/invoice/status");

#[tokio::test]
async fn each_attempt_is_a_client_span_under_the_call_with_the_http_conventions() {
    let addr = server(&[UNAVAILABLE, OK]).await;
    let (spans, attempts) = attempts_of(async {
        let answer = client().send(STATUS, lookup(addr)).await.unwrap();
        assert_eq!(answer.status.as_u16(), 200);
    })
    .await;
    let call = spans.iter().find(|s| s.name == "gerbang.http").expect("the call's span");
    assert_eq!(attempts.len(), 2, "one span per attempt: {spans:#?}");
    let port = addr.port().to_string();
    for attempt in &attempts {
        assert_eq!(attempt.parent, Some(call.id), "an attempt is a child of its call");
        assert_eq!(attempt.field("otel.kind"), Some("client"));
        assert_eq!(attempt.field("otel.name"), Some("GET /api/v1/invoice/status"));
        assert_eq!(attempt.field("http.request.method"), Some("GET"));
        assert_eq!(attempt.field("server.address"), Some("127.0.0.1"));
        assert_eq!(attempt.field("server.port"), Some(port.as_str()));
        assert_eq!(attempt.field("url.template"), Some("/api/v1/invoice/status"));
        assert_eq!(attempt.field("gerbang.gateway"), Some("qris"));
        assert_eq!(attempt.field("gerbang.operation"), Some("invoice_status"));
    }
    let (first, second) = (&attempts[0], &attempts[1]);
    assert_eq!(first.field("http.response.status_code"), Some("503"));
    assert_eq!(first.field("error.type"), Some("503"));
    assert_eq!(first.field("otel.status_code"), Some("ERROR"));
    assert_eq!(first.field("http.request.resend_count"), None, "a first attempt is no resend");
    assert_eq!(second.field("http.response.status_code"), Some("200"));
    assert_eq!(second.field("http.request.resend_count"), Some("1"));
    assert_eq!(second.field("error.type"), None);
    assert_eq!(second.field("otel.status_code"), None);
    // Neither the query, nor the key, nor the reference, in any span.
    for span in &spans {
        for (name, value) in &span.fields {
            for secret in [API_KEY, REFERENCE, "?", "apikey", "invoice_id="] {
                assert!(!value.contains(secret), "{} {name}={value:?} holds {secret:?}", span.name);
            }
        }
    }
}

#[tokio::test]
async fn a_call_without_a_template_is_named_by_its_method_alone() {
    let addr = server(&[OK]).await;
    let (spans, attempts) = attempts_of(async {
        let bare = Call::once(ProviderId::Qris, "invoice_create");
        client().send(bare, lookup(addr)).await.unwrap();
    })
    .await;
    let [attempt] = &attempts[..] else { panic!("one attempt: {spans:#?}") };
    assert_eq!(attempt.field("otel.name"), Some("GET"));
    assert_eq!(attempt.field("url.template"), None, "never taken from the real path");
    assert_eq!(attempt.field("http.response.status_code"), Some("200"));
}

#[tokio::test]
async fn an_attempt_without_an_answer_says_why_in_a_closed_set() {
    // Nothing listens: refused, then retried, each attempt a `transport` error.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    // Answers nothing until the timeout.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_addr = silent.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            held.push(socket);
        }
    });
    let cut = server(&[b""]).await;
    let redirect = server(&[REDIRECT]).await;
    let (_, attempts) = attempts_of(async {
        let once = |addr| {
            let url = format!("http://{addr}/api/v1/invoice/create?amount=1&apikey={API_KEY}");
            move || Ok(HttpRequest::new(Method::GET, url.parse().unwrap()))
        };
        let no_retry =
            HttpClient::builder().timeout(Duration::from_millis(300)).retry(RetryPolicy::none()).build().unwrap();
        let create = Call::once(ProviderId::Qris, "invoice_create").at("/api/v1/invoice/create");
        assert!(matches!(no_retry.send(create, once(closed)).await, Err(Error::Transport { .. })));
        assert!(matches!(no_retry.send(STATUS, lookup(silent_addr)).await, Err(Error::Timeout { .. })));
        assert!(matches!(no_retry.send(create, once(cut)).await, Err(Error::OutcomeUnknown { .. })));
        assert!(matches!(no_retry.send(create, once(redirect)).await, Err(Error::Redirect { .. })));
    })
    .await;
    let kinds: Vec<_> = attempts.iter().map(|a| a.field("error.type").unwrap_or("-")).collect();
    assert_eq!(kinds, ["transport", "timeout", "outcome_unknown", "redirect"], "{attempts:#?}");
    for attempt in &attempts {
        assert_eq!(attempt.field("otel.status_code"), Some("ERROR"));
    }
    assert_eq!(attempts[3].field("http.response.status_code"), Some("302"));
    assert_eq!(attempts[0].field("http.response.status_code"), None, "no answer, no status");
    for attempt in &attempts {
        for value in attempt.fields.values() {
            assert!(!value.contains("elsewhere") && !value.contains(API_KEY), "{attempt:#?}");
        }
    }
}

/// The attack: ids in the path, keys and references in the query, secrets in headers, whatever
/// their text. None of it reaches any span of the call: only the template, the host and port.
#[test]
fn no_path_query_or_header_text_reaches_a_span_whatever_it_is() {
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};

    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let addr = runtime.block_on(server(&[OK]));
    let text = "[A-Za-z0-9._~-]{6,24}";
    let strategy = (text, text, text, "[!-~]{8,32}");
    let mut runner = TestRunner::new(Config { cases: 64, failure_persistence: None, ..Config::default() });
    let tried = AtomicUsize::new(0);
    runner
        .run(&strategy, |(path_id, query_key, query_value, header)| {
            tried.fetch_add(1, Ordering::SeqCst);
            let (path_id, query_value) = (format!("P{path_id}"), format!("Q{query_value}"));
            let header = format!("H{header}");
            let url = format!("http://{addr}/api/v1/items/{path_id}?{query_key}={query_value}&apikey={API_KEY}");
            let (spans, attempts) = runtime.block_on(attempts_of(async {
                let build = || {
                    HttpRequest::new(Method::GET, url.parse().unwrap())
                        .header("x-api-key", &header)?
                        .header("x-signature", &header)
                };
                let call = Call::safe(ProviderId::Qris, "item").at("/api/v1/items/{id}");
                client().send(call, build).await.unwrap();
            }));
            prop_assert_eq!(attempts.len(), 1);
            prop_assert_eq!(attempts[0].field("otel.name"), Some("GET /api/v1/items/{id}"));
            for span in &spans {
                for (name, value) in &span.fields {
                    for secret in [&path_id, &query_value, &header, API_KEY, "?"] {
                        prop_assert!(!value.contains(secret), "{} {}={:?} holds {:?}", span.name, name, value, secret);
                    }
                }
            }
            Ok(())
        })
        .unwrap();
    #[allow(clippy::print_stderr)]
    {
        eprintln!("attempt spans: {} URLs and headers tried, none leaked", tried.load(Ordering::SeqCst));
    }
}
