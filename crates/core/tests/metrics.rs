//! The metrics the transport and the helpers of `gerbang_core::metrics` record, read back from a
//! recorder: one request per attempt, one retry per retry, a status per what became of an
//! attempt, and label values that never carry an id, a reference or a URL.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::time::Duration;

use gerbang_core::metrics::{self, ALL, Kind};
use gerbang_core::transport::{Call, HttpRequest};
use gerbang_core::{Error, HttpClient, KeyUsed, ProviderId, RetryPolicy};
use http::Method;
use httpmock::prelude::*;
use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use proptest::prelude::*;

const STATUS: Call = Call::safe(ProviderId::Cuan10pay, "deposit_status");
const CREATE: Call = Call::once(ProviderId::Cuan10pay, "deposit_create");

/// One series as recorded: its name, its labels, and its value (a counter's count, a gauge's
/// value, or a histogram's number of observations).
#[derive(Debug, Clone, PartialEq)]
struct Series {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// Runs `work` on a runtime of its own thread with a recorder of its own (tests run in parallel:
/// a global recorder would mix their counts); every series it recorded.
fn recorded<F: Future<Output = ()>>(work: impl FnOnce() -> F) -> Vec<Series> {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    metrics::describe();
    ::metrics::with_local_recorder(&recorder, || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(work());
    });
    snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .map(|(key, _, _, value)| {
            let key = key.key();
            let labels = key.labels().map(|l| (l.key().to_owned(), l.value().to_owned())).collect();
            let value = match value {
                DebugValue::Counter(n) => n as f64,
                DebugValue::Gauge(v) => v.into_inner(),
                DebugValue::Histogram(values) => values.len() as f64,
            };
            Series { name: key.name().to_owned(), labels, value }
        })
        .collect()
}

/// The value of the series named `name` with exactly `labels`, 0 if there is none.
fn value(series: &[Series], name: &str, labels: &[(&str, &str)]) -> f64 {
    let labels: BTreeMap<String, String> = labels.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    series.iter().filter(|s| s.name == name && s.labels == labels).map(|s| s.value).sum()
}

fn quick_client() -> HttpClient {
    HttpClient::builder()
        .timeout(Duration::from_millis(300))
        .retry(
            RetryPolicy::default()
                .max_retries(2)
                .initial_backoff(Duration::from_millis(5))
                .max_backoff(Duration::from_millis(10)),
        )
        .build()
        .unwrap()
}

fn get(url: String) -> impl FnMut() -> Result<HttpRequest, Error> {
    move || Ok(HttpRequest::new(Method::GET, url.parse().unwrap()))
}

#[test]
fn each_attempt_is_one_request_and_each_retry_one_retry() {
    let series = recorded(|| async {
        let server = MockServer::start_async().await;
        server
            .mock_async(|when, then| {
                when.path("/busy");
                then.status(503);
            })
            .await;
        server
            .mock_async(|when, then| {
                when.path("/ok");
                then.status(200).body("{}");
            })
            .await;
        let client = quick_client();
        // A look-up answered 503 three times: the first attempt and two retries.
        let answer = client.send(STATUS, get(server.url("/busy"))).await.unwrap();
        assert_eq!(answer.status, 503);
        // A create is sent once, whatever it is answered.
        client.send(CREATE, get(server.url("/busy"))).await.unwrap();
        client.send(STATUS, get(server.url("/ok"))).await.unwrap();
    });
    let requests = "gerbang_gateway_requests_total";
    let status = [("gateway", "cuan10pay"), ("operation", "deposit_status")];
    assert_eq!(value(&series, requests, &[status[0], status[1], ("status", "503")]), 3.0, "{series:#?}");
    assert_eq!(value(&series, requests, &[status[0], status[1], ("status", "200")]), 1.0, "{series:#?}");
    let create = [("gateway", "cuan10pay"), ("operation", "deposit_create")];
    assert_eq!(value(&series, requests, &[create[0], create[1], ("status", "503")]), 1.0, "{series:#?}");
    assert_eq!(value(&series, "gerbang_gateway_retries_total", &status), 2.0, "{series:#?}");
    assert_eq!(value(&series, "gerbang_gateway_retries_total", &create), 0.0, "{series:#?}");
    let durations = "gerbang_gateway_request_duration_seconds";
    assert_eq!(value(&series, durations, &status), 4.0, "one duration per attempt: {series:#?}");
    assert_eq!(value(&series, durations, &create), 1.0, "{series:#?}");
}

