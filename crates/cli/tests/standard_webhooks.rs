//! `webhook serve --forward-to` signs what it sends as Standard Webhooks (issue 21, item 1), and
//! the OFFICIAL verifier says so: every request the application got, retries included, is handed
//! to the `standardwebhooks` Python package (PyPI, in a private virtual environment), with one
//! secret and during a rotation (current and previous secrets sign, each verifies alone); a
//! tampered body, timestamp or id is refused by it. The `webhook-id` is the event's, the same on
//! every attempt. Without a secret the receiver refuses to start, saying how to make one; no
//! secret is ever printed.
#![allow(clippy::unwrap_used)] // Test code.

mod common;

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use gerbang::sandbox::cuan10pay;
use gerbang_testkit::PythonVenv;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use common::{Serve, free_port, paid_deposit, sandbox_for};

/// The official verifier, pinned: what a Python application installs.
const VERIFIER: &str = "standardwebhooks==1.3.0";

/// Hands each case to `standardwebhooks.Webhook(secret).verify(body, headers)`; prints, per
/// case, `"ok"` or the exception's class.
const VERIFY_PY: &str = r#"
import json, sys
from standardwebhooks import Webhook

results = []
for case in json.load(open(sys.argv[1])):
    try:
        Webhook(case["secret"]).verify(case["body"], case["headers"])
        results.append("ok")
    except Exception as error:
        results.append(type(error).__name__)
print(json.dumps(results))
"#;

/// One request the application received.
#[derive(Debug, Clone)]
struct Recorded {
    headers: BTreeMap<String, String>,
    body: String,
}

