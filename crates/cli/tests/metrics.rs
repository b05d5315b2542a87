//! `GET /metrics` of `gerbang webhook serve`, scraped by a real Prometheus (issue 20, item 4): a
//! private Prometheus (Debian's `prometheus`, skipped when missing, failing under `CI=true`)
//! scrapes a receiver on a private Redis that gets deliveries of many outcomes (handled, under the
//! current and the previous key, duplicate, mismatch, rejected, not verifiable now, an unknown
//! gateway, a GET, and the store stopped), forwards them through the outbox (delivered, and
//! retried when the application fails), makes gateway calls (the
//! reconciler's status check at the sandbox, Ciputra's token at a gateway answering 500); the
//! series are read back through Prometheus' HTTP API and their counts checked exactly, and no
//! label value is an id, a reference or a key.
#![allow(clippy::unwrap_used)] // Test code.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use gerbang::cuan10pay::WebhookVerifier;
use gerbang::ledger::{Ledger, WatchState, WatchedPayment};
use gerbang::redis::RedisLedger;
use gerbang::sandbox::{Sandbox, cuan10pay};
use gerbang::{Money, ProviderId};
use gerbang_testkit::{PrometheusServer, RedisServer};
use serde_json::Value;
use tokio::sync::{Notify, mpsc};

use common::{FORWARD_SECRET, Serve, deposit, free_port};

/// The key the receiver knows as `GERBANG_CUAN10PAY_PRIVATE_KEY_PREVIOUS`.
const OLD_KEY: &str = "old-cuan10pay-key-Qm4T";
/// How long Prometheus has to show the expected series: its first scrape comes 5 to 6 s after
/// its start (it hands targets to its scraper at most every 5 s), then one every second.
const SCRAPED_WITHIN: Duration = Duration::from_secs(20);

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// A request to the receiver on `port`; its status.
async fn send(port: u16, method: reqwest::Method, gateway: &str, body: String) -> u16 {
    let mut request = reqwest::Client::new()
        .request(method, format!("http://127.0.0.1:{port}/webhooks/{gateway}"))
        .timeout(Duration::from_secs(15))
        .body(body);
    if gateway == "ciputra" {
        request = request.header("content-type", "application/x-www-form-urlencoded");
    }
    request.send().await.unwrap().status().as_u16()
}

async fn post(port: u16, gateway: &str, body: String) -> u16 {
    send(port, reqwest::Method::POST, gateway, body).await
}

/// A Cuan10pay webhook for `id`, paid 25 000, signed with `key`.
fn signed(key: &str, id: &str) -> String {
    WebhookVerifier::new(key).signed_body(id, "PAID", 25_000, now())
}

