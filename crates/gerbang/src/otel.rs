//! OpenTelemetry traces (feature `otel`): a `tracing` layer that exports the spans of every
//! gateway call, webhook delivery and reconcile check over OTLP/HTTP (protobuf).
//!
//! The library crates make their spans with `tracing` alone, named and attributed after
//! OpenTelemetry's conventions; this layer (from `tracing-opentelemetry`) turns them into
//! OpenTelemetry spans and the SDK's batch processor sends them, from a thread of its own, to the
//! collector the standard variables name:
//!
//! | variable | what it does |
//! |---|---|
//! | `OTEL_EXPORTER_OTLP_ENDPOINT` | the collector's base URL (`http://otel-collector:4318`); spans go to `…/v1/traces` |
//! | `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` | the full URL for spans, in place of the one above |
//! | `OTEL_EXPORTER_OTLP_HEADERS`, `OTEL_EXPORTER_OTLP_TRACES_HEADERS` | headers sent with each export (`authorization=Bearer …`) |
//! | `OTEL_EXPORTER_OTLP_TIMEOUT`, `OTEL_EXPORTER_OTLP_TRACES_TIMEOUT` | how long an export may take (ms, default 10 000) |
//! | `OTEL_SERVICE_NAME` | the service's name (default `gerbang`); `OTEL_RESOURCE_ATTRIBUTES` adds more |
//! | `OTEL_BSP_SCHEDULE_DELAY`, `OTEL_BSP_MAX_QUEUE_SIZE`, … | the batch processor's pace (default: every 5 s) |
//! | `OTEL_TRACES_SAMPLER`, `OTEL_TRACES_SAMPLER_ARG` | which traces are kept (default: all) |
//!
//! With neither endpoint variable set, [`layer_from_env`] gives nothing and nothing is sent.
//!
//! What is exported, and what never is: see the spans' docs in `gerbang_core::transport` (a
//! CLIENT span per attempt of a gateway call), `gerbang_webhooks` (a SERVER span per delivery)
//! and `gerbang_reconcile` (a span per check). Their attributes hold the method, the gateway's
//! host and port, a path *template* (never the path itself, nor a query), statuses and closed
//! sets of words: never a key, a token, a signature, a body or a customer's e-mail or phone. The
//! events logged inside a span go with it, with the same fields as the logs.
//!
//! ```no_run
//! use tracing_subscriber::Layer as _;
//! use tracing_subscriber::layer::SubscriberExt as _;
//! use tracing_subscriber::util::SubscriberInitExt as _;
//!
//! # fn main() -> Result<(), gerbang::Error> {
//! // `None` (nothing exported) unless OTEL_EXPORTER_OTLP_ENDPOINT is set.
//! let otel = gerbang::otel::layer_from_env()?;
//! let (layer, guard) = match otel {
//!     Some((layer, guard)) => (Some(layer.with_filter(gerbang::otel::filter())), Some(guard)),
//!     None => (None, None),
//! };
//! tracing_subscriber::registry().with(tracing_subscriber::fmt::layer()).with(layer).init();
//! // … serve; at the end, dropping `guard` sends the spans still queued.
//! drop(guard);
//! # Ok(()) }
//! ```
//!
//! An application that already exports its own traces needs none of this: its own
//! `tracing-opentelemetry` layer exports gerbang's spans too, as children of its own.

use std::fmt;
use std::time::Duration;

