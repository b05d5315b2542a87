//! `webhook serve` started before its store (issue 20, item 2): a Redis or Postgres that cannot
//! be reached is waited for (webhooks and `/readyz` answer 503 meanwhile) and used within 2 s of
//! coming up; a store that refuses (a wrong password, an unknown database, a malformed URL) is a
//! clear error and exit 1, without its password.
#![allow(clippy::unwrap_used)] // Test code.

mod common;

use std::time::{Duration, Instant};

use gerbang::sandbox::SandboxHandle;
use gerbang_testkit::{PostgresServer, RedisServer};
use serde_json::Value;
use tokio::sync::mpsc;

use common::{Serve, free_port, gateway_env, next_event, paid_deposit, sandbox_for};

/// `/readyz` of the receiver on `port`: its status and JSON body.
async fn readyz(port: u16) -> (u16, Value) {
    let answer = reqwest::get(format!("http://127.0.0.1:{port}/readyz")).await.unwrap();
    let status = answer.status().as_u16();
    (status, serde_json::from_str(&answer.text().await.unwrap()).unwrap())
}

/// The statuses the receiver answered to the webhook of payment `id`, once there are `count`.
async fn answers(sandbox: &SandboxHandle, id: &str, count: usize) -> Vec<Option<u16>> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let answers: Vec<_> =
            sandbox.deliveries().into_iter().filter(|d| d.body.contains(id)).map(|d| d.status).collect();
        if answers.len() >= count {
            return answers;
        }
        assert!(Instant::now() < deadline, "{answers:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A receiver on `store` while the store is down; `start_store` brings it up. Checks the 503s,
/// then that readiness and the webhook's next attempt succeed within 2 s.
async fn waits_for(store: &str, kind: &str, start_store: impl FnOnce()) {
    let port = free_port();
    let sandbox = sandbox_for(port).webhook_retry(60, Duration::from_millis(300)).start().await.unwrap();
    let (tx, mut events) = mpsc::unbounded_channel();
    let serve = Serve::start(port, &["--store", store], tx).await;

    let (status, body) = readyz(port).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["not_ready"], serde_json::json!(["store"]));
    assert_eq!(body["checks"]["store"], "connecting");
    let id = paid_deposit(&sandbox, &format!("ORDER-WAIT-{kind}")).await;
    assert_eq!(answers(&sandbox, &id, 1).await[0], Some(503), "a webhook waits for the store");
    assert!(next_event(&mut events, Duration::from_millis(300)).await.is_none());

    start_store();
    let up = Instant::now();
    while readyz(port).await.0 != 200 {
        assert!(up.elapsed() < Duration::from_secs(2), "not ready {:?} after the store came up", up.elapsed());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (_, event) = next_event(&mut events, Duration::from_secs(2)).await.expect("the webhook is handled");
    assert_eq!(event["provider_reference"], id.as_str());
    let said = serve.stderr.lock().unwrap().join("\n");
    assert!(said.contains(&format!("the {kind} store is reachable: receiving")), "{said}");
}

#[tokio::test]
async fn a_redis_down_at_start_is_waited_for_and_used_once_up() {
    let Some(mut redis) = RedisServer::start() else { return };
    redis.stop();
    let url = redis.url();
    waits_for(&url, "redis", || redis.restart()).await;
}

#[tokio::test]
async fn a_postgres_down_at_start_is_waited_for_and_used_once_up() {
    let Some(mut postgres) = PostgresServer::start() else { return };
    postgres.stop();
    let url = postgres.url();
    waits_for(&url, "postgres", || postgres.restart()).await;
}

/// Runs `webhook serve --store store` to its end (at most 15 s): its exit code and stderr.
async fn run_with(store: &str) -> (Option<i32>, String) {
    let run = tokio::process::Command::new(env!("CARGO_BIN_EXE_gerbang"))
        .args(["webhook", "serve", "--port", &free_port().to_string(), "--store", store])
        .envs(gateway_env())
        .env_remove("GERBANG_STORE_URL")
        .kill_on_drop(true)
        .output();
    let output =
        tokio::time::timeout(Duration::from_secs(15), run).await.expect("a refusal is not waited for").unwrap();
    (output.status.code(), String::from_utf8_lossy(&output.stderr).into_owned())
}

const PASSWORD: &str = "wrong-PW-s3cret";

/// Exit 1, an error line that says the store refused (or the URL is wrong), and no password.
fn assert_refused(store: &str, (code, stderr): &(Option<i32>, String), says: &str) {
    assert_eq!(*code, Some(1), "{store}: {stderr}");
    let error = stderr.lines().find(|line| line.starts_with("error: ")).unwrap_or_else(|| panic!("{stderr}"));
    assert!(error.contains(says), "{store}: {error}");
    assert!(!stderr.contains(PASSWORD) && !stderr.contains("s3cret"), "{store} printed its password: {stderr}");
}

#[tokio::test]
async fn a_store_that_refuses_is_an_error_and_exit_1_without_its_password() {
    assert_refused("malformed", &run_with(&format!("redis//:{PASSWORD}@cache:6379")).await, "no kind of store");

    if let Some(redis) = RedisServer::start() {
        let client = gerbang::redis::redis::Client::open(redis.url()).unwrap();
        let mut conn = client.get_multiplexed_async_connection().await.unwrap();
        let _: () = gerbang::redis::redis::cmd("CONFIG")
            .arg("SET")
            .arg("requirepass")
            .arg("the-right-one")
            .query_async(&mut conn)
            .await
            .unwrap();
        let wrong = format!("redis://:{PASSWORD}@127.0.0.1:{}/0", redis.port());
        assert_refused("redis, wrong password", &run_with(&wrong).await, "the redis store refused");
        let none = format!("redis://127.0.0.1:{}/0", redis.port());
        assert_refused("redis, no password", &run_with(&none).await, "the redis store refused");
    }

    if let Some(postgres) = PostgresServer::start() {
        require_password_of_app(&postgres).await;
        let wrong = format!("postgres://app:{PASSWORD}@127.0.0.1:{}/postgres", postgres.port());
        assert_refused("postgres, wrong password", &run_with(&wrong).await, "the postgres store refused");
        let unknown = format!("postgres://postgres@127.0.0.1:{}/no_such_database", postgres.port());
        assert_refused("postgres, unknown database", &run_with(&unknown).await, "the postgres store refused");
    }
}

/// Makes the private server ask the role `app` for its password (`the-right-one`); everyone
/// else is still trusted.
async fn require_password_of_app(postgres: &PostgresServer) {
    use gerbang::postgres::tokio_postgres;
    let (client, connection) = tokio_postgres::connect(&postgres.url(), tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    client.batch_execute("CREATE ROLE app LOGIN PASSWORD 'the-right-one'").await.unwrap();
    let hba: String = client.query_one("SHOW hba_file", &[]).await.unwrap().get(0);
    let rules = "SELECT line FROM (VALUES (1, 'local all all trust'), \
                 (2, 'host all app 127.0.0.1/32 scram-sha-256'), (3, 'host all all 127.0.0.1/32 trust')) AS r(n, line) \
                 ORDER BY n";
    client.batch_execute(&format!("COPY ({rules}) TO '{hba}'")).await.unwrap();
    client.batch_execute("SELECT pg_reload_conf()").await.unwrap();
    // The reload is asynchronous: wait until a wrong password is refused.
    let wrong = format!("postgres://app:nope@127.0.0.1:{}/postgres", postgres.port());
    let deadline = Instant::now() + Duration::from_secs(5);
    while tokio_postgres::connect(&wrong, tokio_postgres::NoTls).await.is_ok() {
        assert!(Instant::now() < deadline, "pg_hba.conf was not reloaded");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