/// An HTTP server on loopback answering with `answer` (given the request's body); its address.
async fn serve_with<F, Fut>(answer: F) -> String
where
    F: Fn(String) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = StatusCode> + Send + 'static,
{
    let app = axum::Router::new().fallback(move |body: String| {
        let answer = answer.clone();
        async move { answer(body).await }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

/// The application behind `--forward-to`: fails `MET-FAIL`, takes 1.5 s over `MET-SLOW` (and
/// tells `slow` when it begins). Since the outbox, neither reaches the gateway's answer.
async fn application(slow: Arc<Notify>) -> String {
    serve_with(move |body: String| {
        let slow = Arc::clone(&slow);
        async move {
            if body.contains("MET-FAIL") {
                return StatusCode::INTERNAL_SERVER_ERROR;
            }
            if body.contains("MET-SLOW") {
                slow.notify_one();
                tokio::time::sleep(Duration::from_millis(1500)).await;
            }
            StatusCode::OK
        }
    })
    .await
}

/// The series of `promql` as `label value → value`, keyed by the labels named in `by`.
fn by_labels(result: &[Value], by: &[&str]) -> BTreeMap<String, f64> {
    result
        .iter()
        .map(|series| {
            let key = by.iter().map(|l| series["metric"][l].as_str().unwrap_or("-")).collect::<Vec<_>>().join("/");
            (key, series["value"][1].as_str().unwrap().parse::<f64>().unwrap())
        })
        .collect()
}

fn expected(pairs: &[(&str, f64)]) -> BTreeMap<String, f64> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
}

/// Whether `value` may be the value of label `name`: every label's values form a closed set.
fn is_closed(name: &str, value: &str) -> bool {
    let words = |set: &[&str]| set.contains(&value);
    match name {
        "gateway" => ProviderId::ALL.iter().any(|p| p.as_str() == value) || value == "unknown",
        "outcome" => words(&[
            "handled",
            "duplicate",
            "in_flight",
            "rejected",
            "verify_unavailable",
            "handler_failed",
            "mismatch",
            "store_failed",
            "drained",
            "unknown_gateway",
            "method_not_allowed",
        ]),
        "key" => words(&["current", "previous"]),
        "status" => {
            (value.len() == 3 && value.bytes().all(|b| b.is_ascii_digit()))
                || words(&["timeout", "transport", "outcome_unknown", "redirect", "response_too_large", "_OTHER"])
        }
        "operation" => value.bytes().all(|b| b.is_ascii_lowercase() || b == b'_' || b == b'/'),
        "store" => words(&["redis", "postgres", "memory"]),
        "result" => words(&[
            "ok",
            "failed",
            "changed",
            "unchanged",
            "not_created",
            "unresolvable",
            "gave_up",
            "deferred",
            "waiting",
            "no_gateway",
            "delivered",
            "retry",
            "lease_lost",
        ]),
        "priority" => words(&["normal", "background"]),
        "state" => words(&["pending", "delivered", "failed", "superseded"]),
        // Prometheus' own: the target, the job, a histogram's bucket.
        "instance" | "job" | "le" | "__name__" => true,
        _ => false,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn prometheus_scrapes_every_delivery_outcome_and_gateway_call() {
    let Some(mut redis) = RedisServer::start() else { return };
    let store = redis.url();
    let slow_begun = Arc::new(Notify::new());
    let forward_to = application(Arc::clone(&slow_begun)).await;
    let ciputra = serve_with(|_| async { StatusCode::INTERNAL_SERVER_ERROR }).await;
    let sandbox = Sandbox::builder().cuan10pay_rate_limit(None).start().await.unwrap();
    let port = free_port();
    let variables: Vec<(String, String)> = [
        ("GERBANG_CUAN10PAY_BASE_URL", sandbox.base_url(ProviderId::Cuan10pay)),
        ("GERBANG_CUAN10PAY_PRIVATE_KEY_PREVIOUS", OLD_KEY.to_owned()),
        ("GERBANG_CIPUTRA_API_KEY", "met-ciputra-key".to_owned()),
        ("GERBANG_CIPUTRA_API_SECRET", "met-ciputra-secret".to_owned()),
        ("GERBANG_CIPUTRA_BASE_URL", ciputra),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let flags = [
        ["--store", &store, "--forward-to", &forward_to, "--forward-secret", FORWARD_SECRET].as_slice(),
        &["--forward-retry", "1s,1s,1s,1s,1s,1s,1s,1s,1s,1s"],
        &["--in-flight-wait", "0s", "--reconcile-every", "1s"],
    ]
    .concat();
    let (events, _seen) = mpsc::unbounded_channel();
    let serve = Serve::start_with(port, &flags, &variables, events).await;
    // First: its first scrape takes 5 s or so, while the deliveries go.
    let Some(prometheus) = PrometheusServer::start(&[format!("127.0.0.1:{port}")]) else { return };

    // The endpoint itself: Prometheus' text format.
    let answer = reqwest::get(format!("http://127.0.0.1:{port}/metrics")).await.unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.headers()["content-type"], "text/plain; version=0.0.4; charset=utf-8");

    // A payment the reconciler checks at the sandbox: a gateway call of the receiver's own.
    let watched_id = deposit(&sandbox, "MET-WATCH").await;
    let ledger = RedisLedger::connect(&store).await.unwrap();
    let now_at = time::OffsetDateTime::now_utc();
    let mut watched =
        WatchedPayment::new(ProviderId::Cuan10pay, "MET-WATCH", Money::idr(25_000), WatchState::Pending, now_at);
    watched.provider_reference = Some(watched_id.clone());
    ledger.record(&watched).await.unwrap();

    let key = cuan10pay::PRIVATE_KEY;
    assert_eq!(post(port, "cuan10pay", signed(key, "MET-OK")).await, 200, "handled");
    assert_eq!(post(port, "cuan10pay", signed(key, "MET-OK")).await, 200, "duplicate");
    assert_eq!(post(port, "cuan10pay", signed(OLD_KEY, "MET-OLD")).await, 200, "handled, previous key");
    // The application's failure and slowness stay in the outbox: the gateway is acknowledged.
    assert_eq!(post(port, "cuan10pay", signed(key, "MET-FAIL")).await, 200, "handled, its delivery failing");
    assert_eq!(post(port, "cuan10pay", signed(key, "MET-SLOW")).await, 200, "handled, its delivery slow");
    tokio::time::timeout(Duration::from_secs(10), slow_begun.notified()).await.unwrap();
    assert_eq!(post(port, "cuan10pay", signed(key, "MET-SLOW")).await, 200, "duplicate");
    // The ledger was told 99 000; the webhook says 25 000. Sent at once: the reconciler's first
    // check of it would come a second after it was recorded.
    let mut record =
        WatchedPayment::new(ProviderId::Cuan10pay, "MET-ORDER", Money::idr(99_000), WatchState::Pending, now_at);
    record.provider_reference = Some("MET-MISMATCH".to_owned());
    ledger.record(&record).await.unwrap();
    assert_eq!(post(port, "cuan10pay", signed(key, "MET-MISMATCH")).await, 200, "mismatch");
    assert_eq!(post(port, "cuan10pay", signed("forged-key-Wx81", "MET-FORGED")).await, 401, "rejected");
    assert_eq!(post(port, "MET-NOSUCH", signed(key, "MET-NOSUCH")).await, 404, "unknown gateway");
    assert_eq!(send(port, reqwest::Method::GET, "cuan10pay", String::new()).await, 405, "not a POST");
    // Ciputra's callback is confirmed by a status call, whose token the gateway refuses (500).
    assert_eq!(post(port, "ciputra", "external_id=MET-CIPUTRA&status=paid".to_owned()).await, 503, "unverifiable");

    // The reconciler's check reaches Prometheus before the store goes away.
    let checks = "gerbang_reconcile_checks_total";
    let by_result = |r: &[Value]| by_labels(r, &["gateway", "result"]);
    let found = prometheus.query_until(checks, SCRAPED_WITHIN, |r| by_result(r).contains_key("cuan10pay/unchanged"));
    assert!(by_result(&found).contains_key("cuan10pay/unchanged"), "{found:#?}\n{}", prometheus.targets());
    redis.stop();
    assert_eq!(post(port, "cuan10pay", signed(key, "MET-STORE")).await, 503, "store failed");

    let deliveries = expected(&[
        ("cuan10pay/handled", 4.0),
        ("cuan10pay/duplicate", 2.0),
        ("cuan10pay/mismatch", 1.0),
        ("cuan10pay/rejected", 1.0),
        ("cuan10pay/method_not_allowed", 1.0),
        ("cuan10pay/store_failed", 1.0),
        ("ciputra/verify_unavailable", 1.0),
        ("unknown/unknown_gateway", 1.0),
    ]);
    let by_outcome = |r: &[Value]| by_labels(r, &["gateway", "outcome"]);
    let found =
        prometheus.query_until("gerbang_webhook_deliveries_total", SCRAPED_WITHIN, |r| by_outcome(r) == deliveries);
    assert_eq!(by_outcome(&found), deliveries, "{found:#?}");

    let verified = prometheus.query("gerbang_webhook_verifications_total").unwrap();
    let by_key = by_labels(&verified, &["gateway", "key"]);
    assert_eq!(by_key, expected(&[("cuan10pay/current", 7.0), ("cuan10pay/previous", 1.0)]), "{verified:#?}");

    let handled = prometheus.query("gerbang_webhook_handler_duration_seconds_count").unwrap();
    let calls = by_labels(&handled, &["gateway"]);
    // Every handler call only enqueues: each below the 1 s bucket, the slow application's included.
    let fast = prometheus.query(r#"gerbang_webhook_handler_duration_seconds_bucket{le="1"}"#).unwrap();
    assert_eq!(by_labels(&fast, &["gateway"]), calls, "{fast:#?}");

    // The outbox: delivered (MET-OK, MET-OLD, MET-SLOW), and retried (MET-FAIL, every 1 s).
    let outbox = prometheus.query_until("gerbang_outbox_deliveries_total", SCRAPED_WITHIN, |r| {
        let results = by_labels(r, &["result"]);
        results.contains_key("delivered") && results.contains_key("retry")
    });
    let results = by_labels(&outbox, &["result"]);
    assert!(results.get("delivered").is_some_and(|n| *n >= 3.0), "{outbox:#?}");
    assert!(results.get("retry").is_some_and(|n| *n >= 1.0), "{outbox:#?}");

    // Gateway calls: the reconciler's status check (200) and Ciputra's token (500), each timed,
    // with buckets up to 120 s.
    let calls = prometheus.query("sum by (gateway, status) (gerbang_gateway_requests_total)").unwrap();
    let calls = by_labels(&calls, &["gateway", "status"]);
    assert!(calls.get("cuan10pay/200").is_some_and(|n| *n >= 1.0), "{calls:?}");
    assert!(calls.get("ciputra/500").is_some_and(|n| *n >= 1.0), "{calls:?}");
    let timed = prometheus.query("sum by (gateway) (gerbang_gateway_request_duration_seconds_count)").unwrap();
    assert_eq!(by_labels(&timed, &["gateway"]).len(), 2, "{timed:?}");
    let slowest = prometheus.query(r#"gerbang_gateway_request_duration_seconds_bucket{le="120"}"#).unwrap();
    assert!(!slowest.is_empty(), "the duration buckets reach 120 s");
    let tokens = prometheus.query("gerbang_token_refreshes_total").unwrap();
    assert!(by_labels(&tokens, &["gateway", "result"]).get("ciputra/failed").is_some_and(|n| *n >= 1.0), "{tokens:?}");
    let budget = prometheus.query(r#"gerbang_rate_budget_remaining{gateway="cuan10pay"}"#).unwrap();
    let left = by_labels(&budget, &["gateway"]);
    assert!(left.get("cuan10pay").is_some_and(|n| (0.0..100.0).contains(n)), "one call spent of 100: {budget:?}");
    let due = prometheus.query("gerbang_reconcile_due").unwrap();
    assert_eq!(due.len(), 1, "{due:?}");
    let store_errors = prometheus.query_until("gerbang_store_errors_total", SCRAPED_WITHIN, |r| !r.is_empty());
    assert!(by_labels(&store_errors, &["store"]).contains_key("redis"), "{store_errors:?}");
    let draining = prometheus.query("gerbang_receiver_draining").unwrap();
    assert_eq!(by_labels(&draining, &[]).values().copied().collect::<Vec<_>>(), [0.0], "{draining:?}");

    // No label value of any series is anything but a closed set's word: no id, reference, key.
    let all = prometheus.query(r#"{__name__=~"gerbang_.+"}"#).unwrap();
    assert!(all.len() > 20, "{all:#?}");
    let secrets = [&watched_id, "MET-", key, OLD_KEY, "forged-key", "met-ciputra", FORWARD_SECRET];
    for series in &all {
        for (name, value) in series["metric"].as_object().unwrap() {
            let value = value.as_str().unwrap();
            assert!(is_closed(name, value), "{name}={value} in {series}");
            for secret in secrets {
                assert!(!value.contains(secret), "{name}={value} in {series}");
            }
        }
    }
    drop(serve);
}
