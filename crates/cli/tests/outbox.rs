//! `webhook serve --forward-to` through the outbox (issue 21, items 2 and 4): the gateway is
//! acknowledged once the event is in the outbox, whatever the application does; the deliverer
//! of every receiver sharing the store delivers each event, signed (Standard Webhooks, checked
//! with `gerbang_signing`'s verifier), exactly once when nothing dies, in each payment's order;
//! a receiver killed mid-delivery leaves its message to another after the lease; the last failed
//! attempt leaves a dead letter that `gerbang events list` shows and `gerbang events replay`
//! delivers again, under the same `webhook-id`.
//!
//! Waits are short and configurable: `GERBANG_TEST_OUTAGE_SECS` (how long the application is
//! down, default 20).
#![allow(clippy::unwrap_used, clippy::print_stderr)] // Test code; the measured delivery time is printed.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, StatusCode};
use gerbang::ProviderId;
use gerbang::sandbox::{DeliveryPlan, PaymentState, Sandbox};
use gerbang_signing::standard_webhooks::{Headers, WebhookSecret};
use gerbang_testkit::{PostgresServer, RedisServer};
use serde_json::Value;
use tokio::sync::mpsc;

use common::{FORWARD_SECRET, Serve, free_port, next_event, paid_deposit, sandbox_with_payments};

/// How long the application stays down in the outage test.
fn outage() -> Duration {
    let seconds = std::env::var("GERBANG_TEST_OUTAGE_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(20);
    Duration::from_secs(seconds)
}

/// A retry schedule in seconds, long enough to outlast the outage: 1 s, 2 s, then 3 s apart.
fn retry_schedule() -> String {
    let mut waits = vec!["1s".to_owned(), "2s".to_owned()];
    let threes = outage().as_secs() / 3 + 5;
    waits.extend((0..threes).map(|_| "3s".to_owned()));
    waits.join(",")
}

/// How the application answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Ok,
    Fail,
    /// The first request of each `webhook-id` never gets an answer; the others 200.
    HangFirst,
}

/// One request the application took (answered 2xx).
#[derive(Debug, Clone)]
struct Received {
    id: String,
    event: Value,
}

/// The application behind `--forward-to`, on a port of its own that can be closed (down) and
/// bound again (back up).
struct App {
    port: u16,
    mode: Arc<Mutex<Mode>>,
    /// Every request, in order of arrival: its `webhook-id`.
    requests: Arc<Mutex<Vec<String>>>,
    /// The requests answered 2xx, in order.
    taken: Arc<Mutex<Vec<Received>>>,
    server: Option<tokio::task::JoinHandle<()>>,
}

