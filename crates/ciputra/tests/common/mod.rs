//! Helpers shared by the integration tests.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gerbang_ciputra::{CiputraClient, CiputraConfig, CiputraConfigBuilder};
use gerbang_core::{FixedClock, HttpClient, RetryPolicy};
use httpmock::MockServer;

/// A recognisable API key: the secrets test looks for it in every log line and message.
pub const API_KEY: &str = "test-api-key-CK4m2Qa";
/// A recognisable API secret.
pub const API_SECRET: &str = "test-api-secret-CS8p0Zr";
/// 2021-03-02 07:42:19 UTC: the `iat` of the document's example token, whose `exp` is an hour on.
pub const NOW: i64 = 1_614_670_939;
/// The `exp` of the document's example token.
pub const DOC_TOKEN_EXP: i64 = 1_614_674_539;

/// A fixture's text.
pub fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
}

/// The access token of the document's example answer.
pub fn doc_token() -> String {
    let answer: serde_json::Value = serde_json::from_str(&fixture("token.json")).unwrap();
    answer["access_token"].as_str().unwrap().to_owned()
}

/// A JWT-shaped token with these claims (the signature is not checked by the client).
pub fn jwt(subject: &str, iat: i64, exp: i64) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"typ":"JWT","alg":"HS256"}"#);
    let payload = URL_SAFE_NO_PAD.encode(format!(r#"{{"sub":"{subject}","iat":{iat},"exp":{exp}}}"#));
    format!("{header}.{payload}.c2lnbmF0dXJl")
}

/// A token answer in the document's shape.
pub fn token_answer(token: &str, expires_in: i64) -> String {
    format!(
        r#"{{"code":"00","status":true,"access_token":"{token}","expires_in":{expires_in},"token_type":"Bearer","message":"Success"}}"#
    )
}

/// The config builder every mock test starts from: the test credentials, a clock stopped at
/// [`NOW`], no retries.
pub fn builder(base_url: &str) -> CiputraConfigBuilder {
    CiputraConfig::builder(API_KEY, API_SECRET)
        .base_url(base_url)
        .clock(Arc::new(FixedClock::at_unix(NOW)))
        .http_client(HttpClient::builder().retry(RetryPolicy::none()).build().expect("http client"))
}

/// A client talking to `server` under `/api`.
pub fn client(server: &MockServer) -> CiputraClient {
    client_at(&server.url("/api"))
}

/// A client whose base URL is `base_url` (a mock gateway's, or one where nothing listens).
pub fn client_at(base_url: &str) -> CiputraClient {
    CiputraClient::new(builder(base_url).build().expect("config"))
}

/// Serves the document's token answer at `/api/auth/token`.
pub async fn serve_doc_token(server: &MockServer) -> httpmock::Mock<'_> {
    server
        .mock_async(|when, then| {
            when.path("/api/auth/token");
            then.status(200).header("content-type", "application/json").body(fixture("token.json"));
        })
        .await
}

/// `Bearer <the document's token>`.
pub fn doc_bearer() -> String {
    format!("Bearer {}", doc_token())
}
