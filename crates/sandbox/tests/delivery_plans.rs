//! Delivery plans (copies, spacing, delay, drop), several webhook URLs in turn, and webhooks of a
//! chosen state, all over real HTTP to receivers that verify what they get with the gateway
//! crates' own verifiers and answer the gateway's acknowledgement.

mod cashin_support;
mod common;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use gerbang_core::{PaymentStatus, ProviderId, WebhookRequest};
use gerbang_sandbox::{Delivery, DeliveryPlan, PaymentState, Sandbox, SandboxError, SandboxHandle};
use serde_json::Value;
use tokio::sync::Barrier;

/// Generous: a loaded 2-core machine may be slow, and a passing test never waits this long.
const WAIT: Duration = Duration::from_secs(20);

/// What a receiver saw of one request.
#[derive(Debug, Clone)]
struct Hit {
    path: String,
    body: String,
    /// The reference and status word of the verified event; `None` if it did not verify.
    event: Option<(String, PaymentStatus)>,
}

/// Which gateway's webhooks a receiver verifies.
// A handful, made once per test: their sizes do not matter (the Cuan10pay verifier grew with key
// rotation).
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
enum Gateway {
    Cuan10pay(gerbang_cuan10pay::WebhookVerifier),
    CashIn(gerbang_cashin::WebhookVerifier),
}

#[derive(Debug)]
struct Inner {
    gateway: Gateway,
    hits: Mutex<Vec<Hit>>,
    /// Holds each request until this many are in flight at once (then answers all), or answers
    /// 503 after [`WAIT`]: a check that copies are sent concurrently.
    gate: Option<Barrier>,
    /// Statuses to answer with first, before verifying (to make the sandbox retry).
    script: Mutex<Vec<u16>>,
}

/// A webhook receiver on a loopback port, at any path: verifies each request with the gateway
/// crate's verifier and answers its acknowledgement (401 if it does not verify).
#[derive(Debug, Clone)]
struct Receiver {
    origin: String,
    inner: Arc<Inner>,
}

#[allow(clippy::unwrap_used)] // a test helper: a panic is the failing test
impl Receiver {
    async fn start(gateway: Gateway) -> Self {
        Self::start_with(gateway, None, &[]).await
    }

    async fn start_with(gateway: Gateway, gate: Option<usize>, script: &[u16]) -> Self {
        let inner = Arc::new(Inner {
            gateway,
            hits: Mutex::new(Vec::new()),
            gate: gate.map(Barrier::new),
            script: Mutex::new(script.iter().rev().copied().collect()),
        });
        let app = Router::new().fallback(receive).with_state(Arc::clone(&inner));
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await.unwrap();
        let origin = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { origin, inner }
    }

    fn cuan10pay() -> Gateway {
        Gateway::Cuan10pay(gerbang_cuan10pay::WebhookVerifier::new(gerbang_sandbox::cuan10pay::PRIVATE_KEY))
    }

    fn cashin() -> Gateway {
        let pem = gerbang_sandbox::cashin::public_key_pem();
        Gateway::CashIn(gerbang_cashin::WebhookVerifier::from_pem(&pem).unwrap())
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.origin)
    }

    fn hits(&self) -> Vec<Hit> {
        self.inner.hits.lock().unwrap().clone()
    }
}

