//! The Postgres ledger on a private server per test (skipped when Postgres is not installed,
//! except on CI).

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use gerbang_core::ledger::{Ledger, WatchState, WatchedPayment};
use gerbang_core::time::OffsetDateTime;
use gerbang_core::{Error, Money, ProviderId};
use gerbang_postgres::{PostgresLedger, ledger_schema_sql};
use gerbang_testkit::PostgresServer;

fn at(seconds: i64) -> OffsetDateTime {
    OffsetDateTime::UNIX_EPOCH + gerbang_core::time::Duration::seconds(1_900_000_000 + seconds)
}

const DAY: i64 = 86_400;

fn payment(reference: &str, state: WatchState, recorded_at: OffsetDateTime) -> WatchedPayment {
    let mut record = WatchedPayment::new(ProviderId::Qris, reference, Money::idr(25_000), state, recorded_at);
    if !state.is_watched() {
        record.next_check = None;
    }
    record
}

async fn server_and_ledger() -> Option<(PostgresServer, PostgresLedger)> {
    let server = PostgresServer::start()?;
    let ledger = PostgresLedger::connect(&server.url()).await.unwrap_or_else(|e| panic!("connect: {e}"));
    Some((server, ledger))
}

async fn query_bool(ledger: &PostgresLedger, sql: &str) -> bool {
    let client = ledger.pool().get().await.unwrap_or_else(|e| panic!("pool: {e}"));
    let row = client.query_one(sql, &[]).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    row.get(0)
}

