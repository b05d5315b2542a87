//! `Receiver::drain` and `Receiver::readiness` for a Rust application embedding the receiver
//! (issue 20, items 1 and 2): a drain waits for the handler under way; at its deadline it stops
//! the handler, releases the claim and answers 503; a flood of readiness probes costs the store
//! a trickle of pings.
#![allow(clippy::unwrap_used)] // Test code.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use gerbang_core::inbox::{Claim, EventKey, Inbox, Lease, MemoryInbox};
use gerbang_core::{Ack, Error, PaymentStatus, ProviderId, WebhookEvent};
use gerbang_webhooks::{
    Drained, Outcome, READINESS_CACHE, Readiness, Receiver, StoreCheck, handler_fn, health, router,
};
use proptest::prelude::*;
use tokio::time::Instant;

fn paid(id: &str) -> WebhookEvent {
    let mut event = WebhookEvent::new(ProviderId::Qris, PaymentStatus::Paid, "PAID", Ack::text(200, "OK"));
    event.provider_reference = Some(id.to_owned());
    event
}

/// A receiver on `inbox` whose handler takes `takes`, counting the calls that finished.
fn receiver(inbox: Arc<dyn Inbox>, takes: Duration) -> (Receiver, Arc<AtomicUsize>) {
    let finished = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&finished);
    let receiver = Receiver::builder(inbox).build(handler_fn(move |_event| {
        let count = Arc::clone(&count);
        async move {
            tokio::time::sleep(takes).await;
            count.fetch_add(1, Ordering::SeqCst);
            Ok::<(), Error>(())
        }
    }));
    (receiver, finished)
}

