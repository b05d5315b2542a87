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

/// How many messages the scale check keeps: `GERBANG_OUTBOX_SCALE` (default 5 000).
fn scale() -> usize {
    std::env::var("GERBANG_OUTBOX_SCALE").ok().and_then(|n| n.parse().ok()).unwrap_or(5_000)
}

/// A take and a settle cost the same whatever the outbox holds: with `scale()` messages pending
/// (and as many delivered), the first take of 100 is about as quick as on an empty outbox, and
/// list with a state and a limit reads only what it returns.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn take_and_settle_do_not_slow_down_with_the_outbox_size() {
    let Some(redis) = RedisServer::start() else { return };
    let outbox = RedisOutbox::builder().prefix("scale:").connect(&redis.url()).await.unwrap();
    let n = scale();
    let enqueue_all = |round: &'static str| {
        let outbox = outbox.clone();
        async move {
            let started = Instant::now();
            for chunk in (0..n).collect::<Vec<_>>().chunks(200) {
                let enqueues = chunk.iter().map(|i| {
                    let outbox = outbox.clone();
                    async move { outbox.enqueue(&outbox_message(round, &format!("s{i}"), PaymentStatus::Paid)).await }
                });
                for result in futures_util::future::join_all(enqueues).await {
                    assert_eq!(result.unwrap(), Enqueued::New);
                }
            }
            started.elapsed()
        }
    };
    let took = enqueue_all("first").await;
    println!("enqueue: {n} in {took:?} ({:.0}/s, 200 at a time)", n as f64 / took.as_secs_f64());

    // Deliver them all, 100 per take, and time it.
    let started = Instant::now();
    let mut slowest = Duration::ZERO;
    let mut done = 0;
    loop {
        let took = Instant::now();
        let taken = outbox.take(100, Duration::from_secs(30)).await.unwrap();
        slowest = slowest.max(took.elapsed());
        if taken.is_empty() {
            break;
        }
        let settles = taken.iter().map(|t| outbox.settle(t, delivered()));
        for settled in futures_util::future::join_all(settles).await {
            assert!(settled.unwrap());
        }
        done += taken.len();
    }
    let took = started.elapsed();
    assert_eq!(done, n);
    println!(
        "take 100 + settle each: {n} in {took:?} ({:.0}/s); slowest take {slowest:?}",
        n as f64 / took.as_secs_f64()
    );

    // With n delivered kept and n more pending: a take, a settle and a bounded list stay quick.
    enqueue_all("second").await;
    let mut conn = raw(&redis).await;
    let info: String = gerbang_redis::redis::cmd("INFO").arg("memory").query_async(&mut conn).await.unwrap();
    let used = info.lines().find(|l| l.starts_with("used_memory:")).unwrap_or("used_memory:?").to_owned();
    println!("with {n} delivered and {n} pending kept: {used}");
    let started = Instant::now();
    let taken = outbox.take(100, Duration::from_secs(30)).await.unwrap();
    let take_100 = started.elapsed();
    let started = Instant::now();
    assert!(outbox.settle(&taken[0], delivered()).await.unwrap());
    let settle_1 = started.elapsed();
    let started = Instant::now();
    let query = Query { state: Some(DeliveryState::Pending), limit: 10, ..Query::default() };
    assert_eq!(outbox.list(&query).await.unwrap().len(), 10);
    let list_10 = started.elapsed();
    println!("with {n} delivered and {n} pending: take 100 {take_100:?}, settle {settle_1:?}, list 10 {list_10:?}");
    // Generous bounds (a loaded 2-core machine): a scan of the outbox would be far slower at scale.
    assert!(take_100 < Duration::from_millis(500), "{take_100:?}");
    assert!(settle_1 < Duration::from_millis(100) && list_10 < Duration::from_millis(100), "{settle_1:?} {list_10:?}");
    let stats = outbox.stats().await.unwrap();
    assert_eq!((stats.pending, stats.delivered), (n as u64 - 1, n as u64 + 1), "{stats:?}");
    let pruned = outbox.prune(OffsetDateTime::now_utc() + Duration::from_secs(1)).await.unwrap();
    assert_eq!(pruned, n as u64 + 1, "pruned in batches");
    let replay = gerbang_core::outbox::Replay::Since(OffsetDateTime::UNIX_EPOCH);
    assert_eq!(outbox.replay(&replay).await.unwrap(), n as u64 - 1, "replayed in batches: every one kept");
}

