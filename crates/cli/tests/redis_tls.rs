//! `webhook serve` on Redis over TLS (issue 22, item 2): `rediss://` with a private CA given by
//! `--store-ca` handles a webhook; a certificate that does not verify is refused (exit 1, not an
//! outage to wait out), with the reason and without the password.
#![allow(clippy::unwrap_used)] // Test code.

mod common;

use gerbang_testkit::{RedisServer, TestCa, Validity};

use common::{one_event_through, refused_to_serve};

#[tokio::test]
async fn webhook_serve_reaches_redis_over_tls_with_store_ca() {
    let Some(mut ca) = TestCa::new("gerbang test CA") else { return };
    let Some(redis) = RedisServer::start_tls(&ca.server_cert(&["127.0.0.1"], Validity::Current)) else { return };
    let store = redis.url();
    assert!(store.starts_with("rediss://"), "{store}");
    let ca_file = ca.ca_file().display().to_string();
    let said = one_event_through(&["--store", &store, "--store-ca", &ca_file], "ORDER-RTLS-1").await;
    // The server listens for TLS only (`--port 0`): a handled event went over TLS.
    assert!(said.contains("reconciling the payments watched in the redis ledger"), "{said}");
}

#[tokio::test]
async fn webhook_serve_refuses_a_redis_certificate_that_does_not_verify() {
    let Some(mut ca) = TestCa::new("gerbang test CA") else { return };
    let Some(redis) = RedisServer::start_tls(&ca.server_cert(&["cache.example"], Validity::Current)) else {
        return;
    };
    let secret = "s3cret-REDIS-TLS-pw";
    let store = format!("rediss://:{secret}@127.0.0.1:{}/0", redis.port());
    for by_variable in [false, true] {
        let (stderr, error) = refused_to_serve(|command| {
            command.args(["--store", &store]);
            if by_variable {
                command.env("GERBANG_STORE_CA", ca.ca_file());
            } else {
                command.arg("--store-ca").arg(ca.ca_file()).env_remove("GERBANG_STORE_CA");
            }
        })
        .await;
        assert!(error.contains("the redis store refused"), "{error}");
        assert!(error.contains("the certificate of the Redis server 127.0.0.1 does not verify"), "{error}");
        assert!(error.contains("wrong name: it does not name 127.0.0.1"), "{error}");
        assert!(!stderr.contains(secret), "{stderr}");
    }
}
