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

/// `gerbang --base-url <Cuan10pay in the sandbox> ARGS…`.
async fn gerbang(sandbox: &SandboxHandle, args: &[&str]) -> Output {
    gerbang_at(sandbox, ProviderId::Cuan10pay, args).await
}

/// `gerbang --base-url <provider in the sandbox> ARGS…`, with every gateway's sandbox credentials
/// in the environment, as `gerbang sandbox serve` prints them.
async fn gerbang_at(sandbox: &SandboxHandle, provider: ProviderId, args: &[&str]) -> Output {
    use gerbang::sandbox::{cashin, ciputra, crypto_invoice, cuan10pay, qris};
    tokio::process::Command::new(env!("CARGO_BIN_EXE_gerbang"))
        .args(["--base-url", &sandbox.base_url(provider)])
        .args(args)
        .env("GERBANG_CUAN10PAY_API_KEY", cuan10pay::API_KEY)
        .env("GERBANG_CUAN10PAY_PRIVATE_KEY", cuan10pay::PRIVATE_KEY)
        .env("GERBANG_CASHIN_CLIENT_ID", cashin::CLIENT_ID)
        .env("GERBANG_CASHIN_SECRET_KEY", cashin::SECRET_KEY)
        .env("GERBANG_CASHIN_PUBLIC_KEY", cashin::public_key_pem())
        .env("GERBANG_QRIS_API_KEY", qris::API_KEY)
        .env("GERBANG_QRIS_BASE_URL", "http://127.0.0.1:9/unused-the-flag-wins")
        .env("GERBANG_CRYPTO_INVOICE_PUBLIC_KEY", crypto_invoice::PUBLIC_KEY)
        .env("GERBANG_CRYPTO_INVOICE_PRIVATE_KEY", crypto_invoice::PRIVATE_KEY)
        .env("GERBANG_CIPUTRA_API_KEY", ciputra::API_KEY)
        .env("GERBANG_CIPUTRA_API_SECRET", ciputra::API_SECRET)
        .env("GERBANG_CIPUTRA_BASE_URL", "http://127.0.0.1:9/unused-the-flag-wins")
        .env("GERBANG_SANDBOX_URL", sandbox.url())
        .output()
        .await
        .unwrap()
}

fn sorted_keys(value: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = value.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    keys
}

/// DESIGN.md's `WebhookEvent` shape, sorted.
const EVENT_KEYS: [&str; 8] =
    ["ack", "amount", "occurred_at", "provider", "provider_reference", "provider_status", "reference", "status"];

/// A scratch directory for one test's files.
fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("gerbang-cli-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
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
    assert_eq!(sorted_keys(&created), PAYMENT_KEYS);
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
    let dir = scratch("cuan10pay");
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
    assert_eq!(sorted_keys(&event), EVENT_KEYS);
    assert_eq!(event["status"], "paid");
    assert_eq!(event["ack"]["status"], 200);

    let refused = gerbang(&sandbox, &["webhook", "verify", "cuan10pay", "--body", bad.to_str().unwrap()]).await;
    assert_eq!(refused.status.code(), Some(1));
    assert!(stderr_line(&refused).contains("signature"));
    let _ = std::fs::remove_dir_all(dir);
}

/// Each of the other four gateways: `create` and `status` print DESIGN.md's `Payment`, and the
/// status follows the sandbox from pending to paid. `status` takes the id the gateway looks
/// payments up by: the merchant's reference, or the gateway's own id (QRIS).
#[tokio::test]
async fn every_gateway_creates_and_reads_back_in_the_payment_shape() {
    let sandbox = Sandbox::builder().start().await.unwrap();
    let cases: [(ProviderId, &[&str]); 4] = [
        (
            ProviderId::CashIn,
            &[
                "--channel",
                "qris",
                "--customer-id",
                "CUST-1",
                "--customer-phone",
                "081234567890",
                "--return-url",
                "https://shop.example/orders/1",
            ],
        ),
        (ProviderId::Qris, &[]),
        (ProviderId::CryptoInvoice, &["--customer-email", "budi@example.com"]),
        (ProviderId::Ciputra, &["--channel", "va:bca", "--customer-name", "Budi Santoso"]),
    ];
    for (provider, extra) in cases {
        let reference = format!("CLI-{}", provider.as_str().to_uppercase());
        let mut args = vec![provider.as_str(), "create", "--reference", &reference, "--amount", "150000"];
        args.extend_from_slice(extra);
        let created = json(&gerbang_at(&sandbox, provider, &args).await);
        assert_eq!(sorted_keys(&created), PAYMENT_KEYS, "{provider}");
        assert_eq!(created["provider"], provider.as_str());
        assert_eq!(created["status"], "pending", "{provider}: {created}");
        assert_eq!(created["amount"], serde_json::json!({"value": "150000", "currency": "IDR"}), "{provider}");

        let key = match provider {
            ProviderId::Qris => created["provider_reference"].as_str().unwrap().to_owned(),
            _ => reference.clone(),
        };
        let paid = json(&gerbang_at(&sandbox, provider, &["sandbox", "pay", provider.as_str(), &key]).await);
        assert_eq!(paid["status"], "paid", "{provider}");
        let status = json(&gerbang_at(&sandbox, provider, &[provider.as_str(), "status", &key]).await);
        assert_eq!(sorted_keys(&status), PAYMENT_KEYS, "{provider}");
        assert_eq!(status["status"], "paid", "{provider}: {status}");
    }
}

