//! The token's lifecycle: how it is asked for, cached, shared, refreshed before expiry and after
//! a 401, and fetched once however many calls need it.

use std::sync::Arc;
use std::time::Duration;

use gerbang_ciputra::CiputraClient;
use gerbang_core::{Error, FixedClock};
use httpmock::Method::POST;
use httpmock::MockServer;

use crate::common::{
    API_KEY, API_SECRET, DOC_TOKEN_EXP, NOW, builder, client, doc_bearer, fixture, jwt, serve_doc_token, token_answer,
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
