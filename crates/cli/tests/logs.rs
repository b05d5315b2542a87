//! The logs of `gerbang webhook serve` (issue 20, item 3), read as an operator would: run with
//! `RUST_LOG=debug` in both formats through every failure path that can be driven from outside
//! (forged, malformed and stale webhooks, a failing application, a redirecting one, a mismatch
//! with the ledger, the store going away, a reconcile check, malformed store URLs), then:
//!
//! - every expected line is there, once per event, with `gateway`, `dedup_key` (or `reference`)
//!   and `outcome`; in JSON every line on stderr parses as one object;
//! - no line holds a secret: the gateways' keys, the store's password (right or wrong), the
//!   forward URL's user info, token or path, a customer's e-mail or phone;
//! - stdout holds only the events' JSON lines.
#![allow(clippy::unwrap_used, clippy::print_stderr)] // Test code; the property figures are printed.

mod common;

use std::process::Stdio;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use gerbang::cuan10pay::WebhookVerifier;
use gerbang::ledger::{Ledger, WatchState, WatchedPayment};
use gerbang::redis::RedisLedger;
use gerbang::sandbox::{SandboxHandle, cashin, cuan10pay};
use gerbang::{Money, ProviderId};
use gerbang_testkit::RedisServer;
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::TestRunner;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};

use common::{FORWARD_SECRET, deposit, free_port, gateway_env, sandbox_for};

const REDIS_PASSWORD: &str = "Redis-PW-q7Zk2";
const WRONG_PASSWORD: &str = "Wrong-PW-x9Yt4";
const FORWARD_PASS: &str = "Fwd-Pass-m3Nb8";
const FORWARD_TOKEN: &str = "Fwd-Token-p5Rc1";
const FORGED_KEY: &str = "forged-key-Lz8Qw";
const EMAIL: &str = "budi.santoso@example.co.id";
const PHONE: &str = "081298765432";
/// How long a line has to appear.
const WAIT: Duration = Duration::from_secs(20);

/// Every value that must never be in a log line, the generated e-mails and phones aside.
fn secrets() -> Vec<&'static str> {
    vec![
        REDIS_PASSWORD,
        WRONG_PASSWORD,
        FORWARD_PASS,
        FORWARD_TOKEN,
        "/events",
        FORGED_KEY,
        EMAIL,
        PHONE,
        cuan10pay::API_KEY,
        cuan10pay::PRIVATE_KEY,
        cashin::SECRET_KEY,
        FORWARD_SECRET,
        FORWARD_SECRET.trim_start_matches("whsec_"),
    ]
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Format {
    Text,
    Json,
}

/// A `gerbang` process whose stdout and stderr lines are all kept.
struct Run {
    child: tokio::process::Child,
    stdout: Arc<Mutex<Vec<String>>>,
    stderr: Arc<Mutex<Vec<String>>>,
}

impl Run {
    /// `gerbang args…` with the sandbox's credentials, `RUST_LOG=debug` and `format` (by the
    /// flag for text, by the variable for JSON, so that both are used).
    fn start(format: Format, args: &[&str], base_url: Option<&str>) -> Self {
        Self::start_at(format, args, base_url, Some("debug"))
    }

    /// [`start`](Self::start) with `RUST_LOG` set to `level`, or unset.
    fn start_at(format: Format, args: &[&str], base_url: Option<&str>, level: Option<&str>) -> Self {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_gerbang"));
        if format == Format::Text {
            command.args(["--log-format", "text"]);
        } else {
            command.env("GERBANG_LOG_FORMAT", "json");
        }
        if let Some(base_url) = base_url {
            command.args(["--base-url", base_url]);
        }
        let mut child = command
            .args(args)
            .envs(gateway_env())
            .env_remove("GERBANG_STORE_URL")
            .env_remove("RUST_LOG")
            .envs(level.map(|level| ("RUST_LOG", level)))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let keep = |lines: &Arc<Mutex<Vec<String>>>, out: Box<dyn tokio::io::AsyncRead + Unpin + Send>| {
            let lines = Arc::clone(lines);
            tokio::spawn(async move {
                let mut out = BufReader::new(out).lines();
                while let Ok(Some(line)) = out.next_line().await {
                    lines.lock().unwrap().push(line);
                }
            });
        };
        let (stdout, stderr) = (Arc::default(), Arc::default());
        keep(&stdout, Box::new(child.stdout.take().unwrap()));
        keep(&stderr, Box::new(child.stderr.take().unwrap()));
        Self { child, stdout, stderr }
    }

