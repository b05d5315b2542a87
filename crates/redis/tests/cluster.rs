//! Every store on a real three-master Redis Cluster (skipped, saying so, when `redis-server` or
//! `redis-cli` is not installed; failing when `CI=true`): the inbox, ledger, rate budget and
//! token store keep their contracts; their keys are spread over the masters (the cluster is
//! really used), one ledger's keys sit in one slot; a node that fails is named in the error.
// The helpers below are test code too; clippy's allow-in-tests only covers #[test] functions.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use gerbang_core::inbox::{Claim, EventKey, Inbox};
use gerbang_core::ledger::{Ledger, WatchState, WatchedPayment};
use gerbang_core::rate::{Priority, Quota, RateStore};
use gerbang_core::secrecy::ExposeSecret;
use gerbang_core::time::OffsetDateTime;
use gerbang_core::token_store::{RefreshOptions, Source, StoredToken, TokenStore, get_or_refresh};
use gerbang_core::{Error, Money, ProviderId};
use gerbang_redis::redis::AsyncCommands;
use gerbang_redis::{RedisInbox, RedisLedger, RedisOutbox, RedisRateStore, RedisTokenStore};
use gerbang_testkit::RedisCluster;

/// A plain connection to the master at `index`, as an operator's `redis-cli -p PORT` would be.
async fn node(cluster: &RedisCluster, index: usize) -> gerbang_redis::redis::aio::MultiplexedConnection {
    let client = gerbang_redis::redis::Client::open(cluster.node_url(index)).unwrap();
    client.get_multiplexed_async_connection().await.unwrap()
}

/// How many keys matching `pattern` each master holds (by index), masters holding none left out.
async fn keys_by_master(cluster: &RedisCluster, pattern: &str) -> BTreeMap<usize, usize> {
    let mut by_master = BTreeMap::new();
    for index in 0..3 {
        let keys: Vec<String> = node(cluster, index).await.keys(pattern).await.unwrap();
        if !keys.is_empty() {
            by_master.insert(index, keys.len());
        }
    }
    by_master
}

/// The slot of `key` (`CLUSTER KEYSLOT`, asked of any node).
async fn slot(cluster: &RedisCluster, key: &str) -> u16 {
    gerbang_redis::redis::cmd("CLUSTER").arg("KEYSLOT").arg(key).query_async(&mut node(cluster, 0).await).await.unwrap()
}

