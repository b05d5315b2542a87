//! The sandbox as a server left running on a shared machine (issue 10): slow and silent clients
//! are closed on time, open connections are capped, memory is bounded, and the links it hands
//! out never come from the request's `Host` header.
//!
//! Timeouts are set short here; every bound a test waits on is generous (seconds), so that a
//! loaded machine slows the tests down without failing them.
#![allow(clippy::unwrap_used)] // helpers below are test code: a panic is the failing test

mod common;

use std::time::{Duration, Instant};

use gerbang_core::ProviderId;
use gerbang_sandbox::qris::API_KEY;
use gerbang_sandbox::{Sandbox, SandboxError, SandboxHandle};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinSet;

/// Longer than any wait that should succeed, even on a loaded two-core machine.
const GENEROUS: Duration = Duration::from_secs(10);

const HEALTH: &[u8] = b"GET /_sandbox/health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";

/// Reads until the server closes the connection; what it sent, or `None` if it was still open
/// after `within`. A reset counts as closed.
async fn closed_within(stream: &mut TcpStream, within: Duration) -> Option<Vec<u8>> {
    let mut received = Vec::new();
    match tokio::time::timeout(within, stream.read_to_end(&mut received)).await {
        Ok(_) => Some(received),
        Err(_) => None,
    }
}

/// A connection closed for a late head received no answer: hyper closes it without one.
fn assert_nothing(received: &[u8]) {
    assert!(received.is_empty(), "{:?}", String::from_utf8_lossy(received));
}

async fn health(sandbox: &SandboxHandle) -> u16 {
    reqwest::get(format!("{}/_sandbox/health", sandbox.url())).await.unwrap().status().as_u16()
}

#[tokio::test]
async fn slow_and_silent_clients_are_closed_after_the_header_read_timeout() {
    let sandbox = Sandbox::builder().header_read_timeout(Duration::from_millis(200)).start().await.unwrap();
    let started = Instant::now();
    let mut clients = JoinSet::new();
    for i in 0..60 {
        let addr = sandbox.addr();
        clients.spawn(async move {
            let mut stream = TcpStream::connect(addr).await.unwrap();
            match i % 3 {
                // A request line and a header, never the blank line that ends the head.
                0 => stream.write_all(b"GET /_sandbox/health HTTP/1.1\r\nHost: localhost\r\n").await.unwrap(),
                // Half a request line.
                1 => stream.write_all(b"GET /_sandbox/hea").await.unwrap(),
                // Nothing at all.
                _ => {}
            }
            let received = closed_within(&mut stream, GENEROUS).await;
            assert!(received.is_some(), "client {i}: still open after {GENEROUS:?}");
            assert_nothing(&received.unwrap());
        });
    }
    while let Some(client) = clients.join_next().await {
        client.unwrap();
    }
    assert!(started.elapsed() < GENEROUS);
    // The sandbox still answers.
    assert_eq!(health(&sandbox).await, 200);
}

