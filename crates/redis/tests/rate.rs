//! The Redis rate store on a private `redis-server` (skipped, saying so, when none is installed;
//! failing when `CI=true`): the Lua script decides as `gcra()` does, and replicas share one
//! budget.
// The helpers below are test code too; clippy's allow-in-tests only covers #[test] functions.
#![allow(clippy::unwrap_used)]

use std::num::NonZeroU32;
use std::time::{Duration, Instant};

use gerbang_core::Error;
use gerbang_core::rate::{Decision, Priority, Quota, RateStore, gcra};
use gerbang_redis::RedisRateStore;
use gerbang_redis::redis::AsyncCommands;
use gerbang_testkit::RedisServer;
use proptest::prelude::*;

const KEY: &str = "cuan10pay:0123456789abcdef";

fn quota(limit: u32, period: Duration) -> Quota {
    Quota::new(NonZeroU32::new(limit).unwrap(), period)
}

fn per_hour(limit: u32) -> Quota {
    Quota::per_hour(NonZeroU32::new(limit).unwrap())
}

async fn raw(redis: &RedisServer) -> gerbang_redis::redis::aio::MultiplexedConnection {
    let client = gerbang_redis::redis::Client::open(redis.url()).expect("a redis URL");
    client.get_multiplexed_async_connection().await.expect("a connection of its own to the test's server")
}

/// What a store answered, as `gcra()`'s decision without the times: `None` allowed,
/// `Some(wait)` refused.
fn outcome(result: Result<(), Error>) -> Option<Duration> {
    match result {
        Ok(()) => None,
        Err(Error::BudgetSpent { retry_after: Some(wait) }) => Some(wait),
        Err(other) => panic!("neither allowed nor refused: {other:?}"),
    }
}

/// The quotas of one sequence: every `T` a whole number of `unit`s (at least a second), so that
/// when the model refuses a call it is refused by at least `unit`, far more than the
/// milliseconds the server's clock moves while the sequence runs; the two then decide alike.
fn quotas() -> impl Strategy<Value = Vec<Quota>> {
    (1_u64..=30).prop_flat_map(|unit_s| {
        let one = (1_u32..=40, 1_u64..=4)
            .prop_map(move |(limit, m)| quota(limit, Duration::from_secs(unit_s * m * u64::from(limit))));
        proptest::collection::vec(one, 1..=3)
    })
}

fn calls() -> impl Strategy<Value = (Vec<Quota>, Vec<(usize, bool)>)> {
    quotas().prop_flat_map(|quotas| {
        let n = quotas.len();
        (Just(quotas), proptest::collection::vec((0..n, any::<bool>()), 1..=60))
    })
}

