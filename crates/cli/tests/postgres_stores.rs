//! `webhook serve` on Postgres as a managed database is reached (issue 22, items 1 and 4): over
//! TLS with `sslmode=verify-full` and a private CA, refusing a certificate that does not verify
//! (exit 1, not an outage to wait out), and answering 503 within 3.5 s while the inbox table is
//! locked, then handling the next copy at once (no claim left behind).
#![allow(clippy::unwrap_used)] // Test code.

mod common;

use std::time::{Duration, Instant};

use gerbang_testkit::{PostgresServer, TestCa, Validity};
use tokio::sync::mpsc;

use common::{Serve, free_port, next_event, one_event_through, paid_deposit, refused_to_serve, sandbox_for};

/// How long the other session holds the inbox table locked (the 12 s).
const LOCK_HELD: Duration = Duration::from_secs(12);
/// How soon a delivery is answered while the table is locked.
const ANSWERED_WITHIN: Duration = Duration::from_millis(3500);

#[tokio::test]
async fn webhook_serve_reaches_postgres_over_verify_full_tls() {
    let Some(mut ca) = TestCa::new("gerbang test CA") else { return };
    let Some(postgres) = PostgresServer::start_tls(&ca.server_cert(&["127.0.0.1"], Validity::Current)) else { return };
    let store = format!(
        "postgres://postgres:pw@127.0.0.1:{}/postgres?sslmode=verify-full&sslrootcert={}",
        postgres.port(),
        ca.ca_file().display()
    );
    let said = one_event_through(&["--store", &store], "ORDER-TLS-1").await;
    assert!(said.contains("reconciling the payments watched in the postgres ledger"), "{said}");
    assert!(!said.contains(":pw@"), "{said}");
}

#[tokio::test]
async fn webhook_serve_refuses_a_certificate_that_does_not_verify() {
    let Some(mut ca) = TestCa::new("gerbang test CA") else { return };
    let Some(postgres) = PostgresServer::start_tls(&ca.server_cert(&["db.example"], Validity::Current)) else {
        return;
    };
    let secret = "s3cret-TLS-pw";
    // The CA by the variable (GERBANG_STORE_CA), the mode by default: verify-full.
    let store = format!("postgres://postgres:{secret}@127.0.0.1:{}/postgres", postgres.port());
    let (stderr, error) = refused_to_serve(|command| {
        command.args(["--store", &store]).env("GERBANG_STORE_CA", ca.ca_file());
    })
    .await;
    assert!(error.contains("the postgres store refused"), "{error}");
    assert!(error.contains("wrong name: it does not name 127.0.0.1"), "{error}");
    assert!(!stderr.contains(secret), "{stderr}");
}

#[tokio::test]
async fn a_locked_inbox_table_is_answered_503_in_time_and_the_next_copy_handled() {
    use gerbang::postgres::tokio_postgres;
    let Some(postgres) = PostgresServer::start() else { return };
    let port = free_port();
    let sandbox = sandbox_for(port).webhook_retry(60, Duration::from_millis(500)).start().await.unwrap();
    let (tx, mut events) = mpsc::unbounded_channel();
    let _serve = Serve::start(port, &["--store", &postgres.url()], tx).await;
    // One event first, so that the receiver's pooled connection has the claim prepared (as in
    // production): under the lock, it is then the INSERT itself that waits.
    let warm = paid_deposit(&sandbox, "ORDER-WARM-1").await;
    let (_, event) = next_event(&mut events, Duration::from_secs(10)).await.expect("the first webhook is handled");
    assert_eq!(event["provider_reference"], warm.as_str());

    // Another session locks the inbox table in an open transaction and holds it.
    let (locker, connection) = tokio_postgres::connect(&postgres.url(), tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    locker.batch_execute("BEGIN; LOCK TABLE gerbang_inbox IN ACCESS EXCLUSIVE MODE").await.unwrap();
    let locked_at = Instant::now();

    let sent = Instant::now();
    let id = paid_deposit(&sandbox, "ORDER-LOCKED-1").await;
    let first = loop {
        let answered: Vec<_> = sandbox.deliveries().into_iter().filter(|d| d.body.contains(&id)).collect();
        if let Some(first) = answered.into_iter().next() {
            break first;
        }
        assert!(sent.elapsed() < Duration::from_secs(12), "no answer yet");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let waited = sent.elapsed();
    assert_eq!(first.status, Some(503), "{first:?}");
    assert!(waited < ANSWERED_WITHIN, "the delivery was answered only after {waited:?}");
    assert!(next_event(&mut events, Duration::from_millis(100)).await.is_none(), "nothing handled while locked");

    tokio::time::sleep(LOCK_HELD.saturating_sub(locked_at.elapsed())).await;
    locker.batch_execute("COMMIT").await.unwrap();
    let released = Instant::now();
    // The next copy (the gateway's retries come 0.5 s apart, each answered within 2.5 s) is
    // handled: no claim left behind by the statements abandoned under the lock.
    let (_, event) = next_event(&mut events, Duration::from_secs(4)).await.unwrap_or_else(|| {
        let statuses: Vec<_> =
            sandbox.deliveries().into_iter().filter(|d| d.body.contains(&id)).map(|d| d.status).collect();
        panic!("not handled within 4 s of the release: {statuses:?}")
    });
    assert_eq!(event["provider_reference"], id.as_str());
    let after = released.elapsed();
    assert!(after < Duration::from_secs(4), "handled {after:?} after the release");
    let answers: Vec<_> = sandbox.deliveries().into_iter().filter(|d| d.body.contains(&id)).collect();
    assert!(answers.len() >= 3, "the gateway delivered again meanwhile: {}", answers.len());
}