    /// Waits up to `within` for it to exit, kills it if it has not; its exit code, if any.
    async fn finish(&mut self, within: Duration) -> Option<i32> {
        let code = match tokio::time::timeout(within, self.child.wait()).await {
            Ok(status) => status.unwrap().code(),
            Err(_) => None,
        };
        let _ = self.child.kill().await;
        // The readers get the last lines.
        tokio::time::sleep(Duration::from_millis(200)).await;
        code
    }

    fn stderr(&self) -> Vec<String> {
        self.stderr.lock().unwrap().clone()
    }

    /// Waits for a stderr line `matches` accepts; the line.
    async fn wait_for(&self, what: &str, matches: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(line) = self.stderr().into_iter().find(|line| matches(line)) {
                return line;
            }
            assert!(Instant::now() < deadline, "no line for {what} within {WAIT:?}:\n{}", self.stderr().join("\n"));
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// A log line's fields, whatever the format: JSON's top-level keys, or text's `name=value`
/// pairs (quotes taken off), with the message as `message`.
fn fields(format: Format, line: &str) -> Option<serde_json::Map<String, Value>> {
    match format {
        Format::Json => serde_json::from_str::<Value>(line).ok()?.as_object().cloned(),
        Format::Text => {
            // `2026-…Z  WARN target: message name=value name="quoted value" …`
            let (_, rest) = line.split_once(": ")?;
            let mut map = serde_json::Map::new();
            for name in ["gateway", "dedup_key", "reference", "outcome", "error", "kind", "state"] {
                let Some(at) = rest.find(&format!(" {name}=")) else { continue };
                let value = &rest[at + name.len() + 2..];
                let value = match value.strip_prefix('"') {
                    Some(quoted) => quoted.split('"').next().unwrap_or_default(),
                    None => value.split(' ').next().unwrap_or_default(),
                };
                map.insert(name.to_owned(), Value::from(value));
            }
            map.insert("message".to_owned(), Value::from(rest));
            Some(map)
        }
    }
}

/// Whether `line` has `outcome` for `gateway`, and a `dedup_key` holding `id` if given.
fn says(format: Format, line: &str, gateway: &str, outcome: &str, id: Option<&str>) -> bool {
    let Some(fields) = fields(format, line) else { return false };
    let field = |name: &str| fields.get(name).and_then(Value::as_str).unwrap_or_default().to_owned();
    field("gateway") == gateway
        && field("outcome") == outcome
        && id.is_none_or(|id| field("dedup_key").contains(id) && field("dedup_key").starts_with(gateway))
}

/// The application behind `--forward-to`: answers the status set in `status`.
async fn application(status: Arc<AtomicU16>) -> String {
    let app = axum::Router::new().route(
        "/events",
        axum::routing::post(move || {
            let status = StatusCode::from_u16(status.load(Ordering::SeqCst)).unwrap();
            async move { (status, [(header::LOCATION, "http://127.0.0.1:9/login")]).into_response() }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://hook:{FORWARD_PASS}@{addr}/events?token={FORWARD_TOKEN}")
}

/// A private Redis that asks for `REDIS_PASSWORD`; its URL with the password.
async fn redis_with_password(redis: &RedisServer) -> String {
    let client = gerbang::redis::redis::Client::open(redis.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let _: () = gerbang::redis::redis::cmd("CONFIG")
        .arg("SET")
        .arg("requirepass")
        .arg(REDIS_PASSWORD)
        .query_async(&mut conn)
        .await
        .unwrap();
    format!("redis://:{REDIS_PASSWORD}@127.0.0.1:{}/0", redis.port())
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// POSTs `body` to the receiver's `gateway` URL with `headers`; the status.
async fn post(port: u16, gateway: &str, headers: &[(&str, String)], body: String) -> u16 {
    let mut request = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{port}/webhooks/{gateway}"))
        .timeout(Duration::from_secs(15))
        .body(body);
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    request.send().await.unwrap().status().as_u16()
}

/// Webhooks carrying `email` and `phone` where a careless verifier would quote them: a forged
/// Cuan10pay signature with customer fields, the e-mail as its reference, wrongly typed fields,
/// a body that is not JSON, a forged Cash In notification. Each is refused (4xx).
async fn forged_webhooks(port: u16, email: &str, phone: &str) -> usize {
    let forged = WebhookVerifier::new(FORGED_KEY);
    let mut with_customer: Value =
        serde_json::from_str(&forged.signed_body("LOG-FORGED", "PAID", 25_000, now())).unwrap();
    with_customer["customer"] = json!({ "email": email, "phone": phone, "name": "Budi" });
    let cuan10pay = [
        with_customer.to_string(),
        forged.signed_body(email, "PAID", 25_000, now()),
        json!({ "reference": email, "status": "PAID", "amount": phone, "timestamp": email, "signature": phone })
            .to_string(),
        format!("email={email}&phone={phone}"),
    ];
    let count = cuan10pay.len() + 1;
    for body in cuan10pay {
        let status = post(port, "cuan10pay", &[("x-customer", email.to_owned())], body).await;
        assert!((400..500).contains(&status), "a forged Cuan10pay webhook answered {status}");
    }
    let notification = json!({
        "originalPartnerReferenceNo": email,
        "latestTransactionStatus": "00",
        "additionalInfo": { "customerEmail": email, "customerPhone": phone },
    });
    let headers = [
        ("x-timestamp", "2026-12-06T10:00:00+07:00".to_owned()),
        ("x-signature", "Zm9yZ2Vk".to_owned()),
        ("x-partner-id", cashin::CLIENT_ID.to_owned()),
        ("x-external-id", phone.to_owned()),
    ];
    let status = post(port, "cashin", &headers, notification.to_string()).await;
    assert!((400..500).contains(&status), "a forged Cash In notification answered {status}");
    count
}

/// Drives every failure path through one receiver logging in `format`; returns everything it
/// and the other commands wrote on stderr, and the secrets generated on the way.
async fn every_failure_path(format: Format) -> (Vec<String>, Vec<String>) {
    let Some(redis) = RedisServer::start() else { return (Vec::new(), Vec::new()) };
    let store = redis_with_password(&redis).await;
    let answer = Arc::new(AtomicU16::new(200));
    let forward_to = application(Arc::clone(&answer)).await;
    let port = free_port();
    let sandbox: SandboxHandle = sandbox_for(port).webhook_retry(1, Duration::from_secs(1)).start().await.unwrap();
    let mut said = Vec::new();

    // A watched payment, created with the customer's contacts, for the reconciler to check.
    let base = sandbox.base_url(ProviderId::Cuan10pay);
    let create = [
        "cuan10pay",
        "create",
        "--store",
        &store,
        "--reference",
        "LOG-WATCH",
        "--amount",
        "25000",
        "--channel",
        "qris",
        "--customer-email",
        EMAIL,
        "--customer-phone",
        PHONE,
    ];
    let mut created = Run::start(format, &create, Some(&base));
    assert_eq!(created.finish(WAIT).await, Some(0), "{:?}", created.stderr());
    said.extend(created.stderr());

    let args = ["webhook", "serve", "--port", &port.to_string(), "--store", &store, "--forward-to", &forward_to];
    let extra = [
        "--forward-secret",
        FORWARD_SECRET,
        "--forward-timeout",
        "2s",
        "--reconcile-every",
        "1s",
        "--in-flight-wait",
        "0s",
    ];
    let mut serve = Run::start(format, &[&args[..], &extra[..]].concat(), None);
    serve.wait_for("the receiver's start", |line| line.contains("receiving cuan10pay webhooks at")).await;
    let gateway = "cuan10pay";

    // Handled, then the application failing, then redirecting: the outbox's deliverer says so
    // (the gateway was acknowledged).
    let ok = deposit(&sandbox, "LOG-OK").await;
    sandbox.pay(ProviderId::Cuan10pay, &ok).await.unwrap();
    serve.wait_for("a handled event", |l| says(format, l, gateway, "handled", Some(&ok))).await;
    for (status, what) in [(500, "answered 500"), (302, "a redirect")] {
        answer.store(status, Ordering::SeqCst);
        let id = deposit(&sandbox, &format!("LOG-FAIL-{status}")).await;
        sandbox.pay(ProviderId::Cuan10pay, &id).await.unwrap();
        serve.wait_for("a handled event", |l| says(format, l, gateway, "handled", Some(&id))).await;
        let line = serve.wait_for("a failed delivery", |l| l.contains("delivery failed") && l.contains(what)).await;
        assert!(line.contains("application at 127.0.0.1"), "{line}");
    }
    answer.store(200, Ordering::SeqCst);

    // A mismatch: the ledger was told 99 000, the gateway says 25 000.
    let id = deposit(&sandbox, "LOG-MISMATCH").await;
    let ledger = RedisLedger::connect(&store).await.unwrap();
    let mut record = WatchedPayment::new(
        ProviderId::Cuan10pay,
        "LOG-MISMATCH",
        Money::idr(99_000),
        WatchState::Pending,
        time::OffsetDateTime::now_utc(),
    );
    record.provider_reference = Some(id.clone());
    ledger.record(&record).await.unwrap();
    sandbox.pay(ProviderId::Cuan10pay, &id).await.unwrap();
    let line = serve.wait_for("a mismatch", |l| says(format, l, gateway, "mismatch", Some(&id))).await;
    assert_eq!(fields(format, &line).unwrap()["kind"], "amount", "{line}");
    assert!(line.contains("99000") && line.contains("25000"), "{line}");

    // Forged, malformed and stale webhooks, then a property-style loop of generated contacts.
    forged_webhooks(port, EMAIL, PHONE).await;
    let genuine = WebhookVerifier::new(cuan10pay::PRIVATE_KEY);
    let stale = genuine.signed_body("LOG-STALE", "PAID", 25_000, now() - 3_600);
    assert_eq!(post(port, gateway, &[], stale).await, 401, "a stale webhook");
    let generated = generated_contacts(port).await;

    // A reconcile decision about the watched payment.
    serve
        .wait_for("a reconcile check", |l| {
            let Some(fields) = fields(format, l) else { return false };
            let field = |name: &str| fields.get(name).and_then(Value::as_str).unwrap_or_default().to_owned();
            field("gateway") == gateway && field("reference") == "LOG-WATCH" && !field("outcome").is_empty()
        })
        .await;

    // Store URLs with a password, the right Redis up (so that a wrong password is refused).
    said.extend(malformed_store_urls(format, redis.port()).await);

    // The store goes away: a genuine webhook is answered 503, said once with its key.
    drop(redis);
    let body = genuine.signed_body("LOG-STORE", "PAID", 25_000, now());
    assert_eq!(post(port, gateway, &[], body).await, 503, "the store is down");
    serve.wait_for("a store failure", |l| says(format, l, gateway, "store_failed", Some("LOG-STORE"))).await;
    serve.finish(Duration::ZERO).await;

    // Every printed event is a JSON line, and no log line went to stdout.
    let events = serve.stdout.lock().unwrap().clone();
    assert!(!events.is_empty());
    for line in &events {
        let event: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("stdout line {line:?}: {e}"));
        assert!(event.get("dedup_key").is_some() && event.get("level").is_none(), "{line}");
    }
    // One line per event, not one per layer that saw it fail.
    let lines = serve.stderr();
    let count = |outcome: &str, id: &str| lines.iter().filter(|l| says(format, l, gateway, outcome, Some(id))).count();
    assert_eq!(count("handled", &ok), 1, "{lines:#?}");
    assert_eq!(count("mismatch", &id), 1, "{lines:#?}");
    assert_eq!(count("store_failed", "LOG-STORE"), 1, "{lines:#?}");
    said.extend(lines);
    (said, generated)
}

/// Store URLs holding a password that must not be repeated: malformed ones, a wrong password
/// for the Redis on `redis_port`, a Postgres nobody listens on.
async fn malformed_store_urls(format: Format, redis_port: u16) -> Vec<String> {
    let urls = [
        format!("redis:/:{WRONG_PASSWORD}@127.0.0.1:6379"),
        format!("postgres:u:{WRONG_PASSWORD}@db.internal/shop"),
        format!("host=db user=u password={WRONG_PASSWORD}"),
        format!("redis://:{WRONG_PASSWORD}@127.0.0.1:{redis_port}/0"),
        format!("postgres://u:{WRONG_PASSWORD}@127.0.0.1:{}/shop", RedisServer::free_port()),
    ];
    let mut said = Vec::new();
    for url in &urls {
        let mut run = Run::start(format, &["webhook", "serve", "--port", "0", "--store", url], None);
        // Exits 1 (or, where the store is waited for, keeps trying): either way its lines count.
        run.finish(Duration::from_secs(4)).await;
        said.extend(run.stderr());
    }
    said
}

/// Forged webhooks for generated e-mails and phones (proptest's strategies, sampled): the
/// values, to be searched for in the logs.
async fn generated_contacts(port: u16) -> Vec<String> {
    let strategy = ("[a-z]{3,10}\\.[a-z]{3,8}@[a-z]{4,9}\\.(com|co\\.id|id)", "08[1-9][0-9]{7,10}");
    let mut runner = TestRunner::deterministic();
    let (mut values, mut requests) = (Vec::new(), 0);
    let cases = 24;
    for _ in 0..cases {
        let (email, phone) = strategy.new_tree(&mut runner).unwrap().current();
        requests += forged_webhooks(port, &email, &phone).await;
        values.push(email);
        values.push(phone);
    }
    eprintln!("logs: {cases} generated customers, {requests} forged webhooks carrying their e-mail and phone");
    values
}

/// Checks `said` for every secret and generated value; in JSON, that every line is an object.
fn check(format: Format, said: &[String], generated: &[String]) {
    assert!(!said.is_empty());
    let mut searched = 0;
    for line in said {
        for secret in secrets().iter().copied().chain(generated.iter().map(String::as_str)) {
            assert!(!line.contains(secret), "{format:?}: `{secret}` in a log line: {line}");
            searched += 1;
        }
        if format == Format::Json {
            let object: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
            for field in ["timestamp", "level", "target"] {
                assert!(object.get(field).is_some(), "no {field}: {line}");
            }
        }
    }
    eprintln!("logs ({format:?}): {} lines, {searched} line × secret searches, none found", said.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_logs_say_every_failure_once_with_its_fields_and_no_secret() {
    let (said, generated) = every_failure_path(Format::Text).await;
    if said.is_empty() {
        return; // No redis-server here (the testkit said why).
    }
    check(Format::Text, &said, &generated);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_are_one_object_per_line_with_every_failure_and_no_secret() {
    let (said, generated) = every_failure_path(Format::Json).await;
    if said.is_empty() {
        return;
    }
    check(Format::Json, &said, &generated);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_serve_logs_at_info_unless_rust_log_says_otherwise() {
    for (level, refusal_shown, debug_shown) in [(None, true, false), (Some("warn"), false, false)] {
        let port = free_port();
        let mut serve = Run::start_at(Format::Json, &["webhook", "serve", "--port", &port.to_string()], None, level);
        serve.wait_for("the receiver's start", |line| line.contains("receiving cuan10pay webhooks at")).await;
        forged_webhooks(port, EMAIL, PHONE).await;
        // The handled event after the refusals: once its line is out, theirs would be too.
        let genuine = WebhookVerifier::new(cuan10pay::PRIVATE_KEY).signed_body("LOG-LEVEL", "PAID", 25_000, now());
        assert_eq!(post(port, "cuan10pay", &[], genuine).await, 200);
        tokio::time::sleep(Duration::from_millis(300)).await;
        serve.finish(Duration::ZERO).await;
        let said = serve.stderr();
        let has = |outcome: &str| said.iter().any(|l| says(Format::Json, l, "cuan10pay", outcome, None));
        assert_eq!(has("rejected"), refusal_shown, "RUST_LOG={level:?}: {said:#?}");
        assert_eq!(has("handled"), refusal_shown, "RUST_LOG={level:?}: {said:#?}");
        assert_eq!(said.iter().any(|l| l.contains("\"DEBUG\"")), debug_shown, "RUST_LOG={level:?}: {said:#?}");
        // The CLI's own lines stay, whatever the level.
        assert!(said.iter().any(|l| l.contains("receiving cashin webhooks at")), "{said:#?}");
    }
}
