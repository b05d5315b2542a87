//! The checks every Cash In call goes through before its handler: `X-CLIENT-ID`, `X-REQUEST-ID`,
//! `X-TIMESTAMP` and the symmetric `X-SIGNATURE` (`PROVIDERS.md` §2, "Decision (symmetric
//! method)"), on the raw bytes received.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::Response;
use bytes::Bytes;
use gerbang_signing::cashin::{string_to_sign, verify};

use super::{CLIENT_ID, SECRET_KEY, TIMESTAMP_TOLERANCE_SECONDS, error};
use crate::state::{Shared, lock};

/// Larger bodies are refused: every documented request is a handful of short fields.
const MAX_BODY_BYTES: usize = 64 * 1024;

/// The document's limit on `X-REQUEST-ID` ("String 36").
const MAX_REQUEST_ID: usize = 36;

/// Credentials, then the request id's uniqueness; the handler gets the bytes that were verified.
pub(super) async fn authenticate(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, MAX_BODY_BYTES).await else {
        return error(StatusCode::BAD_REQUEST, "Request body is too large or could not be read");
    };
    let request_id = match check(&shared, &parts, &body) {
        Ok(request_id) => request_id,
        Err(message) => {
            tracing::info!(reason = message, "refused the credentials");
            return error(StatusCode::UNAUTHORIZED, message);
        }
    };
    // Only a request that is authentic spends its id, so a forged one cannot block a real one.
    if !lock(&super::emulator(&shared).store).remember_request_id(&request_id) {
        return error(StatusCode::CONFLICT, "Duplicate X-REQUEST-ID: it must be unique for each request");
    }
    let mut request = Request::from_parts(parts, Body::from(body));
    request.extensions_mut().insert(RequestId(request_id));
    next.run(request).await
}

/// The `X-REQUEST-ID` of an authenticated request, for the handler.
#[derive(Debug, Clone)]
pub(super) struct RequestId(pub(super) String);

/// The credential checks, in the order a client most likely gets them wrong; the request id on
/// success. The messages say what is wrong, never what was expected.
fn check(shared: &Shared, parts: &Parts, body: &Bytes) -> Result<String, &'static str> {
    let header = |name: &str| parts.headers.get(name).and_then(|value| value.to_str().ok());

    let client_id = header("x-client-id").ok_or("Missing X-CLIENT-ID header")?;
    if !gerbang_signing::ct_eq(client_id.as_bytes(), CLIENT_ID.as_bytes()) {
        return Err("Invalid X-CLIENT-ID");
    }
    let request_id = header("x-request-id").ok_or("Missing X-REQUEST-ID header")?;
    if request_id.trim().is_empty() || request_id.len() > MAX_REQUEST_ID {
        return Err("Invalid X-REQUEST-ID: expected a unique id of at most 36 characters");
    }
    let timestamp = header("x-timestamp").ok_or("Missing X-TIMESTAMP header")?;
    let sent = gerbang_signing::jakarta::parse_timestamp(timestamp)
        .map_err(|_| "Invalid X-TIMESTAMP: expected YYYY-MM-DDTHH:mm:ss+07:00")?;
    // The unmoved clock: the client keeps real time, whatever time travel did to the sandbox's.
    if (sent - shared.wall_now()).whole_seconds().abs() > TIMESTAMP_TOLERANCE_SECONDS {
        return Err("Request timestamp is outside the allowed window; check the server clock");
    }
    let signature = header("x-signature").ok_or("Missing X-SIGNATURE header")?;
    // The relative path is the route after the `/cashin` prefix (stripped by the router):
    // `/payment` or `/payment/status`, as the document names them.
    let message = string_to_sign(body, client_id, request_id, parts.uri.path(), timestamp)
        .map_err(|_| "Invalid request body: it is not JSON")?;
    verify(SECRET_KEY.as_bytes(), &message, super::emulator(shared).settings.hmac, signature)
        .map_err(|_| "Invalid signature")?;
    Ok(request_id.to_owned())
}
