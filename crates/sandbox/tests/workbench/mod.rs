//! What the workbench tests share (time travel, faults, the dashboard): a sandbox whose webhooks
//! all reach one recording receiver, and the SDK's own client of each gateway pointed at it.
// Helpers of tests, not tests: clippy's test allowance does not reach them, but a panic here is
// still a failing test with its message.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use gerbang_core::{Channel, Currency, HttpClient, Money, Payment, PaymentProvider, PaymentRequest, ProviderId};
use gerbang_sandbox::{Sandbox, SandboxBuilder, SandboxHandle, cashin, ciputra, crypto_invoice, cuan10pay, qris};
use rust_decimal::Decimal;

/// Generous: a loaded 2-core machine may be slow, and a passing test never waits this long.
pub const WAIT: Duration = Duration::from_secs(20);

/// One webhook the receiver got.
#[derive(Debug, Clone)]
pub struct Hit {
    /// The gateway, from the path it was posted to (`/hooks/{gateway}`).
    pub gateway: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// A webhook receiver for every gateway at `{url}/hooks/{gateway}`: answers 200 and keeps what
/// it got.
#[derive(Debug, Clone)]
pub struct Recorder {
    pub url: String,
    hits: Arc<Mutex<Vec<Hit>>>,
}

impl Recorder {
    pub async fn start() -> Self {
        let hits = Arc::new(Mutex::new(Vec::new()));
        let app = Router::new().route("/hooks/{gateway}", post(record)).with_state(Arc::clone(&hits));
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { url, hits }
    }

    /// Where `provider`'s webhooks go.
    pub fn hook(&self, provider: ProviderId) -> String {
        format!("{}/hooks/{provider}", self.url)
    }

    pub fn hits(&self) -> Vec<Hit> {
        self.hits.lock().unwrap().clone()
    }

