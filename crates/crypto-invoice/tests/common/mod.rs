//! Helpers shared by the integration tests.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use gerbang_core::{FixedClock, HttpClient, RetryPolicy};
use gerbang_crypto_invoice::{CryptoInvoiceClient, CryptoInvoiceConfig, CryptoInvoiceConfigBuilder};
use httpmock::MockServer;

/// A recognisable public key: the secrets test looks for it in every message.
pub const PUBLIC_KEY: &str = "test-public-key-AK9f3xQ";
/// A recognisable private key; the callback fixtures carry it.
pub const PRIVATE_KEY: &str = "test-private-key-PK7q1";
/// 2025-09-28 10:02:30 UTC, the `created_at` of the fixtures.
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
/// no retries.
pub fn builder(base_url: &str) -> CryptoInvoiceConfigBuilder {
    CryptoInvoiceConfig::builder(PUBLIC_KEY, PRIVATE_KEY)
        .base_url(base_url)
        .clock(Arc::new(FixedClock::at_unix(NOW)))
        .http_client(HttpClient::builder().retry(RetryPolicy::none()).build().expect("http client"))
}

/// A client talking to `server` under `/api/v1` (as the real base URL has a path).
pub fn client(server: &MockServer) -> CryptoInvoiceClient {
    client_at(&server.url("/api/v1"))
}

/// A client whose base URL is `base_url` (a mock gateway's, or one where nothing listens).
pub fn client_at(base_url: &str) -> CryptoInvoiceClient {
    CryptoInvoiceClient::new(builder(base_url).build().expect("config"))
}