#[test]
fn an_attempt_without_an_answer_is_counted_by_what_became_of_it() {
    let series = recorded(|| async {
        let server = MockServer::start_async().await;
        server
            .mock_async(|when, then| {
                when.path("/slow");
                then.status(200).delay(Duration::from_secs(2));
            })
            .await;
        server
            .mock_async(|when, then| {
                when.path("/moved");
                then.status(302).header("location", "https://elsewhere.example/x?key=secret");
            })
            .await;
        let client = quick_client();
        let timed_out = client.send(STATUS, get(server.url("/slow"))).await.unwrap_err();
        assert!(matches!(timed_out, Error::Timeout { .. }), "{timed_out:?}");
        let lost = client.send(CREATE, get(server.url("/slow"))).await.unwrap_err();
        assert!(matches!(lost, Error::OutcomeUnknown { .. }), "{lost:?}");
        let moved = client.send(CREATE, get(server.url("/moved"))).await.unwrap_err();
        assert!(matches!(moved, Error::Redirect { .. }), "{moved:?}");
        // Nobody listens on port 9 of loopback: the connection is refused.
        let refused = client.send(CREATE, get("http://127.0.0.1:9/x".to_owned())).await.unwrap_err();
        assert!(matches!(refused, Error::Transport { .. }), "{refused:?}");
    });
    let requests = "gerbang_gateway_requests_total";
    let status = |operation, status| [("gateway", "cuan10pay"), ("operation", operation), ("status", status)];
    assert_eq!(value(&series, requests, &status("deposit_status", "timeout")), 3.0, "{series:#?}");
    assert_eq!(value(&series, requests, &status("deposit_create", "outcome_unknown")), 1.0, "{series:#?}");
    assert_eq!(value(&series, requests, &status("deposit_create", "redirect")), 1.0, "{series:#?}");
    assert_eq!(value(&series, requests, &status("deposit_create", "transport")), 1.0, "{series:#?}");
    let retries = [("gateway", "cuan10pay"), ("operation", "deposit_status")];
    assert_eq!(value(&series, "gerbang_gateway_retries_total", &retries), 2.0, "{series:#?}");
}

