//! `gerbang sandbox serve [--port N] [--webhook-url GATEWAY=URL]…`, `gerbang sandbox env`,
//! `gerbang sandbox pay|expire|fail|cancel <provider> ID [plan]`,
//! `gerbang sandbox webhook <provider> ID [--status S] [plan]` (ID: the merchant reference or the
//! gateway's id: the sandbox finds the payment by either), where the plan is
//! `[--copies N] [--spacing-ms MS] [--delay-ms MS] [--drop]`, and
//! `gerbang sandbox advance 2h` (time travel).
//!
//! Which sandbox the other commands talk to: `--sandbox-url`, else `GERBANG_SANDBOX_URL`, else the
//! one `serve` recorded in its state file (see [`state_file`]), else `http://127.0.0.1:8870`.

use std::net::{Ipv4Addr, SocketAddr};

use clap::Subcommand;
use gerbang::sandbox::{self, Sandbox, SandboxHandle};
use gerbang::{Error, ProviderId};
use serde_json::json;

use crate::common::{eprint_line, print_json, warn};

/// The port `serve` listens on and `pay`/`expire` talk to by default.
const DEFAULT_PORT: u16 = 8870;

#[derive(Debug, Subcommand)]
pub(crate) enum SandboxCommand {
    /// Run the emulator of every gateway until Ctrl-C; prints its dashboard's URL, then its URLs
    /// and test credentials as JSON.
    Serve(ServeArgs),
    /// Mark a pending payment paid (the sandbox sends the gateway's webhook).
    Pay(ControlArgs),
    /// Mark a pending payment expired (the sandbox sends the gateway's webhook).
    Expire(ControlArgs),
    /// Mark a pending payment failed, where the gateway has that state (Cash In).
    Fail(ControlArgs),
    /// Cancel a pending payment, where the gateway has a cancel call (QRIS, Ciputra).
    Cancel(ControlArgs),
    /// Move the sandbox's clock forward (time travel): what would expire by then expires, and
    /// the gateways' expiry webhooks are sent.
    Advance(AdvanceArgs),
    /// Send a payment's webhook again, of its current state or of --status, without moving it
    /// (a later state before an earlier one, or a "resend").
    Webhook(WebhookArgs),
    /// Print `export GERBANG_…=…` lines for every gateway of the running sandbox, so that
    /// `eval "$(gerbang sandbox env)"` points every command and example at it.
    Env(EnvArgs),
}

#[derive(Debug, clap::Args)]
pub(crate) struct EnvArgs {
    /// The running sandbox (default: the one `gerbang sandbox serve` recorded).
    #[arg(long, env = "GERBANG_SANDBOX_URL")]
    sandbox_url: Option<String>,
}

#[derive(Debug, clap::Args)]
pub(crate) struct ServeArgs {
    /// The loopback port to listen on (0 picks a free one).
    #[arg(long, default_value_t = DEFAULT_PORT)]
    port: u16,
    /// Where a gateway whose webhook URL is set in its dashboard sends webhooks:
    /// `cuan10pay=http://127.0.0.1:3000/webhook`. Repeat for each gateway; repeat for one
    /// gateway to spread its webhooks over several receivers, each attempt to the next in turn.
    #[arg(long = "webhook-url", value_parser = parse_webhook_url)]
    webhook_urls: Vec<(ProviderId, String)>,
    /// What the links in answers (checkout pages, QR images) start with, when clients reach the
    /// sandbox by another address: `http://sandbox:8870`. Default: its own address. Its host is
    /// the one name, besides localhost and IP addresses, the sandbox answers to (421 otherwise).
    #[arg(long)]
    public_url: Option<String>,
    #[command(flatten)]
    limits: crate::listen::LimitArgs,
    /// How many payments each gateway keeps; past it, the oldest is forgotten.
    #[arg(long, default_value_t = sandbox::DEFAULT_MAX_PAYMENTS)]
    max_payments: usize,
}

