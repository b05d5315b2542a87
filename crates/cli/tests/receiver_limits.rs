//! `gerbang webhook serve` as an internet-facing port (issue 19, item 2): under the common
//! open-file limit of 1 024, 1 100 idle connections and 300 slow-header clients do not keep a
//! genuine, signed webhook from being handled within 2 s, and a slow-header client is closed
//! within the header-read timeout and a second.
//!
//! The receiver runs under `prlimit --nofile=1024:1024`; this test process holds every client
//! socket, so it raises its own soft limit first (to its hard limit, or, as root, beyond).
#![allow(clippy::unwrap_used, clippy::print_stderr)] // Test code; the measured times are printed.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use gerbang::ProviderId;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use common::{Serve, deposit, free_port, next_event, sandbox_for};

const IDLE: usize = 1_100;
const SLOW: usize = 300;
/// The receiver's own limit: the common default soft limit.
const RECEIVER_FILES: &str = "--nofile=1024:1024";

/// The soft and hard open-file limits of this process, from `/proc/self/limits`.
fn file_limits() -> (u64, u64) {
    let text = std::fs::read_to_string("/proc/self/limits").unwrap();
    let line = text.lines().find_map(|line| line.strip_prefix("Max open files")).unwrap();
    let mut numbers = line.split_whitespace().map(|n| n.parse::<u64>().unwrap_or(u64::MAX));
    (numbers.next().unwrap(), numbers.next().unwrap())
}

/// Raises this process's soft open-file limit to at least `wanted`, with `prlimit --pid`.
fn raise_own_file_limit(wanted: u64) {
    let (soft, hard) = file_limits();
    if soft >= wanted {
        return;
    }
    let limit = format!("--nofile={}:{}", wanted.max(soft), hard.max(wanted));
    let status = std::process::Command::new("prlimit")
        .args(["--pid", &std::process::id().to_string(), &limit])
        .status()
        .expect("prlimit (util-linux) is needed to raise this test's open-file limit");
    let (soft, _) = file_limits();
    assert!(
        status.success() && soft >= wanted,
        "this test holds {wanted} sockets: raise the open-file limit (ulimit -n {wanted}), or run it as root"
    );
}

/// A client that sends half a request head, then a byte of a header every second, until the
/// server closes the connection; how long after it was connected that was.
async fn slow_header_client(addr: SocketAddr) -> Duration {
    let stream = TcpStream::connect(addr).await.unwrap();
    let started = Instant::now();
    let (mut reader, mut writer) = stream.into_split();
    let trickle = tokio::spawn(async move {
        let mut sent = writer.write_all(b"POST /webhooks/cuan10pay HTTP/1.1\r\nHost: receiver\r\nX-Slow: ").await;
        while sent.is_ok() {
            tokio::time::sleep(Duration::from_secs(1)).await;
            sent = writer.write_all(b"a").await;
        }
    });
    let mut received = Vec::new();
    // A reset counts as closed, like an end of stream.
    let _ = tokio::time::timeout(Duration::from_secs(60), reader.read_to_end(&mut received)).await;
    trickle.abort();
    started.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_genuine_webhook_is_handled_within_2s_under_an_idle_and_slow_header_flood() {
    raise_own_file_limit(4_096);
    let port = free_port();
    let sandbox = sandbox_for(port).start().await.unwrap();
    let (tx, mut events) = mpsc::unbounded_channel();
    // The default limits: a 10 s header-read timeout, so that nothing but the cap's policy
    // frees a slot during the test.
    let mut serve = Serve::start_wrapped(port, &["prlimit", RECEIVER_FILES, "--"], &[], &[], tx).await;
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let id = deposit(&sandbox, "FLOOD-1").await;

    let mut idle = Vec::with_capacity(IDLE);
    for _ in 0..IDLE {
        idle.push(TcpStream::connect(addr).await.unwrap());
    }
    let mut slow = JoinSet::new();
    for _ in 0..SLOW {
        slow.spawn(slow_header_client(addr));
    }
    // Every slow client connected and sent its half head.
    tokio::time::sleep(Duration::from_millis(500)).await;

    let started = Instant::now();
    sandbox.pay(ProviderId::Cuan10pay, &id).await.unwrap();
    let (_, event) = next_event(&mut events, Duration::from_secs(30)).await.expect("the genuine webhook's event");
    let took = started.elapsed();
    eprintln!("a genuine webhook under {IDLE} idle and {SLOW} slow-header connections was handled in {took:?}");
    assert_eq!(event["provider_reference"], id.as_str());
    assert_eq!(event["status"], "paid");
    assert!(took < Duration::from_secs(2), "handled after {took:?}");
    let delivered = sandbox.wait_for_deliveries(1, Duration::from_secs(5)).await.unwrap();
    assert_eq!(delivered[0].status, Some(200), "{delivered:?}");

    slow.abort_all();
    drop(idle);
    serve.child.kill().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_header_client_is_closed_within_the_header_read_timeout_and_a_second() {
    raise_own_file_limit(4_096);
    let port = free_port();
    let (tx, _events) = mpsc::unbounded_channel();
    let mut serve =
        Serve::start_wrapped(port, &["prlimit", RECEIVER_FILES, "--"], &["--header-read-timeout", "2s"], &[], tx).await;
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut slow = JoinSet::new();
    for _ in 0..SLOW {
        slow.spawn(slow_header_client(addr));
    }
    let mut closed_after = Vec::new();
    while let Some(after) = slow.join_next().await {
        closed_after.push(after.unwrap());
    }
    closed_after.sort();
    let (first, median, longest) = (closed_after[0], closed_after[SLOW / 2], closed_after[SLOW - 1]);
    eprintln!(
        "{SLOW} slow-header clients, a 2 s header-read timeout: closed after {first:?} (first), {median:?} \
         (median), {longest:?} (last)"
    );
    assert!(longest <= Duration::from_secs(3), "a slow-header client was closed after {longest:?}");
    assert!(longest >= Duration::from_millis(1_500), "closed before the timeout: {longest:?}");
    serve.child.kill().await.unwrap();
}
