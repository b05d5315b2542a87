//! `gerbang webhook serve` as a separate process, for the tests that run receivers.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use gerbang::cashin::{CashinClient, CashinConfig};
use gerbang::cuan10pay::{Cuan10payClient, Cuan10payConfig};
use gerbang::sandbox::{Sandbox, SandboxBuilder, SandboxHandle, cashin, cuan10pay};
use gerbang::{Money, PaymentProvider, PaymentRequest, ProviderId};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Child;
use tokio::sync::mpsc;

/// The `whsec_…` secret the receiver tests sign forwarded events with (`--forward-secret`, which
/// `--forward-to` needs).
pub const FORWARD_SECRET: &str = "whsec_BRs8561LzjO0QUpbv+nAmXFeCdLssNZ80SD0a0I0vQQ=";

/// A free loopback port (bound, then freed).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A running `gerbang webhook serve` for Cuan10pay and Cash In with the sandbox's credentials;
/// its stdout lines (one per new event) are sent, parsed, to `events`.
pub struct Serve {
    pub child: Child,
    pub port: u16,
    /// Every line it has written on stderr so far.
    pub stderr: Arc<Mutex<Vec<String>>>,
}

impl Serve {
    /// Starts one on `port` with `extra` flags, waits until it receives, and forwards each event
    /// line, tagged with `port`, to `events`.
    pub async fn start(port: u16, extra: &[&str], events: mpsc::UnboundedSender<(u16, Value)>) -> Self {
        Self::start_with(port, extra, &[], events).await
    }

    /// [`start`](Self::start), with more variables (a gateway's base URL, more credentials).
    pub async fn start_with(
        port: u16,
        extra: &[&str],
        variables: &[(String, String)],
        events: mpsc::UnboundedSender<(u16, Value)>,
    ) -> Self {
        Self::start_wrapped(port, &[], extra, variables, events).await
    }

    /// [`start_with`](Self::start_with), run by `wrapper` (`prlimit --nofile=1024:1024 --`).
    pub async fn start_wrapped(
        port: u16,
        wrapper: &[&str],
        extra: &[&str],
        variables: &[(String, String)],
        events: mpsc::UnboundedSender<(u16, Value)>,
    ) -> Self {
        let mut command = match wrapper.split_first() {
            Some((program, args)) => {
                let mut command = tokio::process::Command::new(program);
                command.args(args).arg(env!("CARGO_BIN_EXE_gerbang"));
                command
            }
            None => tokio::process::Command::new(env!("CARGO_BIN_EXE_gerbang")),
        };
        let mut child = command
            .args(["webhook", "serve", "--port", &port.to_string()])
            .args(extra)
            .envs(variables.iter().map(|(k, v)| (k, v)))
            .envs(gateway_env())
            .env_remove("GERBANG_STORE_URL")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let mut stderr = BufReader::new(child.stderr.take().unwrap()).lines();
        let wanted = format!("receiving cuan10pay webhooks at http://127.0.0.1:{port}/webhooks/cuan10pay");
        let ready = tokio::time::timeout(Duration::from_secs(60), async {
            while let Ok(Some(line)) = stderr.next_line().await {
                if line.contains(&wanted) {
                    return Ok(());
                }
                if line.starts_with("error") {
                    return Err(line);
                }
            }
            Err("the receiver exited".to_owned())
        })
        .await;
        assert_eq!(ready, Ok(Ok(())), "the receiver on port {port} did not start");
        // Keep draining stderr so the child never blocks on a full pipe; kept for the tests.
        let said = Arc::new(Mutex::new(Vec::new()));
        let lines = Arc::clone(&said);
        tokio::spawn(async move {
            while let Ok(Some(line)) = stderr.next_line().await {
                lines.lock().unwrap().push(line);
            }
        });
        let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
        tokio::spawn(async move {
            while let Ok(Some(line)) = stdout.next_line().await {
                let _ = events.send((port, serde_json::from_str(&line).unwrap()));
            }
        });
        Self { child, port, stderr: said }
    }

    /// Where the sandbox sends `gateway`'s webhooks to reach this receiver.
    pub fn url(&self, gateway: &str) -> String {
        format!("http://127.0.0.1:{}/webhooks/{gateway}", self.port)
    }
}

/// Waits for the next event line, up to `within`.
pub async fn next_event(events: &mut mpsc::UnboundedReceiver<(u16, Value)>, within: Duration) -> Option<(u16, Value)> {
    tokio::time::timeout(within, events.recv()).await.ok().flatten()
}

/// Creates a Cuan10pay deposit of IDR 25 000 in the sandbox, not paid yet; its id.
pub async fn deposit(sandbox: &SandboxHandle, reference: &str) -> String {
    let config = gerbang::cuan10pay::Cuan10payConfig::builder(cuan10pay::API_KEY, cuan10pay::PRIVATE_KEY)
        .base_url(sandbox.base_url(ProviderId::Cuan10pay))
        .build()
        .unwrap();
    let client = gerbang::cuan10pay::Cuan10payClient::new(config);
    let request =
        PaymentRequest::builder(reference, Money::idr(25_000)).channel("qris".parse().unwrap()).build().unwrap();
    client.create_payment(&request).await.unwrap().provider_reference.unwrap()
}

/// Creates a Cuan10pay deposit in the sandbox and pays it (its webhook goes out); its id.
pub async fn paid_deposit(sandbox: &SandboxHandle, reference: &str) -> String {
    let id = deposit(sandbox, reference).await;
    sandbox.pay(ProviderId::Cuan10pay, &id).await.unwrap();
    id
}

