//! Prometheus metrics (feature `metrics`): every metric gerbang records, exported in Prometheus'
//! text format.
//!
//! gerbang's crates record through the [`metrics`](https://docs.rs/metrics) facade whatever the
//! features: nothing is kept until a recorder is installed. [`install`] installs a Prometheus
//! recorder for the whole process (with the histogram buckets of [`ALL`]) and returns its
//! handle; render it where Prometheus scrapes, with [`router`] (`GET /metrics`, feature `axum`
//! too) or [`PrometheusHandle::render`] in a route of your own. No HTTP listener or push gateway
//! of the exporter's own is compiled in.
//!
//! The metric names, types, labels and buckets are in [`ALL`] (re-exported from
//! [`gerbang_core::metrics`]): label values come from closed sets only (gateway names,
//! operation names, HTTP status codes, outcome names), never an id, a reference or a URL.
//!
//! ```no_run
//! # #[cfg(all(feature = "axum", feature = "webhooks"))]
//! # fn app(receiver: gerbang::webhooks::Receiver) -> Result<axum::Router, gerbang::Error> {
//! // Once, at start, before the first call is made.
//! let metrics = gerbang::metrics::install()?;
//! let app = gerbang::webhooks::router(receiver).merge(gerbang::metrics::router(metrics));
//! // Serve `app` with `gerbang::server::serve`, as the receiver alone.
//! # Ok(app)
//! # }
//! ```
//!
//! Without axum, render the handle in a route of your own, answering with [`CONTENT_TYPE`]:
//!
//! ```
//! let metrics = gerbang::metrics::install()?;
//! let text: String = metrics.render();
//! # let _ = text;
//! # Ok::<(), gerbang::Error>(())
//! ```
//!
//! With a recorder of another kind installed (OpenTelemetry's, StatsD…), gerbang records into
//! that one: call [`describe`] after installing it for the help texts.

use std::time::Duration;

pub use gerbang_core::metrics::*;
/// The handle of the installed Prometheus recorder: [`render`](PrometheusHandle::render) it for
/// a scrape.
pub use metrics_exporter_prometheus::PrometheusHandle;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};

use crate::Error;

/// The content type of the Prometheus text format that [`PrometheusHandle::render`] writes.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// How often the recorder's histograms are drained between scrapes, so that they stay small
/// when nobody scrapes.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

/// Installs the Prometheus recorder for the whole process, with gerbang's histogram buckets
/// ([`GATEWAY_DURATION_BUCKETS`] up to 120 s, [`HANDLER_DURATION_BUCKETS`]) and every metric's
/// help text, and starts a thread that keeps its histograms drained. Call it once, at start.
///
/// # Errors
///
/// [`Error::Config`] when a recorder is installed already (a second call, or another crate's).
pub fn install() -> Result<PrometheusHandle, Error> {
    let mut builder = PrometheusBuilder::new();
    for metric in ALL {
        if let Some(buckets) = metric.buckets() {
            builder = builder
                .set_buckets_for_metric(Matcher::Full(metric.name.to_owned()), buckets)
                .map_err(|e| Error::config(format!("the buckets of {}: {e}", metric.name)))?;
        }
    }
    let handle = builder.install_recorder().map_err(|e| {
        Error::config(format!("cannot install the Prometheus metrics recorder: {e}; install it once, at start"))
    })?;
    describe();
    let upkept = handle.clone();
    // Without it a histogram's observations pile up until the next scrape; with no tokio
    // runtime assumed, a thread of its own.
    let spawned = std::thread::Builder::new().name("gerbang-metrics-upkeep".to_owned()).spawn(move || {
        loop {
            std::thread::sleep(UPKEEP_EVERY);
            upkept.run_upkeep();
        }
    });
    // Without the thread (none could be had), histograms are drained at each scrape only.
    drop(spawned);
    Ok(handle)
}

/// `GET /metrics`: the recorder's metrics in Prometheus' text format ([`CONTENT_TYPE`]). Merge
/// it into the application's router, or serve it on a port of its own.
#[cfg(feature = "axum")]
pub fn router(handle: PrometheusHandle) -> axum::Router {
    axum::Router::new().route("/metrics", axum::routing::get(scrape)).with_state(handle)
}

/// The answer to a scrape: the rendered metrics, as [`CONTENT_TYPE`]. For a route of your own.
#[cfg(feature = "axum")]
pub fn response(handle: &PrometheusHandle) -> axum::response::Response {
    use axum::response::IntoResponse;
    ([(axum::http::header::CONTENT_TYPE, CONTENT_TYPE)], handle.render()).into_response()
}

#[cfg(feature = "axum")]
async fn scrape(axum::extract::State(handle): axum::extract::State<PrometheusHandle>) -> axum::response::Response {
    response(&handle)
}
