//! Helpers shared by the integration tests.
#![allow(dead_code, unreachable_pub)]

use gerbang_core::{HttpClient, RetryPolicy};
use gerbang_qris::{QrisClient, QrisConfig, QrisConfigBuilder};
use httpmock::MockServer;

/// A recognisable API key: the secrets test looks for it in every log line and message.
pub const API_KEY: &str = "test-qris-key-QK4z8wB";

/// A fixture's text.
pub fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
}

/// The config builder every mock test starts from: the test key, no retries.
pub fn builder(base_url: &str) -> QrisConfigBuilder {
    QrisConfig::builder(API_KEY)
        .base_url(base_url)
        .http_client(HttpClient::builder().retry(RetryPolicy::none()).build().expect("http client"))
}

/// A client talking to `server` under `/gw` (a base URL with a path, as a real one may have).
pub fn client(server: &MockServer) -> QrisClient {
    client_at(&server.url("/gw"))
}

/// A client whose base URL is `base_url` (a mock gateway's, or one where nothing listens).
pub fn client_at(base_url: &str) -> QrisClient {
    QrisClient::new(builder(base_url).build().expect("config"))
}
