//! The `gerbang` binary against an in-process sandbox: JSON shapes on stdout, one-line errors on
//! stderr, exit codes 0 / 1 / 2, as DESIGN.md promises to anyone scripting against it.
// The helpers below are test code too; clippy's allow-in-tests only covers #[test] functions.
#![allow(clippy::unwrap_used)]

use std::process::Output;

use gerbang::ProviderId;
use gerbang::sandbox::{Sandbox, SandboxHandle};
use serde_json::Value;

/// DESIGN.md's `Payment` shape, sorted.
const PAYMENT_KEYS: [&str; 13] = [
    "amount",
    "checkout_url",
    "created_at",
    "expires_at",
    "fee",
    "payment_code",
    "provider",
    "provider_reference",
    "provider_status",
    "qr_image_url",
    "reference",
    "status",
    "total",
];

async fn gerbang(sandbox: &SandboxHandle, args: &[&str]) -> Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_gerbang"))
        .args(["--base-url", &sandbox.base_url(ProviderId::Cuan10pay)])
        .args(args)
        .env("GERBANG_CUAN10PAY_API_KEY", gerbang::sandbox::cuan10pay::API_KEY)
        .env("GERBANG_CUAN10PAY_PRIVATE_KEY", gerbang::sandbox::cuan10pay::PRIVATE_KEY)
        .env("GERBANG_SANDBOX_URL", sandbox.url())
        .output()
        .await
        .unwrap()
}

fn json(output: &Output) -> Value {
    assert!(output.status.success(), "stderr: {}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).unwrap()
}

fn stderr_line(output: &Output) -> String {
    let text = String::from_utf8(output.stderr.clone()).unwrap();
    assert_eq!(text.lines().count(), 1, "errors are one line: {text:?}");
    assert!(output.stdout.is_empty());
    text
}

#[tokio::test]
async fn create_pay_status_follow_the_payment_shape() {
    let sandbox = Sandbox::builder().start().await.unwrap();
    let created = json(
        &gerbang(
            &sandbox,
            &[
                "cuan10pay",
                "create",
                "--reference",
                "ORDER-7",
                "--amount",
                "50000",
                "--channel",
                "va:bca",
                "--customer-name",
                "Budi",
            ],
        )
        .await,
    );
    let mut keys: Vec<&str> = created.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, PAYMENT_KEYS);
    assert_eq!(created["status"], "pending");
    assert_eq!(created["reference"], "ORDER-7");
    assert_eq!(created["amount"], serde_json::json!({"value": "50000", "currency": "IDR"}));
    let id = created["provider_reference"].as_str().unwrap().to_owned();

    let paid = json(&gerbang(&sandbox, &["sandbox", "pay", "cuan10pay", &id]).await);
    assert_eq!(paid["status"], "paid");

    let status = json(&gerbang(&sandbox, &["cuan10pay", "status", &id]).await);
    assert_eq!(status["status"], "paid");
    assert_eq!(status["provider_reference"], id.as_str());
}

#[tokio::test]
async fn errors_are_one_line_with_exit_code_1_and_usage_errors_exit_2() {
    let sandbox = Sandbox::builder().start().await.unwrap();
    let unknown = gerbang(&sandbox, &["cuan10pay", "status", "CP-NOPE"]).await;
    assert_eq!(unknown.status.code(), Some(1));
    assert!(stderr_line(&unknown).contains("not found"));

    let too_small =
        gerbang(&sandbox, &["cuan10pay", "create", "--reference", "R", "--amount", "5000", "--channel", "qris"]).await;
    assert_eq!(too_small.status.code(), Some(1));
    assert!(stderr_line(&too_small).contains("amount"));

    let cancel = gerbang(&sandbox, &["cuan10pay", "cancel", "CP-1"]).await;
    assert_eq!(cancel.status.code(), Some(1));
    assert!(stderr_line(&cancel).contains("does not support"));

    let usage = gerbang(&sandbox, &["cuan10pay", "create", "--reference", "R"]).await;
    assert_eq!(usage.status.code(), Some(2));
}

#[tokio::test]
async fn catalogues_and_orders_print_their_answers() {
    let sandbox = Sandbox::builder().start().await.unwrap();
    let products = json(&gerbang(&sandbox, &["cuan10pay", "voucher", "products", "--game", "ml"]).await);
    assert!(products.as_array().is_some_and(|items| !items.is_empty()));
    let order = json(
        &gerbang(
            &sandbox,
            &[
                "cuan10pay",
                "ppob",
                "order",
                "--product-code",
                "PULSA_50K",
                "--target",
                "081234567890",
                "--ref",
                "ORDER123",
            ],
        )
        .await,
    );
    assert_eq!(order["ref"], "ORDER123");
}

#[tokio::test]
async fn webhook_verify_prints_the_event_or_fails_with_exit_1() {
    let sandbox = Sandbox::builder().start().await.unwrap();
    let dir = std::env::temp_dir().join(format!("gerbang-cli-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let verifier = gerbang::cuan10pay::WebhookVerifier::new(gerbang::sandbox::cuan10pay::PRIVATE_KEY);
    let now = gerbang::time::OffsetDateTime::now_utc().unix_timestamp();
    let good = dir.join("good.json");
    std::fs::write(&good, verifier.signed_body("CP-1", "PAID", 100_000, now)).unwrap();
    let bad = dir.join("bad.json");
    std::fs::write(&bad, verifier.signed_body("CP-1", "PAID", 100_000, now).replace("100000", "100001")).unwrap();

    let event = json(
        &gerbang(
            &sandbox,
            &[
                "webhook",
                "verify",
                "cuan10pay",
                "--body",
                good.to_str().unwrap(),
                "--header",
                "Content-Type: application/json",
            ],
        )
        .await,
    );
    let mut keys: Vec<&str> = event.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        ["ack", "amount", "occurred_at", "provider", "provider_reference", "provider_status", "reference", "status"]
    );
    assert_eq!(event["status"], "paid");
    assert_eq!(event["ack"]["status"], 200);

    let refused = gerbang(&sandbox, &["webhook", "verify", "cuan10pay", "--body", bad.to_str().unwrap()]).await;
    assert_eq!(refused.status.code(), Some(1));
    assert!(stderr_line(&refused).contains("signature"));
    let _ = std::fs::remove_dir_all(dir);
}
