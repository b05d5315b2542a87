//! What the receiver records for a Rust user who installs a recorder: each delivery once, by
//! gateway and outcome (an unknown gateway as `unknown`, never the URL's text), the handler's
//! time, the key that verified, and the drain gauge.
#![allow(clippy::unwrap_used)] // Test code.

use std::collections::BTreeMap;
use std::sync::Arc;

use gerbang_core::PaymentProvider;
use gerbang_core::http::{HeaderMap, Method};
use gerbang_core::inbox::MemoryInbox;
use gerbang_cuan10pay::{Cuan10payClient, Cuan10payConfig, WebhookVerifier};
use gerbang_webhooks::{Receiver, handler_fn};
use metrics_util::debugging::{DebugValue, DebuggingRecorder};

const PRIVATE_KEY: &str = "metrics-test-private-key";

fn now() -> i64 {
    gerbang_core::time::OffsetDateTime::now_utc().unix_timestamp()
}

/// Every series recorded, as `name{label=value,…}` → its value (a histogram: how many values).
fn series(snapshotter: &metrics_util::debugging::Snapshotter) -> BTreeMap<String, f64> {
    let mut series = BTreeMap::new();
    for (key, _, _, value) in snapshotter.snapshot().into_vec() {
        let key = key.key();
        let labels: Vec<String> = key.labels().map(|l| format!("{}={}", l.key(), l.value())).collect();
        let value = match value {
            DebugValue::Counter(n) => n as f64,
            DebugValue::Gauge(v) => v.into_inner(),
            DebugValue::Histogram(values) => values.len() as f64,
        };
        series.insert(format!("{}{{{}}}", key.name(), labels.join(",")), value);
    }
    series
}

#[test]
fn each_delivery_is_counted_once_by_gateway_and_outcome_and_a_drain_sets_the_gauge() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    metrics::with_local_recorder(&recorder, || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let config = Cuan10payConfig::builder("metrics-test-api-key", PRIVATE_KEY).build().unwrap();
            let gateway: Arc<dyn PaymentProvider> = Arc::new(Cuan10payClient::new(config));
            let receiver = Receiver::builder(Arc::new(MemoryInbox::new())).provider(gateway).build(handler_fn(
                |event| async move {
                    match event.provider_reference.as_deref() {
                        Some("CP-FAIL-7") => Err(std::io::Error::other("the order database is down")),
                        _ => Ok(()),
                    }
                },
            ));
            let headers = HeaderMap::new();
            let receive = |gateway: &'static str, method: Method, body: String| {
                let receiver = receiver.clone();
                let headers = headers.clone();
                async move { receiver.receive(gateway, method, "/webhooks/x", &headers, body.as_bytes()).await }
            };
            let signed = |key: &str, id: &str| WebhookVerifier::new(key).signed_body(id, "PAID", 25_000, now());
            assert_eq!(receive("cuan10pay", Method::POST, signed(PRIVATE_KEY, "CP-OK-1")).await.ack.status, 200);
            assert_eq!(receive("cuan10pay", Method::POST, signed(PRIVATE_KEY, "CP-OK-1")).await.ack.status, 200);
            assert_eq!(receive("cuan10pay", Method::POST, signed(PRIVATE_KEY, "CP-FAIL-7")).await.ack.status, 500);
            assert_eq!(receive("cuan10pay", Method::POST, signed("forged", "CP-X-2")).await.ack.status, 401);
            assert_eq!(receive("cuan10pay", Method::GET, String::new()).await.ack.status, 405);
            assert_eq!(receive("CP-OK-1-gateway", Method::POST, String::new()).await.ack.status, 404);
            receiver.drain(tokio::time::Instant::now()).await;
        });
    });

    let series = series(&snapshotter);
    let expected: BTreeMap<String, f64> = [
        ("gerbang_webhook_deliveries_total{gateway=cuan10pay,outcome=handled}", 1.0),
        ("gerbang_webhook_deliveries_total{gateway=cuan10pay,outcome=duplicate}", 1.0),
        ("gerbang_webhook_deliveries_total{gateway=cuan10pay,outcome=handler_failed}", 1.0),
        ("gerbang_webhook_deliveries_total{gateway=cuan10pay,outcome=rejected}", 1.0),
        ("gerbang_webhook_deliveries_total{gateway=cuan10pay,outcome=method_not_allowed}", 1.0),
        ("gerbang_webhook_deliveries_total{gateway=unknown,outcome=unknown_gateway}", 1.0),
        ("gerbang_webhook_verifications_total{gateway=cuan10pay,key=current}", 3.0),
        ("gerbang_webhook_handler_duration_seconds{gateway=cuan10pay}", 2.0),
        ("gerbang_receiver_draining{}", 1.0),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    assert_eq!(series, expected);
}

