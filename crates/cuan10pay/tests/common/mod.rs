//! Helpers shared by the integration tests.
#![allow(dead_code, unreachable_pub)]

use std::sync::Arc;

use gerbang_core::{FixedClock, HttpClient, RetryPolicy};
use gerbang_cuan10pay::{Cuan10payClient, Cuan10payConfig, Cuan10payConfigBuilder};
use hmac::{Hmac, KeyInit, Mac};
use httpmock::MockServer;
use sha2::Sha256;

/// A recognisable API key: the secrets test looks for it in every log line and message.
pub const API_KEY: &str = "test-api-key-AK9f3xQ";
/// A recognisable private key; the webhook fixtures are signed with it.
pub const PRIVATE_KEY: &str = "test-private-key-PK7q1";
/// 2025-09-28 17:02:30 +07:00: the `created_at` of the document's example, and the webhook
/// fixtures' `timestamp`.
pub const NOW: i64 = 1_759_053_750;

/// A fixture's text.
pub fn fixture(name: &str) -> String {
    String::from_utf8(fixture_bytes(name)).expect("fixture is UTF-8")
}

/// A fixture's bytes.
pub fn fixture_bytes(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
}

/// The config builder every mock test starts from: the test keys, a clock stopped at [`NOW`],
/// no retries, no client-side budget.
pub fn builder(base_url: &str) -> Cuan10payConfigBuilder {
    Cuan10payConfig::builder(API_KEY, PRIVATE_KEY)
        .base_url(base_url)
        .clock(Arc::new(FixedClock::at_unix(NOW)))
        .http_client(HttpClient::builder().retry(RetryPolicy::none()).build().expect("http client"))
        .without_rate_budget()
}

/// A client talking to `server` under `/api` (as the real base URL has a path).
pub fn client(server: &MockServer) -> Cuan10payClient {
    client_at(&server.url("/api"))
}

/// A client whose base URL is `base_url` (a mock gateway's, or one where nothing listens).
pub fn client_at(base_url: &str) -> Cuan10payClient {
    Cuan10payClient::new(builder(base_url).build().expect("config"))
}

/// The `X-SIGNATURE` a request should carry, computed here with `hmac` and `sha2` rather than
/// with the code under test: hex HMAC-SHA256(private key, timestamp + METHOD + path + body).
pub fn signature(timestamp: i64, method: &str, path_and_query: &str, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(PRIVATE_KEY.as_bytes()).expect("any key length");
    mac.update(format!("{timestamp}{method}{path_and_query}{body}").as_bytes());
    hex::encode(mac.finalize().into_bytes())
}
