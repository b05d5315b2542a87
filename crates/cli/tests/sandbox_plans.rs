//! `gerbang sandbox serve` with several webhook URLs for one gateway, and the delivery plan
//! flags of `gerbang sandbox pay` and `gerbang sandbox webhook`, against the served binary.
// The helpers below are test code too; clippy's allow-in-tests only covers #[test] functions.
#![allow(clippy::unwrap_used)]

use std::process::{Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use serde_json::Value;
use tokio::io::AsyncBufReadExt;

const WAIT: Duration = Duration::from_secs(30);

/// A receiver that keeps every body and answers 200.
async fn receiver() -> (String, Arc<Mutex<Vec<String>>>) {
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let app = Router::new()
        .fallback(|State(bodies): State<Arc<Mutex<Vec<String>>>>, body: Bytes| async move {
            bodies.lock().unwrap().push(String::from_utf8_lossy(&body).into_owned());
            "OK"
        })
        .with_state(Arc::clone(&bodies));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, bodies)
}

/// `gerbang ARGS…` with the sandbox's Cuan10pay credentials, against the sandbox at `url`.
async fn gerbang(url: &str, args: &[&str]) -> Output {
    use gerbang::sandbox::cuan10pay;
    tokio::process::Command::new(env!("CARGO_BIN_EXE_gerbang"))
        .args(args)
        .env("GERBANG_CUAN10PAY_API_KEY", cuan10pay::API_KEY)
        .env("GERBANG_CUAN10PAY_PRIVATE_KEY", cuan10pay::PRIVATE_KEY)
        .env("GERBANG_SANDBOX_URL", url)
        .output()
        .await
        .unwrap()
}