async fn receive(State(inner): State<Arc<Inner>>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let scripted = inner.script.lock().unwrap_or_else(std::sync::PoisonError::into_inner).pop();
    let request = WebhookRequest::new(axum::http::Method::POST, uri.path(), &headers, &body);
    let verified = match &inner.gateway {
        Gateway::Cuan10pay(verifier) => verifier.verify(&request),
        Gateway::CashIn(verifier) => verifier.verify(&request),
    };
    let event = verified.as_ref().ok().map(|e| {
        let reference = e.reference.clone().or_else(|| e.provider_reference.clone()).unwrap_or_default();
        (reference, e.status.clone())
    });
    let hit = Hit { path: uri.path().to_owned(), body: String::from_utf8_lossy(&body).into_owned(), event };
    inner.hits.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(hit);
    if let Some(gate) = &inner.gate
        && tokio::time::timeout(WAIT, gate.wait()).await.is_err()
    {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    if let Some(status) = scripted {
        return StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR).into_response();
    }
    match verified {
        Ok(event) => {
            let ack = event.ack();
            let status = StatusCode::from_u16(ack.status).unwrap_or(StatusCode::OK);
            (status, [("content-type", ack.content_type)], ack.body.clone()).into_response()
        }
        Err(_) => StatusCode::UNAUTHORIZED.into_response(),
    }
}

#[allow(clippy::unwrap_used)] // a test helper: a panic is the failing test
async fn post(url: &str) -> (u16, Value) {
    let response = reqwest::Client::new().post(url).send().await.unwrap();
    let status = response.status().as_u16();
    (status, serde_json::from_slice(&response.bytes().await.unwrap()).unwrap_or(Value::Null))
}

/// `POST /_sandbox/{provider}/payments/{reference}/{action}{query}`.
async fn control(sandbox: &SandboxHandle, provider: &str, reference: &str, action_and_query: &str) -> (u16, Value) {
    post(&format!("{}/_sandbox/{provider}/payments/{reference}/{action_and_query}", sandbox.url())).await
}

#[allow(clippy::unwrap_used)] // a test helper: a panic is the failing test
async fn deposit(sandbox: &SandboxHandle) -> String {
    let data = common::create_deposit(&sandbox.base_url(ProviderId::Cuan10pay), "BCA", 10_000).await;
    data["deposit_id"].as_str().unwrap().to_owned()
}