#[tokio::test]
async fn a_client_trickling_its_headers_is_closed_on_time_all_the_same() {
    let sandbox = Sandbox::builder().header_read_timeout(Duration::from_millis(300)).start().await.unwrap();
    let stream = TcpStream::connect(sandbox.addr()).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    writer.write_all(b"GET /_sandbox/health HTTP/1.1\r\nX-Slow: ").await.unwrap();
    // A byte every 50 ms: each one would reset a per-read timeout, never the head's deadline.
    let trickle = tokio::spawn(async move {
        while writer.write_all(b"a").await.is_ok() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
    let mut received = Vec::new();
    let read = tokio::time::timeout(GENEROUS, reader.read_to_end(&mut received)).await;
    assert!(read.is_ok(), "still open after {GENEROUS:?} of trickling");
    assert_nothing(&received);
    trickle.abort();
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_the_header_read_timeout() {
    let sandbox = Sandbox::builder()
        .header_read_timeout(Duration::from_millis(300))
        .idle_timeout(Duration::from_secs(30))
        .start()
        .await
        .unwrap();
    let mut kept = TcpStream::connect(sandbox.addr()).await.unwrap();
    kept.write_all(b"GET /_sandbox/health HTTP/1.1\r\nHost: localhost\r\n\r\n").await.unwrap();
    // The answer, then the end of the connection: the wait for a next request is timed too.
    let received = closed_within(&mut kept, GENEROUS).await.expect("the idle keep-alive connection was left open");
    let text = String::from_utf8_lossy(&received);
    assert!(text.starts_with("HTTP/1.1 200"), "{text:?}");
    assert!(!text.to_ascii_lowercase().contains("connection: close"), "not a keep-alive answer: {text:?}");
}

#[tokio::test]
async fn a_request_body_that_stops_arriving_is_closed_after_the_idle_timeout() {
    let sandbox = Sandbox::builder()
        .header_read_timeout(Duration::from_secs(30))
        .idle_timeout(Duration::from_millis(300))
        .start()
        .await
        .unwrap();
    let mut stream = TcpStream::connect(sandbox.addr()).await.unwrap();
    // A complete head announcing 100 bytes of body, then 10 of them: the signature check waits
    // for the rest, which never comes.
    stream
        .write_all(
            b"POST /cuan10pay/v1/deposit_create HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
              Content-Length: 100\r\n\r\n{\"amount\":",
        )
        .await
        .unwrap();
    let received = closed_within(&mut stream, GENEROUS).await;
    assert!(received.is_some(), "still open after {GENEROUS:?} without a byte");
    assert_eq!(health(&sandbox).await, 200);
}

#[tokio::test]
async fn past_the_cap_the_longest_waiting_silent_connection_makes_room() {
    let sandbox = Sandbox::builder()
        .max_connections(3)
        .header_read_timeout(Duration::from_secs(30))
        .idle_timeout(Duration::from_secs(30))
        .start()
        .await
        .unwrap();
    // Three silent connections take every slot (connected one after the other, so the server
    // accepts them in that order, before the fourth).
    let mut silent = Vec::new();
    for _ in 0..3 {
        silent.push(TcpStream::connect(sandbox.addr()).await.unwrap());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The fourth is served at once: the oldest silent one is closed, without an answer, for it.
    let started = Instant::now();
    let mut genuine = TcpStream::connect(sandbox.addr()).await.unwrap();
    genuine.write_all(HEALTH).await.unwrap();
    let received = closed_within(&mut genuine, GENEROUS).await.expect("served past the cap");
    let text = String::from_utf8_lossy(&received);
    assert!(text.starts_with("HTTP/1.1 200"), "{text:?}");
    assert!(started.elapsed() < Duration::from_secs(2), "took {:?}", started.elapsed());
    let shed = closed_within(&mut silent[0], GENEROUS).await.expect("the oldest silent connection is closed");
    assert_nothing(&shed);
    assert!(closed_within(&mut silent[1], Duration::from_millis(300)).await.is_none(), "a newer one was closed");
}

#[tokio::test]
async fn connections_past_the_cap_wait_in_the_backlog_while_every_slot_is_answering() {
    let sandbox = Sandbox::builder()
        .max_connections(3)
        .header_read_timeout(Duration::from_secs(30))
        .idle_timeout(Duration::from_secs(30))
        .start()
        .await
        .unwrap();
    // Three requests in progress: complete heads announcing 100 bytes of body, 10 of them sent.
    let mut busy = Vec::new();
    for _ in 0..3 {
        let mut stream = TcpStream::connect(sandbox.addr()).await.unwrap();
        stream
            .write_all(
                b"POST /cuan10pay/v1/deposit_create HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
                  Content-Length: 100\r\n\r\n{\"amount\":",
            )
            .await
            .unwrap();
        busy.push(stream);
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    // The fourth connects (the kernel's backlog completes the handshake) and sends a request,
    // which is not read while every slot answers one.
    let mut waiting = TcpStream::connect(sandbox.addr()).await.unwrap();
    waiting.write_all(HEALTH).await.unwrap();
    let mut byte = [0_u8; 1];
    let early = tokio::time::timeout(Duration::from_millis(500), waiting.read(&mut byte)).await;
    assert!(early.is_err(), "answered past the cap: {early:?}");

    // One slot frees: the waiting request is accepted and answered.
    drop(busy.remove(0));
    let received = closed_within(&mut waiting, GENEROUS).await.expect("served once a slot freed");
    let text = String::from_utf8_lossy(&received);
    assert!(text.starts_with("HTTP/1.1 200"), "{text:?}");
    assert!(text.contains(r#""status":"ok""#), "{text:?}");
    drop(busy);
}

#[tokio::test]
async fn shutdown_closes_idle_keep_alive_connections_and_frees_the_port() {
    let sandbox = Sandbox::builder().start().await.unwrap();
    let addr = sandbox.addr();
    // A keep-alive connection, answered once, left open.
    let mut kept = TcpStream::connect(addr).await.unwrap();
    kept.write_all(b"GET /_sandbox/health HTTP/1.1\r\nHost: localhost\r\n\r\n").await.unwrap();
    let mut answer = [0_u8; 12];
    kept.read_exact(&mut answer).await.unwrap();
    assert_eq!(&answer, b"HTTP/1.1 200");

    let started = Instant::now();
    sandbox.shutdown().await;
    // Well under the five seconds after which `shutdown` stops waiting for connections.
    assert!(started.elapsed() < Duration::from_secs(4), "shutdown took {:?}", started.elapsed());
    assert!(closed_within(&mut kept, GENEROUS).await.is_some(), "the idle connection was left open");
    drop(std::net::TcpListener::bind(addr).unwrap());
}

/// `GET /qris/api/v1/invoice/create?amount=…` with a forged `Host`; the answer's JSON.
async fn create_qris_invoice(sandbox: &SandboxHandle, host: &str) -> Value {
    let url = format!("{}/api/v1/invoice/create?amount=10000&apikey={API_KEY}", sandbox.base_url(ProviderId::Qris));
    let response = reqwest::Client::new().get(url).header(reqwest::header::HOST, host).send().await.unwrap();
    assert_eq!(response.status(), 200);
    serde_json::from_slice(&response.bytes().await.unwrap()).unwrap()
}

#[tokio::test]
async fn links_use_the_sandbox_address_never_the_host_header() {
    let sandbox = Sandbox::builder().start().await.unwrap();
    // A host the sandbox answers (a foreign one is refused: control_safety.rs), yet not its address.
    let invoice = create_qris_invoice(&sandbox, "localhost:666").await;
    let image = invoice["qris_image"].as_str().unwrap();
    assert!(image.starts_with(&format!("{}/qris/invoice/", sandbox.url())), "{image}");
    assert!(!image.contains("localhost"), "{image}");

    // Crypto invoices: the invoice URL is the whole answer.
    let body = format!(
        "public_key={}&private_key={}&price_amount=10&order_id=HOST-1",
        gerbang_sandbox::crypto_invoice::PUBLIC_KEY,
        gerbang_sandbox::crypto_invoice::PRIVATE_KEY
    );
    let response = reqwest::Client::new()
        .post(format!("{}/create_invoice", sandbox.base_url(ProviderId::CryptoInvoice)))
        .header(reqwest::header::HOST, "localhost:666")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    let answer: Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
    let url = answer["message"].as_str().unwrap();
    assert!(url.starts_with(&format!("{}/crypto-invoice/invoice/", sandbox.url())), "{answer}");
}

#[tokio::test]
async fn links_use_the_public_url_when_one_is_set() {
    let sandbox = Sandbox::builder().public_url("https://sandbox.example:8443/").start().await.unwrap();
    let invoice = create_qris_invoice(&sandbox, "localhost:666").await;
    let image = invoice["qris_image"].as_str().unwrap();
    assert!(image.starts_with("https://sandbox.example:8443/qris/invoice/"), "{image}");
}

#[tokio::test]
async fn the_oldest_payments_are_forgotten_past_max_payments() {
    let sandbox = Sandbox::builder().max_payments(2).start().await.unwrap();
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(create_qris_invoice(&sandbox, "localhost").await["invoice_id"].as_str().unwrap().to_owned());
    }
    let status = |id: &str| {
        let url =
            format!("{}/api/v1/invoice/status?invoice_id={id}&apikey={API_KEY}", sandbox.base_url(ProviderId::Qris));
        async move { reqwest::get(url).await.unwrap().status().as_u16() }
    };
    assert_eq!(status(&ids[0]).await, 404, "the oldest invoice is forgotten");
    assert_eq!(status(&ids[1]).await, 200);
    assert_eq!(status(&ids[2]).await, 200);
    assert!(matches!(sandbox.pay(ProviderId::Qris, &ids[0]).await, Err(SandboxError::UnknownPayment { .. })));
    sandbox.pay(ProviderId::Qris, &ids[2]).await.unwrap();

    // Cuan10pay, signed requests: the same limit, per gateway.
    let base = sandbox.base_url(ProviderId::Cuan10pay);
    let mut deposits = Vec::new();
    for _ in 0..3 {
        deposits.push(common::create_deposit(&base, "QRIS", 10_000).await["deposit_id"].as_str().unwrap().to_owned());
    }
    let first = common::call(&base, "GET", &format!("/v1/deposit_status?ref={}", deposits[0]), "").await;
    assert_eq!(first.status, 404, "{:?}", first.json);
    let last = common::call(&base, "GET", &format!("/v1/deposit_status?ref={}", deposits[2]), "").await;
    assert_eq!(last.status, 200, "{:?}", last.json);
    // QRIS kept its two newest: the gateways do not share the limit.
    assert_eq!(status(&ids[1]).await, 200);
}