#[derive(Debug, clap::Args)]
pub(crate) struct AdvanceArgs {
    /// How far: 90s, 30m, 2h, 1h30m, 7d (at most 400 days at a time).
    by: String,
    /// The running sandbox (default: the one `gerbang sandbox serve` recorded, else
    /// http://127.0.0.1:8870).
    #[arg(long, env = "GERBANG_SANDBOX_URL")]
    sandbox_url: Option<String>,
}

#[derive(Debug, clap::Args)]
pub(crate) struct ControlArgs {
    /// The gateway.
    provider: ProviderId,
    /// The payment: your merchant reference or the gateway's id for it (Cuan10pay's deposit id,
    /// Cash In's referenceNo, the QRIS invoice_id, the crypto invoice's id, Ciputra's order_id).
    /// A QRIS invoice keeps no merchant reference: pass its invoice_id.
    #[arg(value_name = "ID")]
    reference: String,
    /// The running sandbox (default: the one `gerbang sandbox serve` recorded, else
    /// http://127.0.0.1:8870).
    #[arg(long, env = "GERBANG_SANDBOX_URL")]
    sandbox_url: Option<String>,
    #[command(flatten)]
    plan: PlanArgs,
}

/// How the webhook is delivered: the sandbox's delivery plan.
/// The longest spacing or delay the sandbox takes, in milliseconds (an hour).
const MAX_WAIT_MS: u64 = sandbox::MAX_PLAN_WAIT.as_secs() * 1000;

#[derive(Debug, clap::Args)]
pub(crate) struct PlanArgs {
    /// Send the same webhook this many times (1 to 100), each copy retried on its own.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=i64::from(sandbox::MAX_COPIES)))]
    copies: u32,
    /// Milliseconds between the starts of two copies; 0 sends them all at once, concurrently.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u64).range(..=MAX_WAIT_MS))]
    spacing_ms: u64,
    /// Milliseconds before the first copy is sent (so that a later webhook can arrive first).
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u64).range(..=MAX_WAIT_MS))]
    delay_ms: u64,
    /// Send nothing: the webhook is lost, and recorded as dropped.
    #[arg(long)]
    drop: bool,
}

impl PlanArgs {
    /// The query the control API reads the plan from; only what differs from the defaults.
    fn query(&self) -> Vec<(&'static str, String)> {
        let mut query = Vec::new();
        if self.copies != 1 {
            query.push(("copies", self.copies.to_string()));
        }
        if self.spacing_ms != 0 {
            query.push(("spacing_ms", self.spacing_ms.to_string()));
        }
        if self.delay_ms != 0 {
            query.push(("delay_ms", self.delay_ms.to_string()));
        }
        if self.drop {
            query.push(("drop", "true".to_owned()));
        }
        query
    }
}

#[derive(Debug, clap::Args)]
pub(crate) struct WebhookArgs {
    #[command(flatten)]
    payment: ControlArgs,
    /// The state whose webhook is sent: pending, paid, expired, cancelled or failed. Default:
    /// the payment's current state.
    #[arg(long)]
    status: Option<String>,
}

impl SandboxCommand {
    pub(crate) async fn run(self) -> Result<(), Error> {
        match self {
            Self::Serve(args) => serve(args).await,
            Self::Pay(args) => control(&args, "pay", None).await,
            Self::Expire(args) => control(&args, "expire", None).await,
            Self::Fail(args) => control(&args, "fail", None).await,
            Self::Cancel(args) => control(&args, "cancel", None).await,
            Self::Advance(args) => advance(&args).await,
            Self::Webhook(args) => control(&args.payment, "webhook", args.status.as_deref()).await,
            Self::Env(args) => env(args.sandbox_url.as_deref()).await,
        }
    }
}