/// Waits until `receiver` has seen `count` requests.
#[allow(clippy::unwrap_used)] // a test helper: a panic is the failing test
async fn wait_for_hits(receiver: &Receiver, count: usize) -> Vec<Hit> {
    tokio::time::timeout(WAIT, async {
        loop {
            let hits = receiver.hits();
            if hits.len() >= count {
                return hits;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("the receiver saw {} requests, expected {count}", receiver.hits().len()))
}

fn copies(deliveries: &[Delivery]) -> Vec<u32> {
    deliveries.iter().map(|d| d.copy).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_copies_are_sent_at_once_and_every_one_is_recorded_and_acked() {
    // The receiver answers none of them until all five are in flight together.
    let receiver = Receiver::start_with(Receiver::cuan10pay(), Some(5), &[]).await;
    let sandbox = Sandbox::builder().webhook_url(ProviderId::Cuan10pay, receiver.url("/hook")).start().await.unwrap();
    let id = deposit(&sandbox).await;

    let (status, body) = control(&sandbox, "cuan10pay", &id, "pay?copies=5&spacing_ms=0&delay_ms=0&drop=false").await;
    assert_eq!(status, 200, "{body}");
    let to = receiver.url("/hook");
    assert_eq!(
        body,
        serde_json::json!({"provider": "cuan10pay", "reference": id, "status": "paid", "webhook": {"to": [to]}})
    );

    let deliveries = sandbox.wait_for_deliveries(5, WAIT).await.unwrap();
    assert_eq!(deliveries.len(), 5);
    let mut numbers = copies(&deliveries);
    numbers.sort_unstable();
    assert_eq!(numbers, [1, 2, 3, 4, 5]);
    for delivery in &deliveries {
        assert_eq!((delivery.attempt, delivery.status, delivery.dropped), (1, Some(200), false), "{delivery:?}");
        assert_eq!(delivery.answer.as_deref(), Some("OK"), "Cuan10pay's acknowledgement");
        assert_eq!(delivery.body, deliveries[0].body, "copies of one webhook are the same webhook");
    }
    let hits = receiver.hits();
    assert_eq!(hits.len(), 5);
    assert!(hits.iter().all(|h| h.event == Some((id.clone(), PaymentStatus::Paid))), "{hits:?}");
}

#[tokio::test]
async fn spaced_copies_are_sent_one_after_the_other() {
    let receiver = Receiver::start(Receiver::cuan10pay()).await;
    let sandbox = Sandbox::builder().webhook_url(ProviderId::Cuan10pay, receiver.url("/hook")).start().await.unwrap();
    let id = deposit(&sandbox).await;

    let plan = DeliveryPlan::new().copies(3).spacing(Duration::from_millis(400));
    assert_eq!(sandbox.pay_with(ProviderId::Cuan10pay, &id, plan).await, Ok(PaymentState::Paid));

    let deliveries = sandbox.wait_for_deliveries(3, WAIT).await.unwrap();
    assert_eq!(copies(&deliveries), [1, 2, 3], "recorded in the order they were sent");
    assert!(deliveries.iter().all(Delivery::succeeded));
    assert_eq!(wait_for_hits(&receiver, 3).await.len(), 3);
}

#[tokio::test]
async fn a_delayed_webhook_arrives_after_the_webhook_of_a_later_payment() {
    let receiver = Receiver::start(Receiver::cuan10pay()).await;
    let sandbox = Sandbox::builder().webhook_url(ProviderId::Cuan10pay, receiver.url("/hook")).start().await.unwrap();
    let (first, second) = (deposit(&sandbox).await, deposit(&sandbox).await);

    let (status, body) = control(&sandbox, "cuan10pay", &first, "pay?delay_ms=1500").await;
    assert_eq!(status, 200, "{body}");
    sandbox.pay(ProviderId::Cuan10pay, &second).await.unwrap();

    let hits = wait_for_hits(&receiver, 2).await;
    let order: Vec<_> = hits.iter().map(|h| h.event.clone().map(|(reference, _)| reference)).collect();
    assert_eq!(order, [Some(second.clone()), Some(first.clone())], "the later payment's webhook first");
    let deliveries = sandbox.wait_for_deliveries(2, WAIT).await.unwrap();
    assert_eq!(deliveries.iter().map(|d| d.reference.as_str()).collect::<Vec<_>>(), [&second, &first]);
}

#[tokio::test]
async fn a_dropped_webhook_reaches_no_one_is_recorded_as_dropped_and_can_be_resent() {
    let receiver = Receiver::start(Receiver::cuan10pay()).await;
    let sandbox = Sandbox::builder().webhook_url(ProviderId::Cuan10pay, receiver.url("/hook")).start().await.unwrap();
    let id = deposit(&sandbox).await;

    let (status, body) = control(&sandbox, "cuan10pay", &id, "pay?drop=true&copies=2").await;
    assert_eq!(status, 200, "{body}");
    let deliveries = sandbox.wait_for_deliveries(2, WAIT).await.unwrap();
    assert_eq!(deliveries.len(), 2);
    for delivery in &deliveries {
        assert!(delivery.dropped, "{delivery:?}");
        assert_eq!((delivery.status, delivery.attempt, delivery.answer.as_deref()), (None, 1, None));
        assert!(delivery.error.as_deref().is_some_and(|e| e.contains("dropped by the delivery plan")), "{delivery:?}");
        assert!(!delivery.succeeded());
        assert!(delivery.body.contains("\"PAID\""), "the body that would have been sent: {}", delivery.body);
    }
    // Dropped copies are recorded instead of sent: nothing is on its way.
    assert!(receiver.hits().is_empty());

    // Over HTTP too, with the new fields.
    let text = reqwest::get(format!("{}/_sandbox/deliveries", sandbox.url())).await.unwrap().text().await.unwrap();
    let list: Vec<Value> = serde_json::from_str(&text).unwrap();
    assert!(list.iter().all(|d| d["dropped"] == true && d["status"].is_null() && d["copy"].is_u64()), "{list:?}");

    // Later, the webhook of the change arrives after all (a dashboard's "resend").
    let state = sandbox.resend_webhook(ProviderId::Cuan10pay, &id, DeliveryPlan::new()).await;
    assert_eq!(state, Ok(PaymentState::Paid));
    let deliveries = sandbox.wait_for_deliveries(3, WAIT).await.unwrap();
    assert!(deliveries[2].succeeded() && !deliveries[2].dropped, "{:?}", deliveries[2]);
    let hits = receiver.hits();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].event, Some((id, PaymentStatus::Paid)));
}

#[tokio::test]
async fn attempts_take_the_webhook_urls_in_turn() {
    // Three receivers of Cash In notifications, on three paths: each URL's notification is
    // signed over its own path.
    let receivers = [
        Receiver::start(Receiver::cashin()).await,
        Receiver::start(Receiver::cashin()).await,
        Receiver::start(Receiver::cashin()).await,
    ];
    let paths = ["/a/v1.0/debit/notify", "/b/v1.0/debit/notify", "/c/v1.0/debit/notify"];
    let urls: Vec<String> = receivers.iter().zip(paths).map(|(r, p)| r.url(p)).collect();
    let sandbox = Sandbox::builder()
        .webhook_url(ProviderId::CashIn, &urls[0])
        .webhook_urls(ProviderId::CashIn, [&urls[1], &urls[2]])
        .start()
        .await
        .unwrap();
    cashin_support::create(&sandbox.base_url(ProviderId::CashIn), "ORDER-RR", 10_000, None).await;

    sandbox.pay_with(ProviderId::CashIn, "ORDER-RR", DeliveryPlan::new().copies(6)).await.unwrap();
    let deliveries = sandbox.wait_for_deliveries(6, WAIT).await.unwrap();
    let mut per_url: HashMap<&str, usize> = HashMap::new();
    for delivery in &deliveries {
        *per_url.entry(delivery.url.as_str()).or_default() += 1;
        assert_eq!(delivery.status, Some(200), "{delivery:?}");
        assert_eq!(delivery.answer.as_deref(), Some(gerbang_cashin::ACK_SUCCESS_BODY));
    }
    assert!(urls.iter().all(|u| per_url.get(u.as_str()) == Some(&2)), "{per_url:?}");
    for (receiver, path) in receivers.iter().zip(paths) {
        let hits = receiver.hits();
        assert_eq!(hits.len(), 2, "each receiver gets its share");
        for hit in hits {
            assert_eq!(hit.path, path);
            assert_eq!(hit.event, Some(("ORDER-RR".to_owned(), PaymentStatus::Paid)), "{}", hit.body);
        }
    }
}

#[tokio::test]
async fn a_retry_goes_to_the_next_url() {
    let refusing = Receiver::start_with(Receiver::cuan10pay(), None, &[500]).await;
    let accepting = Receiver::start(Receiver::cuan10pay()).await;
    let sandbox = Sandbox::builder()
        .webhook_urls(ProviderId::Cuan10pay, [refusing.url("/hook"), accepting.url("/hook")])
        .webhook_retry(2, Duration::from_millis(10))
        .start()
        .await
        .unwrap();
    let id = deposit(&sandbox).await;
    sandbox.pay(ProviderId::Cuan10pay, &id).await.unwrap();

    let deliveries = sandbox.wait_for_deliveries(2, WAIT).await.unwrap();
    let attempts: Vec<_> = deliveries.iter().map(|d| (d.attempt, d.url.clone(), d.status)).collect();
    assert_eq!(attempts, [(1, refusing.url("/hook"), Some(500)), (2, accepting.url("/hook"), Some(200))]);
}

#[tokio::test]
async fn a_cuan10pay_pending_webhook_can_arrive_after_the_paid_one() {
    let receiver = Receiver::start(Receiver::cuan10pay()).await;
    let sandbox = Sandbox::builder().webhook_url(ProviderId::Cuan10pay, receiver.url("/hook")).start().await.unwrap();
    let id = deposit(&sandbox).await;

    sandbox.pay(ProviderId::Cuan10pay, &id).await.unwrap();
    wait_for_hits(&receiver, 1).await;
    let (status, body) = control(&sandbox, "cuan10pay", &id, "webhook?status=pending&copies=2").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "pending");

    let hits = wait_for_hits(&receiver, 3).await;
    let statuses: Vec<_> = hits.iter().map(|h| h.event.clone()).collect();
    let paid = Some((id.clone(), PaymentStatus::Paid));
    let pending = Some((id.clone(), PaymentStatus::Pending));
    assert_eq!(statuses, [paid, pending.clone(), pending], "signed, and carrying the state asked for");
    assert!(hits[1].body.contains("\"PENDING\""), "{}", hits[1].body);
    // The payment did not move.
    let status =
        common::call(&sandbox.base_url(ProviderId::Cuan10pay), "GET", &format!("/v1/deposit_status?ref={id}"), "")
            .await;
    assert_eq!(status.json["data"]["status"], "paid");
}

#[tokio::test]
async fn a_cashin_pending_notification_can_arrive_after_the_success_one() {
    let receiver = Receiver::start(Receiver::cashin()).await;
    let url = receiver.url(gerbang_cashin::NOTIFY_PATH);
    let sandbox = Sandbox::builder().webhook_url(ProviderId::CashIn, &url).start().await.unwrap();
    cashin_support::create(&sandbox.base_url(ProviderId::CashIn), "ORDER-OOO", 10_000, None).await;

    // The later state first, sent before the checkout is even paid; then the earlier one.
    let later = sandbox.send_webhook(ProviderId::CashIn, "ORDER-OOO", PaymentState::Paid, DeliveryPlan::new()).await;
    assert_eq!(later, Ok(PaymentState::Paid));
    wait_for_hits(&receiver, 1).await;
    let earlier = sandbox.send_webhook(ProviderId::CashIn, "ORDER-OOO", PaymentState::Pending, DeliveryPlan::new());
    assert_eq!(earlier.await, Ok(PaymentState::Pending));

    let hits = wait_for_hits(&receiver, 2).await;
    let statuses: Vec<_> = hits.iter().map(|h| h.event.clone()).collect();
    let reference = "ORDER-OOO".to_owned();
    assert_eq!(statuses, [Some((reference.clone(), PaymentStatus::Paid)), Some((reference, PaymentStatus::Pending))]);
    let pending: Value = serde_json::from_str(&hits[1].body).unwrap();
    assert_eq!(pending["latestTransactionStatus"], "03");
    assert!(pending.get("finishedTime").is_none(), "an open checkout has not finished: {pending}");
    let deliveries = sandbox.wait_for_deliveries(2, WAIT).await.unwrap();
    assert!(deliveries.iter().all(|d| d.answer.as_deref() == Some(gerbang_cashin::ACK_SUCCESS_BODY)));
    // Sending a webhook moves nothing: the checkout is still open, and can be paid.
    assert_eq!(cashin_support::status(&sandbox.base_url(ProviderId::CashIn), "ORDER-OOO").await["status"], "OPEN");
    assert_eq!(sandbox.pay(ProviderId::CashIn, "ORDER-OOO").await, Ok(PaymentState::Paid));
}

#[tokio::test]
async fn webhooks_that_cannot_be_sent_are_refused_with_the_reason() {
    let receiver = Receiver::start(Receiver::cuan10pay()).await;
    let sandbox = Sandbox::builder().webhook_url(ProviderId::Cuan10pay, receiver.url("/hook")).start().await.unwrap();
    let id = deposit(&sandbox).await;

    let (status, body) = control(&sandbox, "cuan10pay", &id, "webhook?status=failed").await;
    assert_eq!(status, 409, "{body}");
    assert!(body["error"].as_str().unwrap().contains("sends no webhook for a payment that is failed"), "{body}");
    let (status, body) = control(&sandbox, "cuan10pay", &id, "webhook?status=done").await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"].as_str().unwrap().contains("expected pending, paid"), "{body}");
    let (status, body) = control(&sandbox, "cuan10pay", &id, "pay?copies=0").await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"].as_str().unwrap().contains("copies must be"), "{body}");
    let (status, body) = control(&sandbox, "cuan10pay", &id, "pay?copy=5").await;
    assert_eq!(status, 400, "a typo is not silently ignored: {body}");
    let (status, _) = control(&sandbox, "cuan10pay", "CP-NOPE", "webhook").await;
    assert_eq!(status, 404);

    // Cash In sends no webhook to a URL it was not given.
    cashin_support::create(&sandbox.base_url(ProviderId::CashIn), "ORDER-NOURL", 10_000, None).await;
    let nowhere = sandbox.resend_webhook(ProviderId::CashIn, "ORDER-NOURL", DeliveryPlan::new()).await;
    assert!(matches!(nowhere, Err(SandboxError::NoWebhookUrl { .. })), "{nowhere:?}");
    let (status, body) = control(&sandbox, "cashin", "ORDER-NOURL", "webhook?status=cancelled").await;
    assert_eq!(status, 409, "{body}");

    // Nothing was sent by any of these.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(sandbox.deliveries().is_empty());
    assert!(receiver.hits().is_empty());
}

#[tokio::test]
async fn a_crypto_invoice_has_a_paid_callback_and_a_qris_invoice_none() {
    let receiver = common::Receiver::start(&[]).await;
    let sandbox = Sandbox::builder().start().await.unwrap();
    let client = reqwest::Client::new();

    let body = serde_json::json!({
        "public_key": gerbang_sandbox::crypto_invoice::PUBLIC_KEY,
        "private_key": gerbang_sandbox::crypto_invoice::PRIVATE_KEY,
        "price_amount": 25,
        "order_id": "ORDER-C",
        "callback_url": receiver.url,
    });
    let created = client
        .post(format!("{}/create_invoice", sandbox.base_url(ProviderId::CryptoInvoice)))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 200);
    // Not paid yet: the callback its payment would send, twice, without paying it.
    let plan = DeliveryPlan::new().copies(2);
    let sent = sandbox.send_webhook(ProviderId::CryptoInvoice, "ORDER-C", PaymentState::Paid, plan).await;
    assert_eq!(sent, Ok(PaymentState::Paid));
    let deliveries = sandbox.wait_for_deliveries(2, WAIT).await.unwrap();
    assert!(deliveries.iter().all(|d| d.succeeded() && d.url == receiver.url), "{deliveries:?}");
    let callback: Value = serde_json::from_str(&deliveries[0].body).unwrap();
    assert_eq!(callback["order_id"], "ORDER-C");
    assert!(callback["amount"].is_string(), "paid in the coin: {callback}");
    let pending = sandbox.send_webhook(ProviderId::CryptoInvoice, "ORDER-C", PaymentState::Pending, plan).await;
    assert!(matches!(pending, Err(SandboxError::NoWebhook { state: PaymentState::Pending, .. })), "{pending:?}");

    let url = format!(
        "{}/api/v1/invoice/create?amount=10000&apikey={}",
        sandbox.base_url(ProviderId::Qris),
        gerbang_sandbox::qris::API_KEY
    );
    let invoice: Value = serde_json::from_str(&client.get(url).send().await.unwrap().text().await.unwrap()).unwrap();
    let id = invoice["invoice_id"].as_str().unwrap();
    let (status, body) = control(&sandbox, "qris", id, "webhook").await;
    assert_eq!(status, 409, "{body}");
    assert!(body["error"].as_str().unwrap().contains("QRIS invoices send no webhook"), "{body}");
}