#[test]
fn the_script_decides_as_gcra_does() {
    let Some(redis) = RedisServer::start() else { return };
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let store = runtime.block_on(RedisRateStore::connect(&redis.url())).unwrap();
    let conn = runtime.block_on(raw(&redis));
    let config = ProptestConfig { cases: 96, failure_persistence: None, ..ProptestConfig::default() };
    let case = std::sync::atomic::AtomicU32::new(0);
    proptest!(config, |((quotas, calls) in calls())| {
        // A fresh key per case: a whole budget.
        let key = format!("cuan10pay:case-{}", case.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
        let mut model_tat = None;
        let started = Instant::now();
        for (n, &(which, background)) in calls.iter().enumerate() {
            let quota = quotas[which];
            let priority = if background { Priority::Background } else { Priority::Normal };
            // The model: a burst at one instant, 0.
            let model = match gcra(model_tat, 0, &quota, priority) {
                Decision::Allow { tat, .. } => {
                    model_tat = Some(tat);
                    None
                }
                Decision::Refuse { retry_after } => Some(retry_after),
            };
            let got = outcome(runtime.block_on(store.acquire(&key, quota, priority)));
            // The server's clock has moved on by at most the time the sequence took so far (and
            // a little for the two clocks to disagree): its waits are shorter by that.
            let slack = started.elapsed() + Duration::from_millis(50);
            match (model, got) {
                (None, None) => {}
                (Some(want), Some(wait)) => prop_assert!(
                    wait <= want && want - wait <= slack,
                    "call {n}: wait {wait:?}, gcra() says {want:?} (slack {slack:?})"
                ),
                (want, got) => prop_assert!(false, "call {n} ({priority:?}, {quota:?}): redis {got:?}, gcra() {want:?}"),
            }
        }
        // The key holds the theoretical arrival time, and lives until the whole budget is back.
        if let Some(tat) = model_tat {
            let ttl: i64 = runtime.block_on(conn.clone().pttl(store.redis_key(&key))).unwrap();
            let want = i64::try_from(tat / 1000).unwrap();
            let took = i64::try_from(started.elapsed().as_millis()).unwrap() + 50;
            prop_assert!(ttl <= want + 1 && ttl >= want - took, "pttl {ttl}, tat {want} ms ahead, {took} ms taken");
        }
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_sharing_a_budget_of_n_allow_exactly_n_of_3n() {
    let Some(redis) = RedisServer::start() else { return };
    let a = RedisRateStore::connect(&redis.url()).await.unwrap();
    let b = RedisRateStore::connect(&redis.url()).await.unwrap();
    const N: u32 = 20;
    let q = per_hour(N);
    let calls = futures_util::future::join_all((0..3 * N).map(|n| {
        let store = if n % 2 == 0 { a.clone() } else { b.clone() };
        tokio::spawn(async move { store.acquire(KEY, q, Priority::Normal).await })
    }))
    .await;
    let outcomes: Vec<Option<Duration>> = calls.into_iter().map(|c| outcome(c.unwrap())).collect();
    let allowed = outcomes.iter().filter(|o| o.is_none()).count();
    assert_eq!(allowed, N as usize, "{outcomes:?}");
    // Each refused call waits for one call to come back: a little under 3600 / N seconds.
    for wait in outcomes.into_iter().flatten() {
        assert!(wait <= Duration::from_secs(180) && wait > Duration::from_secs(170), "{wait:?}");
    }
}

#[tokio::test]
async fn each_store_says_what_is_left_of_the_budget_after_a_call() {
    let Some(redis) = RedisServer::start() else { return };
    let stores: [(&str, Box<dyn RateStore>); 2] = [
        ("redis", Box::new(RedisRateStore::connect(&redis.url()).await.unwrap())),
        ("memory", Box::new(gerbang_core::rate::MemoryRateStore::new())),
    ];
    let q = per_hour(5);
    for (name, store) in &stores {
        let mut left = Vec::new();
        for _ in 0..5 {
            left.push(store.acquire_with_remaining(KEY, q, Priority::Normal).await.unwrap());
        }
        assert_eq!(left, [Some(4), Some(3), Some(2), Some(1), Some(0)], "{name}");
        let refused = store.acquire_with_remaining(KEY, q, Priority::Normal).await;
        assert!(matches!(refused, Err(Error::BudgetSpent { .. })), "{name}: {refused:?}");
    }
}

#[tokio::test]
async fn background_work_stops_at_the_reserve_and_the_merchant_goes_on() {
    let Some(redis) = RedisServer::start() else { return };
    let store = RedisRateStore::connect(&redis.url()).await.unwrap();
    let q = per_hour(10); // reserve 2
    for n in 0..8 {
        assert_eq!(outcome(store.acquire(KEY, q, Priority::Background).await), None, "background call {n}");
    }
    let wait = outcome(store.acquire(KEY, q, Priority::Background).await).expect("only the reserve is left");
    // Until one more call is back (an interval of 6 minutes), as gcra() says.
    assert!(wait <= Duration::from_secs(360) && wait > Duration::from_secs(350), "{wait:?}");
    assert_eq!(outcome(store.acquire(KEY, q, Priority::Normal).await), None);
    assert_eq!(outcome(store.acquire(KEY, q, Priority::Normal).await), None);
    assert!(outcome(store.acquire(KEY, q, Priority::Normal).await).is_some(), "the budget is spent");
    // Now background work waits until more than the reserve is back: three intervals.
    let wait = outcome(store.acquire(KEY, q, Priority::Background).await).expect("spent");
    assert!(wait <= Duration::from_secs(3 * 360) && wait > Duration::from_secs(3 * 360 - 10), "{wait:?}");
    // A budget of one call is all reserve.
    let one = per_hour(1);
    assert!(outcome(store.acquire("cuan10pay:one", one, Priority::Background).await).is_some());
    assert_eq!(outcome(store.acquire("cuan10pay:one", one, Priority::Normal).await), None);
}

#[tokio::test]
async fn a_call_comes_back_after_one_interval_and_keys_sit_under_the_prefix() {
    let Some(redis) = RedisServer::start() else { return };
    let store = RedisRateStore::builder().prefix("shop:rate:").connect(&redis.url()).await.unwrap();
    assert_eq!(store.redis_key(KEY), "shop:rate:cuan10pay:0123456789abcdef");
    let q = quota(1, Duration::from_secs(2));
    assert_eq!(outcome(store.acquire(KEY, q, Priority::Normal).await), None);
    let mut conn = raw(&redis).await;
    let tat: String = conn.get(store.redis_key(KEY)).await.unwrap();
    assert!(tat.len() >= 16 && tat.bytes().all(|b| b.is_ascii_digit()), "µs since the epoch, written whole: {tat}");
    let ttl: i64 = conn.pttl(store.redis_key(KEY)).await.unwrap();
    assert!(ttl > 0 && ttl <= 2_000, "{ttl}");
    assert!(outcome(store.acquire(KEY, q, Priority::Normal).await).is_some());
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    assert_eq!(outcome(store.acquire(KEY, q, Priority::Normal).await), None, "one call is back");
    // Another account has its own budget; an odd key is hashed.
    assert_eq!(outcome(store.acquire("cuan10pay:other", q, Priority::Normal).await), None);
    assert!(store.redis_key("egress ip 1").starts_with("shop:rate:#"));
}

#[tokio::test]
async fn acquire_fails_promptly_with_a_store_error_when_redis_goes_down() {
    let Some(redis) = RedisServer::start() else { return };
    let store = RedisRateStore::connect(&redis.url()).await.unwrap();
    assert_eq!(outcome(store.acquire(KEY, per_hour(100), Priority::Normal).await), None);
    drop(redis);
    for n in 0..3 {
        let started = Instant::now();
        let result = store.acquire(KEY, per_hour(100), Priority::Normal).await;
        let took = started.elapsed();
        assert!(matches!(result, Err(Error::Store { store: "redis", .. })), "acquire {n}: {result:?}");
        assert!(took < Duration::from_secs(3), "acquire {n} took {took:?}: it must not hang");
    }

    // A server that never answers: connect gives up within its limits.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("redis://127.0.0.1:{}/0", silent.local_addr().unwrap().port());
    let started = Instant::now();
    let result = RedisRateStore::builder()
        .connection_timeout(Duration::from_millis(300))
        .operation_timeout(Duration::from_secs(1))
        .connect(&url)
        .await;
    assert!(matches!(result, Err(Error::Store { store: "redis", .. })), "{result:?}");
    assert!(started.elapsed() < Duration::from_secs(2), "connect took {:?}", started.elapsed());
}

#[tokio::test]
async fn a_quota_beyond_the_scripts_exact_range_is_refused_as_config() {
    let Some(redis) = RedisServer::start() else { return };
    let store = RedisRateStore::connect(&redis.url()).await.unwrap();
    let absurd = quota(1, Duration::from_secs(200 * 365 * 24 * 3600));
    let result = store.acquire(KEY, absurd, Priority::Normal).await;
    assert!(matches!(result, Err(Error::Config { .. })), "{result:?}");
}
