//! The examples, run as a user runs them. `cargo run --example quickstart`, the README's first
//! command: with no credentials every gateway runs against the built-in sandbox, and the run says
//! which mode each gateway is in and why, also when a shell still holds the sandbox's published
//! test keys. `webhook_server --demo`: a lost webhook's change is handled, by reconciliation.
#![allow(clippy::unwrap_used)] // Test code.

use std::path::PathBuf;
use std::process::{Command, Output};

/// An example's binary, which `cargo test` built beside this test (target/debug/examples/).
fn example(name: &str) -> PathBuf {
    let test = std::env::current_exe().unwrap();
    let debug = test.parent().and_then(|deps| deps.parent()).unwrap();
    debug.join("examples").join(format!("{name}{}", std::env::consts::EXE_SUFFIX))
}

fn run(variables: &[(&str, &str)]) -> Output {
    run_example("quickstart", &[], variables)
}

fn run_example(name: &str, args: &[&str], variables: &[(&str, &str)]) -> Output {
    let mut command = Command::new(example(name));
    command.args(args);
    for (name, _) in std::env::vars().filter(|(name, _)| name.starts_with("GERBANG_")) {
        command.env_remove(name);
    }
    command.envs(variables.iter().copied()).output().unwrap()
}

#[test]
fn with_no_credentials_every_gateway_runs_on_the_sandbox_and_says_why() {
    let output = run(&[]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    for (gateway, variable) in [
        ("cuan10pay", "GERBANG_CUAN10PAY_API_KEY"),
        ("cashin", "GERBANG_CASHIN_CLIENT_ID"),
        ("qris", "GERBANG_QRIS_API_KEY"),
        ("crypto-invoice", "GERBANG_CRYPTO_INVOICE_PUBLIC_KEY"),
        ("ciputra", "GERBANG_CIPUTRA_API_KEY"),
    ] {
        let line = stdout.lines().find(|l| l.trim_start().starts_with(&format!("{gateway} "))).unwrap();
        assert!(line.contains(&format!("sandbox: {variable} is not set")), "{line}");
    }
    assert!(stdout.contains("Every gateway went create -> pay"), "{stdout}");
}

#[test]
fn the_sandboxs_own_keys_left_in_the_shell_are_pointed_out() {
    // What `eval "$(gerbang sandbox env)"` leaves behind, with that sandbox gone.
    let output =
        run(&[("GERBANG_QRIS_API_KEY", "sandbox-qris-api-key"), ("GERBANG_QRIS_BASE_URL", "http://127.0.0.1:9/qris")]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout.lines().find(|l| l.trim_start().starts_with("qris ")).unwrap();
    assert!(
        line.contains("live") && line.contains("published test key") && line.contains("unset GERBANG_QRIS_API_KEY"),
        "{line}"
    );
    assert!(!output.status.success(), "the unreachable QRIS fails the run");
}

#[test]
fn the_webhook_server_demo_handles_a_lost_webhooks_change_by_reconciliation() {
    let output = run_example("webhook_server", &["--demo"], &[]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("sent 1 webhook(s) and lost 1; changes handled: 2"), "{stdout}");
}
