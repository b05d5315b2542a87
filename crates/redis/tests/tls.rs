//! TLS to Redis (`rediss://`): a private server with `--tls-port` and certificates from a CA made
//! for the test (skipped when redis-server or openssl is not installed, except on CI).

use std::num::NonZeroU32;
use std::time::Duration;

use gerbang_core::Error;
use gerbang_core::rate::{Priority, Quota, RateStore};
use gerbang_core::token_store::TokenStore;
use gerbang_redis::{RedisInbox, RedisLedger, RedisRateStore, RedisTokenStore};
use gerbang_testkit::{RedisServer, TestCa, Validity};

/// The server's certificate names these; the tests connect to the first.
const NAMES: &[&str] = &["127.0.0.1", "localhost"];

/// A password the errors must never show.
const PASSWORD: &str = "hunter2-redis-secret";

fn with_password(url: &str) -> String {
    url.replacen("://", &format!("://:{PASSWORD}@"), 1)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rediss_with_the_ca_passes_the_store_contracts() {
    let Some(mut ca) = TestCa::new("gerbang test CA") else { return };
    let Some(server) = RedisServer::start_tls(&ca.server_cert(NAMES, Validity::Current)) else { return };
    let url = server.url();
    assert!(url.starts_with("rediss://"), "{url}");

    let inbox = RedisInbox::builder().root_cert(ca.ca_file()).connect(&url).await;
    let inbox = inbox.unwrap_or_else(|e| panic!("inbox over TLS: {e}"));
    gerbang_testkit::check_inbox_contract(&inbox, "tls").await;
    let ledger = RedisLedger::builder().root_cert(ca.ca_file()).connect(&url).await;
    let ledger = ledger.unwrap_or_else(|e| panic!("ledger over TLS: {e}"));
    gerbang_testkit::check_ledger_contract(&ledger, "tls").await;

    let rate = RedisRateStore::builder().root_cert(ca.ca_file()).connect(&url).await;
    let rate = rate.unwrap_or_else(|e| panic!("rate store over TLS: {e}"));
    let quota = Quota::per_hour(NonZeroU32::MIN);
    rate.acquire("cuan10pay:tls", quota, Priority::Normal).await.unwrap_or_else(|e| panic!("acquire: {e}"));
    let second = rate.acquire("cuan10pay:tls", quota, Priority::Normal).await;
    assert!(second.is_err(), "a budget of one is spent once over TLS too: {second:?}");

    let tokens = RedisTokenStore::builder().root_cert(ca.ca_file()).connect(&url).await;
    let tokens = tokens.unwrap_or_else(|e| panic!("token store over TLS: {e}"));
    assert!(tokens.get("ciputra:tls").await.unwrap_or_else(|e| panic!("get: {e}")).is_none());

    // A password travels inside TLS and is checked as on a plain connection.
    let pem = std::fs::read(ca.ca_file()).unwrap_or_else(|e| panic!("{e}"));
    let certs = gerbang_redis::redis::TlsCertificates { client_tls: None, root_cert: Some(pem) };
    let admin = gerbang_redis::redis::Client::build_with_tls(url.as_str(), certs).unwrap_or_else(|e| panic!("{e}"));
    let mut admin = admin.get_multiplexed_async_connection().await.unwrap_or_else(|e| panic!("admin: {e}"));
    let set: Result<(), _> =
        gerbang_redis::redis::cmd("CONFIG").arg("SET").arg("requirepass").arg(PASSWORD).query_async(&mut admin).await;
    set.unwrap_or_else(|e| panic!("requirepass: {e}"));
    let inbox = RedisInbox::builder().root_cert(ca.ca_file()).connect(&with_password(&url)).await;
    inbox.unwrap_or_else(|e| panic!("with the password over TLS: {e}"));
    let wrong = RedisInbox::builder().root_cert(ca.ca_file()).connect(&url.replacen("://", "://:not-it@", 1)).await;
    let Err(Error::Config { message }) = wrong else { panic!("a wrong password over TLS: {wrong:?}") };
    assert!(message.contains("the redis store refused") && !message.contains(PASSWORD), "{message}");

    // A CA file does not turn a plain URL into TLS, nor break it (one --store-ca may be meant for
    // another store).
    let Some(plain) = RedisServer::start() else { return };
    let inbox = RedisInbox::builder().root_cert(ca.ca_file()).connect(&plain.url()).await;
    inbox.unwrap_or_else(|e| panic!("redis:// with a CA file: {e}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_that_does_not_verify_is_refused_with_its_reason_and_no_password() {
    let Some(mut ca) = TestCa::new("gerbang test CA") else { return };
    let Some(other_ca) = TestCa::new("another CA") else { return };
    let Some(good) = RedisServer::start_tls(&ca.server_cert(NAMES, Validity::Current)) else { return };
    let Some(misnamed) = RedisServer::start_tls(&ca.server_cert(&["cache.example"], Validity::Current)) else {
        return;
    };
    let Some(expired) = RedisServer::start_tls(&ca.server_cert(NAMES, Validity::Expired)) else { return };

    for (server, ca_file, words) in [
        (&good, other_ca.ca_file(), "unknown issuer: it is not signed by the CA of --store-ca"),
        (&misnamed, ca.ca_file(), "wrong name: it does not name 127.0.0.1"),
        (&expired, ca.ca_file(), "expired"),
    ] {
        let url = with_password(&server.url());
        let refused =
            RedisInbox::builder().connection_timeout(Duration::from_secs(3)).root_cert(ca_file).connect(&url).await;
        // A refusal, not an outage: `webhook serve` exits 1 rather than waiting.
        let Err(Error::Config { message }) = refused else { panic!("{words}: {refused:?}") };
        assert!(message.contains("the certificate of the Redis server 127.0.0.1 does not verify"), "{message}");
        assert!(message.contains(words), "{message}");
        assert!(!message.contains(PASSWORD), "the password leaked: {message}");
    }

    // The same for every store, not only the inbox.
    let url = with_password(&misnamed.url());
    let errors = [
        RedisLedger::builder().root_cert(ca.ca_file()).connect(&url).await.err(),
        RedisRateStore::builder().root_cert(ca.ca_file()).connect(&url).await.err(),
        RedisTokenStore::builder().root_cert(ca.ca_file()).connect(&url).await.err(),
    ];
    for error in errors {
        let Some(Error::Config { message }) = error else { panic!("{error:?}") };
        assert!(message.contains("wrong name"), "{message}");
        assert!(!message.contains(PASSWORD), "{message}");
    }

    // Without a CA file the system's roots are used: the test CA is not among them.
    let refused = RedisInbox::connect(&with_password(&good.url())).await;
    let Err(Error::Config { message }) = refused else { panic!("{refused:?}") };
    assert!(message.contains("unknown issuer") && !message.contains(PASSWORD), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn insecure_urls_and_unusable_ca_files_are_refused_before_connecting() {
    let url = format!("rediss://:{PASSWORD}@127.0.0.1:{}/0#insecure", RedisServer::free_port());
    let refused = RedisInbox::connect(&url).await;
    let Err(Error::Config { message }) = refused else { panic!("{refused:?}") };
    assert!(message.contains("#insecure") && message.contains("--store-ca"), "{message}");
    assert!(!message.contains(PASSWORD), "{message}");

    let url = format!("rediss://:{PASSWORD}@127.0.0.1:{}/0", RedisServer::free_port());
    let dir = std::env::temp_dir().join(format!("gerbang-redis-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let empty = dir.join("empty.pem");
    std::fs::write(&empty, "not a certificate\n").unwrap_or_else(|e| panic!("{e}"));
    for (file, words) in [(empty.clone(), "holds no PEM certificate"), (dir.join("missing.pem"), "cannot be used")] {
        let refused = RedisInbox::builder().root_cert(&file).connect(&url).await;
        let Err(Error::Config { message }) = refused else { panic!("{refused:?}") };
        assert!(message.contains("the Redis CA file") && message.contains(words), "{message}");
        assert!(!message.contains(PASSWORD), "{message}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Tries passwords of every printable shape (percent-encoded in the URL) against servers whose
/// certificates do not verify: no error text, `Display` or `Debug`, holds the password as
/// written or as decoded.
#[test]
fn no_refusal_holds_the_password_whatever_it_is() {
    use proptest::test_runner::{Config, TestRunner};

    let Some(mut ca) = TestCa::new("gerbang test CA") else { return };
    let Some(misnamed) = RedisServer::start_tls(&ca.server_cert(&["cache.example"], Validity::Current)) else {
        return;
    };
    let Some(expired) = RedisServer::start_tls(&ca.server_cert(NAMES, Validity::Expired)) else { return };
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap_or_else(|e| panic!("{e}"));
    let cases = 48;
    let tried = std::sync::atomic::AtomicU32::new(0);
    let mut runner = TestRunner::new(Config { cases, failure_persistence: None, ..Config::default() });
    let result = runner.run(&"[!-~]{4,24}", |password| {
        tried.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let encoded: String = password.bytes().map(|b| format!("%{b:02X}")).collect();
        for server in [&misnamed, &expired] {
            let url = server.url().replacen("://", &format!("://user:{encoded}@"), 1);
            let refused = runtime.block_on(RedisInbox::builder().root_cert(ca.ca_file()).connect(&url));
            let Err(error) = refused else { panic!("connected") };
            proptest::prop_assert!(matches!(error, Error::Config { .. }), "{error:?}");
            for text in [error.to_string(), format!("{error:?}")] {
                proptest::prop_assert!(text.contains("does not verify"), "{text}");
                proptest::prop_assert!(!text.contains(&password) && !text.contains(&encoded), "leaked: {text}");
            }
        }
        Ok(())
    });
    result.unwrap_or_else(|e| panic!("{e}"));
    let tried = tried.into_inner();
    eprintln!("no_refusal_holds_the_password_whatever_it_is: {tried} passwords tried, 2 servers each");
    assert!(tried >= cases);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rediss_cluster_with_the_ca_passes_the_store_contracts_and_insecure_is_refused() {
    let Some(mut ca) = TestCa::new("gerbang test CA") else { return };
    let cert = ca.server_cert(NAMES, Validity::Current);
    let Some(cluster) = gerbang_testkit::RedisCluster::start_tls(&cert, &ca.ca_file()) else { return };
    let url = cluster.url();
    assert!(url.starts_with("rediss+cluster://127.0.0.1:"), "{url}");

    let inbox = RedisInbox::builder().root_cert(ca.ca_file()).connect(&url).await;
    let inbox = inbox.unwrap_or_else(|e| panic!("inbox over TLS to the cluster: {e}"));
    gerbang_testkit::check_inbox_contract(&inbox, "tls-cluster").await;
    let ledger = RedisLedger::builder().root_cert(ca.ca_file()).connect(&url).await;
    let ledger = ledger.unwrap_or_else(|e| panic!("ledger over TLS to the cluster: {e}"));
    gerbang_testkit::check_ledger_contract(&ledger, "tls-cluster").await;

    // Another CA: the certificate does not verify, a refusal naming the seed hosts.
    let Some(mut other) = TestCa::new("another CA") else { return };
    let _ = other.server_cert(NAMES, Validity::Current);
    let wrong = RedisRateStore::builder().root_cert(other.ca_file()).connect(&with_password(&url)).await;
    let Err(Error::Config { message }) = wrong else { panic!("the wrong CA: {wrong:?}") };
    assert!(message.contains("127.0.0.1") && message.contains("unknown issuer"), "{message}");
    assert!(!message.contains(PASSWORD), "{message}");

    // Skipping verification is refused before anything is sent.
    let insecure = RedisTokenStore::builder().connect(&format!("{url}/#insecure")).await;
    let Err(Error::Config { message }) = insecure else { panic!("#insecure: {insecure:?}") };
    assert!(message.contains("#insecure"), "{message}");
}
