//! The Redis ledger on a private `redis-server` (skipped, saying so, when none is installed;
//! failing when `CI=true`): the contract every ledger keeps, and what Redis adds to it: keys
//! under the prefix, retention, and errors when Redis is down.

use std::time::{Duration, Instant};

use gerbang_core::ledger::{Ledger, WatchState, WatchedPayment};
use gerbang_core::time::{self, OffsetDateTime};
use gerbang_core::{Error, Money, ProviderId};
use gerbang_redis::RedisLedger;
use gerbang_redis::redis::AsyncCommands;
use gerbang_testkit::RedisServer;

const DAY_MS: i64 = 24 * 3600 * 1000;

fn at(seconds: i64) -> OffsetDateTime {
    OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(1_900_000_000 + seconds)
}

fn record(reference: &str, state: WatchState, next: Option<OffsetDateTime>) -> WatchedPayment {
    let mut r = WatchedPayment::new(ProviderId::Qris, reference, Money::idr(25_000), state, at(0));
    r.next_check = next;
    r
}

async fn raw(redis: &RedisServer) -> gerbang_redis::redis::aio::MultiplexedConnection {
    let client = gerbang_redis::redis::Client::open(redis.url()).expect("a redis URL");
    client.get_multiplexed_async_connection().await.expect("a connection of its own to the test's server")
}

