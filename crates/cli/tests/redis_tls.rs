//! `webhook serve` on Redis over TLS (issue 22, item 2): `rediss://` with a private CA given by
//! `--store-ca` handles a webhook; a certificate that does not verify is refused (exit 1, not an
//! outage to wait out), with the reason and without the password.
#![allow(clippy::unwrap_used)] // Test code.

mod common;

use std::time::Duration;

use gerbang::ProviderId;
use gerbang::sandbox::Sandbox;
use gerbang_testkit::{RedisServer, TestCa, Validity};
use tokio::sync::mpsc;

use common::{Serve, free_port, gateway_env, next_event, paid_deposit};

#[tokio::test]
async fn webhook_serve_reaches_redis_over_tls_with_store_ca() {
    let Some(mut ca) = TestCa::new("gerbang test CA") else { return };
    let Some(redis) = RedisServer::start_tls(&ca.server_cert(&["127.0.0.1"], Validity::Current)) else { return };
    let store = redis.url();
    assert!(store.starts_with("rediss://"), "{store}");
    let ca_file = ca.ca_file().display().to_string();
    let port = free_port();
    let sandbox = Sandbox::builder()
        .webhook_url(ProviderId::Cuan10pay, format!("http://127.0.0.1:{port}/webhooks/cuan10pay"))
        .start()
        .await
        .unwrap();
    let (tx, mut events) = mpsc::unbounded_channel();
    let serve = Serve::start(port, &["--store", &store, "--store-ca", &ca_file], tx).await;
    let id = paid_deposit(&sandbox, "ORDER-RTLS-1").await;
    let (_, event) = next_event(&mut events, Duration::from_secs(10)).await.expect("the webhook is handled");
    assert_eq!(event["provider_reference"], id.as_str());
    let said = serve.stderr.lock().unwrap().join("\n");
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
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_gerbang"));
        command.args(["webhook", "serve", "--port", &free_port().to_string(), "--store", &store]);
        if by_variable {
            command.env("GERBANG_STORE_CA", ca.ca_file());
        } else {
            command.arg("--store-ca").arg(ca.ca_file()).env_remove("GERBANG_STORE_CA");
        }
        let run = command.envs(gateway_env()).env_remove("GERBANG_STORE_URL").kill_on_drop(true).output();
        let output =
            tokio::time::timeout(Duration::from_secs(15), run).await.expect("a refusal is not waited for").unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{stderr}");
        let error = stderr.lines().find(|line| line.starts_with("error: ")).unwrap_or_else(|| panic!("{stderr}"));
        assert!(error.contains("the redis store refused"), "{error}");
        assert!(error.contains("the certificate of the Redis server 127.0.0.1 does not verify"), "{error}");
        assert!(error.contains("wrong name: it does not name 127.0.0.1"), "{error}");
        assert!(!stderr.contains(secret), "{stderr}");
    }
}
