//! The Redis token store on a private `redis-server` (skipped, saying so, when none is
//! installed; failing when `CI=true`): the four primitives, and `get_or_refresh` across two
//! connections fetching once.

use std::sync::Arc;
use std::time::{Duration, Instant};

use gerbang_core::Error;
use gerbang_core::secrecy::ExposeSecret;
use gerbang_core::time::OffsetDateTime;
use gerbang_core::token_store::{RefreshOptions, Source, TokenStore, get_or_refresh};
use gerbang_redis::RedisTokenStore;
use gerbang_redis::redis::AsyncCommands;
use gerbang_testkit::{RedisServer, check_one_fetch_for_many_callers, stored_token};

const KEY: &str = "ciputra:0123456789abcdef";

async fn raw(redis: &RedisServer) -> gerbang_redis::redis::aio::MultiplexedConnection {
    let client = gerbang_redis::redis::Client::open(redis.url()).expect("a redis URL");
    client.get_multiplexed_async_connection().await.expect("a connection of its own to the test's server")
}

#[tokio::test]
async fn a_token_put_is_got_back_whole_and_lives_its_ttl() {
    let Some(redis) = RedisServer::start() else { return };
    let store = RedisTokenStore::connect(&redis.url()).await.unwrap();
    assert!(store.get(KEY).await.unwrap().is_none(), "cold: no token");
    let put = stored_token("eyJ.hush-7c1e.sig");
    store.put(KEY, &put, Duration::from_secs(3540)).await.unwrap();
    let got = store.get(KEY).await.unwrap().expect("the token");
    assert_eq!(got.secret.expose_secret(), "eyJ.hush-7c1e.sig");
    // Kept to the millisecond, rounded down.
    let ms = |t: OffsetDateTime| t.unix_timestamp_nanos() / 1_000_000;
    assert_eq!((ms(got.expires_at), ms(got.refresh_at)), (ms(put.expires_at), ms(put.refresh_at)));

    // Laid out as documented, under the default prefix, with the TTL given.
    assert_eq!(store.redis_key(KEY), "gerbang:token:ciputra:0123456789abcdef");
    let mut conn = raw(&redis).await;
    let value: String = conn.get("gerbang:token:ciputra:0123456789abcdef").await.unwrap();
    assert_eq!(value, format!("1 {} {} eyJ.hush-7c1e.sig", ms(put.expires_at), ms(put.refresh_at)));
    let ttl: i64 = conn.pttl(store.redis_key(KEY)).await.unwrap();
    assert!(ttl > 3_530_000 && ttl <= 3_540_000, "{ttl}");

    // A short TTL: gone after it.
    store.put("ciputra:short", &stored_token("brief"), Duration::from_millis(200)).await.unwrap();
    assert!(store.get("ciputra:short").await.unwrap().is_some());
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(store.get("ciputra:short").await.unwrap().is_none(), "past its TTL the token is gone");

    // Something that does not read as a token is none, not an error.
    let _: () = conn.set(store.redis_key("ciputra:odd"), "2 1 1 from-a-newer-layout").await.unwrap();
    assert!(store.get("ciputra:odd").await.unwrap().is_none());
}

#[tokio::test]
async fn the_lock_is_exclusive_between_connections_and_only_its_holder_unlocks_it() {
    let Some(redis) = RedisServer::start() else { return };
    let a = RedisTokenStore::connect(&redis.url()).await.unwrap();
    let b = RedisTokenStore::connect(&redis.url()).await.unwrap();
    assert_eq!(a.lock_key(KEY), "gerbang:token-lock:ciputra:0123456789abcdef");
    assert!(a.try_lock(KEY, "holder-a", Duration::from_secs(30)).await.unwrap());
    assert!(!b.try_lock(KEY, "holder-b", Duration::from_secs(30)).await.unwrap(), "another connection");
    assert!(!a.try_lock(KEY, "holder-a2", Duration::from_secs(30)).await.unwrap(), "the same connection");
    b.unlock(KEY, "holder-b").await.unwrap();
    assert!(!b.try_lock(KEY, "holder-b", Duration::from_secs(30)).await.unwrap(), "not the holder: still locked");
    let mut conn = raw(&redis).await;
    let held: String = conn.get(a.lock_key(KEY)).await.unwrap();
    assert_eq!(held, "holder-a");
    let ttl: i64 = conn.pttl(a.lock_key(KEY)).await.unwrap();
    assert!(ttl > 29_000 && ttl <= 30_000, "the timeout is the key's TTL: {ttl}");
    a.unlock(KEY, "holder-a").await.unwrap();
    assert!(b.try_lock(KEY, "holder-b", Duration::from_millis(200)).await.unwrap(), "free once its holder unlocked");
    // A lock that ran out is free for the next holder, and its former holder's unlock leaves
    // the new one alone.
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(a.try_lock(KEY, "holder-a3", Duration::from_secs(30)).await.unwrap());
    b.unlock(KEY, "holder-b").await.unwrap();
    assert!(!b.try_lock(KEY, "holder-b4", Duration::from_secs(30)).await.unwrap());
    // The lock and the token are apart: a lock is no token.
    assert!(a.get(KEY).await.unwrap().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_callers_through_two_stores_fetch_one_token() {
    let Some(redis) = RedisServer::start() else { return };
    let a = Arc::new(RedisTokenStore::connect(&redis.url()).await.unwrap());
    let b = Arc::new(RedisTokenStore::connect(&redis.url()).await.unwrap());
    check_one_fetch_for_many_callers(a.clone(), b.clone(), KEY).await;
    assert!(b.try_lock(KEY, "next", Duration::from_secs(1)).await.unwrap(), "the holder gave the lock up");
}

#[tokio::test]
async fn every_operation_fails_promptly_with_a_store_error_when_redis_goes_down() {
    let Some(redis) = RedisServer::start() else { return };
    let store = RedisTokenStore::connect(&redis.url()).await.unwrap();
    store.put(KEY, &stored_token("hush-down-1"), Duration::from_secs(60)).await.unwrap();
    drop(redis);
    let started = Instant::now();
    let results = [
        store.get(KEY).await.map(|_| ()),
        store.put(KEY, &stored_token("hush-down-2"), Duration::from_secs(60)).await,
        store.try_lock(KEY, "h", Duration::from_secs(30)).await.map(|_| ()),
        store.unlock(KEY, "h").await,
    ];
    for result in &results {
        let Err(error @ Error::Store { store: "redis", .. }) = result else { panic!("{result:?}") };
        assert!(!error.to_string().contains("hush-down"), "{error}");
    }
    assert!(started.elapsed() < Duration::from_secs(4 * 3), "took {:?}", started.elapsed());

    // The protocol on top falls back to fetching directly, within the operation timeout.
    let started = Instant::now();
    let fetch = || async { Ok(stored_token("direct")) };
    let (got, source) =
        get_or_refresh(&store, KEY, RefreshOptions::default(), OffsetDateTime::now_utc, None, fetch).await.unwrap();
    assert_eq!((got.secret.expose_secret(), source), ("direct", Source::Fetched));
    assert!(started.elapsed() < Duration::from_secs(3), "fallback took {:?}", started.elapsed());
}