/// The application: records every request, and refuses (500) the first attempt of each
/// `webhook-id`, so that every event is delivered twice (the outbox's deliverer retries).
async fn application() -> (String, Arc<Mutex<Vec<Recorded>>>) {
    let recorded = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::new(Mutex::new(HashSet::new()));
    let requests = Arc::clone(&recorded);
    let app = axum::Router::new().route(
        "/events",
        axum::routing::post(move |headers: HeaderMap, body: String| {
            let headers: BTreeMap<String, String> = headers
                .iter()
                .map(|(name, value)| (name.as_str().to_owned(), value.to_str().unwrap_or("").to_owned()))
                .collect();
            let first = seen.lock().unwrap().insert(headers.get("webhook-id").cloned().unwrap_or_default());
            requests.lock().unwrap().push(Recorded { headers, body });
            async move { if first { StatusCode::INTERNAL_SERVER_ERROR } else { StatusCode::OK } }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/events", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, recorded)
}

/// `gerbang webhook secret`'s output.
fn fresh_secret() -> String {
    let output =
        std::process::Command::new(env!("CARGO_BIN_EXE_gerbang")).args(["webhook", "secret"]).output().unwrap();
    assert!(output.status.success(), "{output:?}");
    let text = String::from_utf8(output.stdout).unwrap();
    let secret = text.trim_end_matches('\n');
    assert!(secret.starts_with("whsec_") && !secret.contains('\n'), "{text:?}");
    secret.to_owned()
}

/// Runs a receiver forwarding to a fresh application with `secrets` (current, then previous),
/// pays `count` Cuan10pay deposits, and returns every request the application got (two per
/// event: refused, then accepted on the deliverer's retry, signed anew) and what the receiver
/// said.
async fn forwarded(tag: &str, count: usize, secrets: &[(&str, &str)]) -> (Vec<Recorded>, String) {
    let (url, recorded) = application().await;
    let port = free_port();
    let sandbox = sandbox_for(port).webhook_retry(5, Duration::from_secs(1)).start().await.unwrap();
    let (tx, _events) = mpsc::unbounded_channel();
    let variables: Vec<(String, String)> = secrets.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    let mut serve = Serve::start_with(port, &["--forward-to", &url, "--forward-retry", "1s"], &variables, tx).await;
    for n in 0..count {
        paid_deposit(&sandbox, &format!("SW-{tag}-{n}")).await;
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while recorded.lock().unwrap().len() < 2 * count {
        assert!(tokio::time::Instant::now() < deadline, "{:?}", recorded.lock().unwrap());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    serve.child.kill().await.unwrap();
    let said = serve.stderr.lock().unwrap().join("\n");
    let requests = recorded.lock().unwrap().clone();
    (requests, said)
}

/// What the official verifier says of each `(secret, headers, body)`.
fn verify_in_python(python: &PythonVenv, cases: &[Value]) -> Vec<String> {
    let dir = std::env::temp_dir().join(format!("gerbang-standard-webhooks-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (script, input) = (dir.join("verify.py"), dir.join("cases.json"));
    std::fs::write(&script, VERIFY_PY).unwrap();
    std::fs::write(&input, serde_json::to_vec(cases).unwrap()).unwrap();
    let output = python.command().arg(&script).arg(&input).output().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).unwrap()
}

fn case(secret: &str, request: &Recorded) -> Value {
    json!({ "secret": secret, "headers": request.headers, "body": request.body })
}

/// Each event's two attempts carry the one `webhook-id`, derived from its dedup key; distinct
/// events, distinct ids; one `v1,…` per secret.
fn check_headers(requests: &[Recorded], count: usize, signatures: usize) {
    let mut attempts: BTreeMap<&str, usize> = BTreeMap::new();
    for request in requests {
        let id = request.headers["webhook-id"].as_str();
        let event: Value = serde_json::from_str(&request.body).unwrap();
        let key = event["dedup_key"].as_str().unwrap();
        assert_eq!(id, gerbang_signing::standard_webhooks::message_id(key), "{key}");
        assert_eq!(request.headers["content-type"], "application/json");
        assert!(request.headers["webhook-timestamp"].parse::<i64>().is_ok(), "{:?}", request.headers);
        let signature = &request.headers["webhook-signature"];
        assert_eq!(signature.split(' ').count(), signatures, "{signature}");
        assert!(signature.split(' ').all(|s| s.starts_with("v1,")), "{signature}");
        *attempts.entry(id).or_default() += 1;
    }
    assert_eq!(attempts.len(), count, "{attempts:?}");
    assert!(attempts.values().all(|n| *n == 2), "every event refused once, then accepted: {attempts:?}");
}

fn assert_unsaid(said: &str, secrets: &[&str]) {
    for secret in secrets {
        assert!(!said.contains(secret) && !said.contains(secret.trim_start_matches("whsec_")), "a secret in {said}");
    }
}

#[tokio::test]
async fn every_forwarded_event_verifies_with_the_official_standardwebhooks_library() {
    let Some(python) = PythonVenv::with("standardwebhooks", &[VERIFIER]) else { return };
    let (current, previous, stranger) = (fresh_secret(), fresh_secret(), fresh_secret());

    // One secret.
    let (one, said) = forwarded("ONE", 3, &[("GERBANG_FORWARD_SECRET", &current)]).await;
    check_headers(&one, 3, 1);
    assert_unsaid(&said, &[&current]);
    // During a rotation: both sign, each verifies alone.
    let rotation =
        [("GERBANG_FORWARD_SECRET", current.as_str()), ("GERBANG_FORWARD_SECRET_PREVIOUS", previous.as_str())];
    let (both, said) = forwarded("ROT", 2, &rotation).await;
    check_headers(&both, 2, 2);
    assert_unsaid(&said, &[&current, &previous]);

    let mut cases = Vec::new();
    let mut expected = Vec::new();
    let mut expect = |case: Value, ok: bool| {
        cases.push(case);
        expected.push(ok);
    };
    for request in &one {
        expect(case(&current, request), true);
        expect(case(&previous, request), false); // not signing yet
    }
    for request in &both {
        expect(case(&current, request), true);
        expect(case(&previous, request), true);
        expect(case(&stranger, request), false);
    }
    // Tampering, tried on every request with a secret that signed it.
    for request in one.iter().chain(&both) {
        let mut body = request.clone();
        body.body = body.body.replacen("\"paid\"", "\"pending\"", 1);
        assert_ne!(body.body, request.body);
        let mut appended = request.clone();
        appended.body.push(' ');
        let timestamp: i64 = request.headers["webhook-timestamp"].parse().unwrap();
        let moved: Vec<Recorded> = [-1, 1, -3600]
            .into_iter()
            .map(|delta| {
                let mut moved = request.clone();
                moved.headers.insert("webhook-timestamp".into(), (timestamp + delta).to_string());
                moved
            })
            .collect();
        let mut other_id = request.clone();
        other_id.headers.insert("webhook-id".into(), "msg_0123456789abcdef0123456789abcdef".into());
        for tampered in [body, appended, other_id].iter().chain(&moved) {
            expect(case(&current, tampered), false);
        }
    }

    let results = verify_in_python(&python, &cases);
    assert_eq!(results.len(), cases.len());
    for ((result, ok), case) in results.iter().zip(&expected).zip(&cases) {
        if *ok {
            assert_eq!(result, "ok", "refused by standardwebhooks: {case}");
        } else {
            assert_eq!(result, "WebhookVerificationError", "not refused by standardwebhooks: {case}");
        }
    }
    eprintln!(
        "standardwebhooks verified {} forwarded requests and refused {} tampered or foreign ones",
        expected.iter().filter(|ok| **ok).count(),
        expected.iter().filter(|ok| !**ok).count()
    );
}

/// `webhook serve --forward-to` with no secret, or a malformed one, does not start (exit 1),
/// says how to make one, and never says the value given.
#[tokio::test]
async fn forwarding_without_a_valid_secret_is_refused_at_start() {
    let malformed = "whsec_NOT-A-REAL-SECRET-VALUE";
    for (current, previous) in
        [(None, None), (Some(""), None), (Some(malformed), None), (Some(&*fresh_secret()), Some(malformed))]
    {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_gerbang"));
        command
            .args(["webhook", "serve", "--port", "0", "--forward-to", "http://127.0.0.1:9/events"])
            .env("GERBANG_CUAN10PAY_API_KEY", cuan10pay::API_KEY)
            .env("GERBANG_CUAN10PAY_PRIVATE_KEY", cuan10pay::PRIVATE_KEY)
            .env_remove("GERBANG_STORE_URL")
            .env_remove("GERBANG_FORWARD_SECRET")
            .env_remove("GERBANG_FORWARD_SECRET_PREVIOUS");
        if let Some(current) = current {
            command.env("GERBANG_FORWARD_SECRET", current);
        }
        if let Some(previous) = previous {
            command.env("GERBANG_FORWARD_SECRET_PREVIOUS", previous);
        }
        let output = tokio::time::timeout(Duration::from_secs(30), command.output()).await.unwrap().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{current:?}/{previous:?}: {stderr}");
        assert!(stderr.contains("gerbang webhook secret"), "{stderr}");
        assert!(
            stderr.contains(if previous.is_some() { "FORWARD_SECRET_PREVIOUS" } else { "FORWARD_SECRET" }),
            "{stderr}"
        );
        assert!(!stderr.contains("NOT-A-REAL"), "the value was echoed: {stderr}");
        assert!(output.stdout.is_empty());
    }
    // Nor does --help show a secret set in the environment.
    let help = std::process::Command::new(env!("CARGO_BIN_EXE_gerbang"))
        .args(["webhook", "serve", "--help"])
        .env("GERBANG_FORWARD_SECRET", malformed)
        .env("GERBANG_FORWARD_SECRET_PREVIOUS", malformed)
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(help.contains("--forward-secret-previous") && !help.contains("NOT-A-REAL"), "{help}");
}