/// Where `serve` records the URL it listens on, for the other commands: `gerbang/sandbox-url`
/// in `$XDG_RUNTIME_DIR`, else in the user's cache directory (`$XDG_CACHE_HOME`, `~/.cache`),
/// else in the temporary directory. Removed when `serve` stops.
pub(crate) fn state_file() -> std::path::PathBuf {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty()).map(std::path::PathBuf::from);
    let dir = var("XDG_RUNTIME_DIR")
        .or_else(|| var("XDG_CACHE_HOME"))
        .or_else(|| var("HOME").map(|home| home.join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    dir.join("gerbang").join("sandbox-url")
}

/// The sandbox to talk to, and where that was learnt (for errors).
fn sandbox_url(given: Option<&str>) -> (String, String) {
    if let Some(url) = given {
        return (url.trim_end_matches('/').to_owned(), "--sandbox-url (or GERBANG_SANDBOX_URL)".to_owned());
    }
    let file = state_file();
    match std::fs::read_to_string(&file) {
        Ok(url) if !url.trim().is_empty() => {
            (url.trim().to_owned(), format!("{}, written by `gerbang sandbox serve`", file.display()))
        }
        _ => (format!("http://127.0.0.1:{DEFAULT_PORT}"), "the default port".to_owned()),
    }
}

/// The sandbox's state file while it serves: written when it listens, removed when it stops.
struct Recorded(std::path::PathBuf);

impl Recorded {
    fn write(url: &str) -> Option<Self> {
        let file = state_file();
        let written = file.parent().map(std::fs::create_dir_all).transpose().and_then(|_| std::fs::write(&file, url));
        match written {
            Ok(()) => Some(Self(file)),
            Err(e) => {
                // The sandbox still serves; the other commands then need --sandbox-url.
                warn(&format!("could not record the sandbox's URL in {}: {e}", file.display()));
                None
            }
        }
    }
}

impl Drop for Recorded {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// One delivery attempt, for a person watching `sandbox serve`.
fn attempt_line(delivery: &sandbox::Delivery) -> String {
    let outcome = match (delivery.status, &delivery.error) {
        (Some(status), _) => format!("answered {status}"),
        (None, Some(error)) => error.clone(),
        (None, None) => "no answer".to_owned(),
    };
    format!(
        "webhook {} {}: attempt {} (copy {}) to {}: {outcome}",
        delivery.provider, delivery.reference, delivery.attempt, delivery.copy, delivery.url
    )
}

/// `export` lines for every gateway of the sandbox at `url`, with the credentials that sandbox
/// checks and signs with (`GET /_sandbox/keys`): Cash In's notification key is made by each
/// sandbox process, so a key of this process would make every notification fail to verify.
async fn env(given: Option<&str>) -> Result<(), Error> {
    let (url, from) = sandbox_url(given);
    let response = reqwest::Client::new()
        .get(format!("{url}/_sandbox/keys"))
        .send()
        .await
        .map_err(|e| unreachable(&url, &from, e))?;
    let status = response.status();
    let bytes = response.bytes().await.map_err(|e| Error::Transport { message: e.without_url().to_string() })?;
    let keys: serde_json::Value = match serde_json::from_slice(&bytes) {
        Ok(keys) if status.is_success() => keys,
        _ => {
            return Err(Error::Api {
                status: Some(status.as_u16()),
                code: None,
                message: format!(
                    "the sandbox at {url} (from {from}) did not give its keys (GET /_sandbox/keys answered {status});                      is it a gerbang sandbox of this version? Restart it with `gerbang sandbox serve`"
                ),
            });
        }
    };
    let mut lines = vec![("GERBANG_SANDBOX_URL".to_owned(), url.clone())];
    for (provider, variables) in CREDENTIAL_VARIABLES {
        // Each gateway is served under `/{gateway}`: see `SandboxHandle::base_url`.
        lines.push((format!("GERBANG_{}_BASE_URL", env_name(*provider)), format!("{url}/{provider}")));
        for (variable, field) in *variables {
            let value = keys[provider.as_str()][field].as_str().ok_or_else(|| {
                Error::decode(format!("the sandbox's keys: no {provider} {field} (GET /_sandbox/keys)"))
            })?;
            lines.push(((*variable).to_owned(), value.to_owned()));
        }
    }
    lines.push(("GERBANG_CRYPTO_INVOICE_TEST".to_owned(), "1".to_owned()));
    let text: String = lines.iter().map(|(name, value)| format!("export {name}={}\n", shell_quote(value))).collect();
    #[allow(clippy::print_stdout)] // printing the lines is this command's job
    {
        print!("{text}");
    }
    Ok(())
}

/// A gateway's id as it appears in variable names: `CRYPTO_INVOICE`.
fn env_name(provider: ProviderId) -> String {
    provider.as_str().replace('-', "_").to_uppercase()
}

/// Every gateway's credential variables, each with the field of `GET /_sandbox/keys` it takes.
const CREDENTIAL_VARIABLES: &[(ProviderId, &[(&str, &str)])] = &[
    (
        ProviderId::Cuan10pay,
        &[(gerbang::cuan10pay::ENV_API_KEY, "api_key"), (gerbang::cuan10pay::ENV_PRIVATE_KEY, "private_key")],
    ),
    (
        ProviderId::CashIn,
        &[
            (gerbang::cashin::ENV_CLIENT_ID, "client_id"),
            (gerbang::cashin::ENV_SECRET_KEY, "secret_key"),
            (gerbang::cashin::ENV_PUBLIC_KEY, "public_key"),
        ],
    ),
    (ProviderId::Qris, &[(gerbang::qris::ENV_API_KEY, "api_key")]),
    (
        ProviderId::CryptoInvoice,
        &[
            (gerbang::crypto_invoice::ENV_PUBLIC_KEY, "public_key"),
            (gerbang::crypto_invoice::ENV_PRIVATE_KEY, "private_key"),
        ],
    ),
    (
        ProviderId::Ciputra,
        &[(gerbang::ciputra::ENV_API_KEY, "api_key"), (gerbang::ciputra::ENV_API_SECRET, "api_secret")],
    ),
];

/// `value` in single quotes for a POSIX shell: every `'` closed, escaped and reopened.
fn shell_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', "'\\''"))
}

/// The error for a sandbox that does not answer, naming where its URL came from and the flag.
fn unreachable(url: &str, from: &str, error: reqwest::Error) -> Error {
    Error::Transport {
        message: format!(
            "the sandbox at {url} (from {from}) does not answer ({}); start it with `gerbang sandbox serve`, \
             or give its URL with --sandbox-url",
            error.without_url()
        ),
    }
}

async fn serve(args: ServeArgs) -> Result<(), Error> {
    // Listened for before anything is printed: a supervisor may signal as soon as it reads.
    let stop = gerbang::server::shutdown_signal();
    let limits = args.limits.limits();
    let mut builder = Sandbox::builder()
        .max_connections(limits.max_connections)
        .header_read_timeout(limits.header_read_timeout)
        .idle_timeout(limits.idle_timeout)
        .body_read_timeout(limits.body_read_timeout)
        .max_payments(args.max_payments);
    if let Some(url) = args.public_url {
        builder = builder.public_url(url);
    }
    for (provider, url) in args.webhook_urls {
        builder = builder.webhook_url(provider, url);
    }
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, args.port));
    let handle = builder.start_on(addr).await.map_err(|e| Error::config(format!("cannot listen on {addr}: {e}")))?;
    // The dashboard first: on the terminal (stderr, so that stdout stays one JSON document), and
    // as the JSON's first field.
    eprint_line(&format!("gerbang sandbox: dashboard at {}/ (Ctrl-C stops it)", handle.url()));
    print_json(&credentials(&handle))?;
    // One line on stderr per webhook delivery attempt: where it went and what came back.
    let mut attempts = handle.sandbox().subscribe_deliveries();
    tokio::spawn(async move {
        use tokio::sync::broadcast::error::RecvError;
        loop {
            match attempts.recv().await {
                Ok(delivery) => eprint_line(&attempt_line(&delivery)),
                Err(RecvError::Lagged(missed)) => eprint_line(&format!("webhook: {missed} attempts not shown")),
                Err(RecvError::Closed) => return,
            }
        }
    });
    // Until it stops, the other sandbox commands find it here.
    let recorded = Recorded::write(&handle.url());
    // SIGTERM (a container runtime, systemd) stops it as Ctrl-C does: requests under way finish.
    stop.await;
    drop(recorded);
    handle.shutdown().await;
    Ok(())
}

