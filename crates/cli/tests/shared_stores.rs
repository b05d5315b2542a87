//! `GERBANG_STORE_URL=redis://…` shares Cuan10pay's rate budget and Ciputra's bearer token
//! between separate `gerbang` processes, as between replicas of a backend: checked against the
//! sandbox, served here behind a layer that counts what the gateway receives, with a private
//! Redis (skipped, saying so, without `redis-server`; failing when `CI=true`).
//!
//! Ciputra's check needs one process making 200 concurrent calls, which no `gerbang` command
//! does: its workers are this test binary run again as a child (the test
//! [`worker_makes_concurrent_ciputra_calls`], which does nothing unless [`WORKER`] is set),
//! each building a client with a `RedisTokenStore` as the CLI does.
// The helpers below are test code too; clippy's allow-in-tests only covers #[test] functions.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::process::{Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::{Request, State};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::Response;
use gerbang::redis::redis::AsyncCommands;
use gerbang::sandbox::{Sandbox, ciputra, cuan10pay};
use gerbang_testkit::{RedisCluster, RedisServer};
use serde_json::Value;

/// Set in a child run of this binary: it is a Ciputra worker, and these are its settings.
const WORKER: &str = "GERBANG_TEST_CIPUTRA_WORKER";

/// What the gateway received: requests by `METHOD path`.
#[derive(Clone, Default)]
struct Received(Arc<Mutex<HashMap<String, usize>>>);

impl Received {
    fn count(&self, method_and_path: &str) -> usize {
        self.0.lock().unwrap().get(method_and_path).copied().unwrap_or(0)
    }
}

async fn count(State(received): State<Received>, request: Request, next: Next) -> Response {
    let key = format!("{} {}", request.method(), request.uri().path());
    *received.0.lock().unwrap().entry(key).or_default() += 1;
    next.run(request).await
}

/// The sandbox (its own Cuan10pay rate limit off) on a free loopback port, every request counted
/// on its way in. Returns its root URL.
async fn counted_sandbox() -> (String, Received) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let sandbox = Sandbox::builder().cuan10pay_rate_limit(None).public_url(&url).build();
    let received = Received::default();
    let app = sandbox.router().layer(from_fn_with_state(received.clone(), count));
    tokio::spawn(async move {
        axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await.unwrap();
    });
    (url, received)
}