/// The outbox's metrics: each attempt by result (the last failed one as `failed`: a dead
/// letter), and the messages by state with the oldest pending one's age, as the deliverer's
/// housekeeping counts them.
#[test]
fn the_deliverer_counts_attempts_by_result_and_the_outbox_by_state() {
    use gerbang_core::outbox::{MemoryOutbox, Outbox};
    use gerbang_webhooks::outbox::{Deliverer, Enqueue, HandlerSink, RetrySchedule};

    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    metrics::with_local_recorder(&recorder, || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let config = Cuan10payConfig::builder("metrics-test-api-key", PRIVATE_KEY).build().unwrap();
            let gateway: Arc<dyn PaymentProvider> = Arc::new(Cuan10payClient::new(config));
            let outbox: Arc<dyn Outbox> = Arc::new(MemoryOutbox::new());
            let receiver = Receiver::builder(Arc::new(MemoryInbox::new()))
                .provider(gateway)
                .build(Enqueue::new(Arc::clone(&outbox)));
            for id in ["CP-OK-1", "CP-FAIL-7"] {
                let body = WebhookVerifier::new(PRIVATE_KEY).signed_body(id, "PAID", 25_000, now());
                let delivery = receiver
                    .receive("cuan10pay", Method::POST, "/webhooks/x", &HeaderMap::new(), body.as_bytes())
                    .await;
                assert_eq!(delivery.ack.status, 200);
            }
            // CP-FAIL-7 always fails: retried once, at once, then a dead letter.
            let handler = handler_fn(|event| async move {
                match event.provider_reference.as_deref() {
                    Some("CP-OK-1") => Ok(()),
                    _ => Err(std::io::Error::other("the order database is down")),
                }
            });
            let schedule = RetrySchedule::new(vec![std::time::Duration::ZERO]);
            let deliverer =
                Deliverer::builder(Arc::clone(&outbox), HandlerSink::new(handler)).retry(schedule).build().unwrap();
            assert_eq!(deliverer.deliver_due().await.unwrap().retried, 1);
            assert_eq!(deliverer.deliver_due().await.unwrap().failed, 1);
            deliverer.housekeep().await.unwrap();
        });
    });
    let series = series(&snapshotter);
    let outbox: BTreeMap<&str, f64> =
        series.iter().filter(|(k, _)| k.starts_with("gerbang_outbox")).map(|(k, v)| (k.as_str(), *v)).collect();
    let expected: BTreeMap<&str, f64> = [
        ("gerbang_outbox_deliveries_total{result=delivered}", 1.0),
        ("gerbang_outbox_deliveries_total{result=retry}", 1.0),
        ("gerbang_outbox_deliveries_total{result=failed}", 1.0),
        ("gerbang_outbox_messages{state=delivered}", 1.0),
        ("gerbang_outbox_messages{state=failed}", 1.0),
        ("gerbang_outbox_messages{state=pending}", 0.0),
        ("gerbang_outbox_messages{state=superseded}", 0.0),
        ("gerbang_outbox_oldest_pending_age_seconds{}", 0.0),
    ]
    .into_iter()
    .collect();
    assert_eq!(outbox, expected);
}
