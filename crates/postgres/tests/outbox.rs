//! The Postgres outbox on a private server per test (skipped when Postgres is not installed,
//! except on CI).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gerbang_core::Error;
use gerbang_core::PaymentStatus;
use gerbang_core::outbox::{Attempt, DeliveryState, Enqueued, Message, Outbox, Query, Taken};
use gerbang_postgres::tokio_postgres;
use gerbang_postgres::{PostgresOutbox, outbox_schema_sql};
use gerbang_testkit::{PostgresServer, outbox_message};

async fn server_and_outbox() -> Option<(PostgresServer, PostgresOutbox)> {
    let server = PostgresServer::start()?;
    let outbox = PostgresOutbox::connect(&server.url()).await.unwrap_or_else(|e| panic!("connect: {e}"));
    Some((server, outbox))
}

/// A connection of the test's own, outside every outbox's pool.
async fn admin(server: &PostgresServer) -> tokio_postgres::Client {
    let (client, connection) =
        tokio_postgres::connect(&server.url(), tokio_postgres::NoTls).await.unwrap_or_else(|e| panic!("{e}"));
    tokio::spawn(connection);
    client
}

async fn query_bool(client: &tokio_postgres::Client, sql: &str) -> bool {
    client.query_one(sql, &[]).await.unwrap_or_else(|e| panic!("{sql}: {e}")).get(0)
}

fn delivered() -> Attempt {
    Attempt::Delivered { answer: "200 OK".into() }
}

