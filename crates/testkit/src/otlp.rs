//! An OTLP/HTTP collector inside a test (feature `otlp`): `POST /v1/traces` with the protobuf
//! body the SDK's exporter sends, each span kept with its attributes (as JSON values), its
//! events' attributes and its resource's, so that a test can assert on what would reach an
//! operator's tracing backend.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::post;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use prost::Message;
use serde_json::Value;

/// The span kinds, as OTLP numbers them.
pub mod kind {
    /// `SPAN_KIND_INTERNAL`.
    pub const INTERNAL: i32 = 1;
    /// `SPAN_KIND_SERVER`.
    pub const SERVER: i32 = 2;
    /// `SPAN_KIND_CLIENT`.
    pub const CLIENT: i32 = 3;
}

/// `STATUS_CODE_ERROR`, as OTLP numbers it.
pub const STATUS_ERROR: i32 = 2;

/// One span as the collector received it.
#[derive(Debug, Clone)]
pub struct ExportedSpan {
    /// Its name.
    pub name: String,
    /// Its kind (see [`kind`]).
    pub kind: i32,
    /// Its trace's id, hex.
    pub trace_id: String,
    /// Its id, hex.
    pub span_id: String,
    /// Its parent's id, hex; empty for a root.
    pub parent_span_id: String,
    /// Its status code (0 unset, 1 ok, 2 error).
    pub status_code: i32,
    /// Its attributes.
    pub attributes: BTreeMap<String, Value>,
    /// Its events: name and attributes.
    pub events: Vec<(String, BTreeMap<String, Value>)>,
    /// Its resource's attributes (`service.name`, …).
    pub resource: BTreeMap<String, Value>,
}

impl ExportedSpan {
    /// The attribute `key`, or `Value::Null`.
    pub fn attr(&self, key: &str) -> &Value {
        self.attributes.get(key).unwrap_or(&Value::Null)
    }

    /// Every text the span carries: its name, its attributes' keys and values, its events'
    /// names, keys and values, and its resource's, for a search for what must not be there.
    pub fn texts(&self) -> Vec<String> {
        let mut texts = vec![self.name.clone()];
        let mut add = |map: &BTreeMap<String, Value>| {
            for (key, value) in map {
                texts.push(key.clone());
                texts.push(match value {
                    Value::String(text) => text.clone(),
                    other => other.to_string(),
                });
            }
        };
        add(&self.attributes);
        add(&self.resource);
        for (_, attributes) in &self.events {
            add(attributes);
        }
        texts.extend(self.events.iter().map(|(name, _)| name.clone()));
        texts
    }
}

/// A collector on a free loopback port. Dropping it stops it.
#[derive(Debug)]
pub struct Collector {
    endpoint: String,
    spans: Arc<Mutex<Vec<ExportedSpan>>>,
    server: tokio::task::JoinHandle<()>,
}

impl Collector {
    /// Starts one.
    ///
    /// # Panics
    /// When no loopback port can be had.
    pub async fn start() -> Self {
        #[allow(clippy::expect_used)]
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a free loopback port");
        #[allow(clippy::expect_used)]
        let addr = listener.local_addr().expect("the collector's address");
        let spans = Arc::new(Mutex::new(Vec::new()));
        let app = axum::Router::new().route("/v1/traces", post(export)).with_state(Arc::clone(&spans));
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { endpoint: format!("http://{addr}"), spans, server }
    }

    /// Its base URL, for `OTEL_EXPORTER_OTLP_ENDPOINT`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Every span received so far.
    pub fn spans(&self) -> Vec<ExportedSpan> {
        self.spans.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Waits until `done` holds for the spans received, up to `within`; the spans then.
    pub async fn wait_for(&self, within: Duration, done: impl Fn(&[ExportedSpan]) -> bool) -> Vec<ExportedSpan> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let spans = self.spans();
            if done(&spans) || tokio::time::Instant::now() >= deadline {
                return spans;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn export(State(spans): State<Arc<Mutex<Vec<ExportedSpan>>>>, body: Bytes) -> impl IntoResponse {
    let Ok(request) = ExportTraceServiceRequest::decode(body) else {
        return (StatusCode::BAD_REQUEST, [(header::CONTENT_TYPE, "text/plain")], Vec::new());
    };
    let mut received = Vec::new();
    for resource_spans in request.resource_spans {
        let resource = resource_spans.resource.map(|r| attributes(&r.attributes)).unwrap_or_default();
        for scope in resource_spans.scope_spans {
            for span in scope.spans {
                received.push(ExportedSpan {
                    name: span.name,
                    kind: span.kind,
                    trace_id: hex(&span.trace_id),
                    span_id: hex(&span.span_id),
                    parent_span_id: hex(&span.parent_span_id),
                    status_code: span.status.map_or(0, |s| s.code),
                    attributes: attributes(&span.attributes),
                    events: span.events.iter().map(|e| (e.name.clone(), attributes(&e.attributes))).collect(),
                    resource: resource.clone(),
                });
            }
        }
    }
    spans.lock().unwrap_or_else(PoisonError::into_inner).extend(received);
    // An empty ExportTraceServiceResponse: everything accepted.
    (StatusCode::OK, [(header::CONTENT_TYPE, "application/x-protobuf")], Vec::new())
}

fn attributes(pairs: &[KeyValue]) -> BTreeMap<String, Value> {
    pairs.iter().map(|kv| (kv.key.clone(), kv.value.as_ref().map_or(Value::Null, json))).collect()
}

fn json(value: &AnyValue) -> Value {
    match &value.value {
        Some(any_value::Value::StringValue(s)) => Value::from(s.as_str()),
        Some(any_value::Value::BoolValue(b)) => Value::from(*b),
        Some(any_value::Value::IntValue(i)) => Value::from(*i),
        Some(any_value::Value::DoubleValue(d)) => Value::from(*d),
        Some(any_value::Value::ArrayValue(a)) => Value::Array(a.values.iter().map(json).collect()),
        Some(any_value::Value::KvlistValue(l)) => Value::Object(attributes(&l.values).into_iter().collect()),
        Some(any_value::Value::BytesValue(b)) => Value::from(hex(b)),
        _ => Value::Null,
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
