//! The CLIENT span of one attempt of a gateway call, after OpenTelemetry's HTTP client
//! conventions (`docs/http/http-spans.md`: one span per attempt, `http.request.resend_count` on
//! a retry, `error.type` on a failure). The field names are the attributes' names; `otel.name`,
//! `otel.kind` and `otel.status_code` are the ones `tracing-opentelemetry` turns into the span's
//! name, kind and status, so this crate needs no OpenTelemetry dependency.
//!
//! Of the URL only the host and the port are recorded: the path may hold an id and the query a
//! key, so the path is the call's static [template](super::Call::at), or nothing.
//!
//! Numbers are recorded as `i64`: `tracing-opentelemetry` makes an unsigned one a string.

use std::borrow::Cow;
use std::fmt;

use http::Method;
use tracing::field::Empty;

use super::{Call, HttpRequest, HttpResponse};
use crate::Error;

/// Whether anything can see what is recorded on `span`: a subscriber that enabled it, or, where
/// `tracing`'s `log` feature writes spans no subscriber enabled to a `log` logger, that logger
/// at the span's level (INFO, the level of every span gerbang opens).
///
/// A span nobody sees is not free: a future instrumented with it enters and leaves it at each
/// poll, and each of those and each field recorded asks whether `log` wants it. Where this
/// answers `false`, gerbang puts [`tracing::Span::none`] in its place, or instruments nothing.
///
/// ```
/// use gerbang_core::transport::span_seen;
///
/// // No subscriber and no logger here.
/// assert!(!span_seen(&tracing::info_span!("checkout")));
/// ```
pub fn span_seen(span: &tracing::Span) -> bool {
    !span.is_disabled() || log::max_level() >= log::LevelFilter::Info
}

/// The span `make` makes, or [`tracing::Span::none`] where [nothing sees it](span_seen).
///
/// Where nothing could listen at all (no `tracing` dispatcher was ever set, and no `log` logger
/// wants INFO), `make` is not called: a span macro with no dispatcher set makes a disabled span
/// anyway, evaluates and records every field for `log`, and asks `log` again when it is dropped
/// (about 480 instructions of a status call). `has_been_set` is what `tracing`'s own macros ask
/// before doing that; its comment says it may be used to leave trace points out entirely when
/// tracing is not in use (it is hidden from `tracing`'s documentation, as the macros' helpers are).
pub(super) fn if_seen(make: impl FnOnce() -> tracing::Span) -> tracing::Span {
    if !tracing::dispatcher::has_been_set() && log::max_level() < log::LevelFilter::Info {
        return tracing::Span::none();
    }
    let span = make();
    if span_seen(&span) { span } else { tracing::Span::none() }
}

/// The span of attempt number `attempt` (from 1) of `call`, sending `request`, if
/// [anything sees it](span_seen).
pub(super) fn attempt_span(call: Call, request: &HttpRequest, attempt: u32) -> tracing::Span {
    // The fields are only evaluated when the span is made and enabled: with no subscriber
    // listening, the name is never written.
    if_seen(|| {
        let method = otel_method_name(&request.method);
        tracing::info_span!(
            "gerbang.http.attempt",
            otel.name = %SpanName { method, template: call.url_template },
            otel.kind = "client",
            otel.status_code = Empty,
            http.request.method = method,
            server.address = request.url.host_str().unwrap_or_default(),
            server.port = request.url.port_or_known_default().map(i64::from),
            url.template = call.url_template,
            // Only on a retry: the conventions leave it out of a first attempt.
            http.request.resend_count = (attempt > 1).then(|| i64::from(attempt - 1)),
            http.response.status_code = Empty,
            "error.type" = Empty,
            gerbang.gateway = call.provider.as_str(),
            gerbang.operation = call.operation,
        )
    })
}

/// `otel.name`: `"{method} {url.template}"`, or the method alone for a call without a template.
struct SpanName {
    method: &'static str,
    template: Option<&'static str>,
}

impl fmt::Display for SpanName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.template {
            Some(template) => write!(f, "{} {template}", self.method),
            None => f.write_str(self.method),
        }
    }
}

/// Records what the attempt came to: the answer's status, and for a failure (an answer of 400
/// or more, or none) `error.type` and the error status.
pub(super) fn record_attempt(span: &tracing::Span, result: &Result<HttpResponse, Error>) {
    let error_type: Cow<'static, str> = match result {
        Ok(response) => {
            let status = response.status.as_u16();
            span.record("http.response.status_code", i64::from(status));
            if status < 400 {
                return;
            }
            Cow::Owned(status.to_string())
        }
        Err(error) => {
            if let Error::Redirect { status, .. } = error {
                span.record("http.response.status_code", i64::from(*status));
            }
            Cow::Borrowed(failure_kind(error))
        }
    };
    span.record("error.type", error_type.as_ref());
    span.record("otel.status_code", "ERROR");
}

/// The method as OpenTelemetry's HTTP conventions name it in `http.request.method`: one of the
/// nine known ones, else `_OTHER`, so that a span never carries a word someone else chose (a
/// webhook's sender may send any method).
///
/// ```
/// use gerbang_core::transport::otel_method_name;
/// use gerbang_core::http::Method;
///
/// assert_eq!(otel_method_name(&Method::POST), "POST");
/// assert_eq!(otel_method_name(&Method::from_bytes(b"SECRET-TOKEN").unwrap()), "_OTHER");
/// ```
pub fn otel_method_name(method: &Method) -> &'static str {
    const KNOWN: [Method; 9] = [
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::DELETE,
        Method::PATCH,
        Method::HEAD,
        Method::OPTIONS,
        Method::TRACE,
        Method::CONNECT,
    ];
    KNOWN.iter().find(|known| *known == method).map_or("_OTHER", Method::as_str)
}

/// What a failed attempt came to, as a word from a closed set, never the error's text: a trace's
/// `error.type` and the `status` label of the attempt's metric.
pub(crate) fn failure_kind(error: &Error) -> &'static str {
    match error {
        Error::Transport { .. } => "transport",
        Error::Timeout { .. } => "timeout",
        Error::OutcomeUnknown { .. } => "outcome_unknown",
        Error::Redirect { .. } => "redirect",
        // The only error an attempt makes of an answer that came: larger than the limit.
        Error::Decode { .. } => "response_too_large",
        _ => "_OTHER",
    }
}