    /// Waits until `count` webhooks of `gateway` have arrived, and returns them.
    pub async fn wait_for(&self, gateway: ProviderId, count: usize) -> Vec<Hit> {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let of: Vec<Hit> = self.hits().into_iter().filter(|h| h.gateway == gateway.as_str()).collect();
            if of.len() >= count {
                return of;
            }
            assert!(tokio::time::Instant::now() < deadline, "{count} webhooks of {gateway} expected, got {}", of.len());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

async fn record(
    State(hits): State<Arc<Mutex<Vec<Hit>>>>,
    Path(gateway): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    hits.lock().unwrap().push(Hit { gateway, headers, body });
    StatusCode::OK
}

/// A sandbox whose configured webhooks (Cuan10pay, Cash In) go to the recorder, and the
/// recorder. Retries are quick, so that a failed attempt does not hold a test up.
pub async fn start(configure: impl FnOnce(SandboxBuilder) -> SandboxBuilder) -> (SandboxHandle, Recorder) {
    let recorder = Recorder::start().await;
    let builder = Sandbox::builder()
        .webhook_url(ProviderId::Cuan10pay, recorder.hook(ProviderId::Cuan10pay))
        .webhook_url(ProviderId::CashIn, recorder.hook(ProviderId::CashIn))
        .webhook_retry(2, Duration::from_millis(50));
    (configure(builder).start().await.unwrap(), recorder)
}

/// The SDK's client of `provider`, against the sandbox, with `http` (the default transport when
/// `None`).
pub fn client(sandbox: &SandboxHandle, provider: ProviderId, http: Option<HttpClient>) -> Box<dyn PaymentProvider> {
    let base = sandbox.base_url(provider);
    let http = http.unwrap_or_default();
    match provider {
        ProviderId::Cuan10pay => {
            let config = gerbang_cuan10pay::Cuan10payConfig::builder(cuan10pay::API_KEY, cuan10pay::PRIVATE_KEY)
                .base_url(base)
                .without_rate_budget()
                .http_client(http)
                .build()
                .unwrap();
            Box::new(gerbang_cuan10pay::Cuan10payClient::new(config))
        }
        ProviderId::CashIn => {
            let config = gerbang_cashin::CashinConfig::builder(cashin::CLIENT_ID, cashin::SECRET_KEY)
                .base_url(base)
                .public_key_pem(cashin::public_key_pem())
                .http_client(http)
                .build()
                .unwrap();
            Box::new(gerbang_cashin::CashinClient::new(config))
        }
        ProviderId::Qris => {
            let config =
                gerbang_qris::QrisConfig::builder(qris::API_KEY).base_url(base).http_client(http).build().unwrap();
            Box::new(gerbang_qris::QrisClient::new(config))
        }
        ProviderId::CryptoInvoice => {
            let config = gerbang_crypto_invoice::CryptoInvoiceConfig::builder(
                crypto_invoice::PUBLIC_KEY,
                crypto_invoice::PRIVATE_KEY,
            )
            .base_url(base)
            .test_mode(true)
            .http_client(http)
            .build()
            .unwrap();
            Box::new(gerbang_crypto_invoice::CryptoInvoiceClient::new(config))
        }
        ProviderId::Ciputra => {
            let config = gerbang_ciputra::CiputraConfig::builder(ciputra::API_KEY, ciputra::API_SECRET)
                .base_url(base)
                .http_client(http)
                .build()
                .unwrap();
            Box::new(gerbang_ciputra::CiputraClient::new(config))
        }
        other => panic!("no client for {other}"),
    }
}

/// A payment request each gateway takes, for `reference` and `amount` rupiah (a crypto invoice
/// is priced in rupiah too); the gateways that take a callback URL are given the recorder's.
pub fn request(provider: ProviderId, reference: &str, amount: i64, recorder: &Recorder) -> PaymentRequest {
    let builder = PaymentRequest::builder(reference, Money::idr(amount));
    let builder = match provider {
        ProviderId::Cuan10pay => builder.channel(Channel::Qris),
        ProviderId::CashIn => {
            builder.customer_id("CUST-1").customer_phone("081234567890").return_url("https://shop.test/back")
        }
        ProviderId::Qris => builder,
        ProviderId::CryptoInvoice => builder.callback_url(recorder.hook(provider)),
        ProviderId::Ciputra => {
            builder.customer_name("Budi Santoso").channel(Channel::Qris).callback_url(recorder.hook(provider))
        }
        other => panic!("no request for {other}"),
    };
    builder.build().unwrap()
}

/// A crypto invoice priced in dollars, for the gateway whose prices are not in rupiah.
pub fn dollars(cents: i64) -> Money {
    Money::new(Decimal::new(cents, 2), Currency::USD).unwrap()
}

/// Creates a payment through the SDK; returns it and the reference the sandbox's controls take.
pub async fn create(
    sandbox: &SandboxHandle,
    provider: ProviderId,
    reference: &str,
    amount: i64,
    recorder: &Recorder,
) -> (Payment, String) {
    let client = client(sandbox, provider, None);
    let payment = client.create_payment(&request(provider, reference, amount, recorder)).await.unwrap();
    let key = control_reference(sandbox, provider, &payment);
    (payment, key)
}

/// The reference the controls take for a payment the SDK created: the gateway's id where it
/// keys on it, the merchant's reference elsewhere; for a crypto invoice, its id, read from the
/// sandbox's list (the create answer carries only its URL).
pub fn control_reference(sandbox: &SandboxHandle, provider: ProviderId, payment: &Payment) -> String {
    match provider {
        ProviderId::Cuan10pay | ProviderId::Qris => payment.provider_reference.clone().unwrap(),
        ProviderId::CryptoInvoice => {
            let order = payment.reference.clone().unwrap();
            let listed = sandbox.payments();
            let found =
                listed.iter().find(|p| p.provider == provider && p.merchant_reference.as_deref() == Some(&order));
            found.unwrap().reference.clone()
        }
        _ => payment.reference.clone().unwrap(),
    }
}

/// `GET url`: the answer's status and its JSON (`null` when it is not JSON).
pub async fn get_json(url: &str) -> (u16, serde_json::Value) {
    let response = reqwest::get(url).await.unwrap();
    let status = response.status().as_u16();
    (status, serde_json::from_slice(&response.bytes().await.unwrap()).unwrap_or(serde_json::Value::Null))
}

/// `POST url` with no body: the answer's status and its JSON (`null` when it is not JSON).
pub async fn post_json(url: &str) -> (u16, serde_json::Value) {
    let response = reqwest::Client::new().post(url).send().await.unwrap();
    let status = response.status().as_u16();
    (status, serde_json::from_slice(&response.bytes().await.unwrap()).unwrap_or(serde_json::Value::Null))
}
