//! Ciputra's callback is unsigned and confirmed by an authenticated status call: forged
//! callbacks must not make the merchant call the gateway at will. Callbacks for one id at once
//! share one call; a ledger that knows every payment refuses unknown ids with no call; past the
//! budget a callback gets a 503 and no call; a genuine callback is still handled.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use gerbang_ciputra::{CiputraClient, CiputraConfig, CiputraConfigBuilder};
use gerbang_core::http::{HeaderMap, Method};
use gerbang_core::inbox::MemoryInbox;
use gerbang_core::ledger::{Ledger, MemoryLedger, WatchState, WatchedPayment};
use gerbang_core::rate::Quota;
use gerbang_core::{Error, HttpClient, Money, ProviderId, REFUSED_BODY, RetryPolicy, UNAVAILABLE_BODY};
use gerbang_webhooks::{Delivery, Outcome, Receiver, ReceiverBuilder, handler_fn};
use httpmock::{Mock, MockServer};

const GENUINE: &str = "TEST00001111114";

/// A Ciputra gateway: a token that lasts an hour, `GENUINE` paid, every other id unknown (code
/// `02` under HTTP 200, as the sandbox answers), each status answer `delay` late.
struct Gateway {
    server: MockServer,
    /// The ids of the token mock and of the two status mocks.
    token: usize,
    status: [usize; 2],
}

impl Gateway {
    async fn start(delay: Duration) -> Self {
        let server = MockServer::start_async().await;
        let token = server
            .mock_async(|when, then| {
                when.path("/api/auth/token");
                then.status(200).body(
                    r#"{"code":"00","status":true,"access_token":"opaque-token","expires_in":3600,"message":"Success"}"#,
                );
            })
            .await
            .id();
        let paid = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../ciputra/tests/fixtures/transaction_status_paid.json"
        ))
        .unwrap();
        let genuine = server
            .mock_async(|when, then| {
                when.path("/api/transaction/status").body(format!("external_id={GENUINE}"));
                then.status(200).delay(delay).body(paid);
            })
            .await
            .id();
        let unknown = server
            .mock_async(|when, then| {
                when.path("/api/transaction/status");
                then.status(200)
                    .delay(delay)
                    .body(r#"{"code":"02","status":false,"message":"Transaction not found."}"#);
            })
            .await
            .id();
        Self { server, token, status: [genuine, unknown] }
    }

    fn config(&self) -> CiputraConfigBuilder {
        CiputraConfig::builder("api-key", "api-secret")
            .base_url(self.server.url("/api"))
            .http_client(HttpClient::builder().retry(RetryPolicy::none()).build().unwrap())
    }

    /// Status calls the gateway received, for any id.
    async fn status_calls(&self) -> usize {
        let mut calls = 0;
        for id in self.status {
            calls += Mock::new(id, &self.server).calls_async().await;
        }
        calls
    }

    /// Every call it received, the token's included.
    async fn calls(&self) -> usize {
        Mock::new(self.token, &self.server).calls_async().await + self.status_calls().await
    }
}

fn receiver(builder: ReceiverBuilder, client: CiputraClient) -> (Receiver, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let counting = Arc::clone(&calls);
    let receiver = builder.provider(Arc::new(client)).build(handler_fn(move |_event| {
        counting.fetch_add(1, Ordering::SeqCst);
        async { Ok::<(), std::io::Error>(()) }
    }));
    (receiver, calls)
}

async fn callback(receiver: &Receiver, external_id: &str) -> Delivery {
    let body = format!("external_id={external_id}&status=paid");
    receiver.receive("ciputra", Method::POST, "/webhooks/ciputra", &HeaderMap::new(), body.as_bytes()).await
}

