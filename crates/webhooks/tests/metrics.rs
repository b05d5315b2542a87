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
