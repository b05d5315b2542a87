//! The Redis outbox on a private `redis-server` (skipped, saying so, when none is installed;
//! failing when `CI=true`): the contract every outbox keeps, two replicas sharing one, and what
//! Redis adds (the stream and its consumer group, keys under one hash tag, errors when down).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gerbang_core::outbox::{Attempt, DeliveryState, Enqueued, Outbox, Query, Taken};
use gerbang_core::time::OffsetDateTime;
use gerbang_core::{Error, PaymentStatus};
use gerbang_redis::RedisOutbox;
use gerbang_redis::redis::AsyncCommands;
use gerbang_testkit::{RedisServer, outbox_message};

async fn raw(redis: &RedisServer) -> gerbang_redis::redis::aio::MultiplexedConnection {
    let client = gerbang_redis::redis::Client::open(redis.url()).expect("a redis URL");
    client.get_multiplexed_async_connection().await.expect("a connection of its own to the test's server")
}

async fn xlen(conn: &mut gerbang_redis::redis::aio::MultiplexedConnection, stream: &str) -> usize {
    gerbang_redis::redis::cmd("XLEN").arg(stream).query_async(conn).await.expect("XLEN of the stream")
}

fn delivered() -> Attempt {
    Attempt::Delivered { answer: "200 OK".into() }
}

#[tokio::test]
async fn keeps_the_outbox_contract() {
    let Some(redis) = RedisServer::start() else { return };
    let outbox = RedisOutbox::builder().prefix("contract:").connect(&redis.url()).await.unwrap();
    gerbang_testkit::check_outbox_contract(&outbox, "redis").await;
}

#[tokio::test]
async fn keeps_the_contract_next_to_another_outbox_of_another_name() {
    let Some(redis) = RedisServer::start() else { return };
    let other = RedisOutbox::builder().name("other").connect(&redis.url()).await.unwrap();
    let noise = outbox_message("noise", "z", PaymentStatus::Paid);
    assert_eq!(other.enqueue(&noise).await.unwrap(), Enqueued::New);
    let outbox = RedisOutbox::connect(&redis.url()).await.unwrap();
    gerbang_testkit::check_outbox_contract(&outbox, "redis-named").await;
    assert_eq!(other.stats().await.unwrap().pending, 1, "the other outbox was not touched");
}