#[tokio::test]
async fn cancel_is_refused_where_the_gateway_has_none_and_done_where_it_has() {
    let sandbox = Sandbox::builder().start().await.unwrap();
    for provider in [ProviderId::CashIn, ProviderId::CryptoInvoice] {
        let refused = gerbang_at(&sandbox, provider, &[provider.as_str(), "cancel", "ANY"]).await;
        assert_eq!(refused.status.code(), Some(1));
        assert!(stderr_line(&refused).contains("does not support"), "{provider}");
    }
    let created = json(
        &gerbang_at(&sandbox, ProviderId::Qris, &["qris", "create", "--reference", "R", "--amount", "20000"]).await,
    );
    let id = created["provider_reference"].as_str().unwrap();
    let cancelled = json(&gerbang_at(&sandbox, ProviderId::Qris, &["qris", "cancel", id]).await);
    assert_eq!(
        (cancelled["status"].as_str(), cancelled["provider_status"].as_str()),
        (Some("cancelled"), Some("expired"))
    );

    let args = ["ciputra", "create", "--reference", "CANCEL-ME", "--amount", "50000", "--customer-name", "Siti"];
    json(&gerbang_at(&sandbox, ProviderId::Ciputra, &args).await);
    let cancelled = json(&gerbang_at(&sandbox, ProviderId::Ciputra, &["ciputra", "cancel", "CANCEL-ME"]).await);
    assert_eq!(cancelled["status"], "cancelled", "{cancelled}");
}

#[tokio::test]
async fn qris_balance_and_withdrawals_print_their_answers() {
    let sandbox = Sandbox::builder().qris_balance(500_000).start().await.unwrap();
    let qris = |args: &'static [&'static str]| gerbang_at(&sandbox, ProviderId::Qris, args);
    let balance = json(&qris(&["qris", "balance"]).await);
    assert_eq!(balance["balance"], serde_json::json!({"value": "500000", "currency": "IDR"}));

    let args = [
        "qris",
        "withdraw",
        "create",
        "--amount",
        "100000",
        "--account-number",
        "081234567890",
        "--account-name",
        "Budi",
    ];
    let withdrawal = json(&gerbang_at(&sandbox, ProviderId::Qris, &args).await);
    assert_eq!(withdrawal["status"], "pending");
    let id = withdrawal["withdraw_id"].as_str().unwrap().to_owned();
    let status = json(&gerbang_at(&sandbox, ProviderId::Qris, &["qris", "withdraw", "status", &id]).await);
    assert_eq!(status["withdraw_id"], id.as_str());

    let page = json(&qris(&["qris", "withdraw", "history", "--limit", "5"]).await);
    assert_eq!(page["data"].as_array().map(Vec::len), Some(1));
    let every = json(&qris(&["qris", "withdraw", "history", "--all", "--status", "pending"]).await);
    assert_eq!(every.as_array().map(Vec::len), Some(1));

    let invalid =
        qris(&["qris", "withdraw", "create", "--amount", "0", "--account-number", "12", "--account-name", "B"]).await;
    assert_eq!(invalid.status.code(), Some(1));
    assert!(stderr_line(&invalid).contains("amount"));
}