fn ids(taken: &[Taken]) -> Vec<&str> {
    taken.iter().map(|t| t.record.message.id.as_str()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keeps_the_outbox_contract() {
    let Some((_server, outbox)) = server_and_outbox().await else { return };
    gerbang_testkit::check_outbox_contract(&outbox, "unique").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keeps_the_contract_on_the_applications_own_pool_and_table() {
    use gerbang_postgres::deadpool_postgres::{Manager, Pool};
    let Some(server) = PostgresServer::start() else { return };
    admin(&server).await.batch_execute("CREATE SCHEMA billing").await.unwrap_or_else(|e| panic!("{e}"));
    let config: tokio_postgres::Config = server.url().parse().unwrap_or_else(|e| panic!("{e}"));
    let pool = Pool::builder(Manager::new(config, tokio_postgres::NoTls))
        .max_size(4)
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let outbox =
        PostgresOutbox::builder().table("billing.events_out").use_pool(pool).await.unwrap_or_else(|e| panic!("{e}"));
    assert!(format!("{outbox:?}").contains("a pool given by the application"));
    gerbang_testkit::check_outbox_contract(&outbox, "own-pool").await;
    let client = admin(&server).await;
    assert!(query_bool(&client, "SELECT to_regclass('billing.events_out_payment') IS NOT NULL").await);
    assert!(query_bool(&client, "SELECT to_regclass('gerbang_outbox') IS NULL").await, "nothing in public");
}

/// The statuses of a payment's five messages, in the order they are enqueued, and the order
/// they must be delivered in: lowest rank first, then the first enqueued.
const ENQUEUED: [PaymentStatus; 5] = [
    PaymentStatus::Refunded,
    PaymentStatus::Paid,
    PaymentStatus::Pending,
    PaymentStatus::Expired,
    PaymentStatus::Failed,
];
const DELIVERED: [PaymentStatus; 5] = [
    PaymentStatus::Pending,
    PaymentStatus::Paid,
    PaymentStatus::Expired,
    PaymentStatus::Failed,
    PaymentStatus::Refunded,
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_deliver_every_message_once_in_each_payments_order() {
    let Some(server) = PostgresServer::start() else { return };
    let mut replicas = Vec::new();
    for _ in 0..3 {
        // Three pools: three replicas.
        replicas.push(PostgresOutbox::connect(&server.url()).await.unwrap_or_else(|e| panic!("{e}")));
    }
    let payments: Vec<String> = (0..60).map(|n| format!("p{n}")).collect();
    for (n, payment) in payments.iter().enumerate() {
        for status in ENQUEUED {
            let message = outbox_message("three", payment, status);
            let replica = &replicas[n % 3];
            assert_eq!(replica.enqueue(&message).await.ok(), Some(Enqueued::New));
        }
    }

    let log: Arc<Mutex<Vec<Message>>> = Arc::default();
    let deadline = Instant::now() + Duration::from_secs(60);
    let runs = replicas.iter().map(|replica| {
        let (replica, log) = (replica.clone(), log.clone());
        tokio::spawn(async move {
            let mut mine = 0;
            while log.lock().unwrap_or_else(|e| e.into_inner()).len() < 300 && Instant::now() < deadline {
                let taken = replica.take(8, Duration::from_secs(30)).await.unwrap_or_else(|e| panic!("take: {e}"));
                if taken.is_empty() {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
                for taken in &taken {
                    // Delivered (logged) before it is settled: the payment's next message can
                    // only be taken after the settle.
                    log.lock().unwrap_or_else(|e| e.into_inner()).push(taken.record.message.clone());
                    assert_eq!(replica.settle(taken, delivered()).await.ok(), Some(true), "the holder settles");
                    mine += 1;
                }
            }
            mine
        })
    });
    let shares: Vec<usize> =
        futures_util::future::join_all(runs).await.into_iter().map(|r| r.unwrap_or_else(|e| panic!("{e}"))).collect();
    let log = log.lock().unwrap_or_else(|e| e.into_inner()).clone();

    let mut seen = HashSet::new();
    for message in &log {
        assert!(seen.insert(message.id.clone()), "{} was delivered twice", message.id);
    }
    assert_eq!(log.len(), 300, "every message was delivered (shares {shares:?})");
    let mut by_payment: HashMap<&str, Vec<&str>> = HashMap::new();
    for message in &log {
        by_payment.entry(message.reference.as_deref().unwrap_or("")).or_default().push(message.status.as_str());
    }
    for payment in &payments {
        let order = by_payment.get(format!("ORDER-{payment}").as_str()).cloned().unwrap_or_default();
        let expected: Vec<&str> = DELIVERED.iter().map(PaymentStatus::as_str).collect();
        assert_eq!(order, expected, "{payment}'s messages in rank order, then as enqueued");
    }
    assert!(shares.iter().filter(|share| **share > 0).count() >= 2, "the replicas shared the work: {shares:?}");
    let stats = replicas[0].stats().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((stats.pending, stats.delivered, stats.superseded), (0, 300, 0), "{stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_take_whose_backend_is_terminated_loses_nothing() {
    let Some((server, outbox)) = server_and_outbox().await else { return };
    let client = admin(&server).await;
    let m = outbox_message("kill", "k1", PaymentStatus::Paid);
    outbox.enqueue(&m).await.unwrap_or_else(|e| panic!("{e}"));

    // Another session holds the message's row: the take locks its payment, then waits on the
    // row, and its backend is terminated there, mid-way through its transaction.
    client.batch_execute("BEGIN").await.unwrap_or_else(|e| panic!("{e}"));
    client
        .execute("SELECT 1 FROM gerbang_outbox WHERE id = $1 FOR UPDATE", &[&m.id])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let taker = outbox.clone();
    let take = tokio::spawn(async move { taker.take(10, Duration::from_secs(60)).await });
    let mut terminated = false;
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let killed = client
            .query(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                 WHERE application_name = 'gerbang-postgres' AND wait_event_type = 'Lock'",
                &[],
            )
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        if !killed.is_empty() {
            terminated = true;
            break;
        }
    }
    assert!(terminated, "the take waited on the row");
    let take = take.await.unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(take, Err(Error::Store { store: "postgres", .. })), "{take:?}");
    client.batch_execute("ROLLBACK").await.unwrap_or_else(|e| panic!("{e}"));

    // Nothing of the killed take stayed: the message is taken at once, as it was.
    let again = outbox.take(10, Duration::from_secs(60)).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(ids(&again), [m.id.as_str()], "the message is still there to take");
    assert_eq!(again[0].record.attempts, 0);
    assert_eq!(outbox.settle(&again[0], delivered()).await.ok(), Some(true));

    // A take that committed, then its replica's connections died with it: the message waits for
    // its lease, then another taker has it, and the dead one can no longer settle.
    let n = outbox_message("kill", "k2", PaymentStatus::Paid);
    outbox.enqueue(&n).await.unwrap_or_else(|e| panic!("{e}"));
    let lease = Duration::from_millis(1500);
    let dead = outbox.take(10, lease).await.unwrap_or_else(|e| panic!("{e}"));
    let taken_at = Instant::now();
    assert_eq!(ids(&dead), [n.id.as_str()]);
    client
        .execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'gerbang-postgres'",
            &[],
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let other = PostgresOutbox::connect(&server.url()).await.unwrap_or_else(|e| panic!("{e}"));
    let mut next = Vec::new();
    while taken_at.elapsed() < Duration::from_secs(5) {
        next = other.take(10, Duration::from_secs(60)).await.unwrap_or_else(|e| panic!("{e}"));
        if !next.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(taken_at.elapsed() >= lease, "not before the lease ran out ({:?})", taken_at.elapsed());
    assert_eq!(ids(&next), [n.id.as_str()], "taken again after the lease");
    // The dead replica's pool opens new connections; its holder is stale all the same.
    let mut stale = outbox.settle(&dead[0], delivered()).await;
    if stale.is_err() {
        stale = outbox.settle(&dead[0], delivered()).await;
    }
    assert_eq!(stale.ok(), Some(false), "the dead taker's holder cannot settle");
    assert_eq!(other.settle(&next[0], delivered()).await.ok(), Some(true));
    let listed = other.list(&Query { state: Some(DeliveryState::Delivered), ..Query::default() }).await.ok();
    assert_eq!(listed.map(|l| l.len()), Some(2), "both messages delivered");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creates_the_tables_if_missing_and_connecting_again_changes_nothing() {
    let Some((server, first)) = server_and_outbox().await else { return };
    let client = admin(&server).await;
    for relation in [
        "gerbang_outbox",
        "gerbang_outbox_payment",
        "gerbang_outbox_seq",
        "gerbang_outbox_order",
        "gerbang_outbox_state",
        "gerbang_outbox_recent",
        "gerbang_outbox_settled",
        "gerbang_outbox_pay_due",
    ] {
        assert!(query_bool(&client, &format!("SELECT to_regclass('{relation}') IS NOT NULL")).await, "{relation}");
    }
    let m = outbox_message("tables", "t1", PaymentStatus::Paid);
    first.enqueue(&m).await.unwrap_or_else(|e| panic!("{e}"));
    let again = PostgresOutbox::connect(&server.url()).await.unwrap_or_else(|e| panic!("a second connect: {e}"));
    assert_eq!(again.enqueue(&m).await.ok(), Some(Enqueued::Already), "rows are kept");

    // Replicas starting together create another table once.
    let url = server.url();
    let replicas =
        futures_util::future::join_all((0..4).map(|_| PostgresOutbox::builder().table("events_out").connect(&url)))
            .await;
    assert!(replicas.iter().all(Result::is_ok), "{replicas:?}");

    // The DBA's SQL is what the outbox needs: made by hand, it is used as it is.
    let sql = outbox_schema_sql("by_hand").unwrap_or_else(|e| panic!("{e}"));
    client.batch_execute(&sql).await.unwrap_or_else(|e| panic!("{e}"));
    let by_hand = PostgresOutbox::builder().table("by_hand").create_table(false).connect(&server.url()).await;
    let by_hand = by_hand.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(by_hand.enqueue(&m).await.ok(), Some(Enqueued::New));

    // Without create_table, a missing table (either of the two) is a configuration error.
    client.batch_execute("DROP TABLE by_hand_payment").await.unwrap_or_else(|e| panic!("{e}"));
    let half = PostgresOutbox::builder().table("by_hand").create_table(false).connect(&server.url()).await;
    assert!(matches!(half, Err(Error::Config { ref message }) if message.contains("\"by_hand_payment\"")), "{half:?}");
    let bad = PostgresOutbox::builder().table("outbox; drop table x").connect(&server.url()).await;
    assert!(matches!(bad, Err(Error::Config { .. })), "{bad:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_server_fails_every_call_within_the_timeout_and_shows_no_password() {
    let Some(mut server) = PostgresServer::start() else { return };
    let secret = "s3cret-Pa55word";
    let url = format!("postgres://postgres:{secret}@127.0.0.1:{}/postgres", server.port());
    let outbox = PostgresOutbox::builder()
        .connect_timeout(Duration::from_secs(2))
        .operation_timeout(Duration::from_secs(3))
        .connect(&url)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let m = outbox_message("stopped", "s1", PaymentStatus::Paid);
    outbox.enqueue(&m).await.unwrap_or_else(|e| panic!("{e}"));
    let mut texts = vec![format!("{outbox:?}")];
    server.stop();
    let started = Instant::now();
    let results = [
        outbox.enqueue(&m).await.map(|_| ()),
        outbox.take(10, Duration::from_secs(30)).await.map(|_| ()),
        outbox.list(&Query::default()).await.map(|_| ()),
        outbox.stats().await.map(|_| ()),
        outbox.ping().await,
    ];
    for result in results {
        let Err(e @ Error::Store { store: "postgres", .. }) = result else { panic!("{result:?}") };
        texts.extend([e.to_string(), format!("{e:?}")]);
    }
    assert!(started.elapsed() < Duration::from_secs(20), "five calls took {:?}", started.elapsed());
    gerbang_testkit::assert_nothing_leaks(&texts, &[secret]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prune_forgets_payments_with_no_message_left() {
    let Some((server, outbox)) = server_and_outbox().await else { return };
    let client = admin(&server).await;
    let paid = outbox_message("prune", "p1", PaymentStatus::Paid);
    outbox.enqueue(&paid).await.unwrap_or_else(|e| panic!("{e}"));
    let taken = outbox.take(10, Duration::from_secs(60)).await.unwrap_or_else(|e| panic!("{e}"));
    outbox.settle(&taken[0], delivered()).await.unwrap_or_else(|e| panic!("{e}"));
    let failed = outbox_message("prune", "p2", PaymentStatus::Paid);
    outbox.enqueue(&failed).await.unwrap_or_else(|e| panic!("{e}"));
    let taken = outbox.take(10, Duration::from_secs(60)).await.unwrap_or_else(|e| panic!("{e}"));
    outbox.settle(&taken[0], Attempt::Failed { answer: "gone".into() }).await.unwrap_or_else(|e| panic!("{e}"));

    let cut = gerbang_core::time::OffsetDateTime::now_utc() + Duration::from_secs(1);
    assert_eq!(outbox.prune(cut).await.ok(), Some(1));
    let rows: i64 = client
        .query_one("SELECT count(*) FROM gerbang_outbox_payment", &[])
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .get(0);
    assert_eq!(rows, 1, "the delivered payment is forgotten, the failed one's kept");
    // Forgotten, a payment starts afresh (as in memory): its late pending is sent.
    let late = outbox_message("prune", "p1", PaymentStatus::Pending);
    assert_eq!(outbox.enqueue(&late).await.ok(), Some(Enqueued::New));

    // Many at once go in batches.
    client
        .batch_execute(
            "INSERT INTO gerbang_outbox (id, gateway, payment, status, rank, body, state, received_at, settled_at) \
             SELECT 'bulk' || n, 'cuan10pay', 'bulk' || n, 'paid', 1, '{}', 'delivered', now(), now() \
             FROM generate_series(1, 2500) AS n",
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let cut = gerbang_core::time::OffsetDateTime::now_utc() + Duration::from_secs(1);
    assert_eq!(outbox.prune(cut).await.ok(), Some(2500));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_enqueued_while_replicas_deliver_are_never_left_behind() {
    let Some(server) = PostgresServer::start() else { return };
    let mut replicas = Vec::new();
    for _ in 0..3 {
        replicas.push(PostgresOutbox::connect(&server.url()).await.unwrap_or_else(|e| panic!("{e}")));
    }
    // Each payment's states in the order a gateway reports them, enqueued while the replicas
    // take and settle the earlier ones: a `due` set too late by a race would leave one behind.
    let statuses = [PaymentStatus::Pending, PaymentStatus::Paid, PaymentStatus::Refunded];
    let payments: Vec<String> = (0..40).map(|n| format!("q{n}")).collect();
    let total = payments.len() * statuses.len();
    let log: Arc<Mutex<Vec<Message>>> = Arc::default();
    let deadline = Instant::now() + Duration::from_secs(60);
    let runs: Vec<_> = replicas
        .iter()
        .map(|replica| {
            let (replica, log) = (replica.clone(), log.clone());
            tokio::spawn(async move {
                while log.lock().unwrap_or_else(|e| e.into_inner()).len() < total && Instant::now() < deadline {
                    let taken = replica.take(4, Duration::from_secs(30)).await.unwrap_or_else(|e| panic!("take: {e}"));
                    if taken.is_empty() {
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                    for taken in &taken {
                        log.lock().unwrap_or_else(|e| e.into_inner()).push(taken.record.message.clone());
                        assert_eq!(replica.settle(taken, delivered()).await.ok(), Some(true));
                    }
                }
            })
        })
        .collect();
    for status in statuses {
        for (n, payment) in payments.iter().enumerate() {
            let message = outbox_message("live", payment, status.clone());
            assert_eq!(replicas[n % 3].enqueue(&message).await.ok(), Some(Enqueued::New), "{}", message.id);
        }
    }
    for run in runs {
        run.await.unwrap_or_else(|e| panic!("{e}"));
    }
    let log = log.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let unique: HashSet<&str> = log.iter().map(|m| m.id.as_str()).collect();
    assert_eq!((log.len(), unique.len()), (total, total), "each message delivered once, none left behind");
    for payment in &payments {
        let order: Vec<&str> = log
            .iter()
            .filter(|m| m.reference.as_deref() == Some(format!("ORDER-{payment}").as_str()))
            .map(|m| m.status.as_str())
            .collect();
        assert_eq!(order, ["pending", "paid", "refunded"], "{payment}");
    }
}