/// The sandbox's URLs and published test credentials, as the environment variables of each
/// gateway name them, so that `export` lines can be written from it.
fn credentials(handle: &SandboxHandle) -> serde_json::Value {
    use gerbang::sandbox::{cashin, ciputra, crypto_invoice, cuan10pay, qris};
    json!({
        "dashboard": format!("{}/", handle.url()),
        "url": handle.url(),
        "gateways": {
            "cuan10pay": {
                "base_url": handle.base_url(ProviderId::Cuan10pay),
                "api_key": cuan10pay::API_KEY,
                "private_key": cuan10pay::PRIVATE_KEY,
            },
            "cashin": {
                "base_url": handle.base_url(ProviderId::CashIn),
                "client_id": cashin::CLIENT_ID,
                "secret_key": cashin::SECRET_KEY,
                "public_key": cashin::public_key_pem(),
            },
            "qris": {
                "base_url": handle.base_url(ProviderId::Qris),
                "api_key": qris::API_KEY,
            },
            "crypto-invoice": {
                "base_url": handle.base_url(ProviderId::CryptoInvoice),
                "public_key": crypto_invoice::PUBLIC_KEY,
                "private_key": crypto_invoice::PRIVATE_KEY,
            },
            "ciputra": {
                "base_url": handle.base_url(ProviderId::Ciputra),
                "api_key": ciputra::API_KEY,
                "api_secret": ciputra::API_SECRET,
            },
        }
    })
}