impl App {
    /// An application on a free port, down until [`up`](Self::up).
    fn down(mode: Mode) -> Self {
        Self {
            port: free_port(),
            mode: Arc::new(Mutex::new(mode)),
            requests: Arc::default(),
            taken: Arc::default(),
            server: None,
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/events", self.port)
    }

    fn set(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
    }

    /// Binds its port (again) and answers from now on. Each request's signature is checked
    /// with the secret the receivers sign with; a bad one fails the test.
    async fn up(&mut self) {
        let (mode, requests, taken) = (Arc::clone(&self.mode), Arc::clone(&self.requests), Arc::clone(&self.taken));
        let secret = WebhookSecret::parse(FORWARD_SECRET).unwrap();
        let app = axum::Router::new().route(
            "/events",
            axum::routing::post(move |headers: HeaderMap, body: String| {
                let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
                let (id, timestamp, signature) =
                    (header("webhook-id"), header("webhook-timestamp"), header("webhook-signature"));
                let signed = Headers { id: &id, timestamp: &timestamp, signature: &signature };
                let now = time::OffsetDateTime::now_utc().unix_timestamp();
                let verified = secret.verify(&signed, body.as_bytes(), now, Duration::from_secs(300));
                let first = {
                    let mut requests = requests.lock().unwrap();
                    let first = !requests.contains(&id);
                    requests.push(id.clone());
                    first
                };
                let mode = *mode.lock().unwrap();
                let taken = Arc::clone(&taken);
                async move {
                    assert_eq!(verified, Ok(()), "a forwarded request that does not verify: {id} {body}");
                    match mode {
                        Mode::Fail => return StatusCode::INTERNAL_SERVER_ERROR,
                        Mode::HangFirst if first => std::future::pending::<()>().await,
                        _ => {}
                    }
                    let event = serde_json::from_str(&body).unwrap();
                    taken.lock().unwrap().push(Received { id, event });
                    StatusCode::OK
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", self.port)).await.unwrap();
        self.server = Some(tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        }));
    }

    fn taken(&self) -> Vec<Received> {
        self.taken.lock().unwrap().clone()
    }

    fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }

    /// Waits until at least `count` distinct ids were taken, up to `within`.
    async fn wait_taken(&self, count: usize, within: Duration) -> Vec<Received> {
        let deadline = Instant::now() + within;
        loop {
            let taken = self.taken();
            let ids: BTreeSet<&str> = taken.iter().map(|r| r.id.as_str()).collect();
            if ids.len() >= count {
                return taken;
            }
            assert!(Instant::now() < deadline, "{} of {count} events taken: {taken:?}", ids.len());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for App {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            server.abort();
        }
    }
}

/// What `serve` said on stderr, once it said `words` (up to 5 s).
async fn said_soon(serve: &Serve, words: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let said = serve.stderr.lock().unwrap().join("\n");
        if said.contains(words) || Instant::now() > deadline {
            return said;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Runs `gerbang events …args` against `store`: its exit code and stdout.
async fn events(store: &str, args: &[&str]) -> (Option<i32>, String, String) {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_gerbang"))
        .arg("events")
        .args(args)
        .args(["--store", store])
        .env_remove("GERBANG_STORE_URL")
        .output()
        .await
        .unwrap();
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    (output.status.code(), text(&output.stdout), text(&output.stderr))
}

/// The JSON lines of `events list` on `store`.
async fn listed(store: &str, args: &[&str]) -> Vec<Value> {
    let (code, stdout, stderr) = events(store, &[&["list"], args].concat()).await;
    assert_eq!(code, Some(0), "{stderr}");
    stdout.lines().map(|line| serde_json::from_str(line).unwrap()).collect()
}

/// The outage: the application down (its port closed) for [`outage`] while 100 events (50
/// payments of Cuan10pay and Cash In, each pending then paid) reach `receivers` receivers on
/// `store`. Every gateway delivery is acknowledged at once; once the application is back it
/// gets each event exactly once, signed, and no payment's pending after its paid.
async fn an_outage_loses_nothing(store: &str, receivers: usize) {
    const PAYMENTS_PER_GATEWAY: usize = 25;
    const EVENTS: usize = 4 * PAYMENTS_PER_GATEWAY;
    let mut app = App::down(Mode::Ok);
    let down_since = Instant::now();
    let schedule = retry_schedule();
    let flags = [
        "--store",
        store,
        "--forward-to",
        &app.url(),
        "--forward-secret",
        FORWARD_SECRET,
        "--forward-retry",
        &schedule,
    ];
    let (tx, mut printed) = mpsc::unbounded_channel();
    let mut serves = Vec::new();
    for _ in 0..receivers {
        serves.push(Serve::start(free_port(), &flags, tx.clone()).await);
    }
    let said = said_soon(&serves[0], "forwarding to").await;
    assert!(said.contains("forwarding to 127.0.0.1 through the"), "{said}");
    assert!(said.contains("retry schedule 1s, 2s, 3s"), "{said}");
    let (sandbox, payments) = sandbox_with_payments(&serves, "OUTAGE", PAYMENTS_PER_GATEWAY).await;
    // Pending, then paid, for every payment; the payments side by side.
    let sent = payments.iter().map(|(gateway, id)| {
        let sandbox = &sandbox;
        async move {
            sandbox.send_webhook(*gateway, id, PaymentState::Pending, DeliveryPlan::new()).await.unwrap();
            sandbox.pay(*gateway, id).await.unwrap();
        }
    });
    futures_util::future::join_all(sent).await;

    // Every event printed, every gateway delivery acknowledged 200 on its first attempt.
    let mut lines = 0;
    while lines < EVENTS {
        next_event(&mut printed, Duration::from_secs(30)).await.expect("every event printed");
        lines += 1;
    }
    let deliveries = sandbox.wait_for_deliveries(EVENTS, Duration::from_secs(30)).await.unwrap();
    let acked_within = down_since.elapsed();
    let refused: Vec<_> =
        deliveries.iter().filter(|d| d.status != Some(200)).map(|d| (&d.reference, d.status, &d.answer)).collect();
    let said: Vec<String> = serves
        .iter()
        .flat_map(|s| s.stderr.lock().unwrap().clone())
        .filter(|line| line.contains("WARN") || line.contains("ERROR"))
        .collect();
    assert_eq!(deliveries.len(), EVENTS, "no gateway delivery was retried: {refused:?}\n{}", said.join("\n"));
    for delivery in &deliveries {
        assert_eq!((delivery.status, delivery.attempt), (Some(200), 1), "{delivery:?}");
    }
    assert!(acked_within < outage(), "the gateways were acknowledged only after {acked_within:?}");
    assert!(app.requests().is_empty(), "the application was down");

    // The application comes back on the same port after the outage.
    tokio::time::sleep(outage().saturating_sub(down_since.elapsed())).await;
    app.up().await;
    let back = Instant::now();
    app.wait_taken(EVENTS, Duration::from_secs(30)).await;
    eprintln!("{store}: {EVENTS} events delivered {:?} after the application came back", back.elapsed());
    // Past the last retry that could still be under way: nothing more comes.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let taken = app.taken();
    let mut per_id: BTreeMap<&str, usize> = BTreeMap::new();
    for received in &taken {
        *per_id.entry(&received.id).or_default() += 1;
        let key = received.event["dedup_key"].as_str().unwrap();
        assert_eq!(received.id, gerbang_signing::standard_webhooks::message_id(key), "{key}");
    }
    assert_eq!(per_id.len(), EVENTS, "{per_id:?}");
    assert!(per_id.values().all(|n| *n == 1), "an event delivered twice: {per_id:?}");
    // Per payment: pending, then paid.
    let mut seen: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for received in &taken {
        let payment = format!("{}:{}", received.event["provider"], received.event["provider_reference"]);
        seen.entry(payment).or_default().push(received.event["status"].as_str().unwrap().to_owned());
    }
    assert_eq!(seen.len(), 2 * PAYMENTS_PER_GATEWAY);
    for (payment, statuses) in &seen {
        assert_eq!(statuses, &["pending", "paid"], "{payment}");
    }
    if store != "memory" {
        let delivered = listed(store, &["--state", "delivered", "--limit", "1000"]).await;
        assert_eq!(delivered.len(), EVENTS);
        assert!(
            delivered.iter().all(|r| r["attempts"].as_u64() >= Some(1) && r.get("body").is_none()),
            "{delivered:?}"
        );
    }
    for mut serve in serves {
        serve.child.kill().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_outage_of_the_application_loses_nothing_on_memory() {
    an_outage_loses_nothing("memory", 1).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_outage_of_the_application_loses_nothing_with_three_receivers_on_redis() {
    let Some(redis) = RedisServer::start() else { return };
    an_outage_loses_nothing(&redis.url(), 3).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_outage_of_the_application_loses_nothing_with_three_receivers_on_postgres() {
    let Some(postgres) = PostgresServer::start() else { return };
    an_outage_loses_nothing(&postgres.url(), 3).await;
}

/// A receiver SIGKILLed while the application holds its delivery open: another receiver on the
/// store delivers the message once the lease ran out, under the same `webhook-id`; one
/// duplicate at most (the killed attempt).
async fn a_killed_deliverers_message_passes_on_after_the_lease(store: &str) {
    let mut app = App::down(Mode::HangFirst);
    app.up().await;
    let flags = [
        "--store",
        store,
        "--forward-to",
        &app.url(),
        "--forward-secret",
        FORWARD_SECRET,
        "--lease",
        "3s",
        "--forward-timeout",
        "2s",
    ];
    let (tx, mut printed) = mpsc::unbounded_channel();
    let port = free_port();
    let mut doomed = Serve::start(port, &flags, tx.clone()).await;
    let sandbox = Sandbox::builder().webhook_url(ProviderId::Cuan10pay, doomed.url("cuan10pay")).start().await.unwrap();
    let id = paid_deposit(&sandbox, "OUTBOX-KILLED").await;
    next_event(&mut printed, Duration::from_secs(20)).await.expect("printed");
    let deadline = Instant::now() + Duration::from_secs(20);
    while app.requests().is_empty() {
        assert!(Instant::now() < deadline, "the doomed receiver never delivered");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    doomed.child.kill().await.unwrap();
    let killed = Instant::now();
    let gateway = sandbox.wait_for_deliveries(1, Duration::from_secs(5)).await.unwrap();
    assert_eq!(gateway[0].status, Some(200), "the gateway was acknowledged before the delivery: {gateway:?}");

    let survivor = Serve::start(free_port(), &flags, tx).await;
    let taken = app.wait_taken(1, Duration::from_secs(20)).await;
    let took = killed.elapsed();
    assert_eq!(taken[0].event["provider_reference"], id.as_str());
    assert!(took < Duration::from_secs(10), "taken over after {took:?}, not about the 3 s lease");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let requests = app.requests();
    assert_eq!(requests.len(), 2, "the killed attempt and the survivor's: {requests:?}");
    assert_eq!(requests[0], requests[1], "the same webhook-id");
    assert_eq!(app.taken().len(), 1);
    let said = said_soon(&survivor, "delivered").await;
    assert!(said.contains("delivered"), "{said}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_deliverers_message_passes_on_after_the_lease_on_redis() {
    let Some(redis) = RedisServer::start() else { return };
    a_killed_deliverers_message_passes_on_after_the_lease(&redis.url()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_deliverers_message_passes_on_after_the_lease_on_postgres() {
    let Some(postgres) = PostgresServer::start() else { return };
    a_killed_deliverers_message_passes_on_after_the_lease(&postgres.url()).await;
}

/// Every attempt fails: the event is `failed`, listed with its attempts and last answer; once
/// the application answers, `events replay ID` delivers it under the same `webhook-id`.
async fn a_dead_letter_is_listed_and_replayed(store: &str) {
    let mut app = App::down(Mode::Fail);
    app.up().await;
    let flags =
        ["--store", store, "--forward-to", &app.url(), "--forward-secret", FORWARD_SECRET, "--forward-retry", "1s"];
    let (tx, mut printed) = mpsc::unbounded_channel();
    let port = free_port();
    let mut serve = Serve::start(port, &flags, tx).await;
    let sandbox = Sandbox::builder().webhook_url(ProviderId::Cuan10pay, serve.url("cuan10pay")).start().await.unwrap();
    let id = paid_deposit(&sandbox, "OUTBOX-DEAD").await;
    next_event(&mut printed, Duration::from_secs(20)).await.expect("printed");

    let deadline = Instant::now() + Duration::from_secs(20);
    let failed = loop {
        let failed = listed(store, &["--state", "failed"]).await;
        if !failed.is_empty() {
            break failed;
        }
        assert!(Instant::now() < deadline, "never failed: {:?}", listed(store, &[]).await);
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    assert_eq!(failed.len(), 1, "{failed:?}");
    let record = &failed[0];
    assert_eq!(record["provider_reference"], id.as_str());
    assert_eq!(record["gateway"], "cuan10pay");
    assert_eq!(record["status"], "paid");
    assert_eq!(record["state"], "failed");
    assert_eq!(record["attempts"], 2, "the first attempt and the one retry: {record}");
    let answer = record["last_answer"].as_str().unwrap();
    assert!(answer.contains("application at 127.0.0.1 answered 500"), "{answer}");
    assert!(record.get("body").is_none() && record["settled_at"].is_string(), "{record}");
    let with_body = listed(store, &["--state", "failed", "--body"]).await;
    let body: Value = serde_json::from_str(with_body[0]["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["provider_reference"], id.as_str());
    assert_eq!(app.requests().len(), 2);
    let message_id = record["id"].as_str().unwrap();
    assert!(app.requests().iter().all(|r| r == message_id));

    app.set(Mode::Ok);
    let (code, stdout, stderr) = events(store, &["replay", message_id]).await;
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(stdout.trim(), r#"{"replayed":1}"#);
    let taken = app.wait_taken(1, Duration::from_secs(10)).await;
    assert_eq!(taken[0].id, message_id, "replayed under the same webhook-id");
    let deadline = Instant::now() + Duration::from_secs(10);
    while listed(store, &["--state", "delivered"]).await.len() != 1 {
        assert!(Instant::now() < deadline, "{:?}", listed(store, &[]).await);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // --since a time after it was received: nothing to replay; an hour ago: the one event.
    let (_, stdout, _) = events(store, &["replay", "--since", "2099-01-01T00:00:00Z"]).await;
    assert_eq!(stdout.trim(), r#"{"replayed":0}"#);
    assert_eq!(listed(store, &["--since", "1h"]).await.len(), 1);
    serve.child.kill().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dead_letter_is_listed_and_replayed_on_redis() {
    let Some(redis) = RedisServer::start() else { return };
    a_dead_letter_is_listed_and_replayed(&redis.url()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dead_letter_is_listed_and_replayed_on_postgres() {
    let Some(postgres) = PostgresServer::start() else { return };
    a_dead_letter_is_listed_and_replayed(&postgres.url()).await;
}

/// A bad state or time is a usage error (exit 2) saying what is expected; a memory store has
/// no outbox to list (exit 1).
#[tokio::test]
async fn events_usage_errors_are_clear() {
    for (args, expected) in [
        (["list", "--state", "lost"].as_slice(), "expected pending, delivered, failed or superseded"),
        (&["list", "--since", "yesterday"], "expected RFC 3339"),
        (&["replay", "--since", "soon"], "expected RFC 3339"),
        (&["replay"], "required"),
    ] {
        let (code, _, stderr) = events("redis://127.0.0.1:9", args).await;
        assert_eq!(code, Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
    let (code, _, stderr) = events("memory", &["list"]).await;
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("a memory outbox lives only inside its `webhook serve` process"), "{stderr}");
}
