//! What the Cash In sandbox tests share: requests signed the way PROVIDERS.md §2 says (with
//! gerbang-signing, independently of the sandbox's checking code path), and a notification
//! receiver that keeps headers and bodies.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use gerbang_sandbox::cashin::{CLIENT_ID, SECRET_KEY};
use gerbang_signing::cashin::{HmacAlgorithm, sign, string_to_sign};
use serde_json::{Value, json};

/// An answer: status and body as JSON (`Null` if not JSON).
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub json: Value,
}

/// What a call is signed with.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub client_id: String,
    pub secret: String,
    pub hmac: HmacAlgorithm,
    pub request_id: String,
    pub timestamp: String,
}

impl Default for Credentials {
    fn default() -> Self {
        Self {
            client_id: CLIENT_ID.into(),
            secret: SECRET_KEY.into(),
            hmac: HmacAlgorithm::Sha256,
            request_id: uuid::Uuid::new_v4().to_string(),
            timestamp: now_text(),
        }
    }
}

pub fn now_text() -> String {
    gerbang_signing::jakarta::format_timestamp(time::OffsetDateTime::now_utc())
}

/// POSTs `body` to `{base}{path}` signed with `credentials` over `path`.
pub async fn call_with(base: &str, path: &str, body: &str, c: &Credentials) -> Answer {
    let message = string_to_sign(body.as_bytes(), &c.client_id, &c.request_id, path, &c.timestamp).unwrap();
    let signature = sign(c.secret.as_bytes(), &message, c.hmac);
    let response = reqwest::Client::new()
        .post(format!("{base}{path}"))
        .header("X-CLIENT-ID", &c.client_id)
        .header("X-REQUEST-ID", &c.request_id)
        .header("X-TIMESTAMP", &c.timestamp)
        .header("X-SIGNATURE", signature)
        .header("Content-Type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let json = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap_or(Value::Null);
    Answer { status, json }
}

/// A correctly signed call, now, with a fresh request id.
pub async fn call(base: &str, path: &str, body: &str) -> Answer {
    call_with(base, path, body, &Credentials::default()).await
}

/// Asserts Cash In's refusal shape (the sandbox's Decision) and status.
pub fn assert_refused(answer: &Answer, status: u16) {
    assert_eq!(answer.status, status, "{:?}", answer.json);
    assert!(answer.json["message"].as_str().is_some_and(|m| !m.is_empty()), "{:?}", answer.json);
    assert_eq!(answer.json["data"], Value::Null, "{:?}", answer.json);
}

/// A checkout body as the document's example, pretty-printed as it is there.
pub fn checkout_body(trx_no: &str, amount: u64, channel: Option<&str>) -> String {
    let mut body = json!({
        "amount": amount,
        "trxNo": trx_no,
        "duration": 30,
        "successCallbackUrl": "https://tes-url-merchant.com/success",
        "cancelCallbackUrl": "https://tes-url-merchant.com/cancel",
        "customer": {"id": "CUSTOMER-1", "phoneNumber": "082232232231111"}
    });
    if let Some(channel) = channel {
        body["paymentChannel"] = channel.into();
    }
    serde_json::to_string_pretty(&body).unwrap()
}

/// Creates a checkout and returns its `data`.
pub async fn create(base: &str, trx_no: &str, amount: u64, channel: Option<&str>) -> Value {
    let answer = call(base, "/payment", &checkout_body(trx_no, amount, channel)).await;
    assert_eq!(answer.status, 200, "{:?}", answer.json);
    assert_eq!(answer.json["message"], "Successful");
    answer.json["data"].clone()
}

/// The status answer's `data` of a `trxNo`.
pub async fn status(base: &str, trx_no: &str) -> Value {
    let answer = call(base, "/payment/status", &json!({ "trxNo": trx_no }).to_string()).await;
    assert_eq!(answer.status, 200, "{:?}", answer.json);
    answer.json["data"].clone()
}

/// A notification receiver at `/v1.0/debit/notify`: answers with the scripted statuses in turn
/// (then 200), keeps every request's headers and body.
#[derive(Debug, Clone)]
pub struct Receiver {
    pub url: String,
    received: Arc<Mutex<Vec<(HeaderMap, String)>>>,
}

#[derive(Debug)]
struct ReceiverState {
    script: Mutex<VecDeque<u16>>,
    received: Arc<Mutex<Vec<(HeaderMap, String)>>>,
}

impl Receiver {
    pub async fn start(script: &[u16]) -> Self {
        let received = Arc::new(Mutex::new(Vec::new()));
        let state = Arc::new(ReceiverState {
            script: Mutex::new(script.iter().copied().collect()),
            received: Arc::clone(&received),
        });
        let app = Router::new().route("/v1.0/debit/notify", post(receive)).with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/v1.0/debit/notify", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { url, received }
    }

    pub fn received(&self) -> Vec<(HeaderMap, String)> {
        self.received.lock().unwrap().clone()
    }
}

async fn receive(State(state): State<Arc<ReceiverState>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    state.received.lock().unwrap().push((headers, String::from_utf8(body.to_vec()).unwrap()));
    let status = state.script.lock().unwrap().pop_front().unwrap_or(200);
    StatusCode::from_u16(status).unwrap()
}
