//! A request body must arrive in full within the body-read timeout: a client that trickles one
//! just inside the idle timeout, on a connection that (answering a request) is never shed, is
//! answered and closed on time instead of holding its place under the cap.
#![allow(clippy::unwrap_used)] // Test code: a panic is the failing test.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::routing::post;
use gerbang_server::Limits;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const HEAD: &[u8] = b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n";

/// A server whose idle and header timeouts are long (30 s) so that
/// only the body-read timeout (`body`) can close a trickling client.
async fn server(body: Duration) -> SocketAddr {
    let router = Router::new().route("/echo", post(|bytes: Bytes| async move { format!("got {}", bytes.len()) }));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut limits = Limits::default();
    limits.header_read_timeout = Duration::from_secs(30);
    limits.idle_timeout = Duration::from_secs(30);
    limits.body_read_timeout = body;
    tokio::spawn(gerbang_server::serve(listener, router, limits, std::future::pending()));
    addr
}

#[tokio::test]
async fn a_trickled_body_gets_an_answer_and_a_closed_connection_on_time() {
    let addr = server(Duration::from_secs(1)).await;
    let mut slow = TcpStream::connect(addr).await.unwrap();
    slow.write_all(HEAD).await.unwrap();
    let started = Instant::now();
    let mut received = Vec::new();
    let mut buf = [0_u8; 1024];
    // Trickle a byte every 200 ms while reading what the server says; stop when it closes.
    let closed = loop {
        if started.elapsed() > Duration::from_secs(8) {
            break false;
        }
        let _ = slow.write_all(b" ").await;
        match tokio::time::timeout(Duration::from_millis(200), slow.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break true,
            Ok(Ok(n)) => received.extend_from_slice(&buf[..n]),
            Err(_) => {}
        }
    };
    let took = started.elapsed();
    assert!(closed, "still open after {took:?}");
    assert!(took >= Duration::from_millis(900) && took < Duration::from_secs(4), "closed after {took:?}");
    let text = String::from_utf8_lossy(&received);
    assert!(text.starts_with("HTTP/1.1 4"), "a 4xx from the handler's extractor: {text:?}");
}

#[tokio::test]
async fn a_body_sent_at_once_is_read_whole() {
    let addr = server(Duration::from_secs(1)).await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let body = [b'x'; 100];
    stream.write_all(&[HEAD, &body[..]].concat()).await.unwrap();
    let mut buf = vec![0_u8; 1024];
    let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf)).await.unwrap().unwrap();
    let text = String::from_utf8_lossy(&buf[..n]);
    assert!(text.starts_with("HTTP/1.1 200") && text.ends_with("got 100"), "{text:?}");
}