#[test]
fn the_helpers_record_under_their_names_and_closed_labels() {
    let series = recorded(|| async {
        metrics::webhook_delivery(Some(ProviderId::CashIn), "handled");
        metrics::webhook_delivery(None, "unknown_gateway");
        KeyUsed::Previous.log_verified(ProviderId::Cuan10pay);
        KeyUsed::Current.log_verified(ProviderId::Cuan10pay);
        KeyUsed::Current.log_verified(ProviderId::Cuan10pay);
        metrics::webhook_handled_in(ProviderId::CashIn, Duration::from_millis(12));
        metrics::store_error("redis", "claim");
        metrics::reconcile_pass(3, Some(Duration::from_secs(90)));
        metrics::reconcile_check(ProviderId::Qris, "unchanged");
        metrics::rate_budget_remaining(ProviderId::Cuan10pay, 42);
        metrics::rate_budget_wait(ProviderId::Cuan10pay, gerbang_core::rate::Priority::Background);
        metrics::token_refresh(ProviderId::Ciputra, false);
        metrics::receiver_draining(true);
        metrics::route_attempt(ProviderId::Cuan10pay, "never_reached");
    });
    let check = |name: &str, labels: &[(&str, &str)], expected: f64| {
        assert_eq!(value(&series, name, labels), expected, "{name} {labels:?}: {series:#?}");
    };
    check("gerbang_webhook_deliveries_total", &[("gateway", "cashin"), ("outcome", "handled")], 1.0);
    check("gerbang_webhook_deliveries_total", &[("gateway", "unknown"), ("outcome", "unknown_gateway")], 1.0);
    check("gerbang_webhook_verifications_total", &[("gateway", "cuan10pay"), ("key", "previous")], 1.0);
    check("gerbang_webhook_verifications_total", &[("gateway", "cuan10pay"), ("key", "current")], 2.0);
    check("gerbang_webhook_handler_duration_seconds", &[("gateway", "cashin")], 1.0);
    check("gerbang_store_errors_total", &[("store", "redis"), ("operation", "claim")], 1.0);
    check("gerbang_reconcile_due", &[], 3.0);
    check("gerbang_reconcile_oldest_pending_age_seconds", &[], 90.0);
    check("gerbang_reconcile_checks_total", &[("gateway", "qris"), ("result", "unchanged")], 1.0);
    check("gerbang_rate_budget_remaining", &[("gateway", "cuan10pay")], 42.0);
    check("gerbang_rate_budget_waits_total", &[("gateway", "cuan10pay"), ("priority", "background")], 1.0);
    check("gerbang_token_refreshes_total", &[("gateway", "ciputra"), ("result", "failed")], 1.0);
    check("gerbang_receiver_draining", &[], 1.0);
    check("gerbang_route_attempts_total", &[("gateway", "cuan10pay"), ("outcome", "never_reached")], 1.0);
    // Every series is one of the list, with exactly its labels.
    for s in &series {
        let metric = ALL.iter().find(|m| m.name == s.name).unwrap_or_else(|| panic!("{} is not in ALL", s.name));
        let names: Vec<&str> = s.labels.keys().map(String::as_str).collect();
        let mut expected = metric.labels.to_vec();
        expected.sort_unstable();
        assert_eq!(names, expected, "{}", s.name);
    }
}

#[test]
fn each_webhook_series_has_its_gateway_and_outcome_whether_its_key_was_made_ahead_or_not() {
    // The receiver's outcomes, whose keys are made once, and one it might say later (made per
    // record): each is counted under its own labels, for every gateway and for `unknown`.
    let outcomes = [
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
        "a_later_outcome",
    ];
    let gateways = ProviderId::ALL.map(Some).into_iter().chain([None]);
    let series = recorded(|| async {
        for gateway in gateways.clone() {
            for outcome in outcomes {
                metrics::webhook_delivery(gateway, outcome);
            }
        }
        for gateway in ProviderId::ALL {
            KeyUsed::Current.log_verified(gateway);
            KeyUsed::Previous.log_verified(gateway);
            metrics::webhook_handled_in(gateway, Duration::from_millis(3));
        }
    });
    for gateway in gateways {
        let label = gateway.map_or("unknown", ProviderId::as_str);
        for outcome in outcomes {
            let labels = [("gateway", label), ("outcome", outcome)];
            assert_eq!(value(&series, "gerbang_webhook_deliveries_total", &labels), 1.0, "{labels:?}: {series:#?}");
        }
    }
    for gateway in ProviderId::ALL.map(ProviderId::as_str) {
        for key in ["current", "previous"] {
            let labels = [("gateway", gateway), ("key", key)];
            assert_eq!(value(&series, "gerbang_webhook_verifications_total", &labels), 1.0, "{labels:?}");
        }
        assert_eq!(value(&series, "gerbang_webhook_handler_duration_seconds", &[("gateway", gateway)]), 1.0);
    }
    let deliveries = series.iter().filter(|s| s.name == "gerbang_webhook_deliveries_total").count();
    assert_eq!(deliveries, (ProviderId::ALL.len() + 1) * outcomes.len(), "one series per gateway and outcome");
}

