//! Verify, enqueue, acknowledge, handle later: the gateway's ack never waits on the merchant's
//! handler, a failing handler is retried on the schedule until it takes each event once, in
//! order per payment, and the last failure leaves a dead letter that a replay delivers.
#![allow(clippy::unwrap_used)] // Test code.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use gerbang_core::http::{HeaderMap, Method};
use gerbang_core::inbox::MemoryInbox;
use gerbang_core::outbox::{DeliveryState, MemoryOutbox, Outbox, Query, Replay};
use gerbang_core::{PaymentProvider, PaymentStatus, WebhookEvent};
use gerbang_cuan10pay::{Cuan10payClient, Cuan10payConfig, WebhookVerifier};
use gerbang_webhooks::outbox::{Deliverer, Enqueue, HandlerSink, RetrySchedule};
use gerbang_webhooks::{HandlerError, Outcome, Receiver, handler_fn};
use tokio::sync::Semaphore;

const PRIVATE_KEY: &str = "outbox-test-private-key";

fn receiver(outbox: &Arc<dyn Outbox>) -> Receiver {
    let config = Cuan10payConfig::builder("outbox-test-api-key", PRIVATE_KEY).build().unwrap();
    let gateway: Arc<dyn PaymentProvider> = Arc::new(Cuan10payClient::new(config));
    Receiver::builder(Arc::new(MemoryInbox::new())).provider(gateway).build(Enqueue::new(Arc::clone(outbox)))
}

async fn deliver(receiver: &Receiver, reference: &str, status: &str) -> Outcome {
    let now = gerbang_core::time::OffsetDateTime::now_utc().unix_timestamp();
    let body = WebhookVerifier::new(PRIVATE_KEY).signed_body(reference, status, 150_000, now);
    let delivery =
        receiver.receive("cuan10pay", Method::POST, "/webhooks/cuan10pay", &HeaderMap::new(), body.as_bytes()).await;
    assert_eq!(delivery.ack.status, 200, "{delivery:?}");
    delivery.outcome
}

/// What the handler saw: each event's payment and status, in the order it took them.
type Seen = Arc<Mutex<Vec<(String, PaymentStatus)>>>;

/// A handler that waits for a permit (so the test decides when it may finish) and fails while
/// `failures` lasts.
fn gated_handler(gate: Arc<Semaphore>, failures: usize, seen: Seen) -> impl gerbang_webhooks::Handler {
    let failures = Arc::new(Mutex::new(failures));
    handler_fn(move |event: WebhookEvent| {
        let (gate, failures, seen) = (Arc::clone(&gate), Arc::clone(&failures), Arc::clone(&seen));
        async move {
            gate.acquire().await.unwrap().forget();
            let mut left = failures.lock().unwrap();
            if *left > 0 {
                *left -= 1;
                return Err::<(), HandlerError>("the order database is down".into());
            }
            let payment = event.provider_reference.clone().unwrap_or_default();
            seen.lock().unwrap().push((payment, event.status));
            Ok(())
        }
    })
}

#[tokio::test]
async fn the_gateway_is_acked_before_the_handler_runs_and_each_event_is_handled_once_in_order() {
    let outbox: Arc<dyn Outbox> = Arc::new(MemoryOutbox::new());
    let receiver = receiver(&outbox);
    let gate = Arc::new(Semaphore::new(0));
    let seen = Seen::default();
    let handler = gated_handler(Arc::clone(&gate), 3, Arc::clone(&seen));
    let deliverer = Deliverer::builder(Arc::clone(&outbox), HandlerSink::new(handler))
        .retry(RetrySchedule::new(vec![Duration::from_millis(100); 5]))
        .lease(Duration::from_secs(10))
        .poll(Duration::from_millis(20))
        .build()
        .unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(deliverer.run(async move {
        let _ = stopped.await;
    }));

    // Ten payments, each told paid first and pending after (gateways reorder), each twice. The
    // handler cannot finish yet: every delivery is acknowledged all the same.
    for n in 0..10 {
        let reference = format!("CP-OUT-{n}");
        assert!(matches!(deliver(&receiver, &reference, "PAID").await, Outcome::Handled(_)));
        assert!(matches!(deliver(&receiver, &reference, "PENDING").await, Outcome::Handled(_)));
        assert!(matches!(deliver(&receiver, &reference, "PAID").await, Outcome::Duplicate(_)));
    }
    assert!(seen.lock().unwrap().is_empty(), "nothing was handled while the gateway was answered");
    assert_eq!(outbox.stats().await.unwrap().pending, 20);

    // The handler may run now: it fails three times, then takes each event.
    gate.add_permits(1_000);
    for _ in 0..200 {
        if outbox.stats().await.unwrap().delivered == 20 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = stop.send(());
    running.await.unwrap();
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 20, "each event handled once: {seen:?}");
    for n in 0..10 {
        let reference = format!("CP-OUT-{n}");
        let order: Vec<&PaymentStatus> = seen.iter().filter(|(p, _)| *p == reference).map(|(_, s)| s).collect();
        assert_eq!(order, [&PaymentStatus::Pending, &PaymentStatus::Paid], "{reference}'s pending goes first");
    }
    let records = outbox.list(&Query::default()).await.unwrap();
    let retried: u32 = records.iter().map(|r| r.attempts.saturating_sub(1)).sum();
    assert_eq!(retried, 3, "the three failures were retried");
}

