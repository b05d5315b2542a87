//! `gerbang route create` as a separate process against the sandbox and its fault injection:
//! it fails over only when the payment provably does not exist, one route leaves exactly one
//! payment in all, what it prints (the payment with its attempts, or the error with them) says
//! what happened, and processes given one Redis share each gateway's circuit.
#![allow(clippy::unwrap_used)] // Test code.

mod common;

use std::process::Stdio;
use std::time::Duration;

use gerbang::ProviderId;
use gerbang::sandbox::{Fault, FaultAction, Sandbox, SandboxHandle, qris};
use gerbang_testkit::RedisServer;
use serde_json::Value;

use common::{free_port, gateway_env};

/// What a `gerbang route create` run left: its exit status, stdout as JSON, stderr.
struct Run {
    success: bool,
    code: Option<i32>,
    json: Value,
    stderr: String,
}

impl Run {
    /// `(gateway, outcome)` of each attempt printed.
    fn attempts(&self) -> Vec<(String, String)> {
        self.json["attempts"]
            .as_array()
            .unwrap_or_else(|| panic!("no attempts in {}", self.json))
            .iter()
            .map(|a| (a["gateway"].as_str().unwrap().to_owned(), a["outcome"].as_str().unwrap().to_owned()))
            .collect()
    }
}

fn attempts(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected.iter().map(|(g, o)| ((*g).to_owned(), (*o).to_owned())).collect()
}

/// The sandbox, its own Cuan10pay rate limit off (the tests create more than it allows).
async fn sandbox() -> SandboxHandle {
    Sandbox::builder().cuan10pay_rate_limit(None).start().await.unwrap()
}

/// The variables pointing Cuan10pay, Cash In and QRIS at `sandbox` (the credentials of the
/// first two come from [`gateway_env`]).
fn at_sandbox(sandbox: &SandboxHandle) -> Vec<(String, String)> {
    vec![
        ("GERBANG_CUAN10PAY_BASE_URL".into(), sandbox.base_url(ProviderId::Cuan10pay)),
        ("GERBANG_CASHIN_BASE_URL".into(), sandbox.base_url(ProviderId::CashIn)),
        ("GERBANG_QRIS_BASE_URL".into(), sandbox.base_url(ProviderId::Qris)),
        ("GERBANG_QRIS_API_KEY".into(), qris::API_KEY.into()),
    ]
}

/// The same, with Cuan10pay's base URL on a loopback port where nothing listens: every
/// connection to it is refused.
fn cuan10pay_down(sandbox: &SandboxHandle) -> Vec<(String, String)> {
    let mut variables = at_sandbox(sandbox);
    variables[0].1 = format!("http://127.0.0.1:{}/api", free_port());
    variables
}

/// `gerbang route create ARGS…` with `variables` and the sandbox's credentials.
async fn route(variables: &[(String, String)], args: &[&str]) -> Run {
    let command = tokio::process::Command::new(env!("CARGO_BIN_EXE_gerbang"))
        .args(["route", "create"])
        .args(args)
        .envs(gateway_env())
        .envs(variables.iter().map(|(k, v)| (k, v)))
        .env_remove("GERBANG_STORE_URL")
        .stdin(Stdio::null())
        .output();
    let output =
        tokio::time::timeout(Duration::from_secs(60), command).await.expect("gerbang ran within 60 s").unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let json = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {:?}; stderr: {stderr}", output.stdout));
    Run { success: output.status.success(), code: output.status.code(), json, stderr }
}

/// A QRIS payment of `amount` rupiah that Cuan10pay and the QRIS gateway both take.
fn qris_payment<'a>(via: &'a str, reference: &'a str, amount: &'a str) -> Vec<&'a str> {
    vec!["--via", via, "--reference", reference, "--amount", amount, "--channel", "qris"]
}

/// A payment Cash In takes: it needs the customer's id and phone, and a page to come back to.
fn cashin_payment<'a>(via: &'a str, reference: &'a str) -> Vec<&'a str> {
    let mut args = qris_payment(via, reference, "150000");
    args.extend([
        "--customer-id",
        "CUST-42",
        "--customer-phone",
        "081234567890",
        "--return-url",
        "https://shop.example/orders/42",
    ]);
    args
}

