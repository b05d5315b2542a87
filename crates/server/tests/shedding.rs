//! The policy at the cap: an idle connection (silent, slow, or an idle keep-alive) is shed for a
//! newcomer, the longest-waiting first; one with a request in progress never is.
//!
//! Timeouts are long here (30 s), so that nothing but shedding closes a connection; every bound a
//! test waits on is generous, so a loaded machine slows the tests without failing them.
#![allow(clippy::unwrap_used)] // Test code: a panic is the failing test.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use gerbang_server::Limits;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

const GENEROUS: Duration = Duration::from_secs(10);
const FAST: &[u8] = b"GET /fast HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
const SLOW: &[u8] = b"GET /slow HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";

/// A server capped at `cap`; `/slow` answers once the returned semaphore gets a permit.
async fn server(cap: usize) -> (SocketAddr, Arc<Semaphore>) {
    let gate = Arc::new(Semaphore::new(0));
    let held = Arc::clone(&gate);
    let router = Router::new().route("/fast", get(|| async { "fast" })).route(
        "/slow",
        get(move || {
            let gate = Arc::clone(&held);
            async move {
                gate.acquire().await.unwrap().forget();
                "slow"
            }
        }),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut limits = Limits::default();
    limits.max_connections = cap;
    limits.header_read_timeout = Duration::from_secs(30);
    limits.idle_timeout = Duration::from_secs(30);
    tokio::spawn(gerbang_server::serve(listener, router, limits, std::future::pending()));
    (addr, gate)
}

/// Connects, and waits until the server has surely accepted the connection (the accept loop takes
/// connections in order: a later one's answer proves it, but a short pause is simpler here).
async fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    stream
}

/// What the server sent until it closed the connection; `None` if still open after `within`.
async fn closed_within(stream: &mut TcpStream, within: Duration) -> Option<String> {
    let mut received = Vec::new();
    match tokio::time::timeout(within, stream.read_to_end(&mut received)).await {
        Ok(_) => Some(String::from_utf8_lossy(&received).into_owned()),
        Err(_) => None,
    }
}

/// Sends `request` and reads the answer to the end; with how long it took.
async fn ask(stream: &mut TcpStream, request: &[u8]) -> (String, Duration) {
    let started = Instant::now();
    stream.write_all(request).await.unwrap();
    let answer = closed_within(stream, GENEROUS).await.expect("an answer, then the close");
    (answer, started.elapsed())
}

#[tokio::test]
async fn a_newcomer_is_served_at_once_when_idle_connections_hold_every_slot() {
    let (addr, _gate) = server(3).await;
    let mut oldest = connect(addr).await;
    let mut second = connect(addr).await;
    let mut third = connect(addr).await;

    let mut genuine = TcpStream::connect(addr).await.unwrap();
    let (answer, took) = ask(&mut genuine, FAST).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer:?}");
    assert!(took < Duration::from_secs(2), "took {took:?}");

    // The longest-waiting idle connection made room, without an answer; the others stay.
    assert_eq!(closed_within(&mut oldest, GENEROUS).await.as_deref(), Some(""));
    assert!(closed_within(&mut second, Duration::from_millis(300)).await.is_none());
    assert!(closed_within(&mut third, Duration::from_millis(300)).await.is_none());
}

#[tokio::test]
async fn an_idle_keep_alive_connection_counts_as_waiting_from_its_last_answer() {
    let (addr, _gate) = server(2).await;
    let mut kept = connect(addr).await;
    kept.write_all(b"GET /fast HTTP/1.1\r\nHost: t\r\n\r\n").await.unwrap();
    let mut head = [0_u8; 12];
    kept.read_exact(&mut head).await.unwrap();
    assert_eq!(&head, b"HTTP/1.1 200");
    tokio::time::sleep(Duration::from_millis(50)).await;
    // Silent since after the keep-alive answer: it has waited less.
    let mut silent = connect(addr).await;

    let (answer, _) = ask(&mut TcpStream::connect(addr).await.unwrap(), FAST).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer:?}");
    assert!(closed_within(&mut kept, GENEROUS).await.is_some(), "the idle keep-alive connection was shed");
    assert!(closed_within(&mut silent, Duration::from_millis(300)).await.is_none());
}

#[tokio::test]
async fn a_connection_with_a_request_in_progress_is_never_shed() {
    let (addr, gate) = server(2).await;
    // Oldest, but answering a request.
    let mut busy = connect(addr).await;
    busy.write_all(SLOW).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let mut idle = connect(addr).await;

    let (answer, _) = ask(&mut TcpStream::connect(addr).await.unwrap(), FAST).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer:?}");
    assert_eq!(closed_within(&mut idle, GENEROUS).await.as_deref(), Some(""), "the idle one made room");

    // A second newcomer: nothing idle to shed (only the busy one and, maybe, an answered
    // connection closing), so it may wait; the busy connection is never cut.
    let mut third = TcpStream::connect(addr).await.unwrap();
    third.write_all(FAST).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    gate.add_permits(1);
    let answer = closed_within(&mut busy, GENEROUS).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200") && answer.ends_with("slow"), "{answer:?}");
    let answer = closed_within(&mut third, GENEROUS).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer:?}");
}

#[tokio::test]
async fn when_every_connection_is_answering_newcomers_wait_in_the_backlog() {
    let (addr, gate) = server(1).await;
    let mut busy = connect(addr).await;
    busy.write_all(SLOW).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;

    let mut waiting = TcpStream::connect(addr).await.unwrap();
    waiting.write_all(FAST).await.unwrap();
    let early = closed_within(&mut waiting, Duration::from_millis(500)).await;
    assert!(early.is_none(), "served past the cap: {early:?}");

    // The busy request ends: its connection closes (Connection: close) and the newcomer is served.
    gate.add_permits(1);
    let answer = closed_within(&mut busy, GENEROUS).await.unwrap();
    assert!(answer.ends_with("slow"), "{answer:?}");
    let answer = closed_within(&mut waiting, GENEROUS).await.expect("served once the slot freed");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer:?}");
}

#[tokio::test]
async fn a_flood_of_silent_connections_does_not_delay_a_genuine_request() {
    let (addr, _gate) = server(50).await;
    let mut flood = Vec::new();
    for _ in 0..500 {
        flood.push(TcpStream::connect(addr).await.unwrap());
    }
    let (answer, took) = ask(&mut TcpStream::connect(addr).await.unwrap(), FAST).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer:?}");
    assert!(took < Duration::from_secs(2), "a genuine request took {took:?} behind 500 silent connections");
}
