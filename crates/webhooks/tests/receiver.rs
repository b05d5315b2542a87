//! The receiver with real gateway verifiers and the in-memory inbox: each event reaches the
//! handler once, whatever the deliveries do; forged ones never do.
#![allow(clippy::unwrap_used)] // Test code.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use gerbang_core::PaymentProvider;
use gerbang_core::http::{HeaderMap, Method};
use gerbang_core::inbox::{Claim, EventKey, Inbox, MemoryInbox};
use gerbang_cuan10pay::{Cuan10payClient, Cuan10payConfig};
use gerbang_webhooks::{Outcome, Receiver, handler_fn, router};

const PRIVATE_KEY: &str = "receiver-test-private-key";
const PATH: &str = "/webhooks/cuan10pay";

fn cuan10pay() -> Arc<dyn PaymentProvider> {
    let config = Cuan10payConfig::builder("receiver-test-api-key", PRIVATE_KEY).build().unwrap();
    Arc::new(Cuan10payClient::new(config))
}

fn now() -> i64 {
    gerbang_core::time::OffsetDateTime::now_utc().unix_timestamp()
}

/// A genuine Cuan10pay webhook, signed now.
fn webhook(reference: &str, status: &str) -> String {
    gerbang_cuan10pay::WebhookVerifier::new(PRIVATE_KEY).signed_body(reference, status, 150_000, now())
}

/// A receiver counting its handler's calls; the handler fails while `failures` is above zero.
fn counting_receiver(
    inbox: Arc<dyn Inbox>,
    in_flight_wait: Duration,
) -> (Receiver, Arc<AtomicUsize>, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let failures = Arc::new(AtomicUsize::new(0));
    let (counting, failing) = (Arc::clone(&calls), Arc::clone(&failures));
    let builder = Receiver::builder(inbox).provider(cuan10pay()).in_flight_wait(in_flight_wait);
    let receiver = builder.build(handler_fn(move |_event| {
        let (calls, failures) = (Arc::clone(&counting), Arc::clone(&failing));
        async move {
            calls.fetch_add(1, Ordering::SeqCst);
            // Long enough for concurrent deliveries to meet the claim.
            tokio::time::sleep(Duration::from_millis(50)).await;
            if failures.load(Ordering::SeqCst) > 0 {
                failures.fetch_sub(1, Ordering::SeqCst);
                return Err(std::io::Error::other("the order database is down"));
            }
            Ok(())
        }
    }));
    (receiver, calls, failures)
}

async fn deliver(receiver: &Receiver, body: &str) -> gerbang_webhooks::Delivery {
    receiver.receive("cuan10pay", Method::POST, PATH, &HeaderMap::new(), body.as_bytes()).await
}

const WAIT: Duration = Duration::from_secs(3);

