//! The client-side rate budget: spent calls are refused without reaching the gateway.

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use gerbang_core::rate::{MemoryRateStore, Priority, Quota, RateStore};
use gerbang_core::{Error, HttpClient, RetryPolicy};
use gerbang_cuan10pay::{Cuan10payClient, Cuan10payConfig, ENV_API_KEY, ENV_BASE_URL, ENV_PRIVATE_KEY, ENV_RATE_LIMIT};
use httpmock::MockServer;

use crate::common::{API_KEY, PRIVATE_KEY, builder, fixture};

#[tokio::test]
async fn the_call_over_the_budget_is_refused_without_being_sent_and_clones_share_it() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.path("/api/v1/deposit_status");
            then.status(200).body(fixture("deposit_status_paid.json"));
        })
        .await;
    let client =
        gerbang_cuan10pay::Cuan10payClient::new(builder(&server.url("/api")).rate_budget_per_hour(3).build().unwrap());
    let clone = client.clone();

    client.deposit_status("CP-1").await.unwrap();
    clone.deposit_status("CP-1").await.unwrap();
    client.deposit_status("CP-1").await.unwrap();
    let err = clone.deposit_status("CP-1").await.expect_err("the fourth call is over the budget");
    match err {
        // 3 per hour: the next one is 20 minutes away.
        Error::BudgetSpent { retry_after: Some(wait) } => {
            assert!(wait.as_secs() > 19 * 60 && wait.as_secs() <= 20 * 60, "{wait:?}")
        }
        other => panic!("expected BudgetSpent with a wait, got {other:?}"),
    }
    assert_eq!(mock.calls_async().await, 3);
}

#[tokio::test]
async fn a_budget_given_to_two_configs_is_shared_between_their_clients() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.path("/api/v1/ppob_products");
            then.status(200).body(fixture("ppob_products.json"));
        })
        .await;
    let budget = gerbang_cuan10pay::RateBudget::per_hour(std::num::NonZeroU32::new(2).unwrap());
    let make = || {
        gerbang_cuan10pay::Cuan10payClient::new(
            builder(&server.url("/api")).rate_budget(budget.clone()).build().unwrap(),
        )
    };
    let (a, b) = (make(), make());
    a.ppob_products(None).await.unwrap();
    b.ppob_products(None).await.unwrap();
    assert!(matches!(a.ppob_products(None).await, Err(Error::BudgetSpent { retry_after: Some(_) })));
    assert_eq!(mock.calls_async().await, 2);
}

#[test]
fn a_zero_budget_is_a_config_error_and_the_default_is_the_gateways_limit() {
    assert!(matches!(builder("http://127.0.0.1:1/api").rate_budget_per_hour(0).build(), Err(Error::Config { .. })));
    let config = gerbang_cuan10pay::Cuan10payConfig::builder("k", "p").build().unwrap();
    assert_eq!(config.rate_budget().limit_per_hour(), Some(100));
    assert_eq!(builder("http://127.0.0.1:1/api").build().unwrap().rate_budget().limit_per_hour(), None);
}

/// A shared store that cannot be reached.
#[derive(Debug)]
struct UnreachableStore;

#[gerbang_core::async_trait]
impl RateStore for UnreachableStore {
    async fn acquire(&self, _key: &str, _quota: Quota, _priority: Priority) -> Result<(), Error> {
        Err(Error::Store { store: "test", message: "connection refused".into() })
    }
}

async fn serve_deposit_status(server: &MockServer) -> httpmock::Mock<'_> {
    server
        .mock_async(|when, then| {
            when.path("/api/v1/deposit_status");
            then.status(200).body(fixture("deposit_status_paid.json"));
        })
        .await
}

