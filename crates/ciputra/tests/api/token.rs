//! The token's lifecycle: how it is asked for, cached, shared, refreshed before expiry and after
//! a 401, and fetched once however many calls need it.

use std::sync::Arc;
use std::time::Duration;

use gerbang_ciputra::CiputraClient;
use gerbang_core::token_store::{MemoryTokenStore, StoredToken, TokenStore};
use gerbang_core::{Error, FixedClock};
use httpmock::Method::POST;
use httpmock::MockServer;

use crate::common::{
    API_KEY, API_SECRET, DOC_TOKEN_EXP, NOW, builder, client, doc_bearer, doc_token, fixture, jwt, serve_doc_token,
    token_answer,
};

/// Serves the document's transaction status to `authorization`.
async fn serve_status<'a>(server: &'a MockServer, authorization: &str) -> httpmock::Mock<'a> {
    server
        .mock_async(|when, then| {
            when.path("/api/transaction/status").header("authorization", authorization);
            then.status(200).body(fixture("transaction_status_paid.json"));
        })
        .await
}

/// A client whose clock the test moves.
fn client_with_clock(server: &MockServer) -> (CiputraClient, Arc<FixedClock>) {
    let clock = Arc::new(FixedClock::at_unix(NOW));
    let config = builder(&server.url("/api")).clock(clock.clone()).build().unwrap();
    (CiputraClient::new(config), clock)
}

#[tokio::test]
async fn the_token_call_sends_key_and_secret_as_headers_and_the_token_is_the_bearer() {
    let server = MockServer::start_async().await;
    let token = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/api/auth/token")
                .header("api-key", API_KEY)
                .header("api-secret", API_SECRET)
                .header("accept", "application/json")
                .header_missing("authorization")
                .body("");
            then.status(200).body(fixture("token.json"));
        })
        .await;
    let status = serve_status(&server, &doc_bearer()).await;
    let client = client(&server);
    client.transaction_status("TEST00001111114").await.unwrap();
    token.assert_async().await;
    status.assert_async().await;
    assert_eq!(client.token_expires_at().await.map(|t| t.unix_timestamp()), Some(DOC_TOKEN_EXP));
}

#[tokio::test]
async fn the_token_is_cached_and_shared_by_every_clone() {
    let server = MockServer::start_async().await;
    let token = serve_doc_token(&server).await;
    let status = serve_status(&server, &doc_bearer()).await;
    let client = client(&server);
    let clone = client.clone();
    client.transaction_status("A").await.unwrap();
    clone.transaction_status("B").await.unwrap();
    client.transaction_status("C").await.unwrap();
    token.assert_calls_async(1).await;
    status.assert_calls_async(3).await;
    assert_eq!(clone.token_fetches(), 1);
}

#[tokio::test]
async fn the_token_is_refreshed_a_minute_before_its_jwt_exp() {
    let server = MockServer::start_async().await;
    let token = serve_doc_token(&server).await;
    serve_status(&server, &doc_bearer()).await;
    let (client, clock) = client_with_clock(&server);
    client.transaction_status("A").await.unwrap();

    // 61 s before `exp`: still the cached token.
    clock.advance(Duration::from_secs((DOC_TOKEN_EXP - NOW - 61) as u64));
    client.transaction_status("A").await.unwrap();
    token.assert_calls_async(1).await;

    // 59 s before `exp`: inside the last minute, a new token is fetched first.
    clock.advance(Duration::from_secs(2));
    client.transaction_status("A").await.unwrap();
    token.assert_calls_async(2).await;
}

#[tokio::test]
async fn expires_in_is_read_as_a_date_above_a_billion_and_as_seconds_below() {
    for (expires_in, lifetime) in [(NOW + 600, 600), (600, 600)] {
        let server = MockServer::start_async().await;
        let token = server
            .mock_async(|when, then| {
                when.path("/api/auth/token");
                then.status(200).body(token_answer("opaque-token", expires_in));
            })
            .await;
        serve_status(&server, "Bearer opaque-token").await;
        let (client, clock) = client_with_clock(&server);
        client.transaction_status("A").await.unwrap();
        assert_eq!(client.token_expires_at().await.map(|t| t.unix_timestamp()), Some(NOW + lifetime));
        clock.advance(Duration::from_secs(lifetime as u64 - 61));
        client.transaction_status("A").await.unwrap();
        token.assert_calls_async(1).await;
        clock.advance(Duration::from_secs(2));
        client.transaction_status("A").await.unwrap();
        token.assert_calls_async(2).await;
    }
}