/// Counts the calls of `gateway`'s `operation` (`any` for all) without changing them: a fault
/// that only waits a millisecond. Returns its id for [`calls`].
fn count_calls(sandbox: &SandboxHandle, gateway: ProviderId, operation: &str) -> u64 {
    let fault = Fault::new(gateway, operation, FaultAction::Delay).delay(Duration::from_millis(1));
    sandbox.inject_fault(fault).unwrap().id
}

/// How many calls the counter `id` has seen.
fn calls(sandbox: &SandboxHandle, id: u64) -> u64 {
    sandbox.faults().iter().find(|f| f.id == id).map(|f| f.hits).unwrap()
}

/// The gateways holding the sandbox's payments, one entry per payment.
fn payments_at(sandbox: &SandboxHandle) -> Vec<ProviderId> {
    let mut at: Vec<ProviderId> = sandbox.payments().iter().map(|p| p.provider).collect();
    at.sort();
    at
}

#[tokio::test(flavor = "multi_thread")]
async fn a_gateway_refusing_connections_fails_over_to_the_next_which_creates() {
    let sandbox = sandbox().await;
    let run = route(&cuan10pay_down(&sandbox), &qris_payment("cuan10pay,qris", "R-DOWN", "50000")).await;
    assert!(run.success, "{}", run.stderr);
    assert_eq!(run.attempts(), attempts(&[("cuan10pay", "never_reached"), ("qris", "created")]));
    assert!(run.json["attempts"][0]["detail"].is_string(), "{}", run.json);
    assert!(run.json["attempts"][1].get("detail").is_none(), "a creation has no detail: {}", run.json);
    // The payment's own JSON, beside its attempts.
    assert_eq!(run.json["provider"], "qris");
    assert_eq!(run.json["status"], "pending");
    assert_eq!(run.json["amount"]["value"], "50000");
    assert_eq!(payments_at(&sandbox), [ProviderId::Qris], "exactly one payment in all");
}

#[tokio::test(flavor = "multi_thread")]
async fn cuan10pay_answer_lost_stops_with_unknown_and_the_second_is_never_called() {
    let sandbox = sandbox().await;
    sandbox.inject_fault(Fault::new(ProviderId::Cuan10pay, "create", FaultAction::CutAfter).times(1)).unwrap();
    let qris_creates = count_calls(&sandbox, ProviderId::Qris, "create");
    let run = route(&at_sandbox(&sandbox), &qris_payment("cuan10pay,qris", "R-LOST", "50000")).await;
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert_eq!(run.attempts(), attempts(&[("cuan10pay", "unknown")]));
    assert!(run.json["error"].as_str().unwrap().contains("answer was lost"), "{}", run.json);
    // One line on stderr: the payment may exist there, and how to check; never "elsewhere".
    let line = run.stderr.trim_end();
    assert!(!line.contains('\n'), "{line}");
    assert!(line.starts_with("error: the payment may exist at cuan10pay, so no other gateway was tried"), "{line}");
    assert!(line.contains("look for R-LOST in its dashboard"), "{line}");
    assert_eq!(calls(&sandbox, qris_creates), 0, "never a second gateway after an unknown outcome");
    assert_eq!(payments_at(&sandbox), [ProviderId::Cuan10pay], "the lost answer's payment, and no other");
}

#[tokio::test(flavor = "multi_thread")]
async fn cashin_answer_lost_is_found_by_reference_and_the_second_is_never_called() {
    let sandbox = sandbox().await;
    sandbox.inject_fault(Fault::new(ProviderId::CashIn, "create", FaultAction::CutAfter).times(1)).unwrap();
    let cuan10pay_calls = count_calls(&sandbox, ProviderId::Cuan10pay, "any");
    let run = route(&at_sandbox(&sandbox), &cashin_payment("cashin,cuan10pay", "R-FOUND")).await;
    assert!(run.success, "{}", run.stderr);
    assert_eq!(run.attempts(), attempts(&[("cashin", "unknown"), ("cashin", "found_by_reference")]));
    assert_eq!(run.json["provider"], "cashin");
    assert_eq!(run.json["reference"], "R-FOUND");
    assert_eq!(calls(&sandbox, cuan10pay_calls), 0);
    assert_eq!(payments_at(&sandbox), [ProviderId::CashIn]);
}

