//! A password in the Redis URL shows nowhere: not in `Debug` or `Display` of the inbox, not in
//! an error, not in the log.

use std::time::Duration;

use gerbang_core::Error;
use gerbang_core::inbox::{EventKey, Inbox};
use gerbang_redis::RedisInbox;
use gerbang_testkit::{LogCapture, RedisServer, assert_nothing_leaks};

const PASSWORD: &str = "Zq8-hunter2-s3cret";

#[tokio::test]
async fn a_url_password_never_shows_in_debug_display_errors_or_logs() {
    let logs = LogCapture::install();
    let mut shown = Vec::new();

    // Nothing listens there: the error says the store failed, without the URL.
    let closed = format!("redis://app:{PASSWORD}@127.0.0.1:{}/0", RedisServer::free_port());
    let error = RedisInbox::connect(&closed).await.unwrap_err();
    assert!(matches!(&error, Error::Store { store: "redis", .. }), "{error:?}");
    assert!(error.to_string().starts_with("the redis store failed: connect: "), "{error}");
    assert!(!error.to_string().contains("127.0.0.1"), "no URL in the message: {error}");
    shown.extend([error.to_string(), format!("{error:?}")]);

    // The same password percent-encoded, and in a unix URL's query.
    let encoded = format!("redis://:{}@127.0.0.1:{}/0", PASSWORD.replace('-', "%2D"), RedisServer::free_port());
    let error = RedisInbox::connect(&encoded).await.unwrap_err();
    shown.extend([error.to_string(), format!("{error:?}")]);
    let unix = format!("redis+unix:///nonexistent/redis.sock?pass={PASSWORD}");
    let error = RedisInbox::connect(&unix).await.unwrap_err();
    shown.extend([error.to_string(), format!("{error:?}")]);
    let malformed = format!("redis//:{PASSWORD}@cache:6379");
    let error = RedisInbox::connect(&malformed).await.unwrap_err();
    assert!(matches!(error, Error::Config { .. }), "{error:?}");
    shown.extend([error.to_string(), format!("{error:?}")]);

    if let Some(redis) = RedisServer::start() {
        // A server that wants the password: the inbox connects, and shows it redacted.
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
        let inbox = RedisInbox::connect(&url).await.unwrap();
        let debug = format!("{inbox:?}");
        assert!(debug.contains("redis://:***@127.0.0.1"), "{debug}");
        shown.extend([debug, inbox.to_string()]);
        let key = EventKey { provider: gerbang_core::ProviderId::Qris, key: "qris:I-1:paid".into() };
        assert!(inbox.claim(&key, Duration::from_secs(5)).await.is_ok());

        // A wrong password is refused, and the message quotes neither.
        let wrong = format!("redis://:not-{PASSWORD}@127.0.0.1:{}/0", redis.port());
        let error = RedisInbox::connect(&wrong).await.unwrap_err();
        // A refusal, not an outage: trying again would not help.
        assert!(matches!(&error, Error::Config { .. }), "{error:?}");
        shown.extend([error.to_string(), format!("{error:?}")]);
    }

    shown.push(logs.text());
    assert_nothing_leaks(&shown, &[PASSWORD, &PASSWORD.replace('-', "%2D")]);
}