#[tokio::test]
async fn the_last_failure_leaves_a_dead_letter_that_a_replay_delivers() {
    let outbox: Arc<dyn Outbox> = Arc::new(MemoryOutbox::new());
    let receiver = receiver(&outbox);
    let gate = Arc::new(Semaphore::new(1_000));
    let seen = Seen::default();
    // One try and two retries, all failing; the fourth call (the replay's) succeeds.
    let handler = gated_handler(gate, 3, Arc::clone(&seen));
    let deliverer = Deliverer::builder(Arc::clone(&outbox), HandlerSink::new(handler))
        .retry(RetrySchedule::new(vec![Duration::from_millis(50); 2]))
        .build()
        .unwrap();
    assert!(matches!(deliver(&receiver, "CP-DEAD-1", "PAID").await, Outcome::Handled(_)));
    let mut rounds = Vec::new();
    for _ in 0..100 {
        let round = deliverer.deliver_due().await.unwrap();
        if round.taken > 0 {
            rounds.push(round);
        }
        if round.failed > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(rounds.iter().map(|r| (r.retried, r.failed)).collect::<Vec<_>>(), [(1, 0), (1, 0), (0, 1)]);
    let dead = outbox.list(&Query { state: Some(DeliveryState::Failed), ..Query::default() }).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].attempts, 3);
    assert!(dead[0].last_answer.as_deref().is_some_and(|a| a.contains("order database is down")), "{dead:?}");
    assert!(seen.lock().unwrap().is_empty());

    assert_eq!(outbox.replay(&Replay::Ids(vec![dead[0].message.id.clone()])).await.unwrap(), 1);
    let round = deliverer.deliver_due().await.unwrap();
    assert_eq!(round.delivered, 1, "{round:?}");
    assert_eq!(seen.lock().unwrap().as_slice(), [("CP-DEAD-1".to_owned(), PaymentStatus::Paid)]);
}

#[tokio::test]
async fn a_handler_that_hangs_is_cut_at_the_timeout_and_retried() {
    let outbox: Arc<dyn Outbox> = Arc::new(MemoryOutbox::new());
    let receiver = receiver(&outbox);
    // No permit ever: the handler hangs.
    let handler = gated_handler(Arc::new(Semaphore::new(0)), 0, Seen::default());
    let deliverer = Deliverer::builder(Arc::clone(&outbox), HandlerSink::new(handler))
        .lease(Duration::from_secs(2))
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    assert!(matches!(deliver(&receiver, "CP-HANG-1", "PAID").await, Outcome::Handled(_)));
    let round = deliverer.deliver_due().await.unwrap();
    assert_eq!((round.taken, round.retried), (1, 1), "{round:?}");
    let record = outbox.list(&Query::default()).await.unwrap().remove(0);
    assert_eq!(record.state, DeliveryState::Pending);
    assert!(record.last_answer.as_deref().is_some_and(|a| a.contains("no answer within")), "{record:?}");
}

#[test]
fn a_timeout_not_below_the_lease_is_refused() {
    let outbox: Arc<dyn Outbox> = Arc::new(MemoryOutbox::new());
    let handler = gated_handler(Arc::new(Semaphore::new(0)), 0, Seen::default());
    let built = Deliverer::builder(outbox, HandlerSink::new(handler))
        .lease(Duration::from_secs(5))
        .timeout(Duration::from_secs(5))
        .build();
    let error = built.unwrap_err().to_string();
    assert!(error.contains("shorter than the lease"), "{error}");
}