fn json(output: &Output) -> Value {
    assert!(output.status.success(), "stderr: {}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).unwrap()
}

async fn wait_for(bodies: &[&Arc<Mutex<Vec<String>>>], count: usize) {
    tokio::time::timeout(WAIT, async {
        while bodies.iter().map(|b| b.lock().unwrap().len()).sum::<usize>() < count {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .unwrap();
}

async fn deliveries(url: &str) -> Vec<Value> {
    let text = reqwest::get(format!("{url}/_sandbox/deliveries")).await.unwrap().text().await.unwrap();
    serde_json::from_str(&text).unwrap()
}

#[tokio::test]
async fn sandbox_webhooks_go_to_every_url_in_turn_and_follow_the_plan_flags() {
    let (first, first_bodies) = receiver().await;
    let (second, second_bodies) = receiver().await;
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_gerbang"))
        .args(["sandbox", "serve", "--port", "0"])
        .args(["--webhook-url", &format!("cuan10pay={first}"), "--webhook-url", &format!("cuan10pay={second}")])
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    // The pretty-printed JSON ends with a closing brace alone on its line.
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let mut printed = String::new();
    while let Some(line) = tokio::time::timeout(WAIT, lines.next_line()).await.unwrap().unwrap() {
        printed.push_str(&line);
        if line == "}" {
            break;
        }
    }
    let printed: Value = serde_json::from_str(&printed).unwrap();
    let url = printed["url"].as_str().unwrap().to_owned();
    let base = printed["gateways"]["cuan10pay"]["base_url"].as_str().unwrap().to_owned();

    let args = ["--base-url", &base, "cuan10pay", "create", "--reference", "R-1", "--amount", "10000"];
    let created = json(&gerbang(&url, &[&args[..], &["--channel", "va:bca"]].concat()).await);
    let id = created["provider_reference"].as_str().unwrap().to_owned();

    // Four copies over two receivers: two each.
    let paid = json(&gerbang(&url, &["sandbox", "pay", "cuan10pay", &id, "--copies", "4"]).await);
    assert_eq!(paid["status"], "paid");
    wait_for(&[&first_bodies, &second_bodies], 4).await;
    assert_eq!(first_bodies.lock().unwrap().len(), 2);
    assert_eq!(second_bodies.lock().unwrap().len(), 2);
    assert!(first_bodies.lock().unwrap().iter().all(|b| b.contains("\"PAID\"")));

    // The pending webhook after the paid one, lost: recorded, never sent.
    let args = ["sandbox", "webhook", "cuan10pay", &id, "--status", "pending", "--drop"];
    let sent = json(&gerbang(&url, &args).await);
    assert_eq!(sent["status"], "pending");
    let list = tokio::time::timeout(WAIT, async {
        loop {
            let list = deliveries(&url).await;
            if list.len() >= 5 {
                return list;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .unwrap();
    assert_eq!(list.len(), 5, "{list:?}");
    assert_eq!(list[4]["dropped"], true);
    assert!(list[4]["body"].as_str().unwrap().contains("\"PENDING\""));
    assert_eq!(first_bodies.lock().unwrap().len() + second_bodies.lock().unwrap().len(), 4);

    // Then it arrives, a second later.
    let args = ["sandbox", "webhook", "cuan10pay", &id, "--status", "pending", "--delay-ms", "1000"];
    json(&gerbang(&url, &args).await);
    wait_for(&[&first_bodies, &second_bodies], 5).await;

    // A state without a webhook: one line on stderr, exit 1; a bad flag: exit 2.
    let refused = gerbang(&url, &["sandbox", "webhook", "cuan10pay", &id, "--status", "failed"]).await;
    assert_eq!(refused.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("sends no webhook") && stderr.lines().count() == 1, "{stderr}");
    let usage = gerbang(&url, &["sandbox", "pay", "cuan10pay", &id, "--copies", "0"]).await;
    assert_eq!(usage.status.code(), Some(2));
    child.kill().await.unwrap();
}

/// `gerbang sandbox serve` says where its dashboard is before anything else; `gerbang sandbox
/// advance` moves its clock, and a deposit given an expiry expires, its webhook sent.
#[tokio::test]
async fn sandbox_serve_prints_its_dashboard_first_and_advance_moves_its_clock() {
    let (hook, bodies) = receiver().await;
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_gerbang"))
        .args(["sandbox", "serve", "--port", "0", "--webhook-url", &format!("cuan10pay={hook}")])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut errors = tokio::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let said = tokio::time::timeout(WAIT, errors.next_line()).await.unwrap().unwrap().unwrap();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let mut printed = Vec::new();
    while let Some(line) = tokio::time::timeout(WAIT, lines.next_line()).await.unwrap().unwrap() {
        let end = line == "}";
        printed.push(line);
        if end {
            break;
        }
    }
    let json_text = printed.join("\n");
    let printed: Value = serde_json::from_str(&json_text).unwrap();
    let (dashboard, url) = (printed["dashboard"].as_str().unwrap(), printed["url"].as_str().unwrap());
    assert_eq!(dashboard, format!("{url}/"));
    assert_eq!(said, format!("gerbang sandbox: dashboard at {dashboard} (Ctrl-C stops it)"));
    assert!(json_text.lines().nth(1).unwrap().trim_start().starts_with("\"dashboard\""), "first: {json_text}");
    let page = reqwest::get(dashboard).await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("<h1>Payments</h1>"));

    let base = printed["gateways"]["cuan10pay"]["base_url"].as_str().unwrap().to_owned();
    let args = ["--base-url", &base, "cuan10pay", "create", "--reference", "R-9", "--amount", "10000"];
    let created = json(&gerbang(url, &[&args[..], &["--channel", "qris", "--expires-in", "30m"]].concat()).await);
    let id = created["provider_reference"].as_str().unwrap().to_owned();
    let moved = json(&gerbang(url, &["sandbox", "advance", "45m"]).await);
    assert_eq!(moved["offset_seconds"], 2700);
    assert_eq!(moved["expired"], serde_json::json!([{"provider": "cuan10pay", "reference": id}]));
    wait_for(&[&bodies], 1).await;
    assert!(bodies.lock().unwrap()[0].contains("\"EXPIRED\""));
    let status = json(&gerbang(url, &["--base-url", &base, "cuan10pay", "status", &id]).await);
    assert_eq!(status["status"], "expired", "{status}");

    let refused = gerbang(url, &["sandbox", "advance", "soon"]).await;
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("is not a duration"));
    child.kill().await.unwrap();
}
