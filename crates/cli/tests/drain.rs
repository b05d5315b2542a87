//! `webhook serve` stopped as an orchestrator stops it (issue 20, items 1 and 2): SIGTERM lets the
//! outbox delivery under way finish and exits 0; a delivery still running at the drain's deadline
//! is abandoned, and another receiver on the store delivers it once its lease ran out;
//! `/healthz` and `/readyz` during a drain.
#![allow(clippy::unwrap_used)] // Test code.

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use gerbang::ProviderId;
use gerbang::sandbox::Sandbox;
use gerbang_testkit::RedisServer;
use serde_json::Value;
use tokio::sync::mpsc;

use common::{FORWARD_SECRET, Serve, free_port, next_event, paid_deposit};

/// A signed Cuan10pay webhook, as the sandbox sent it: POSTed again at will, to any receiver.
#[derive(Clone)]
struct Webhook {
    id: String,
    body: String,
    headers: Vec<(String, String)>,
}

impl Webhook {
    /// A paid deposit's webhook (sent by the sandbox to a port nobody listens on, and recorded).
    async fn paid(reference: &str) -> Self {
        let nowhere = format!("http://127.0.0.1:{}/webhooks/cuan10pay", free_port());
        let sandbox = Sandbox::builder()
            .webhook_url(ProviderId::Cuan10pay, nowhere)
            .webhook_retry(1, Duration::from_secs(1))
            .start()
            .await
            .unwrap();
        let id = paid_deposit(&sandbox, reference).await;
        let sent = sandbox.wait_for_deliveries(1, Duration::from_secs(10)).await.unwrap();
        let sent = sent.into_iter().find(|d| d.body.contains(&id)).unwrap();
        Self { id, body: sent.body, headers: sent.headers }
    }

    /// POSTs it to `url`: the status, and how long the answer took.
    async fn post(self, url: String) -> (Option<u16>, Duration) {
        let client = reqwest::Client::new();
        let mut request = client.post(url).body(self.body);
        for (name, value) in &self.headers {
            if name != "content-length" && name != "host" {
                request = request.header(name, value);
            }
        }
        let started = Instant::now();
        let status = request.send().await.ok().map(|answer| answer.status().as_u16());
        (status, started.elapsed())
    }
}

/// The application behind `--forward-to`: answers after `wait` (an hour: it hangs), and counts
/// the events it was handed, by payment id.
struct App {
    url: String,
    seen: Arc<Mutex<HashMap<String, usize>>>,
}

