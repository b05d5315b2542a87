//! The checks every `/v1` call goes through before its handler: the rate limit, then the API key,
//! the timestamp and the signature, as the document (`seeds/000_b443c682d4d25840.txt`) describes
//! them: "All API requests must include authentication headers", `signature =
//! HMAC-SHA256(private_key, timestamp + method + path + body)`.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::header::RETRY_AFTER;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use bytes::Bytes;
use gerbang_signing::cuan10pay::verify_request;

use super::{API_KEY, PRIVATE_KEY, TIMESTAMP_TOLERANCE_SECONDS, error};
use crate::state::Shared;

/// Larger bodies are refused: every documented request is a handful of short fields.
const MAX_BODY_BYTES: usize = 64 * 1024;

/// Rate limit, then credentials; the handler then gets the body bytes that were verified.
pub(super) async fn authenticate(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    if let Some(limiter) = &super::emulator(&shared).limiter {
        // Without connection info (the router embedded in a server that does not provide it),
        // every client shares one budget.
        let ip = request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |info| info.0.ip());
        if let Err(retry_after) = limiter.check(ip, shared.now()) {
            let message = format!("Rate limit exceeded: {} requests per hour per IP address", limiter.limit());
            let mut response = error(StatusCode::TOO_MANY_REQUESTS, message);
            response.headers_mut().insert(RETRY_AFTER, HeaderValue::from(retry_after));
            return response;
        }
    }
    let (parts, body) = request.into_parts();
    // The signature covers the raw bytes, so they are read once here, checked, and handed on
    // unchanged: nothing is parsed or re-serialised before the check.
    let Ok(body) = axum::body::to_bytes(body, MAX_BODY_BYTES).await else {
        return error(StatusCode::BAD_REQUEST, "Request body is too large or could not be read");
    };
    if let Err(message) = check(&shared, &parts, &body) {
        tracing::info!(reason = message, "refused the credentials");
        return error(StatusCode::UNAUTHORIZED, message);
    }
    next.run(Request::from_parts(parts, Body::from(body))).await
}

/// The credential checks, in the order a client most likely gets them wrong. The messages say
/// what is wrong, never what was expected.
fn check(shared: &Shared, parts: &Parts, body: &Bytes) -> Result<(), &'static str> {
    let header = |name: &str| parts.headers.get(name).and_then(|value| value.to_str().ok());

    // The signed string runs the path (with its query) straight into the body, with nothing
    // between them: a signed `GET …?ref=CP-1` with an empty body is also `…?ref=CP-` with the
    // body `1`. A GET carries no body (the document's calls have none), so one that does is
    // refused: no character can move across that boundary.
    if parts.method == axum::http::Method::GET && !body.is_empty() {
        return Err("A GET request carries no body");
    }

    let key = header("x-api-key").ok_or("Missing X-API-KEY header")?;
    if !gerbang_signing::ct_eq(key.as_bytes(), API_KEY.as_bytes()) {
        return Err("Invalid API key");
    }

    let text = header("x-timestamp").ok_or("Missing X-TIMESTAMP header")?;
    let timestamp: i64 = text.parse().map_err(|_| "Invalid X-TIMESTAMP: expected a Unix timestamp in seconds")?;
    // The gateway signs the header text; the signing function writes the integer back out, so
    // only the canonical spelling (no sign, no leading zeros) can be checked faithfully.
    if timestamp.to_string() != text {
        return Err("Invalid X-TIMESTAMP: expected a Unix timestamp in seconds");
    }
    // The unmoved clock: the client keeps real time, whatever time travel did to the sandbox's.
    let skew = timestamp.saturating_sub(shared.wall_now().unix_timestamp());
    if skew.abs() > TIMESTAMP_TOLERANCE_SECONDS {
        return Err("Request timestamp is outside the allowed window; check the server clock");
    }

    let signature = header("x-signature").ok_or("Missing X-SIGNATURE header")?;
    // The request target after the `/cuan10pay` prefix (stripped by the router), with the query
    // string exactly as received: PROVIDERS.md §1 Decision, "path" includes the query.
    let path_and_query = parts.uri.path_and_query().map_or_else(|| parts.uri.path(), |pq| pq.as_str());
    verify_request(PRIVATE_KEY.as_bytes(), timestamp, parts.method.as_str(), path_and_query, body, signature)
        .map_err(|_| "Invalid signature")
}