use gerbang_core::Error;
use gerbang_core::http::Uri;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{Protocol, WithExportConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{SdkTracerProvider, Tracer};
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::registry::LookupSpan;

/// The `tracing` layer that exports spans: add it to a `tracing_subscriber::registry()`.
pub type OtelLayer<S> = tracing_opentelemetry::OpenTelemetryLayer<S, Tracer>;

/// The name the spans' service has without `OTEL_SERVICE_NAME`.
pub const DEFAULT_SERVICE_NAME: &str = "gerbang";

/// The variables that name a collector: either one turns the export on.
const ENDPOINT_VARIABLES: [&str; 2] = ["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT"];

/// How long the last export at shutdown may take: bounded, so a collector that is down cannot
/// hold a process that was told to stop.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);

/// The layer exporting to the collector the environment names (see the [module](self)), and
/// the guard that sends the spans still queued when dropped; `None` when neither
/// `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` nor `OTEL_EXPORTER_OTLP_ENDPOINT` is set (or
/// `OTEL_SDK_DISABLED=true`).
///
/// Keep the guard until the end of `main`: spans are sent in batches, and those still waiting
/// are sent when it is dropped.
///
/// # Errors
/// [`Error::Config`] naming the variable when an endpoint is not an `http://` or `https://` URL,
/// or when the exporter cannot start.
pub fn layer_from_env<S>() -> Result<Option<(OtelLayer<S>, OtelGuard)>, Error>
where
    S: tracing::Subscriber + for<'span> LookupSpan<'span>,
{
    if std::env::var("OTEL_SDK_DISABLED").is_ok_and(|v| v.trim().eq_ignore_ascii_case("true")) {
        return Ok(None);
    }
    let mut named = false;
    for variable in ENDPOINT_VARIABLES {
        let Some(value) = std::env::var(variable).ok().filter(|v| !v.trim().is_empty()) else { continue };
        check_endpoint(&value).map_err(|why| Error::config(format!("{variable}: {why}")))?;
        named = true;
    }
    if !named {
        return Ok(None);
    }
    build(None).map(Some)
}

/// The layer exporting to the collector at `endpoint` (its base URL, as in
/// `OTEL_EXPORTER_OTLP_ENDPOINT`: spans go to `{endpoint}/v1/traces`), whatever the
/// environment says of the endpoint; its other settings (headers, timeout, service name, batch
/// pace) still come from the variables.
///
/// # Errors
/// [`Error::Config`] when `endpoint` is not an `http://` or `https://` URL, or the exporter
/// cannot start.
pub fn layer<S>(endpoint: &str) -> Result<(OtelLayer<S>, OtelGuard), Error>
where
    S: tracing::Subscriber + for<'span> LookupSpan<'span>,
{
    check_endpoint(endpoint).map_err(|why| Error::config(format!("the OTLP endpoint: {why}")))?;
    build(Some(format!("{}/v1/traces", endpoint.trim_end_matches('/'))))
}

/// The spans and events worth exporting: gerbang's own (every crate whose target starts with
/// `gerbang`), at `info` and above, whatever the logs' level. Give it to the layer with
/// `tracing_subscriber::Layer::with_filter`, so that a quiet log level does not silence the
/// spans.
pub fn filter() -> Targets {
    Targets::new().with_target("gerbang", LevelFilter::INFO)
}

fn check_endpoint(value: &str) -> Result<(), &'static str> {
    // The value is never repeated: it may carry credentials in its user info.
    let uri: Uri = value.trim().parse().map_err(|_| "not a URL")?;
    match uri.scheme_str() {
        Some("http" | "https") if uri.host().is_some() => Ok(()),
        _ => Err("not an http:// or https:// URL with a host"),
    }
}

fn build<S>(traces_endpoint: Option<String>) -> Result<(OtelLayer<S>, OtelGuard), Error>
where
    S: tracing::Subscriber + for<'span> LookupSpan<'span>,
{
    let mut exporter = opentelemetry_otlp::SpanExporter::builder().with_http().with_protocol(Protocol::HttpBinary);
    if let Some(endpoint) = traces_endpoint {
        exporter = exporter.with_endpoint(endpoint);
    }
    // The exporter's own error may quote the endpoint, and with it any credentials in it.
    let exporter = exporter.build().map_err(|_| {
        Error::config("the OTLP trace exporter could not start: check the OTEL_EXPORTER_OTLP_* variables")
    })?;
    let provider = SdkTracerProvider::builder().with_batch_exporter(exporter).with_resource(resource()).build();
    let tracer = provider.tracer("gerbang");
    let layer = tracing_opentelemetry::layer()
        .with_tracer(tracer)
        // Attributes that say where in the code, not what happened: left out.
        .with_location(false)
        .with_threads(false)
        .with_tracked_inactivity(false);
    Ok((layer, OtelGuard { provider }))
}

/// The service's resource: `OTEL_SERVICE_NAME` and `OTEL_RESOURCE_ATTRIBUTES` as the SDK reads
/// them, with `gerbang` as the name where they give none.
fn resource() -> Resource {
    let from_env = Resource::builder().build();
    let named = from_env
        .get(&opentelemetry::Key::from_static_str("service.name"))
        .is_some_and(|name| !name.as_str().starts_with("unknown_service"));
    let builder =
        Resource::builder().with_attribute(opentelemetry::KeyValue::new("service.version", env!("CARGO_PKG_VERSION")));
    if named { builder.build() } else { builder.with_service_name(DEFAULT_SERVICE_NAME).build() }
}

/// Sends the spans still queued and stops the exporter when dropped (waiting at most 5 s for
/// the collector). Keep it for as long as spans should be exported.
#[must_use = "dropping the guard stops the export"]
pub struct OtelGuard {
    provider: SdkTracerProvider,
}

impl OtelGuard {
    /// Sends every span ended so far, now, and waits for the collector's answer.
    ///
    /// # Errors
    /// [`Error::Transport`] when the spans could not be sent.
    pub fn flush(&self) -> Result<(), Error> {
        // The exporter's error may quote the endpoint, and with it any credentials in it.
        self.provider.force_flush().map_err(|_| Error::Transport {
            message: "the spans could not be exported: is the collector at OTEL_EXPORTER_OTLP_ENDPOINT up?".to_owned(),
        })
    }
}

impl Drop for OtelGuard {
    fn drop(&mut self) {
        // Nothing to tell anyone at this point: the process is ending.
        let _ = self.provider.shutdown_with_timeout(SHUTDOWN_TIMEOUT);
    }
}

impl fmt::Debug for OtelGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OtelGuard").finish_non_exhaustive()
    }
}
