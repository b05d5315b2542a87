//! The Redis inbox on a private `redis-server` (skipped, saying so, when none is installed;
//! failing when `CI=true`).

use std::time::{Duration, Instant};

use gerbang_core::inbox::{Claim, EventKey, Inbox};
use gerbang_core::{Error, ProviderId};
use gerbang_redis::RedisInbox;
use gerbang_redis::redis::AsyncCommands;
use gerbang_testkit::RedisServer;

fn key(name: &str) -> EventKey {
    EventKey { provider: ProviderId::Cuan10pay, key: format!("cuan10pay:{name}:paid") }
}

async fn raw(redis: &RedisServer) -> gerbang_redis::redis::aio::MultiplexedConnection {
    let client = gerbang_redis::redis::Client::open(redis.url()).expect("a redis URL");
    client.get_multiplexed_async_connection().await.expect("a connection of its own to the test's server")
}

#[tokio::test]
async fn keeps_the_inbox_contract() {
    let Some(redis) = RedisServer::start() else { return };
    let inbox = RedisInbox::connect(&redis.url()).await.unwrap();
    gerbang_testkit::check_inbox_contract(&inbox, "redis").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_racing_fifty_claims_grant_exactly_one() {
    let Some(redis) = RedisServer::start() else { return };
    let a = RedisInbox::connect(&redis.url()).await.unwrap();
    let b = RedisInbox::connect(&redis.url()).await.unwrap();
    let k = key("RACE-1");
    let claims = futures_util::future::join_all((0..50).map(|n| {
        let inbox = if n % 2 == 0 { a.clone() } else { b.clone() };
        let k = k.clone();
        tokio::spawn(async move { inbox.claim(&k, Duration::from_secs(30)).await })
    }))
    .await;
    let claims: Vec<Claim> = claims.into_iter().map(|c| c.unwrap().unwrap()).collect();
    assert_eq!(claims.iter().filter(|c| matches!(c, Claim::New(_))).count(), 1, "{claims:?}");
    assert_eq!(claims.iter().filter(|c| **c == Claim::InFlight).count(), 49, "{claims:?}");
    // The winner completes through one replica; the other sees it done.
    let Some(Claim::New(lease)) = claims.into_iter().find(|c| matches!(c, Claim::New(_))) else { unreachable!() };
    assert!(a.complete(&lease).await.unwrap());
    assert_eq!(b.claim(&k, Duration::from_secs(30)).await.unwrap(), Claim::Done);
}

#[tokio::test]
async fn keys_are_laid_out_under_the_prefix_and_hold_the_holder_then_the_marker() {
    let Some(redis) = RedisServer::start() else { return };
    let inbox = RedisInbox::builder().prefix("shop:inbox:").connect(&redis.url()).await.unwrap();
    let k = key("CP-7");
    assert_eq!(inbox.redis_key(&k), "shop:inbox:cuan10pay:cuan10pay:CP-7:paid");
    let Claim::New(lease) = inbox.claim(&k, Duration::from_secs(30)).await.unwrap() else { panic!("new") };
    let mut conn = raw(&redis).await;
    let held: String = conn.get(inbox.redis_key(&k)).await.unwrap();
    assert_eq!(held, lease.holder);
    let ttl: i64 = conn.pttl(inbox.redis_key(&k)).await.unwrap();
    assert!(ttl > 29_000 && ttl <= 30_000, "the lease is the key's TTL: {ttl}");
    assert!(inbox.complete(&lease).await.unwrap());
    let done: String = conn.get(inbox.redis_key(&k)).await.unwrap();
    assert_eq!(done, "done");
    let ttl: i64 = conn.pttl(inbox.redis_key(&k)).await.unwrap();
    assert!(ttl > 7 * 24 * 3600 * 1000 - 60_000, "a done marker is kept 7 days by default: {ttl}");

    // An odd event key is hashed, not written as it is.
    let odd = EventKey { provider: ProviderId::Qris, key: "qris:A B*{x}:paid".into() };
    assert!(inbox.redis_key(&odd).starts_with("shop:inbox:qris:#"));
    assert!(matches!(inbox.claim(&odd, Duration::from_secs(30)).await.unwrap(), Claim::New(_)));
    assert_eq!(inbox.claim(&odd, Duration::from_secs(30)).await.unwrap(), Claim::InFlight);
}

#[tokio::test]
async fn a_done_marker_expires_after_its_retention() {
    let Some(redis) = RedisServer::start() else { return };
    let inbox = RedisInbox::builder().retention(Duration::from_millis(300)).connect(&redis.url()).await.unwrap();
    let k = key("CP-2");
    let Claim::New(lease) = inbox.claim(&k, Duration::from_secs(30)).await.unwrap() else { panic!("new") };
    assert!(inbox.complete(&lease).await.unwrap());
    assert_eq!(inbox.claim(&k, Duration::from_secs(30)).await.unwrap(), Claim::Done);
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(
        matches!(inbox.claim(&k, Duration::from_secs(30)).await.unwrap(), Claim::New(_)),
        "past its retention the marker is gone and the event is new again"
    );
}

#[tokio::test]
async fn claims_fail_promptly_with_a_store_error_when_redis_goes_down() {
    let Some(redis) = RedisServer::start() else { return };
    let inbox = RedisInbox::builder().operation_timeout(Duration::from_secs(2)).connect(&redis.url()).await.unwrap();
    assert!(matches!(inbox.claim(&key("UP"), Duration::from_secs(30)).await.unwrap(), Claim::New(_)));
    drop(redis);
    for n in 0..3 {
        let started = Instant::now();
        let result = inbox.claim(&key(&format!("DOWN-{n}")), Duration::from_secs(30)).await;
        let took = started.elapsed();
        assert!(matches!(result, Err(Error::Store { store: "redis", .. })), "claim {n}: {result:?}");
        assert!(took < Duration::from_secs(3), "claim {n} took {took:?}: it must not hang");
        assert!(result.unwrap_err().is_transient());
    }
}

#[tokio::test]
async fn a_server_that_never_answers_fails_connect_and_claims_within_the_timeouts() {
    // Accepts connections (the kernel's backlog does) and never answers a byte.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("redis://127.0.0.1:{}/0", silent.local_addr().unwrap().port());
    let started = Instant::now();
    let result = RedisInbox::builder()
        .connection_timeout(Duration::from_millis(300))
        .operation_timeout(Duration::from_secs(1))
        .connect(&url)
        .await;
    assert!(matches!(result, Err(Error::Store { store: "redis", .. })), "{result:?}");
    assert!(started.elapsed() < Duration::from_secs(2), "connect took {:?}", started.elapsed());

    // A server busy in a script that never ends: a claim gives up after the response timeout.
    let Some(redis) = RedisServer::start() else { return };
    let inbox = RedisInbox::builder()
        .response_timeout(Duration::from_millis(300))
        .operation_timeout(Duration::from_secs(1))
        .connect(&redis.url())
        .await
        .unwrap();
    let mut conn = raw(&redis).await;
    let busy = tokio::spawn(async move {
        let _: Result<(), _> =
            gerbang_redis::redis::cmd("EVAL").arg("while true do end").arg(0).query_async(&mut conn).await;
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    let result = inbox.claim(&key("BUSY"), Duration::from_secs(30)).await;
    assert!(matches!(result, Err(Error::Store { store: "redis", .. })), "{result:?}");
    assert!(started.elapsed() < Duration::from_secs(2), "claim took {:?}", started.elapsed());
    busy.abort();
}

#[tokio::test]
async fn a_holder_whose_lease_ran_out_unchallenged_still_completes() {
    let Some(redis) = RedisServer::start() else { return };
    let inbox = RedisInbox::connect(&redis.url()).await.unwrap();
    let k = key("SLOW-1");
    let Claim::New(lease) = inbox.claim(&k, Duration::from_millis(100)).await.unwrap() else { panic!("new") };
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert!(inbox.complete(&lease).await.unwrap(), "nobody took over: the slow holder's handling counts");
    assert_eq!(inbox.claim(&k, Duration::from_secs(30)).await.unwrap(), Claim::Done);
    // But a released claim's former holder, once someone else holds it, cannot.
    let k = key("SLOW-2");
    let Claim::New(first) = inbox.claim(&k, Duration::from_secs(30)).await.unwrap() else { panic!("new") };
    assert!(inbox.release(&first).await.unwrap());
    assert!(!inbox.release(&first).await.unwrap(), "a released claim is no longer the holder's");
}