/// The sandbox's Cuan10pay and Cash In credentials, as the variables `webhook serve` reads: the
/// gateways the receiver tests configure (remove `GERBANG_STORE_URL` beside it, so that the
/// caller's own store never leaks in).
pub fn gateway_env() -> [(&'static str, String); 5] {
    [
        ("GERBANG_CUAN10PAY_API_KEY", cuan10pay::API_KEY.to_owned()),
        ("GERBANG_CUAN10PAY_PRIVATE_KEY", cuan10pay::PRIVATE_KEY.to_owned()),
        ("GERBANG_CASHIN_CLIENT_ID", cashin::CLIENT_ID.to_owned()),
        ("GERBANG_CASHIN_SECRET_KEY", cashin::SECRET_KEY.to_owned()),
        ("GERBANG_CASHIN_PUBLIC_KEY", cashin::public_key_pem()),
    ]
}

/// A Cuan10pay client (its rate budget off: the tests create many payments) and a Cash In
/// client, both on `sandbox`.
pub fn clients(sandbox: &SandboxHandle) -> (Cuan10payClient, CashinClient) {
    let cuan10pay = Cuan10payConfig::builder(cuan10pay::API_KEY, cuan10pay::PRIVATE_KEY)
        .base_url(sandbox.base_url(ProviderId::Cuan10pay))
        .without_rate_budget()
        .build()
        .unwrap();
    let cashin = CashinConfig::builder(cashin::CLIENT_ID, cashin::SECRET_KEY)
        .base_url(sandbox.base_url(ProviderId::CashIn))
        .build()
        .unwrap();
    (Cuan10payClient::new(cuan10pay), CashinClient::new(cashin))
}

/// Creates a payment of 25 000 IDR by QRIS; returns the id the sandbox's controls take.
pub async fn create(gateway: &dyn PaymentProvider, reference: &str) -> String {
    let mut request = PaymentRequest::builder(reference, Money::idr(25_000)).channel("qris".parse().unwrap());
    if gateway.id() == ProviderId::CashIn {
        // What Cash In requires beside the amount (Cuan10pay refuses these fields).
        request = request
            .customer_id("CUST-1")
            .customer_phone("081234567890")
            .success_url("https://shop.example/paid")
            .cancel_url("https://shop.example/cart");
    }
    let payment = gateway.create_payment(&request.build().unwrap()).await.unwrap();
    payment.lookup_id(gateway.capabilities().lookup).unwrap().to_owned()
}

/// A sandbox sending Cuan10pay's and Cash In's webhooks to `receivers` in turn (without
/// Cuan10pay's rate limit), and `per_gateway` payments created at each of the two, referenced
/// `{tag}-CP-n` and `{tag}-CI-n`: each payment's gateway and sandbox id.
pub async fn sandbox_with_payments(
    receivers: &[Serve],
    tag: &str,
    per_gateway: usize,
) -> (SandboxHandle, Vec<(ProviderId, String)>) {
    let sandbox = Sandbox::builder()
        .webhook_urls(ProviderId::Cuan10pay, receivers.iter().map(|r| r.url("cuan10pay")))
        .webhook_urls(ProviderId::CashIn, receivers.iter().map(|r| r.url("cashin")))
        .cuan10pay_rate_limit(None)
        .start()
        .await
        .unwrap();
    let (cuan10pay, cashin) = clients(&sandbox);
    let gateways: [(&dyn PaymentProvider, &str); 2] = [(&cuan10pay, "CP"), (&cashin, "CI")];
    let mut payments = Vec::new();
    for (gateway, prefix) in gateways {
        for n in 0..per_gateway {
            payments.push((gateway.id(), create(gateway, &format!("{tag}-{prefix}-{n}")).await));
        }
    }
    (sandbox, payments)
}

/// A sandbox to build that sends Cuan10pay's webhooks to the receiver on `port` (a [`Serve`]
/// started there).
pub fn sandbox_for(port: u16) -> SandboxBuilder {
    Sandbox::builder().webhook_url(ProviderId::Cuan10pay, format!("http://127.0.0.1:{port}/webhooks/cuan10pay"))
}

/// A `webhook serve` with `store_flags` (`--store URL`, `--store-ca FILE`, …) behind a sandbox
/// that sends it Cuan10pay's webhooks: pays a deposit referenced `reference`, waits for its
/// event (the store reached: the event was claimed in it), and returns every line the receiver
/// wrote on stderr, for the caller to check what it said of its store.
pub async fn one_event_through(store_flags: &[&str], reference: &str) -> String {
    let port = free_port();
    let sandbox = sandbox_for(port).start().await.unwrap();
    let (tx, mut events) = mpsc::unbounded_channel();
    let serve = Serve::start(port, store_flags, tx).await;
    let id = paid_deposit(&sandbox, reference).await;
    let (_, event) = next_event(&mut events, Duration::from_secs(10)).await.expect("the webhook is handled");
    assert_eq!(event["provider_reference"], id.as_str());
    serve.stderr.lock().unwrap().join("\n")
}

/// Runs `gerbang webhook serve --store STORE` as `configure` finishes the command (the store, a
/// CA by flag or by variable, …) and expects it to refuse to start, as a store whose certificate
/// does not verify makes it: exit 1 within 15 s (not an outage to wait out). Its stderr, and its
/// one `error: ` line.
pub async fn refused_to_serve(configure: impl FnOnce(&mut tokio::process::Command)) -> (String, String) {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_gerbang"));
    command.args(["webhook", "serve", "--port", &free_port().to_string()]);
    configure(&mut command);
    let run = command.envs(gateway_env()).env_remove("GERBANG_STORE_URL").kill_on_drop(true).output();
    let output =
        tokio::time::timeout(Duration::from_secs(15), run).await.expect("a refusal is not waited for").unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    let error =
        stderr.lines().find(|line| line.starts_with("error: ")).unwrap_or_else(|| panic!("{stderr}")).to_owned();
    (stderr, error)
}
