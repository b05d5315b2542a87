//! The rate budget's metrics: what is left after each call, and each refusal by priority.
#![allow(clippy::unwrap_used)] // Test code.

use std::num::NonZeroU32;

use gerbang_core::rate::Priority;
use gerbang_cuan10pay::RateBudget;
use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};

/// The value of the series `name{labels}` (labels as `k=v`, in order), if recorded: a counter's
/// increments and a gauge's last value since the previous snapshot (a snapshot resets both).
fn value(snapshotter: &Snapshotter, name: &str, labels: &[&str]) -> Option<f64> {
    snapshotter.snapshot().into_vec().into_iter().find_map(|(key, _, _, value)| {
        let key = key.key();
        let found: Vec<String> = key.labels().map(|l| format!("{}={}", l.key(), l.value())).collect();
        (key.name() == name && found == labels).then(|| match value {
            DebugValue::Counter(n) => n as f64,
            DebugValue::Gauge(v) => v.into_inner(),
            DebugValue::Histogram(values) => values.len() as f64,
        })
    })
}

#[test]
fn the_budget_says_what_is_left_and_counts_each_refusal_by_priority() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let remaining = |s: &Snapshotter| value(s, "gerbang_rate_budget_remaining", &["gateway=cuan10pay"]);
    let waits = |s: &Snapshotter, priority: &str| {
        value(s, "gerbang_rate_budget_waits_total", &["gateway=cuan10pay", &format!("priority={priority}")])
    };
    metrics::with_local_recorder(&recorder, || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            // Five an hour, one of them kept for the merchant's own calls.
            let budget = RateBudget::per_hour(NonZeroU32::new(5).unwrap());
            for left in [4.0, 3.0, 2.0, 1.0] {
                budget.acquire_at(Priority::Background).await.unwrap();
                assert_eq!(remaining(&snapshotter), Some(left));
            }
            assert!(budget.acquire_at(Priority::Background).await.is_err(), "only the reserve is left");
            assert_eq!(waits(&snapshotter, "background"), Some(1.0));
            budget.acquire().await.unwrap();
            assert_eq!(remaining(&snapshotter), Some(0.0));
            assert!(budget.acquire().await.is_err(), "spent");
            assert_eq!(waits(&snapshotter, "normal"), Some(1.0));
            assert_eq!(remaining(&snapshotter), Some(0.0));
        });
    });
}
