//! `webhook serve --forward-to` (issue 19, item 1; through the outbox since issue 21): a redirect
//! from the application is a failure, never followed; a hung application fails after
//! `--forward-timeout`; in both cases the gateway was acknowledged at once all the same (the
//! event is in the outbox), and the deliverer's retry delivers it once the application answers
//! 200. What is said about a failure names the application's host, never its URL.
#![allow(clippy::unwrap_used)] // Test code.

mod common;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use gerbang::ProviderId;
use gerbang::sandbox::{Delivery, Sandbox, SandboxHandle, cuan10pay};
use serde_json::Value;
use tokio::sync::mpsc;

use common::{FORWARD_SECRET, Serve, free_port, next_event, paid_deposit};

/// How the application answers the next forwarded event.
#[derive(Debug, Clone, Copy)]
enum Mode {
    Ok,
    Redirect(u16),
    Hang,
    SlowOk(Duration),
}

/// The application behind `--forward-to`, and a trap where its redirects point.
struct App {
    mode: Arc<Mutex<Mode>>,
    /// The `provider_reference` of every event it was handed, in order.
    seen: Arc<Mutex<Vec<String>>>,
    /// Requests that reached the redirects' target.
    trapped: Arc<AtomicUsize>,
    /// `--forward-to`, with a token in its query and user info that must never be printed.
    url: String,
}

async fn listen() -> (tokio::net::TcpListener, SocketAddr) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    (listener, addr)
}

impl App {
    async fn start() -> Self {
        let trapped = Arc::new(AtomicUsize::new(0));
        let count = Arc::clone(&trapped);
        let trap = axum::Router::new().fallback(move || {
            count.fetch_add(1, Ordering::SeqCst);
            async { "login page" }
        });
        let (trap_listener, trap_addr) = listen().await;
        tokio::spawn(async move { axum::serve(trap_listener, trap).await });

        let mode = Arc::new(Mutex::new(Mode::Ok));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (app_mode, app_seen) = (Arc::clone(&mode), Arc::clone(&seen));
        let location = format!("http://{trap_addr}/login");
        let app = axum::Router::new().route(
            "/events",
            axum::routing::post(move |body: String| {
                let event: Value = serde_json::from_str(&body).unwrap();
                app_seen.lock().unwrap().push(event["provider_reference"].as_str().unwrap().to_owned());
                let mode = *app_mode.lock().unwrap();
                let location = location.clone();
                async move { answer(mode, &location).await }
            }),
        );
        let (app_listener, app_addr) = listen().await;
        tokio::spawn(async move { axum::serve(app_listener, app).await });
        let url = format!("http://hook:SECRET-PASS@{app_addr}/events?token=SECRET-TOKEN");
        Self { mode, seen, trapped, url }
    }

    fn set(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
    }

    fn times_seen(&self, id: &str) -> usize {
        self.seen.lock().unwrap().iter().filter(|seen| *seen == id).count()
    }
}

async fn answer(mode: Mode, location: &str) -> Response {
    match mode {
        Mode::Ok => StatusCode::OK.into_response(),
        Mode::Redirect(status) => {
            let mut response = StatusCode::from_u16(status).unwrap().into_response();
            response.headers_mut().insert(header::LOCATION, HeaderValue::from_str(location).unwrap());
            response
        }
        Mode::Hang => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            StatusCode::OK.into_response()
        }
        Mode::SlowOk(wait) => {
            tokio::time::sleep(wait).await;
            StatusCode::OK.into_response()
        }
    }
}

/// A sandbox retrying Cuan10pay webhooks every second, and a receiver forwarding to `app`.
async fn receiver(app: &App, extra: &[&str]) -> (SandboxHandle, Serve, mpsc::UnboundedReceiver<(u16, Value)>) {
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}/webhooks/cuan10pay");
    let sandbox = Sandbox::builder()
        .webhook_url(ProviderId::Cuan10pay, url)
        .webhook_retry(5, Duration::from_secs(1))
        .start()
        .await
        .unwrap();
    let (tx, events) = mpsc::unbounded_channel();
    // The deliverer retries 2 s apart: time for the test to change the application's answer.
    let mut flags =
        vec!["--forward-to", app.url.as_str(), "--forward-secret", FORWARD_SECRET, "--forward-retry", "2s,2s,2s,2s"];
    flags.extend_from_slice(extra);
    let serve = Serve::start(port, &flags, tx).await;
    (sandbox, serve, events)
}

/// The delivery attempts of payment `id`'s webhook, once there are at least `count`.
async fn attempts(sandbox: &SandboxHandle, id: &str, count: usize) -> Vec<Delivery> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let attempts: Vec<Delivery> = sandbox.deliveries().into_iter().filter(|d| d.body.contains(id)).collect();
        if attempts.len() >= count {
            return attempts;
        }
        assert!(Instant::now() < deadline, "{} attempts for {id}, not {count}: {attempts:?}", attempts.len());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until the application was handed payment `id`'s event `count` times.