/// Cuan10pay creates the payment, given the request without Cash In's `--customer-id`, which it
/// has no place for.
#[tokio::test(flavor = "multi_thread")]
async fn cashin_cut_before_handling_is_not_found_by_reference_and_the_second_creates() {
    let sandbox = sandbox().await;
    sandbox.inject_fault(Fault::new(ProviderId::CashIn, "create", FaultAction::Cut).times(1)).unwrap();
    let run = route(&at_sandbox(&sandbox), &cashin_payment("cashin,cuan10pay", "R-NOT-FOUND")).await;
    assert!(run.success, "{}", run.stderr);
    assert_eq!(
        run.attempts(),
        attempts(&[("cashin", "unknown"), ("cashin", "not_found_by_reference"), ("cuan10pay", "created")])
    );
    assert_eq!(run.json["attempts"][2]["left_out"], serde_json::json!(["customer.id"]), "{}", run.json);
    assert_eq!(run.json["provider"], "cuan10pay");
    assert_eq!(payments_at(&sandbox), [ProviderId::Cuan10pay]);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_amount_outside_cuan10pay_range_is_skipped_without_a_request() {
    let sandbox = sandbox().await;
    let cuan10pay_calls = count_calls(&sandbox, ProviderId::Cuan10pay, "any");
    for (reference, amount) in [("R-SMALL", "5000"), ("R-LARGE", "20000000")] {
        let run = route(&at_sandbox(&sandbox), &qris_payment("cuan10pay,qris", reference, amount)).await;
        assert!(run.success, "{}", run.stderr);
        assert_eq!(run.attempts(), attempts(&[("cuan10pay", "skipped_limits"), ("qris", "created")]));
        let detail = run.json["attempts"][0]["detail"].as_str().unwrap();
        assert!(detail.contains("10000"), "the limit is named: {detail}");
    }
    assert_eq!(calls(&sandbox, cuan10pay_calls), 0, "no request reached Cuan10pay");
    assert_eq!(payments_at(&sandbox), [ProviderId::Qris, ProviderId::Qris]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_route_that_creates_nothing_prints_every_attempt_and_fails() {
    let sandbox = sandbox().await;
    // Cuan10pay down, and a virtual account, which the QRIS gateway does not offer.
    let args = ["--via", "cuan10pay,qris", "--reference", "R-NONE", "--amount", "50000", "--channel", "va:bca"];
    let run = route(&cuan10pay_down(&sandbox), &args).await;
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert_eq!(run.attempts(), attempts(&[("cuan10pay", "never_reached"), ("qris", "skipped_limits")]));
    assert!(run.json["error"].is_string(), "{}", run.json);
    let line = run.stderr.trim_end();
    assert!(!line.contains('\n'), "{line}");
    assert!(
        line.starts_with("error: the route returned no payment (cuan10pay never_reached, qris skipped_limits): "),
        "{line}"
    );
    assert!(sandbox.payments().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn three_processes_on_one_redis_share_the_circuit() {
    let Some(redis) = RedisServer::start() else { return };
    let sandbox = sandbox().await;
    let store = redis.url();
    let flags = ["--store", store.as_str(), "--circuit-failures", "3", "--circuit-cool-down", "1"];
    let down = cuan10pay_down(&sandbox);
    for n in 1..=3 {
        let reference = format!("R-CIRCUIT-{n}");
        let mut args = qris_payment("cuan10pay,qris", &reference, "50000");
        args.extend(flags);
        let run = route(&down, &args).await;
        assert!(run.success, "{}", run.stderr);
        assert_eq!(run.attempts(), attempts(&[("cuan10pay", "never_reached"), ("qris", "created")]), "process {n}");
    }
    // Cuan10pay answers again, but its circuit is open: the next process does not call it.
    let cuan10pay_calls = count_calls(&sandbox, ProviderId::Cuan10pay, "create");
    let mut args = qris_payment("cuan10pay,qris", "R-CIRCUIT-OPEN", "50000");
    args.extend(flags);
    let run = route(&at_sandbox(&sandbox), &args).await;
    assert!(run.success, "{}", run.stderr);
    assert_eq!(run.attempts(), attempts(&[("cuan10pay", "circuit_open"), ("qris", "created")]));
    assert_eq!(calls(&sandbox, cuan10pay_calls), 0, "skipped without a request");
    // After the cool-down, one probe: it creates, and the circuit closes.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    for reference in ["R-CIRCUIT-PROBE", "R-CIRCUIT-CLOSED"] {
        let mut args = qris_payment("cuan10pay,qris", reference, "50000");
        args.extend(flags);
        let run = route(&at_sandbox(&sandbox), &args).await;
        assert!(run.success, "{}", run.stderr);
        assert_eq!(run.attempts(), attempts(&[("cuan10pay", "created")]), "{reference}");
    }
    assert_eq!(calls(&sandbox, cuan10pay_calls), 2, "the probe, then a closed circuit's call");
    let mut expected = vec![ProviderId::Cuan10pay; 2];
    expected.extend([ProviderId::Qris; 4]);
    assert_eq!(payments_at(&sandbox), expected, "one payment per route");
}

#[tokio::test(flavor = "multi_thread")]
async fn with_a_store_every_attempt_is_in_the_ledger() {
    let Some(redis) = RedisServer::start() else { return };
    let sandbox = sandbox().await;
    let store = redis.url();
    let mut args = qris_payment("cuan10pay,qris", "R-LEDGER-1", "50000");
    args.extend(["--store", store.as_str()]);
    let run = route(&cuan10pay_down(&sandbox), &args).await;
    assert!(run.success, "{}", run.stderr);
    sandbox.inject_fault(Fault::new(ProviderId::Cuan10pay, "create", FaultAction::CutAfter).times(1)).unwrap();
    let mut args = qris_payment("cuan10pay,qris", "R-LEDGER-2", "50000");
    args.extend(["--store", store.as_str()]);
    let run = route(&at_sandbox(&sandbox), &args).await;
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert!(run.stderr.contains("the ledger watches it as unknown"), "{}", run.stderr);

    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_gerbang"))
        .args(["watched", "--store", &store])
        .env_remove("GERBANG_STORE_URL")
        .output()
        .await
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let watched: Value = serde_json::from_slice(&output.stdout).unwrap();
    let mut records: Vec<(String, String, String)> = watched
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let field = |name: &str| r[name].as_str().unwrap().to_owned();
            (field("reference"), field("provider"), field("state"))
        })
        .collect();
    records.sort();
    let expected = [
        ("R-LEDGER-1", "cuan10pay", "not_created"),
        ("R-LEDGER-1", "qris", "pending"),
        ("R-LEDGER-2", "cuan10pay", "unknown"),
    ]
    .map(|(r, g, s)| (r.to_owned(), g.to_owned(), s.to_owned()));
    assert_eq!(records, expected);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_usage_exits_with_2_before_any_request() {
    let sandbox = sandbox().await;
    let any_calls = [ProviderId::Cuan10pay, ProviderId::Qris].map(|g| count_calls(&sandbox, g, "any"));
    for (args, needle) in [
        (qris_payment("cuan10pay,cuan10pay", "R-TWICE", "50000"), "--via names cuan10pay twice"),
        (qris_payment("cuan10pay,paypal", "R-UNKNOWN", "50000"), "`paypal` is not a gateway"),
        (
            [qris_payment("cuan10pay,qris", "R-BASE", "50000"), vec!["--base-url", "http://127.0.0.1:9/api"]].concat(),
            "GERBANG_CUAN10PAY_BASE_URL",
        ),
    ] {
        let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_gerbang"))
            .args(["route", "create"])
            .args(&args)
            .envs(gateway_env())
            .envs(at_sandbox(&sandbox))
            .env_remove("GERBANG_STORE_URL")
            .output()
            .await
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
    }
    for id in any_calls {
        assert_eq!(calls(&sandbox, id), 0);
    }
}
