//! Rotating a webhook secret through the binary, as an operator does it: with the `…_PREVIOUS`
//! variable set, `gerbang webhook verify` (the verifier `webhook serve` uses) accepts webhooks
//! made with the previous key and with the new one, and refuses a third; once the variable is
//! removed, the previous key is refused. For all three gateways that hold a webhook secret.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Output;

use gerbang::cashin::{NOTIFY_PATH, NotificationSigner, PrivateKey, format_timestamp};
use gerbang::time::OffsetDateTime;

const CURRENT: &str = "rotation-current-key-C1";
const PREVIOUS: &str = "rotation-previous-key-P2";
const THIRD: &str = "rotation-third-key-T3";

/// A webhook to hand the binary: its body, and its headers as `Name: value`.
struct Webhook {
    body: String,
    headers: Vec<String>,
}

fn scratch(gateway: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("gerbang-cli-rotation-{gateway}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `gerbang webhook verify <gateway>` on `webhook`, with only `env` in the environment.
async fn verify(dir: &Path, gateway: &str, webhook: &Webhook, env: &[(&str, String)]) -> Output {
    let file = dir.join("body.json");
    std::fs::write(&file, &webhook.body).unwrap();
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_gerbang"));
    command.env_clear().args(["webhook", "verify", gateway, "--body", file.to_str().unwrap()]);
    for header in &webhook.headers {
        command.args(["--header", header]);
    }
    command.envs(env.iter().map(|(name, value)| (*name, value.as_str())));
    let output = command.output().await.unwrap();
    std::fs::remove_file(file).unwrap();
    output
}

fn now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

/// Runs the rotation on one gateway: `webhook(i)` is a webhook made with key `i` (0 current,
/// 1 previous, 2 neither); `env(previous)` the variables, with or without the previous key.
async fn check_gateway(
    gateway: &str,
    webhook: impl Fn(usize) -> Webhook,
    env: impl Fn(bool) -> Vec<(&'static str, String)>,
) {
    let dir = scratch(gateway);
    let with_previous = env(true);
    for key in [0, 1] {
        let output = verify(&dir, gateway, &webhook(key), &with_previous).await;
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{gateway}: key {key} refused during the rotation: {stderr}");
    }
    let third = verify(&dir, gateway, &webhook(2), &with_previous).await;
    assert_eq!(third.status.code(), Some(1), "{gateway}: a third key is refused");

    let after = env(false);
    assert!(verify(&dir, gateway, &webhook(0), &after).await.status.success(), "{gateway}: the new key verifies");
    for key in [1, 2] {
        let output = verify(&dir, gateway, &webhook(key), &after).await;
        assert_eq!(output.status.code(), Some(1), "{gateway}: key {key} is refused once the previous key is removed");
        let stderr = String::from_utf8_lossy(&output.stderr);
        for secret in [CURRENT, PREVIOUS, THIRD] {
            assert!(!stderr.contains(secret), "{gateway}: {stderr}");
        }
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn cuan10pay_accepts_both_keys_during_a_rotation_and_the_new_one_after() {
    let keys = [CURRENT, PREVIOUS, THIRD];
    let webhook = |i: usize| Webhook {
        body: gerbang::cuan10pay::WebhookVerifier::new(keys[i]).signed_body("CP-1", "PAID", 100_000, now()),
        headers: vec![],
    };
    let env = |previous: bool| {
        let mut env = vec![("GERBANG_CUAN10PAY_PRIVATE_KEY", CURRENT.to_owned())];
        if previous {
            env.push(("GERBANG_CUAN10PAY_PRIVATE_KEY_PREVIOUS", PREVIOUS.to_owned()));
        }
        env
    };
    check_gateway("cuan10pay", webhook, env).await;
}

#[tokio::test]
async fn crypto_invoice_accepts_both_keys_during_a_rotation_and_the_new_one_after() {
    let keys = [CURRENT, PREVIOUS, THIRD];
    let webhook = |i: usize| Webhook {
        body: serde_json::json!({
            "private_key": keys[i], "id": 1001, "order_id": "ORDER-5", "price_amount": "25.50",
            "price_currency": "USD", "amount": "25.50", "amount_currency": "USDT", "test": 1,
        })
        .to_string(),
        headers: vec![],
    };
    let env = |previous: bool| {
        let mut env = vec![("GERBANG_CRYPTO_INVOICE_PRIVATE_KEY", CURRENT.to_owned())];
        if previous {
            env.push(("GERBANG_CRYPTO_INVOICE_PRIVATE_KEY_PREVIOUS", PREVIOUS.to_owned()));
        }
        env
    };
    check_gateway("crypto-invoice", webhook, env).await;
}

#[tokio::test]
async fn cashin_accepts_both_public_keys_during_a_rotation_and_the_new_one_after() {
    // The test plays Cash In with key pairs of its own: the new one, the old one, and another.
    let keys: Vec<PrivateKey> = (0..3).map(|_| PrivateKey::generate(2048).unwrap()).collect();
    let pems: Vec<String> = keys.iter().map(|key| key.public_key().to_pem()).collect();
    let body = r#"{"originalPartnerReferenceNo":"CI-1","originalReferenceNo":"ORDER-9","latestTransactionStatus":"00","amount":{"value":"150000.00","currency":"IDR"}}"#;
    let webhook = |i: usize| {
        let timestamp = format_timestamp(OffsetDateTime::now_utc());
        let headers =
            NotificationSigner::new(keys[i].clone(), "PARTNER-1").headers(NOTIFY_PATH, body.as_bytes(), &timestamp);
        let headers = headers.unwrap();
        Webhook {
            body: body.to_owned(),
            headers: headers.iter().map(|(name, value)| format!("{name}: {}", value.to_str().unwrap())).collect(),
        }
    };
    let env = |previous: bool| {
        let mut env = vec![("GERBANG_CASHIN_PUBLIC_KEY", pems[0].clone())];
        if previous {
            env.push(("GERBANG_CASHIN_PUBLIC_KEY_PREVIOUS", pems[1].clone()));
        }
        env
    };
    check_gateway("cashin", webhook, env).await;
}