async fn handed(app: &App, id: &str, count: usize) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while app.times_seen(id) < count {
        assert!(Instant::now() < deadline, "{id} handed {} times, not {count}", app.times_seen(id));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits for the event line of payment `id` on the receiver's stdout.
async fn printed(events: &mut mpsc::UnboundedReceiver<(u16, Value)>, id: &str) -> Value {
    loop {
        let (_, event) = next_event(events, Duration::from_secs(20)).await.expect("the event's line");
        if event["provider_reference"] == id {
            return event;
        }
    }
}

fn said(serve: &Serve) -> String {
    serve.stderr.lock().unwrap().join("\n")
}

#[tokio::test]
async fn a_redirect_from_the_application_is_a_failure_and_is_never_followed() {
    let app = App::start().await;
    let (sandbox, mut serve, mut events) = receiver(&app, &[]).await;
    for status in [301, 302, 303, 307, 308] {
        app.set(Mode::Redirect(status));
        let id = paid_deposit(&sandbox, &format!("REDIRECT-{status}")).await;
        // In the outbox: printed, and the gateway acknowledged, whatever the application says.
        assert_eq!(printed(&mut events, &id).await["status"], "paid");
        let first = attempts(&sandbox, &id, 1).await;
        assert_eq!(first[0].status, Some(200), "{status}: the gateway was not acknowledged: {first:?}");
        handed(&app, &id, 1).await;
        assert_eq!(app.trapped.load(Ordering::SeqCst), 0, "{status}: the redirect was followed");

        // The application is back: the deliverer's retry delivers it.
        app.set(Mode::Ok);
        handed(&app, &id, 2).await;
        tokio::time::sleep(Duration::from_millis(2500)).await;
        assert_eq!(app.times_seen(&id), 2, "{status}: refused once, accepted on the retry");
        assert_eq!(attempts(&sandbox, &id, 1).await.len(), 1, "{status}: the gateway sent it once");

        let stderr = said(&serve);
        assert!(stderr.contains(&format!("answered {status} ")), "{status}: {stderr}");
        assert!(stderr.contains("application at 127.0.0.1 "), "{stderr}");
    }
    assert_eq!(app.trapped.load(Ordering::SeqCst), 0);
    let stderr = said(&serve);
    assert!(!stderr.contains("SECRET") && !stderr.contains("/events"), "the URL was printed: {stderr}");
    serve.child.kill().await.unwrap();
}

#[tokio::test]
async fn a_hung_application_fails_after_the_forward_timeout_and_the_retry_is_handled() {
    let app = App::start().await;
    let (sandbox, mut serve, mut events) = receiver(&app, &["--forward-timeout", "1s"]).await;
    app.set(Mode::Hang);
    let id = paid_deposit(&sandbox, "HANG-1").await;
    assert_eq!(printed(&mut events, &id).await["status"], "paid");
    let first = attempts(&sandbox, &id, 1).await;
    assert_eq!(first[0].status, Some(200), "the gateway was not acknowledged at once: {first:?}");
    handed(&app, &id, 1).await;
    let started = Instant::now();
    let timed_out = "application at 127.0.0.1 did not answer within 1s";
    while !said(&serve).contains(timed_out) {
        assert!(started.elapsed() < Duration::from_secs(4), "no timeout said: {}", said(&serve));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(800), "failed before the timeout: {took:?}");

    app.set(Mode::Ok);
    handed(&app, &id, 2).await;
    assert_eq!(attempts(&sandbox, &id, 1).await.len(), 1, "the gateway sent it once");
    let stderr = said(&serve);
    assert!(!stderr.contains("SECRET"), "{stderr}");
    serve.child.kill().await.unwrap();
}

#[tokio::test]
async fn a_slow_answer_within_the_forward_timeout_is_a_success() {
    let app = App::start().await;
    let (sandbox, mut serve, mut events) = receiver(&app, &["--forward-timeout", "2s"]).await;
    app.set(Mode::SlowOk(Duration::from_secs(1)));
    let id = paid_deposit(&sandbox, "SLOW-1").await;
    assert_eq!(printed(&mut events, &id).await["status"], "paid");
    let first = attempts(&sandbox, &id, 1).await;
    assert_eq!(first[0].status, Some(200), "{first:?}");
    handed(&app, &id, 1).await;
    // The slow answer was a success: not sent again after the 2 s retry wait.
    tokio::time::sleep(Duration::from_millis(3500)).await;
    assert_eq!(app.times_seen(&id), 1);
    assert!(said(&serve).contains("delivered"), "{}", said(&serve));
    serve.child.kill().await.unwrap();
}

#[tokio::test]
async fn a_forward_timeout_not_below_the_lease_is_refused_at_start() {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_gerbang"))
        .args(["webhook", "serve", "--port", "0", "--forward-to", "http://127.0.0.1:9/events?token=SECRET"])
        .args(["--forward-timeout", "30s", "--lease", "30s"])
        .env("GERBANG_CUAN10PAY_API_KEY", cuan10pay::API_KEY)
        .env("GERBANG_CUAN10PAY_PRIVATE_KEY", cuan10pay::PRIVATE_KEY)
        .env("GERBANG_FORWARD_SECRET", FORWARD_SECRET)
        .env_remove("GERBANG_STORE_URL")
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--forward-timeout (30s) must be shorter than --lease (30s)"), "{stderr}");
    assert!(!stderr.contains("SECRET"), "{stderr}");
}