#[tokio::test]
async fn a_webhook_delivered_many_times_at_once_is_handled_once_and_every_copy_acked() {
    let (receiver, calls, _) = counting_receiver(Arc::new(MemoryInbox::new()), WAIT);
    let body = webhook("CP-20261201-ABC123", "PAID");
    let deliveries = futures_util::future::join_all((0..10).map(|_| deliver(&receiver, &body))).await;
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    let handled = deliveries.iter().filter(|d| matches!(d.outcome, Outcome::Handled(_))).count();
    assert_eq!(handled, 1, "{deliveries:?}");
    for delivery in &deliveries {
        assert!(matches!(delivery.outcome, Outcome::Handled(_) | Outcome::Duplicate(_)), "{delivery:?}");
        assert_eq!(delivery.ack.status, 200, "a copy waits for the first and gets the success ack");
    }

    // Without the wait, the copies that meet the claim ask for a later delivery.
    let (hasty, hasty_calls, _) = counting_receiver(Arc::new(MemoryInbox::new()), Duration::ZERO);
    let deliveries = futures_util::future::join_all((0..10).map(|_| deliver(&hasty, &body))).await;
    assert_eq!(hasty_calls.load(Ordering::SeqCst), 1);
    for delivery in &deliveries {
        match &delivery.outcome {
            Outcome::Handled(_) | Outcome::Duplicate(_) => assert_eq!(delivery.ack.status, 200),
            Outcome::InFlight(_) => assert_eq!(delivery.ack.status, 503, "the gateway must retry it"),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(deliveries.iter().any(|d| matches!(d.outcome, Outcome::InFlight(_))), "{deliveries:?}");
    // The gateway's retries, later: acknowledged, not handled.
    let again = deliver(&receiver, &body).await;
    assert!(matches!(again.outcome, Outcome::Duplicate(_)), "{again:?}");
    assert_eq!((again.ack.status, &*again.ack.body), (200, "OK"));
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_forged_webhook_never_reaches_the_handler() {
    let (receiver, calls, _) = counting_receiver(Arc::new(MemoryInbox::new()), WAIT);
    let forged = webhook("CP-20261201-ABC123", "PAID").replace("150000", "15");
    let delivery = deliver(&receiver, &forged).await;
    assert!(matches!(delivery.outcome, Outcome::Rejected(gerbang_core::Error::InvalidSignature { .. })));
    assert_eq!(delivery.ack.status, 401);
    let huge = "x".repeat(gerbang_core::MAX_WEBHOOK_BODY_BYTES + 1);
    assert!(matches!(deliver(&receiver, &huge).await.outcome, Outcome::Rejected(_)));
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_failing_handler_releases_the_claim_so_the_retry_is_handled() {
    let (receiver, calls, failures) = counting_receiver(Arc::new(MemoryInbox::new()), WAIT);
    failures.store(1, Ordering::SeqCst);
    let body = webhook("CP-20261201-FAIL01", "PAID");
    let first = deliver(&receiver, &body).await;
    assert!(matches!(&first.outcome, Outcome::HandlerFailed(_, message) if message.contains("database is down")));
    assert_eq!(first.ack.status, 500);
    let retry = deliver(&receiver, &body).await;
    assert!(matches!(retry.outcome, Outcome::Handled(_)), "{retry:?}");
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_claim_whose_holder_died_is_handled_after_its_lease() {
    let inbox: Arc<dyn Inbox> = Arc::new(MemoryInbox::new());
    let body = webhook("CP-20261201-DIED01", "PAID");
    // Another replica claimed it and died: it never completes nor releases.
    let event = cuan10pay()
        .verify_webhook(&gerbang_core::WebhookRequest::new(Method::POST, PATH, &HeaderMap::new(), body.as_bytes()))
        .await
        .unwrap();
    let key = EventKey::of(&event).unwrap();
    let Claim::New(_dead) = inbox.claim(&key, Duration::from_millis(300)).await.unwrap() else {
        panic!("the first claim is new")
    };
    let (hasty, hasty_calls, _) = counting_receiver(Arc::clone(&inbox), Duration::ZERO);
    assert!(matches!(deliver(&hasty, &body).await.outcome, Outcome::InFlight(_)));
    // A delivery that waits is handled once the dead holder's lease runs out.
    let (patient, calls, _) = counting_receiver(Arc::clone(&inbox), WAIT);
    assert!(matches!(deliver(&patient, &body).await.outcome, Outcome::Handled(_)));
    assert_eq!((hasty_calls.load(Ordering::SeqCst), calls.load(Ordering::SeqCst)), (0, 1));
    // A dead holder past the wait: a 503, and the gateway's later delivery is handled.
    let mut late = event.clone();
    late.provider_reference = Some("CP-20261201-DIED02".into());
    let Claim::New(_dead) = inbox.claim(&EventKey::of(&late).unwrap(), Duration::from_secs(60)).await.unwrap() else {
        panic!("new")
    };
    let (quick, _, _) = counting_receiver(Arc::clone(&inbox), Duration::from_millis(100));
    let delivery = quick.dispatch(late).await;
    assert_eq!((delivery.ack.status, matches!(delivery.outcome, Outcome::InFlight(_))), (503, true));
}

#[tokio::test]
async fn different_changes_of_one_payment_are_different_events() {
    let (receiver, calls, _) = counting_receiver(Arc::new(MemoryInbox::new()), WAIT);
    for status in ["PENDING", "PAID", "PAID"] {
        deliver(&receiver, &webhook("CP-20261201-TWO001", status)).await;
    }
    assert_eq!(calls.load(Ordering::SeqCst), 2, "pending then paid: two changes, the repeat is a duplicate");
}

#[tokio::test]
async fn the_axum_router_serves_every_gateway_at_its_path() {
    let (receiver, calls, _) = counting_receiver(Arc::new(MemoryInbox::new()), WAIT);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router(receiver)).await });
    let http = reqwest::Client::new();
    let post = |path: &str, body: String| http.post(format!("{base}{path}")).body(body).send();

    let answer = post(PATH, webhook("CP-20261201-HTTP01", "PAID")).await.unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.text().await.unwrap(), "OK");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(post("/webhooks/qris", "{}".into()).await.unwrap().status(), 404, "not configured here");
    assert_eq!(post("/webhooks/nope", "{}".into()).await.unwrap().status(), 404);
    let get = http.get(format!("{base}{PATH}")).send().await.unwrap();
    assert_eq!(get.status(), 405);
    let huge = post(PATH, "x".repeat(gerbang_core::MAX_WEBHOOK_BODY_BYTES + 1)).await.unwrap();
    assert_eq!(huge.status(), 413, "the body limit stops it before anything reads it");
}
