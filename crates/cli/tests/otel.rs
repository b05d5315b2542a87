//! OpenTelemetry traces from the `gerbang` binary (issue 20, item 5): with
//! `OTEL_EXPORTER_OTLP_ENDPOINT` pointing at a collector inside the test, a one-shot command
//! exports the CLIENT span of its gateway call, and `gerbang webhook serve` the SERVER span of
//! each delivery. The batch delay is set to a minute, so that what arrives was sent by the flush
//! at exit (after SIGTERM's drain for the receiver), as an operator's last spans would be.
#![allow(clippy::unwrap_used)] // Test code.

mod common;

use std::process::Stdio;
use std::time::Duration;

use gerbang::ProviderId;
use gerbang::sandbox::{Sandbox, cashin, cuan10pay};
use gerbang_testkit::otlp::{Collector, ExportedSpan, kind};
use serde_json::json;
use tokio::sync::mpsc;

use common::{Serve, deposit, free_port, gateway_env, next_event, paid_deposit};

/// The variables that send the spans to `collector`, only at exit.
fn otel_env(collector: &Collector) -> Vec<(String, String)> {
    vec![
        ("OTEL_EXPORTER_OTLP_ENDPOINT".to_owned(), collector.endpoint().to_owned()),
        ("OTEL_BSP_SCHEDULE_DELAY".to_owned(), "60000".to_owned()),
        ("OTEL_SERVICE_NAME".to_owned(), "merchant-gerbang".to_owned()),
    ]
}

/// No span holds a gateway's key or secret, or the query of a look-up.
fn assert_no_secret(spans: &[ExportedSpan]) {
    let secrets = [cuan10pay::API_KEY, cuan10pay::PRIVATE_KEY, cashin::SECRET_KEY, "ref="];
    for span in spans {
        for text in span.texts() {
            for secret in secrets {
                assert!(!text.contains(secret), "span {} carries {secret:?} in {text:?}", span.name);
            }
        }
    }
}

#[tokio::test]
async fn a_status_command_exports_its_gateway_call_when_it_exits() {
    let collector = Collector::start().await;
    let sandbox = Sandbox::builder().start().await.unwrap();
    let id = deposit(&sandbox, "ORDER-OTEL-CLI-1").await;
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_gerbang"))
        .args(["--base-url", &sandbox.base_url(ProviderId::Cuan10pay), "cuan10pay", "status", &id])
        .envs(gateway_env())
        .envs(otel_env(&collector))
        // The lines on stderr stay at `warn`: the spans are exported at `info` all the same.
        .env_remove("RUST_LOG")
        .env_remove("GERBANG_STORE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .await
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    // Sent before the process exited: nothing to wait for.
    let spans = collector.spans();
    let attempts: Vec<&ExportedSpan> = spans.iter().filter(|s| s.kind == kind::CLIENT).collect();
    let [attempt] = attempts[..] else { panic!("one CLIENT span: {spans:#?}") };
    assert_eq!(attempt.name, "GET /v1/deposit_status");
    assert_eq!(attempt.attr("url.template"), "/v1/deposit_status");
    assert_eq!(attempt.attr("http.response.status_code"), 200);
    assert_eq!(attempt.attr("server.address"), "127.0.0.1");
    assert_eq!(attempt.resource.get("service.name"), Some(&json!("merchant-gerbang")));
    let call = spans.iter().find(|s| s.name == "gerbang.http").expect("the call's span");
    assert_eq!(attempt.parent_span_id, call.span_id);
    assert_no_secret(&spans);
}

#[tokio::test]
async fn webhook_serve_exports_a_server_span_per_delivery_and_flushes_it_on_sigterm() {
    let collector = Collector::start().await;
    let (tx, mut events) = mpsc::unbounded_channel();
    let port = free_port();
    let mut serve = Serve::start_with(port, &[], &otel_env(&collector), tx).await;
    let sandbox = Sandbox::builder().webhook_url(ProviderId::Cuan10pay, serve.url("cuan10pay")).start().await.unwrap();
    let id = paid_deposit(&sandbox, "ORDER-OTEL-CLI-2").await;
    let (_, event) = next_event(&mut events, Duration::from_secs(10)).await.expect("the event is handled");
    assert_eq!(event["provider_reference"], id.as_str());
    assert!(collector.spans().is_empty(), "nothing is sent before the batch delay or the exit");

    let pid = serve.child.id().unwrap();
    assert!(std::process::Command::new("kill").args(["-TERM", &pid.to_string()]).status().unwrap().success());
    let status = tokio::time::timeout(Duration::from_secs(15), serve.child.wait()).await.unwrap().unwrap();
    assert_eq!(status.code(), Some(0), "{:?}", serve.stderr.lock().unwrap());

    let spans = collector.spans();
    let servers: Vec<&ExportedSpan> = spans.iter().filter(|s| s.kind == kind::SERVER).collect();
    let [delivery] = servers[..] else { panic!("one SERVER span: {spans:#?}") };
    assert_eq!(delivery.name, "POST /webhooks/{gateway}");
    assert_eq!(delivery.attr("http.request.method"), "POST");
    assert_eq!(delivery.attr("http.route"), "/webhooks/{gateway}");
    assert_eq!(delivery.attr("http.response.status_code"), 200);
    assert_eq!(delivery.attr("gerbang.gateway"), "cuan10pay");
    assert_eq!(delivery.attr("gerbang.outcome"), "handled");
    assert_eq!(delivery.attr("gerbang.dedup_key"), &json!(format!("cuan10pay:{id}:paid")));
    assert_eq!(delivery.resource.get("service.name"), Some(&json!("merchant-gerbang")));
    assert_no_secret(&spans);
}
