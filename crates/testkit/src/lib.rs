//! Test support shared by the gateway crates' tests: capturing every line of tracing output,
//! checking that no secret or customer detail shows in what a failing run printed ([`Shown`]),
//! the error answers every gateway maps, each gateway giving its table ([`Endpoint`]), the fixtures
//! each crate records from the sandbox, and private servers for one test (Redis, Postgres,
//! Prometheus, and chromedriver with headless Chromium) and a private Python virtual environment.
//! Not published.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use serde_json::Value;
use tracing_subscriber::EnvFilter;

mod certs;
mod chromium;
mod circuit_contract;
mod contract;
mod env_scenario;
mod gateway_errors;
mod hostile;
mod leaks;
mod local;
#[cfg(feature = "otlp")]
pub mod otlp;
mod outbox_contract;
mod postgres_server;
mod prometheus_server;
mod python;
mod redis_cluster;
mod redis_server;
mod rotation;
mod spans;
mod token_contract;
mod watched;
pub use certs::{ServerCert, TestCa, Validity};
pub use chromium::{CHROMIUM_FLAGS, Chromium};
pub use circuit_contract::check_circuit_contract;
pub use contract::{check_inbox_contract, check_ledger_contract};
pub use env_scenario::{SCENARIO_VAR, env_scenario, run_env_scenario};
pub use gateway_errors::{Answer, Case, Endpoint, Expected, check_closed_port_is_a_transport_error, closed_base_url};
pub use hostile::{
    Cutting, ECHO_STATUSES, Echoing, REDIRECTS, Redirecting, answer_with_errors, check_echoed_secrets_are_scrubbed,
    check_no_redirect_is_followed,
};
pub use leaks::Shown;
pub use outbox_contract::{check_outbox_contract, outbox_message};
pub use postgres_server::PostgresServer;
pub use prometheus_server::PrometheusServer;
pub use python::PythonVenv;
pub use redis_cluster::RedisCluster;
pub use redis_server::RedisServer;
pub use rotation::{
    RotationOutcomes, WITH_PREVIOUS, WITHOUT_PREVIOUS, check_rotation_property, expected_key, pasted_key,
    rotation_keys, run_previous_key_scenarios, show_verification,
};
pub use spans::{SeenSpan, SpanCapture};
pub use token_contract::{check_one_fetch_for_many_callers, stored_token};
pub use watched::{CountingGateway, check_watched_creates};

/// Every line of tracing output written since [`LogCapture::install`], kept in memory.
#[derive(Debug, Clone, Default)]
pub struct LogCapture(Arc<Mutex<Vec<u8>>>);

impl LogCapture {
    /// Installs the process-wide subscriber, writing everything at TRACE (this workspace's
    /// crates, reqwest, hyper…) into the returned capture, except httpmock's server: it stands
    /// for the gateway, which is of course shown the credentials. Call it once per test binary,
    /// in the one test that checks for leaks.
    ///
    /// # Panics
    ///
    /// If a global subscriber is already installed.
    pub fn install() -> Self {
        let capture = Self::default();
        tracing_subscriber::fmt()
            .with_env_filter(EnvFilter::new("trace,httpmock=off"))
            .with_ansi(false)
            .with_writer(capture.clone())
            .init();
        capture
    }

    /// What was written so far.
    pub fn text(&self) -> String {
        let bytes = self.0.lock().unwrap_or_else(PoisonError::into_inner).clone();
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

impl Write for LogCapture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogCapture {
    type Writer = Self;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// Panics, naming the secret and showing where, if any of `secrets` appears in any of `shown`.
pub fn assert_nothing_leaks(shown: &[String], secrets: &[&str]) {
    for text in shown {
        for secret in secrets {
            assert!(!text.contains(secret), "{secret} leaked into: {text}");
        }
    }
}

/// The variable `cargo xtask fixtures` sets to have the sandbox fixtures recorded anew.
pub const REGENERATE_FIXTURES: &str = "GERBANG_REGENERATE_FIXTURES";

/// Where a crate keeps the answers it recorded from the sandbox: `tests/fixtures/sandbox/`.
pub fn sandbox_fixture_dir(manifest_dir: &str) -> PathBuf {
    Path::new(manifest_dir).join("tests/fixtures/sandbox")
}

/// Checks the sandbox's live `answers` (name, HTTP status, JSON body) against the files recorded
/// in [`sandbox_fixture_dir`] (`NAME.json`, `{"http_status","body"}`): the same status, and the
/// same shape (keys and JSON types; ids and times differ from run to run). With
/// [`REGENERATE_FIXTURES`] set, it writes the files first. Returns each *recorded* answer, for the
/// caller to parse with its client as it parses a live one.
///
/// # Panics
///
/// On a missing fixture, another status or another shape, each with what to do.
pub fn check_sandbox_fixtures(manifest_dir: &str, answers: &[(&str, u16, Value)]) -> Vec<(String, u16, Value)> {
    let dir = sandbox_fixture_dir(manifest_dir);
    let regenerate = std::env::var_os(REGENERATE_FIXTURES).is_some();
    if regenerate {
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    }
    let mut recorded_answers = Vec::new();
    for (name, status, live) in answers {
        let path = dir.join(format!("{name}.json"));
        if regenerate {
            let file = serde_json::json!({ "http_status": status, "body": live });
            let text = serde_json::to_string_pretty(&file).unwrap_or_default() + "\n";
            std::fs::write(&path, text).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
        }
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|_| panic!("{} is missing: run `cargo xtask fixtures`", path.display()));
        let mut recorded: Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()));
        assert_eq!(recorded["http_status"], *status, "{name}: the sandbox answers another status than recorded");
        assert_eq!(
            shape(&recorded["body"]),
            shape(live),
            "{name}: the sandbox's answer changed shape; run `cargo xtask fixtures` and review the diff"
        );
        recorded_answers.push(((*name).to_owned(), *status, recorded["body"].take()));
    }
    recorded_answers
}

/// The shape of a JSON value: its keys and the types of its leaves, values left out; an array's
/// shape is its first element's, so that lists of any length compare equal.
pub fn shape(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), shape(v))).collect()),
        Value::Array(items) => Value::Array(items.first().map(shape).into_iter().collect()),
        Value::String(_) => "string".into(),
        Value::Number(_) => "number".into(),
        Value::Bool(_) => "bool".into(),
        Value::Null => "null".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_leak_and_passes_clean_text() {
        assert_nothing_leaks(&["an error without secrets".to_owned()], &["s3cret"]);
        let leak = std::panic::catch_unwind(|| assert_nothing_leaks(&["key=s3cret".to_owned()], &["s3cret"]));
        assert!(leak.is_err());
    }

    #[test]
    fn shapes_keep_keys_and_types_not_values() {
        let a = serde_json::json!({"id": "A1", "amount": 10, "items": [{"x": true}, {"x": false}], "n": null});
        let b = serde_json::json!({"id": "B2", "amount": 99, "items": [{"x": true}], "n": null});
        assert_eq!(shape(&a), shape(&b));
        assert_ne!(shape(&a), shape(&serde_json::json!({"id": 1, "amount": 10, "items": [], "n": null})));
    }
}
