//! A password in the Redis URL, and a token kept in the token store, show nowhere: not in
//! `Debug` or `Display` of the rate and token stores and the ledger, not in an error, not in the
//! log. (Apart from `secrets.rs`, the inbox's: one log capture per test binary.)

use std::time::Duration;

use gerbang_core::ledger::{Ledger, WatchState, WatchedPayment};
use gerbang_core::rate::{Priority, Quota, RateStore};
use gerbang_core::token_store::{StoredToken, TokenStore};
use gerbang_core::{Error, Money, ProviderId};
use gerbang_redis::{RedisLedger, RedisRateStore, RedisTokenStore};
use gerbang_testkit::{LogCapture, RedisServer, assert_nothing_leaks};

const PASSWORD: &str = "Zq8-hunter2-s3cret";
const TOKEN: &str = "eyJ.Tk-hush-9f81.sig";

#[tokio::test]
async fn the_rate_and_token_stores_and_the_ledger_never_show_the_password_nor_the_token() {
    let logs = LogCapture::install();
    let mut shown = Vec::new();

    let closed = format!("redis://app:{PASSWORD}@127.0.0.1:{}/0", RedisServer::free_port());
    let error = RedisRateStore::connect(&closed).await.unwrap_err();
    assert!(matches!(&error, Error::Store { store: "redis", .. }), "{error:?}");
    shown.extend([error.to_string(), format!("{error:?}")]);
    let error = RedisTokenStore::connect(&closed).await.unwrap_err();
    assert!(matches!(&error, Error::Store { store: "redis", .. }), "{error:?}");
    shown.extend([error.to_string(), format!("{error:?}")]);
    let error = RedisLedger::connect(&closed).await.unwrap_err();
    assert!(matches!(&error, Error::Store { store: "redis", .. }), "{error:?}");
    assert!(error.to_string().starts_with("the redis store failed: connect: "), "{error}");
    assert!(!error.to_string().contains("127.0.0.1"), "no URL in the message: {error}");
    shown.extend([error.to_string(), format!("{error:?}")]);
    let malformed = format!("redis//:{PASSWORD}@cache:6379");
    for error in [
        RedisRateStore::connect(&malformed).await.unwrap_err(),
        RedisTokenStore::connect(&malformed).await.unwrap_err(),
        RedisLedger::connect(&malformed).await.unwrap_err(),
    ] {
        assert!(matches!(error, Error::Config { .. }), "{error:?}");
        shown.extend([error.to_string(), format!("{error:?}")]);
    }

    if let Some(redis) = RedisServer::start() {
        let mut conn =
            gerbang_redis::redis::Client::open(redis.url()).unwrap().get_multiplexed_async_connection().await.unwrap();
        let _: () = gerbang_redis::redis::cmd("CONFIG")
            .arg("SET")
            .arg("requirepass")
            .arg(PASSWORD)
            .query_async(&mut conn)
            .await
            .unwrap();
        let url = format!("redis://:{PASSWORD}@127.0.0.1:{}/0", redis.port());
        let rate = RedisRateStore::connect(&url).await.unwrap();
        let tokens = RedisTokenStore::connect(&url).await.unwrap();
        let ledger = RedisLedger::connect(&url).await.unwrap();
        for (debug, display) in [
            (format!("{rate:?}"), rate.to_string()),
            (format!("{tokens:?}"), tokens.to_string()),
            (format!("{ledger:?}"), ledger.to_string()),
        ] {
            assert!(debug.contains("redis://:***@127.0.0.1"), "{debug}");
            shown.extend([debug, display]);
        }
        let quota = Quota::per_hour(std::num::NonZeroU32::new(5).unwrap());
        rate.acquire("cuan10pay:0123456789abcdef", quota, Priority::Normal).await.unwrap();
        let now = gerbang_core::time::OffsetDateTime::now_utc();
        let token = StoredToken::new(TOKEN, now + gerbang_core::time::Duration::hours(1), now);
        tokens.put("ciputra:0123456789abcdef", &token, Duration::from_secs(60)).await.unwrap();
        shown.push(format!("{:?}", tokens.get("ciputra:0123456789abcdef").await.unwrap()));
        let order = WatchedPayment::new(ProviderId::Qris, "ORDER-1", Money::idr(1_000), WatchState::Pending, now);
        assert!(ledger.record(&order).await.unwrap());
        assert_eq!(ledger.find_by_reference(ProviderId::Qris, "ORDER-1").await.unwrap(), Some(order.clone()));

        // A server that refuses the put (out of memory) is an error quoting neither the token
        // nor the password.
        let _: () = gerbang_redis::redis::cmd("CONFIG")
            .arg("SET")
            .arg("maxmemory")
            .arg("1")
            .query_async(&mut conn)
            .await
            .unwrap();
        let error = tokens.put("ciputra:0123456789abcdef", &token, Duration::from_secs(60)).await.unwrap_err();
        assert!(matches!(&error, Error::Store { store: "redis", .. }), "{error:?}");
        shown.extend([error.to_string(), format!("{error:?}")]);
        let error = ledger.record(&order).await.unwrap_err();
        assert!(matches!(&error, Error::Store { store: "redis", .. }), "{error:?}");
        shown.extend([error.to_string(), format!("{error:?}")]);

        let wrong = format!("redis://:not-{PASSWORD}@127.0.0.1:{}/0", redis.port());
        for error in
            [RedisTokenStore::connect(&wrong).await.unwrap_err(), RedisLedger::connect(&wrong).await.unwrap_err()]
        {
            // A refusal, not an outage: trying again would not help.
            assert!(matches!(&error, Error::Config { .. }), "{error:?}");
            shown.extend([error.to_string(), format!("{error:?}")]);
        }
    }

    shown.push(logs.text());
    assert_nothing_leaks(&shown, &[PASSWORD, &PASSWORD.replace('-', "%2D"), TOKEN]);
}