async fn wait_in_flight(receiver: &Receiver) {
    while receiver.in_flight() == 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn a_drain_waits_for_the_handler_under_way() {
    let (receiver, finished) = receiver(Arc::new(MemoryInbox::new()), Duration::from_millis(300));
    let delivery = tokio::spawn({
        let receiver = receiver.clone();
        async move { receiver.dispatch(paid("Q-1")).await }
    });
    wait_in_flight(&receiver).await;
    let started = Instant::now();
    let drained = receiver.drain(Instant::now() + Duration::from_secs(5)).await;
    assert_eq!(drained, Drained::default());
    assert!(started.elapsed() >= Duration::from_millis(200), "returned before the handler finished");
    assert!(matches!(delivery.await.unwrap().outcome, Outcome::Handled(_)));
    assert_eq!(finished.load(Ordering::SeqCst), 1);
    assert!(receiver.is_draining());
    assert_eq!(receiver.readiness().await, Readiness::new(StoreCheck::Ok, true));
}

#[tokio::test]
async fn at_the_deadline_the_handler_is_stopped_and_its_claim_released() {
    let inbox = Arc::new(MemoryInbox::new());
    let (receiver, finished) = receiver(inbox.clone(), Duration::from_secs(3600));
    let delivery = tokio::spawn({
        let receiver = receiver.clone();
        async move { receiver.dispatch(paid("Q-2")).await }
    });
    wait_in_flight(&receiver).await;
    let started = Instant::now();
    let drained = receiver.drain(Instant::now() + Duration::from_millis(200)).await;
    assert!(started.elapsed() < Duration::from_secs(1));
    assert_eq!((drained.stopped, drained.released), (1, 1));
    let delivery = delivery.await.unwrap();
    assert_eq!(delivery.ack.status, 503);
    let key = EventKey { provider: ProviderId::Qris, key: paid("Q-2").dedup_key().unwrap() };
    assert_eq!(delivery.outcome, Outcome::Drained(Some(key.clone())));
    assert_eq!(finished.load(Ordering::SeqCst), 0, "the handler was stopped");
    // Released, not held until the 30 s lease runs out: the next copy is claimed at once.
    assert!(matches!(inbox.claim(&key, Duration::from_secs(30)).await.unwrap(), Claim::New(_)));
    // A delivery after the deadline is not handled either.
    let late = receiver.dispatch(paid("Q-3")).await;
    assert!(matches!(late.outcome, Outcome::Drained(_)), "{late:?}");
}

#[tokio::test]
async fn healthz_and_readyz_answer_through_the_router() {
    let (receiver, _) = receiver(Arc::new(MemoryInbox::new()), Duration::ZERO);
    let app = router(receiver.clone()).merge(health(receiver.clone()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let get = |path: &str| {
        let url = format!("{base}{path}");
        async move {
            let answer = reqwest::get(url).await.unwrap();
            (answer.status().as_u16(), answer.text().await.unwrap())
        }
    };
    assert_eq!(get("/healthz").await, (200, r#"{"status":"serving"}"#.to_owned()));
    assert_eq!(get("/readyz").await.0, 200);
    receiver.drain(Instant::now()).await;
    assert_eq!(get("/healthz").await, (200, r#"{"status":"draining"}"#.to_owned()));
    let (status, body) = get("/readyz").await;
    assert_eq!(status, 503);
    assert_eq!(body, r#"{"status":"not_ready","not_ready":["drain"],"checks":{"store":"ok","drain":"draining"}}"#);
}

/// An inbox whose ping takes a while and is counted, or fails.
#[derive(Debug, Default)]
struct Pinged {
    inner: MemoryInbox,
    pings: AtomicUsize,
    down: std::sync::atomic::AtomicBool,
}

#[async_trait]
impl Inbox for Pinged {
    async fn claim(&self, key: &EventKey, lease: Duration) -> Result<Claim, Error> {
        self.inner.claim(key, lease).await
    }
    async fn complete(&self, lease: &Lease) -> Result<bool, Error> {
        self.inner.complete(lease).await
    }
    async fn release(&self, lease: &Lease) -> Result<bool, Error> {
        self.inner.release(lease).await
    }
    async fn ping(&self) -> Result<(), Error> {
        self.pings.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(20)).await;
        if self.down.load(Ordering::SeqCst) {
            return Err(Error::Store { store: "test", message: "down".into() });
        }
        Ok(())
    }
}

#[tokio::test]
async fn a_store_that_fails_its_ping_is_not_ready() {
    let inbox = Arc::new(Pinged::default());
    inbox.down.store(true, Ordering::SeqCst);
    let (receiver, _) = receiver(inbox, Duration::ZERO);
    let readiness = receiver.readiness().await;
    assert_eq!(readiness.store, StoreCheck::Unreachable);
    assert_eq!(readiness.status(), 503);
    assert!(readiness.to_json().contains(r#""not_ready":["store"]"#), "{}", readiness.to_json());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// The attack: a flood of `/readyz` (the port faces the internet) meant to tie up the store
    /// that claims need. However many probes come at once, in however many waves, the store is
    /// pinged at most once per READINESS_CACHE (plus one).
    #[test]
    fn a_flood_of_readiness_probes_costs_a_trickle_of_pings(probes in 1_usize..300, waves in 1_usize..6) {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let inbox = Arc::new(Pinged::default());
        let (receiver, _) = receiver(inbox.clone(), Duration::ZERO);
        let started = std::time::Instant::now();
        runtime.block_on(async {
            for _ in 0..waves {
                let all = (0..probes).map(|_| {
                    let receiver = receiver.clone();
                    tokio::spawn(async move { receiver.readiness().await })
                });
                for probe in futures_util::future::join_all(all).await {
                    assert!(probe.unwrap().is_ready());
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
        let allowed = started.elapsed().as_millis() / READINESS_CACHE.as_millis() + 1;
        let pings = inbox.pings.load(Ordering::SeqCst) as u128;
        prop_assert!(pings <= allowed, "{} probes x {} waves: {} pings, at most {} allowed", probes, waves, pings, allowed);
    }
}
