//! A newcomer's first hour (issue 11): the steps that used to get in the way, as the README tells
//! them, against an in-process sandbox with only the variables each step needs.
#![allow(clippy::unwrap_used)] // Test code.

use std::process::Output;

use gerbang::ProviderId;
use gerbang::sandbox::{Sandbox, ciputra, cuan10pay, qris};
use serde_json::Value;

/// The `gerbang` binary with none of the caller's `GERBANG_*` variables.
fn command() -> tokio::process::Command {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_gerbang"));
    for (name, _) in std::env::vars().filter(|(name, _)| name.starts_with("GERBANG_")) {
        command.env_remove(name);
    }
    command
}

/// `gerbang ARGS…` with exactly `variables` set (every `GERBANG_*` of the caller's removed).
async fn gerbang(variables: &[(&str, &str)], args: &[&str]) -> Output {
    command().args(args).envs(variables.iter().copied()).output().await.unwrap()
}

/// `gerbang sandbox serve --port 0 EXTRA…` as its own process, with its own `XDG_RUNTIME_DIR`
/// (named after `test`), once it has recorded its URL there: the process, that directory, and
/// the state file.
async fn serve_sandbox(
    test: &str,
    extra: &[&str],
    stderr: std::process::Stdio,
) -> (tokio::process::Child, std::path::PathBuf, std::path::PathBuf) {
    let runtime = std::env::temp_dir().join(format!("gerbang-first-hour-{test}-{}", std::process::id()));
    std::fs::create_dir_all(&runtime).unwrap();
    let serve = command()
        .args(["sandbox", "serve", "--port", "0"])
        .args(extra)
        .env("XDG_RUNTIME_DIR", &runtime)
        .stdout(std::process::Stdio::null())
        .stderr(stderr)
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let state = runtime.join("gerbang").join("sandbox-url");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !state.exists() {
        assert!(std::time::Instant::now() < deadline, "sandbox serve recorded no URL in {}", state.display());
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    (serve, runtime, state)
}

fn json(output: &Output) -> Value {
    assert!(output.status.success(), "stderr: {}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).unwrap()
}

#[tokio::test]
async fn the_base_url_flag_is_enough_for_every_gateway_that_needs_one() {
    let sandbox = Sandbox::builder().start().await.unwrap();
    let qris_key = [("GERBANG_QRIS_API_KEY", qris::API_KEY)];
    let base = sandbox.base_url(ProviderId::Qris);
    let balance = json(&gerbang(&qris_key, &["--base-url", &base, "qris", "balance"]).await);
    assert!(balance.get("balance").is_some(), "{balance}");

    let ciputra_keys =
        [("GERBANG_CIPUTRA_API_KEY", ciputra::API_KEY), ("GERBANG_CIPUTRA_API_SECRET", ciputra::API_SECRET)];
    let base = sandbox.base_url(ProviderId::Ciputra);
    let args =
        ["--base-url", &base, "ciputra", "create", "--reference", "FH-1", "--amount", "50000", "--channel", "va:bca"];
    let created = json(&gerbang(&ciputra_keys, &[&args[..], &["--customer-name", "Budi"]].concat()).await);
    // A charge the gateway accepted is pending (an answer without a status word too: see
    // gerbang-ciputra's `a_charge_answer_without_a_status_word_is_pending_with_a_null_word`).
    assert_eq!(created["status"], "pending", "{created}");

    // Without the flag or the variable, the error names both.
    for (variables, args) in [(&qris_key[..], ["qris", "balance"]), (&ciputra_keys[..], ["ciputra", "status"])] {
        let args = [&args[..], if args[0] == "ciputra" { &["FH-1"][..] } else { &[][..] }].concat();
        let output = gerbang(variables, &args).await;
        assert_eq!(output.status.code(), Some(1));
        let stderr = String::from_utf8_lossy(&output.stderr);
        let variable = format!("GERBANG_{}_BASE_URL", args[0].to_uppercase());
        assert!(stderr.contains(&variable) && stderr.contains("--base-url"), "{stderr}");
    }
}

#[tokio::test]
async fn cuan10pay_status_gives_back_the_reference_create_printed() {
    let sandbox = Sandbox::builder().start().await.unwrap();
    let keys =
        [("GERBANG_CUAN10PAY_API_KEY", cuan10pay::API_KEY), ("GERBANG_CUAN10PAY_PRIVATE_KEY", cuan10pay::PRIVATE_KEY)];
    let base = sandbox.base_url(ProviderId::Cuan10pay);
    for description in [None, Some("Two coffees")] {
        let mut args = vec!["--base-url", &base, "cuan10pay", "create", "--reference", "FH-7", "--amount", "50000"];
        args.extend(["--channel", "qris"]);
        if let Some(description) = description {
            args.extend(["--description", description]);
        }
        let created = json(&gerbang(&keys, &args).await);
        assert_eq!(created["reference"], "FH-7");
        let id = created["provider_reference"].as_str().unwrap();
        let status = json(&gerbang(&keys, &["--base-url", &base, "cuan10pay", "status", id]).await);
        assert_eq!(status["reference"], "FH-7", "{description:?}: {status}");
    }
}

#[tokio::test]
async fn a_create_reports_every_problem_at_once_by_its_flag() {
    use gerbang::sandbox::cashin;
    let sandbox = Sandbox::builder().start().await.unwrap();
    let keys = [("GERBANG_CASHIN_CLIENT_ID", cashin::CLIENT_ID), ("GERBANG_CASHIN_SECRET_KEY", cashin::SECRET_KEY)];
    let base = sandbox.base_url(ProviderId::CashIn);
    let args = ["--base-url", &base, "cashin", "create", "--reference", "FH-2", "--amount", "50000"];
    let output = gerbang(&keys, &args).await;
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    for flag in ["--success-url", "--cancel-url", "--customer-id", "--customer-phone"] {
        assert!(stderr.contains(&format!("{flag}: ")), "{flag} is named: {stderr}");
    }
    assert!(!stderr.contains("customer.id"), "the SDK's field path is not shown: {stderr}");
    // With them all, it goes through.
    let all = [
        &args[..],
        &["--return-url", "https://shop.example/back", "--customer-id", "C-1", "--customer-phone", "0812345678"],
    ]
    .concat();
    json(&gerbang(&keys, &all).await);
}

#[tokio::test]
async fn a_status_by_the_wrong_id_says_which_id_the_gateway_takes() {
    let sandbox = Sandbox::builder().start().await.unwrap();
    let cuan10pay_keys =
        [("GERBANG_CUAN10PAY_API_KEY", cuan10pay::API_KEY), ("GERBANG_CUAN10PAY_PRIVATE_KEY", cuan10pay::PRIVATE_KEY)];
    let qris_key = [("GERBANG_QRIS_API_KEY", qris::API_KEY)];
    for (gateway, keys, id) in
        [(ProviderId::Cuan10pay, &cuan10pay_keys[..], "deposit_id"), (ProviderId::Qris, &qris_key[..], "invoice_id")]
    {
        let base = sandbox.base_url(gateway);
        // The merchant's reference, where the gateway's own id is wanted.
        let output = gerbang(keys, &["--base-url", &base, gateway.as_str(), "status", "ORDER-1"]).await;
        assert_eq!(output.status.code(), Some(1));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(id) && stderr.contains("`provider_reference`"), "{gateway}: {stderr}");
    }
}

/// The README's sandbox section, literally: `sandbox serve` in one terminal; in another
/// `eval "$(gerbang sandbox env)"`, then create, `sandbox pay` and status for every gateway, with
/// the fewest flags each needs and no variable set by hand.
#[tokio::test]
async fn the_readmes_sandbox_section_works_as_written() {
    // Terminal 1.
    let (mut serve, runtime, state) = serve_sandbox("walk", &[], std::process::Stdio::inherit()).await;
    let runtime_dir = runtime.to_str().unwrap().to_owned();
    let shell = [("XDG_RUNTIME_DIR", runtime_dir.as_str())];

    // Terminal 2: eval "$(gerbang sandbox env)".
    let exported = gerbang(&shell, &["sandbox", "env"]).await;
    assert!(exported.status.success(), "{}", String::from_utf8_lossy(&exported.stderr));
    let script = String::from_utf8(exported.stdout).unwrap();
    let evaluated = std::process::Command::new("sh").args(["-c", &format!("{script}\nenv")]).output().unwrap();
    let mut variables: Vec<(String, String)> = String::from_utf8(evaluated.stdout)
        .unwrap()
        .split('\n')
        .filter_map(|line| line.split_once('='))
        .filter(|(name, _)| name.starts_with("GERBANG_") && *name != "GERBANG_CASHIN_PUBLIC_KEY")
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect();
    // The one multi-line value, read back through the shell whole.
    let key = std::process::Command::new("sh")
        .args(["-c", &format!("{script}\nprintf %s \"$GERBANG_CASHIN_PUBLIC_KEY\"")])
        .output()
        .unwrap();
    variables.push(("GERBANG_CASHIN_PUBLIC_KEY".into(), String::from_utf8(key.stdout).unwrap()));
    variables.push(("XDG_RUNTIME_DIR".into(), runtime_dir.clone()));
    assert!(variables.iter().any(|(name, _)| name == "GERBANG_SANDBOX_URL"), "{script}");
    let env: Vec<(&str, &str)> = variables.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();

    for (gateway, flags) in [
        ("cuan10pay", &["--channel", "qris"][..]),
        (
            "cashin",
            &["--return-url", "https://shop.example/back", "--customer-id", "C-1", "--customer-phone", "0812345678"][..],
        ),
        ("qris", &[][..]),
        ("crypto-invoice", &["--customer-email", "budi@example.com"][..]),
        ("ciputra", &["--channel", "va:bca", "--customer-name", "Budi"][..]),
    ] {
        let reference = format!("WALK-{}", gateway.to_uppercase());
        let create = [&[gateway, "create", "--reference", &reference, "--amount", "50000"][..], flags].concat();
        let created = json(&gerbang(&env, &create).await);
        // The id status takes: the gateway's own where it keys on it (README's table).
        let id = match gateway {
            "cuan10pay" | "qris" => created["provider_reference"].as_str().unwrap().to_owned(),
            _ => reference.clone(),
        };
        // `sandbox pay` takes the reference, except at QRIS, whose invoices keep none.
        let pay_by = if gateway == "qris" { &id } else { &reference };
        let paid = json(&gerbang(&env, &["sandbox", "pay", gateway, pay_by]).await);
        if gateway == "cuan10pay" {
            // Nothing set where its webhook would go: pay says so.
            let said = paid["webhook"].as_str().unwrap_or_default();
            assert!(said.contains("no webhook URL is set for cuan10pay"), "{paid}");
        }
        let status = json(&gerbang(&env, &[gateway, "status", &id]).await);
        assert_eq!(status["status"], "paid", "{gateway}: {status}");
    }

    // Ctrl-C in terminal 1 removes the record.
    let pid = serve.id().unwrap().to_string();
    assert!(std::process::Command::new("kill").args(["-INT", &pid]).status().unwrap().success());
    tokio::time::timeout(std::time::Duration::from_secs(20), serve.wait()).await.unwrap().unwrap();
    assert!(!state.exists(), "the state file outlived the sandbox");
    let gone = gerbang(&env[..env.len() - 1], &["sandbox", "pay", "qris", "X"]).await;
    let stderr = String::from_utf8_lossy(&gone.stderr);
    assert!(stderr.contains("does not answer") && stderr.contains("--sandbox-url"), "{stderr}");
    let _ = std::fs::remove_dir_all(&runtime);
}

/// `sandbox pay` takes the merchant reference or the gateway's id (issue 11); QRIS, whose
/// invoices keep no reference, refuses the reference with a message saying which id to pass.
#[tokio::test]
async fn sandbox_pay_takes_the_merchant_reference_or_the_gateways_id() {
    let (mut serve, runtime, state) = serve_sandbox("ids", &[], std::process::Stdio::null()).await;
    let url = std::fs::read_to_string(&state).unwrap().trim().to_owned();
    let runtime_dir = runtime.to_str().unwrap().to_owned();
    let keys = [
        ("GERBANG_CUAN10PAY_API_KEY", cuan10pay::API_KEY),
        ("GERBANG_CUAN10PAY_PRIVATE_KEY", cuan10pay::PRIVATE_KEY),
        ("GERBANG_QRIS_API_KEY", qris::API_KEY),
        ("XDG_RUNTIME_DIR", runtime_dir.as_str()),
    ];
    let base = format!("{url}/cuan10pay");
    for (reference, by_reference) in [("ORDER-1", true), ("ORDER-2", false)] {
        let create = ["cuan10pay", "create", "--reference", reference, "--amount", "50000", "--channel", "qris"];
        let created = json(&gerbang(&keys, &[&["--base-url", &base][..], &create].concat()).await);
        let id = created["provider_reference"].as_str().unwrap();
        let paid =
            json(&gerbang(&keys, &["sandbox", "pay", "cuan10pay", if by_reference { reference } else { id }]).await);
        assert_eq!((paid["reference"].as_str(), paid["status"].as_str()), (Some(id), Some("paid")), "{paid}");
        let status = json(&gerbang(&keys, &["--base-url", &base, "cuan10pay", "status", id]).await);
        assert_eq!(status["status"], "paid", "{reference}: {status}");
    }

    let base = format!("{url}/qris");
    let created = json(
        &gerbang(&keys, &["--base-url", &base, "qris", "create", "--reference", "ORDER-3", "--amount", "50000"]).await,
    );
    let invoice_id = created["provider_reference"].as_str().unwrap();
    let refused = gerbang(&keys, &["sandbox", "pay", "qris", "ORDER-3"]).await;
    assert_eq!(refused.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("keep no merchant reference") && stderr.contains("invoice_id"), "{stderr}");
    json(&gerbang(&keys, &["sandbox", "pay", "qris", invoice_id]).await);
    let status = json(&gerbang(&keys, &["--base-url", &base, "qris", "status", invoice_id]).await);
    assert_eq!(status["status"], "paid", "{status}");
    let _ = serve.kill().await;
    let _ = std::fs::remove_dir_all(&runtime);
}

/// A webhook that goes nowhere is no longer silent: `sandbox serve` prints each attempt.
#[tokio::test]
async fn sandbox_serve_prints_a_line_per_delivery_attempt() {
    use tokio::io::AsyncBufReadExt;
    // Nothing listens on port 9 (discard): every attempt fails to connect.
    let extra = ["--webhook-url", "cuan10pay=http://127.0.0.1:9/hook"];
    let (mut serve, runtime, state) = serve_sandbox("attempts", &extra, std::process::Stdio::piped()).await;
    let runtime_dir = runtime.to_str().unwrap().to_owned();
    let mut stderr = tokio::io::BufReader::new(serve.stderr.take().unwrap()).lines();
    let url = std::fs::read_to_string(&state).unwrap();
    let keys = [
        ("GERBANG_CUAN10PAY_API_KEY", cuan10pay::API_KEY),
        ("GERBANG_CUAN10PAY_PRIVATE_KEY", cuan10pay::PRIVATE_KEY),
        ("XDG_RUNTIME_DIR", runtime_dir.as_str()),
    ];
    let base = format!("{}/cuan10pay", url.trim());
    let args =
        ["--base-url", &base, "cuan10pay", "create", "--reference", "FH-6", "--amount", "50000", "--channel", "qris"];
    let created = json(&gerbang(&keys, &args).await);
    let id = created["provider_reference"].as_str().unwrap().to_owned();
    let paid = json(&gerbang(&keys, &["sandbox", "pay", "cuan10pay", &id]).await);
    assert_eq!(paid["webhook"]["to"], serde_json::json!(["http://127.0.0.1:9/hook"]), "pay says where it went");
    let wanted = format!("webhook cuan10pay {id}: attempt 1 (copy 1) to http://127.0.0.1:9/hook: ");
    let line = tokio::time::timeout(std::time::Duration::from_secs(20), async {
        while let Ok(Some(line)) = stderr.next_line().await {
            if line.starts_with(&wanted) {
                return line;
            }
        }
        String::new()
    })
    .await
    .unwrap();
    assert!(line.starts_with(&wanted), "no line for the attempt");
    assert!(!line.ends_with("answered 200"), "nothing listens there: {line}");
    let _ = serve.kill().await;
    let _ = std::fs::remove_dir_all(&runtime);
}

/// `gerbang ARGS…` run by a shell that first evaluates `script` (what `sandbox env` printed),
/// with none of the caller's `GERBANG_*` variables: exactly the README's `eval "$(gerbang
/// sandbox env)"`.
fn in_shell(script: &str, args: &[&str]) -> tokio::process::Command {
    let mut shell = tokio::process::Command::new("sh");
    shell.arg("-c").arg(format!("{script}\nexec \"$0\" \"$@\"")).arg(env!("CARGO_BIN_EXE_gerbang")).args(args);
    for (name, _) in std::env::vars().filter(|(name, _)| name.starts_with("GERBANG_")) {
        shell.env_remove(name);
    }
    shell
}

/// The README's walk on to the receiver (issue 19): `sandbox serve` sends Cash In's
/// notifications to `webhook serve`, which runs with exactly what `sandbox env` printed. The
/// paid notification is verified and printed, not refused with a 401 for a key that another
/// process made.
#[tokio::test]
async fn webhook_serve_with_the_sandbox_env_takes_the_served_sandboxs_cash_in_notifications() {
    use tokio::io::AsyncBufReadExt;
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let hook = format!("cashin=http://127.0.0.1:{port}/webhooks/cashin");
    let (mut serve, runtime, _) =
        serve_sandbox("receiver", &["--webhook-url", &hook], std::process::Stdio::null()).await;
    let runtime_dir = runtime.to_str().unwrap().to_owned();

    let exported = gerbang(&[("XDG_RUNTIME_DIR", runtime_dir.as_str())], &["sandbox", "env"]).await;
    assert!(exported.status.success(), "{}", String::from_utf8_lossy(&exported.stderr));
    let script = String::from_utf8(exported.stdout).unwrap();

    let mut receiver = in_shell(&script, &["webhook", "serve", "--port", &port.to_string()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
        assert!(std::time::Instant::now() < deadline, "webhook serve did not listen on {port}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    let create = [
        "cashin",
        "create",
        "--reference",
        "WALK-HOOK",
        "--amount",
        "50000",
        "--return-url",
        "https://shop.example/back",
        "--customer-id",
        "C-1",
        "--customer-phone",
        "0812345678",
    ];
    json(&in_shell(&script, &create).output().await.unwrap());
    json(&in_shell(&script, &["sandbox", "pay", "cashin", "WALK-HOOK"]).output().await.unwrap());

    let mut lines = tokio::io::BufReader::new(receiver.stdout.take().unwrap()).lines();
    let event = tokio::time::timeout(std::time::Duration::from_secs(20), async {
        while let Ok(Some(line)) = lines.next_line().await {
            let event: Value = serde_json::from_str(&line).unwrap();
            if event["provider"] == "cashin" && event["reference"] == "WALK-HOOK" {
                return event;
            }
        }
        Value::Null
    })
    .await
    .expect("webhook serve printed no Cash In event: the notification was refused");
    assert_eq!(event["status"], "paid", "{event}");
    let _ = receiver.kill().await;
    let _ = serve.kill().await;
    let _ = std::fs::remove_dir_all(&runtime);
}