impl App {
    async fn start(wait: Duration) -> Self {
        let seen = Arc::new(Mutex::new(HashMap::new()));
        let counts = Arc::clone(&seen);
        let app = axum::Router::new().route(
            "/events",
            axum::routing::post(move |body: String| {
                let event: Value = serde_json::from_str(&body).unwrap();
                let id = event["provider_reference"].as_str().unwrap().to_owned();
                *counts.lock().unwrap().entry(id).or_insert(0) += 1;
                async move {
                    tokio::time::sleep(wait).await;
                    StatusCode::OK
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/events", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { url, seen }
    }

    fn times_seen(&self, id: &str) -> usize {
        self.seen.lock().unwrap().get(id).copied().unwrap_or(0)
    }

    async fn wait_until_seen(&self, id: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.times_seen(id) == 0 {
            assert!(Instant::now() < deadline, "the application never got {id}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// Sends SIGTERM to the receiver, as Kubernetes, systemd or `docker stop` do.
fn terminate(serve: &Serve) {
    let pid = serve.child.id().unwrap();
    let status = std::process::Command::new("kill").args(["-TERM", &pid.to_string()]).status().unwrap();
    assert!(status.success(), "kill -TERM {pid}");
}

/// Waits for the receiver to exit, up to `within`; its exit code.
async fn exit_code(serve: &mut Serve, within: Duration) -> Option<i32> {
    let status = tokio::time::timeout(within, serve.child.wait()).await.expect("the receiver did not exit").unwrap();
    status.code()
}

async fn get(url: &str) -> (u16, String) {
    let answer = reqwest::get(url).await.unwrap();
    let status = answer.status().as_u16();
    (status, answer.text().await.unwrap())
}

fn refuses_connections(port: u16) -> bool {
    std::net::TcpStream::connect(("127.0.0.1", port)).is_err()
}

#[tokio::test]
async fn sigterm_lets_the_delivery_under_way_finish_then_exits_0() {
    let app = App::start(Duration::from_secs(3)).await;
    let webhook = Webhook::paid("ORDER-DRAIN-1").await;
    let (tx, mut events) = mpsc::unbounded_channel();
    let port = free_port();
    let mut serve = Serve::start(port, &["--forward-to", &app.url, "--forward-secret", FORWARD_SECRET], tx).await;

    // The gateway is acknowledged at once: the event is in the outbox.
    let (status, took) = webhook.clone().post(serve.url("cuan10pay")).await;
    assert_eq!(status, Some(200));
    assert!(took < Duration::from_secs(1), "acknowledged after {took:?}");
    app.wait_until_seen(&webhook.id).await;
    let signalled = Instant::now();
    terminate(&serve);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(refuses_connections(port), "the port must close at once on SIGTERM");

    // The delivery under way (the application takes 3 s) finishes before the process exits.
    assert_eq!(exit_code(&mut serve, Duration::from_secs(10)).await, Some(0), "{:?}", serve.stderr.lock().unwrap());
    let exited = signalled.elapsed();
    assert!(exited >= Duration::from_millis(2500), "exited after {exited:?}, before the delivery's 3 s");
    assert_eq!(app.times_seen(&webhook.id), 1, "the application sees the event once");
    let said = serve.stderr.lock().unwrap().join("\n");
    assert!(said.contains("delivered") && !said.contains("abandoned"), "{said}");
    let (_, event) = next_event(&mut events, Duration::from_secs(2)).await.expect("the event is printed");
    assert_eq!(event["provider_reference"], webhook.id.as_str());
    assert!(next_event(&mut events, Duration::from_millis(200)).await.is_none(), "printed once");
}

#[tokio::test]
async fn a_delivery_still_running_at_the_deadline_is_abandoned_for_another_receiver() {
    let Some(redis) = RedisServer::start() else { return };
    let hanging = App::start(Duration::from_secs(3600)).await;
    let answering = App::start(Duration::ZERO).await;
    let webhook = Webhook::paid("ORDER-DRAIN-2").await;
    let (tx, mut events) = mpsc::unbounded_channel();
    let store = redis.url();
    // A 6 s lease: the POST's own timeout (3 s) outlasts the 1 s drain deadline.
    let common = ["--store", store.as_str(), "--forward-secret", FORWARD_SECRET, "--lease", "6s"];
    let mut first = Serve::start(
        free_port(),
        &[&common[..], &["--forward-to", &hanging.url, "--drain-timeout", "1s"]].concat(),
        tx,
    )
    .await;

    let (status, _) = webhook.clone().post(first.url("cuan10pay")).await;
    assert_eq!(status, Some(200), "in the outbox: acknowledged");
    hanging.wait_until_seen(&webhook.id).await;
    let (port, event) = next_event(&mut events, Duration::from_secs(2)).await.expect("the event is printed");
    assert_eq!((port, event["provider_reference"].as_str()), (first.port, Some(webhook.id.as_str())));
    let signalled = Instant::now();
    terminate(&first);
    assert_eq!(exit_code(&mut first, Duration::from_secs(5)).await, Some(0));
    let stopped_after = signalled.elapsed();
    assert!(stopped_after < Duration::from_secs(3), "the deadline is 1 s, not {stopped_after:?}");
    let said = first.stderr.lock().unwrap().join("\n");
    assert!(said.contains("abandoned"), "{said}");

    // Another receiver on the store delivers it once the abandoned lease ran out (6 s after it
    // was taken), to its own application.
    let (tx, _) = mpsc::unbounded_channel();
    let second = Serve::start(free_port(), &[&common[..], &["--forward-to", &answering.url]].concat(), tx).await;
    let deadline = Instant::now() + Duration::from_secs(15);
    while answering.times_seen(&webhook.id) == 0 {
        let said = second.stderr.lock().unwrap().clone();
        assert!(Instant::now() < deadline, "never delivered by the other receiver: {said:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(hanging.times_seen(&webhook.id), 1);
}

#[tokio::test]
async fn healthz_and_readyz_before_and_during_a_drain() {
    let webhook = Webhook::paid("ORDER-DRAIN-3").await;
    let (tx, mut events) = mpsc::unbounded_channel();
    let port = free_port();
    let mut serve = Serve::start(port, &["--drain-delay", "2s", "--drain-timeout", "4s"], tx).await;
    let base = format!("http://127.0.0.1:{port}");

    assert_eq!(get(&format!("{base}/healthz")).await, (200, r#"{"status":"serving"}"#.to_owned()));
    let (status, body) = get(&format!("{base}/readyz")).await;
    assert_eq!(
        (status, body.as_str()),
        (200, r#"{"status":"ready","not_ready":[],"checks":{"store":"ok","drain":"serving"}}"#)
    );

    terminate(&serve);
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Within --drain-delay the port still answers: alive, not ready, and still handling.
    assert_eq!(get(&format!("{base}/healthz")).await, (200, r#"{"status":"draining"}"#.to_owned()));
    let (status, body) = get(&format!("{base}/readyz")).await;
    assert_eq!(status, 503);
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["not_ready"], serde_json::json!(["drain"]));
    assert_eq!(body["checks"]["drain"], "draining");
    let (status, _) = webhook.clone().post(serve.url("cuan10pay")).await;
    assert_eq!(status, Some(200), "a webhook within the delay is handled");
    assert!(next_event(&mut events, Duration::from_secs(2)).await.is_some());

    tokio::time::sleep(Duration::from_millis(2000)).await;
    assert!(refuses_connections(port), "after --drain-delay the port is closed");
    assert_eq!(exit_code(&mut serve, Duration::from_secs(5)).await, Some(0));
}

#[tokio::test]
async fn sandbox_serve_stops_on_sigterm_with_status_0() {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_gerbang"))
        .args(["sandbox", "serve", "--port", &free_port().to_string()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    // Its JSON on stdout says it serves.
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0_u8; 1];
    tokio::io::AsyncReadExt::read_exact(&mut stdout, &mut first).await.unwrap();
    let pid = child.id().unwrap();
    assert!(std::process::Command::new("kill").args(["-TERM", &pid.to_string()]).status().unwrap().success());
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait()).await.unwrap().unwrap();
    assert_eq!(status.code(), Some(0));
}