#[tokio::test]
async fn keeps_the_ledger_contract() {
    let Some(redis) = RedisServer::start() else { return };
    let ledger = RedisLedger::connect(&redis.url()).await.unwrap();
    gerbang_testkit::check_ledger_contract(&ledger, "redis").await;
    gerbang_testkit::check_watched_creates(std::sync::Arc::new(ledger), "redis").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_racing_for_due_records_never_share_one() {
    let Some(redis) = RedisServer::start() else { return };
    let a = RedisLedger::connect(&redis.url()).await.unwrap();
    let b = RedisLedger::connect(&redis.url()).await.unwrap();
    for n in 0..60 {
        a.record(&record(&format!("RACE-{n}"), WatchState::Pending, Some(at(n)))).await.unwrap();
    }
    let rounds = futures_util::future::join_all((0..12).map(|n| {
        let ledger = if n % 2 == 0 { a.clone() } else { b.clone() };
        tokio::spawn(async move { ledger.due(at(100), 7, Duration::from_secs(60)).await })
    }))
    .await;
    let mut handed: Vec<String> =
        rounds.into_iter().flat_map(|r| r.unwrap().unwrap()).map(|record| record.reference).collect();
    let total = handed.len();
    handed.sort();
    handed.dedup();
    assert_eq!((total, handed.len()), (60, 60), "60 due records, 12 callers on two replicas: each handed out once");
}

#[tokio::test]
async fn keys_are_laid_out_under_the_prefix() {
    let Some(redis) = RedisServer::start() else { return };
    let ledger = RedisLedger::builder().prefix("shop:ledger:").connect(&redis.url()).await.unwrap();
    let mut order = record("ORDER-7", WatchState::Pending, Some(at(60)));
    order.provider_reference = Some("INV-7".into());
    assert!(ledger.record(&order).await.unwrap());

    let rec = ledger.redis_key(ProviderId::Qris, "ORDER-7");
    assert_eq!(rec, "shop:ledger:rec:qris:ORDER-7");
    assert_eq!(ledger.id_key(ProviderId::Qris, "INV-7"), "shop:ledger:id:qris:INV-7");
    let mut conn = raw(&redis).await;
    let (rank, json): (String, String) = conn.hmget(&rec, &["rank", "json"]).await.unwrap();
    assert_eq!(rank, "1");
    assert_eq!(serde_json::from_str::<WatchedPayment>(&json).unwrap(), order, "the hash holds the record's JSON");
    let pointed: String = conn.get("shop:ledger:id:qris:INV-7").await.unwrap();
    assert_eq!(pointed, rec, "the id key names the record key");
    let due: Option<f64> = conn.zscore("shop:ledger:due", &rec).await.unwrap();
    assert_eq!(due, Some((at(60).unix_timestamp() * 1000) as f64), "due at its next check, in ms");
    let recorded: Option<f64> = conn.zscore("shop:ledger:recorded", &rec).await.unwrap();
    assert_eq!(recorded, Some((at(0).unix_timestamp() * 1000) as f64));

    // An odd reference is hashed, and still round-trips and is found.
    let odd = record("A B*{x}", WatchState::Pending, None);
    assert!(ledger.redis_key(ProviderId::Qris, "A B*{x}").starts_with("shop:ledger:rec:qris:#"));
    assert!(ledger.record(&odd).await.unwrap());
    assert_eq!(ledger.find_by_reference(ProviderId::Qris, "A B*{x}").await.unwrap(), Some(odd));
}

#[tokio::test]
async fn a_final_record_expires_after_its_retention_and_is_kept_again_once_watched() {
    let Some(redis) = RedisServer::start() else { return };
    let ledger = RedisLedger::connect(&redis.url()).await.unwrap();
    let mut conn = raw(&redis).await;
    let mut order = record("ORDER-1", WatchState::Unknown, Some(at(10)));
    order.provider_reference = Some("INV-1".into());
    let rec = ledger.redis_key(ProviderId::Qris, "ORDER-1");
    let id = ledger.id_key(ProviderId::Qris, "INV-1");
    assert!(ledger.record(&order).await.unwrap());
    let ttls = |conn: &mut gerbang_redis::redis::aio::MultiplexedConnection| {
        let (rec, id) = (rec.clone(), id.clone());
        let mut conn = conn.clone();
        async move { (conn.pttl::<_, i64>(&rec).await.unwrap(), conn.pttl::<_, i64>(&id).await.unwrap()) }
    };
    assert_eq!(ttls(&mut conn).await, (-1, -1), "a watched record is kept");

    order.state = WatchState::NotCreated;
    order.next_check = None;
    assert!(ledger.record(&order).await.unwrap());
    let (rec_ttl, id_ttl) = ttls(&mut conn).await;
    for ttl in [rec_ttl, id_ttl] {
        assert!(ttl > 30 * DAY_MS - 60_000 && ttl <= 30 * DAY_MS, "kept 30 days by default: {ttl}");
    }
    let expiring: Option<f64> = conn.zscore(ledger.expires_key(), &rec).await.unwrap();
    assert!(expiring.is_some(), "listed among the records that expire");

    // Not created turns out pending: kept again, both keys.
    order.state = WatchState::Pending;
    order.next_check = Some(at(20));
    assert!(ledger.record(&order).await.unwrap());
    assert_eq!(ttls(&mut conn).await, (-1, -1), "a record watched again is kept again");
    let expiring: Option<f64> = conn.zscore(ledger.expires_key(), &rec).await.unwrap();
    assert_eq!(expiring, None);

    // A watched record nobody checks any more (given up on) expires too.
    order.next_check = None;
    assert!(ledger.record(&order).await.unwrap());
    assert!(ttls(&mut conn).await.0 > 0, "a record no check is scheduled for expires");
}

#[tokio::test]
async fn an_expired_record_is_gone_from_find_list_and_the_sets() {
    let Some(redis) = RedisServer::start() else { return };
    let ledger = RedisLedger::builder().retention(Duration::from_millis(200)).connect(&redis.url()).await.unwrap();
    let mut paid = record("PAID-1", WatchState::Paid, None);
    paid.provider_reference = Some("INV-P".into());
    assert!(ledger.record(&paid).await.unwrap());
    let mut pending = record("PENDING-1", WatchState::Pending, Some(at(5)));
    pending.recorded_at = at(-10);
    assert!(ledger.record(&pending).await.unwrap());
    assert_eq!(ledger.list(10).await.unwrap().len(), 2);

    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(ledger.find_by_reference(ProviderId::Qris, "PAID-1").await.unwrap(), None);
    assert_eq!(ledger.find_by_gateway_id(ProviderId::Qris, "INV-P").await.unwrap(), None, "its id key expired with it");
    let listed: Vec<String> = ledger.list(10).await.unwrap().into_iter().map(|r| r.reference).collect();
    assert_eq!(listed, ["PENDING-1"], "a watched record stays; the expired one is skipped");
    let mut conn = raw(&redis).await;
    let rec = ledger.redis_key(ProviderId::Qris, "PAID-1");
    let in_recorded: Option<f64> = conn.zscore(ledger.recorded_key(), &rec).await.unwrap();
    assert_eq!(in_recorded, None, "list forgets it from the recorded set");

    // A write forgets expired records from the sets without a list.
    assert!(ledger.record(&record("PAID-2", WatchState::Expired, None)).await.unwrap());
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(ledger.record(&record("PENDING-2", WatchState::Pending, Some(at(5)))).await.unwrap());
    let rec = ledger.redis_key(ProviderId::Qris, "PAID-2");
    let in_recorded: Option<f64> = conn.zscore(ledger.recorded_key(), &rec).await.unwrap();
    let in_expires: Option<f64> = conn.zscore(ledger.expires_key(), &rec).await.unwrap();
    assert_eq!((in_recorded, in_expires), (None, None), "the next write prunes the sets");
    // A forgotten record is new again to a late write.
    assert!(ledger.record(&record("PAID-1", WatchState::Pending, Some(at(5)))).await.unwrap());
}

#[tokio::test]
async fn a_handed_out_record_reads_back_with_its_lease() {
    let Some(redis) = RedisServer::start() else { return };
    let ledger = RedisLedger::connect(&redis.url()).await.unwrap();
    let order = record("ORDER-9", WatchState::Pending, Some(at(10)));
    assert!(ledger.record(&order).await.unwrap());
    let due = ledger.due(at(30), 10, Duration::from_millis(60_500)).await.unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0], order, "handed out as it was");
    let found = ledger.find_by_reference(ProviderId::Qris, "ORDER-9").await.unwrap().unwrap();
    let lease_end = at(90) + time::Duration::milliseconds(500);
    assert_eq!(found.next_check, Some(lease_end), "its next check is the lease's end, as in memory");
    let mut unmoved = found.clone();
    unmoved.next_check = order.next_check;
    assert_eq!(unmoved, order, "nothing else moved");
    // A receiver that rewrites it meanwhile keeps the lease: not due again before it ends.
    assert!(ledger.record(&found).await.unwrap());
    assert!(ledger.due(at(90), 10, Duration::from_secs(60)).await.unwrap().is_empty());
    assert_eq!(ledger.due(at(91), 10, Duration::from_secs(60)).await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_gateway_id_the_record_no_longer_has_finds_nothing() {
    let Some(redis) = RedisServer::start() else { return };
    let ledger = RedisLedger::connect(&redis.url()).await.unwrap();
    let mut order = record("ORDER-3", WatchState::Pending, Some(at(10)));
    order.provider_reference = Some("INV-OLD".into());
    assert!(ledger.record(&order).await.unwrap());
    order.provider_reference = Some("INV-NEW".into());
    assert!(ledger.record(&order).await.unwrap());
    assert_eq!(ledger.find_by_gateway_id(ProviderId::Qris, "INV-NEW").await.unwrap(), Some(order.clone()));
    assert_eq!(ledger.find_by_gateway_id(ProviderId::Qris, "INV-OLD").await.unwrap(), None);
    let mut conn = raw(&redis).await;
    let old: bool = conn.exists(ledger.id_key(ProviderId::Qris, "INV-OLD")).await.unwrap();
    assert!(!old, "the old id key is deleted");
    // A stale id key (written by hand here) names nothing either.
    let _: () = conn
        .set(ledger.id_key(ProviderId::Qris, "INV-STALE"), ledger.redis_key(ProviderId::Qris, "ORDER-3"))
        .await
        .unwrap();
    assert_eq!(ledger.find_by_gateway_id(ProviderId::Qris, "INV-STALE").await.unwrap(), None);
}

#[tokio::test]
async fn a_record_that_does_not_read_is_an_error_to_find_and_skipped_by_due_and_list() {
    let Some(redis) = RedisServer::start() else { return };
    let ledger = RedisLedger::connect(&redis.url()).await.unwrap();
    assert!(ledger.record(&record("GOOD", WatchState::Pending, Some(at(1)))).await.unwrap());
    assert!(ledger.record(&record("BAD", WatchState::Pending, Some(at(2)))).await.unwrap());
    let mut conn = raw(&redis).await;
    let bad = ledger.redis_key(ProviderId::Qris, "BAD");
    let _: () = conn.hset(&bad, "json", r#"{"reference":"secret-ish value"}"#).await.unwrap();
    let error = ledger.find_by_reference(ProviderId::Qris, "BAD").await.unwrap_err();
    assert!(matches!(&error, Error::Store { store: "redis", .. }), "{error:?}");
    assert!(error.to_string().contains(&bad), "names the key: {error}");
    let due: Vec<String> =
        ledger.due(at(10), 10, Duration::from_secs(60)).await.unwrap().into_iter().map(|r| r.reference).collect();
    assert_eq!(due, ["GOOD"]);
    assert_eq!(ledger.list(10).await.unwrap().len(), 1);
}

#[tokio::test]
async fn operations_fail_promptly_with_a_store_error_when_redis_goes_down() {
    let Some(redis) = RedisServer::start() else { return };
    let ledger = RedisLedger::builder().operation_timeout(Duration::from_secs(2)).connect(&redis.url()).await.unwrap();
    assert!(ledger.record(&record("UP", WatchState::Pending, Some(at(1)))).await.unwrap());
    drop(redis);
    let down = record("DOWN", WatchState::Pending, Some(at(1)));
    for n in 0..2 {
        for operation in ["record", "begin_create", "find", "find_by_gateway_id", "due", "list"] {
            let started = Instant::now();
            let result = match operation {
                "record" => ledger.record(&down).await.map(|_| ()),
                "begin_create" => ledger.begin_create(&down).await.map(|_| ()),
                "find" => ledger.find_by_reference(ProviderId::Qris, "UP").await.map(|_| ()),
                "find_by_gateway_id" => ledger.find_by_gateway_id(ProviderId::Qris, "UP").await.map(|_| ()),
                "due" => ledger.due(at(10), 10, Duration::from_secs(60)).await.map(|_| ()),
                _ => ledger.list(10).await.map(|_| ()),
            };
            let took = started.elapsed();
            assert!(matches!(result, Err(Error::Store { store: "redis", .. })), "{operation} {n}: {result:?}");
            assert!(result.unwrap_err().is_transient());
            assert!(took < Duration::from_secs(3), "{operation} {n} took {took:?}: it must not hang");
        }
    }
}

#[tokio::test]
async fn nothing_is_asked_for_nothing_and_a_lease_beyond_any_date_is_refused() {
    let Some(redis) = RedisServer::start() else { return };
    let ledger = RedisLedger::connect(&redis.url()).await.unwrap();
    assert!(ledger.record(&record("R", WatchState::Pending, Some(at(1)))).await.unwrap());
    assert!(ledger.due(at(10), 0, Duration::from_secs(60)).await.unwrap().is_empty());
    assert!(ledger.list(0).await.unwrap().is_empty());
    let error = ledger.due(at(10), 10, Duration::MAX).await.unwrap_err();
    assert!(matches!(error, Error::Config { .. }), "{error:?}");
    assert_eq!(ledger.due(at(10), usize::MAX, Duration::from_secs(60)).await.unwrap().len(), 1);
    assert_eq!(ledger.list(usize::MAX).await.unwrap().len(), 1);
}
