//! What the integration tests share: a Cuan10pay request signed the way the document says (with
//! gerbang-signing, independently of the sandbox's checking code path), and a webhook receiver.
// Helpers of tests, not tests: clippy's test allowance does not reach them, but a panic here is
// still a failing test with its message.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use gerbang_sandbox::cuan10pay::{API_KEY, PRIVATE_KEY};
use gerbang_signing::cuan10pay::sign_request;
use serde_json::Value;

/// An answer: status, `Retry-After` if any, body as JSON (`Null` if not JSON).
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub retry_after: Option<String>,
    pub json: Value,
}

/// Sends a Cuan10pay call to `base` (the sandbox's `/cuan10pay` URL) with the given credentials
/// and timestamp; `path_and_query` is both what is requested and what is signed.
pub async fn call_with(
    base: &str,
    method: &str,
    path_and_query: &str,
    body: &str,
    api_key: &str,
    private_key: &str,
    timestamp: i64,
) -> Answer {
    let signature = sign_request(private_key.as_bytes(), timestamp, method, path_and_query, body.as_bytes());
    let request = reqwest::Client::new()
        .request(method.parse().unwrap(), format!("{base}{path_and_query}"))
        .header("X-API-KEY", api_key)
        .header("X-TIMESTAMP", timestamp.to_string())
        .header("X-SIGNATURE", signature);
    let request = if body.is_empty() {
        request
    } else {
        request.header("Content-Type", "application/json").body(body.to_owned())
    };
    answer(request.send().await.unwrap()).await
}

pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// A correctly signed call, now, with the sandbox's credentials.
pub async fn call(base: &str, method: &str, path_and_query: &str, body: &str) -> Answer {
    call_with(base, method, path_and_query, body, API_KEY, PRIVATE_KEY, now()).await
}

pub async fn answer(response: reqwest::Response) -> Answer {
    let status = response.status().as_u16();
    let retry_after = response.headers().get("retry-after").map(|v| v.to_str().unwrap().to_owned());
    let bytes = response.bytes().await.unwrap();
    let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Answer { status, retry_after, json }
}

/// Asserts Cuan10pay's error shape and status.
pub fn assert_error(answer: &Answer, status: u16) {
    assert_eq!(answer.status, status, "{:?}", answer.json);
    assert_eq!(answer.json["status"], "error", "{:?}", answer.json);
    assert!(answer.json["message"].as_str().is_some_and(|m| !m.is_empty()), "{:?}", answer.json);
}

/// Creates a deposit and returns its `data`.
pub async fn create_deposit(base: &str, channel: &str, amount: u64) -> Value {
    let body = format!(r#"{{"channel_code": "{channel}", "amount": {amount}, "customer_name": "John Doe"}}"#);
    let answer = call(base, "POST", "/v1/deposit_create", &body).await;
    assert_eq!(answer.status, 200, "{:?}", answer.json);
    answer.json["data"].clone()
}

/// A webhook receiver: answers with the scripted statuses in turn (then 200), keeps the bodies.
#[derive(Debug, Clone)]
pub struct Receiver {
    pub url: String,
    received: Arc<Mutex<Vec<String>>>,
}

#[derive(Debug)]
struct ReceiverState {
    script: Mutex<VecDeque<u16>>,
    received: Arc<Mutex<Vec<String>>>,
}

impl Receiver {
    pub async fn start(script: &[u16]) -> Self {
        let received = Arc::new(Mutex::new(Vec::new()));
        let state = Arc::new(ReceiverState {
            script: Mutex::new(script.iter().copied().collect()),
            received: Arc::clone(&received),
        });
        let app = Router::new().route("/webhook", post(receive)).with_state(state);
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await.unwrap();
        let url = format!("http://{}/webhook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { url, received }
    }

    pub fn received(&self) -> Vec<String> {
        self.received.lock().unwrap().clone()
    }
}

async fn receive(State(state): State<Arc<ReceiverState>>, body: Bytes) -> StatusCode {
    state.received.lock().unwrap().push(String::from_utf8(body.to_vec()).unwrap());
    let status = state.script.lock().unwrap().pop_front().unwrap_or(200);
    StatusCode::from_u16(status).unwrap()
}
