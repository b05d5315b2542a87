//! No payment lost, end to end: payments created with `gerbang … create --store`, paid at the
//! sandbox with their webhooks lost (QRIS has none), reach the handler of one of two
//! `gerbang webhook serve --reconcile-every 1s` receivers exactly once, by reconciliation, on a
//! private Postgres and then a private Redis; the lost webhook arriving afterwards is acked and
//! not handled again; `gerbang watched` shows them paid.
#![allow(clippy::unwrap_used)] // Test code.

mod common;

use std::collections::BTreeMap;
use std::process::{Output, Stdio};
use std::time::Duration;

use gerbang::ProviderId;
use gerbang::sandbox::{DeliveryPlan, Sandbox, SandboxHandle, cuan10pay, qris};
use gerbang_testkit::{PostgresServer, RedisServer};
use serde_json::Value;
use tokio::sync::mpsc;

use common::{Serve, free_port, next_event};

/// The variables that point every command at the sandbox: base URLs and QRIS's key (the
/// harness sets Cuan10pay's and Cash In's credentials).
fn sandbox_variables(sandbox: &SandboxHandle) -> Vec<(String, String)> {
    vec![
        ("GERBANG_CUAN10PAY_BASE_URL".into(), sandbox.base_url(ProviderId::Cuan10pay)),
        ("GERBANG_CASHIN_BASE_URL".into(), sandbox.base_url(ProviderId::CashIn)),
        ("GERBANG_QRIS_BASE_URL".into(), sandbox.base_url(ProviderId::Qris)),
        ("GERBANG_QRIS_API_KEY".into(), qris::API_KEY.into()),
    ]
}

async fn gerbang(variables: &[(String, String)], args: &[&str]) -> Output {
    let command = tokio::process::Command::new(env!("CARGO_BIN_EXE_gerbang"))
        .args(args)
        .env("GERBANG_CUAN10PAY_API_KEY", cuan10pay::API_KEY)
        .env("GERBANG_CUAN10PAY_PRIVATE_KEY", cuan10pay::PRIVATE_KEY)
        .envs(variables.iter().map(|(k, v)| (k, v)))
        .env_remove("GERBANG_STORE_URL")
        .stdin(Stdio::null())
        .output();
    tokio::time::timeout(Duration::from_secs(120), command).await.expect("gerbang ran within 2 minutes").unwrap()
}

/// `gerbang <gateway> create --store …`: the created payment.
async fn create(variables: &[(String, String)], store: &str, gateway: &str, reference: &str) -> Value {
    let mut args = vec![gateway, "create", "--store", store, "--reference", reference, "--amount", "150000"];
    if gateway == "cuan10pay" {
        args.extend(["--channel", "qris"]);
    }
    let output = gerbang(variables, &args).await;
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).unwrap()
}

