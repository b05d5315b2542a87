//! The Postgres inbox on a private server per test (skipped when Postgres is not installed,
//! except on CI).

use std::time::{Duration, Instant};

use gerbang_core::inbox::{Claim, EventKey, Inbox};
use gerbang_core::{Error, ProviderId};
use gerbang_postgres::PostgresInbox;
use gerbang_testkit::PostgresServer;

fn key(name: &str) -> EventKey {
    EventKey { provider: ProviderId::Cuan10pay, key: format!("cuan10pay:{name}:paid") }
}

async fn server_and_inbox() -> Option<(PostgresServer, PostgresInbox)> {
    let server = PostgresServer::start()?;
    let inbox = PostgresInbox::connect(&server.url()).await.unwrap_or_else(|e| panic!("connect: {e}"));
    Some((server, inbox))
}

async fn query_bool(inbox: &PostgresInbox, sql: &str) -> bool {
    let client = inbox.pool().get().await.unwrap_or_else(|e| panic!("pool: {e}"));
    let row = client.query_one(sql, &[]).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    row.get(0)
}

async fn execute(inbox: &PostgresInbox, sql: &str) {
    let client = inbox.pool().get().await.unwrap_or_else(|e| panic!("pool: {e}"));
    client.batch_execute(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keeps_the_inbox_contract() {
    let Some((_server, inbox)) = server_and_inbox().await else { return };
    gerbang_testkit::check_inbox_contract(&inbox, "unique").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_racing_for_one_key_grant_it_once() {
    let Some((server, first)) = server_and_inbox().await else { return };
    let second = PostgresInbox::connect(&server.url()).await.unwrap_or_else(|e| panic!("{e}"));
    let k = key("race");
    let lease = Duration::from_secs(60);
    let claims = futures_util::future::join_all((0..50).map(|n| {
        let (replica, k) = (if n % 2 == 0 { first.clone() } else { second.clone() }, k.clone());
        tokio::spawn(async move { replica.claim(&k, lease).await })
    }))
    .await;
    let claims: Vec<Claim> =
        claims.into_iter().map(|c| c.unwrap_or_else(|e| panic!("{e}")).unwrap_or_else(|e| panic!("{e}"))).collect();
    let won = claims.iter().filter(|c| matches!(c, Claim::New(_))).count();
    assert_eq!(won, 1, "of 50 claims from two replicas exactly one wins: {claims:?}");
    assert_eq!(claims.iter().filter(|c| **c == Claim::InFlight).count(), 49);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn complete_in_commits_the_marker_with_the_merchants_order() {
    let Some((_server, inbox)) = server_and_inbox().await else { return };
    execute(&inbox, "CREATE TABLE orders (reference text PRIMARY KEY, status text NOT NULL); INSERT INTO orders VALUES ('ORDER-1', 'pending')").await;
    let k = key("CP-1");
    let Ok(Claim::New(lease)) = inbox.claim(&k, Duration::from_secs(60)).await else { panic!("new") };

    let mut client = inbox.pool().get().await.unwrap_or_else(|e| panic!("{e}"));
    let tx = client.transaction().await.unwrap_or_else(|e| panic!("{e}"));
    tx.execute("UPDATE orders SET status = 'paid' WHERE reference = $1", &[&"ORDER-1"])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(inbox.complete_in(&tx, &lease).await.ok(), Some(true), "the holder marks it done in the transaction");

    // Another replica's claim while the transaction is open waits for it, then sees it done.
    let (other, k2) = (inbox.clone(), k.clone());
    let waiting = tokio::spawn(async move { other.claim(&k2, Duration::from_secs(60)).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!waiting.is_finished(), "a claim does not decide while the marker is uncommitted");
    tx.commit().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(waiting.await.ok().and_then(Result::ok), Some(Claim::Done));
    drop(client);

    assert_eq!(inbox.claim(&k, Duration::from_secs(60)).await.ok(), Some(Claim::Done));
    assert!(query_bool(&inbox, "SELECT status = 'paid' FROM orders WHERE reference = 'ORDER-1'").await);
    assert_eq!(inbox.complete(&lease).await.ok(), Some(false), "done once is done");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolled_back_complete_in_leaves_the_claim_to_expire() {
    let Some((_server, inbox)) = server_and_inbox().await else { return };
    execute(&inbox, "CREATE TABLE orders (reference text PRIMARY KEY, status text NOT NULL); INSERT INTO orders VALUES ('ORDER-2', 'pending')").await;
    let k = key("CP-2");
    let Ok(Claim::New(lease)) = inbox.claim(&k, Duration::from_secs(2)).await else { panic!("new") };

    let mut client = inbox.pool().get().await.unwrap_or_else(|e| panic!("{e}"));
    let tx = client.transaction().await.unwrap_or_else(|e| panic!("{e}"));
    tx.execute("UPDATE orders SET status = 'paid' WHERE reference = $1", &[&"ORDER-2"])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(inbox.complete_in(&tx, &lease).await.ok(), Some(true));
    tx.rollback().await.unwrap_or_else(|e| panic!("{e}"));
    drop(client);

    assert_eq!(inbox.claim(&k, Duration::from_secs(60)).await.ok(), Some(Claim::InFlight), "still claimed");
    assert!(query_bool(&inbox, "SELECT status = 'pending' FROM orders WHERE reference = 'ORDER-2'").await);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let Ok(Claim::New(next)) = inbox.claim(&k, Duration::from_secs(60)).await else {
        panic!("after the lease runs out the next delivery is handled")
    };
    assert_eq!(inbox.complete(&next).await.ok(), Some(true), "the next holder completes");
    assert_eq!(inbox.complete(&lease).await.ok(), Some(false), "the first holder lost it");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creates_the_table_if_missing_and_connecting_again_changes_nothing() {
    let Some(server) = PostgresServer::start() else { return };
    let url = server.url();
    let first = PostgresInbox::connect(&url).await.unwrap_or_else(|e| panic!("{e}"));
    assert!(query_bool(&first, "SELECT to_regclass('gerbang_inbox') IS NOT NULL").await);
    assert!(query_bool(&first, "SELECT to_regclass('gerbang_inbox_expiry') IS NOT NULL").await, "and its index");
    let Ok(Claim::New(lease)) = first.claim(&key("kept"), Duration::from_secs(60)).await else { panic!("new") };
    assert_eq!(first.complete(&lease).await.ok(), Some(true));
    let again = PostgresInbox::connect(&url).await.unwrap_or_else(|e| panic!("a second connect: {e}"));
    assert_eq!(again.claim(&key("kept"), Duration::from_secs(60)).await.ok(), Some(Claim::Done), "rows are kept");

    // Another table in another schema; replicas starting together create it once.
    execute(&first, "CREATE SCHEMA billing").await;
    let replicas =
        futures_util::future::join_all((0..4).map(|_| PostgresInbox::builder().table("billing.events").connect(&url)))
            .await;
    assert!(replicas.iter().all(Result::is_ok), "{replicas:?}");
    assert!(query_bool(&first, "SELECT to_regclass('billing.events') IS NOT NULL").await);
    assert_eq!(
        again.claim(&key("other-table"), Duration::from_secs(60)).await.map(|c| matches!(c, Claim::New(_))).ok(),
        Some(true)
    );

    // Without create_table, a missing table is a configuration error, an existing one is fine.
    let missing = PostgresInbox::builder().table("nowhere").create_table(false).connect(&url).await;
    assert!(matches!(missing, Err(Error::Config { ref message }) if message.contains("\"nowhere\"")), "{missing:?}");
    assert!(query_bool(&first, "SELECT to_regclass('nowhere') IS NULL").await, "nothing was created");
    let existing = PostgresInbox::builder().table("billing.events").create_table(false).connect(&url).await;
    assert!(existing.is_ok(), "{existing:?}");
    let bad = PostgresInbox::builder().table("orders; drop table x").connect(&url).await;
    assert!(matches!(bad, Err(Error::Config { .. })), "{bad:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_in_the_url_never_shows() {
    let Some(server) = PostgresServer::start() else { return };
    let secret = "s3cret-Pa55word";
    // The private server trusts everyone, so the password is accepted and ignored.
    let url = format!("postgres://postgres:{secret}@127.0.0.1:{}/postgres", server.port());
    let inbox = PostgresInbox::connect(&url).await.unwrap_or_else(|e| panic!("{e}"));
    let shown = format!("{inbox:?}");
    assert!(shown.contains("postgres://postgres:***@127.0.0.1:"), "{shown}");

    let mut texts = vec![shown];
    let free = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).unwrap_or(1);
    let unreachable = PostgresInbox::builder()
        .connect_timeout(Duration::from_secs(2))
        .connect(&format!("postgres://app:{secret}@127.0.0.1:{free}/shop"))
        .await;
    let Err(e @ Error::Store { store: "postgres", .. }) = unreachable else { panic!("{unreachable:?}") };
    texts.extend([e.to_string(), format!("{e:?}")]);
    let no_such_db =
        PostgresInbox::connect(&format!("postgres://postgres:{secret}@127.0.0.1:{}/nodb", server.port())).await;
    // A refusal, not an outage: waiting would not make the database appear.
    let Err(e @ Error::Config { .. }) = no_such_db else { panic!("{no_such_db:?}") };
    assert!(e.to_string().contains("nodb"), "the server's reason is kept: {e}");
    texts.extend([e.to_string(), format!("{e:?}")]);
    for malformed in [format!("postgres://app:{secret}@127.0.0.1:port/shop"), format!("host=db password='{secret}")] {
        let Err(e @ Error::Config { .. }) = PostgresInbox::connect(&malformed).await else {
            panic!("{malformed} was accepted")
        };
        texts.extend([e.to_string(), format!("{e:?}")]);
    }
    gerbang_testkit::assert_nothing_leaks(&texts, &[secret]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_server_fails_claims_within_the_timeout() {
    let Some(mut server) = PostgresServer::start() else { return };
    let inbox = PostgresInbox::builder()
        .connect_timeout(Duration::from_secs(2))
        .operation_timeout(Duration::from_secs(3))
        .connect(&server.url())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(inbox.claim(&key("before"), Duration::from_secs(60)).await, Ok(Claim::New(_))));
    server.stop();
    for attempt in ["a pooled connection", "a new connection"] {
        let started = Instant::now();
        let claim = inbox.claim(&key("after"), Duration::from_secs(60)).await;
        assert!(matches!(claim, Err(Error::Store { store: "postgres", .. })), "{attempt}: {claim:?}");
        assert!(started.elapsed() < Duration::from_secs(6), "{attempt}: failed only after {:?}", started.elapsed());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn purge_forgets_done_markers_and_abandoned_claims_past_retention() {
    let Some((_server, inbox)) = server_and_inbox().await else { return };
    let long = Duration::from_secs(60);
    let Ok(Claim::New(done)) = inbox.claim(&key("done"), long).await else { panic!("new") };
    assert_eq!(inbox.complete(&done).await.ok(), Some(true));
    let Ok(Claim::New(_abandoned)) = inbox.claim(&key("abandoned"), Duration::from_millis(50)).await else {
        panic!("new")
    };
    let Ok(Claim::New(_held)) = inbox.claim(&key("held"), long).await else { panic!("new") };

    assert_eq!(inbox.purge_done_older_than(Duration::from_secs(3600)).await.ok(), Some(0), "nothing is that old");
    assert_eq!(inbox.claim(&key("done"), long).await.ok(), Some(Claim::Done));
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        inbox.purge_done_older_than(Duration::from_millis(200)).await.ok(),
        Some(2),
        "the done marker and the abandoned claim"
    );
    assert!(matches!(inbox.claim(&key("done"), long).await, Ok(Claim::New(_))), "a purged key is new again");
    assert_eq!(inbox.claim(&key("held"), long).await.ok(), Some(Claim::InFlight), "a live claim stays");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_url_asking_for_tls_fails_rather_than_going_on_in_clear() {
    let Some(server) = PostgresServer::start() else { return };
    let url = format!("{}?sslmode=require", server.url());
    let inbox = PostgresInbox::builder().connect_timeout(Duration::from_secs(2)).connect(&url).await;
    // A refusal (the server will not grow TLS by waiting): see tests/tls.rs.
    assert!(matches!(inbox, Err(Error::Config { .. })), "{inbox:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uses_the_applications_own_pool() {
    use gerbang_postgres::deadpool_postgres::{Manager, Pool};
    let Some(server) = PostgresServer::start() else { return };
    let config: gerbang_postgres::tokio_postgres::Config = server.url().parse().unwrap_or_else(|e| panic!("{e}"));
    let pool = Pool::builder(Manager::new(config, gerbang_postgres::tokio_postgres::NoTls))
        .max_size(2)
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let inbox = PostgresInbox::from_pool(pool).await.unwrap_or_else(|e| panic!("{e}"));
    assert!(format!("{inbox:?}").contains("a pool given by the application"));
    gerbang_testkit::check_inbox_contract(&inbox, "own-pool").await;
}

/// How long another session holds the inbox table locked (the 12 s).
const LOCK_HELD: Duration = Duration::from_secs(12);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_locked_table_fails_a_claim_in_time_and_leaves_no_claim_behind() {
    use gerbang_postgres::tokio_postgres;
    let Some((server, inbox)) = server_and_inbox().await else { return };
    // A claim first, so that the pooled connection has the claim prepared (as in production):
    // under the lock, it is then the INSERT itself that waits, not its preparation.
    assert!(matches!(inbox.claim(&key("warm"), Duration::from_secs(60)).await, Ok(Claim::New(_))));
    let (locker, connection) =
        tokio_postgres::connect(&server.url(), tokio_postgres::NoTls).await.unwrap_or_else(|e| panic!("{e}"));
    tokio::spawn(connection);
    locker
        .batch_execute("BEGIN; LOCK TABLE gerbang_inbox IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap_or_else(|e| panic!("lock: {e}"));
    let locked_at = Instant::now();

    let started = Instant::now();
    let claim = inbox.claim(&key("locked"), Duration::from_secs(60)).await;
    let waited = started.elapsed();
    let Err(Error::Store { store: "postgres", message }) = claim else { panic!("{claim:?}") };
    assert!(waited < Duration::from_millis(3500), "the claim gave up only after {waited:?}: {message}");
    // The server gave up first (lock_timeout) and said so: nothing of it is left to land later.
    assert!(message.contains("55P03") || message.contains("57014"), "{message}");

    tokio::time::sleep(LOCK_HELD.saturating_sub(locked_at.elapsed())).await;
    locker.batch_execute("COMMIT").await.unwrap_or_else(|e| panic!("commit: {e}"));
    let started = Instant::now();
    let claim = inbox.claim(&key("locked"), Duration::from_secs(60)).await;
    assert!(matches!(claim, Ok(Claim::New(_))), "no claim was left behind: {claim:?}");
    assert!(started.elapsed() < Duration::from_secs(1), "at once: {:?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claim_the_client_gave_up_on_is_cancelled_on_the_server() {
    use gerbang_postgres::tokio_postgres;
    let Some(server) = PostgresServer::start() else { return };
    // The server's own limit far above the client's: only the cancel request stops the claim.
    let inbox = PostgresInbox::builder()
        .operation_timeout(Duration::from_secs(1))
        .server_timeout(Duration::from_secs(60))
        .connect(&server.url())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(inbox.claim(&key("warm"), Duration::from_secs(60)).await, Ok(Claim::New(_))));
    let (locker, connection) =
        tokio_postgres::connect(&server.url(), tokio_postgres::NoTls).await.unwrap_or_else(|e| panic!("{e}"));
    tokio::spawn(connection);
    locker
        .batch_execute("BEGIN; LOCK TABLE gerbang_inbox IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let claim = inbox.claim(&key("cancelled"), Duration::from_secs(60)).await;
    assert!(matches!(claim, Err(Error::Store { .. })), "{claim:?}");
    tokio::time::sleep(Duration::from_secs(2)).await;
    locker.batch_execute("COMMIT").await.unwrap_or_else(|e| panic!("{e}"));
    let claim = inbox.claim(&key("cancelled"), Duration::from_secs(60)).await;
    assert!(matches!(claim, Ok(Claim::New(_))), "the abandoned claim was cancelled, not left behind: {claim:?}");
}
