//! TLS to Postgres: a private server with `ssl=on` and certificates from a CA made for the test
//! (skipped when Postgres or openssl is not installed, except on CI).

use std::time::Duration;

use gerbang_core::Error;
use gerbang_postgres::{PostgresInbox, PostgresLedger, PostgresOutbox};
use gerbang_testkit::{PostgresServer, TestCa, Validity};

/// The server's certificate names these; the tests connect to the first.
const NAMES: &[&str] = &["127.0.0.1", "localhost"];

fn url(server: &PostgresServer, password: &str, query: &str) -> String {
    let password: String = password.bytes().map(|b| format!("%{b:02X}")).collect();
    format!("postgres://postgres:{password}@127.0.0.1:{}/postgres?{query}", server.port())
}

/// A server with a certificate `names`/`validity` from `ca`.
fn tls_server(ca: &mut TestCa, names: &[&str], validity: Validity) -> Option<PostgresServer> {
    PostgresServer::start_tls(&ca.server_cert(names, validity))
}

async fn connect(url: &str) -> Result<PostgresInbox, Error> {
    PostgresInbox::builder().connect_timeout(Duration::from_secs(3)).connect(url).await
}

/// Whether the inbox's own connections are encrypted, as the server sees them.
async fn uses_tls(inbox: &PostgresInbox) -> bool {
    let client = inbox.pool().get().await.unwrap_or_else(|e| panic!("pool: {e}"));
    let row = client
        .query_one("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()", &[])
        .await
        .unwrap_or_else(|e| panic!("pg_stat_ssl: {e}"));
    row.get(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_full_with_the_ca_passes_the_store_contracts() {
    let Some(mut ca) = TestCa::new("gerbang test CA") else { return };
    let Some(server) = tls_server(&mut ca, NAMES, Validity::Current) else { return };
    let url = url(&server, "pw", &format!("sslmode=verify-full&sslrootcert={}", ca.ca_file().display()));
    let inbox = connect(&url).await.unwrap_or_else(|e| panic!("verify-full: {e}"));
    assert!(uses_tls(&inbox).await, "the inbox's connection is encrypted");
    gerbang_testkit::check_inbox_contract(&inbox, "tls").await;
    let ledger = PostgresLedger::connect(&url).await.unwrap_or_else(|e| panic!("ledger over TLS: {e}"));
    gerbang_testkit::check_ledger_contract(&ledger, "tls").await;
    let outbox = PostgresOutbox::connect(&url).await.unwrap_or_else(|e| panic!("outbox over TLS: {e}"));
    gerbang_testkit::check_outbox_contract(&outbox, "tls").await;

    // The CA given to the builder (the CLI's --store-ca) instead of the URL: verify-full by default.
    let plain = format!("postgres://postgres@127.0.0.1:{}/postgres", server.port());
    let inbox = PostgresInbox::builder().root_cert(ca.ca_file()).connect(&plain).await;
    let inbox = inbox.unwrap_or_else(|e| panic!("root_cert: {e}"));
    assert!(uses_tls(&inbox).await, "a CA file alone means TLS");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_that_does_not_verify_is_refused_with_its_reason() {
    let Some(mut ca) = TestCa::new("gerbang test CA") else { return };
    let Some(mut other_ca) = TestCa::new("another CA") else { return };
    let Some(good) = tls_server(&mut ca, NAMES, Validity::Current) else { return };
    let Some(misnamed) = tls_server(&mut ca, &["db.example"], Validity::Current) else { return };
    let Some(expired) = tls_server(&mut ca, NAMES, Validity::Expired) else { return };
    let _ = other_ca.server_cert(NAMES, Validity::Current);
    let with = |ca: &TestCa, mode: &str| format!("sslmode={mode}&sslrootcert={}", ca.ca_file().display());

    for (server, query, words) in [
        (&good, with(&other_ca, "verify-full"), "unknown issuer"),
        (&good, with(&other_ca, "verify-ca"), "unknown issuer"),
        (&misnamed, with(&ca, "verify-full"), "wrong name: it does not name 127.0.0.1"),
        (&expired, with(&ca, "verify-full"), "expired"),
        (&expired, with(&ca, "verify-ca"), "expired"),
    ] {
        let refused = connect(&url(server, "pw", &query)).await;
        // A refusal, not an outage: `webhook serve` exits 1 rather than waiting.
        let Err(Error::Config { message }) = refused else { panic!("{query}: {refused:?}") };
        assert!(message.contains("the certificate of the Postgres server 127.0.0.1 does not verify"), "{message}");
        assert!(message.contains(words), "{query}: {message}");
        assert!(message.contains("sslrootcert"), "says what to check: {message}");
    }

    // libpq's meanings: verify-ca does not check the name; require (and prefer) check nothing.
    for (server, query) in [
        (&misnamed, with(&ca, "verify-ca")),
        (&good, "sslmode=require".to_owned()),
        (&expired, "sslmode=prefer".to_owned()),
    ] {
        let inbox = connect(&url(server, "pw", &query)).await.unwrap_or_else(|e| panic!("{query}: {e}"));
        assert!(uses_tls(&inbox).await, "{query} encrypts");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_without_tls_is_refused_where_the_mode_requires_it() {
    let Some(ca) = TestCa::new("gerbang test CA") else { return };
    let Some(server) = PostgresServer::start() else { return };
    for query in ["sslmode=require".to_owned(), format!("sslmode=verify-full&sslrootcert={}", ca.ca_file().display())] {
        let refused = connect(&url(&server, "pw", &query)).await;
        let Err(Error::Config { message }) = refused else { panic!("{query}: {refused:?}") };
        assert!(message.contains("server does not support TLS"), "{message}");
        assert!(message.contains("sslmode=disable"), "says the way out: {message}");
    }
    // prefer (the default to this machine) goes on in clear.
    let inbox = connect(&url(&server, "pw", "sslmode=prefer")).await.unwrap_or_else(|e| panic!("prefer: {e}"));
    assert!(!uses_tls(&inbox).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_ca_file_is_a_configuration_error() {
    let Some(server) = PostgresServer::start() else { return };
    let refused = connect(&url(&server, "pw", "sslmode=verify-full&sslrootcert=/nonexistent/ca.pem")).await;
    let Err(Error::Config { message }) = refused else { panic!("{refused:?}") };
    assert!(message.contains("/nonexistent/ca.pem"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_tls_error_holds_the_password() {
    let Some(mut ca) = TestCa::new("gerbang test CA") else { return };
    let Some(mut other_ca) = TestCa::new("another CA") else { return };
    let _ = other_ca.server_cert(NAMES, Validity::Current);
    let Some(misnamed) = tls_server(&mut ca, &["db.example"], Validity::Current) else { return };
    let Some(expired) = tls_server(&mut ca, NAMES, Validity::Expired) else { return };
    let Some(plain) = PostgresServer::start() else { return };
    let passwords =
        ["s3cret-Pa55word", "hunter22", "p@ss:w/rd?x=1&y", "ünïcødé-pässwörd", "'quoted' \\ back", "%2F%41"];
    let mut texts = Vec::new();
    for password in passwords {
        for (server, query) in [
            (&misnamed, format!("sslmode=verify-full&sslrootcert={}", ca.ca_file().display())),
            (&expired, format!("sslmode=verify-ca&sslrootcert={}", ca.ca_file().display())),
            (&misnamed, format!("sslmode=verify-full&sslrootcert={}", other_ca.ca_file().display())),
            (&plain, "sslmode=require".to_owned()),
            (&plain, "sslmode=verify-full&sslrootcert=/nonexistent.pem".to_owned()),
            (&plain, "sslmode=bogus".to_owned()),
        ] {
            let Err(e) = connect(&url(server, password, &query)).await else { panic!("{query} connected") };
            texts.extend([e.to_string(), format!("{e:?}")]);
        }
    }
    assert_eq!(texts.len(), passwords.len() * 6 * 2);
    gerbang_testkit::assert_nothing_leaks(&texts, &passwords);
}
