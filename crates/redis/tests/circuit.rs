//! The Redis circuit store on a private `redis-server`, over TLS and on a three-master Redis
//! Cluster (each skipped, saying so, when the programs are not installed; failing when
//! `CI=true`): it keeps the circuit contract with two replicas' connections, its keys are laid
//! out as documented and expire when idle, and a Redis that is down is a prompt store error
//! that shows no password.

use std::time::{Duration, Instant};

use gerbang_core::circuit::{Admission, CircuitPolicy, CircuitStore, Health};
use gerbang_core::{Error, ProviderId};
use gerbang_redis::RedisCircuitStore;
use gerbang_redis::redis::AsyncCommands;
use gerbang_testkit::{RedisCluster, RedisServer, TestCa, Validity};

/// A password the errors must never show.
const PASSWORD: &str = "hunter2-circuit-secret";

async fn raw(url: &str) -> gerbang_redis::redis::aio::MultiplexedConnection {
    let client = gerbang_redis::redis::Client::open(url).expect("a redis URL");
    client.get_multiplexed_async_connection().await.expect("a connection of its own to the test's server")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_keep_the_circuit_contract() {
    let Some(redis) = RedisServer::start() else { return };
    let a = RedisCircuitStore::connect(&redis.url()).await.unwrap();
    let b = RedisCircuitStore::connect(&redis.url()).await.unwrap();
    gerbang_testkit::check_circuit_contract(&a, &b).await;
    let keys: Vec<String> = raw(&redis.url()).await.keys("gerbang:circuit:*").await.unwrap();
    assert!(keys.is_empty(), "every circuit closed leaves no key: {keys:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_over_tls_keep_the_circuit_contract() {
    let Some(mut ca) = TestCa::new("gerbang test CA") else { return };
    let Some(server) = RedisServer::start_tls(&ca.server_cert(&["127.0.0.1"], Validity::Current)) else { return };
    let url = server.url();
    assert!(url.starts_with("rediss://"), "{url}");
    let connect = || RedisCircuitStore::builder().root_cert(ca.ca_file()).connect(&url);
    let a = connect().await.unwrap_or_else(|e| panic!("circuit store over TLS: {e}"));
    let b = connect().await.unwrap_or_else(|e| panic!("circuit store over TLS: {e}"));
    gerbang_testkit::check_circuit_contract(&a, &b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_on_a_cluster_keep_the_circuit_contract_each_gateway_in_its_slot() {
    let Some(cluster) = RedisCluster::start() else { return };
    let a = RedisCircuitStore::builder().prefix("shop:circuit:").connect(&cluster.url()).await.unwrap();
    let b = RedisCircuitStore::builder().prefix("shop:circuit:").connect(&cluster.url()).await.unwrap();
    gerbang_testkit::check_circuit_contract(&a, &b).await;

    // Each gateway's key is under its own hash tag: the gateways spread over the masters.
    let policy = CircuitPolicy::default();
    for gateway in ProviderId::ALL {
        a.record(gateway, policy, Health::Unhealthy).await.unwrap();
    }
    let mut masters = std::collections::BTreeSet::new();
    for index in 0..3 {
        let keys: Vec<String> = raw(&cluster.node_url(index)).await.keys("shop:circuit:*").await.unwrap();
        if !keys.is_empty() {
            masters.insert(index);
        }
    }
    assert!(masters.len() >= 2, "five gateways' circuits on one master only: {masters:?}");
    for gateway in ProviderId::ALL {
        a.record(gateway, policy, Health::Healthy).await.unwrap();
    }
}

#[tokio::test]
async fn a_circuit_is_one_hash_under_the_gateway_tag_that_expires_when_idle() {
    let Some(redis) = RedisServer::start() else { return };
    let store = RedisCircuitStore::builder().prefix("shop:{circuit}:").connect(&redis.url()).await.unwrap();
    let key = store.redis_key(ProviderId::Cuan10pay);
    assert_eq!(key, "shop:circuit:{cuan10pay}", "braces are left out of the prefix: the gateway is the tag");
    let mut conn = raw(&redis.url()).await;
    let policy = CircuitPolicy::default().failures(2);

    store.record(ProviderId::Cuan10pay, policy, Health::Unhealthy).await.unwrap();
    let hash: std::collections::HashMap<String, String> = conn.hgetall(&key).await.unwrap();
    assert_eq!(hash, [("failures".to_owned(), "1".to_owned())].into(), "one failure counted");
    let ttl: i64 = conn.pttl(&key).await.unwrap();
    let forget = i64::try_from(policy.forget_after().as_millis()).unwrap();
    assert!(ttl > forget - 5_000 && ttl <= forget, "an idle circuit expires after forget_after: {ttl} ms");

    // Opened at the server's time, in µs.
    store.record(ProviderId::Cuan10pay, policy, Health::Unhealthy).await.unwrap();
    let (secs, micros): (i64, i64) = gerbang_redis::redis::cmd("TIME").query_async(&mut conn).await.unwrap();
    let now = secs * 1_000_000 + micros;
    let opened: i64 = conn.hget(&key, "opened").await.unwrap();
    assert!((0..1_000_000).contains(&(now - opened)), "opened {opened} is the server's µs, now {now}");
    assert_eq!(store.admit(ProviderId::Cuan10pay, policy).await.unwrap(), Admission::Open);

    // The probe slot: when it expires, on the server's clock.
    let short = policy.cool_down(Duration::ZERO).probe_timeout(Duration::from_secs(7));
    assert_eq!(store.admit(ProviderId::Cuan10pay, short).await.unwrap(), Admission::Probe);
    let probe: i64 = conn.hget(&key, "probe").await.unwrap();
    assert!((6_000_000..=8_000_000).contains(&(probe - now)), "the slot expires 7 s after it is given");

    // A healthy call leaves no key; the other gateways never had one.
    store.record(ProviderId::Cuan10pay, policy, Health::Healthy).await.unwrap();
    let keys: Vec<String> = conn.keys("shop:*").await.unwrap();
    assert!(keys.is_empty(), "{keys:?}");

    // A key that expired: the circuit is closed, with no failures.
    let brief = CircuitPolicy::default()
        .failures(1)
        .cool_down(Duration::from_millis(20))
        .probe_timeout(Duration::from_millis(20));
    store.record(ProviderId::Qris, brief, Health::Unhealthy).await.unwrap();
    assert_eq!(store.admit(ProviderId::Qris, brief).await.unwrap(), Admission::Open);
    tokio::time::sleep(brief.forget_after() + Duration::from_millis(50)).await;
    let exists: bool = conn.exists(store.redis_key(ProviderId::Qris)).await.unwrap();
    assert!(!exists, "the key of an idle circuit expired");
    assert_eq!(store.admit(ProviderId::Qris, brief).await.unwrap(), Admission::Closed);
}

#[tokio::test]
async fn a_redis_that_is_down_is_a_prompt_store_error_without_the_password() {
    let Some(redis) = RedisServer::start() else { return };
    let mut admin = raw(&redis.url()).await;
    let set: Result<(), _> =
        gerbang_redis::redis::cmd("CONFIG").arg("SET").arg("requirepass").arg(PASSWORD).query_async(&mut admin).await;
    set.unwrap();
    let url = redis.url().replacen("://", &format!("://:{PASSWORD}@"), 1);
    let store = RedisCircuitStore::connect(&url).await.unwrap();
    store.ping().await.unwrap();
    assert!(!format!("{store:?} {store}").contains(PASSWORD), "{store:?}");
    let policy = CircuitPolicy::default();
    assert_eq!(store.admit(ProviderId::Qris, policy).await.unwrap(), Admission::Closed);

    let wrong = RedisCircuitStore::connect(&redis.url().replacen("://", "://:not-it@", 1)).await;
    let Err(Error::Config { message }) = wrong else { panic!("a wrong password: {wrong:?}") };
    assert!(message.contains("the redis store refused"), "{message}");

    drop(redis);
    for (n, result) in [
        store.admit(ProviderId::Qris, policy).await.map(|_| ()),
        store.record(ProviderId::Qris, policy, Health::Unhealthy).await,
        store.ping().await,
    ]
    .into_iter()
    .enumerate()
    {
        let Err(Error::Store { store: "redis", message }) = result else { panic!("operation {n}: {result:?}") };
        assert!(!message.contains(PASSWORD), "{message}");
    }
    let started = Instant::now();
    let result = store.admit(ProviderId::Qris, policy).await;
    assert!(matches!(result, Err(Error::Store { .. })), "{result:?}");
    let took = started.elapsed();
    assert!(took < Duration::from_secs(2), "admit took {took:?}: the router waits for it before each call");
}
