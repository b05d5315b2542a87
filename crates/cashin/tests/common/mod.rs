//! Helpers shared by the integration tests.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use gerbang_cashin::{CashinClient, CashinConfig, CashinConfigBuilder};
use gerbang_core::{FixedClock, HttpClient, RetryPolicy};
use hmac::{Hmac, KeyInit, Mac};
use httpmock::MockServer;
use sha2::{Digest, Sha256, Sha512};

/// A recognisable client id.
pub const CLIENT_ID: &str = "CID1234567890";
/// A recognisable secret key: the secrets test looks for it in every log line and message.
pub const SECRET_KEY: &str = "test-secret-key-SK4r8Zq";
/// 2024-11-04T10:00:00+07:00, the `X-TIMESTAMP` of the document's examples, and the timestamp
/// of the notification fixtures.
pub const NOW: i64 = 1_730_689_200;
/// [`NOW`] as the client writes `X-TIMESTAMP`.
pub const NOW_TEXT: &str = "2024-11-04T10:00:00+07:00";

/// A fixture's text.
pub fn fixture(name: &str) -> String {
    String::from_utf8(fixture_bytes(name)).expect("fixture is UTF-8")
}

/// A fixture's bytes.
pub fn fixture_bytes(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
}

pub fn clock() -> Arc<FixedClock> {
    Arc::new(FixedClock::at_unix(NOW))
}

/// The config builder every mock test starts from: the test credentials, Cash In's test public
/// key, a clock stopped at [`NOW`], no retries.
pub fn builder(base_url: &str) -> CashinConfigBuilder {
    CashinConfig::builder(CLIENT_ID, SECRET_KEY)
        .base_url(base_url)
        .public_key_pem(fixture("webhook/cashin_public_spki.pem"))
        .clock(clock())
        .http_client(HttpClient::builder().retry(RetryPolicy::none()).build().expect("http client"))
}

/// A client talking to `server` under `/pg/fo` (as the real base URL has a path).
pub fn client(server: &MockServer) -> CashinClient {
    client_at(&server.url("/pg/fo"))
}

/// A client whose base URL is `base_url` (a mock gateway's, or one where nothing listens).
pub fn client_at(base_url: &str) -> CashinClient {
    CashinClient::new(builder(base_url).build().expect("config"))
}

/// The `X-SIGNATURE` a request should carry, computed here with `sha2`, `hmac` and `base64`
/// rather than with the code under test: base64(HMAC(secret,
/// base64(SHA-256(body)):clientId:requestId:path:timestamp)). `body` is already compact, so it is
/// its own minified form.
pub fn signature(body: &[u8], request_id: &str, path: &str, timestamp: &str, sha512: bool) -> String {
    let digest = STANDARD.encode(Sha256::digest(body));
    let message = format!("{digest}:{CLIENT_ID}:{request_id}:{path}:{timestamp}");
    if sha512 {
        let mut mac = Hmac::<Sha512>::new_from_slice(SECRET_KEY.as_bytes()).unwrap();
        mac.update(message.as_bytes());
        STANDARD.encode(mac.finalize().into_bytes())
    } else {
        let mut mac = Hmac::<Sha256>::new_from_slice(SECRET_KEY.as_bytes()).unwrap();
        mac.update(message.as_bytes());
        STANDARD.encode(mac.finalize().into_bytes())
    }
}

/// Whether a request received by the mock carries a correct signature over its own body and
/// request id, and a request id that is a UUID v4.
pub fn signed_correctly(request: &httpmock::HttpMockRequest, path: &str, sha512: bool) -> bool {
    let headers = request.headers();
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let request_id = header("x-request-id");
    let is_uuid_v4 =
        request_id.len() == 36 && request_id.as_bytes()[14] == b'4' && request_id.matches('-').count() == 4;
    is_uuid_v4
        && header("x-signature") == signature(request.body_ref(), &request_id, path, &header("x-timestamp"), sha512)
}
