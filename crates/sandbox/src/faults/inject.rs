//! The layer in front of every gateway's router that serves the faults: it names the operation a
//! request is, takes the fault that matches it, if any, and plays it.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use super::{DEFAULT_FAULT_RETRY_AFTER, Fault, FaultAction, HANG, operations};
use crate::emulated::{self, EmulatedGateway};
use crate::state::Shared;
use axum::body::{Body, Bytes, to_bytes};
use axum::extract::{Request, State};
use axum::http::header::{CONTENT_TYPE, RETRY_AFTER};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use gerbang_server::CutSwitch;

/// The most of a request body the layer reads (to tell Ciputra's operations apart, or before a
/// `hang` or `cut`): axum's own default limit, which the gateways' handlers apply too.
const BODY_LIMIT: usize = 2 * 1024 * 1024;

/// The middleware: requests of a gateway without faults pass untouched, at the cost of one look
/// at the list.
pub(crate) async fn inject(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let Some((gateway, rest)) = gateway_of(&path) else { return next.run(request).await };
    let provider = gateway.provider();
    if !shared.faults.any_for(provider) {
        return next.run(request).await;
    }
    let method = request.method().as_str().to_owned();
    let (request, action) = if operations::needs_action(provider, &method, rest) {
        match read_action(request).await {
            Ok(read) => read,
            Err(refused) => return refused,
        }
    } else {
        (request, None)
    };
    let Some(operation) = operations::of(provider, &method, rest, action.as_deref()) else {
        return next.run(request).await;
    };
    match shared.faults.take(provider, operation) {
        Some(fault) => play(gateway, fault, request, next).await,
        None => next.run(request).await,
    }
}

/// The gateway a path is under, and the path after its prefix.
fn gateway_of(path: &str) -> Option<(&'static dyn EmulatedGateway, &str)> {
    emulated::all().find_map(|gateway| {
        let rest = path.strip_prefix(gateway.prefix())?;
        (rest.is_empty() || rest.starts_with('/')).then_some((gateway, rest))
    })
}

/// Reads a Ciputra transaction's form for its `action`, and puts the body back.
async fn read_action(request: Request) -> Result<(Request, Option<String>), Response> {
    let (parts, body) = request.into_parts();
    let Ok(bytes) = to_bytes(body, BODY_LIMIT).await else {
        return Err((StatusCode::PAYLOAD_TOO_LARGE, "the request body is too large or was cut short").into_response());
    };
    let action =
        serde_urlencoded::from_bytes::<HashMap<String, String>>(&bytes).ok().and_then(|f| f.get("action").cloned());
    Ok((Request::from_parts(parts, Body::from(bytes)), action))
}

async fn play(gateway: &dyn EmulatedGateway, fault: Fault, request: Request, next: Next) -> Response {
    if let Some(ms) = fault.delay_ms {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    match fault.action {
        FaultAction::Delay => next.run(request).await,
        FaultAction::Status => {
            let status =
                fault.status.and_then(|s| StatusCode::from_u16(s).ok()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let message = format!("fault injected by the gerbang sandbox: HTTP {}", status.as_u16());
            answer(status, fault.body.unwrap_or_else(|| error_body(gateway, status, &message)))
        }
        FaultAction::RateLimit => {
            let status = StatusCode::TOO_MANY_REQUESTS;
            let message = "fault injected by the gerbang sandbox: rate limit reached";
            let mut response = answer(status, fault.body.unwrap_or_else(|| error_body(gateway, status, message)));
            let wait = fault.retry_after.unwrap_or(DEFAULT_FAULT_RETRY_AFTER.as_secs());
            response.headers_mut().insert(RETRY_AFTER, HeaderValue::from(wait));
            response
        }
        FaultAction::Hang => {
            drain(request).await;
            tokio::time::sleep(HANG).await;
            let status = StatusCode::GATEWAY_TIMEOUT;
            answer(status, error_body(gateway, status, "fault injected by the gerbang sandbox: the hang ran out"))
        }
        FaultAction::Cut => {
            let switch = request.extensions().get::<CutSwitch>().cloned();
            drain(request).await;
            cut(switch).await
        }
        FaultAction::CutAfter => {
            let switch = request.extensions().get::<CutSwitch>().cloned();
            let handled = next.run(request).await;
            tracing::debug!(status = handled.status().as_u16(), "handled; the answer is cut");
            cut(switch).await
        }
    }
}

/// Reads the request to its end (so that the client has sent it all), up to the limit.
async fn drain(request: Request) {
    let _ = to_bytes(request.into_body(), BODY_LIMIT).await;
}

/// Closes the connection without an answer. Served by the sandbox itself, the connection is
/// dropped and this never returns (it is dropped with it). Mounted in another server, there is
/// no connection to reach: the answer's body fails at once instead, which makes the server
/// abort the connection (the client may have read the status line by then).
async fn cut(switch: Option<CutSwitch>) -> Response {
    if let Some(switch) = switch {
        switch.cut();
        return std::future::pending().await;
    }
    let failing =
        futures_util::stream::once(async { Err::<Bytes, std::io::Error>(std::io::Error::other("cut by a fault")) });
    Response::new(Body::from_stream(failing))
}

/// `body` under `status`, typed JSON when it is JSON.
fn answer(status: StatusCode, body: String) -> Response {
    let json = serde_json::from_str::<serde_json::Value>(&body).is_ok();
    let content_type = if json { "application/json" } else { "text/plain; charset=utf-8" };
    (status, [(CONTENT_TYPE, content_type)], body).into_response()
}

/// `message` in the gateway's own error shape, as its module answers a refusal.
fn error_body(gateway: &dyn EmulatedGateway, status: StatusCode, message: &str) -> String {
    gateway.error_body(status, message).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_told_apart_by_their_gateways_prefix() {
        fn of(path: &str) -> Option<(&'static str, &str)> {
            gateway_of(path).map(|(gateway, rest)| (gateway.prefix(), rest))
        }
        for gateway in emulated::all() {
            let path = format!("{}/v1/any", gateway.prefix());
            assert_eq!(of(&path), Some((gateway.prefix(), "/v1/any")), "{path}");
            assert_eq!(of(gateway.prefix()), Some((gateway.prefix(), "")), "the prefix alone");
            assert_eq!(of(&format!("{}x/v1/any", gateway.prefix())), None, "another prefix that starts the same");
        }
        assert_eq!(of("/_sandbox/faults"), None);
    }
}