/// Two replicas (two connections) take from 200 messages of 50 payments at once, some attempts
/// failing once: each message is delivered exactly once, and each payment's in rank order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_deliver_each_message_once_in_each_payments_order() {
    let Some(redis) = RedisServer::start() else { return };
    let a = RedisOutbox::builder().prefix("race:").connect(&redis.url()).await.unwrap();
    let b = RedisOutbox::builder().prefix("race:").connect(&redis.url()).await.unwrap();
    // Learnt out of order: refunded, paid, pending, then failed (an outcome like paid, learnt later).
    let statuses = [PaymentStatus::Refunded, PaymentStatus::Paid, PaymentStatus::Pending, PaymentStatus::Failed];
    let mut expected: HashMap<String, Vec<String>> = HashMap::new();
    for n in 0..50 {
        let payment = format!("p{n}");
        for status in &statuses {
            let message = outbox_message("race", &payment, status.clone());
            let outbox = if n % 2 == 0 { &a } else { &b };
            assert_eq!(outbox.enqueue(&message).await.unwrap(), Enqueued::New);
        }
        let order = [PaymentStatus::Pending, PaymentStatus::Paid, PaymentStatus::Failed, PaymentStatus::Refunded];
        expected.insert(
            outbox_message("race", &payment, PaymentStatus::Paid).payment,
            order.iter().map(|s| outbox_message("race", &payment, s.clone()).id).collect(),
        );
    }
    // Each delivery is logged before it is settled: the next of its payment can only be taken
    // after the settle, so the log's order per payment is the delivery order.
    let log: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let deliverer = |outbox: RedisOutbox, log: Arc<Mutex<Vec<(String, String)>>>| async move {
        let mut failed_once = HashSet::new();
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(60) {
            let taken = outbox.take(7, Duration::from_secs(30)).await.unwrap();
            if taken.is_empty() {
                if outbox.stats().await.unwrap().pending == 0 {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
                continue;
            }
            for t in taken {
                let id = t.record.message.id.clone();
                // Every seventh message fails its first attempt (due again at once).
                if id.len() % 7 == 0 && failed_once.insert(id.clone()) {
                    let retry = Attempt::Retry { answer: "503".into(), at: OffsetDateTime::now_utc() };
                    assert!(outbox.settle(&t, retry).await.unwrap());
                    continue;
                }
                log.lock().unwrap().push((t.record.message.payment.clone(), id));
                assert!(outbox.settle(&t, delivered()).await.unwrap(), "the holder settles");
            }
        }
        panic!("not every message was delivered within 60 s");
    };
    let (ra, rb) =
        tokio::join!(tokio::spawn(deliverer(a.clone(), log.clone())), tokio::spawn(deliverer(b.clone(), log.clone())));
    ra.unwrap();
    rb.unwrap();
    let log = log.lock().unwrap().clone();
    assert_eq!(log.len(), 200, "every message delivered once");
    let ids: HashSet<&String> = log.iter().map(|(_, id)| id).collect();
    assert_eq!(ids.len(), 200, "no message delivered twice");
    let mut per_payment: HashMap<String, Vec<String>> = HashMap::new();
    for (payment, id) in log {
        per_payment.entry(payment).or_default().push(id);
    }
    assert_eq!(per_payment, expected, "each payment's messages in rank order, then the order learnt");
    let stats = a.stats().await.unwrap();
    assert_eq!((stats.pending, stats.delivered, stats.superseded), (0, 200, 0), "{stats:?}");
}

#[tokio::test]
async fn keys_share_one_hash_tag_and_the_stream_holds_only_what_is_under_lease() {
    let Some(redis) = RedisServer::start() else { return };
    let outbox = RedisOutbox::builder().prefix("shop:outbox:").name("forward").connect(&redis.url()).await.unwrap();
    assert_eq!(outbox.key_prefix(), "shop:outbox:{forward}:");
    assert_eq!(outbox.stream_key(), "shop:outbox:{forward}:stream");
    for n in 0..3 {
        outbox.enqueue(&outbox_message("keys", &format!("k{n}"), PaymentStatus::Paid)).await.unwrap();
    }
    let mut conn = raw(&redis).await;
    let keys: Vec<String> = conn.keys("*").await.unwrap();
    assert!(keys.iter().all(|k| k.starts_with("shop:outbox:{forward}:")), "{keys:?}");

    let taken = outbox.take(2, Duration::from_secs(30)).await.unwrap();
    assert_eq!(taken.len(), 2);
    let stream = outbox.stream_key().to_owned();
    let len: usize = xlen(&mut conn, &stream).await;
    assert_eq!(len, 2, "one entry per message under lease");
    // The holder is the consumer: XPENDING shows it.
    let pending: gerbang_redis::redis::Value = gerbang_redis::redis::cmd("XPENDING")
        .arg(&stream)
        .arg(RedisOutbox::GROUP)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(format!("{pending:?}").contains(&taken[0].holder), "{pending:?}");
    for t in &taken {
        assert!(outbox.settle(t, delivered()).await.unwrap());
    }
    let len: usize = xlen(&mut conn, &stream).await;
    assert_eq!(len, 0, "settled entries are acknowledged and deleted");
    let consumers: Vec<gerbang_redis::redis::Value> = gerbang_redis::redis::cmd("XINFO")
        .arg("CONSUMERS")
        .arg(&stream)
        .arg(RedisOutbox::GROUP)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(consumers.is_empty(), "a consumer that holds nothing is deleted: {consumers:?}");
}

