//! The SERVER span of a webhook delivery, after OpenTelemetry's HTTP server conventions: the
//! field names are the attributes' names; `otel.name`, `otel.kind` and `otel.status_code` are the
//! ones `tracing-opentelemetry` turns into the span's name, kind and status.
//!
//! Every value comes from a closed set or from the receiver's own decision: the method (or
//! `_OTHER`), the route's template (never the path a client sent), the gateway's name (or
//! `unknown`), the answer's status, the outcome's name, and the event's dedup key (gateway,
//! gateway's payment id and status, as in the logs). Never a header, a signature or the body.

use std::fmt;

use gerbang_core::ProviderId;
use gerbang_core::http::Method;
use tracing::field::Empty;

use crate::{Delivery, Outcome};

/// The span of one delivery for `gateway` (`None`: no gateway of that name here) that came by
/// `route` (`None` when the receiver was called without a router).
pub(crate) fn delivery_span(
    route: Option<&'static str>,
    gateway: Option<ProviderId>,
    method: &Method,
) -> tracing::Span {
    let method = gerbang_core::transport::otel_method_name(method);
    // The fields are only evaluated when the span is enabled: with no subscriber listening, the
    // name is never written.
    tracing::info_span!(
        "gerbang.webhook",
        otel.name = %SpanName { method, route },
        otel.kind = "server",
        otel.status_code = Empty,
        http.request.method = method,
        http.route = route,
        http.response.status_code = Empty,
        "error.type" = Empty,
        gerbang.gateway = gateway.map_or("unknown", ProviderId::as_str),
        gerbang.outcome = Empty,
        gerbang.dedup_key = Empty,
    )
}

/// The span's name: the method (`HTTP` for one outside the known set) and the route, when
/// there is one.
struct SpanName {
    method: &'static str,
    route: Option<&'static str>,
}

impl fmt::Display for SpanName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let method = if self.method == "_OTHER" { "HTTP" } else { self.method };
        match self.route {
            Some(route) => write!(f, "{method} {route}"),
            None => f.write_str(method),
        }
    }
}

/// Records what the delivery came to: the answer's status, the outcome and the event's key.
/// Nothing is built (the key is written anew from the event) when nobody can see it.
pub(crate) fn record_delivery(span: &tracing::Span, delivery: &Delivery) {
    if !gerbang_core::transport::span_seen(span) {
        return;
    }
    let status = delivery.ack.status;
    // As `i64`: `tracing-opentelemetry` makes an unsigned number a string.
    span.record("http.response.status_code", i64::from(status));
    span.record("gerbang.outcome", delivery.outcome.as_str());
    if let Some(key) = dedup_key(&delivery.outcome) {
        span.record("gerbang.dedup_key", key.as_str());
    }
    // A server's span is an error only when it failed itself (5xx); a 4xx is the client's.
    if status >= 500 {
        span.record("error.type", status.to_string().as_str());
        span.record("otel.status_code", "ERROR");
    }
}

/// The event's dedup key, where the receiver got as far as one (as the logs' `dedup_key`).
fn dedup_key(outcome: &Outcome) -> Option<String> {
    match outcome {
        Outcome::Handled(event) => event.dedup_key().ok(),
        Outcome::Mismatch(mismatch) => mismatch.event.dedup_key().ok(),
        Outcome::Duplicate(key) | Outcome::InFlight(key) | Outcome::HandlerFailed(key, _) => Some(key.key.clone()),
        Outcome::Drained(key) => key.as_ref().map(|key| key.key.clone()),
        _ => None,
    }
}