#[tokio::test]
async fn two_clients_built_separately_spend_one_budget_through_one_store() {
    let server = MockServer::start_async().await;
    let mock = serve_deposit_status(&server).await;
    // As two replicas would, each building its own client on the same shared store.
    let store: Arc<dyn RateStore> = Arc::new(MemoryRateStore::new());
    let make = || {
        Cuan10payClient::new(
            builder(&server.url("/api")).rate_store(store.clone()).rate_budget_per_hour(3).build().unwrap(),
        )
    };
    let (a, b) = (make(), make());
    a.deposit_status("CP-1").await.unwrap();
    b.deposit_status("CP-1").await.unwrap();
    a.deposit_status("CP-1").await.unwrap();
    assert!(matches!(b.deposit_status("CP-1").await, Err(Error::BudgetSpent { retry_after: Some(_) })));
    assert!(matches!(a.deposit_status("CP-1").await, Err(Error::BudgetSpent { retry_after: Some(_) })));
    assert_eq!(mock.calls_async().await, 3);

    // Another account on the same store has a budget of its own.
    let other = Cuan10payClient::new(
        Cuan10payConfig::builder("another-api-key", PRIVATE_KEY)
            .base_url(server.url("/api"))
            .http_client(HttpClient::builder().retry(RetryPolicy::none()).build().unwrap())
            .rate_store(store.clone())
            .rate_budget_per_hour(3)
            .build()
            .unwrap(),
    );
    assert!(!matches!(other.deposit_status("CP-1").await, Err(Error::BudgetSpent { .. })));
    assert_eq!(mock.calls_async().await, 4);
}

#[test]
fn the_budget_is_kept_under_a_hash_of_the_account_never_its_key() {
    let config = builder("http://127.0.0.1:1/api").rate_budget_per_hour(100).build().unwrap();
    let key = config.rate_budget().key().unwrap().to_owned();
    assert!(key.starts_with("cuan10pay:") && key.len() == "cuan10pay:".len() + 16, "{key}");
    assert!(!key.contains(API_KEY) && !key.contains("AK9f3xQ"), "{key}");
    // Stable across processes and builds: every replica must compute the same key, which is
    // HMAC-SHA256(key "gerbang rate budget v1", the API key), its first 8 bytes in hex.
    assert_eq!(key, "cuan10pay:4f2a27b23b7c18df");
    let shown = format!("{:?}", config.rate_budget());
    assert!(shown.contains(&key) && !shown.contains(API_KEY), "{shown}");
}

#[tokio::test]
async fn background_calls_stop_at_the_reserve_while_the_merchants_go_on() {
    let server = MockServer::start_async().await;
    let mock = serve_deposit_status(&server).await;
    // 5 per hour: the reserve is 1 call (20 %, rounded up).
    let client = Cuan10payClient::new(builder(&server.url("/api")).rate_budget_per_hour(5).build().unwrap());
    let reconciler = client.with_priority(Priority::Background);
    for _ in 0..4 {
        reconciler.deposit_status("CP-1").await.unwrap();
    }
    let err = reconciler.deposit_status("CP-1").await.unwrap_err();
    assert!(matches!(err, Error::BudgetSpent { retry_after: Some(_) }), "{err:?}");
    assert_eq!(mock.calls_async().await, 4, "the refused background call was not sent");
    // The merchant's own call still has the reserve.
    client.deposit_status("CP-1").await.unwrap();
    assert!(matches!(client.deposit_status("CP-1").await, Err(Error::BudgetSpent { .. })));
    assert_eq!(mock.calls_async().await, 5);
}

#[tokio::test]
async fn an_unreachable_store_refuses_the_call_without_sending_it() {
    let server = MockServer::start_async().await;
    let mock = serve_deposit_status(&server).await;
    let client = Cuan10payClient::new(
        builder(&server.url("/api")).rate_store(Arc::new(UnreachableStore)).rate_budget_per_hour(100).build().unwrap(),
    );
    let err = client.deposit_status("CP-1").await.unwrap_err();
    assert!(matches!(&err, Error::Store { store: "test", .. }) && err.is_transient(), "{err:?}");
    assert_eq!(mock.calls_async().await, 0);
}

#[tokio::test]
async fn every_retry_of_a_look_up_spends_one_request() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.path("/api/v1/deposit_status");
            then.status(503).body("busy");
        })
        .await;
    let store = Arc::new(MemoryRateStore::new());
    let retrying = HttpClient::builder()
        .retry(RetryPolicy::default().max_retries(2).initial_backoff(Duration::from_millis(1)))
        .build()
        .unwrap();
    let config = builder(&server.url("/api"))
        .http_client(retrying)
        .rate_store(store.clone())
        .rate_budget_per_hour(10)
        .build()
        .unwrap();
    let client = Cuan10payClient::new(config.clone());
    assert!(client.deposit_status("CP-1").await.is_err());
    assert_eq!(mock.calls_async().await, 3);
    // Three of ten spent: seven are left.
    let (key, quota) = (config.rate_budget().key().unwrap(), config.rate_budget().quota().unwrap());
    for _ in 0..7 {
        store.acquire(key, quota, Priority::Normal).await.unwrap();
    }
    assert!(matches!(store.acquire(key, quota, Priority::Normal).await, Err(Error::BudgetSpent { .. })));
}