/// A one-node Redis Cluster (the node owns every slot), killed when dropped: where a script that
/// touched keys of two slots would fail with `CROSSSLOT`. The test's own, since the testkit's
/// servers are not cluster nodes.
struct ClusterNode {
    child: std::process::Child,
    port: u16,
    dir: std::path::PathBuf,
}

impl ClusterNode {
    fn start() -> Self {
        let port = RedisServer::free_port();
        let dir = std::env::temp_dir().join(format!("gerbang-outbox-cluster-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a temp dir for the cluster node");
        let log = std::fs::File::create(dir.join("redis.log")).expect("its log file");
        let child = std::process::Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .args(["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"])
            .arg("--dir")
            .arg(&dir)
            .stdin(std::process::Stdio::null())
            .stdout(log.try_clone().expect("its log file"))
            .stderr(log)
            .spawn()
            .expect("redis-server runs");
        Self { child, port, dir }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }
}

impl Drop for ClusterNode {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// On a Redis Cluster node, every script runs (each touches only its outbox's keys, all in the
/// slot of the name's hash tag) and the contract holds.
#[tokio::test]
async fn keeps_the_contract_on_a_cluster_node_every_key_in_one_slot() {
    // The testkit's server only says whether redis-server is here (or fails the test in CI).
    let Some(probe) = RedisServer::start() else { return };
    drop(probe);
    let node = ClusterNode::start();
    let client = gerbang_redis::redis::Client::open(node.url()).unwrap();
    let mut conn = None;
    for _ in 0..200 {
        if let Ok(c) = client.get_multiplexed_async_connection().await {
            conn = Some(c);
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut conn = conn.expect("the cluster node answers");
    let _: () = gerbang_redis::redis::cmd("CLUSTER")
        .arg("ADDSLOTSRANGE")
        .arg(0)
        .arg(16383)
        .query_async(&mut conn)
        .await
        .unwrap();
    for _ in 0..500 {
        let info: String = gerbang_redis::redis::cmd("CLUSTER").arg("INFO").query_async(&mut conn).await.unwrap();
        if info.contains("cluster_state:ok") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let outbox = RedisOutbox::builder().name("on-a-cluster").connect(&node.url()).await.unwrap();
    gerbang_testkit::check_outbox_contract(&outbox, "redis-cluster").await;

    let keys: Vec<String> = conn.keys("*").await.unwrap();
    assert!(keys.len() >= 10, "{keys:?}");
    let mut slots = HashSet::new();
    for key in &keys {
        let slot: i64 =
            gerbang_redis::redis::cmd("CLUSTER").arg("KEYSLOT").arg(key).query_async(&mut conn).await.unwrap();
        slots.insert(slot);
    }
    assert_eq!(slots.len(), 1, "every key of the outbox in one slot: {keys:?}");
}

/// A small deterministic generator (xorshift), so that a failing run can be replayed by seed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

/// The Redis outbox does what the memory outbox (the reference) does, operation for operation:
/// random enqueues, takes, settles (by current and former holders), replays and prunes over a
/// few payments, with no lease running out (time is the one thing the two do not share).
#[tokio::test]
async fn does_what_the_memory_outbox_does() {
    use gerbang_core::outbox::{MemoryOutbox, Replay};
    let Some(redis) = RedisServer::start() else { return };
    let statuses = [PaymentStatus::Pending, PaymentStatus::Paid, PaymentStatus::Expired, PaymentStatus::Refunded];
    let mut seen: std::collections::BTreeMap<String, usize> = std::collections::BTreeMap::new();
    for seed in [7_u64, 1_234_567, 987_654_321] {
        let memory = MemoryOutbox::new();
        let outbox = RedisOutbox::builder().prefix(format!("same-{seed}:")).connect(&redis.url()).await.unwrap();
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        // Taken and not settled yet; and settled (their holders' later settles must fail).
        let mut open: Vec<(Taken, Taken)> = Vec::new();
        let mut done: Vec<(Taken, Taken)> = Vec::new();
        let mut ids: Vec<String> = Vec::new();
        for step in 0..400 {
            let at = format!("seed {seed}, step {step}");
            match rng.below(100) {
                0..=29 => {
                    let m = outbox_message("same", &format!("p{}", rng.below(5)), statuses[rng.below(4)].clone());
                    ids.push(m.id.clone());
                    let enqueued = outbox.enqueue(&m).await.unwrap();
                    assert_eq!(enqueued, memory.enqueue(&m).await.unwrap(), "{at}: enqueue");
                    *seen.entry(format!("enqueue {enqueued:?}")).or_default() += 1;
                }
                30..=49 => {
                    let lease = Duration::from_secs(600);
                    let mut ours = outbox.take(100, lease).await.unwrap();
                    let mut theirs = memory.take(100, lease).await.unwrap();
                    ours.sort_by(|a, b| a.record.message.id.cmp(&b.record.message.id));
                    theirs.sort_by(|a, b| a.record.message.id.cmp(&b.record.message.id));
                    let shown = |t: &[Taken]| {
                        t.iter().map(|t| (t.record.message.id.clone(), t.record.attempts)).collect::<Vec<_>>()
                    };
                    assert_eq!(shown(&ours), shown(&theirs), "{at}: take");
                    *seen.entry("taken".into()).or_default() += ours.len();
                    open.extend(ours.into_iter().zip(theirs));
                }
                50..=89 if !open.is_empty() => {
                    let (ours, theirs) = open.swap_remove(rng.below(open.len()));
                    let attempt = match rng.below(6) {
                        0 => Attempt::Failed { answer: "gone".into() },
                        1 => Attempt::Retry { answer: "503".into(), at: OffsetDateTime::now_utc() },
                        2 => Attempt::Retry {
                            answer: "503".into(),
                            at: OffsetDateTime::now_utc() + Duration::from_secs(3600),
                        },
                        _ => delivered(),
                    };
                    let settled = outbox.settle(&ours, attempt.clone()).await.unwrap();
                    assert_eq!(settled, memory.settle(&theirs, attempt.clone()).await.unwrap(), "{at}: settle");
                    *seen.entry(format!("settle {settled} {}", attempt.answer())).or_default() += 1;
                    done.push((ours, theirs));
                }
                90..=92 if !done.is_empty() => {
                    let (ours, theirs) = done[rng.below(done.len())].clone();
                    let settled = outbox.settle(&ours, delivered()).await.unwrap();
                    assert_eq!(settled, memory.settle(&theirs, delivered()).await.unwrap(), "{at}: settle again");
                    *seen.entry(format!("settle again {settled}")).or_default() += 1;
                }
                93..=97 if !ids.is_empty() => {
                    let replay = Replay::Ids(vec![ids[rng.below(ids.len())].clone(), "msg_none".into()]);
                    let replayed = outbox.replay(&replay).await.unwrap();
                    assert_eq!(replayed, memory.replay(&replay).await.unwrap(), "{at}: replay");
                    *seen.entry("replayed".into()).or_default() += replayed as usize;
                }
                98 | 99 => {
                    let before = OffsetDateTime::now_utc() + Duration::from_secs(1);
                    let pruned = outbox.prune(before).await.unwrap();
                    assert_eq!(pruned, memory.prune(before).await.unwrap(), "{at}: prune");
                    *seen.entry("pruned".into()).or_default() += pruned as usize;
                }
                _ => {}
            }
            let query = Query { limit: 10_000, ..Query::default() };
            let shown = |records: Vec<gerbang_core::outbox::Record>| {
                records.into_iter().map(|r| (r.message.id, r.state, r.attempts, r.last_answer)).collect::<Vec<_>>()
            };
            assert_eq!(
                shown(outbox.list(&query).await.unwrap()),
                shown(memory.list(&query).await.unwrap()),
                "{at}: list"
            );
            let (ours, theirs) = (outbox.stats().await.unwrap(), memory.stats().await.unwrap());
            assert_eq!(
                (ours.pending, ours.delivered, ours.failed, ours.superseded),
                (theirs.pending, theirs.delivered, theirs.failed, theirs.superseded),
                "{at}: stats"
            );
        }
    }
    println!("{seen:?}");
    for what in [
        "enqueue Superseded",
        "settle true 200 OK",
        "settle true gone",
        "settle true 503",
        "settle again false",
        "replayed",
        "pruned",
    ] {
        assert!(seen.get(what).is_some_and(|n| *n > 0), "no {what:?} in {seen:?}");
    }
}