/// `gerbang ARGS…` with the sandbox's Cuan10pay and Ciputra credentials, `GERBANG_STORE_URL`
/// as given (or unset), and `extra` variables.
async fn gerbang(store_url: Option<&str>, extra: &[(&str, &str)], args: &[&str]) -> Output {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_gerbang"));
    command
        .args(args)
        .env("GERBANG_CUAN10PAY_API_KEY", cuan10pay::API_KEY)
        .env("GERBANG_CUAN10PAY_PRIVATE_KEY", cuan10pay::PRIVATE_KEY)
        .env("GERBANG_CIPUTRA_API_KEY", ciputra::API_KEY)
        .env("GERBANG_CIPUTRA_API_SECRET", ciputra::API_SECRET)
        .env("GERBANG_CIPUTRA_BASE_URL", "http://127.0.0.1:9/unused-the-flag-wins")
        .env_remove("GERBANG_STORE_URL")
        .env_remove("GERBANG_CUAN10PAY_RATE_LIMIT")
        .stdin(Stdio::null());
    if let Some(url) = store_url {
        command.env("GERBANG_STORE_URL", url);
    }
    for (name, value) in extra {
        command.env(name, value);
    }
    tokio::time::timeout(Duration::from_secs(120), command.output())
        .await
        .expect("gerbang ran within 2 minutes")
        .unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A Cuan10pay deposit, created without any shared store: its `deposit_id`.
async fn deposit(sandbox: &str) -> String {
    let base = format!("{sandbox}/cuan10pay");
    let args =
        ["--base-url", &base, "cuan10pay", "create", "--reference", "R-1", "--amount", "50000", "--channel", "qris"];
    let created = gerbang(None, &[], &args).await;
    assert!(created.status.success(), "{}", stderr(&created));
    let created: Value = serde_json::from_slice(&created.stdout).unwrap();
    created["provider_reference"].as_str().unwrap().to_owned()
}

/// The wait a refused call's error line gives, in seconds: `… rate budget for the gateway is spent, so nothing was sent; retry in N s`.
fn retry_in(line: &str) -> Option<u64> {
    let (_, rest) = line.split_once("rate budget for the gateway is spent, so nothing was sent; retry in ")?;
    rest.strip_suffix(" s")?.trim().parse().ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_processes_sharing_a_redis_budget_of_20_send_20_of_40_cuan10pay_calls() {
    let Some(redis) = RedisServer::start() else { return };
    let (sandbox, received) = counted_sandbox().await;
    let id = deposit(&sandbox).await;
    let base = format!("{sandbox}/cuan10pay");
    let store = redis.url();

    // Five "replicas", each running eight status commands one after the other.
    let lanes = (0..5).map(|_| {
        let (base, id, store) = (base.clone(), id.clone(), store.clone());
        tokio::spawn(async move {
            let mut outputs = Vec::new();
            for _ in 0..8 {
                let args = ["--base-url", base.as_str(), "cuan10pay", "status", id.as_str()];
                outputs.push(gerbang(Some(&store), &[("GERBANG_CUAN10PAY_RATE_LIMIT", "20")], &args).await);
            }
            outputs
        })
    });
    let outputs: Vec<Output> =
        futures_util::future::join_all(lanes).await.into_iter().flat_map(Result::unwrap).collect();
    assert_eq!(outputs.len(), 40);

    let (sent, refused): (Vec<&Output>, Vec<&Output>) = outputs.iter().partition(|o| o.status.success());
    for output in &sent {
        let status: Value = serde_json::from_slice(&output.stdout).unwrap();
        assert_eq!(status["provider_reference"], id.as_str(), "{status}");
    }
    let refused: Vec<String> = refused
        .into_iter()
        .map(|output| {
            let line = stderr(output);
            assert_eq!(output.status.code(), Some(1), "{line}");
            // One call of 20 per hour comes back every 180 s: the first refused waits just under.
            let wait = retry_in(line.trim()).unwrap_or_else(|| panic!("a rate-limit error with its wait: {line}"));
            assert!((1..=180).contains(&wait), "{line}");
            line
        })
        .collect();
    assert_eq!((sent.len(), refused.len()), (20, 20), "sent / refused; refusals: {refused:?}");
    assert_eq!(received.count("GET /cuan10pay/v1/deposit_status"), 20, "the gateway saw exactly 20 status calls");

    // The budget is one key in Redis, under the documented prefix.
    let mut conn =
        gerbang::redis::redis::Client::open(redis.url()).unwrap().get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> = conn.keys("gerbang:rate:*").await.unwrap();
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert!(keys[0].starts_with("gerbang:rate:cuan10pay:") && keys[0].len() == "gerbang:rate:cuan10pay:".len() + 16);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_processes_sharing_a_budget_on_a_redis_cluster_send_exactly_its_calls() {
    let Some(cluster) = RedisCluster::start() else { return };
    let (sandbox, received) = counted_sandbox().await;
    let id = deposit(&sandbox).await;
    let base = format!("{sandbox}/cuan10pay");
    let store = cluster.url();
    let lanes = (0..3).map(|_| {
        let (base, id, store) = (base.clone(), id.clone(), store.clone());
        tokio::spawn(async move {
            let mut outputs = Vec::new();
            for _ in 0..4 {
                let args = ["--base-url", base.as_str(), "cuan10pay", "status", id.as_str()];
                outputs.push(gerbang(Some(&store), &[("GERBANG_CUAN10PAY_RATE_LIMIT", "6")], &args).await);
            }
            outputs
        })
    });
    let outputs: Vec<Output> =
        futures_util::future::join_all(lanes).await.into_iter().flat_map(Result::unwrap).collect();
    let sent = outputs.iter().filter(|o| o.status.success()).count();
    for refused in outputs.iter().filter(|o| !o.status.success()) {
        assert!(retry_in(stderr(refused).trim()).is_some(), "a rate-limit error: {}", stderr(refused));
    }
    assert_eq!(sent, 6, "a budget of 6 shared by three processes through the cluster");
    assert_eq!(received.count("GET /cuan10pay/v1/deposit_status"), 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_shared_store_each_process_has_a_budget_of_its_own() {
    let (sandbox, received) = counted_sandbox().await;
    let id = deposit(&sandbox).await;
    let base = format!("{sandbox}/cuan10pay");
    let args = ["--base-url", base.as_str(), "cuan10pay", "status", id.as_str()];
    // Unset, `memory`, and `postgres://` (no budget on Postgres: the in-process one, no error).
    for store in [None, Some("memory"), Some("postgres://gerbang@127.0.0.1:9/none")] {
        for _ in 0..3 {
            let output = gerbang(store, &[("GERBANG_CUAN10PAY_RATE_LIMIT", "1")], &args).await;
            assert!(output.status.success(), "{store:?}: {}", stderr(&output));
        }
    }
    assert_eq!(received.count("GET /cuan10pay/v1/deposit_status"), 9);
    let odd = gerbang(Some("mongodb://x"), &[], &args).await;
    assert_eq!(odd.status.code(), Some(1));
    assert!(stderr(&odd).contains("GERBANG_STORE_URL: unknown kind of store `mongodb`"), "{}", stderr(&odd));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_redis_down_cuan10pay_refuses_the_call_and_ciputra_fetches_its_own_token() {
    let (sandbox, received) = counted_sandbox().await;
    let id = deposit(&sandbox).await;
    let down = format!("redis://:hunter2-down@127.0.0.1:{}/0", RedisServer::free_port());
    let base = format!("{sandbox}/cuan10pay");
    let started = std::time::Instant::now();
    let output = gerbang(Some(&down), &[], &["--base-url", &base, "cuan10pay", "status", &id]).await;
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(stderr(&output).starts_with("error: the redis store failed"), "{}", stderr(&output));
    assert!(!stderr(&output).contains("hunter2"), "{}", stderr(&output));
    assert!(started.elapsed() < Duration::from_secs(30), "took {:?}", started.elapsed());
    assert_eq!(received.count("GET /cuan10pay/v1/deposit_status"), 0, "nothing uncounted is sent");

    let base = format!("{sandbox}/ciputra");
    let args = ["--base-url", base.as_str(), "ciputra", "status", "NO-SUCH-ORDER"];
    let output = gerbang(Some(&down), &[], &args).await;
    let text = stderr(&output);
    assert!(text.starts_with("warning: the redis store failed"), "{text}");
    assert!(text.contains("fetching the Ciputra token without the shared store"), "{text}");
    assert!(!text.contains("hunter2"), "{text}");
    assert_eq!(received.count("POST /ciputra/auth/token"), 1, "it fetched its own token: {text}");
}

/// What a worker prints, on one line of its own, when its calls are done.
const RESULT: &str = "ciputra-worker-result ";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_processes_of_200_concurrent_ciputra_calls_from_a_cold_cache_get_one_token() {
    let Some(redis) = RedisServer::start() else { return };
    let (sandbox, received) = counted_sandbox().await;
    let base = format!("{sandbox}/ciputra");
    // A transaction to look up, created without the shared store (its token is its own).
    let args = ["--base-url", base.as_str(), "ciputra", "create", "--reference", "CP-1", "--amount", "50000"];
    let created = gerbang(None, &[], &[&args[..], &["--channel", "va:bca", "--customer-name", "Budi"]].concat()).await;
    assert!(created.status.success(), "{}", stderr(&created));
    let before = received.count("POST /ciputra/auth/token");
    assert_eq!(before, 1);

    // Five workers, started together, each calling at the same instant.
    let go_at = SystemTime::now().duration_since(UNIX_EPOCH).unwrap() + Duration::from_secs(3);
    let settings = serde_json::json!({
        "base_url": base,
        "store_url": redis.url(),
        "reference": "CP-1",
        "calls": 200,
        "go_at_ms": u64::try_from(go_at.as_millis()).unwrap(),
    })
    .to_string();
    let workers: Vec<_> = (0..5)
        .map(|_| {
            tokio::process::Command::new(std::env::current_exe().unwrap())
                .args(["worker_makes_concurrent_ciputra_calls", "--exact", "--nocapture", "--test-threads=1"])
                .env(WORKER, &settings)
                .stdin(Stdio::null())
                .kill_on_drop(true)
                .output()
        })
        .collect();
    let outputs = tokio::time::timeout(Duration::from_secs(180), futures_util::future::join_all(workers))
        .await
        .expect("the workers finished within 3 minutes");
    let mut fetches = 0;
    for output in outputs {
        let output = output.unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "a worker failed: {stdout}\n{}", stderr(&output));
        let line = stdout.lines().find_map(|l| l.strip_prefix(RESULT)).unwrap_or_else(|| panic!("{stdout}"));
        let result: Value = serde_json::from_str(line).unwrap();
        assert_eq!(result["ok"], 200, "{result}");
        fetches += result["token_fetches"].as_u64().unwrap();
    }
    assert_eq!(received.count("POST /ciputra/auth/token") - before, 1, "the gateway issued one token for 1000 calls");
    assert_eq!(fetches, 1, "one worker fetched it; the others took it from Redis");
    assert_eq!(received.count("POST /ciputra/transaction/status"), 1000);

    // `gerbang ciputra …` given the same store takes that token too.
    for _ in 0..2 {
        let status =
            gerbang(Some(&redis.url()), &[], &["--base-url", base.as_str(), "ciputra", "status", "CP-1"]).await;
        assert!(status.status.success(), "{}", stderr(&status));
    }
    assert_eq!(received.count("POST /ciputra/auth/token") - before, 1, "still one token");
}

/// A worker of [`five_processes_of_200_concurrent_ciputra_calls_from_a_cold_cache_get_one_token`]:
/// nothing unless [`WORKER`] is set (this binary run again by that test). Then it builds a
/// Ciputra client with a `RedisTokenStore`, as `gerbang ciputra …` does with a Redis
/// `GERBANG_STORE_URL`, waits for the agreed instant, makes the concurrent status calls, and
/// prints how many succeeded and how many tokens it fetched.
#[test]
fn worker_makes_concurrent_ciputra_calls() {
    let Ok(settings) = std::env::var(WORKER) else { return };
    let settings: Value = serde_json::from_str(&settings).unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(async {
        use gerbang::PaymentProvider;
        use gerbang::ciputra::{CiputraClient, CiputraConfig};
        use gerbang::redis::RedisTokenStore;

        let store = RedisTokenStore::connect(settings["store_url"].as_str().unwrap()).await.unwrap();
        let config = CiputraConfig::builder(ciputra::API_KEY, ciputra::API_SECRET)
            .base_url(settings["base_url"].as_str().unwrap())
            .token_store(Arc::new(store))
            .build()
            .unwrap();
        let client = CiputraClient::new(config);
        let go_at = UNIX_EPOCH + Duration::from_millis(settings["go_at_ms"].as_u64().unwrap());
        if let Ok(wait) = go_at.duration_since(SystemTime::now()) {
            tokio::time::sleep(wait).await;
        }
        let reference = settings["reference"].as_str().unwrap().to_owned();
        let calls = (0..settings["calls"].as_u64().unwrap()).map(|_| {
            let (client, reference) = (client.clone(), reference.clone());
            tokio::spawn(async move { client.payment_status(&reference).await })
        });
        let results = futures_util::future::join_all(calls).await;
        let errors: Vec<String> = results
            .iter()
            .filter_map(|r| match r {
                Ok(Ok(_)) => None,
                Ok(Err(e)) => Some(e.to_string()),
                Err(e) => Some(e.to_string()),
            })
            .collect();
        let ok = results.len() - errors.len();
        let line = serde_json::json!({"ok": ok, "errors": errors, "token_fetches": client.token_fetches()});
        println!("\n{RESULT}{line}");
    });
}