/// The master (by index) that owns `slot`, from `CLUSTER SLOTS` as the cluster says it: each
/// range is `[from, to, [host, port, id, …], …]`.
async fn owner(cluster: &RedisCluster, slot: u16) -> usize {
    use gerbang_redis::redis::{Value, from_redis_value};
    let ranges: Vec<Vec<Value>> =
        gerbang_redis::redis::cmd("CLUSTER").arg("SLOTS").query_async(&mut node(cluster, 0).await).await.unwrap();
    for range in ranges {
        let mut range = range.into_iter();
        let (Some(from), Some(to), Some(master)) = (range.next(), range.next(), range.next()) else { continue };
        let (from, to): (u16, u16) = (from_redis_value(from).unwrap(), from_redis_value(to).unwrap());
        let master: Vec<Value> = from_redis_value(master).unwrap();
        let port: u16 = from_redis_value(master[1].clone()).unwrap();
        if (from..=to).contains(&slot) {
            return cluster.ports().iter().position(|&p| p == port).unwrap();
        }
    }
    panic!("no master owns slot {slot}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_inbox_keeps_its_contract_with_its_keys_over_every_master() {
    let Some(cluster) = RedisCluster::start() else { return };
    let inbox = RedisInbox::connect(&cluster.url()).await.unwrap();
    assert!(inbox.to_string().starts_with("redis inbox at redis+cluster://127.0.0.1:"), "{inbox}");
    gerbang_testkit::check_inbox_contract(&inbox, "cluster").await;

    // Two replicas racing for one event: one wins, as on one server.
    let other = RedisInbox::connect(&cluster.url()).await.unwrap();
    for n in 0..30 {
        let key = EventKey { provider: ProviderId::Cuan10pay, key: format!("cuan10pay:SPREAD-{n}:paid") };
        let (a, b) =
            tokio::join!(inbox.claim(&key, Duration::from_secs(30)), other.claim(&key, Duration::from_secs(30)));
        let (a, b) = (a.unwrap(), b.unwrap());
        let won = [&a, &b].into_iter().filter(|c| matches!(c, Claim::New(_))).count();
        assert_eq!(won, 1, "{a:?} {b:?}");
        let Some(Claim::New(lease)) = [a, b].into_iter().find(|c| matches!(c, Claim::New(_))) else { unreachable!() };
        assert!(other.complete(&lease).await.unwrap());
        assert_eq!(inbox.claim(&key, Duration::from_secs(30)).await.unwrap(), Claim::Done);
    }
    // Each event's key is its own slot: the keys are spread over the three masters.
    let spread = keys_by_master(&cluster, "gerbang:inbox:*").await;
    assert_eq!(spread.len(), 3, "inbox keys on every master: {spread:?}");
}

/// Two outboxes keep their contract at once on the cluster, each in its one slot (every key of
/// an outbox carries its name as the hash tag, so that its scripts touch one slot).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_outboxes_keep_their_contract_each_in_one_slot() {
    let Some(cluster) = RedisCluster::start() else { return };
    let a = RedisOutbox::builder().name("shop-a").connect(&cluster.url()).await.unwrap();
    let b = RedisOutbox::builder().name("shop-b").connect(&cluster.url()).await.unwrap();
    let (ra, rb) = tokio::join!(
        gerbang_testkit::check_outbox_contract(&a, "cluster-a"),
        gerbang_testkit::check_outbox_contract(&b, "cluster-b"),
    );
    let ((), ()) = (ra, rb);
    for outbox in [&a, &b] {
        let keys = keys_by_master(&cluster, &format!("{}*", outbox.key_prefix())).await;
        assert_eq!(keys.len(), 1, "one outbox's keys on one master: {keys:?}");
        assert!(keys.values().sum::<usize>() > 5, "the contract wrote keys: {keys:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_ledgers_keep_their_contract_each_in_one_slot_on_different_masters() {
    let Some(cluster) = RedisCluster::start() else { return };
    let a = RedisLedger::builder().prefix("shop-a:ledger:").connect(&cluster.url()).await.unwrap();
    assert_eq!(a.redis_key(ProviderId::Qris, "ORDER-7"), "{shop-a:ledger:}rec:qris:ORDER-7");
    assert_eq!(a.due_key(), "{shop-a:ledger:}due");
    let a_master = owner(&cluster, slot(&cluster, &a.due_key()).await).await;
    // A second ledger whose tag hashes to another master.
    let mut b_prefix = None;
    for n in 0..50 {
        let prefix = format!("shop-b{n}:ledger:");
        if owner(&cluster, slot(&cluster, &format!("{{{prefix}}}")).await).await != a_master {
            b_prefix = Some(prefix);
            break;
        }
    }
    let b_prefix = b_prefix.expect("one of 50 prefixes hashes to another master");
    let b = RedisLedger::builder().prefix(&b_prefix).connect(&cluster.url()).await.unwrap();

    let (ra, rb) = tokio::join!(
        gerbang_testkit::check_ledger_contract(&a, "cluster-a"),
        gerbang_testkit::check_ledger_contract(&b, "cluster-b"),
    );
    let ((), ()) = (ra, rb);

    // Each ledger's keys, every one, on one master; the two ledgers on two.
    let on_a = keys_by_master(&cluster, "{shop-a:ledger:}*").await;
    let on_b = keys_by_master(&cluster, &format!("{{{b_prefix}}}*")).await;
    assert_eq!(on_a.keys().copied().collect::<Vec<_>>(), [a_master], "{on_a:?}");
    assert_eq!(on_b.len(), 1, "{on_b:?}");
    assert_ne!(on_a.keys().next(), on_b.keys().next(), "two ledgers, two masters");
    assert!(on_a.values().sum::<usize>() > 3, "the contract wrote records: {on_a:?}");

    // A prefix that holds a hash tag already is kept as it is.
    let tagged = RedisLedger::builder().prefix("{shop-c}:ledger:").connect(&cluster.url()).await.unwrap();
    assert_eq!(tagged.due_key(), "{shop-c}:ledger:due");
    let now = OffsetDateTime::now_utc();
    let order = WatchedPayment::new(ProviderId::Qris, "ORDER-C", Money::idr(10_000), WatchState::Pending, now);
    assert!(tagged.record(&order).await.unwrap());
    let later = now + gerbang_core::time::Duration::seconds(1);
    assert_eq!(tagged.due(later, 10, Duration::from_secs(30)).await.unwrap().len(), 1);
    assert_eq!(keys_by_master(&cluster, "{shop-c}:ledger:*").await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_share_each_rate_budget_and_each_budget_is_its_own() {
    let Some(cluster) = RedisCluster::start() else { return };
    let a = RedisRateStore::connect(&cluster.url()).await.unwrap();
    let b = RedisRateStore::connect(&cluster.url()).await.unwrap();
    const N: u32 = 10;
    let q = Quota::per_hour(NonZeroU32::new(N).unwrap());
    // Ten accounts: ten budgets, spread over the masters, each allowing exactly N of 3N calls
    // made through two stores at once.
    let accounts: Vec<String> = (0..10).map(|n| format!("cuan10pay:{n:016x}")).collect();
    let calls = futures_util::future::join_all(accounts.iter().flat_map(|account| {
        (0..3 * N).map(|n| {
            let store = if n % 2 == 0 { a.clone() } else { b.clone() };
            let account = account.clone();
            tokio::spawn(async move { (account.clone(), store.acquire(&account, q, Priority::Normal).await) })
        })
    }))
    .await;
    let mut allowed: BTreeMap<String, u32> = BTreeMap::new();
    for call in calls {
        let (account, result) = call.unwrap();
        match result {
            Ok(()) => *allowed.entry(account).or_default() += 1,
            Err(Error::BudgetSpent { retry_after: Some(wait) }) => {
                assert!(wait > Duration::from_secs(350) && wait <= Duration::from_secs(360), "{wait:?}");
            }
            Err(other) => panic!("neither allowed nor refused: {other:?}"),
        }
    }
    assert_eq!(allowed.len(), accounts.len(), "{allowed:?}");
    assert!(allowed.values().all(|&n| n == N), "exactly {N} per budget: {allowed:?}");
    // What is left is told as on one server.
    let left = a.acquire_with_remaining("cuan10pay:fresh", q, Priority::Normal).await.unwrap();
    assert_eq!(left, Some(N - 1));
    let spread = keys_by_master(&cluster, "gerbang:rate:*").await;
    assert!(spread.len() >= 2, "budgets on more than one master: {spread:?}");
}

fn token(secret: &str) -> StoredToken {
    let now = OffsetDateTime::now_utc();
    StoredToken::new(
        secret,
        now + gerbang_core::time::Duration::hours(1),
        now + gerbang_core::time::Duration::minutes(59),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_store_keeps_its_primitives_and_fifty_callers_fetch_one_token() {
    let Some(cluster) = RedisCluster::start() else { return };
    let a = Arc::new(RedisTokenStore::connect(&cluster.url()).await.unwrap());
    let b = Arc::new(RedisTokenStore::connect(&cluster.url()).await.unwrap());
    const KEY: &str = "ciputra:0123456789abcdef";

    // The four primitives, as on one server.
    assert!(a.get(KEY).await.unwrap().is_none());
    a.put("ciputra:put", &token("eyJ.hush.sig"), Duration::from_secs(60)).await.unwrap();
    assert_eq!(b.get("ciputra:put").await.unwrap().unwrap().secret.expose_secret(), "eyJ.hush.sig");
    assert!(a.try_lock("ciputra:lock", "holder-a", Duration::from_secs(30)).await.unwrap());
    assert!(!b.try_lock("ciputra:lock", "holder-b", Duration::from_secs(30)).await.unwrap());
    b.unlock("ciputra:lock", "holder-b").await.unwrap();
    assert!(!b.try_lock("ciputra:lock", "holder-b", Duration::from_secs(30)).await.unwrap(), "not the holder");
    a.unlock("ciputra:lock", "holder-a").await.unwrap();
    assert!(b.try_lock("ciputra:lock", "holder-b", Duration::from_secs(30)).await.unwrap());

    // get_or_refresh through two stores: one fetch for fifty callers.
    let fetches = Arc::new(AtomicUsize::new(0));
    let calls: Vec<_> = (0..50)
        .map(|n| {
            let store = if n % 2 == 0 { a.clone() } else { b.clone() };
            let fetches = fetches.clone();
            tokio::spawn(async move {
                let fetch = || async {
                    let n = fetches.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    Ok(token(&format!("shared-{n}")))
                };
                get_or_refresh(&*store, KEY, RefreshOptions::default(), OffsetDateTime::now_utc, None, fetch).await
            })
        })
        .collect();
    let mut sources = Vec::new();
    for call in calls {
        let (got, source) = call.await.unwrap().unwrap();
        assert_eq!(got.secret.expose_secret(), "shared-0");
        sources.push(source);
    }
    assert_eq!(fetches.load(Ordering::SeqCst), 1, "one fetch for 50 callers");
    assert_eq!(sources.iter().filter(|s| **s == Source::Fetched).count(), 1, "{sources:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slot_moved_to_another_master_is_followed_by_every_store() {
    let Some(cluster) = RedisCluster::start() else { return };
    let inbox = RedisInbox::connect(&cluster.url()).await.unwrap();
    let ledger = RedisLedger::builder().prefix("moving:ledger:").connect(&cluster.url()).await.unwrap();
    // An event and a ledger whose slots are among the first 300 (the first master's), which
    // move to the second master while both stores hold connections that knew the old owner.
    let mut event = None;
    for n in 0..5000 {
        let key = EventKey { provider: ProviderId::Cuan10pay, key: format!("cuan10pay:MOVE-{n}:paid") };
        if slot(&cluster, &inbox.redis_key(&key)).await < 300 {
            event = Some(key);
            break;
        }
    }
    let event = event.expect("one of 5000 keys in the first 300 slots");
    let mut ledger = Some(ledger);
    if slot(&cluster, &ledger.as_ref().unwrap().due_key()).await >= 300 {
        ledger = None;
        for n in 0..5000 {
            let prefix = format!("moving{n}:ledger:");
            if slot(&cluster, &format!("{{{prefix}}}")).await < 300 {
                ledger = Some(RedisLedger::builder().prefix(prefix).connect(&cluster.url()).await.unwrap());
                break;
            }
        }
    }
    let ledger = ledger.expect("one of 5000 prefixes in the first 300 slots");
    let now = OffsetDateTime::now_utc();
    let order = WatchedPayment::new(ProviderId::Qris, "ORDER-M", Money::idr(5_000), WatchState::Pending, now);
    assert!(ledger.record(&order).await.unwrap());
    assert_eq!(owner(&cluster, slot(&cluster, &ledger.due_key()).await).await, 0);

    cluster.move_slots(0, 1, 300);
    assert_eq!(owner(&cluster, slot(&cluster, &inbox.redis_key(&event)).await).await, 1, "the slot moved");

    let Claim::New(lease) = inbox.claim(&event, Duration::from_secs(30)).await.unwrap() else { panic!("new") };
    assert!(inbox.complete(&lease).await.unwrap());
    assert_eq!(inbox.claim(&event, Duration::from_secs(30)).await.unwrap(), Claim::Done);
    let later = now + gerbang_core::time::Duration::seconds(1);
    let due = ledger.due(later, 10, Duration::from_secs(30)).await.unwrap();
    assert_eq!(due.len(), 1, "the record moved with its slot and is handed out");
    assert_eq!(keys_by_master(&cluster, &format!("{}*", ledger.due_key().trim_end_matches("due"))).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_master_is_named_by_host_and_port_in_a_store_error() {
    let Some(mut cluster) = RedisCluster::start() else { return };
    let url = cluster.url().replace("redis+cluster://", "redis+cluster://app:hunter2secret@");
    // No user `app` exists: the cluster refuses it as a single server would.
    let refused = RedisInbox::connect(&url).await.unwrap_err();
    assert!(matches!(refused, Error::Config { .. }), "{refused:?}");
    assert!(!refused.to_string().contains("hunter2secret"), "{refused}");

    let inbox = RedisInbox::builder().operation_timeout(Duration::from_secs(2)).connect(&cluster.url()).await.unwrap();
    // An event whose key lives on the master about to fail.
    let doomed = cluster.ports()[1];
    let mut on_doomed = None;
    for n in 0..100 {
        let key = EventKey { provider: ProviderId::Cuan10pay, key: format!("cuan10pay:FAIL-{n}:paid") };
        if owner(&cluster, slot(&cluster, &inbox.redis_key(&key)).await).await == 1 {
            on_doomed = Some(key);
            break;
        }
    }
    let on_doomed = on_doomed.expect("one of 100 keys on the second master");
    cluster.kill_node(1);
    let started = Instant::now();
    let error = inbox.claim(&on_doomed, Duration::from_secs(30)).await.unwrap_err();
    let took = started.elapsed();
    let Error::Store { store: "redis", message } = &error else { panic!("a store error: {error:?}") };
    assert!(message.contains(&format!("127.0.0.1:{doomed}")), "the failed node is named: {message}");
    assert!(took < Duration::from_secs(4), "it answers within the operation timeout and a little: {took:?}");
}