const SCENARIO: &str = "CUAN10PAY_TEST_RATE_LIMIT_SCENARIO";

/// Each scenario runs this test binary again with its own environment (see `config.rs`).
#[test]
fn from_env_reads_the_rate_limit() {
    if let Ok(scenario) = std::env::var(SCENARIO) {
        return check_rate_limit_scenario(&scenario);
    }
    for (scenario, value) in [("unset", None), ("set", Some("250")), ("zero", Some("0")), ("garbage", Some("lots-9x"))]
    {
        let mut command = Command::new(std::env::current_exe().unwrap());
        command.args(["--exact", "budget::from_env_reads_the_rate_limit", "--test-threads=1"]);
        command.env(ENV_API_KEY, API_KEY).env(ENV_PRIVATE_KEY, PRIVATE_KEY).env_remove(ENV_BASE_URL);
        command.env_remove(ENV_RATE_LIMIT).env(SCENARIO, scenario);
        if let Some(value) = value {
            command.env(ENV_RATE_LIMIT, value);
        }
        let output = command.output().unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success() && stdout.contains("1 passed"), "scenario {scenario}: {stdout}");
    }
}

fn check_rate_limit_scenario(scenario: &str) {
    match scenario {
        "unset" => assert_eq!(Cuan10payConfig::from_env().unwrap().rate_budget().limit_per_hour(), Some(100)),
        "set" => assert_eq!(Cuan10payConfig::from_env().unwrap().rate_budget().limit_per_hour(), Some(250)),
        "zero" | "garbage" => {
            let err = Cuan10payConfig::from_env().unwrap_err();
            let text = err.to_string();
            assert!(matches!(err, Error::Config { .. }) && text.contains(ENV_RATE_LIMIT), "{text}");
            assert!(!text.contains("lots-9x"), "{text}");
        }
        other => panic!("unknown scenario {other}"),
    }
}

/// A store that must ask a server, as Redis does: it cannot answer without waiting.
#[derive(Debug, Default)]
struct RemoteLikeStore(MemoryRateStore);

#[gerbang_core::async_trait]
impl RateStore for RemoteLikeStore {
    async fn acquire(&self, key: &str, quota: Quota, priority: Priority) -> Result<(), Error> {
        tokio::task::yield_now().await;
        self.0.acquire(key, quota, priority).await
    }
}

fn retrying_http() -> HttpClient {
    HttpClient::builder()
        .retry(RetryPolicy::default().max_retries(2).initial_backoff(Duration::from_millis(1)))
        .build()
        .unwrap()
}

async fn serve_busy(server: &MockServer) -> httpmock::Mock<'_> {
    server
        .mock_async(|when, then| {
            when.path("/api/v1/deposit_status");
            then.status(503).body("busy");
        })
        .await
}

#[tokio::test]
async fn a_retry_over_the_budget_is_refused_before_it_goes() {
    let server = MockServer::start_async().await;
    let mock = serve_busy(&server).await;
    let client = Cuan10payClient::new(
        builder(&server.url("/api")).http_client(retrying_http()).rate_budget_per_hour(2).build().unwrap(),
    );
    let err = client.deposit_status("CP-1").await.unwrap_err();
    assert!(matches!(err, Error::BudgetSpent { retry_after: Some(_) }), "{err:?}");
    assert_eq!(mock.calls_async().await, 2, "the second retry was over the budget");
}

/// A store that must ask a server holds a retry back as the memory store does: the transport
/// awaits the budget before each attempt.
#[tokio::test]
async fn with_a_remote_store_a_retry_over_the_budget_is_refused_before_it_goes() {
    let server = MockServer::start_async().await;
    let mock = serve_busy(&server).await;
    let store = Arc::new(RemoteLikeStore::default());
    let config = builder(&server.url("/api"))
        .http_client(retrying_http())
        .rate_store(store.clone())
        .rate_budget_per_hour(2)
        .build()
        .unwrap();
    let client = Cuan10payClient::new(config);
    let err = client.deposit_status("CP-1").await.unwrap_err();
    assert!(matches!(err, Error::BudgetSpent { retry_after: Some(_) }), "{err:?}");
    assert_eq!(mock.calls_async().await, 2, "the second retry was over the budget and never went out");
    assert!(matches!(client.deposit_status("CP-1").await, Err(Error::BudgetSpent { .. })));
    assert_eq!(mock.calls_async().await, 2);
}