async fn storm(receiver: &Receiver, ids: impl Fn(usize) -> String) -> Vec<Delivery> {
    let deliveries = (0..50).map(|i| {
        let (receiver, id) = (receiver.clone(), ids(i));
        tokio::spawn(async move { callback(&receiver, &id).await })
    });
    futures_util::future::join_all(deliveries).await.into_iter().map(Result::unwrap).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_forged_callbacks_for_one_id_cost_one_status_call() {
    let gateway = Gateway::start(Duration::from_millis(300)).await;
    let client = CiputraClient::new(gateway.config().build().unwrap());
    let (receiver, handled) = receiver(Receiver::builder(Arc::new(MemoryInbox::new())), client);
    // The token first, so that the storm meets only the status call.
    let _ = callback(&receiver, "WARM-UP").await;
    let before = gateway.status_calls().await;

    let deliveries = storm(&receiver, |_| "FORGED-1".to_owned()).await;
    assert_eq!(gateway.status_calls().await - before, 1, "one status call for fifty callbacks");
    for delivery in &deliveries {
        assert_eq!((delivery.ack.status, &*delivery.ack.body), (400, REFUSED_BODY), "{delivery:?}");
    }
    // Nothing is kept: the next callback asks again.
    let _ = callback(&receiver, "FORGED-1").await;
    assert_eq!(gateway.status_calls().await - before, 2);

    // The genuine callback is still handled, and fifty copies of it at once cost one call too.
    let before = gateway.status_calls().await;
    let genuine = storm(&receiver, |_| GENUINE.to_owned()).await;
    assert_eq!(gateway.status_calls().await - before, 1);
    assert!(genuine.iter().all(|d| d.ack.status == 200), "{genuine:?}");
    assert_eq!(genuine.iter().filter(|d| matches!(d.outcome, Outcome::Handled(_))).count(), 1);
    assert_eq!(handled.load(Ordering::SeqCst), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn with_a_ledger_that_knows_every_payment_unknown_ids_cost_no_call() {
    let gateway = Gateway::start(Duration::ZERO).await;
    let client = CiputraClient::new(gateway.config().build().unwrap());
    let ledger = Arc::new(MemoryLedger::new());
    let now = gerbang_core::time::OffsetDateTime::now_utc();
    let record = WatchedPayment::new(ProviderId::Ciputra, GENUINE, Money::idr(300_000), WatchState::Pending, now);
    ledger.record(&record).await.unwrap();
    let builder = Receiver::builder(Arc::new(MemoryInbox::new())).ledger(ledger).require_known_payments(true);
    let (receiver, handled) = receiver(builder, client);

    let deliveries = storm(&receiver, |i| format!("FORGED-{i}")).await;
    assert_eq!(gateway.calls().await, 0, "not a status call, not even a token");
    for delivery in &deliveries {
        assert_eq!((delivery.ack.status, &*delivery.ack.body), (400, REFUSED_BODY), "{delivery:?}");
        assert!(matches!(delivery.outcome, Outcome::Rejected(Error::NotFound { .. })), "{delivery:?}");
    }

    let genuine = callback(&receiver, GENUINE).await;
    assert!(matches!(genuine.outcome, Outcome::Handled(_)), "{genuine:?}");
    assert_eq!((gateway.status_calls().await, handled.load(Ordering::SeqCst)), (1, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn past_the_budget_callbacks_get_503_and_cost_no_call() {
    let gateway = Gateway::start(Duration::ZERO).await;
    let three_an_hour = Quota::per_hour(NonZeroU32::new(3).unwrap());
    let client = CiputraClient::new(gateway.config().callback_checks(three_an_hour).build().unwrap());
    let (receiver, handled) = receiver(Receiver::builder(Arc::new(MemoryInbox::new())), client.clone());

    for i in 0..3 {
        assert_eq!(callback(&receiver, &format!("FORGED-{i}")).await.ack.status, 400);
    }
    assert_eq!(gateway.status_calls().await, 3);
    let deliveries = storm(&receiver, |i| format!("MORE-{i}")).await;
    assert_eq!(gateway.status_calls().await, 3, "past the budget, no call");
    for delivery in &deliveries {
        assert_eq!((delivery.ack.status, &*delivery.ack.body), (503, UNAVAILABLE_BODY), "{delivery:?}");
        assert!(matches!(delivery.outcome, Outcome::VerifyUnavailable(Error::BudgetSpent { .. })), "{delivery:?}");
    }
    // The genuine gateway's callback meets the same 503 and is delivered again later; the
    // merchant's own calls are not part of the callback budget.
    assert_eq!(callback(&receiver, GENUINE).await.ack.status, 503);
    assert_eq!(client.transaction_status(GENUINE).await.unwrap().status.as_deref(), Some("paid"));
    assert_eq!(handled.load(Ordering::SeqCst), 0);
}

/// The default budget lets a genuine burst through: 20 callbacks for different payments at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_default_budget_takes_a_burst_of_twenty() {
    let gateway = Gateway::start(Duration::ZERO).await;
    assert_eq!(gerbang_ciputra::DEFAULT_CALLBACK_CHECKS.limit.get(), 20);
    let client = CiputraClient::new(gateway.config().build().unwrap());
    let (receiver, _) = receiver(Receiver::builder(Arc::new(MemoryInbox::new())), client);
    let deliveries = futures_util::future::join_all((0..20).map(|i| {
        let receiver = receiver.clone();
        async move { callback(&receiver, &format!("BURST-{i}")).await }
    }))
    .await;
    assert!(deliveries.iter().all(|d| d.ack.status == 400), "{deliveries:?}");
    assert_eq!(gateway.status_calls().await, 20);
}