async fn two_receivers_reconcile_each_lost_payment_once(store: &str) {
    let ports = [free_port(), free_port()];
    let urls = ports.map(|port| format!("http://127.0.0.1:{port}/webhooks/cuan10pay"));
    let sandbox =
        Sandbox::builder().webhook_urls(ProviderId::Cuan10pay, urls).cuan10pay_rate_limit(None).start().await.unwrap();
    let variables = sandbox_variables(&sandbox);
    let (tx, mut events) = mpsc::unbounded_channel();
    let flags = ["--store", store, "--reconcile-every", "1s"];
    let mut receivers = Vec::new();
    for port in ports {
        receivers.push(Serve::start_with(port, &flags, &variables, tx.clone()).await);
    }

    let deposit = create(&variables, store, "cuan10pay", "LOST-CP-1").await;
    let invoice = create(&variables, store, "qris", "LOST-QR-1").await;
    let deposit_id = deposit["provider_reference"].as_str().unwrap().to_owned();
    let invoice_id = invoice["provider_reference"].as_str().unwrap().to_owned();
    // Paid at the gateway; Cuan10pay's webhook lost for good, QRIS sends none.
    sandbox.pay_with(ProviderId::Cuan10pay, &deposit_id, DeliveryPlan::new().drop(true)).await.unwrap();
    sandbox.pay(ProviderId::Qris, &invoice_id).await.unwrap();

    let mut handled: BTreeMap<String, u16> = BTreeMap::new();
    while handled.len() < 2 {
        let (port, event) = next_event(&mut events, Duration::from_secs(60)).await.expect("reconciled within a minute");
        let key = event["dedup_key"].as_str().unwrap().to_owned();
        assert!(handled.insert(key.clone(), port).is_none(), "{key} handled twice ({store})");
    }
    let expected = [format!("cuan10pay:{deposit_id}:paid"), format!("qris:{invoice_id}:paid")];
    assert_eq!(handled.keys().cloned().collect::<Vec<_>>(), expected, "{store}");
    // The receivers keep reconciling every second: nothing more comes.
    assert!(next_event(&mut events, Duration::from_secs(3)).await.is_none(), "an event was handled twice ({store})");

    // The lost webhook, delivered after all: acknowledged, not handled again.
    sandbox.resend_webhook(ProviderId::Cuan10pay, &deposit_id, DeliveryPlan::new()).await.unwrap();
    let deliveries = sandbox.wait_for_deliveries(2, Duration::from_secs(20)).await.unwrap();
    assert_eq!(deliveries[1].status, Some(200), "{deliveries:?}");
    assert!(next_event(&mut events, Duration::from_secs(2)).await.is_none(), "the late webhook was handled again");

    // `gerbang watched` shows both paid, no longer checked.
    let output = gerbang(&variables, &["watched", "--store", store]).await;
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let watched: Value = serde_json::from_slice(&output.stdout).unwrap();
    let states: BTreeMap<&str, (&str, bool)> = watched
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["reference"].as_str().unwrap(), (r["state"].as_str().unwrap(), r["watched"].as_bool().unwrap())))
        .collect();
    assert_eq!(states, BTreeMap::from([("LOST-CP-1", ("paid", false)), ("LOST-QR-1", ("paid", false))]));
    for mut receiver in receivers {
        receiver.child.kill().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn two_receivers_on_postgres_reconcile_each_lost_payment_once() {
    let Some(postgres) = PostgresServer::start() else { return };
    two_receivers_reconcile_each_lost_payment_once(&postgres.url()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn two_receivers_on_redis_reconcile_each_lost_payment_once() {
    let Some(redis) = RedisServer::start() else { return };
    two_receivers_reconcile_each_lost_payment_once(&redis.url()).await;
}

#[tokio::test]
async fn watched_without_a_shared_store_says_which_flag_to_give() {
    for args in [vec!["watched"], vec!["watched", "--store", "memory"]] {
        let output = gerbang(&[], &args).await;
        assert_eq!(output.status.code(), Some(1));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("--store redis://… or postgres://…"), "{stderr}");
    }
}

/// `create --store` with a reference the ledger already holds: refused before it is sent, as
/// one line on stderr naming the payment and its state, exit code 1; the ledger's record stays.
#[tokio::test]
async fn create_with_a_reference_the_ledger_holds_is_refused_in_one_line() {
    let Some(redis) = RedisServer::start() else { return };
    let sandbox = Sandbox::builder().cuan10pay_rate_limit(None).start().await.unwrap();
    let (variables, store) = (sandbox_variables(&sandbox), redis.url());
    let first = create(&variables, &store, "cuan10pay", "CLI-REUSED").await;
    let deposit = first["provider_reference"].as_str().unwrap().to_owned();

    let args = ["cuan10pay", "create", "--store", &store, "--reference", "CLI-REUSED", "--amount", "990000"];
    let output =
        gerbang(&variables, &[&args[..], &["--channel", "qris", "--customer-email", "budi@example.com"]].concat())
            .await;
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty(), "nothing created: {}", String::from_utf8_lossy(&output.stdout));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(
        stderr.starts_with("error: cuan10pay payment CLI-REUSED is already in the ledger as `pending`"),
        "{stderr}"
    );
    assert!(stderr.contains(&format!("`status {deposit}`")), "says how to look it up: {stderr}");
    assert!(!stderr.contains("budi"), "{stderr}");

    let listed = gerbang(&variables, &["watched", "--store", &store]).await;
    let records: Value = serde_json::from_slice(&listed.stdout).unwrap();
    let records = records.as_array().unwrap();
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(records[0]["provider_reference"].as_str(), Some(deposit.as_str()), "the first record stays");
    assert_eq!(records[0]["amount"]["value"].as_str(), Some("150000"));
}