async fn control(args: &ControlArgs, action: &str, status: Option<&str>) -> Result<(), Error> {
    let segments = ["_sandbox", args.provider.as_str(), "payments", &args.reference, action];
    let mut query = args.plan.query();
    if let Some(status) = status {
        query.insert(0, ("status", status.to_owned()));
    }
    post(args.sandbox_url.as_deref(), &segments, query).await
}

async fn advance(args: &AdvanceArgs) -> Result<(), Error> {
    post(args.sandbox_url.as_deref(), &["_sandbox", "clock", "advance"], vec![("by", args.by.clone())]).await
}

/// POSTs to the running sandbox's control API and prints its answer.
async fn post(given: Option<&str>, segments: &[&str], query: Vec<(&'static str, String)>) -> Result<(), Error> {
    let (root, from) = sandbox_url(given);
    let mut url = reqwest::Url::parse(&root).ok().filter(|u| !u.cannot_be_a_base()).ok_or_else(|| {
        Error::validation("--sandbox-url", "expected an absolute http:// URL such as http://127.0.0.1:8870")
    })?;
    // Pushed as path segments, so a reference is percent-encoded whatever it holds.
    url.path_segments_mut()
        .map_err(|()| Error::validation("--sandbox-url", "expected an absolute http:// URL"))?
        .pop_if_empty()
        .extend(segments);
    if !query.is_empty() {
        url.query_pairs_mut().extend_pairs(query);
    }
    let response = reqwest::Client::new().post(url).send().await.map_err(|e| unreachable(&root, &from, e))?;
    let status = response.status();
    let bytes = response.bytes().await.map_err(|e| Error::Transport { message: e.without_url().to_string() })?;
    let body: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|e| Error::decode_json("the sandbox's answer", &e))?;
    if !status.is_success() {
        let message = body.get("error").and_then(|m| m.as_str()).unwrap_or("no message").to_owned();
        return Err(match status.as_u16() {
            404 => Error::NotFound { message },
            s => Error::Api { status: Some(s), code: None, message },
        });
    }
    print_json(&body)
}

fn parse_webhook_url(text: &str) -> Result<(ProviderId, String), String> {
    let (provider, url) =
        text.split_once('=').ok_or("expected GATEWAY=URL, such as cuan10pay=http://127.0.0.1:3000/webhook")?;
    let provider = provider.parse::<ProviderId>().map_err(|e| e.to_string())?;
    Ok((provider, url.to_owned()))
}