/// A taker dies (its lease runs out): another replica's take claims its stream entry, and the
/// dead taker's consumer, holding nothing any more, is deleted.
#[tokio::test]
async fn a_dead_takers_entry_is_claimed_by_the_next_taker() {
    let Some(redis) = RedisServer::start() else { return };
    let a = RedisOutbox::builder().prefix("dead:").connect(&redis.url()).await.unwrap();
    let b = RedisOutbox::builder().prefix("dead:").connect(&redis.url()).await.unwrap();
    let m = outbox_message("dead", "d", PaymentStatus::Paid);
    a.enqueue(&m).await.unwrap();
    let dead: Vec<Taken> = a.take(10, Duration::from_millis(200)).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert!(b.take(10, Duration::from_secs(30)).await.unwrap().is_empty(), "under lease");
    tokio::time::sleep(Duration::from_millis(400)).await;
    let next = b.take(10, Duration::from_secs(30)).await.unwrap();
    assert_eq!(next.len(), 1);
    let mut conn = raw(&redis).await;
    let stream = b.stream_key().to_owned();
    let len: usize = xlen(&mut conn, &stream).await;
    assert_eq!(len, 1, "the same entry, claimed");
    let detail: gerbang_redis::redis::Value = gerbang_redis::redis::cmd("XPENDING")
        .arg(&stream)
        .arg(RedisOutbox::GROUP)
        .arg("-")
        .arg("+")
        .arg(10)
        .query_async(&mut conn)
        .await
        .unwrap();
    let shown = format!("{detail:?}");
    assert!(shown.contains(&next[0].holder) && !shown.contains(&dead[0].holder), "{shown}");
    assert!(!a.settle(&dead[0], delivered()).await.unwrap(), "the dead taker cannot settle");
    assert!(b.settle(&next[0], delivered()).await.unwrap());
    let records = b.list(&Query::default()).await.unwrap();
    assert_eq!((records[0].state, records[0].attempts), (DeliveryState::Delivered, 1));
}

#[tokio::test]
async fn operations_fail_promptly_with_a_store_error_when_redis_goes_down() {
    let Some(mut redis) = RedisServer::start() else { return };
    let outbox = RedisOutbox::builder().operation_timeout(Duration::from_secs(2)).connect(&redis.url()).await.unwrap();
    outbox.enqueue(&outbox_message("down", "u", PaymentStatus::Paid)).await.unwrap();
    redis.stop();
    let started = Instant::now();
    let result = outbox.enqueue(&outbox_message("down", "v", PaymentStatus::Paid)).await;
    assert!(matches!(result, Err(Error::Store { store: "redis", .. })), "{result:?}");
    assert!(started.elapsed() < Duration::from_secs(3), "it must not hang: {:?}", started.elapsed());
    let result = outbox.take(10, Duration::from_secs(30)).await;
    assert!(matches!(result, Err(Error::Store { store: "redis", .. })), "{result:?}");
    // Back (empty: the test server keeps nothing), it works again without a new connection.
    redis.restart();
    let mut answer = outbox.ping().await;
    for _ in 0..20 {
        if answer.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        answer = outbox.ping().await;
    }
    answer.unwrap();
    assert_eq!(outbox.enqueue(&outbox_message("down", "w", PaymentStatus::Paid)).await.unwrap(), Enqueued::New);
    assert_eq!(outbox.take(10, Duration::from_secs(30)).await.unwrap().len(), 1);
}

#[tokio::test]
async fn debug_and_errors_never_show_the_password() {
    let shown = format!("{:?}", RedisOutbox::connect("redis://:hunter2@127.0.0.1:1/0").await.unwrap_err());
    assert!(!shown.contains("hunter2"), "{shown}");
    let Some(redis) = RedisServer::start() else { return };
    let outbox = RedisOutbox::connect(&redis.url()).await.unwrap();
    let shown = format!("{outbox:?} {outbox}");
    assert!(shown.contains("gerbang:outbox:{default}:"), "{shown}");
}