#[tokio::test]
async fn a_short_lived_token_is_used_for_half_its_life() {
    let server = MockServer::start_async().await;
    let short = jwt("short", NOW, NOW + 10);
    let token = server
        .mock_async(|when, then| {
            when.path("/api/auth/token");
            then.status(200).body(token_answer(&short, 10));
        })
        .await;
    serve_status(&server, &format!("Bearer {short}")).await;
    let (client, clock) = client_with_clock(&server);
    client.transaction_status("A").await.unwrap();
    clock.advance(Duration::from_secs(4));
    client.transaction_status("A").await.unwrap();
    token.assert_calls_async(1).await;
    clock.advance(Duration::from_secs(1));
    client.transaction_status("A").await.unwrap();
    token.assert_calls_async(2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_concurrent_calls_make_one_token_request() {
    let server = MockServer::start_async().await;
    let token = server
        .mock_async(|when, then| {
            when.path("/api/auth/token");
            // Slow, so that every call is waiting while the one request is out.
            then.status(200).delay(Duration::from_millis(300)).body(fixture("token.json"));
        })
        .await;
    let status = serve_status(&server, &doc_bearer()).await;
    let client = client(&server);
    let calls: Vec<_> = (0..200)
        .map(|i| {
            let client = client.clone();
            tokio::spawn(async move { client.transaction_status(&format!("E-{i}")).await })
        })
        .collect();
    for call in calls {
        call.await.unwrap().unwrap();
    }
    token.assert_calls_async(1).await;
    status.assert_calls_async(200).await;
}

#[tokio::test]
async fn a_401_drops_the_token_refreshes_once_and_retries_once() {
    let server = MockServer::start_async().await;
    let (stale, fresh) = (jwt("stale", NOW, NOW + 3600), jwt("fresh", NOW, NOW + 3600));
    let first = server
        .mock_async(|when, then| {
            when.path("/api/auth/token");
            then.status(200).body(token_answer(&stale, 3600));
        })
        .await;
    first.up_to_n_times_async(1).await;
    let second = server
        .mock_async(|when, then| {
            when.path("/api/auth/token");
            then.status(200).body(token_answer(&fresh, 3600));
        })
        .await;
    let refused = server
        .mock_async(|when, then| {
            when.path("/api/transaction/status").header("authorization", format!("Bearer {stale}"));
            then.status(401).body(fixture("error_401.json"));
        })
        .await;
    let accepted = serve_status(&server, &format!("Bearer {fresh}")).await;

    let client = client(&server);
    let status = client.transaction_status("TEST00001111114").await.unwrap();
    assert_eq!(status.status.as_deref(), Some("paid"));
    first.assert_calls_async(1).await;
    second.assert_calls_async(1).await;
    refused.assert_calls_async(1).await;
    accepted.assert_calls_async(1).await;

    // The fresh token stays cached.
    client.transaction_status("TEST00001111114").await.unwrap();
    second.assert_calls_async(1).await;
}

#[tokio::test]
async fn a_second_401_is_unauthorized_and_nothing_loops() {
    let server = MockServer::start_async().await;
    let token = serve_doc_token(&server).await;
    let refused = server
        .mock_async(|when, then| {
            when.path("/api/transaction/status");
            then.status(401).body(fixture("error_401.json"));
        })
        .await;
    let err = client(&server).transaction_status("A").await.unwrap_err();
    assert!(matches!(&err, Error::Unauthorized { message } if message == "Token expired"), "{err:?}");
    token.assert_calls_async(2).await;
    refused.assert_calls_async(2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_calls_refused_with_the_same_token_refresh_it_once() {
    let server = MockServer::start_async().await;
    let (stale, fresh) = (jwt("stale", NOW, NOW + 3600), jwt("fresh", NOW, NOW + 3600));
    let first = server
        .mock_async(|when, then| {
            when.path("/api/auth/token");
            then.status(200).body(token_answer(&stale, 3600));
        })
        .await;
    first.up_to_n_times_async(1).await;
    let second = server
        .mock_async(|when, then| {
            when.path("/api/auth/token");
            then.status(200).delay(Duration::from_millis(200)).body(token_answer(&fresh, 3600));
        })
        .await;
    // The stale token is accepted once (so that it is cached), then refused.
    let once = serve_status(&server, &format!("Bearer {stale}")).await;
    once.up_to_n_times_async(1).await;
    server
        .mock_async(|when, then| {
            when.path("/api/transaction/status").header("authorization", format!("Bearer {stale}"));
            then.status(401).body(fixture("error_401.json"));
        })
        .await;
    let accepted = serve_status(&server, &format!("Bearer {fresh}")).await;
    let client = client(&server);
    client.transaction_status("warm").await.unwrap();
    assert_eq!(client.token_fetches(), 1);
    let calls: Vec<_> = (0..50)
        .map(|i| {
            let client = client.clone();
            tokio::spawn(async move { client.transaction_status(&format!("E-{i}")).await })
        })
        .collect();
    for call in calls {
        call.await.unwrap().unwrap();
    }
    second.assert_calls_async(1).await;
    first.assert_calls_async(1).await;
    accepted.assert_calls_async(50).await;
}

#[tokio::test]
async fn a_refused_key_is_unauthorized_and_no_call_is_sent() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.path("/api/auth/token");
            then.status(401).body(r#"{"code":"401","status":false,"message":"Invalid api-key or api-secret"}"#);
        })
        .await;
    let status = serve_status(&server, &doc_bearer()).await;
    let err = client(&server).transaction_status("A").await.unwrap_err();
    assert!(matches!(&err, Error::Unauthorized { message } if message == "Invalid api-key or api-secret"), "{err:?}");
    status.assert_calls_async(0).await;
}

#[tokio::test]
async fn a_token_answer_refused_under_200_or_without_a_token_is_an_error() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.path("/api/auth/token");
            then.status(200).body(r#"{"code":"03","status":false,"message":"Broker is inactive"}"#);
        })
        .await;
    let err = client(&server).transaction_status("A").await.unwrap_err();
    assert_eq!(err, Error::Api { status: Some(200), code: Some("03".into()), message: "Broker is inactive".into() });
    mock.delete_async().await;
    server
        .mock_async(|when, then| {
            when.path("/api/auth/token");
            then.status(200).body(r#"{"code":"00","status":true,"message":"Success"}"#);
        })
        .await;
    let err = client(&server).transaction_status("A").await.unwrap_err();
    assert!(matches!(&err, Error::Decode { context } if context.contains("access_token")), "{err:?}");
}

/// A client of its own config (as another replica would build), on `store`.
fn client_on(server: &MockServer, store: &Arc<dyn TokenStore>) -> CiputraClient {
    CiputraClient::new(builder(&server.url("/api")).token_store(store.clone()).build().unwrap())
}

#[tokio::test]
async fn two_clients_built_separately_share_one_token_through_one_store() {
    let server = MockServer::start_async().await;
    let token = serve_doc_token(&server).await;
    let status = serve_status(&server, &doc_bearer()).await;
    let store: Arc<dyn TokenStore> = Arc::new(MemoryTokenStore::new());
    let (a, b) = (client_on(&server, &store), client_on(&server, &store));
    a.transaction_status("A").await.unwrap();
    b.transaction_status("B").await.unwrap();
    b.transaction_status("C").await.unwrap();
    token.assert_calls_async(1).await;
    status.assert_calls_async(3).await;
    assert_eq!((a.token_fetches(), b.token_fetches()), (1, 0));
    assert_eq!(b.token_expires_at().await.map(|t| t.unix_timestamp()), Some(DOC_TOKEN_EXP));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replicas_needing_a_token_at_once_make_one_token_request() {
    let server = MockServer::start_async().await;
    let token = server
        .mock_async(|when, then| {
            when.path("/api/auth/token");
            // Slow, so that every replica is waiting while the one request is out.
            then.status(200).delay(Duration::from_millis(300)).body(fixture("token.json"));
        })
        .await;
    let status = serve_status(&server, &doc_bearer()).await;
    let store: Arc<dyn TokenStore> = Arc::new(MemoryTokenStore::new());
    let replicas: Vec<_> = (0..4).map(|_| client_on(&server, &store)).collect();
    let calls: Vec<_> = (0..100)
        .map(|i| {
            let client = replicas[i % replicas.len()].clone();
            tokio::spawn(async move { client.transaction_status(&format!("E-{i}")).await })
        })
        .collect();
    for call in calls {
        call.await.unwrap().unwrap();
    }
    token.assert_calls_async(1).await;
    status.assert_calls_async(100).await;
    assert_eq!(replicas.iter().map(CiputraClient::token_fetches).sum::<u64>(), 1);
}

#[tokio::test]
async fn a_token_refused_at_one_replica_is_replaced_for_all_with_one_request() {
    let server = MockServer::start_async().await;
    let (stale, fresh) = (jwt("stale", NOW, NOW + 3600), jwt("fresh", NOW, NOW + 3600));
    let first = server
        .mock_async(|when, then| {
            when.path("/api/auth/token");
            then.status(200).body(token_answer(&stale, 3600));
        })
        .await;
    first.up_to_n_times_async(1).await;
    let second = server
        .mock_async(|when, then| {
            when.path("/api/auth/token");
            then.status(200).body(token_answer(&fresh, 3600));
        })
        .await;
    let store: Arc<dyn TokenStore> = Arc::new(MemoryTokenStore::new());
    let (a, b) = (client_on(&server, &store), client_on(&server, &store));
    // Both replicas hold the stale token, accepted twice, then refused.
    let once = serve_status(&server, &format!("Bearer {stale}")).await;
    once.up_to_n_times_async(2).await;
    a.transaction_status("A").await.unwrap();
    b.transaction_status("B").await.unwrap();
    let refused = server
        .mock_async(|when, then| {
            when.path("/api/transaction/status").header("authorization", format!("Bearer {stale}"));
            then.status(401).body(fixture("error_401.json"));
        })
        .await;
    let accepted = serve_status(&server, &format!("Bearer {fresh}")).await;
    a.transaction_status("A").await.unwrap();
    // B is refused too, and takes the token A put in the store rather than fetching one.
    b.transaction_status("B").await.unwrap();
    first.assert_calls_async(1).await;
    second.assert_calls_async(1).await;
    refused.assert_calls_async(2).await;
    accepted.assert_calls_async(2).await;
    assert_eq!((a.token_fetches(), b.token_fetches()), (2, 0));
}

/// A shared store that cannot be reached.
#[derive(Debug)]
struct UnreachableStore;

fn down() -> Error {
    Error::Store { store: "test", message: "connection refused".into() }
}

#[gerbang_core::async_trait]
impl TokenStore for UnreachableStore {
    async fn get(&self, _: &str) -> Result<Option<StoredToken>, Error> {
        Err(down())
    }
    async fn put(&self, _: &str, _: &StoredToken, _: Duration) -> Result<(), Error> {
        Err(down())
    }
    async fn try_lock(&self, _: &str, _: &str, _: Duration) -> Result<bool, Error> {
        Err(down())
    }
    async fn unlock(&self, _: &str, _: &str) -> Result<(), Error> {
        Err(down())
    }
}

#[tokio::test]
async fn an_unreachable_store_is_done_without_and_the_token_still_cached_in_the_process() {
    let server = MockServer::start_async().await;
    let token = serve_doc_token(&server).await;
    let status = serve_status(&server, &doc_bearer()).await;
    let store: Arc<dyn TokenStore> = Arc::new(UnreachableStore);
    let client = client_on(&server, &store);
    client.transaction_status("A").await.unwrap();
    client.clone().transaction_status("B").await.unwrap();
    token.assert_calls_async(1).await;
    status.assert_calls_async(2).await;
}

/// A store that records what it is asked to keep.
#[derive(Debug, Default)]
struct Recording {
    inner: MemoryTokenStore,
    puts: std::sync::Mutex<Vec<(String, Duration)>>,
}

#[gerbang_core::async_trait]
impl TokenStore for Recording {
    async fn get(&self, key: &str) -> Result<Option<StoredToken>, Error> {
        self.inner.get(key).await
    }
    async fn put(&self, key: &str, token: &StoredToken, ttl: Duration) -> Result<(), Error> {
        self.puts.lock().unwrap().push((key.to_owned(), ttl));
        self.inner.put(key, token, ttl).await
    }
    async fn try_lock(&self, key: &str, holder: &str, timeout: Duration) -> Result<bool, Error> {
        self.inner.try_lock(key, holder, timeout).await
    }
    async fn unlock(&self, key: &str, holder: &str) -> Result<(), Error> {
        self.inner.unlock(key, holder).await
    }
}

#[tokio::test]
async fn the_token_is_kept_under_a_hash_of_the_key_until_before_it_expires() {
    let server = MockServer::start_async().await;
    serve_doc_token(&server).await;
    serve_status(&server, &doc_bearer()).await;
    let recording = Arc::new(Recording::default());
    let store: Arc<dyn TokenStore> = recording.clone();
    let client = client_on(&server, &store);
    client.transaction_status("A").await.unwrap();
    let puts = recording.puts.lock().unwrap().clone();
    let [(key, ttl)] = puts.as_slice() else { panic!("{puts:?}") };
    assert!(key.starts_with("ciputra:") && key.len() == "ciputra:".len() + 16, "{key}");
    assert!(!key.contains(API_KEY) && !key.contains(API_SECRET), "{key}");
    // Kept until the refresh time, a minute before the JWT's `exp`.
    assert_eq!(ttl.as_secs(), (DOC_TOKEN_EXP - NOW - 60) as u64);
    let shown = format!("{client:?}");
    assert!(shown.contains(key.as_str()) && !shown.contains(&doc_token()), "{shown}");
}
