//! Many replicas, every webhook handled once: separate `gerbang webhook serve` processes sharing
//! one store on a real Redis, then a real Postgres (each a private server for the test), fed by
//! the sandbox with copies, round-robin, concurrently and out of order. (A receiver killed while
//! delivering to the application: `outbox.rs`.)
#![allow(clippy::unwrap_used)] // Test code.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use gerbang::ProviderId;
use gerbang::sandbox::{DeliveryPlan, PaymentState};
use gerbang_testkit::{PostgresServer, RedisCluster, RedisServer};
use tokio::sync::mpsc;

use common::{Serve, free_port, next_event, sandbox_with_payments};

/// Payments of each gateway paid; of those, how many also get a later "pending" webhook.
const PAID_PER_GATEWAY: usize = 20;
const LATE_PENDING_PER_GATEWAY: usize = 5;
/// Events in all: a paid event per payment, and the late pending ones.
const EVENTS: usize = 2 * (PAID_PER_GATEWAY + LATE_PENDING_PER_GATEWAY);
const COPIES: u32 = 5;

async fn three_receivers_handle_each_of_50_events_once(store: &str) {
    let (tx, mut events) = mpsc::unbounded_channel();
    let mut receivers = Vec::new();
    for _ in 0..3 {
        receivers.push(Serve::start(free_port(), &["--store", store], tx.clone()).await);
    }
    let (sandbox, payments) = sandbox_with_payments(&receivers, "REPLICA", PAID_PER_GATEWAY).await;

    // Every payment paid at once, each webhook sent 5 times concurrently, in turn to the three
    // receivers; then, for some, the webhook of an earlier state (pending) arrives after it.
    let plan = DeliveryPlan::new().copies(COPIES);
    let paid = payments.iter().map(|(gateway, id)| sandbox.pay_with(*gateway, id, plan));
    for result in futures_util::future::join_all(paid).await {
        assert_eq!(result.unwrap(), PaymentState::Paid);
    }
    let late = [ProviderId::Cuan10pay, ProviderId::CashIn]
        .into_iter()
        .flat_map(|gateway| payments.iter().filter(move |(g, _)| *g == gateway).take(LATE_PENDING_PER_GATEWAY));
    let late = late.map(|(gateway, id)| sandbox.send_webhook(*gateway, id, PaymentState::Pending, plan));
    for result in futures_util::future::join_all(late).await {
        result.unwrap();
    }

    // Each event once, by whichever receiver got it first.
    let mut handled: BTreeMap<String, u16> = BTreeMap::new();
    let mut lines = 0;
    while let Some((port, event)) = next_event(&mut events, Duration::from_secs(60)).await {
        lines += 1;
        let key = event["dedup_key"].as_str().unwrap().to_owned();
        assert!(handled.insert(key.clone(), port).is_none(), "{key} was handled twice ({store})");
        if lines == EVENTS {
            break;
        }
    }
    let expected = EVENTS * COPIES as usize;
    let deliveries = sandbox.wait_for_deliveries(expected, Duration::from_secs(60)).await.unwrap();
    // Nothing more comes once every delivery is answered.
    assert!(next_event(&mut events, Duration::from_millis(500)).await.is_none(), "an event was handled twice");
    assert_eq!(handled.len(), EVENTS, "{store}: {handled:?}");
    let statuses: BTreeSet<&str> = handled.keys().map(|k| k.rsplit(':').next().unwrap()).collect();
    assert_eq!(statuses, BTreeSet::from(["paid", "pending"]));
    // Every delivery got the gateway's own success ack (Cash In's SNAP body, a plain OK).
    assert_eq!(deliveries.len(), expected, "no delivery needed a retry");
    // And every receiver was sent copies and acknowledged them: each event handled once by three
    // processes that all saw it is the shared store at work. Which of them wins each claim is a
    // race (on a loaded machine one can win all fifty), so who handled what is not checked.
    for receiver in &receivers {
        let answered = deliveries
            .iter()
            .filter(|delivery| delivery.url == receiver.url(delivery.provider.as_str()) && delivery.status == Some(200))
            .count();
        assert!(answered > 0, "{store}: the receiver at {} answered no delivery", receiver.url("cuan10pay"));
    }
    for delivery in &deliveries {
        assert_eq!(delivery.status, Some(200), "{delivery:?}");
        let ack = delivery.answer.as_deref().unwrap_or_default();
        match delivery.provider {
            ProviderId::CashIn => assert!(ack.contains("\"responseCode\":\"2005600\""), "{ack}"),
            _ => assert_eq!(ack, "OK"),
        }
    }
    for mut receiver in receivers {
        receiver.child.kill().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn three_receivers_on_one_redis_handle_each_event_once() {
    let Some(redis) = RedisServer::start() else { return };
    three_receivers_handle_each_of_50_events_once(&redis.url()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn three_receivers_on_a_redis_cluster_handle_each_event_once() {
    let Some(cluster) = RedisCluster::start() else { return };
    three_receivers_handle_each_of_50_events_once(&cluster.url()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn three_receivers_on_one_postgres_handle_each_event_once() {
    let Some(postgres) = PostgresServer::start() else { return };
    three_receivers_handle_each_of_50_events_once(&postgres.url()).await;
}