#[tokio::test]
async fn ciputra_registration_status_prints_the_registration() {
    use gerbang::ciputra::{CiputraClient, CiputraConfig, PayCode, PayType, TransactionRequest};
    let sandbox = Sandbox::builder().start().await.unwrap();
    let config = CiputraConfig::builder(gerbang::sandbox::ciputra::API_KEY, gerbang::sandbox::ciputra::API_SECRET)
        .base_url(sandbox.base_url(ProviderId::Ciputra))
        .build()
        .unwrap();
    let registration = TransactionRequest::registration("REG-1", "Siti Rahma", PayType::Va, PayCode::Bca);
    CiputraClient::new(config).transaction(&registration).await.unwrap();

    let status =
        json(&gerbang_at(&sandbox, ProviderId::Ciputra, &["ciputra", "registration", "status", "REG-1"]).await);
    assert_eq!(status["external_id"], "REG-1", "{status}");
    let unknown = gerbang_at(&sandbox, ProviderId::Ciputra, &["ciputra", "registration", "status", "REG-NOPE"]).await;
    assert_eq!(unknown.status.code(), Some(1));
    stderr_line(&unknown);
}

/// A Cash In notification as the sandbox's key signs it, verified by the binary with the public
/// key from `GERBANG_CASHIN_PUBLIC_KEY` over the default notify path; a changed amount is refused.
#[tokio::test]
async fn webhook_verify_cashin_checks_the_snap_signature() {
    use gerbang::cashin::{NOTIFY_PATH, NotificationSigner, format_timestamp};
    let dir = scratch("cashin");
    let body = r#"{"originalPartnerReferenceNo":"CI-1","originalReferenceNo":"ORDER-9","originalExternalId":"EXT-1","latestTransactionStatus":"00","transactionStatusDesc":"Success","amount":{"value":"150000.00","currency":"IDR"}}"#;
    // The test plays Cash In with a key pair of its own, and hands the binary the public half.
    let key = gerbang::cashin::PrivateKey::generate(2048).unwrap();
    let public_pem = key.public_key().to_pem();
    let signer = NotificationSigner::new(key, "PARTNER-1");
    let timestamp = format_timestamp(gerbang::time::OffsetDateTime::now_utc());
    let headers = signer.headers(NOTIFY_PATH, body.as_bytes(), &timestamp).unwrap();
    let good = dir.join("good.json");
    std::fs::write(&good, body).unwrap();
    let bad = dir.join("bad.json");
    std::fs::write(&bad, body.replace("150000.00", "150001.00")).unwrap();

    let run = |file: std::path::PathBuf| {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_gerbang"));
        command.args(["webhook", "verify", "cashin", "--body", file.to_str().unwrap()]);
        for (name, value) in &headers {
            command.args(["--header", &format!("{name}: {}", value.to_str().unwrap())]);
        }
        command.env("GERBANG_CASHIN_PUBLIC_KEY", &public_pem);
        async move { command.output().await.unwrap() }
    };
    let event = json(&run(good).await);
    assert_eq!(sorted_keys(&event), EVENT_KEYS);
    assert_eq!((event["status"].as_str(), event["reference"].as_str()), (Some("paid"), Some("ORDER-9")));
    assert_eq!(event["ack"]["body"], r#"{"responseCode":"2005600","responseMessage":"Successful"}"#);

    let refused = run(bad).await;
    assert_eq!(refused.status.code(), Some(1));
    assert!(stderr_line(&refused).contains("signature"));
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn webhook_verify_crypto_invoice_compares_the_private_key() {
    let sandbox = Sandbox::builder().start().await.unwrap();
    let dir = scratch("crypto");
    let callback = serde_json::json!({
        "private_key": gerbang::sandbox::crypto_invoice::PRIVATE_KEY,
        "id": 1001, "order_id": "ORDER-5", "price_amount": "25.50", "price_currency": "USD",
        "amount": "25.50", "amount_currency": "USDT", "test": 1,
    });
    let good = dir.join("good.json");
    std::fs::write(&good, callback.to_string()).unwrap();
    let forged = dir.join("forged.json");
    std::fs::write(&forged, callback.to_string().replace("sandbox-crypto", "forged-crypto")).unwrap();
    let verify = |file: std::path::PathBuf| {
        let sandbox = &sandbox;
        async move {
            let args = ["webhook", "verify", "crypto-invoice", "--body", file.to_str().unwrap()];
            gerbang_at(sandbox, ProviderId::CryptoInvoice, &args).await
        }
    };
    let event = json(&verify(good).await);
    assert_eq!(sorted_keys(&event), EVENT_KEYS);
    assert_eq!((event["status"].as_str(), event["reference"].as_str()), (Some("paid"), Some("ORDER-5")));
    assert_eq!(event["amount"], serde_json::json!({"value": "25.50", "currency": "USD"}));

    let refused = verify(forged).await;
    assert_eq!(refused.status.code(), Some(1));
    stderr_line(&refused);
    let _ = std::fs::remove_dir_all(dir);
}

/// A duration flag too long for a `u64` of seconds (issue 10: `--tolerance 213503982334602d`
/// panicked with "attempt to multiply with overflow", exit 101) is a usage error naming the
/// limit; the longest accepted one is used without a panic.
#[tokio::test]
async fn duration_flags_past_the_limit_are_usage_errors_not_panics() {
    let sandbox = Sandbox::builder().start().await.unwrap();
    let dir = scratch("durations");
    let body = dir.join("body.json");
    let verifier = gerbang::cuan10pay::WebhookVerifier::new(gerbang::sandbox::cuan10pay::PRIVATE_KEY);
    let now = gerbang::time::OffsetDateTime::now_utc().unix_timestamp();
    std::fs::write(&body, verifier.signed_body("CP-1", "PAID", 100_000, now)).unwrap();
    let body = body.to_str().unwrap();
    let create = ["cuan10pay", "create", "--reference", "R-LONG", "--amount", "10000", "--channel", "qris"];

    for too_long in ["213503982334602d", "36526d", "99999999999999999999999"] {
        let verify =
            gerbang(&sandbox, &["webhook", "verify", "cuan10pay", "--body", body, "--tolerance", too_long]).await;
        let created = gerbang(&sandbox, &[&create[..], &["--expires-in", too_long]].concat()).await;
        for (flag, output) in [("--tolerance", verify), ("--expires-in", created)] {
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert_eq!(output.status.code(), Some(2), "{flag} {too_long}: {stderr}");
            assert!(stderr.contains(flag) && stderr.contains("too long: at most 36525 days"), "{stderr}");
            assert!(!stderr.contains("panicked"), "{stderr}");
            assert!(output.stdout.is_empty());
        }
    }

    // The limit itself is accepted, and nothing downstream overflows with it.
    let verify = gerbang(&sandbox, &["webhook", "verify", "cuan10pay", "--body", body, "--tolerance", "36525d"]).await;
    assert_eq!(json(&verify)["status"], "paid");
    let created = gerbang(&sandbox, &[&create[..], &["--expires-in", "36525d"]].concat()).await;
    let stderr = String::from_utf8_lossy(&created.stderr);
    assert!(matches!(created.status.code(), Some(0 | 1)), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let _ = std::fs::remove_dir_all(dir);
}

/// `gerbang sandbox serve` passes its limits on: links start with `--public-url` whatever the
/// `Host` header says, and `--max-payments` bounds each gateway's memory.
#[tokio::test]
async fn sandbox_serve_takes_its_limits_from_the_flags() {
    use tokio::io::AsyncBufReadExt;
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_gerbang"))
        .args(["sandbox", "serve", "--port", "0", "--max-payments", "1", "--public-url", "http://sandbox.test:8870/"])
        .args(["--max-connections", "8", "--header-read-timeout", "5s", "--idle-timeout", "30s"])
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    // The pretty-printed JSON ends with a closing brace alone on its line.
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let mut printed = String::new();
    while let Some(line) =
        tokio::time::timeout(std::time::Duration::from_secs(30), lines.next_line()).await.unwrap().unwrap()
    {
        printed.push_str(&line);
        if line == "}" {
            break;
        }
    }
    let printed: Value = serde_json::from_str(&printed).unwrap();
    let qris = printed["gateways"]["qris"]["base_url"].as_str().unwrap().to_owned();
    let key = gerbang::sandbox::qris::API_KEY;
    let client = reqwest::Client::new();
    let mut ids = Vec::new();
    for _ in 0..2 {
        let url = format!("{qris}/api/v1/invoice/create?amount=10000&apikey={key}");
        let response = client.get(url).header("host", "localhost:666").send().await.unwrap();
        let invoice: Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
        let image = invoice["qris_image"].as_str().unwrap();
        assert!(image.starts_with("http://sandbox.test:8870/qris/invoice/"), "{image}");
        ids.push(invoice["invoice_id"].as_str().unwrap().to_owned());
    }
    let status = |id: &str| client.get(format!("{qris}/api/v1/invoice/status?invoice_id={id}&apikey={key}")).send();
    assert_eq!(status(&ids[0]).await.unwrap().status(), 404);
    assert_eq!(status(&ids[1]).await.unwrap().status(), 200);
    child.kill().await.unwrap();
}