async fn execute(ledger: &PostgresLedger, sql: &str) {
    let client = ledger.pool().get().await.unwrap_or_else(|e| panic!("pool: {e}"));
    client.batch_execute(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
}

async fn find(ledger: &PostgresLedger, reference: &str) -> Option<WatchedPayment> {
    ledger.find_by_reference(ProviderId::Qris, reference).await.unwrap_or_else(|e| panic!("find {reference}: {e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keeps_the_ledger_contract() {
    let Some((_server, ledger)) = server_and_ledger().await else { return };
    gerbang_testkit::check_ledger_contract(&ledger, "unique").await;
    gerbang_testkit::check_watched_creates(std::sync::Arc::new(ledger), "unique").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keeps_the_contract_on_the_applications_own_pool_and_table() {
    use gerbang_postgres::deadpool_postgres::{Manager, Pool};
    let Some(server) = PostgresServer::start() else { return };
    let config: gerbang_postgres::tokio_postgres::Config = server.url().parse().unwrap_or_else(|e| panic!("{e}"));
    let pool = Pool::builder(Manager::new(config, gerbang_postgres::tokio_postgres::NoTls))
        .max_size(3)
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    pool.get().await.unwrap_or_else(|e| panic!("{e}")).batch_execute("CREATE SCHEMA billing").await.ok();
    let ledger =
        PostgresLedger::builder().table("billing.watched").use_pool(pool).await.unwrap_or_else(|e| panic!("{e}"));
    assert!(format!("{ledger:?}").contains("a pool given by the application"), "{ledger:?}");
    gerbang_testkit::check_ledger_contract(&ledger, "own-pool").await;
    assert!(query_bool(&ledger, "SELECT count(*) > 20 FROM billing.watched").await, "the rows are in that table");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creates_the_table_if_missing_and_connecting_again_changes_nothing() {
    let Some(server) = PostgresServer::start() else { return };
    let url = server.url();
    let first = PostgresLedger::connect(&url).await.unwrap_or_else(|e| panic!("{e}"));
    for relation in ["gerbang_ledger", "gerbang_ledger_lookup", "gerbang_ledger_due", "gerbang_ledger_recent"] {
        assert!(query_bool(&first, &format!("SELECT to_regclass('{relation}') IS NOT NULL")).await, "{relation}");
    }
    let kept = payment("ORDER-kept", WatchState::Pending, at(0));
    assert_eq!(first.record(&kept).await.ok(), Some(true));
    let again = PostgresLedger::connect(&url).await.unwrap_or_else(|e| panic!("a second connect: {e}"));
    assert_eq!(find(&again, "ORDER-kept").await, Some(kept), "rows are kept");
    // The SQL given to a DBA runs again over an existing table without complaint.
    execute(&first, &ledger_schema_sql("gerbang_ledger").unwrap_or_else(|e| panic!("{e}"))).await;

    // Replicas starting together create a table once; the inbox's and the ledger's live side by side.
    execute(&first, "CREATE SCHEMA billing").await;
    let replicas =
        futures_util::future::join_all((0..4).map(|_| PostgresLedger::builder().table("billing.ledger").connect(&url)))
            .await;
    assert!(replicas.iter().all(Result::is_ok), "{replicas:?}");
    let inbox = gerbang_postgres::PostgresInbox::connect(&url).await;
    assert!(inbox.is_ok(), "{inbox:?}");

    // Without create_table, a missing table is a configuration error naming the way out.
    let missing = PostgresLedger::builder().table("nowhere").create_table(false).connect(&url).await;
    assert!(
        matches!(missing, Err(Error::Config { ref message })
            if message.contains("\"nowhere\"") && message.contains("ledger_schema_sql")),
        "{missing:?}"
    );
    assert!(query_bool(&first, "SELECT to_regclass('nowhere') IS NULL").await, "nothing was created");
    execute(&first, &ledger_schema_sql("by_hand").unwrap_or_else(|e| panic!("{e}"))).await;
    let by_hand = PostgresLedger::builder().table("by_hand").create_table(false).connect(&url).await;
    assert!(by_hand.is_ok(), "a table the DBA created with ledger_schema_sql: {by_hand:?}");
    let bad = PostgresLedger::builder().table("ledger; drop table x").connect(&url).await;
    assert!(matches!(bad, Err(Error::Config { .. })), "{bad:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn purge_forgets_only_final_records_past_retention() {
    let Some((_server, ledger)) = server_and_ledger().await else { return };
    let now = at(100 * DAY);
    let old = at(0);
    let forgotten = ["old-paid", "old-expired", "old-not-created"];
    let mut unknown = payment("old-unknown-given-up", WatchState::Unknown, old);
    unknown.next_check = None;
    unknown.note = Some("the gateway cannot look payments up by reference".into());
    for record in [
        payment("old-paid", WatchState::Paid, old),
        payment("old-expired", WatchState::Expired, old),
        payment("old-not-created", WatchState::NotCreated, old),
        payment("old-mismatch", WatchState::Mismatch, old),
        payment("old-pending", WatchState::Pending, old),
        unknown,
        payment("recent-paid", WatchState::Paid, now - gerbang_core::time::Duration::days(1)),
    ] {
        assert_eq!(ledger.record(&record).await.ok(), Some(true), "{}", record.reference);
    }
    let retention = Duration::from_secs(30 * 86_400);
    assert_eq!(ledger.purge_final_older_than(at(0), retention).await.ok(), Some(0), "nothing is that old yet");
    assert_eq!(ledger.purge_final_older_than(now, retention).await.ok(), Some(3));
    for reference in forgotten {
        assert_eq!(find(&ledger, reference).await, None, "{reference} is forgotten");
    }
    for reference in ["old-mismatch", "old-pending", "old-unknown-given-up", "recent-paid"] {
        assert!(find(&ledger, reference).await.is_some(), "{reference} stays");
    }
    assert_eq!(ledger.purge_final_older_than(now, retention).await.ok(), Some(0), "purging again does nothing");
    assert_eq!(ledger.purge_final_older_than(now, Duration::MAX).await.ok(), Some(0), "an endless retention");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_split_the_due_payments_without_overlap() {
    let Some((server, first)) = server_and_ledger().await else { return };
    let second = PostgresLedger::connect(&server.url()).await.unwrap_or_else(|e| panic!("{e}"));
    for n in 0..120 {
        let mut record = payment(&format!("due-{n:03}"), WatchState::Pending, at(0));
        record.next_check = Some(at(n));
        first.record(&record).await.unwrap_or_else(|e| panic!("{e}"));
    }
    // Six reconcilers, three per replica, each taking up to 7 at a time until nothing is left.
    let workers = (0..6).map(|n| {
        let replica = if n % 2 == 0 { first.clone() } else { second.clone() };
        tokio::spawn(async move {
            let mut taken = Vec::new();
            loop {
                let due = replica.due(at(1000), 7, Duration::from_secs(600)).await.unwrap_or_else(|e| panic!("{e}"));
                if due.is_empty() {
                    return taken;
                }
                assert!(due.windows(2).all(|w| w[0].next_check <= w[1].next_check), "earliest first");
                taken.extend(due.into_iter().map(|r| r.reference));
            }
        })
    });
    let taken: Vec<String> = futures_util::future::join_all(workers)
        .await
        .into_iter()
        .flat_map(|worker| worker.unwrap_or_else(|e| panic!("{e}")))
        .collect();
    let distinct: BTreeSet<&String> = taken.iter().collect();
    assert_eq!((taken.len(), distinct.len()), (120, 120), "each due payment handed out exactly once");
    let leased = find(&first, "due-000").await.and_then(|r| r.next_check);
    assert_eq!(leased, Some(at(1600)), "its next check is the end of the lease");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn times_are_kept_to_the_microsecond_and_amounts_exactly() {
    let Some((_server, ledger)) = server_and_ledger().await else { return };
    let precise = at(0) + gerbang_core::time::Duration::nanoseconds(123_456_789);
    let mut record = payment("precise", WatchState::Pending, precise);
    record.amount = Money::new(
        "0.000000000000000001".parse().unwrap_or_else(|e| panic!("{e}")),
        gerbang_core::Currency::new("BTC").unwrap_or_else(|e| panic!("{e}")),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    record.next_check = Some(precise);
    ledger.record(&record).await.unwrap_or_else(|e| panic!("{e}"));
    let micros = at(0) + gerbang_core::time::Duration::nanoseconds(123_456_000);
    let found = find(&ledger, "precise").await.unwrap_or_else(|| panic!("recorded"));
    assert_eq!((found.recorded_at, found.next_check), (micros, Some(micros)), "cut to the microsecond");
    assert_eq!(found.amount, record.amount, "every digit of the amount");
    assert_eq!(found.amount.value().to_string(), "0.000000000000000001");
    let due = ledger.due(precise, 10, Duration::from_secs(60)).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(due.len(), 1, "due at the very time it was set for");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_row_it_cannot_read_is_a_store_error() {
    let Some((_server, ledger)) = server_and_ledger().await else { return };
    ledger.record(&payment("ORDER-odd", WatchState::Pending, at(0))).await.unwrap_or_else(|e| panic!("{e}"));
    execute(&ledger, "UPDATE gerbang_ledger SET state = 'settled' WHERE reference = 'ORDER-odd'").await;
    let found = ledger.find_by_reference(ProviderId::Qris, "ORDER-odd").await;
    assert!(
        matches!(found, Err(Error::Store { store: "postgres", ref message }) if message.contains("\"settled\"")),
        "{found:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_server_fails_every_call_within_the_timeout_and_shows_no_password() {
    let Some(mut server) = PostgresServer::start() else { return };
    let secret = "s3cret-Pa55word";
    // The private server trusts everyone, so the password is accepted and ignored.
    let url = format!("postgres://postgres:{secret}@127.0.0.1:{}/postgres", server.port());
    let ledger = PostgresLedger::builder()
        .connect_timeout(Duration::from_secs(2))
        .operation_timeout(Duration::from_secs(3))
        .connect(&url)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let shown = format!("{ledger:?}");
    assert!(shown.contains("postgres://postgres:***@127.0.0.1:"), "{shown}");
    let mut texts = vec![shown];
    let record = payment("ORDER-down", WatchState::Pending, at(0));
    assert_eq!(ledger.record(&record).await.ok(), Some(true));

    server.stop();
    for attempt in
        ["a pooled connection", "a new connection", "record", "begin", "find", "find_id", "due", "list", "purge"]
    {
        let started = Instant::now();
        let outcome = match attempt {
            "begin" => ledger.begin_create(&record).await.map(|_| ()),
            "find" => ledger.find_by_reference(ProviderId::Qris, "ORDER-down").await.map(|_| ()),
            "find_id" => ledger.find_by_gateway_id(ProviderId::Qris, "ORDER-down").await.map(|_| ()),
            "due" => ledger.due(at(10), 10, Duration::from_secs(60)).await.map(|_| ()),
            "list" => ledger.list(10).await.map(|_| ()),
            "purge" => ledger.purge_final_older_than(at(10), Duration::ZERO).await.map(|_| ()),
            _ => ledger.record(&record).await.map(|_| ()),
        };
        let Err(e @ Error::Store { store: "postgres", .. }) = outcome else { panic!("{attempt}: {outcome:?}") };
        assert!(started.elapsed() < Duration::from_secs(6), "{attempt}: failed only after {:?}", started.elapsed());
        texts.extend([e.to_string(), format!("{e:?}")]);
    }

    let free = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).unwrap_or(1);
    let started = Instant::now();
    let unreachable = PostgresLedger::builder()
        .connect_timeout(Duration::from_secs(2))
        .operation_timeout(Duration::from_secs(3))
        .connect(&format!("postgres://app:{secret}@127.0.0.1:{free}/shop"))
        .await;
    let Err(e @ Error::Store { store: "postgres", .. }) = unreachable else { panic!("{unreachable:?}") };
    assert!(started.elapsed() < Duration::from_secs(6), "connecting failed only after {:?}", started.elapsed());
    texts.extend([e.to_string(), format!("{e:?}")]);
    let malformed = PostgresLedger::connect(&format!("postgres://app:{secret}@127.0.0.1:port/shop")).await;
    let Err(e @ Error::Config { .. }) = malformed else { panic!("{malformed:?}") };
    texts.extend([e.to_string(), format!("{e:?}")]);
    gerbang_testkit::assert_nothing_leaks(&texts, &[secret]);
}