#[test]
fn the_list_names_each_metric_once_as_prometheus_expects() {
    let mut seen = std::collections::HashSet::new();
    for metric in ALL {
        assert!(seen.insert(metric.name), "{} is listed twice", metric.name);
        assert!(metric.name.starts_with("gerbang_"), "{}", metric.name);
        assert!(metric.name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'), "{}", metric.name);
        match metric.kind {
            Kind::Counter => assert!(metric.name.ends_with("_total"), "{}", metric.name),
            Kind::Histogram => {
                assert!(metric.name.ends_with("_seconds"), "{}", metric.name);
                let buckets = metric.buckets().unwrap_or_else(|| panic!("{} has no buckets", metric.name));
                assert!(buckets.windows(2).all(|w| w[0] < w[1]), "{} buckets must rise", metric.name);
            }
            _ => assert!(!metric.name.ends_with("_total"), "{}", metric.name),
        }
        for label in metric.labels {
            assert!(
                ["gateway", "outcome", "key", "operation", "status", "store", "result", "priority", "state"]
                    .contains(label),
                "{}: label {label} is not one of the documented label names",
                metric.name
            );
        }
        assert!(!metric.help.is_empty() && !metric.help.contains('|'), "{}: help text for a table cell", metric.name);
    }
    // Gateways may take 90 s to answer: the buckets must reach past it.
    assert!(metrics::GATEWAY_DURATION_BUCKETS.iter().any(|b| *b > 90.0));
    let table = metrics::markdown_table();
    assert_eq!(table.lines().count(), ALL.len() + 2, "{table}");
}

/// The label values a gateway call can be recorded with.
fn is_closed_value(name: &str, value: &str) -> bool {
    match name {
        "gateway" => ProviderId::ALL.iter().any(|p| p.as_str() == value),
        "operation" => ["deposit_status", "deposit_create"].contains(&value),
        "status" => {
            (value.len() == 3 && value.bytes().all(|b| b.is_ascii_digit()))
                || ["timeout", "transport", "outcome_unknown", "redirect", "response_too_large", "_OTHER"]
                    .contains(&value)
        }
        _ => false,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Calls whose URL carries a payment's id, a reference and a key, in the path and the query,
    /// answered with any status: every label value of every series is from a closed set, and none
    /// holds any of them.
    #[test]
    fn no_label_value_carries_an_id_a_reference_or_a_key(
        id in "[A-Z]{2}-[0-9]{8}-[A-Z0-9]{6}",
        reference in "[a-z]{3,8}-[0-9]{1,6}",
        key in "[A-Za-z0-9]{12}",
        status in prop::sample::select(vec![200_u16, 201, 400, 401, 404, 429, 500, 502, 503]),
    ) {
        let path = format!("/v1/deposits/{id}/{reference}");
        let series = recorded(|| {
            let (path, id, key) = (path.clone(), id.clone(), key.clone());
            async move {
                let server = MockServer::start_async().await;
                server.mock_async(|when, then| {
                    when.path(path.as_str());
                    then.status(status).body(format!("{{\"id\":\"{id}\"}}"));
                })
                .await;
                let url = format!("{}?api_key={key}&ref={id}", server.url(&path));
                let client = quick_client();
                let _ = client.send(STATUS, get(url.clone())).await;
                let _ = client.send(CREATE, get(url)).await;
            }
        });
        prop_assert!(!series.is_empty());
        for s in &series {
            for (name, value) in &s.labels {
                prop_assert!(is_closed_value(name, value), "{}: {name}={value}", s.name);
                for secret in [&id, &reference, &key] {
                    prop_assert!(!value.contains(secret.as_str()), "{}: {name}={value}", s.name);
                }
            }
        }
    }
}
